/**
 * What every handler of the sender shares: the claim checks before a Slack write (`stillOurs`), the
 * item's end (`complete`, `retry`), the failure policy applied to a refused write (`failed`), looking
 * a message up by its metadata before sending it again (`lookUp`), posting in a card's thread, and
 * reading an alert from Cotool. Built once per sender (`createShared`); handlers take it as `s`.
 */

import type { Alert } from '../../core/alert.ts';
import { touchBudgetMs } from '../../core/claim-budget.ts';
import { Lru } from '../../core/lru.ts';
import type { Change, Fence, OutboxItem } from '../../core/records.ts';
import { isCotoolNotFound } from '../../cotool/errors.ts';
import type { Logger } from '../../log.ts';
import type {
  CardRenderer,
  CotoolClient,
  FoundMessage,
  MuteRenderer,
  QuestionRenderer,
  RequestView,
  SlackPort,
  SlackView,
  Store,
} from '../../ports.ts';
import { clearOperatorProblems, type HealthState, noteSlackProblem } from '../../telemetry/health.ts';
import type { Metrics } from '../../telemetry/metrics.ts';
import { backoffMs, type CallKind, decide, type OnPayload, timingsFrom } from '../failure-policy.ts';
import type { Pacer } from '../pacer.ts';
import type { TimelineMode } from '../timeline-relay.ts';

export type SenderDeps = {
  store: Store;
  slack: SlackPort;
  render: CardRenderer;
  cotool: Pick<CotoolClient, 'getAlert' | 'listTimeline'>;
  health: HealthState;
  logger: Logger;
  metrics: Metrics;
  owner: string;
  pace: { postRatePerSec: number; postBurst: number; updatesPerMinute: number };
  /** THREAD_TIMELINE: which new Cotool timeline entries thread notes tell (default all). */
  threadTimeline?: TimelineMode;
  /** Channels to drain from the start (more are found in the outbox). */
  channels: readonly string[];
  /**
   * A claim not refreshed for this long (on the database's clock) belongs to a process that died or
   * lost the lease mid-send. At least claimStaleFloorMs (config): longer than a write can take after
   * the claim was refreshed before it.
   */
  claimStaleMs: number;
  /** Only the leader sends. */
  isLeader: () => boolean;
  /** The lease token this process leads under (null: not the leader): every claim and write is fenced by it. */
  fence: () => Fence | null;
  /** Monotonic milliseconds (default performance.now): how long a claim refresh took. */
  monotonic?: () => number;
  clock?: () => number;
  /** How long an idle loop waits for work before looking again (ms). */
  idleMs?: number;
  /**
   * First retry delay after a failure (doubles per attempt, at most 30 of it: 30 s by default); an
   * operator problem (not_in_channel …) is tried again every 30 of it.
   */
  retryBaseMs?: number;
  /**
   * After an answer that is not a definite refusal, wait at least this long before looking the
   * message up: a request that timed out on our side may still be committed on Slack's (default 5 s).
   */
  unknownSettleMs?: number;
  /** A four-eyes request's message, pending or decided (src/slack/views/four-eyes.ts renderCloseRequest). */
  renderRequest?: (v: RequestView) => SlackView;
  /** A mute's messages (src/slack/mute-render.ts). */
  renderMute?: MuteRenderer;
  /** A "was this you?" question's DM and its card-thread notes (src/notify/sender/question.ts). */
  renderQuestion?: QuestionRenderer;
  /**
   * Told once a new card is recorded posted (not awaited: it must not hold the channel's lane). A
   * route with `ask_user: true` asks the person its alert names from here.
   */
  onCardPosted?: (e: { cardKey: string; alert: Alert; channel: string; ts: string }) => void;
};

/** What the sender has done since it started. */
export type SenderStats = {
  posted: number;
  updated: number;
  notices: number;
  digests: number;
  failed: number;
  rateLimited: number;
  /** Items dropped unread: an unknown kind, or a payload that does not decode. */
  dropped: number;
};

export type Outcome = 'sent' | 'moot' | 'retry' | 'lost';
/** Sends the minimal version of a message Slack refused for its content (`code`: Slack's error). */
export type Fallback = (code: string) => Promise<Outcome>;

/**
 * Kinds whose permanent payload refusal may not drop the item when no fallback is left to send (the
 * fallback itself was refused): the card, its state, the page, the storm. A thread note or a reply is
 * dropped (logged and counted): the alert's card still shows the alert.
 */
const KEEP_ON_PAYLOAD = new Set(['card', 'card_update', 'escalation', 'digest', 'digest_update', 'digest_ids']);
/** A timeline read reads at most this many pages of 200 (2,000 entries). */
export const TIMELINE_MAX_PAGES = 10;

export function createShared(deps: SenderDeps) {
  const { store, render, cotool, health, owner } = deps;
  // A write that goes through ends the channel's operator problem (shown on /readyz).
  const slack: SlackPort = {
    ...deps.slack,
    async post(m) {
      const r = await deps.slack.post(m);
      clearOperatorProblems(health, m.channel);
      return r;
    },
    async update(m) {
      await deps.slack.update(m);
      clearOperatorProblems(health, m.channel);
    },
  };
  const clock = deps.clock ?? Date.now;
  const retryBaseMs = deps.retryBaseMs ?? 1_000;
  const unknownSettleMs = deps.unknownSettleMs ?? 5_000;
  const monotonic = deps.monotonic ?? (() => performance.now());
  /** The fence each item in hand was claimed under. */
  const fences = new WeakMap<OutboxItem, Fence>();
  const stats: SenderStats = { posted: 0, updated: 0, notices: 0, digests: 0, failed: 0, rateLimited: 0, dropped: 0 };
  const log = deps.logger.child({ module: 'sender' });
  const metrics = deps.metrics;
  const lastChannelHint = new Lru<string, number>(1_000);
  const timings = timingsFrom(retryBaseMs, unknownSettleMs);
  const backoff = (attempts: number) => backoffMs(attempts, timings);

  /** The fence an item was claimed under (a handler only ever sees claimed items). */
  const fenceOf = (item: OutboxItem): Fence => fences.get(item) ?? { lease: '', token: -1 };
  const touchBudget = touchBudgetMs(deps.claimStaleMs);

  /**
   * Right before every Slack write (post or update): the claim is still this process's, under the
   * lease token it was taken with, and is refreshed (database clock) so that nobody takes it over
   * while the write is on its way. False: someone else may send the item; drop it ('lost'). A
   * refresh whose answer came too late to leave the write its time within the stale window counts
   * as lost too.
   */
  async function stillOurs(item: OutboxItem): Promise<boolean> {
    const sentAt = monotonic();
    let ok = false;
    try {
      ok = await store.touchClaim(item.key, owner, fenceOf(item));
    } catch (err) {
      log.warn({ err, key: item.key }, 'could not refresh the claim before writing to Slack; not writing');
      return false;
    }
    if (ok && touchBudget !== null && monotonic() - sentAt > touchBudget) {
      log.warn({ key: item.key }, 'refreshing the claim took too long to write safely; not writing');
      return false;
    }
    if (!ok)
      log.warn({ key: item.key }, 'the claim on an outbox item is no longer ours (lease or claim lost); not writing');
    return ok;
  }

  async function complete(item: OutboxItem, changes: Change[] = []): Promise<Outcome> {
    const ok = await store.completeOutbox(item.key, owner, fenceOf(item), item.rev, changes);
    if (!ok) {
      log.error({ key: item.key }, 'lost the claim on an outbox item while sending it (another sender took it over)');
      return 'lost';
    }
    return 'sent';
  }

  async function retry(item: OutboxItem, afterMs: number, unknown: boolean): Promise<Outcome> {
    await store.retryOutbox(item.key, owner, fenceOf(item), afterMs, unknown);
    return 'retry';
  }

  /** What a permanent refusal of an item's payload leaves when it has no fallback of its own. */
  const onPayloadOf = (kind: string): OnPayload => (KEEP_ON_PAYLOAD.has(kind) ? 'keep' : 'finish');

  /**
   * Handles a failed Slack call as the failure policy says (src/notify/failure-policy.ts): pause on
   * 429; keep the item `unknown` after a maybe-done post (looked up before any retry); retry
   * transient trouble with capped backoff, never giving up; keep an operator problem's item, retry
   * it slowly and surface it; send `fallback` when Slack refuses the payload for good; finish an
   * item whose target is gone. A failed read (a look-up) keeps the item's `unknown` as it is.
   */
  async function failed(
    item: OutboxItem,
    err: unknown,
    pacer: Pacer,
    method: string,
    fallback?: Fallback,
  ): Promise<Outcome> {
    const f = slack.classify(err, item.channel);
    const now = clock();
    stats.failed++;
    const call: CallKind = method === 'chat.postMessage' ? 'post' : method === 'chat.update' ? 'update' : 'read';
    const action = decide(
      {
        meaning: f.meaning,
        attempts: item.attempts,
        now,
        call,
        retryAfterSec: f.retryAfterSec,
        onPayload: fallback ? 'fallback' : onPayloadOf(item.kind),
      },
      timings,
    );
    if (action.do !== 'pause') {
      health.lastError = {
        at: new Date(now).toISOString(),
        source: 'slack',
        message: f.hint ?? `${method}: ${f.code}`,
      };
    }
    switch (action.do) {
      case 'pause':
        stats.rateLimited++;
        pacer.pause(action.until);
        metrics.slackRateLimited.inc({ method });
        log.warn(
          { key: item.key, channel: item.channel, retryAfterSec: (action.until - now) / 1000 },
          'Slack rate limit: pausing',
        );
        return retry(item, action.until - now, false);
      case 'retry':
        if (action.unknown) {
          log.warn(
            { key: item.key, slackError: f.code },
            `Slack ${method} outcome unknown; will look it up before sending again`,
          );
        } else {
          log.warn(
            { key: item.key, slackError: f.code, attempts: item.attempts + 1 },
            `Slack refused ${method}; will retry`,
          );
        }
        return retry(item, action.at - now, action.unknown);
      case 'operator': {
        if ((lastChannelHint.get(item.channel) ?? 0) <= now - 60_000) {
          lastChannelHint.set(item.channel, now);
          log.error(
            { channel: item.channel, slackError: f.code, key: item.key },
            f.hint ?? `Slack refused ${method} for good: ${f.code}; the message is kept and retried until fixed`,
          );
        }
        metrics.slackOperatorProblems.inc({ code: f.code });
        noteSlackProblem(
          health,
          {
            at: new Date(now).toISOString(),
            kind: 'operator',
            channel: item.channel,
            code: f.code,
            detail: f.hint ?? `Slack refuses ${method}: ${f.code}`,
          },
          new Date(now),
        );
        // Until an operator acts (invites the bot, fixes the token): look again slowly.
        pacer.pause(action.at);
        return retry(item, action.at - now, false);
      }
      case 'fallback': {
        log.error(
          { key: item.key, channel: item.channel, slackError: f.code },
          `Slack refused ${method} for its content; sending the minimal version instead`,
        );
        return (fallback as Fallback)(f.code);
      }
      case 'done':
        return complete(item);
      case 'finish': {
        if (f.meaning === 'gone') {
          log.warn(
            { key: item.key, slackError: f.code },
            'the message was deleted in Slack; it will no longer be updated',
          );
          return complete(item, item.cardKey && item.kind === 'card_update' ? [finalChange(item.cardKey)] : []);
        }
        log.error(
          { key: item.key, kind: item.kind, slackError: f.code },
          `Slack refused ${method} for its content; not sent (the alert's card still shows it)`,
        );
        metrics.fallbackMessages.inc({ kind: item.kind, fallback: 'none' });
        return complete(item);
      }
    }
  }

  /** A fallback went out (Slack had refused the full message with `code`): counted, listed on /readyz. */
  function fellBack(item: OutboxItem, code: string): void {
    metrics.fallbackMessages.inc({ kind: item.kind, fallback: 'minimal' });
    noteSlackProblem(
      health,
      {
        at: new Date(clock()).toISOString(),
        kind: 'fallback',
        channel: item.channel,
        code,
        detail: `${item.kind} ${item.cardKey ?? item.key} refused with ${code}: sent as its minimal text version`,
      },
      new Date(clock()),
    );
  }

  /**
   * Before sending again what an earlier attempt may have got into Slack: look for it by its
   * metadata (in the channel's history, or among a thread's replies). The message's ts, null when it
   * is surely not there, or the outcome for the item when the look-up failed or could not finish
   * (then the item keeps `unknown` and is tried again later: never posted on a guess).
   */
  async function lookUp(
    item: OutboxItem,
    pacer: Pacer,
    q: Parameters<SlackPort['findMessage']>[0],
  ): Promise<{ ts: string | null } | { outcome: Outcome }> {
    let found: FoundMessage;
    try {
      found = await slack.findMessage(q);
    } catch (err) {
      return {
        outcome: await failed(item, err, pacer, q.threadTs ? 'conversations.replies' : 'conversations.history'),
      };
    }
    if (found === 'absent') return { ts: null };
    if (found === 'unknown') return { outcome: await lookUpUnfinished(item) };
    return { ts: found.found };
  }

  /** A look-up that could not read every page: not "not there" — keep the item unknown, try later. */
  function lookUpUnfinished(item: OutboxItem): Promise<Outcome> {
    log.warn({ key: item.key }, 'could not finish looking for the message in Slack; will look again before sending');
    return retry(item, backoffMs(item.attempts, timings), true);
  }

  /**
   * A reply in a card's thread, paced, carrying the metadata it is found by again. Null when Slack
   * took it; otherwise what the failure means for the item.
   */
  async function postInThread(
    item: OutboxItem,
    pacer: Pacer,
    view: SlackView,
    at: { channel: string; ts: string; broadcast: boolean; eventType: string; alertId: string; key: string },
  ): Promise<Outcome | null> {
    const r = await write(item, pacer, 'chat.postMessage', () =>
      slack.post({
        ...view,
        channel: at.channel,
        thread_ts: at.ts,
        reply_broadcast: at.broadcast,
        metadata: { event_type: at.eventType, event_payload: { alert_id: at.alertId, key: at.key } },
      }),
    );
    return 'outcome' in r ? r.outcome : null;
  }

  /**
   * One Slack write for `item`: only while its claim is still ours ('lost' otherwise), paced.
   * Slack's answer, or what its failure means for the item (the failure policy; `fallback` sends the
   * minimal version of a payload Slack refused).
   */
  async function write<T>(
    item: OutboxItem,
    pacer: Pacer,
    method: 'chat.postMessage' | 'chat.update',
    call: () => Promise<T>,
    fallback?: Fallback,
  ): Promise<{ done: T } | { outcome: Outcome }> {
    if (!(await stillOurs(item))) return { outcome: 'lost' };
    pacer.take(clock());
    try {
      return { done: await call() };
    } catch (err) {
      return { outcome: await failed(item, err, pacer, method, fallback) };
    }
  }

  const finalChange = (key: string): Change => ({
    card: { op: 'update', alertId: key, expectState: 'posted', set: { final: true } },
  });

  async function fetchAlert(alertId: string): Promise<Alert | 'gone' | null> {
    try {
      return await cotool.getAlert(alertId);
    } catch (err) {
      if (isCotoolNotFound(err)) return 'gone';
      log.warn({ alertId, err }, 'could not read the alert from Cotool; will retry');
      return null;
    }
  }

  return {
    deps,
    store,
    slack,
    render,
    cotool,
    health,
    owner,
    log,
    metrics,
    clock,
    stats,
    fences,
    timings,
    retryBaseMs,
    backoff,
    stillOurs,
    write,
    complete,
    retry,
    failed,
    fellBack,
    lookUp,
    lookUpUnfinished,
    postInThread,
    finalChange,
    fetchAlert,
  };
}

export type Shared = ReturnType<typeof createShared>;
