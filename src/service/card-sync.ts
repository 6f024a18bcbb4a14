/**
 * What every change made from a card shares (change-status.ts, edit-details.ts, four-eyes.ts, notes,
 * and opening their forms): who may act, one change per alert at a time, reading the alert, keeping
 * the channel card true (`syncCard`: the card's new state recorded and its redraw queued for the
 * sender, the card's one writer), and the result codes every surface maps to words
 * (src/slack/messages.ts). The steps of a change itself are change-run.ts.
 *
 * Headless: Slack is reached only through the outbox (redraws, thread notes) and Cotool through its
 * client, so every flow runs in tests against recording fakes.
 */
import { randomUUID } from 'node:crypto';
import { type Alert, type AlertWithTimeline, isClosed, isLive, type TimelineEntry } from '../core/alert.ts';
import { nameInReason } from '../core/attribution.ts';
import { ACTION_CLAIM_TTL_MS, cardCopyItem, cardUpdateItem, settleItem, threadReplyItem } from '../core/outbox.ts';
import { statusToRecord } from '../core/plan.ts';
import type { CardRecord, Change, LastAction } from '../core/records.ts';
import { newRef } from '../core/text.ts';
import { type CotoolError, classifyCotoolError, isCotoolError } from '../cotool/errors.ts';
import type { Logger } from '../log.ts';
import type { CardRenderer, CotoolClient, SlackPort, SlackView, Store } from '../ports.ts';
import type { AccessPolicy, AccessRefusal } from './access.ts';

export type Actor = { id: string; name: string };
/** A Slack message: channel and ts. */
export type Place = { channel: string; ts: string };

export type TriageDeps = {
  cotool: Pick<CotoolClient, 'getAlert' | 'updateStatus' | 'updateDetails'>;
  store: Store;
  /** The interactive card renderer shared with the poller. */
  render: CardRenderer;
  /** Not used to write cards: every card write goes through the outbox (the sender is its one writer). */
  slack: Pick<SlackPort, 'classify'>;
  access: Pick<AccessPolicy, 'check'>;
  logger: Logger;
  clock: () => number;
  /** Told after every change a Slack user made (App Home and other surfaces refresh on it). */
  onChanged?: (change: { alert: Alert; userId: string }) => void;
  /** How long a claim on an alert holds if its process dies mid-change (default CLAIM_TTL_MS); intents are held a little longer. */
  claimTtlMs?: number;
  /** Told the time from a card's post to the first human action on it from Slack (seconds). */
  onFirstAction?: (seconds: number) => void;
};

export type CotoolFailureCode = 'forbidden' | 'not_found' | 'invalid' | 'upstream';

export type TriageFailure =
  /** The access policy refused the user; nothing was asked of Cotool. */
  | { ok: false; code: 'denied'; reason: AccessRefusal }
  /** Another change of this alert is in flight (a double click, or two analysts). */
  | { ok: false; code: 'busy'; displayId: string }
  /**
   * The alert changed since the card (or form) was drawn; nothing was changed and the card was
   * redrawn. `before`: the status the card showed, when known; `by`: who set the current status.
   */
  | {
      ok: false;
      code: 'stale';
      displayId: string;
      alert: Alert;
      view: SlackView;
      before: string | null;
      by: string | null;
    }
  /**
   * Cotool refused or failed; `ref` is in the log line with the error. `mayStillApply`: the write's
   * answer was lost and a re-read right after did not show it yet — Cotool may still carry it out
   * (a late commit), so the change's intent is kept for the sender to settle.
   */
  | {
      ok: false;
      code: CotoolFailureCode;
      displayId: string;
      error: CotoolError;
      ref: string;
      mayStillApply?: boolean;
    }
  /** A write's answer was lost and the re-read failed too: whether it applied is not known. */
  | { ok: false; code: 'unknown_outcome'; displayId: string; ref: string };

export type CardSync = {
  record: CardRecord | null;
  /** The card as rendered now (also what an ephemeral copy of it should show). */
  view: SlackView;
  /** The stored channel card, if the alert has one. */
  place: Place | null;
  /** null: no channel card; true: its redraw is queued (the sender draws it at once); false: it could not be queued (the poller will catch up). */
  cardUpdated: boolean | null;
  /** null: no reply asked for, or no card to reply under. */
  replied: boolean | null;
};

/**
 * How long one change of an alert may hold its claim. Longer than the worst a status write can take
 * (three retries honouring a Retry-After of up to 30 s, each with a 10 s timeout, then a re-read), so
 * a slow change is never overtaken by a second one; a crashed process blocks the alert this long.
 */
export const CLAIM_TTL_MS = ACTION_CLAIM_TTL_MS;

/** The alert without its timeline (what the card renders from). */
export function withoutTimeline(a: AlertWithTimeline): Alert {
  const { timeline: _timeline, ...alert } = a;
  return alert;
}

/** The failure codes of a change, from the one classification of Cotool errors. */
export function classifyCotool(err: CotoolError): CotoolFailureCode {
  switch (classifyCotoolError(err)) {
    case 'not_found':
      return 'not_found';
    case 'unauthorized':
    case 'forbidden':
      return 'forbidden';
    case 'invalid':
      return 'invalid';
    default:
      return 'upstream';
  }
}

/** A Cotool failure as a result, logged once with the reference the user is shown. */
export function cotoolFailure(log: Logger, err: unknown, displayId: string, what: string): TriageFailure {
  if (!isCotoolError(err)) throw err;
  const ref = newRef();
  const code = classifyCotool(err);
  const line = { ref, displayId, err: err.toLog() };
  if (code === 'upstream') log.error(line, `${what}: Cotool did not answer`);
  else log.warn(line, `${what}: Cotool refused`);
  return { ok: false, code, displayId, error: err, ref };
}

export async function authorize(
  deps: TriageDeps,
  userId: string,
): Promise<{ ok: true; actor: Actor } | Extract<TriageFailure, { code: 'denied' }>> {
  const decision = await deps.access.check(userId);
  if (!decision.ok) return { ok: false, code: 'denied', reason: decision.reason };
  return { ok: true, actor: { id: userId, name: decision.user.name } };
}

/** Runs `fn` holding the alert's claim; two fast clicks (or two analysts) get one run between them. */
export async function withClaim<T>(
  deps: TriageDeps,
  alertId: string,
  displayId: string,
  fn: () => Promise<T>,
): Promise<T | Extract<TriageFailure, { code: 'busy' }>> {
  const owner = randomUUID();
  if (!(await deps.store.claimAction(alertId, owner, deps.claimTtlMs ?? CLAIM_TTL_MS))) {
    return { ok: false, code: 'busy', displayId };
  }
  try {
    return await fn();
  } finally {
    await deps.store.releaseAction(alertId, owner);
  }
}

/** The display id to name an alert by before it has been read: the stored card's, else the id. */
export async function knownDisplayId(deps: TriageDeps, alertId: string): Promise<string> {
  return (await deps.store.get(alertId))?.displayId ?? alertId;
}

export type Fetched = { ok: true; alert: Alert; timeline: TimelineEntry[]; record: CardRecord | null };

/**
 * Reads the alert. A 404 also marks its channel card as gone (as the poller would), so nobody
 * clicks it again.
 */
export async function fetchAlert(
  deps: TriageDeps,
  alertId: string,
  displayId: string,
  what: string,
): Promise<Fetched | TriageFailure> {
  const log = deps.logger;
  let got: AlertWithTimeline;
  try {
    got = await deps.cotool.getAlert(alertId);
  } catch (err) {
    const failure = cotoolFailure(log, err, displayId, what);
    if (failure.code === 'not_found') await markGone(deps, alertId);
    return failure;
  }
  const record = await deps.store.get(got.id);
  return { ok: true, alert: withoutTimeline(got), timeline: got.timeline, record };
}

async function markGone(deps: TriageDeps, alertId: string): Promise<void> {
  const record = await deps.store.get(alertId);
  if (record?.state !== 'posted' || !record.channel || !record.ts) return;
  // Redrawn by the sender, which reads the alert, finds it gone, and draws the card as such.
  const redraw = cardUpdateItem(alertId, record.channel, alertId, null, deps.clock(), { interactive: true });
  try {
    await deps.store.apply([{ enqueue: [redraw] }]);
  } catch (err) {
    deps.logger.warn({ alertId, err }, 'could not queue marking a card as gone');
  }
}

/**
 * The alert a write returned, completed from the one read just before it. Write answers lack the
 * hydrated fields (agent names, derived disposition) and the documented example omits others, so a
 * field the answer leaves empty keeps the value read before — except the fields the write itself
 * decides (`decided`), and those derived from the new status.
 */
export function mergeWritten(before: Alert, written: Alert, decided: Partial<Alert> = {}): Alert {
  const out: Record<string, unknown> = { ...before };
  for (const [key, value] of Object.entries(written)) {
    // '' is how an incomplete answer's placeholders read (see the client); never a real value here.
    if (value !== null && value !== undefined && value !== '') out[key] = value;
  }
  Object.assign(out, decided);
  const merged = out as Alert;
  if (merged.status !== before.status) {
    const closed = isClosed(merged.status);
    merged.resolvedAt = closed ? (written.resolvedAt ?? merged.updatedAt) : null;
    merged.derivedDisposition = closed ? merged.status.replace(/^closed_/, '') : null;
  }
  if (merged.assignedAgentId !== before.assignedAgentId && !written.assignedAgentName) merged.assignedAgentName = null;
  return merged;
}

/** Who set `status`: the Slack user the bot remembers, else the one named in the timeline. */
export function whoSet(status: string, record: CardRecord | null, timeline: readonly TimelineEntry[]): string | null {
  const last = record?.lastAction;
  if (last?.kind === 'status' && last.status === status) return last.by.name;
  const entry = timeline
    .filter((e) => e.kind === 'status_change' && e.afterStatus === status)
    .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))[0];
  if (!entry) return null;
  const reason = entry.bodyMarkdown ?? (typeof entry.metadata.reason === 'string' ? entry.metadata.reason : null);
  // Only a human's entry (the API key's user writes for Slack users) may name someone else.
  const named = entry.actorType === 'human' ? nameInReason(reason) : null;
  return named ?? entry.actorAgentName ?? entry.actorUserName ?? null;
}

/** A stand-in record for rendering an alert that has no channel card (e.g. a lookup answer). */
function recordFor(alert: Alert, lastAction: LastAction | null): CardRecord {
  return {
    alertId: alert.id,
    displayId: alert.displayId,
    state: 'seen',
    channel: null,
    ts: null,
    status: alert.status,
    updatedAt: alert.updatedAt,
    fingerprint: null,
    final: false,
    lastAction,
    version: 0,
    stormId: null,
    postedAt: null,
    firstActionAt: null,
    muteId: null,
    owner: null,
    remindersSent: 0,
  };
}

const samePlace = (a: Place | null | undefined, b: Place | null | undefined) =>
  !!a && !!b && a.channel === b.channel && a.ts === b.ts;

/**
 * Redraws the alert's channel card from `alert` (and the clicked message, when that is another
 * message of ours) through the sender, like every other card write: records what the alert is now
 * (the card's fingerprint only once Slack took the redraw) and queues the redraw on the interactive
 * lane, served at once with the same pacing, failure policy and version checks as every update.
 * Then queues `reply` in the card's thread (never broadcast). Store failures are logged and reported,
 * never thrown: the change in Cotool has been made by then, and the poller brings the card up to date.
 */
export async function syncCard(
  deps: TriageDeps,
  alert: Alert,
  opts: {
    clicked?: Place | null;
    lastAction?: LastAction;
    reply?: SlackView | null;
    replaces?: string | null;
    /** The card's new owner ("I'll take it"), recorded before it is redrawn. */
    owner?: Actor;
  } = {},
): Promise<CardSync> {
  const { store, render } = deps;
  const log = deps.logger;
  if (opts.lastAction?.status === 'escalated' && !(await store.get(alert.id))) {
    // No card yet: remember that this escalation came from Slack, so the poller cards it without
    // paging on-call for it.
    await store.markSeen(alert.id, alert.displayId, alert.status);
  }
  if (opts.lastAction) {
    const before = await store.get(alert.id);
    await store.setLastAction(alert.id, opts.lastAction);
    if (before?.postedAt && before.firstActionAt === null) {
      deps.onFirstAction?.(Math.max(0, (deps.clock() - before.postedAt) / 1000));
    }
  }
  if (opts.owner) {
    const r = await store.get(alert.id);
    if (r)
      await store.apply([
        { card: { op: 'update', alertId: alert.id, expectVersion: r.version, set: { owner: opts.owner } } },
      ]);
  }
  const record = await store.get(alert.id);
  const place =
    record?.state === 'posted' && record.channel && record.ts ? { channel: record.channel, ts: record.ts } : null;
  const view = render.card(alert, record ?? recordFor(alert, opts.lastAction ?? null));
  if (!place && record?.state === 'seen') {
    await store.saveRender(alert.id, {
      status: alert.status,
      updatedAt: alert.updatedAt,
      fingerprint: '',
      final: false,
    });
  }
  const now = deps.clock();
  const redraws: Change[] = [];
  if (place) {
    // What the alert is now, recorded before the redraw is queued: a redraw queued from an older
    // version is then dropped as stale, and one already on its way is redrawn (the record's version
    // moved under it). The status as statusToRecord says (an escalation made elsewhere is left for
    // the poller to announce).
    const status = statusToRecord(alert, record);
    redraws.push({
      card: {
        op: 'update',
        alertId: alert.id,
        expectState: 'posted',
        set: { ...(status === null ? {} : { status }), updatedAt: alert.updatedAt, final: !isLive(alert.status) },
      },
      enqueue: [cardUpdateItem(alert.id, place.channel, alert.id, alert, now, { interactive: true })],
    });
  }
  if (opts.clicked && !samePlace(opts.clicked, place)) {
    redraws.push({ enqueue: [cardCopyItem(opts.clicked, alert.id, view, now)] });
  }
  let cardUpdated: boolean | null = null;
  if (redraws.length > 0) {
    try {
      await store.apply(redraws);
      if (place) cardUpdated = true;
    } catch (err) {
      if (place) cardUpdated = false;
      log.warn({ alertId: alert.id, err }, 'could not queue the card redraw; the poller will redraw it');
    }
  }
  let replied: boolean | null = null;
  const thread = place ?? noteThread(record, opts.clicked);
  if (opts.reply && thread) {
    // Through the outbox like every write for an alert: claimed, confirmed, found again by its
    // metadata after a crash or a lost answer. One note per change (the alert's new updatedAt).
    try {
      const note = {
        channel: thread.channel,
        threadTs: thread.ts,
        alertId: alert.id,
        view: opts.reply,
        now,
      };
      await store.apply([
        // The change's note settles its intent (written before the change was sent, same key), in
        // one step: when the sender has already taken the intent over (the change outlasted its
        // claim), the intent tells the change and this note is not queued; when the intent is gone
        // or was never written, the note is looked for in the thread before it is posted.
        opts.replaces
          ? { settle: [settleItem({ key: opts.replaces, ...note })] }
          : { enqueue: [threadReplyItem({ key: `${alert.id}:${alert.updatedAt}`, ...note })] },
      ]);
      replied = true;
    } catch (err) {
      replied = false;
      log.warn({ alertId: alert.id, err }, 'could not queue the thread reply');
    }
  }
  return { record, view, place, cardUpdated, replied };
}

export type FormLoad =
  | { ok: true; alert: Alert; timeline: TimelineEntry[]; record: CardRecord | null; actor: Actor; stale: boolean }
  | TriageFailure;

/**
 * For opening a modal from a card: checks access, reads the alert, and redraws the card when it was
 * drawn from an older version (the form then shows, and is checked against, the alert as it is now).
 */
export async function loadForForm(
  deps: TriageDeps,
  input: { alertId: string; expectedUpdatedAt: string; userId: string; clicked?: Place | null; what: string },
): Promise<FormLoad> {
  const auth = await authorize(deps, input.userId);
  if (!auth.ok) return auth;
  const displayId = await knownDisplayId(deps, input.alertId);
  const got = await fetchAlert(deps, input.alertId, displayId, input.what);
  if (!got.ok) return got;
  const stale = got.alert.updatedAt !== input.expectedUpdatedAt;
  if (stale) await syncCard(deps, got.alert, { clicked: input.clicked ?? null });
  return { ...got, actor: auth.actor, stale };
}

/**
 * The thread a change's note goes to: the card's. A card Slack has but the store does not know yet
 * (its sender died between Slack's answer and recording it; the next sender finds it by its
 * metadata) is the clicked message itself when the click came from the alert channel's card.
 */
export function noteThread(record: CardRecord | null, clicked: Place | null | undefined): Place | null {
  if (record?.state === 'posted' && record.channel && record.ts) return { channel: record.channel, ts: record.ts };
  if (record?.state === 'queued' && clicked && record.channel === clicked.channel) return clicked;
  return null;
}
