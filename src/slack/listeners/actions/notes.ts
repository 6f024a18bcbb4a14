/**
 * "Add note…" and "Disagree…" on a card (or a look-up): acknowledged first, the value decoded (out of
 * date → a note, never a crash), Slack's redelivery dropped, the modal opened at once with the
 * click's trigger ("Loading COT-1…"), then access checked and the alert read, and the modal filled
 * with the form — or with why there is none.
 */
import type { AllMiddlewareArgs, App, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { ACTIONS, type CardOp, OPS } from '../../ids.ts';
import { cardOutOfDate, newRef, unexpectedError } from '../../messages.ts';
import { decodeAction } from '../../payloads.ts';
import type { ListenerDeps } from '../deps.ts';
import { firstDelivery } from '../redelivery.ts';
import { type FormKind, openForm } from './open-form.ts';
import { surfaceOf } from './surface.ts';

type ClickArgs = SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs;

const FORMS = [
  { actionId: ACTIONS.addNote, op: OPS.note, kind: 'note' },
  { actionId: ACTIONS.disagree, op: OPS.disagree, kind: 'disagree' },
] as const satisfies readonly { actionId: string; op: CardOp; kind: FormKind }[];

export function registerNoteActions(app: App, deps: ListenerDeps): void {
  const log = deps.logger.child({ module: 'note-actions' });
  for (const form of FORMS) {
    app.action({ type: 'block_actions', action_id: form.actionId }, async (args: ClickArgs) => {
      const { ack, body, action, client, respond } = args;
      await ack();
      const userId = body.user.id;
      const surface = surfaceOf(body, { client, respond, logger: log });
      try {
        const decoded = decodeAction(action.type === 'button' ? action.value : undefined);
        if (!decoded.ok || decoded.value.op !== form.op) {
          log.warn({ userId, actionId: form.actionId }, 'a note button carried a value that does not decode');
          await surface.tell(cardOutOfDate());
          return;
        }
        if (!(await firstDelivery(deps, `interaction:${userId}:${action.action_ts}:${action.action_id}`))) return;
        await openForm(form.kind, decoded.value, {
          deps,
          client,
          triggerId: body.trigger_id,
          userId,
          surface,
          logger: log,
        });
      } catch (err) {
        const ref = newRef();
        log.error({ ref, err, userId, actionId: form.actionId }, 'a note button failed unexpectedly');
        await surface.tell(unexpectedError(ref));
      }
    });
  }
}
