/**
 * "Add note…" and "Disagree…" on a card (or a look-up): acknowledged first, the value decoded (out of
 * date → a note, never a crash), Slack's redelivery dropped, the modal opened at once with the
 * click's trigger ("Loading COT-1…"), then access checked and the alert read, and the modal filled
 * with the form — or with why there is none.
 */
import type { AllMiddlewareArgs, App, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { latestVerdict } from '../../../core/verdict.ts';
import type { Place } from '../../../service/card-sync.ts';
import { classifySlackError } from '../../errors.ts';
import { ACTIONS, type CardOp, OPS, VIEWS } from '../../ids.ts';
import { cardOutOfDate, formNotOpened, newRef, unexpectedError } from '../../messages.ts';
import { decodeAction, type ModalMeta } from '../../payloads.ts';
import { DISAGREE_VERB, NOTE_VERB, renderNoteModal } from '../../views/note-modal.ts';
import { loadingModal, noticeModal } from '../../views/triage-modal.ts';
import type { ListenerDeps } from '../deps.ts';
import { firstDelivery } from '../redelivery.ts';
import { failureText } from './change-answers.ts';
import { surfaceOf } from './surface.ts';

type ClickArgs = SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs;
type View = Parameters<WebClient['views']['open']>[0]['view'];

const FORMS = [
  { actionId: ACTIONS.addNote, op: OPS.note, kind: 'note', callbackId: VIEWS.noteModal, verb: NOTE_VERB },
  {
    actionId: ACTIONS.disagree,
    op: OPS.disagree,
    kind: 'disagree',
    callbackId: VIEWS.disagreeModal,
    verb: DISAGREE_VERB,
  },
] as const satisfies readonly { actionId: string; op: CardOp; kind: string; callbackId: string; verb: string }[];

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
        const p = decoded.value;
        if (!(await firstDelivery(deps, `interaction:${userId}:${action.action_ts}:${action.action_id}`))) return;
        const record = await deps.store.get(p.id);
        let viewId: string | undefined;
        try {
          const opened = await client.views.open({
            trigger_id: body.trigger_id,
            view: loadingModal(form.callbackId, form.verb, record?.displayId ?? null) as View,
          });
          viewId = opened.view?.id;
        } catch (err) {
          log.warn(
            { userId, alertId: p.id, slackError: classifySlackError(err).code },
            'could not open the note modal',
          );
          await surface.tell(formNotOpened());
          return;
        }
        if (!viewId) return;
        const show = async (view: object) => {
          try {
            await client.views.update({ view_id: viewId, view: view as View });
          } catch (err) {
            log.warn(
              { userId, alertId: p.id, slackError: classifySlackError(err).code },
              'could not fill in the modal',
            );
          }
        };
        const loaded = await deps.useCases.loadForm({
          alertId: p.id,
          expectedUpdatedAt: p.u,
          userId,
          clicked: surface.clicked,
          what: `opening the ${form.kind} form`,
        });
        if (!loaded.ok) {
          const text = failureText(loaded, deps.access.describe());
          return await show(noticeModal(form.callbackId, form.verb, record?.displayId ?? null, text));
        }
        const place: Place | null =
          surface.clicked ??
          (loaded.record?.state === 'posted' && loaded.record.channel && loaded.record.ts
            ? { channel: loaded.record.channel, ts: loaded.record.ts }
            : null);
        const meta: ModalMeta = {
          v: 1,
          id: loaded.alert.id,
          u: loaded.alert.updatedAt,
          ...(place ? { c: place.channel, t: place.ts } : {}),
        };
        await show(renderNoteModal(form.kind, loaded.alert, meta, { verdict: latestVerdict(loaded.timeline) }));
      } catch (err) {
        const ref = newRef();
        log.error({ ref, err, userId, actionId: form.actionId }, 'a note button failed unexpectedly');
        await surface.tell(unexpectedError(ref));
      }
    });
  }
}
