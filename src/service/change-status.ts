/**
 * Change an alert's status from Slack: close (false positive, benign, true positive), escalate, mark
 * in progress, reopen. One use-case for every surface (card buttons, the reason modal, lookups, App
 * Home); the listener maps the result to words.
 *
 * Order: access → claim the alert → read it → refuse if it changed since the card was drawn → POST
 * the status with a reason naming the analyst → redraw the card from the answer, remember who did
 * it, note it in the card's thread → release the claim. A timeout or 5xx on the POST is checked by
 * re-reading the alert: if it now has the status asked for, the change went through.
 */
import type { Alert, KnownAlertStatus, TimelineEntry } from '../cotool/schemas.ts';
import { renderStatusReply } from '../slack/views/alert-card.ts';
import { buildReason } from './reason.ts';
import {
  type Actor,
  afterWrite,
  type ChangeInput,
  type ChangeStart,
  type ChangeSuccess,
  finishChange,
  runChange,
  syncCard,
  type TriageDeps,
  type TriageFailure,
  whoSet,
  writeOrReread,
} from './triage.ts';

export type ChangeStatusInput = ChangeInput & {
  status: KnownAlertStatus;
  /** The analyst's own words (the reason modal); the reason names them either way. */
  words?: string | null;
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
};

export type ChangeStatusResult = ChangeStatusSuccess | TriageFailure;

export function createChangeStatus(deps: TriageDeps): (input: ChangeStatusInput) => Promise<ChangeStatusResult> {
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
    const { reason, wordsCut, keptChars } = buildReason(input.status, actor, input.words);
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
    if (!sent.ok) return sent;
    const { written, confirmedByReread } = sent;

    const after = await afterWrite(deps, log, before, written, {}, what);
    if (!written.statusChanged) {
      const sync = await syncCard(deps, after, { clicked });
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

    const reply = renderStatusReply(after, { by: actor, from: 'slack', status: input.status, reason: input.words });
    const sync = await finishChange(deps, after, actor, {
      clicked,
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
