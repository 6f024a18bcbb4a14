/**
 * "Add note…" and "Disagree…" on a card (or a look-up): acknowledged first, the value decoded (out of
 * date → a note, never a crash), Slack's redelivery dropped, the modal opened at once with the
 * click's trigger ("Loading COT-1…"), then access checked and the alert read, and the modal filled
 * with the form — or with why there is none.
 */
import type { App } from '@slack/bolt';
import { ACTIONS, type CardOp, OPS } from '../../ids.ts';
import type { ListenerDeps } from '../deps.ts';
import { onCardButton } from './card-button.ts';
import { type FormKind, openForm } from './open-form.ts';

const FORMS = [
  { actionId: ACTIONS.addNote, op: OPS.note, kind: 'note' },
  { actionId: ACTIONS.disagree, op: OPS.disagree, kind: 'disagree' },
] as const satisfies readonly { actionId: string; op: CardOp; kind: FormKind }[];

export function registerNoteActions(app: App, deps: ListenerDeps): void {
  const logger = deps.logger.child({ module: 'note-actions' });
  for (const form of FORMS) {
    onCardButton(
      app,
      deps,
      { actionId: form.actionId, op: form.op, what: 'note', logger },
      ({ args, userId, surface, value }) =>
        openForm(form.kind, value, {
          deps,
          client: args.client,
          triggerId: args.body.trigger_id,
          userId,
          surface,
          logger,
        }),
    );
  }
}
