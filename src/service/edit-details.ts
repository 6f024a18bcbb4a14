/**
 * Edit an alert's title and description from Slack (the edit modal). Same guards as a status change
 * — access, one change per alert at a time, refused when the alert changed since the form was
 * opened — then `PATCH /api/alerts/{id}` with only the fields that differ from what the form was
 * prefilled with: an untouched field is never sent, and a description too long for the form is never
 * part of it. The card is redrawn and its thread says what changed.
 */
import type { Alert, DetailsPatch } from '../core/alert.ts';
import { type Actor, syncCard, type TriageDeps, type TriageFailure } from './card-sync.ts';
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

export type EditDetailsInput = ChangeInput & {
  /** The submitted title; undefined when the form had no title input. */
  title?: string | undefined;
  /** The submitted description ('' clears it); undefined when the form had no description input. */
  description?: string | undefined;
};

export type EditedField = 'title' | 'description';

export type EditDetailsSuccess = ChangeSuccess & {
  /** What was saved; empty when the form was submitted unchanged (nothing was sent). */
  changed: EditedField[];
};

export type EditDetailsResult = EditDetailsSuccess | TriageFailure;

export function createEditDetails(deps: TriageDeps): (input: EditDetailsInput) => Promise<EditDetailsResult> {
  const log = deps.logger.child({ module: 'edit-details' });
  const what = 'details edit';

  return (input) => runChange(deps, input, { what, logStale, change: edit });

  function logStale(_input: EditDetailsInput, before: Alert, actor: Actor): void {
    log.info({ alertId: before.id, userId: actor.id }, 'refused an edit of an alert that changed meanwhile');
  }

  /** The edit itself, holding the alert's claim, on the alert as it was read. */
  async function edit(input: EditDetailsInput, start: ChangeStart): Promise<EditDetailsResult> {
    const { actor, before, clicked } = start;
    const prefill = deps.render.editPrefill(before);
    const patch: DetailsPatch = {};
    if (input.title !== undefined && prefill.title !== null && !deps.render.sameEditText(input.title, prefill.title)) {
      patch.title = input.title.trim();
    }
    if (
      input.description !== undefined &&
      prefill.description !== null &&
      !deps.render.sameEditText(input.description, prefill.description)
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

    const intent = await holdIntent(deps, start, input.clickId, {
      kind: 'edit',
      by: actor,
      ...(patch.title !== undefined ? { title: { from: before.title, to: patch.title } } : {}),
      ...(patch.description !== undefined ? { description: patch.description } : {}),
      beforeUpdatedAt: before.updatedAt,
    });
    const sent = await writeOrReread(deps, log, before, what, () => deps.cotool.updateDetails(before.id, patch), {
      applied: (now) =>
        (patch.title === undefined || now.title === patch.title) &&
        (patch.description === undefined || (now.description ?? null) === patch.description),
      answer: (now) => ({ alert: now, entries: [], alertComplete: true }),
    });
    if (!sent.ok) {
      // An unknown outcome keeps the intent: the sender tells the edit if it was made after all.
      if (!keepsIntent(sent)) await dropIntent(deps, intent);
      return sent;
    }
    const { written, confirmedByReread } = sent;

    const decided: Partial<Alert> = {};
    if (patch.title !== undefined) decided.title = patch.title;
    if (patch.description !== undefined) decided.description = patch.description;
    const after = await afterWrite(deps, log, before, written, decided, 'edit');
    const reply = deps.render.editReply(after, {
      by: actor,
      title: patch.title !== undefined ? { from: before.title, to: after.title } : null,
      descriptionChanged: patch.description !== undefined,
    });
    const sync = await finishChange(deps, after, actor, {
      clicked,
      replaces: intent,
      action: { kind: 'edit' },
      reply,
      logDone: () =>
        log.info(
          { alertId: after.id, displayId: after.displayId, userId: actor.id, changed },
          'alert edited from Slack',
        ),
    });
    return {
      ok: true,
      alert: after,
      view: sync.view,
      actor,
      changed,
      confirmedByReread,
      cardUpdated: sync.cardUpdated,
    };
  }
}
