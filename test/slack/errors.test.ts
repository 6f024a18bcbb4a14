import { describe, expect, it } from 'vitest';
import { scrubSlackText } from '../../src/slack/app.ts';
import { answerLost, classifySlackError } from '../../src/slack/errors.ts';

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
