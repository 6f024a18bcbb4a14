/**
 * The sender's failure policy: what to do with an outbox item after Slack refused, or did not
 * answer, one of its calls. Pure — a function of the failure's meaning (the table in
 * src/core/slack-errors.ts), the item's attempts so far, the time, and what kind of call failed — and
 * tested as a table on a fixed clock (test/notify/failure-policy.test.ts).
 *
 * It never gives up: transient trouble is retried with capped exponential backoff for as long as it
 * lasts (the cap keeps every item within one cap of Slack's recovery), an operator problem keeps the
 * item and looks again slowly, and an item leaves the outbox unsent only when nothing is lost by it
 * (its target is gone, or a permanent refusal of a message that is not an alert's only presence).
 */
import type { SlackMeaning } from '../core/slack-errors.ts';

/** The call that failed: a post (not idempotent), an update (idempotent), or a read (a look-up). */
export type CallKind = 'post' | 'update' | 'read';

/**
 * What a permanent refusal of this payload leaves to do: send the minimal fallback (`fallback`),
 * drop the item because the alert is still shown without it (`finish`: a thread note), or nothing
 * may be dropped (`keep`: a fallback that was itself refused — kept and surfaced like an operator
 * problem).
 */
export type OnPayload = 'fallback' | 'finish' | 'keep';

export type FailureInput = {
  meaning: SlackMeaning;
  /** Failed attempts of this item before this one. */
  attempts: number;
  now: number;
  call: CallKind;
  /** For `rate_limited`: Slack's Retry-After (seconds), when it gave one. */
  retryAfterSec?: number | null;
  onPayload: OnPayload;
};

export type FailureTimings = {
  /** First retry delay (doubles per attempt). */
  baseMs: number;
  /** The longest retry delay of transient trouble. */
  capMs: number;
  /** How often an operator problem is tried again. */
  operatorMs: number;
  /** After a maybe-done post: how long before the look-up (a timed-out request may still commit). */
  settleMs: number;
};

/** Defaults: 1 s doubling to 30 s; operator problems every 30 s; look-ups 5 s after a maybe. */
export const DEFAULT_TIMINGS: FailureTimings = { baseMs: 1_000, capMs: 30_000, operatorMs: 30_000, settleMs: 5_000 };

/** The timings scaled from a first retry delay (the sender's `retryBaseMs`; short in tests). */
export function timingsFrom(baseMs: number, settleMs: number): FailureTimings {
  return { baseMs, capMs: 30 * baseMs, operatorMs: 30 * baseMs, settleMs };
}

export type FailureAction =
  /** Slack says it is already so: complete the item as sent. */
  | { do: 'done' }
  /**
   * Try again at `at`. `unknown`: the call may have been carried out — the item is marked so and
   * its next attempt looks the message up by its metadata before sending anything.
   */
  | { do: 'retry'; at: number; unknown: boolean }
  /** Rate limited: pause the channel's lane until `until`, and retry then. */
  | { do: 'pause'; until: number }
  /** Needs an operator: keep the item, pause the lane until `at`, try again then, surface it. */
  | { do: 'operator'; at: number }
  /** Permanent for this payload: send the minimal fallback now. */
  | { do: 'fallback' }
  /** Done with the item without sending it: its target is gone, or nothing is lost without it. */
  | { do: 'finish' };

/** Capped exponential backoff: base, 2·base, 4·base … at most `capMs`. */
export function backoffMs(attempts: number, t: FailureTimings): number {
  return Math.min(t.capMs, t.baseMs * 2 ** Math.min(Math.max(0, attempts), 30));
}

export function decide(f: FailureInput, t: FailureTimings = DEFAULT_TIMINGS): FailureAction {
  const { now } = f;
  switch (f.meaning) {
    case 'done':
      // "Already so" to a post would mean the message is there: find it (its ts) rather than assume.
      return f.call === 'post'
        ? { do: 'retry', at: now + Math.max(t.settleMs, backoffMs(f.attempts, t)), unknown: true }
        : { do: 'done' };
    case 'rate_limited': {
      const wait = Math.max(1, f.retryAfterSec ?? 1) * 1000;
      return { do: 'pause', until: now + wait };
    }
    case 'maybe':
      // A post may be in Slack: look it up before posting again. An update or a read is idempotent.
      return f.call === 'post'
        ? { do: 'retry', at: now + Math.max(t.settleMs, backoffMs(f.attempts, t)), unknown: true }
        : { do: 'retry', at: now + backoffMs(f.attempts, t), unknown: false };
    case 'retry':
      return { do: 'retry', at: now + backoffMs(f.attempts, t), unknown: false };
    case 'operator':
      return { do: 'operator', at: now + t.operatorMs };
    case 'payload':
      // A read refused for its arguments cannot be fixed by a fallback: keep and surface.
      if (f.call === 'read' || f.onPayload === 'keep') return { do: 'operator', at: now + t.operatorMs };
      return f.onPayload === 'fallback' ? { do: 'fallback' } : { do: 'finish' };
    case 'gone':
      return { do: 'finish' };
  }
}
