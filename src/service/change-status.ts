/**
 * Change an alert's status from Slack: close (false positive, benign, true positive), escalate, mark
 * in progress, reopen. One use-case for every surface (card buttons, the reason modal, lookups, App
 * Home); the listener maps the result to words.
 *
 * Order: access → claim the alert → read it → refuse if it changed since the card was drawn → POST
 * the status with a reason naming the analyst → redraw the card from the answer, remember who did
 * it, note it in the card's thread → release the claim. A timeout or 5xx on the POST is checked by
 * re-reading the alert: if it now has the status asked for, the change went through.
 *
 * Four eyes (FOUR_EYES_SEVERITIES): closing an alert of such a severity as false positive or benign
 * changes nothing in Cotool; the gate (src/service/four-eyes.ts) posts a request in the card's thread
 * instead, and the answer says so (`approval`). An approver's change (`approvalOf`) passes the gate,
 * and its reason names both people.
 */
import type { Alert, KnownAlertStatus, TimelineEntry } from '../core/alert.ts';
import { buildReason, type Reason } from '../core/attribution.ts';
import type { CardRecord } from '../core/records.ts';
import { type Actor, type Place, syncCard, type TriageDeps, type TriageFailure, whoSet } from './card-sync.ts';
import {
  afterWrite,
  type ChangeInput,
  type ChangeStart,
  type ChangeSuccess,
  dropIntent,
  finishChange,
  holdIntent,
  keepsIntent,
  runChange,
  writeOrReread,
} from './change-run.ts';

export type ChangeStatusInput = ChangeInput & {
  status: KnownAlertStatus;
  /** The analyst's own words (the reason modal); the reason names them either way. */
  words?: string | null;
  /**
   * Approving a four-eyes request: the user is the approver; the reason names the requester first
   * ("… by Jane Doe (<@U1>), approved by Sam Roe (<@U2>): words") and the gate is not asked again.
   */
  approvalOf?: { requester: Actor };
  /** "I'll take it": the user becomes the card's owner, and the thread says they took it. */
  take?: boolean;
};

/** A close that waits for a second person: the request in the card's thread. */
export type ApprovalAsked = {
  requestId: string;
  /** false: a request for this alert was already waiting (this click added nothing). */
  fresh: boolean;
  /** Who asked (the user, when fresh), and for which status. */
  requester: Actor;
  status: string;
  /** Where the request is (the card's thread), when it was posted. */
  place: Place | null;
};

/** The four-eyes gate, as the status change asks it (src/service/four-eyes.ts implements it). */
export type FourEyesGate = {
  /** Whether changing `alert` to `status` from Slack needs a second person. */
  applies(alert: Alert, status: string): boolean;
  /** Posts (or finds) the request; changes nothing in Cotool. */
  ask(q: {
    alert: Alert;
    record: CardRecord | null;
    actor: Actor;
    status: string;
    words: string | null;
  }): Promise<ApprovalAsked | TriageFailure>;
  /** The reason of an approved change, naming both people. */
  reason(status: string, requester: Actor, approver: Actor, words: string | null | undefined): Reason;
};

export type ChangeStatusSuccess = ChangeSuccess & {
  /** false: the alert already had this status; nothing new was recorded, no thread reply. */
  statusChanged: boolean;
  entry: TimelineEntry | null;
  /** Who set the status, when `statusChanged` is false. */
  setBy: string | null;
  /** The analyst's words were shortened to fit; `keptChars` of them were kept. */
  wordsCut: boolean;
  keptChars: number;
  /** Four eyes: nothing was changed; a request waits for a second person in the card's thread. */
  approval?: ApprovalAsked;
};

export type ChangeStatusResult = ChangeStatusSuccess | TriageFailure;

export function createChangeStatus(
  deps: TriageDeps,
  opts: { fourEyes?: FourEyesGate | null } = {},
): (input: ChangeStatusInput) => Promise<ChangeStatusResult> {
  const log = deps.logger.child({ module: 'change-status' });
  const what = 'status change';

  return (input) => runChange(deps, input, { what, staleBefore: true, logStale, change });

  function logStale(input: ChangeStatusInput, before: Alert, actor: Actor): void {
    log.info(
      { alertId: before.id, userId: actor.id, status: input.status, now: before.status },
      'refused a click on an out-of-date card',
    );
  }

  /** The status change itself, holding the alert's claim, on the alert as it was read. */
  async function change(input: ChangeStatusInput, start: ChangeStart): Promise<ChangeStatusResult> {
    const { actor, before, timeline, clicked } = start;
    const gate = opts.fourEyes;
    if (gate && !input.approvalOf && before.status !== input.status && gate.applies(before, input.status)) {
      const asked = await gate.ask({
        alert: before,
        record: start.record,
        actor,
        status: input.status,
        words: input.words ?? null,
      });
      if ('ok' in asked) return asked;
      log.info(
        { alertId: before.id, userId: actor.id, status: input.status, requestId: asked.requestId, fresh: asked.fresh },
        'four eyes: the close waits for a second person',
      );
      return {
        ok: true,
        alert: before,
        view: deps.render.card(before, start.record),
        actor,
        statusChanged: false,
        entry: null,
        setBy: null,
        confirmedByReread: false,
        wordsCut: false,
        keptChars: 0,
        cardUpdated: null,
        approval: asked,
      };
    }
    const { reason, wordsCut, keptChars } =
      input.approvalOf && gate
        ? gate.reason(input.status, input.approvalOf.requester, actor, input.words)
        : buildReason(input.status, actor, input.words);
    const asked = input.approvalOf ? `Asked by ${input.approvalOf.requester.name}` : null;
    const replyWords = asked ? (input.words ? `${asked}: ${input.words}` : asked) : input.words;
    const intent = await holdIntent(deps, start, input.clickId, {
      status: input.status,
      by: actor,
      reason: replyWords ?? null,
      beforeUpdatedAt: before.updatedAt,
    });
    const sent = await writeOrReread(
      deps,
      log,
      before,
      what,
      () => deps.cotool.updateStatus(before.id, input.status, reason),
      {
        applied: (now) => now.status === input.status && before.status !== input.status,
        answer: (now) => ({ alert: now, entry: null, statusChanged: true, alertComplete: true }),
      },
    );
    if (!sent.ok) {
      // An unknown outcome (or a change Cotool may still make) keeps the intent: the sender tells the
      // change if it was made after all.
      if (!keepsIntent(sent)) await dropIntent(deps, intent);
      return sent;
    }
    const { written, confirmedByReread } = sent;

    const after = await afterWrite(deps, log, before, written, {}, what);
    if (!written.statusChanged) {
      await dropIntent(deps, intent);
      const sync = await syncCard(deps, after, { clicked, ...(input.take ? { owner: actor } : {}) });
      log.info({ alertId: after.id, userId: actor.id, status: input.status }, 'status already set; nothing changed');
      return {
        ok: true,
        alert: after,
        view: sync.view,
        actor,
        statusChanged: false,
        entry: null,
        setBy: whoSet(after.status, sync.record, timeline),
        confirmedByReread,
        wordsCut: false,
        keptChars: 0,
        cardUpdated: sync.cardUpdated,
      };
    }

    const reply = input.take
      ? deps.render.taken({ displayId: after.displayId, by: actor })
      : deps.render.statusReply(after, { by: actor, status: input.status, reason: replyWords });
    const sync = await finishChange(deps, after, actor, {
      clicked,
      ...(input.take ? { owner: actor } : {}),
      replaces: intent,
      action: { kind: 'status', status: input.status },
      reply,
      logDone: () =>
        log.info(
          { alertId: after.id, displayId: after.displayId, userId: actor.id, from: before.status, to: after.status },
          'alert status changed from Slack',
        ),
    });
    return {
      ok: true,
      alert: after,
      view: sync.view,
      actor,
      statusChanged: true,
      entry: written.entry,
      setBy: actor.name,
      confirmedByReread,
      wordsCut,
      keptChars,
      cardUpdated: sync.cardUpdated,
    };
  }
}
