/**
 * How stale a send claim must be before another sender may take it over (COTOOL_SLACK_CLAIM_STALE_MS),
 * computed from what the sender actually does — pure, so the config check and its test read one
 * number from one place.
 *
 * The sender refreshes its claim (Store.touchClaim, on the database's clock) right before every Slack
 * write, and gives up the item when the refresh fails. So what happens before the refresh — Cotool
 * reads (up to `cotoolReadMaxMs`, 130 s with the defaults), Slack look-ups, a GC pause — can never
 * lead to a double send: a sender that lost the lease or the claim meanwhile is stopped at the
 * refresh. What must fit in the stale window is what follows the refresh: the refresh's own answer,
 * the write (the sender's Slack client: one attempt, `timeout` each), and the time a write that timed
 * out on our side may still take to land in Slack before the next sender looks it up.
 */

/** The sender's Slack Web API client (src/slack/app.ts createSenderClient): per-call timeout, no retries. */
export const SENDER_SLACK_CLIENT = { timeoutMs: 20_000, retries: 0, maxRetryWaitMs: 20_000 } as const;

/** After a write's answer was lost, how long Slack may still take to store it (the sender's unknownSettleMs). */
export const SLACK_SETTLE_MS = 5_000;

/** The longest the claim refresh before a write may take; slower, the sender does not write. */
export const CLAIM_TOUCH_MAX_MS = 5_000;

/** The longest one Slack write of the sender can be on its way: every attempt times out, every wait is the longest. */
export function slackWriteMaxMs(
  client: { timeoutMs: number; retries: number; maxRetryWaitMs: number } = SENDER_SLACK_CLIENT,
): number {
  return client.timeoutMs * (client.retries + 1) + client.maxRetryWaitMs * client.retries;
}

/**
 * The longest one Cotool read can take (src/cotool/client.ts: `retryLimit` retries of reads, each
 * attempt up to `timeoutMs`, each wait up to `maxRetryAfterMs`): 4 × 10 s + 3 × 30 s = 130 s with
 * the defaults. Not part of the floor (see above): it is why the claim is refreshed before the write.
 */
export function cotoolReadMaxMs(c: { timeoutMs: number; retryLimit: number; maxRetryAfterMs: number }): number {
  return c.timeoutMs * (c.retryLimit + 1) + c.maxRetryAfterMs * c.retryLimit;
}

/** The shortest claim-stale time that keeps a live sender's write from being overtaken: 30 s. */
export function claimStaleFloorMs(client = SENDER_SLACK_CLIENT): number {
  return CLAIM_TOUCH_MAX_MS + slackWriteMaxMs(client) + SLACK_SETTLE_MS;
}

/**
 * How long the refresh before a write may take for the write to still fit in the stale window
 * (null: the window is below the floor — tests only — and no such guard applies).
 */
export function touchBudgetMs(claimStaleMs: number, client = SENDER_SLACK_CLIENT): number | null {
  const budget = claimStaleMs - slackWriteMaxMs(client) - SLACK_SETTLE_MS;
  return budget > 0 ? budget : null;
}
