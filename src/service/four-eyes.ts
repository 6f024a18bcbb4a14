/**
 * Four eyes (FOUR_EYES_SEVERITIES): closing an alert of a listed severity as false positive or benign
 * from Slack needs a second person.
 *
 * - The first click (a close button, or the reason modal) changes nothing in Cotool: `gate.ask`
 *   records a pending request in the store (one per alert) together with its message's outbox item,
 *   in one transaction; the sender posts it in the card's thread — "Jane Doe asks to close COT-12 as
 *   false positive: <words>" with Approve / Reject — exactly once, and saves its ts.
 * - `approve`: an allowed user other than the requester. The request must still be pending and
 *   younger than 24 h, and the alert unchanged in Cotool since it was made — status, severity and
 *   title as they were, and no timeline entry since other than comments (notes and synced thread
 *   replies move `updatedAt` too; they do not cancel it). Then a compare-and-set pending → approved
 *   picks the one approval that acts (two approvals, one change), and the status change is made once,
 *   its reason naming both people. A failure that surely changed nothing hands the request back
 *   (approved → pending) so it can be approved again; an unknown outcome marks it failed.
 * - `reject`: any allowed user (the requester withdraws it); pending → rejected.
 * Every outcome redraws the request message through the outbox (no buttons once decided).
 *
 * Headless: Cotool through its client; the request message and its redraws are outbox items (the
 * sender renders and sends them). Built in two parts, with no binding after construction: the gate
 * (`createFourEyesGate`), which the status change is built with, and the decisions (`createFourEyes`),
 * built with that status change.
 */
import { randomUUID } from 'node:crypto';
import { type Alert, isClosed, type TimelineEntry } from '../core/alert.ts';
import { buildReason, cleanTyped, REASON_MAX, type Reason } from '../core/attribution.ts';
import { closeRequestItem, closeRequestUpdateItem } from '../core/outbox.ts';
import type { CardRecord, CloseRequest } from '../core/records.ts';
import { newRef, truncate } from '../core/text.ts';
import type { Logger } from '../log.ts';
import type { CotoolClient, Store } from '../ports.ts';
import type { AccessPolicy, AccessRefusal } from './access.ts';
import { type Actor, cotoolFailure, type Place, type TriageFailure, withoutTimeline } from './card-sync.ts';
import type { ApprovalAsked, ChangeStatusInput, ChangeStatusResult, FourEyesGate } from './change-status.ts';

/** A request not decided within this long is expired. */
export const REQUEST_TTL_MS = 24 * 60 * 60_000;

/** The closes that need a second person (when the alert's severity is listed). */
export const FOUR_EYES_STATUSES: readonly string[] = ['closed_false_positive', 'closed_true_positive_benign'];

const SLACK_USER_ID = /^[UW][A-Z0-9]{2,20}$/;
const NAME_MAX = 80;

/** What a request was made against: a change to any of these in Cotool cancels it. */
export type RequestBasis = { status: string; severity: string | null; title: string; updatedAt: string };

export function basisOf(alert: Alert): RequestBasis {
  return { status: alert.status, severity: alert.severity ?? null, title: alert.title, updatedAt: alert.updatedAt };
}

function parseBasis(json: string): RequestBasis | null {
  try {
    const b = JSON.parse(json) as Partial<RequestBasis>;
    if (typeof b.status !== 'string' || typeof b.title !== 'string' || typeof b.updatedAt !== 'string') return null;
    return {
      status: b.status,
      severity: typeof b.severity === 'string' ? b.severity : null,
      title: b.title,
      updatedAt: b.updatedAt,
    };
  } catch {
    return null;
  }
}

/** Why a request no longer fits the alert, or null when only comments were added since. */
export type Drift = 'status' | 'severity' | 'title' | 'changed' | 'unverifiable';

/**
 * Compares the alert now with what the request was made against. `updatedAt` moving is a change
 * unless every timeline entry since is a comment (the entries must then cover the move: a move with
 * no entry after it, or a timeline read only in part, cannot be vouched for).
 */
export function driftOf(
  basis: RequestBasis,
  now: Alert,
  timeline: { entries: readonly TimelineEntry[]; complete: boolean },
): Drift | null {
  if (now.status !== basis.status) return 'status';
  if ((now.severity ?? null) !== basis.severity) return 'severity';
  if (now.title !== basis.title) return 'title';
  if (now.updatedAt === basis.updatedAt) return null;
  const since = Date.parse(basis.updatedAt);
  const newer = timeline.entries.filter((e) => !(Date.parse(e.createdAt) <= since));
  if (newer.some((e) => e.kind !== 'comment')) return 'changed';
  if (!timeline.complete || newer.length === 0) return 'unverifiable';
  return null;
}

/** A name on one line, without what frames the id (as in reason.ts). */
function cleanName(name: string): string {
  return (
    truncate(
      cleanTyped(name)
        .replace(/\s+/g, ' ')
        .replace(/[<>()]/g, ''),
      NAME_MAX,
    ) || 'a Slack user'
  );
}

/**
 * "Closed as false positive from Slack by Jane Doe (<@U1>), approved by Sam Roe (<@U2>): words",
 * within Cotool's 2,000 characters (the words cut when they must be, and the caller told).
 */
export function buildApprovedReason(status: string, requester: Actor, approver: Actor, words?: string | null): Reason {
  const head = buildReason(status, requester).reason;
  const id = SLACK_USER_ID.test(approver.id) ? ` (<@${approver.id}>)` : '';
  const both = `${head}, approved by ${cleanName(approver.name)}${id}`;
  const said = cleanTyped(words ?? '');
  if (!said) return { reason: both, wordsCut: false, keptChars: 0 };
  const room = REASON_MAX - both.length - 2;
  const kept = said.length <= room ? said : truncate(said, room);
  return {
    reason: `${both}: ${kept}`,
    wordsCut: kept !== said,
    keptChars: kept === said ? said.length : kept.length - 1,
  };
}

/** What the gate needs: it records a request and queues its message; it asks nothing of Cotool. */
export type FourEyesGateDeps = {
  store: Store;
  logger: Logger;
  clock: () => number;
  /** Severities whose false-positive and benign closes need a second person (FOUR_EYES_SEVERITIES). */
  severities: readonly string[];
  /** Where a request goes when the alert has no card (SLACK_ALERT_CHANNEL). */
  alertChannel: string;
  ttlMs?: number;
};

/** What the decisions need: the approved change is made by the status change (built with the gate). */
export type FourEyesDeps = {
  cotool: Pick<CotoolClient, 'getAlert' | 'listTimeline'>;
  store: Store;
  access: Pick<AccessPolicy, 'check'>;
  logger: Logger;
  clock: () => number;
  /** The status change, as the buttons make it (built with this feature's gate). */
  changeStatus: (input: ChangeStatusInput) => Promise<ChangeStatusResult>;
};

export type DecisionFailure =
  | { ok: false; code: 'denied'; reason: AccessRefusal }
  /** No such request (an old or tampered button). */
  | { ok: false; code: 'unknown_request' }
  /** Someone decided it already (or it expired, or was cancelled): `request` says how. */
  | { ok: false; code: 'decided'; request: CloseRequest }
  | { ok: false; code: 'expired'; request: CloseRequest }
  | { ok: false; code: 'own_request'; request: CloseRequest }
  /** The alert changed in Cotool since the request: it was cancelled, nothing changed. */
  | { ok: false; code: 'cancelled'; request: CloseRequest; drift: Drift }
  /** The status change failed; the request is pending again (or, with unknown_outcome, failed). */
  | { ok: false; code: 'change_failed'; request: CloseRequest; failure: TriageFailure };

export type ApproveResult =
  | {
      ok: true;
      request: CloseRequest;
      /** The status change's result (statusChanged, the card, …). */
      change: Extract<ChangeStatusResult, { ok: true }>;
    }
  | DecisionFailure;

export type RejectResult = { ok: true; request: CloseRequest; withdrawn: boolean } | DecisionFailure;

export type FourEyes = {
  /** `clickId`: the approval's interaction id (names the status change's thread note). */
  approve(requestId: string, userId: string, clickId?: string | null): Promise<ApproveResult>;
  reject(requestId: string, userId: string): Promise<RejectResult>;
};

/**
 * The gate the status change asks (src/service/change-status.ts): whether a close needs a second
 * person, and the request that asks for one. Built first; the decisions below are built with the
 * status change that holds it, so nothing is bound after construction.
 */
export function createFourEyesGate(deps: FourEyesGateDeps): FourEyesGate {
  const log = deps.logger.child({ module: 'four-eyes' });
  const ttl = deps.ttlMs ?? REQUEST_TTL_MS;
  const severities = new Set(deps.severities);
  const placeOf = (record: CardRecord | null): Place | null =>
    record?.state === 'posted' && record.channel && record.ts ? { channel: record.channel, ts: record.ts } : null;

  async function ask(q: {
    alert: Alert;
    record: CardRecord | null;
    actor: Actor;
    status: string;
    words: string | null;
  }): Promise<ApprovalAsked | TriageFailure> {
    const now = deps.clock();
    let existing = await deps.store.pendingCloseRequest(q.alert.id);
    if (existing && existing.expiresAt > now) {
      if (!(await abandoned(existing))) return waiting(existing);
      // Its message was never posted and no longer will be (Slack refused it for good): nobody can
      // see it, so it must not block the alert. Withdrawn; this click asks anew.
      await deps.store.moveCloseRequest(existing.id, 'pending', 'cancelled', {
        by: null,
        at: now,
        outcome: 'not_posted',
      });
      log.warn(
        { requestId: existing.id, alertId: q.alert.id },
        'four eyes: a request whose message was never posted is withdrawn',
      );
      existing = null;
    }
    const card = placeOf(q.record);
    const request: CloseRequest = {
      id: randomUUID(),
      alertId: q.alert.id,
      displayId: q.alert.displayId,
      status: q.status,
      words: q.words ? cleanTyped(q.words) || null : null,
      requester: q.actor,
      basis: JSON.stringify(basisOf(q.alert)),
      channel: card?.channel ?? deps.alertChannel,
      threadTs: card?.ts ?? null,
      createdAt: now,
      expiresAt: now + ttl,
      ts: null,
      state: 'pending',
      decidedBy: null,
      decidedAt: null,
      outcome: null,
    };
    // The request and its message's outbox item in one transaction: a crash leaves either nothing
    // or a request whose message will be posted (by the sender: paced, found again after an unknown
    // outcome, never withdrawn because Slack's answer was lost).
    const channel = request.channel as string;
    const expired =
      existing && existing.expiresAt <= now && existing.channel
        ? [closeRequestUpdateItem({ id: existing.id, alertId: existing.alertId, channel: existing.channel }, now)]
        : [];
    let recorded: boolean;
    try {
      recorded =
        (
          await deps.store.apply([
            { closeRequest: request, enqueue: [closeRequestItem({ ...request, channel }, now), ...expired] },
          ])
        ).applied === 1;
    } catch (err) {
      // The store's answer was lost: the request may be recorded (then its message will be posted).
      const mine = await deps.store.pendingCloseRequest(q.alert.id).catch(() => null);
      if (mine?.id === request.id) {
        recorded = true;
      } else {
        const ref = newRef();
        log.error({ ref, alertId: q.alert.id, err: String(err) }, 'could not record the four-eyes request');
        if (mine) return waiting(mine);
        return { ok: false, code: 'unknown_outcome', displayId: q.alert.displayId, ref };
      }
    }
    if (!recorded) {
      const other = await deps.store.pendingCloseRequest(q.alert.id);
      if (other) return waiting(other);
      const ref = newRef();
      log.error({ ref, alertId: q.alert.id }, 'the four-eyes request was neither recorded nor found');
      return { ok: false, code: 'unknown_outcome', displayId: q.alert.displayId, ref };
    }
    log.info(
      { requestId: request.id, alertId: q.alert.id, userId: q.actor.id, status: q.status },
      'four eyes: close request recorded; its message is queued',
    );
    return {
      requestId: request.id,
      fresh: true,
      requester: q.actor,
      status: q.status,
      place: request.threadTs ? { channel, ts: request.threadTs } : null,
    };
  }

  /**
   * A pending request with no message and none queued: its item was dropped unsent. The outbox is
   * read first, then the request again (the sender saves the ts in the transaction that deletes the
   * item), so a request being posted right now is never taken for abandoned.
   */
  async function abandoned(r: CloseRequest): Promise<boolean> {
    if (r.ts) return false;
    const key = closeRequestItem({ id: r.id, alertId: r.alertId, channel: '' }, 0).key;
    if ((await deps.store.listOutbox({ kind: 'close_request' })).some((i) => i.key === key)) return false;
    const now = await deps.store.getCloseRequest(r.id);
    return now?.state === 'pending' && !now.ts;
  }

  function waiting(r: CloseRequest): ApprovalAsked {
    return {
      requestId: r.id,
      fresh: false,
      requester: r.requester,
      status: r.status,
      place: r.channel && (r.threadTs ?? r.ts) ? { channel: r.channel, ts: (r.threadTs ?? r.ts) as string } : null,
    };
  }

  return {
    applies: (alert, status) =>
      FOUR_EYES_STATUSES.includes(status) && alert.severity !== null && severities.has(alert.severity),
    ask,
    reason: buildApprovedReason,
  };
}

/** Approve and reject, making an approved change through `deps.changeStatus`. */
export function createFourEyes(deps: FourEyesDeps): FourEyes {
  const log = deps.logger.child({ module: 'four-eyes' });

  /**
   * Redraws the request message as the request is now, through the outbox (coalesced per request;
   * the sender waits for the message when it is not posted yet). A failure is logged, never thrown
   * (the decision stands; a later click on the old buttons redraws it again).
   */
  async function redraw(request: CloseRequest): Promise<void> {
    if (!request.channel) return;
    try {
      await deps.store.apply([
        {
          enqueue: [
            closeRequestUpdateItem(
              { id: request.id, alertId: request.alertId, channel: request.channel },
              deps.clock(),
            ),
          ],
        },
      ]);
    } catch (err) {
      log.warn({ requestId: request.id, err: String(err) }, 'could not queue the redraw of a four-eyes request');
    }
  }

  /** The request as stored now (after a move), falling back to the copy in hand. */
  const reload = async (request: CloseRequest) => (await deps.store.getCloseRequest(request.id)) ?? request;

  /** Access, the request, still pending, not expired. */
  async function open(
    requestId: string,
    userId: string,
  ): Promise<{ ok: true; actor: Actor; request: CloseRequest } | DecisionFailure> {
    const decision = await deps.access.check(userId);
    if (!decision.ok) return { ok: false, code: 'denied', reason: decision.reason };
    const actor = { id: userId, name: decision.user.name };
    const request = await deps.store.getCloseRequest(requestId);
    if (!request) return { ok: false, code: 'unknown_request' };
    if (request.state !== 'pending') {
      // Its buttons were clicked: the message may still show them (a redraw lost in a crash).
      await redraw(request);
      return { ok: false, code: 'decided', request };
    }
    const now = deps.clock();
    if (now >= request.expiresAt) {
      await deps.store.moveCloseRequest(request.id, 'pending', 'expired', { by: null, at: now });
      const expired = await reload(request);
      if (expired.state !== 'expired') return { ok: false, code: 'decided', request: expired };
      await redraw(expired);
      return { ok: false, code: 'expired', request: expired };
    }
    return { ok: true, actor, request };
  }

  async function cancel(request: CloseRequest, drift: Drift, by: Actor): Promise<DecisionFailure> {
    const moved = await deps.store.moveCloseRequest(request.id, 'pending', 'cancelled', {
      by,
      at: deps.clock(),
      outcome: drift,
    });
    const now = await reload(request);
    if (!moved) return { ok: false, code: 'decided', request: now };
    log.info(
      { requestId: request.id, alertId: request.alertId, drift },
      'four eyes: the alert changed; request cancelled',
    );
    await redraw(now);
    return { ok: false, code: 'cancelled', request: now, drift };
  }

  async function approve(requestId: string, userId: string, clickId?: string | null): Promise<ApproveResult> {
    const opened = await open(requestId, userId);
    if (!opened.ok) return opened;
    const { actor, request } = opened;
    if (actor.id === request.requester.id) {
      log.info({ requestId, userId }, 'four eyes: the requester cannot approve their own request');
      return { ok: false, code: 'own_request', request };
    }
    const basis = parseBasis(request.basis);
    // Read the alert as it is now; a failure leaves the request pending.
    let alert: Alert;
    let first: TimelineEntry[];
    try {
      const got = await deps.cotool.getAlert(request.alertId);
      alert = withoutTimeline(got);
      first = got.timeline;
    } catch (err) {
      const failure = cotoolFailure(log, err, request.displayId, 'four-eyes approval');
      return { ok: false, code: 'change_failed', request, failure };
    }
    let drift: Drift | null = basis ? driftOf(basis, alert, { entries: first, complete: false }) : 'unverifiable';
    if (drift === 'unverifiable' && basis) {
      // Only comments so far, or the first page does not reach far enough: read the whole timeline.
      try {
        const all = await deps.cotool.listTimeline(request.alertId);
        drift = driftOf(basis, alert, { entries: all.entries, complete: !all.truncated });
      } catch (err) {
        const failure = cotoolFailure(log, err, request.displayId, 'four-eyes approval (timeline)');
        return { ok: false, code: 'change_failed', request, failure };
      }
    }
    if (drift) return cancel(request, drift, actor);

    const at = deps.clock();
    if (!(await deps.store.moveCloseRequest(request.id, 'pending', 'approved', { by: actor, at }))) {
      return { ok: false, code: 'decided', request: await reload(request) };
    }
    const result = await deps.changeStatus({
      alertId: request.alertId,
      expectedUpdatedAt: alert.updatedAt,
      userId,
      status: request.status as ChangeStatusInput['status'],
      words: request.words,
      clicked: null,
      clickId: clickId ?? null,
      approvalOf: { requester: request.requester },
    });
    if (result.ok) {
      const outcome = result.statusChanged ? 'closed' : 'already';
      await deps.store.moveCloseRequest(request.id, 'approved', 'approved', { by: actor, at, outcome });
      const done = await reload(request);
      log.info(
        { requestId, alertId: request.alertId, requester: request.requester.id, approver: actor.id, outcome },
        'four eyes: request approved',
      );
      await redraw(done);
      return { ok: true, request: done, change: result };
    }
    // Nothing was changed by this approval: say why, and hand the request back when it can go on.
    if (result.code === 'stale') {
      await deps.store.moveCloseRequest(request.id, 'approved', 'pending', { by: null, at: null });
      const drifted: Drift =
        isClosed(result.alert.status) || result.alert.status !== request.status ? 'status' : 'changed';
      return cancel(await reload(request), drifted, actor);
    }
    if (result.code === 'unknown_outcome') {
      await deps.store.moveCloseRequest(request.id, 'approved', 'failed', { by: actor, at, outcome: 'unknown' });
    } else {
      await deps.store.moveCloseRequest(request.id, 'approved', 'pending', { by: null, at: null });
    }
    const now = await reload(request);
    await redraw(now);
    log.warn(
      { requestId, alertId: request.alertId, code: result.code },
      'four eyes: the approved change did not go through',
    );
    return { ok: false, code: 'change_failed', request: now, failure: result };
  }

  async function reject(requestId: string, userId: string): Promise<RejectResult> {
    const opened = await open(requestId, userId);
    if (!opened.ok) return opened;
    const { actor, request } = opened;
    const withdrawn = actor.id === request.requester.id;
    const outcome = withdrawn ? 'withdrawn' : 'rejected';
    if (
      !(await deps.store.moveCloseRequest(request.id, 'pending', 'rejected', { by: actor, at: deps.clock(), outcome }))
    ) {
      return { ok: false, code: 'decided', request: await reload(request) };
    }
    const done = await reload(request);
    log.info({ requestId, alertId: request.alertId, userId, outcome }, 'four eyes: request closed without a change');
    await redraw(done);
    return { ok: true, request: done, withdrawn };
  }

  return { approve, reject };
}
