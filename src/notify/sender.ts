/**
 * The sender: drains the persisted outbox into Slack. One loop per channel for new messages
 * (chat.postMessage, paced to SLACK_POST_RATE with a small burst) and one for edits (chat.update,
 * paced per workspace), each taking the most urgent due item first.
 *
 * Exactly once: an outbox row is the claim. A post is confirmed (the row deleted, the card's ts
 * saved) in one transaction, only while this process still holds the claim. When Slack's answer is
 * not a definite refusal — a 5xx, a timeout, a dropped connection — the row keeps `unknown`, and
 * whoever sends it next first looks for the message by its metadata (the card in the channel's
 * history, a notice among the card's replies) and adopts it when found. A 429 pauses the channel
 * for Retry-After; the Web API client's own retries are off, so nothing competes with the pacer.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { Lru } from '../core/lru.ts';
import type { CardPayload, EscalationPayload } from '../core/plan.ts';
import type { CotoolClient } from '../cotool/client.ts';
import { isCotoolNotFound } from '../cotool/errors.ts';
import { type Alert, isLive } from '../cotool/schemas.ts';
import { clearOperatorProblems, type HealthState, noteSlackProblem } from '../http/health.ts';
import type { Metrics } from '../http/metrics.ts';
import type { Logger } from '../log.ts';
import type { RequestView } from '../service/four-eyes.ts';
import { nameInReason } from '../service/reason.ts';
import type {
  CardPatch,
  CardRecord,
  Change,
  Fence,
  NewOutboxItem,
  OutboxItem,
  OutboxLane,
  Store,
  Storm,
} from '../store/store.ts';
import { touchBudgetMs } from './claim-budget.ts';
import { DIGEST_LIMITS } from './digest.ts';
import { backoffMs, type CallKind, decide, type OnPayload, timingsFrom } from './failure-policy.ts';
import {
  type CloseRequestPayload,
  closeRequestItem,
  closeRequestUpdateItem,
  type DigestIdsPayload,
  decodeIdListMark,
  digestIdsItem,
  type IdListMark,
  idListMetaKey,
  outboxKey,
  type ReplyPayload,
  type ThreadNotePayload,
} from './outbox-items.ts';
import { createPacer, type Pacer } from './pacer.ts';
import {
  type CardRenderer,
  type EscalationWho,
  EVENT_TYPES,
  type FoundMessage,
  type SlackPort,
  type SlackView,
} from './ports.ts';
import { alertIdOfKey } from './routes.ts';
import {
  cursorMetaKey,
  decodeCursor,
  encodeCursor,
  entriesAfter,
  entriesToTell,
  isAfter,
  sendingMetaKey,
  startCursor,
  type TimelineCursor,
  type TimelineMode,
} from './timeline-relay.ts';

export type SenderDeps = {
  store: Store;
  slack: SlackPort;
  render: CardRenderer;
  cotool: Pick<CotoolClient, 'getAlert' | 'listTimeline'>;
  health: HealthState;
  logger: Logger;
  metrics?: Metrics;
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
};

/** What the sender has done since it started. */
export type SenderStats = {
  posted: number;
  updated: number;
  notices: number;
  digests: number;
  failed: number;
  rateLimited: number;
};

type Outcome = 'sent' | 'moot' | 'retry' | 'lost';
/** Sends the minimal version of a message Slack refused for its content (`code`: Slack's error). */
type Fallback = (code: string) => Promise<Outcome>;

/**
 * Kinds whose permanent payload refusal may not drop the item when no fallback is left to send (the
 * fallback itself was refused): the card, its state, the page, the storm. A thread note or a reply is
 * dropped (logged and counted): the alert's card still shows the alert.
 */
const KEEP_ON_PAYLOAD = new Set(['card', 'card_update', 'escalation', 'digest', 'digest_update', 'digest_ids']);
/** Storm members' ids read per page when queueing id-list replies. */
const ID_PAGE = 2_000;
/** A thread note reads at most this many timeline pages of 200 (2,000 entries). */
const TIMELINE_MAX_PAGES = 10;

export function createSender(deps: SenderDeps) {
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
  const idleMs = deps.idleMs ?? 1_000;
  const retryBaseMs = deps.retryBaseMs ?? 1_000;
  const unknownSettleMs = deps.unknownSettleMs ?? 5_000;
  const monotonic = deps.monotonic ?? (() => performance.now());
  /** The fence each item in hand was claimed under. */
  const fences = new WeakMap<OutboxItem, Fence>();
  const stats: SenderStats = { posted: 0, updated: 0, notices: 0, digests: 0, failed: 0, rateLimited: 0 };
  let busy = 0;
  const log = deps.logger.child({ module: 'sender' });
  const metrics = deps.metrics;
  let stopping = false;
  const loops = new Map<string, Promise<void>>();
  const pacers = new Map<string, Pacer>();
  let wakers: (() => void)[] = [];
  const lastChannelHint = new Lru<string, number>(1_000);
  const updatePacer = createPacer({ ratePerSec: deps.pace.updatesPerMinute / 60, burst: 3 }, clock());

  const postPacer = (channel: string) => {
    let p = pacers.get(channel);
    if (!p) {
      p = createPacer({ ratePerSec: deps.pace.postRatePerSec, burst: deps.pace.postBurst }, clock());
      pacers.set(channel, p);
    }
    return p;
  };

  /** Waits up to `ms`, or until woken (new work) or stopped. */
  function idle(ms: number): Promise<void> {
    if (stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      t.unref?.();
      function done() {
        clearTimeout(t);
        wakers = wakers.filter((w) => w !== done);
        resolve();
      }
      wakers.push(done);
    });
  }

  function wake(): void {
    const w = wakers;
    wakers = [];
    for (const f of w) f();
  }

  const timings = timingsFrom(retryBaseMs, unknownSettleMs);
  const backoff = (attempts: number) => backoffMs(attempts, timings);

  function parse<T>(item: OutboxItem): T {
    return JSON.parse(item.payload) as T;
  }

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
        metrics?.slackRateLimited.inc({ method });
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
        metrics?.slackOperatorProblems.inc({ code: f.code });
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
          return complete(item, item.alertId && item.kind === 'card_update' ? [finalChange(item.alertId)] : []);
        }
        log.error(
          { key: item.key, kind: item.kind, slackError: f.code },
          `Slack refused ${method} for its content; not sent (the alert's card still shows it)`,
        );
        metrics?.fallbackMessages.inc({ kind: item.kind, fallback: 'none' });
        return complete(item);
      }
    }
  }

  /** A fallback went out (Slack had refused the full message with `code`): counted, listed on /readyz. */
  function fellBack(item: OutboxItem, code: string): void {
    metrics?.fallbackMessages.inc({ kind: item.kind, fallback: 'minimal' });
    noteSlackProblem(
      health,
      {
        at: new Date(clock()).toISOString(),
        kind: 'fallback',
        channel: item.channel,
        code,
        detail: `${item.kind} ${item.alertId ?? item.key} refused with ${code}: sent as its minimal text version`,
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
    if (!(await stillOurs(item))) return 'lost';
    pacer.take(clock());
    try {
      await slack.post({
        ...view,
        channel: at.channel,
        thread_ts: at.ts,
        reply_broadcast: at.broadcast,
        metadata: { event_type: at.eventType, event_payload: { alert_id: at.alertId, key: at.key } },
      });
      return null;
    } catch (err) {
      return failed(item, err, pacer, 'chat.postMessage');
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

  /**
   * Who escalated, from the alert's timeline (best effort); `fromSlack`: the bot made it for an
   * analyst who clicked a card (the API key's user as actor, a reason naming the Slack user).
   */
  async function escalationWho(alert: Alert): Promise<EscalationWho & { fromSlack: boolean }> {
    let full: Awaited<ReturnType<CotoolClient['getAlert']>>;
    try {
      full = await cotool.getAlert(alert.id);
    } catch (err) {
      log.warn({ alertId: alert.id, err }, 'could not read the timeline to name who escalated');
      return { by: null, reason: null, fromSlack: false };
    }
    const entry = full.timeline
      .filter((e) => e.kind === 'status_change' && e.afterStatus === 'escalated')
      .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))[0];
    if (!entry) return { by: null, reason: null, fromSlack: false };
    const metaReason = typeof entry.metadata.reason === 'string' ? entry.metadata.reason : null;
    const reason = entry.bodyMarkdown ?? metaReason;
    // The API key's user writes for Slack users; an agent's text naming someone is not believed.
    const named = entry.actorType === 'human' ? nameInReason(reason) : null;
    const by = named ?? entry.actorAgentName ?? entry.actorUserName ?? (entry.actorType === 'system' ? 'Cotool' : null);
    return { by, reason, fromSlack: named !== null };
  }

  // ---- handlers

  async function sendCard(item: OutboxItem, pacer: Pacer): Promise<Outcome> {
    const key = item.alertId as string;
    const rec = await store.get(key);
    // A card claimed by the first release carries no payload: its alert id is the record's.
    const parsed = parse<Partial<CardPayload>>(item);
    const payload: CardPayload = { ...parsed, alertId: parsed.alertId ?? alertIdOfKey(key) };
    if (!rec) return complete(item);
    if (rec.state === 'posted') return updateCard(item, rec, payload, pacer);
    if (rec.state !== 'queued') return complete(item);
    let alert: Alert | undefined = payload.alert;
    const refreshed = payload.refresh === true || !alert;
    if (refreshed) {
      const got = await fetchAlert(payload.alertId);
      if (got === null) return retry(item, backoff(item.attempts), false);
      if (got === 'gone') {
        log.info({ alertId: payload.alertId }, 'alert deleted in Cotool before its card was posted');
        return complete(item, [
          { card: { op: 'update', alertId: key, expectState: 'queued', set: { state: 'seen', final: true } } },
        ]);
      }
      alert = got;
    }
    const a = alert as Alert;
    const rendered = refreshed
      ? { status: a.status, updatedAt: a.updatedAt, fingerprint: render.fingerprint(a, rec), final: !isLive(a.status) }
      : {};
    const posted = (channel: string, ts: string): Change => ({
      card: {
        op: 'update',
        alertId: key,
        expectState: 'queued',
        set: { state: 'posted', channel, ts, postedAt: clock(), ...rendered },
      },
    });
    if (item.unknown) {
      let ts: string | null;
      try {
        const found = await slack.findMessage({
          channel: item.channel,
          eventType: EVENT_TYPES.card,
          key: item.key,
          alertId: payload.alertId,
          oldestMs: item.createdAt - 120_000,
        });
        if (found === 'unknown') return lookUpUnfinished(item);
        ts = found === 'absent' ? null : found.found;
      } catch (err) {
        const f = slack.classify(err, item.channel);
        if (f.code !== 'missing_scope') return failed(item, err, pacer, 'conversations.history');
        // Without the history scope the card cannot be looked for: post rather than lose the alert.
        ts = null;
      }
      if (ts) {
        log.info({ alertId: payload.alertId, ts }, 'found the card an earlier attempt posted; not posting again');
        // What it shows may be older than the alert: redraw it.
        return complete(item, [
          posted(item.channel, ts),
          {
            enqueue: [
              {
                ...item,
                key: outboxKey.cardUpdate(key),
                kind: 'card_update',
                lane: 'update',
                payload: JSON.stringify({ alertId: payload.alertId, alert: a }),
              },
            ],
          },
        ]);
      }
    }
    const cardPost = async (view: SlackView, fallback?: Fallback, refusedWith?: string): Promise<Outcome> => {
      if (!(await stillOurs(item))) return 'lost';
      pacer.take(clock());
      let place: { channel: string; ts: string };
      try {
        place = await slack.post({
          ...view,
          channel: item.channel,
          metadata: {
            event_type: EVENT_TYPES.card,
            event_payload: { alert_id: a.id, display_id: a.displayId, key: item.key },
          },
        });
      } catch (err) {
        return failed(item, err, pacer, 'chat.postMessage', fallback);
      }
      log.info({ alertId: a.id, displayId: a.displayId, channel: place.channel, ts: place.ts }, 'card posted');
      stats.posted++;
      metrics?.cardsPosted.inc();
      if (refusedWith) fellBack(item, refusedWith);
      // The minimal card carries the card's metadata: found again after a crash, updated later.
      return complete(item, [posted(place.channel, place.ts)]);
    };
    return cardPost(render.card(a, rec), (code) => cardPost(render.minimalCard(a), undefined, code));
  }

  async function updateCard(item: OutboxItem, rec: CardRecord, payload: CardPayload, pacer: Pacer): Promise<Outcome> {
    if (rec.state !== 'posted' || !rec.ts || !rec.channel) return complete(item);
    let alert = payload.alert ?? null;
    if (payload.refresh || !alert) {
      const got = await fetchAlert(payload.alertId);
      if (got === null) return retry(item, backoff(item.attempts), false);
      alert = got === 'gone' ? null : got;
    }
    if (alert && !payload.refresh) {
      // A click redrew the card from a newer version of the alert meanwhile: nothing to do.
      const tNew = Date.parse(alert.updatedAt);
      const tRec = rec.updatedAt ? Date.parse(rec.updatedAt) : Number.NaN;
      if (!Number.isNaN(tNew) && !Number.isNaN(tRec) && tNew < tRec) return complete(item);
    }
    // No alert: it was deleted in Cotool, and the card says so.
    const view = alert ? render.card(alert, rec) : render.gone(rec);
    const set: CardPatch = alert
      ? {
          status: alert.status,
          updatedAt: alert.updatedAt,
          fingerprint: render.fingerprint(alert, rec),
          final: !isLive(alert.status),
        }
      : { status: 'deleted', final: true };
    const channel = rec.channel;
    const ts = rec.ts;
    const updated = () => recordUpdate(item, rec, payload, set, channel);
    const cardUpdate = async (v: SlackView, fallback?: Fallback): Promise<Outcome | null> => {
      if (!(await stillOurs(item))) return 'lost';
      pacer.take(clock());
      try {
        await slack.update({ ...v, channel, ts });
        return null;
      } catch (err) {
        return failed(item, err, pacer, 'chat.update', fallback);
      }
    };
    // Refused for its content: the minimal card (status, no buttons) — a closed alert shows closed.
    const minimal = alert
      ? async (code: string) => {
          const refused = await cardUpdate(render.minimalCard(alert));
          if (refused) return refused;
          fellBack(item, code);
          return updated();
        }
      : undefined;
    const refused = await cardUpdate(view, minimal);
    return refused ?? updated();
  }

  /** Records a card update that Slack took. */
  async function recordUpdate(
    item: OutboxItem,
    rec: CardRecord,
    payload: CardPayload,
    set: CardPatch,
    channel: string,
  ): Promise<Outcome> {
    stats.updated++;
    metrics?.cardsUpdated.inc();
    const now = await store.get(rec.alertId);
    const changes: Change[] = [{ card: { op: 'update', alertId: rec.alertId, expectVersion: rec.version, set } }];
    if (now && now.version !== rec.version && !payload.refresh) {
      // Someone (a click) wrote the card while this update was on its way and may have been drawn
      // over: redraw from Cotool's current state.
      changes.push({
        enqueue: [
          {
            key: outboxKey.cardUpdate(rec.alertId),
            kind: 'card_update',
            lane: 'update',
            channel,
            alertId: rec.alertId,
            priority: item.priority,
            orderAt: clock(),
            payload: JSON.stringify({ alertId: payload.alertId, refresh: true } satisfies CardPayload),
          },
        ],
      });
    }
    return complete(item, changes);
  }

  async function sendCardUpdate(item: OutboxItem, pacer: Pacer): Promise<Outcome> {
    const rec = await store.get(item.alertId as string);
    if (!rec) return complete(item);
    return updateCard(item, rec, parse<CardPayload>(item), pacer);
  }

  async function sendEscalation(item: OutboxItem, pacer: Pacer): Promise<Outcome> {
    const rec = await store.get(item.alertId as string);
    const payload = parse<EscalationPayload>(item);
    if (!rec || (rec.state !== 'posted' && rec.state !== 'queued')) return complete(item);
    // The notice is a reply to the card: wait for the card.
    if (rec.state === 'queued' || !rec.ts) return retry(item, 1_000, item.unknown);
    const thread = { channel: rec.channel ?? item.channel, ts: rec.ts };
    // Always looked for first, not only after an unknown outcome: a notice pages on-call, a thread is
    // short, and escalations are few — the one extra read is worth never paging twice.
    {
      const found = await lookUp(item, pacer, {
        channel: thread.channel,
        eventType: EVENT_TYPES.escalation,
        key: item.key,
        threadTs: thread.ts,
        oldestMs: 0,
      });
      if ('outcome' in found) return found.outcome;
      const ts = found.ts;
      if (ts) {
        log.info(
          { alertId: payload.alertId },
          'found the escalation notice an earlier attempt posted; not posting again',
        );
        return complete(item);
      }
    }
    const { fromSlack, ...who } = await escalationWho(payload.alert);
    if (fromSlack) {
      // Escalated from a card: its thread note says so, and on-call is not paged for it — also when
      // the replica that made it died before recording the change as its own (the planner then
      // could not tell).
      log.info({ alertId: payload.alertId }, 'escalated from Slack: on-call is not paged');
      return complete(item);
    }
    const view = render.escalationReply(payload.alert, { ...who, mention: payload.mention });
    const refused = await postInThread(item, pacer, view, {
      ...thread,
      broadcast: true,
      eventType: EVENT_TYPES.escalation,
      alertId: payload.alertId,
      key: item.key,
    });
    if (refused) return refused;
    metrics?.escalationsAnnounced.inc();
    stats.notices++;
    log.info({ alertId: payload.alertId, displayId: payload.alert.displayId }, 'escalation announced');
    return complete(item);
  }

  /**
   * New timeline entries of a posted card's alert, told in one quiet reply in its thread. The cursor
   * (the last entry told) is saved in the transaction that completes the item; before posting, the
   * note's last entry is noted, so that after a lost answer the note is looked for under its key —
   * and once found there, the cursor is saved at once (a later attempt may fail again before its
   * completion), so no entry is told twice and none is skipped.
   */
  async function sendThreadNote(item: OutboxItem, pacer: Pacer): Promise<Outcome> {
    const key = item.alertId as string;
    const payload = parse<ThreadNotePayload>(item);
    const mode = deps.threadTimeline ?? 'all';
    const rec = await store.get(key);
    if (mode === 'off' || !rec || rec.state !== 'posted' || !rec.ts || !rec.channel) return complete(item);
    const thread = { channel: rec.channel, ts: rec.ts };
    let cursor =
      decodeCursor(await store.getMeta(cursorMetaKey(key))) ?? startCursor(rec.postedAt, payload.since, clock());
    let timeline: Awaited<ReturnType<CotoolClient['listTimeline']>>;
    try {
      timeline = await cotool.listTimeline(payload.alertId, { pageSize: 200, maxPages: TIMELINE_MAX_PAGES });
    } catch (err) {
      if (isCotoolNotFound(err)) return complete(item);
      log.warn({ alertId: payload.alertId, err }, 'could not read the alert timeline from Cotool; will retry');
      return retry(item, backoff(item.attempts), item.unknown);
    }
    let fresh = entriesAfter(timeline.entries, cursor);
    if (item.unknown) {
      // An earlier attempt may have posted a note ending at `sending`: adopt it, tell only what follows.
      const sending = decodeCursor(await store.getMeta(sendingMetaKey(key)));
      if (sending && isAfter(sending, cursor)) {
        const found = await lookUp(item, pacer, {
          channel: thread.channel,
          eventType: EVENT_TYPES.note,
          key: `${item.key}:${sending.id}`,
          threadTs: thread.ts,
          oldestMs: 0,
        });
        if ('outcome' in found) return found.outcome;
        const ts = found.ts;
        if (ts) {
          log.info({ alertId: payload.alertId }, 'found the thread note an earlier attempt posted; not again');
          cursor = sending;
          fresh = entriesAfter(fresh, cursor);
          // Saved now, not only with this item's completion: should this attempt fail too (a 429, a
          // crash), the next one starts after what is surely in the thread, and does not tell it again.
          await store.apply([{ meta: [{ key: cursorMetaKey(key), value: encodeCursor(cursor) }] }]);
        }
      }
    }
    const last = fresh.at(-1);
    if (!last) return complete(item, [{ meta: [{ key: cursorMetaKey(key), value: encodeCursor(cursor) }] }]);
    const told: TimelineCursor = { id: last.id, createdAt: last.createdAt };
    const advance: Change = { meta: [{ key: cursorMetaKey(key), value: encodeCursor(told) }] };
    const tell = entriesToTell(fresh, { mode, timeline: timeline.entries, lastAction: rec.lastAction });
    if (tell.length === 0) return complete(item, [advance]);
    await store.setMeta(sendingMetaKey(key), encodeCursor(told));
    const view = render.timelineNote(
      { id: payload.alertId, displayId: rec.displayId, organizationName: payload.organizationName },
      tell,
    );
    const refused = await postInThread(item, pacer, view, {
      ...thread,
      broadcast: false,
      eventType: EVENT_TYPES.note,
      alertId: payload.alertId,
      key: `${item.key}:${last.id}`,
    });
    if (refused) return refused;
    stats.notices++;
    log.info(
      { alertId: payload.alertId, displayId: rec.displayId, entries: tell.length },
      'timeline told in the card thread',
    );
    return complete(item, [advance]);
  }

  /**
   * Id-list replies for the storm's members not listed yet (every id, one by one, in the digest's
   * thread), and the new mark: queued with the digest item that is completing, so each member is
   * listed once. Read page by page; a storm of any size holds only the replies' text.
   */
  async function idListChanges(storm: { id: string; channel: string }): Promise<Change[]> {
    const key = idListMetaKey(storm.id);
    const mark = decodeIdListMark(await store.getMeta(key));
    const items: NewOutboxItem[] = [];
    let buf: { seq: number; displayId: string }[] = [];
    let after = mark.seq;
    let more = true;
    let { listed, chunks } = mark;
    let seq = mark.seq;
    const now = clock();
    for (;;) {
      const ids = buf.map((x) => x.displayId);
      const fit = ids.length ? render.idListFits(ids) : 0;
      if (more && fit >= buf.length) {
        // Everything read so far fits in one reply: read on (the buffer stays within a reply's size).
        const page = await store.stormIdsAfter(storm.id, after, ID_PAGE);
        more = page.length === ID_PAGE;
        buf = buf.concat(page);
        after = page.at(-1)?.seq ?? after;
        continue;
      }
      if (buf.length === 0) break;
      const part = ids.slice(0, fit);
      items.push(digestIdsItem(storm, chunks, render.idList(part, listed + 1), now));
      seq = buf[fit - 1]?.seq ?? seq;
      buf = buf.slice(fit);
      listed += part.length;
      chunks++;
    }
    if (items.length === 0) return [];
    return [{ enqueue: items, meta: [{ key, value: JSON.stringify({ seq, listed, chunks } satisfies IdListMark) }] }];
  }

  async function sendDigest(item: OutboxItem, pacer: Pacer): Promise<Outcome> {
    const { stormId } = parse<{ stormId: string }>(item);
    const storm = await store.getStorm(stormId);
    if (!storm || storm.ts) return complete(item);
    if (item.unknown) {
      const found = await lookUp(item, pacer, {
        channel: storm.channel,
        eventType: EVENT_TYPES.digest,
        key: item.key,
        oldestMs: storm.startedAt - 120_000,
      });
      if ('outcome' in found) return found.outcome;
      const ts = found.ts;
      if (ts) return complete(item, [{ storm: { op: 'posted', id: stormId, ts } }, ...(await idListChanges(storm))]);
    }
    const digestPost = async (view: SlackView, fallback?: Fallback, refusedWith?: string): Promise<Outcome> => {
      if (!(await stillOurs(item))) return 'lost';
      pacer.take(clock());
      let place: { ts: string };
      try {
        place = await slack.post({
          ...view,
          channel: storm.channel,
          metadata: { event_type: EVENT_TYPES.digest, event_payload: { storm_id: stormId, key: item.key } },
        });
      } catch (err) {
        return failed(item, err, pacer, 'chat.postMessage', fallback);
      }
      log.info({ stormId, channel: storm.channel, ts: place.ts }, 'storm digest posted');
      stats.digests++;
      if (refusedWith) fellBack(item, refusedWith);
      return complete(item, [{ storm: { op: 'posted', id: stormId, ts: place.ts } }, ...(await idListChanges(storm))]);
    };
    const view = render.digest(storm, await store.stormDigest(stormId, DIGEST_LIMITS), clock());
    return digestPost(view, async (code) => digestPost(await minimalDigest(storm), undefined, code));
  }

  /** The storm's minimal digest (when Slack refuses the full one for its content). */
  async function minimalDigest(storm: Storm): Promise<SlackView> {
    // Bounded: the count from the aggregate, the first ids (every id is in the digest's thread too).
    const { total } = await store.stormDigest(storm.id, { groups: 0, examples: 0, spans: 0 });
    const ids = await store.stormIdsAfter(storm.id, 0, 500);
    return render.minimalDigest(
      storm,
      total,
      ids.map((m) => m.displayId),
    );
  }

  async function sendDigestUpdate(item: OutboxItem, pacer: Pacer): Promise<Outcome> {
    const { stormId } = parse<{ stormId: string }>(item);
    const storm = await store.getStorm(stormId);
    if (!storm) return complete(item);
    if (!storm.ts) {
      // The digest is not out yet (it is drawn from the store when it goes: no edit needed then).
      const waiting = (await store.listOutbox({ kind: 'digest' })).some((i) => i.key === outboxKey.digest(stormId));
      return waiting ? retry(item, 2_000, false) : complete(item);
    }
    const ts = storm.ts;
    const digestUpdate = async (view: SlackView, fallback?: Fallback, refusedWith?: string): Promise<Outcome> => {
      if (!(await stillOurs(item))) return 'lost';
      pacer.take(clock());
      try {
        await slack.update({ ...view, channel: storm.channel, ts });
      } catch (err) {
        return failed(item, err, pacer, 'chat.update', fallback);
      }
      if (refusedWith) fellBack(item, refusedWith);
      return complete(item, await idListChanges(storm));
    };
    const view = render.digest(storm, await store.stormDigest(stormId, DIGEST_LIMITS), clock());
    return digestUpdate(view, async (code) => digestUpdate(await minimalDigest(storm), undefined, code));
  }

  /**
   * An id-list reply in a digest's thread (drawn when it was queued). Looked for there by its key
   * before it is sent again, so each is posted once.
   */
  async function sendDigestIds(item: OutboxItem, pacer: Pacer): Promise<Outcome> {
    const p = parse<DigestIdsPayload>(item);
    const storm = await store.getStorm(p.stormId);
    if (!storm) return complete(item);
    if (!storm.ts) return retry(item, 2_000, item.unknown); // queued with the digest's ts: not expected
    const thread = { channel: storm.channel, ts: storm.ts };
    if (item.unknown) {
      const found = await lookUp(item, pacer, {
        channel: thread.channel,
        eventType: EVENT_TYPES.digestIds,
        key: item.key,
        threadTs: thread.ts,
        oldestMs: 0,
      });
      if ('outcome' in found) return found.outcome;
      if (found.ts) {
        log.info({ stormId: p.stormId, n: p.n }, 'found the id list an earlier attempt posted; not posting again');
        return complete(item);
      }
    }
    if (!(await stillOurs(item))) return 'lost';
    pacer.take(clock());
    try {
      await slack.post({
        ...p.view,
        channel: thread.channel,
        thread_ts: thread.ts,
        reply_broadcast: false,
        metadata: { event_type: EVENT_TYPES.digestIds, event_payload: { storm_id: p.stormId, key: item.key } },
      });
    } catch (err) {
      return failed(item, err, pacer, 'chat.postMessage');
    }
    return complete(item);
  }

  /** A quiet reply in a card's thread; looked for there before it is sent again. */
  async function sendReply(item: OutboxItem, pacer: Pacer): Promise<Outcome> {
    const p = parse<ReplyPayload>(item);
    if (item.unknown) {
      const found = await lookUp(item, pacer, {
        channel: item.channel,
        eventType: EVENT_TYPES.note,
        key: item.key,
        threadTs: p.threadTs,
        oldestMs: 0,
      });
      if ('outcome' in found) return found.outcome;
      const ts = found.ts;
      if (ts) return complete(item);
    }
    let view = p.view;
    if (p.intent) {
      // An intent whose change never settled it (its process died, or Cotool answered after the
      // click's claim ran out): tell the change only if it was made.
      const told = await intentOutcome(p.alertId, p.intent, p.view);
      if (told === 'retry') return retry(item, backoff(item.attempts), item.unknown);
      if (told === null) return complete(item);
      log.info({ alertId: p.alertId, key: item.key }, 'telling a change from Slack whose note was never queued');
      view = told;
    }
    if (!view) return complete(item);
    const refused = await postInThread(item, pacer, view, {
      channel: item.channel,
      ts: p.threadTs,
      broadcast: false,
      eventType: EVENT_TYPES.note,
      alertId: p.alertId,
      key: item.key,
    });
    return refused ?? complete(item);
  }

  /**
   * A four-eyes request's message, in the card's thread (or the alert channel). Its ts is saved as
   * the item completes; after an unknown outcome it is looked for first (it may be visible, and
   * approvable, already). A request decided before its message could have been seen is not posted.
   */
  async function sendCloseRequest(item: OutboxItem, pacer: Pacer): Promise<Outcome> {
    const { requestId } = parse<CloseRequestPayload>(item);
    const request = await store.getCloseRequest(requestId);
    if (!request || request.ts || !request.channel) return complete(item);
    const channel = request.channel;
    const saved = (ts: string): Change[] => [
      { closeRequestTs: { id: request.id, ts } },
      // Decided while its message's answer was in doubt: redraw it as it is now.
      ...(request.state !== 'pending'
        ? [{ enqueue: [closeRequestUpdateItem({ id: request.id, alertId: request.alertId, channel }, clock())] }]
        : []),
    ];
    if (item.unknown) {
      const found = await lookUp(item, pacer, {
        channel,
        eventType: EVENT_TYPES.closeRequest,
        key: item.key,
        ...(request.threadTs ? { threadTs: request.threadTs } : {}),
        oldestMs: request.createdAt - 120_000,
      });
      if ('outcome' in found) return found.outcome;
      if (found.ts) {
        log.info({ requestId }, 'found the four-eyes request an earlier attempt posted; not posting again');
        return complete(item, saved(found.ts));
      }
    }
    if (request.state !== 'pending') return complete(item);
    if (!deps.renderRequest) {
      log.error({ key: item.key }, 'no renderer for four-eyes requests; will retry');
      return retry(item, 30 * retryBaseMs, item.unknown);
    }
    const view = deps.renderRequest({ request, note: null, now: clock() });
    if (!(await stillOurs(item))) return 'lost';
    pacer.take(clock());
    let place: { ts: string };
    try {
      place = await slack.post({
        ...view,
        channel,
        ...(request.threadTs ? { thread_ts: request.threadTs, reply_broadcast: false } : {}),
        metadata: {
          event_type: EVENT_TYPES.closeRequest,
          event_payload: { alert_id: request.alertId, request_id: request.id, key: item.key },
        },
      });
    } catch (err) {
      return failed(item, err, pacer, 'chat.postMessage');
    }
    log.info({ requestId, alertId: request.alertId, ts: place.ts }, 'four eyes: close request posted');
    return complete(item, saved(place.ts));
  }

  /** A four-eyes request's message redrawn as the request is now (decided: no buttons). */
  async function sendCloseRequestUpdate(item: OutboxItem, pacer: Pacer): Promise<Outcome> {
    const { requestId } = parse<CloseRequestPayload>(item);
    const request = await store.getCloseRequest(requestId);
    if (!request) return complete(item);
    if (!request.ts || !request.channel) {
      // Not posted yet: it is drawn as it is when it goes (no edit needed then).
      const key = closeRequestItem({ id: requestId, alertId: request.alertId, channel: '' }, 0).key;
      const waiting = (await store.listOutbox({ kind: 'close_request' })).some((i) => i.key === key);
      return waiting ? retry(item, 2_000, false) : complete(item);
    }
    if (!deps.renderRequest) return complete(item);
    const view = deps.renderRequest({ request, note: null, now: clock() });
    if (!(await stillOurs(item))) return 'lost';
    pacer.take(clock());
    try {
      await slack.update({ ...view, channel: request.channel, ts: request.ts });
    } catch (err) {
      return failed(item, err, pacer, 'chat.update');
    }
    return complete(item);
  }

  /**
   * Whether an intent's change was made, read from Cotool: the note to tell, null when it was not
   * made (or the alert is gone), 'retry' when Cotool could not be read.
   */
  async function intentOutcome(
    alertId: string,
    intent: NonNullable<ReplyPayload['intent']>,
    view: SlackView | undefined,
  ): Promise<SlackView | null | 'retry'> {
    if (intent.kind === 'note') {
      let listing: Awaited<ReturnType<CotoolClient['listTimeline']>>;
      try {
        listing = await cotool.listTimeline(alertId, { pageSize: 200, maxPages: TIMELINE_MAX_PAGES });
      } catch (err) {
        if (isCotoolNotFound(err)) return null;
        log.warn({ alertId, err }, 'could not read the alert timeline from Cotool; will retry');
        return 'retry';
      }
      const saved = listing.entries.some((e) => e.kind === 'comment' && e.bodyMarkdown === intent.body);
      if (!saved && listing.truncated) log.warn({ alertId }, 'a note not found in a partial timeline is not told');
      return saved && view ? view : null;
    }
    const got = await fetchAlert(alertId);
    if (got === null) return 'retry';
    if (got === 'gone' || got.updatedAt === intent.beforeUpdatedAt) return null;
    if (intent.kind === 'edit') {
      if (intent.title && got.title !== intent.title.to) return null;
      if (intent.description !== undefined && (got.description ?? null) !== intent.description) return null;
      return render.editReply(got, {
        by: intent.by,
        title: intent.title ? { from: intent.title.from, to: got.title } : null,
        descriptionChanged: intent.description !== undefined,
      });
    }
    if (got.status !== intent.status) return null;
    return render.statusReply(got, { by: intent.by, status: intent.status, reason: intent.reason });
  }

  function handle(item: OutboxItem, pacer: Pacer): Promise<Outcome> {
    switch (item.kind) {
      case 'reply':
        return sendReply(item, pacer);
      case 'card':
        return sendCard(item, pacer);
      case 'card_update':
        return sendCardUpdate(item, pacer);
      case 'escalation':
        return sendEscalation(item, pacer);
      case 'digest':
        return sendDigest(item, pacer);
      case 'digest_update':
        return sendDigestUpdate(item, pacer);
      case 'digest_ids':
        return sendDigestIds(item, pacer);
      case 'thread_note':
        return sendThreadNote(item, pacer);
      case 'close_request':
        return sendCloseRequest(item, pacer);
      case 'close_request_update':
        return sendCloseRequestUpdate(item, pacer);
      default:
        log.error({ key: item.key, kind: item.kind }, 'unknown outbox item kind; dropping it');
        return complete(item);
    }
  }

  async function loop(lane: OutboxLane, channel: string | undefined): Promise<void> {
    const pacer = lane === 'post' ? postPacer(channel as string) : updatePacer;
    while (!stopping) {
      if (!deps.isLeader()) {
        await idle(idleMs);
        continue;
      }
      const wait = pacer.wait(clock());
      if (wait > 0) {
        await delay(Math.min(wait, 5_000));
        continue;
      }
      const fence = deps.fence();
      if (!fence) {
        await idle(idleMs);
        continue;
      }
      let item: OutboxItem | null;
      try {
        item = await store.claimNext({
          lane,
          ...(channel !== undefined ? { channel } : {}),
          owner,
          staleMs: deps.claimStaleMs,
          fence,
        });
      } catch (err) {
        log.error({ err }, 'could not read the outbox; will retry');
        health.storeOk = false;
        await idle(idleMs);
        continue;
      }
      if (!item) {
        refreshSoon();
        await idle(idleMs);
        continue;
      }
      fences.set(item, fence);
      busy++;
      try {
        health.storeOk = true;
        await handle(item, pacer);
        refreshSoon();
      } catch (err) {
        // A store failure mid-item: the claim stays and goes stale; whoever takes it looks first.
        log.error({ err, key: item.key }, 'sending an outbox item failed unexpectedly');
        await store
          .retryOutbox(item.key, owner, fence, backoff(item.attempts), item.lane === 'post')
          .catch(() => undefined);
        await idle(idleMs);
      } finally {
        busy--;
      }
    }
  }

  function ensureLoop(lane: OutboxLane, channel?: string) {
    const name = `${lane}:${channel ?? '*'}`;
    if (stopping || loops.has(name)) return;
    loops.set(
      name,
      loop(lane, channel).catch((err: unknown) => log.error({ err, loop: name }, 'sender loop crashed')),
    );
  }

  /** Starts loops for channels that have work; reports the depth. */
  const reported = new Set<string>(deps.channels.flatMap((ch) => [`${ch}|post`, `${ch}|update`]));
  let depthAt = 0;
  async function refresh(): Promise<void> {
    depthAt = clock();
    const depth = await store.outboxDepth();
    const seen = new Set<string>();
    for (const d of depth) {
      if (d.lane === 'post') ensureLoop('post', d.channel);
      metrics?.outboxDepth.set({ channel: d.channel, lane: d.lane }, d.count);
      seen.add(`${d.channel}|${d.lane}`);
      reported.add(`${d.channel}|${d.lane}`);
    }
    for (const pair of reported) {
      if (seen.has(pair)) continue;
      const [channel = '', lane = 'post'] = pair.split('|');
      metrics?.outboxDepth.set({ channel, lane }, 0);
    }
  }
  /** The depth gauge follows the sending, at most twice a second. */
  function refreshSoon(): void {
    if (clock() - depthAt < 500) return;
    refresh().catch((err: unknown) => log.debug({ err }, 'could not read the outbox depth'));
  }

  return {
    stats,
    /**
     * Resolves true once nothing is due within `horizonMs` or being sent (items waiting for a later
     * retry do not count), false after `timeoutMs`. For tests, benchmarks and a clean shutdown.
     */
    async whenIdle(timeoutMs = 10_000, horizonMs = 250): Promise<boolean> {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (busy === 0) {
          const now = clock();
          const items = await store.listOutbox();
          if (!items.some((i) => i.state === 'claimed' || i.notBefore <= now + horizonMs)) {
            // A loop may be between claiming and counting itself busy: look once more.
            await delay(5);
            if (busy === 0) return true;
          }
        }
        await delay(10);
      }
      return false;
    },
    start(): void {
      for (const ch of deps.channels) ensureLoop('post', ch);
      ensureLoop('update');
    },
    /** New work was written: look for it now. */
    async wake(): Promise<void> {
      try {
        await refresh();
      } catch (err) {
        log.warn({ err }, 'could not read the outbox depth');
      }
      wake();
    },
    async stop(timeoutMs = 5_000): Promise<void> {
      stopping = true;
      wake();
      await Promise.race([Promise.all(loops.values()), delay(timeoutMs, undefined, { ref: false })]);
    },
  };
}

export type Sender = ReturnType<typeof createSender>;
