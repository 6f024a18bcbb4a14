import { describe, expect, it } from 'vitest';
import {
  CLAIM_TOUCH_MAX_MS,
  claimStaleFloorMs,
  cotoolReadMaxMs,
  SENDER_SLACK_CLIENT,
  SLACK_SETTLE_MS,
  slackWriteMaxMs,
  touchBudgetMs,
} from '../../src/core/claim-budget.ts';

describe('claim budget', () => {
  it('a Slack write of the sender: one attempt of 20 s (its client retries nothing)', () => {
    expect(SENDER_SLACK_CLIENT).toMatchObject({ timeoutMs: 20_000, retries: 0 });
    expect(slackWriteMaxMs()).toBe(20_000);
    // A client that retried would count every attempt and every wait.
    expect(slackWriteMaxMs({ timeoutMs: 20_000, retries: 2, maxRetryWaitMs: 20_000 })).toBe(100_000);
  });

  it('the floor: refresh + write + settle = 30 s, and what the refresh may take inside a stale window', () => {
    expect(claimStaleFloorMs()).toBe(CLAIM_TOUCH_MAX_MS + 20_000 + SLACK_SETTLE_MS);
    expect(claimStaleFloorMs()).toBe(30_000);
    expect(touchBudgetMs(60_000)).toBe(35_000); // the default 60 s
    expect(touchBudgetMs(claimStaleFloorMs())).toBe(CLAIM_TOUCH_MAX_MS);
    expect(touchBudgetMs(100)).toBeNull(); // below the floor (tests): no guard
  });

  it('a Cotool read with the client defaults (10 s × 4 attempts, up to 30 s Retry-After × 3) takes up to 130 s', () => {
    expect(cotoolReadMaxMs({ timeoutMs: 10_000, retryLimit: 3, maxRetryAfterMs: 30_000 })).toBe(130_000);
  });
});
