import { describe, expect, it } from 'vitest';
import { answerLost, classifySlackError, meaningOf, SLACK_ERROR_MEANINGS } from '../../src/core/slack-errors.ts';
import { scrubSlackText } from '../../src/slack/app.ts';

const requestError = (original: unknown) => ({ code: 'slack_webapi_request_error', original });

describe('Slack failures', () => {
  it('classifies platform, HTTP and request errors with an operator hint', () => {
    const notIn = classifySlackError({ code: 'slack_webapi_platform_error', data: { error: 'not_in_channel' } }, 'C1');
    expect(notIn).toMatchObject({ code: 'not_in_channel', channelProblem: true });
    expect(notIn.hint).toMatch(/invite it/);
    expect(classifySlackError({ code: 'slack_webapi_http_error', statusCode: 503 }).code).toBe('http_503');
    expect(classifySlackError(new Error('x')).code).toBe('unknown');
  });

  it('tells a lost answer (may have been posted) from failures where nothing was sent', () => {
    expect(answerLost(requestError({ name: 'TimeoutError', message: 'timed out' }))).toBe(true);
    expect(
      answerLost(requestError({ name: 'TypeError', message: 'fetch failed', cause: { code: 'ECONNRESET' } })),
    ).toBe(true);
    expect(
      answerLost(requestError({ name: 'TypeError', message: 'fetch failed', cause: { code: 'ECONNREFUSED' } })),
    ).toBe(false);
    expect(answerLost(requestError({ name: 'Error', message: 'A rate limit was exceeded (url: x)' }))).toBe(false);
    expect(answerLost({ code: 'slack_webapi_http_error', statusCode: 500 })).toBe(false);
  });
});

describe('the one table of Slack errors', () => {
  const platform = (error: string) => classifySlackError({ code: 'slack_webapi_platform_error', data: { error } });

  it('gives every code one meaning; the operator codes include every channel and auth problem', () => {
    expect(platform('internal_error').meaning).toBe('maybe');
    expect(platform('fatal_error').meaning).toBe('maybe');
    expect(platform('service_unavailable').meaning).toBe('retry');
    expect(platform('request_timeout').meaning).toBe('retry');
    expect(platform('ratelimited').meaning).toBe('retry');
    expect(platform('invalid_blocks').meaning).toBe('payload');
    expect(platform('msg_too_long').meaning).toBe('payload');
    expect(platform('message_not_found').meaning).toBe('gone');
    expect(platform('already_reacted').meaning).toBe('done');
    for (const code of ['not_in_channel', 'channel_not_found', 'is_archived', 'restricted_action', 'invalid_auth']) {
      expect(platform(code)).toMatchObject({ meaning: 'operator' });
    }
    for (const f of [platform('not_in_channel'), platform('missing_scope')]) {
      expect(f.channelProblem || f.authProblem).toBe(true);
    }
    const meanings = new Set(Object.values(SLACK_ERROR_MEANINGS));
    expect([...meanings].sort()).toEqual(['done', 'gone', 'maybe', 'operator', 'payload', 'rate_limited', 'retry']);
  });

  it('HTTP answers, no answer, and an unknown code: a write may have been done unless proved otherwise', () => {
    expect(classifySlackError({ code: 'slack_webapi_http_error', statusCode: 500 }).meaning).toBe('maybe');
    expect(classifySlackError({ code: 'slack_webapi_http_error', statusCode: 503 }).meaning).toBe('maybe');
    expect(classifySlackError({ code: 'slack_webapi_http_error', statusCode: 429 }).meaning).toBe('rate_limited');
    expect(classifySlackError({ code: 'slack_webapi_http_error', statusCode: 404 }).meaning).toBe('retry');
    expect(classifySlackError({ code: 'slack_webapi_rate_limited_error', retryAfter: 3 }).meaning).toBe('rate_limited');
    expect(classifySlackError(requestError({ name: 'TimeoutError', message: 't' })).meaning).toBe('maybe');
    expect(
      classifySlackError(requestError({ name: 'TypeError', message: 'f', cause: { code: 'ECONNREFUSED' } })).meaning,
    ).toBe('retry');
    expect(platform('something_new').meaning).toBe('maybe');
    expect(classifySlackError(new Error('x')).meaning).toBe('maybe');
    expect(meaningOf('http_502')).toBe('maybe');
  });
});

describe('scrubSlackText', () => {
  it('cuts tokens, response URLs and trigger ids out of what the Slack libraries log', () => {
    const payload = JSON.stringify({
      token: 'legacy-verification-token',
      response_url: 'https://hooks.slack.com/actions/T1/123/abc',
      trigger_id: '123.456.abc',
      user: { id: 'U1' },
    });
    const out = scrubSlackText(`received: ${payload} with xoxb-1-2-abc and xapp-1-A1-2-def`);
    for (const secret of ['legacy-verification-token', 'hooks.slack.com', '123.456.abc', 'xoxb-1-2-abc', 'xapp-1-A1']) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('"U1"');
  });
});
