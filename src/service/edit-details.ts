/**
 * Edit an alert's title and description from Slack (the edit modal). Same guards as a status change
 * — access, one change per alert at a time, refused when the alert changed since the form was
 * opened — then `PATCH /api/alerts/{id}` with only the fields that differ from what the form was
 * prefilled with: an untouched field is never sent, and a description too long for the form is never
 * part of it. The card is redrawn and its thread says what changed.
 */
import type { WriteMeta } from '../cotool/client.ts';
import { isCotoolError } from '../cotool/errors.ts';
import type { Alert, DetailsChangeResult, DetailsPatch } from '../cotool/schemas.ts';
import type { SlackView } from '../notify/poller.ts';
import { newRef } from '../slack/messages.ts';
import { editPrefill, renderEditReply, sameText } from '../slack/views/edit-modal.ts';
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

export type EditDetailsInput = {
  alertId: string;
  /** The alert's `updatedAt` when the form was filled in. */
  expectedUpdatedAt: string;
  userId: string;
  /** The submitted title; undefined when the form had no title input. */
  title?: string | undefined;
  /** The submitted description ('' clears it); undefined when the form had no description input. */
  description?: string | undefined;
  clicked?: Place | null;
};

export type EditedField = 'title' | 'description';

export type EditDetailsSuccess = {
  ok: true;
  alert: Alert;
  view: SlackView;
  actor: Actor;
  /** What was saved; empty when the form was submitted unchanged (nothing was sent). */
  changed: EditedField[];
  confirmedByReread: boolean;
  cardUpdated: boolean | null;
};

export type EditDetailsResult = EditDetailsSuccess | TriageFailure;

export function createEditDetails(deps: TriageDeps): (input: EditDetailsInput) => Promise<EditDetailsResult> {
  const log = deps.logger.child({ module: 'edit-details' });
  const what = 'details edit';

  return async function editDetails(input) {
    const auth = await authorize(deps, input.userId);
    if (!auth.ok) return auth;
    const actor = auth.actor;
    const displayId = await knownDisplayId(deps, input.alertId);

    return withClaim(deps, input.alertId, displayId, async (): Promise<EditDetailsResult> => {
      const got = await fetchAlert(deps, input.alertId, displayId, what);
      if (!got.ok) return got;
      const { alert: before, timeline, record } = got;
      const clicked = input.clicked ?? null;

      if (before.updatedAt !== input.expectedUpdatedAt) {
        const sync = await syncCard(deps, before, { clicked });
        log.info({ alertId: before.id, userId: actor.id }, 'refused an edit of an alert that changed meanwhile');
        return {
          ok: false,
          code: 'stale',
          displayId: before.displayId,
          alert: before,
          view: sync.view,
          before: null,
          by: whoSet(before.status, record, timeline),
        };
      }

      const prefill = editPrefill(before);
      const patch: DetailsPatch = {};
      if (input.title !== undefined && prefill.title !== null && !sameText(input.title, prefill.title)) {
        patch.title = input.title.trim();
      }
      if (
        input.description !== undefined &&
        prefill.description !== null &&
        !sameText(input.description, prefill.description)
      ) {
        patch.description = input.description.trim() === '' ? null : input.description.trim();
      }
      const changed = (Object.keys(patch) as EditedField[]).sort();
      if (changed.length === 0) {
        return {
          ok: true,
          alert: before,
          view: (await syncCard(deps, before, { clicked })).view,
          actor,
          changed,
          confirmedByReread: false,
          cardUpdated: null,
        };
      }

      let written: DetailsChangeResult & WriteMeta;
      let confirmedByReread = false;
      try {
        written = await deps.cotool.updateDetails(before.id, patch);
      } catch (err) {
        if (!isCotoolError(err) || !err.mayHaveApplied()) return cotoolFailure(log, err, before.displayId, what);
        let now: Alert;
        try {
          now = withoutTimeline(await deps.cotool.getAlert(before.id));
        } catch (rereadErr) {
          if (!isCotoolError(rereadErr)) throw rereadErr;
          const ref = newRef();
          log.error(
            { ref, alertId: before.id, err: err.toLog(), reread: rereadErr.toLog() },
            'details edit: Cotool did not answer and the alert could not be re-read; outcome unknown',
          );
          return { ok: false, code: 'unknown_outcome', displayId: before.displayId, ref };
        }
        const applied =
          (patch.title === undefined || now.title === patch.title) &&
          (patch.description === undefined || (now.description ?? null) === patch.description);
        if (!applied) return cotoolFailure(log, err, before.displayId, `${what} (re-read: not applied)`);
        log.warn(
          { alertId: before.id, err: err.toLog() },
          'details edit: the answer was lost but re-reading shows it applied',
        );
        written = { alert: now, entries: [], alertComplete: true };
        confirmedByReread = true;
      }

      const decided: Partial<Alert> = {};
      if (patch.title !== undefined) decided.title = patch.title;
      if (patch.description !== undefined) decided.description = patch.description;
      let after = mergeWritten(before, written.alert, decided);
      if (!written.alertComplete) {
        try {
          after = withoutTimeline(await deps.cotool.getAlert(before.id));
        } catch (err) {
          log.warn({ alertId: before.id, err }, 'could not re-read the alert after its edit; using the answer');
        }
      }
      const reply = renderEditReply(after, {
        by: actor,
        title: patch.title !== undefined ? { from: before.title, to: after.title } : null,
        descriptionChanged: patch.description !== undefined,
      });
      const sync = await syncCard(deps, after, {
        clicked,
        lastAction: { by: actor, kind: 'edit', at: new Date(deps.clock()).toISOString() },
        reply,
      });
      log.info({ alertId: after.id, displayId: after.displayId, userId: actor.id, changed }, 'alert edited from Slack');
      deps.onChanged?.({ alert: after, userId: actor.id });
      return {
        ok: true,
        alert: after,
        view: sync.view,
        actor,
        changed,
        confirmedByReread,
        cardUpdated: sync.cardUpdated,
      };
    });
  };
}
