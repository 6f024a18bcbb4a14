/**
 * The sender's failure policy as a table, on a fixed clock: one row per case — what Slack answered,
 * how many attempts failed before, the call — and the one action it must lead to.
 */
import { describe, expect, it } from 'vitest';
import { classifySlackError } from '../../src/core/slack-errors.ts';
import {
  backoffMs,
  DEFAULT_TIMINGS,
  decide,
  type FailureAction,
  type FailureInput,
  timingsFrom,
} from '../../src/notify/failure-policy.ts';

const NOW = Date.parse('2026-12-06T06:00:00.000Z');
const s = (n: number) => NOW + n * 1000;

/** A Slack platform error (HTTP 200, ok:false), an HTTP status, a 429, or no answer at all. */
const platform = (error: string) => ({ code: 'slack_webapi_platform_error', data: { error } });
const http = (statusCode: number) => ({ code: 'slack_webapi_http_error', statusCode });
const rateLimited = (retryAfter: number) => ({ code: 'slack_webapi_rate_limited_error', retryAfter });
const noAnswer = (name: string, causeCode?: string) => ({
  code: 'slack_webapi_request_error',
  original: { name, message: 'x', ...(causeCode ? { cause: { code: causeCode } } : {}) },
});

type Row = [
  what: string,
  err: unknown,
  attempts: number,
  call: FailureInput['call'],
  onPayload: FailureInput['onPayload'],
  expected: FailureAction,
];

// biome-ignore format: one row per line reads as the table it is
const TABLE: Row[] = [
  // done
  ['already_reacted', platform('already_reacted'), 0, 'update', 'keep', { do: 'done' }],
  ['"already so" to a post: found, not assumed', platform('already_reacted'), 0, 'post', 'keep', { do: 'retry', at: s(5), unknown: true }],
  // rate limited: the channel waits Retry-After, whatever the attempts
  ['429 Retry-After 7', rateLimited(7), 0, 'post', 'fallback', { do: 'pause', until: s(7) }],
  ['429 Retry-After 0 → 1 s', rateLimited(0), 9, 'post', 'fallback', { do: 'pause', until: s(1) }],
  ['HTTP 429 without header', http(429), 3, 'update', 'keep', { do: 'pause', until: s(1) }],
  // maybe done: a post is looked up first (not before the settle time), an update just retried
  ['internal_error on a post', platform('internal_error'), 0, 'post', 'fallback', { do: 'retry', at: s(5), unknown: true }],
  ['fatal_error on a post', platform('fatal_error'), 0, 'post', 'fallback', { do: 'retry', at: s(5), unknown: true }],
  ['fatal_error on a post, 4th try', platform('fatal_error'), 3, 'post', 'fallback', { do: 'retry', at: s(8), unknown: true }],
  ['HTTP 500 on a post', http(500), 0, 'post', 'keep', { do: 'retry', at: s(5), unknown: true }],
  ['HTTP 502 on a post, 10th try', http(502), 9, 'post', 'keep', { do: 'retry', at: s(30), unknown: true }],
  ['timeout on a post', noAnswer('TimeoutError'), 0, 'post', 'fallback', { do: 'retry', at: s(5), unknown: true }],
  ['dropped connection on a post', noAnswer('Error', 'ECONNRESET'), 1, 'post', 'finish', { do: 'retry', at: s(5), unknown: true }],
  ['an unknown code on a post', platform('brand_new_error'), 0, 'post', 'fallback', { do: 'retry', at: s(5), unknown: true }],
  ['internal_error on an update', platform('internal_error'), 2, 'update', 'keep', { do: 'retry', at: s(4), unknown: false }],
  ['HTTP 503 on a look-up', http(503), 0, 'read', 'keep', { do: 'retry', at: s(1), unknown: false }],
  // not done, transient: capped backoff 1, 2, 4, 8, 16, 30, 30 … — never a give-up
  ['service_unavailable, 1st', platform('service_unavailable'), 0, 'post', 'fallback', { do: 'retry', at: s(1), unknown: false }],
  ['service_unavailable, 2nd', platform('service_unavailable'), 1, 'post', 'fallback', { do: 'retry', at: s(2), unknown: false }],
  ['service_unavailable, 5th', platform('service_unavailable'), 4, 'post', 'fallback', { do: 'retry', at: s(16), unknown: false }],
  ['service_unavailable, 6th (capped)', platform('service_unavailable'), 5, 'post', 'fallback', { do: 'retry', at: s(30), unknown: false }],
  ['service_unavailable, 20th', platform('service_unavailable'), 19, 'post', 'fallback', { do: 'retry', at: s(30), unknown: false }],
  ['service_unavailable, 1000th', platform('service_unavailable'), 999, 'update', 'keep', { do: 'retry', at: s(30), unknown: false }],
  ['request_timeout', platform('request_timeout'), 2, 'update', 'keep', { do: 'retry', at: s(4), unknown: false }],
  ['ratelimited without a 429', platform('ratelimited'), 0, 'post', 'fallback', { do: 'retry', at: s(1), unknown: false }],
  ['refused connection', noAnswer('Error', 'ECONNREFUSED'), 3, 'post', 'fallback', { do: 'retry', at: s(8), unknown: false }],
  ['HTTP 400 from the edge', http(400), 0, 'post', 'fallback', { do: 'retry', at: s(1), unknown: false }],
  // needs an operator: kept, tried again in 30 s, whatever the attempts
  ['not_in_channel', platform('not_in_channel'), 0, 'post', 'fallback', { do: 'operator', at: s(30) }],
  ['channel_not_found, 50th', platform('channel_not_found'), 49, 'post', 'fallback', { do: 'operator', at: s(30) }],
  ['is_archived', platform('is_archived'), 0, 'update', 'keep', { do: 'operator', at: s(30) }],
  ['invalid_auth', platform('invalid_auth'), 0, 'post', 'finish', { do: 'operator', at: s(30) }],
  ['token_revoked', platform('token_revoked'), 0, 'update', 'keep', { do: 'operator', at: s(30) }],
  ['missing_scope on a look-up', platform('missing_scope'), 0, 'read', 'keep', { do: 'operator', at: s(30) }],
  ['account_inactive', platform('account_inactive'), 0, 'post', 'fallback', { do: 'operator', at: s(30) }],
  ['restricted_action', platform('restricted_action'), 0, 'post', 'fallback', { do: 'operator', at: s(30) }],
  // permanent for this payload: the fallback, or finish when nothing is lost, or keep
  ['invalid_blocks, a card', platform('invalid_blocks'), 0, 'post', 'fallback', { do: 'fallback' }],
  ['msg_too_long, a card update', platform('msg_too_long'), 0, 'update', 'fallback', { do: 'fallback' }],
  ['invalid_metadata_format', platform('invalid_metadata_format'), 0, 'post', 'fallback', { do: 'fallback' }],
  ['too_many_attachments', platform('too_many_attachments'), 0, 'post', 'fallback', { do: 'fallback' }],
  ['invalid_arguments, a thread note', platform('invalid_arguments'), 0, 'post', 'finish', { do: 'finish' }],
  ['invalid_blocks, the fallback itself', platform('invalid_blocks'), 0, 'post', 'keep', { do: 'operator', at: s(30) }],
  ['invalid_ts_oldest on a look-up', platform('invalid_ts_oldest'), 0, 'read', 'fallback', { do: 'operator', at: s(30) }],
  // the target is gone
  ['message_not_found', platform('message_not_found'), 0, 'update', 'keep', { do: 'finish' }],
  ['cant_update_message', platform('cant_update_message'), 0, 'update', 'keep', { do: 'finish' }],
  ['thread_not_found', platform('thread_not_found'), 0, 'post', 'finish', { do: 'finish' }],
];

describe('the failure policy (fixed clock)', () => {
  it.each(TABLE)('%s (attempt %#)', (_what, err, attempts, call, onPayload, expected) => {
    const f = classifySlackError(err);
    const retryAfter = (err as { retryAfter?: number }).retryAfter;
    const action = decide({
      meaning: f.meaning,
      attempts,
      now: NOW,
      call,
      retryAfterSec: retryAfter ?? null,
      onPayload,
    });
    expect(action).toEqual(expected);
  });

  it('backoff is capped at 30 s with the default timings, and scales with the sender’s retryBaseMs', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 50, 10_000].map((a) => backoffMs(a, DEFAULT_TIMINGS))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000, 30_000,
    ]);
    const fast = timingsFrom(20, 10);
    expect([0, 3, 10, 100].map((a) => backoffMs(a, fast))).toEqual([20, 160, 600, 600]);
    expect(decide({ meaning: 'operator', attempts: 0, now: NOW, call: 'post', onPayload: 'keep' }, fast)).toEqual({
      do: 'operator',
      at: NOW + 600,
    });
  });

  it('never gives up: every transient or maybe-done answer is retried within the cap, however many attempts failed', () => {
    for (const meaning of ['retry', 'maybe'] as const) {
      for (const call of ['post', 'update', 'read'] as const) {
        for (let attempts = 0; attempts < 200; attempts++) {
          const a = decide({ meaning, attempts, now: NOW, call, onPayload: 'finish' });
          expect(a.do).toBe('retry');
          if (a.do === 'retry') expect(a.at - NOW).toBeLessThanOrEqual(DEFAULT_TIMINGS.capMs);
        }
      }
    }
  });
});
