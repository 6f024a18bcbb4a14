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
import type { WriteMeta } from '../cotool/client.ts';
import { isCotoolError } from '../cotool/errors.ts';
import type { Alert, KnownAlertStatus, StatusChangeResult, TimelineEntry } from '../cotool/schemas.ts';
import type { SlackView } from '../notify/poller.ts';
import { newRef } from '../slack/messages.ts';
import { renderStatusReply } from '../slack/views/alert-card.ts';
import { buildReason } from './reason.ts';
import {
  type Actor,
  authorize,
  cotoolFailure,
  fetchAlert,
  knownDisplayId,
  mergeWritten,
  type Place,
  syncCard,
  type TriageDeps,
  type TriageFailure,
  whoSet,
  withClaim,
  withoutTimeline,
} from './triage.ts';

export type ChangeStatusInput = {
  /** The alert's id as carried in the button value (UUID or display id). */
  alertId: string;
  /** The alert's `updatedAt` the card (or form) was drawn from. */
  expectedUpdatedAt: string;
  status: KnownAlertStatus;
  userId: string;
  /** The analyst's own words (the reason modal); the reason names them either way. */
  words?: string | null;
  /** The channel message the click came from, when it is one (it is redrawn too if it is not the stored card). */
  clicked?: Place | null;
};

export type ChangeStatusSuccess = {
  ok: true;
  alert: Alert;
  /** The card as it is now (for an ephemeral copy, e.g. a lookup answer). */
  view: SlackView;
  actor: Actor;
  /** false: the alert already had this status; nothing new was recorded, no thread reply. */
  statusChanged: boolean;
  entry: TimelineEntry | null;
  /** Who set the status, when `statusChanged` is false. */
  setBy: string | null;
  /** The POST's answer was lost; re-reading the alert showed the change had been made. */
  confirmedByReread: boolean;
  /** The analyst's words were shortened to fit; `keptChars` of them were kept. */
  wordsCut: boolean;
  keptChars: number;
  /** null: the alert has no channel card; false: Slack refused the update. */
  cardUpdated: boolean | null;
};

export type ChangeStatusResult = ChangeStatusSuccess | TriageFailure;

export function createChangeStatus(deps: TriageDeps): (input: ChangeStatusInput) => Promise<ChangeStatusResult> {
  const log = deps.logger.child({ module: 'change-status' });
  const what = 'status change';

  return async function changeStatus(input) {
    const auth = await authorize(deps, input.userId);
    if (!auth.ok) return auth;
    const actor = auth.actor;
    const displayId = await knownDisplayId(deps, input.alertId);

    return withClaim(deps, input.alertId, displayId, async (): Promise<ChangeStatusResult> => {
      const got = await fetchAlert(deps, input.alertId, displayId, what);
      if (!got.ok) return got;
      const { alert: before, timeline, record } = got;
      const clicked = input.clicked ?? null;

      if (before.updatedAt !== input.expectedUpdatedAt) {
        const sync = await syncCard(deps, before, { clicked });
        log.info(
          { alertId: before.id, userId: actor.id, status: input.status, now: before.status },
          'refused a click on an out-of-date card',
        );
        return {
          ok: false,
          code: 'stale',
          displayId: before.displayId,
          alert: before,
          view: sync.view,
          before: record?.updatedAt === input.expectedUpdatedAt ? record.status : null,
          by: whoSet(before.status, record, timeline),
        };
      }

      const { reason, wordsCut, keptChars } = buildReason(input.status, actor, input.words);
      let written: StatusChangeResult & WriteMeta;
      let confirmedByReread = false;
      try {
        written = await deps.cotool.updateStatus(before.id, input.status, reason);
      } catch (err) {
        if (!isCotoolError(err) || !err.mayHaveApplied()) return cotoolFailure(log, err, before.displayId, what);
        // The answer was lost, not necessarily the change: look before telling anyone anything.
        let now: Alert;
        try {
          now = withoutTimeline(await deps.cotool.getAlert(before.id));
        } catch (rereadErr) {
          if (!isCotoolError(rereadErr)) throw rereadErr;
          const ref = newRef();
          log.error(
            { ref, alertId: before.id, err: err.toLog(), reread: rereadErr.toLog() },
            'status change: Cotool did not answer and the alert could not be re-read; outcome unknown',
          );
          return { ok: false, code: 'unknown_outcome', displayId: before.displayId, ref };
        }
        if (now.status !== input.status || before.status === input.status) {
          return cotoolFailure(log, err, before.displayId, `${what} (re-read: not applied)`);
        }
        log.warn(
          { alertId: before.id, err: err.toLog() },
          'status change: the answer was lost but re-reading shows it applied',
        );
        written = { alert: now, entry: null, statusChanged: true, alertComplete: true };
        confirmedByReread = true;
      }

      const after = await completed(before, written);
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

      const at = new Date(deps.clock()).toISOString();
      const reply = renderStatusReply(after, { by: actor, from: 'slack', status: input.status, reason: input.words });
      const sync = await syncCard(deps, after, {
        clicked,
        lastAction: { by: actor, kind: 'status', status: input.status, at },
        reply,
      });
      log.info(
        { alertId: after.id, displayId: after.displayId, userId: actor.id, from: before.status, to: after.status },
        'alert status changed from Slack',
      );
      deps.onChanged?.({ alert: after, userId: actor.id });
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
    });
  };

  /** The written alert, completed from the one read before; re-read when the answer lacked required fields. */
  async function completed(before: Alert, written: StatusChangeResult & WriteMeta): Promise<Alert> {
    if (!written.alertComplete) {
      try {
        return withoutTimeline(await deps.cotool.getAlert(before.id));
      } catch (err) {
        log.warn({ alertId: before.id, err }, 'could not re-read the alert after its status change; using the answer');
      }
    }
    return mergeWritten(before, written.alert);
  }
}
