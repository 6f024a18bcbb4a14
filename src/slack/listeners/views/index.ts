/**
 * Submissions of the reason modal and the edit modal.
 *
 * A submission is checked before it is acknowledged (pure and fast): errors go back inline
 * (`response_action: errors`) and the form stays open. A valid one is acknowledged with
 * `response_action: update` to a "Closing COT-1…" view, the change is made, and the modal is updated
 * with the outcome. So the answer lands where the analyst is looking, from any surface the form was
 * opened on (card, lookup answer, App Home) and without depending on channel membership; modals have
 * no response_url. If the analyst closed the modal meanwhile, the answer goes to them as an
 * ephemeral note in the card's channel. When the alert changed since the form was opened, the form
 * is shown again as the alert now is, with what the analyst typed (the reason prefilled again; an
 * edit's title and description quoted), so nothing typed is lost.
 */
import type { AllMiddlewareArgs, App, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { isLive } from '../../../cotool/schemas.ts';
import type { Logger } from '../../../log.ts';
import { knownDisplayId, type Place } from '../../../service/triage.ts';
import { classifySlackError } from '../../errors.ts';
import { VIEWS } from '../../ids.ts';
import { cardOutOfDate, newRef, staleForm, statusPhrase, unexpectedError, yourWords } from '../../messages.ts';
import { decodeModalMeta, type ModalMeta } from '../../payloads.ts';
import { mrkdwn, oneLine } from '../../text.ts';
import { CLOSE_VERB, readCloseForm, renderCloseModal } from '../../views/close-modal.ts';
import { EDIT_VERB, readEditForm, renderEditModal } from '../../views/edit-modal.ts';
import { noticeModal, workingModal } from '../../views/triage-modal.ts';
import { createTriage, type Triage } from '../actions/triage-context.ts';
import type { ListenerDeps } from '../deps.ts';

type SubmitArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;
type View = Parameters<WebClient['views']['update']>[0]['view'];

export function registerViews(app: App, deps: ListenerDeps): void {
  const triage = createTriage(deps);
  app.view({ type: 'view_submission', callback_id: VIEWS.closeModal }, closeSubmitted(deps, triage));
  app.view({ type: 'view_submission', callback_id: VIEWS.editModal }, editSubmitted(deps, triage));
}

const placeOf = (m: ModalMeta): Place | null => (m.c && m.t ? { channel: m.c, ts: m.t } : null);
const idMd = (displayId: string) => `*${mrkdwn(oneLine(displayId), 40)}*`;

/** Shows the outcome in the modal; if it is gone, tells the analyst ephemerally in the card's channel. */
function answerer(deps: ListenerDeps, client: WebClient, viewId: string, userId: string, meta: ModalMeta, log: Logger) {
  return async (text: string, view: object): Promise<void> => {
    try {
      await client.views.update({ view_id: viewId, view: view as View });
      return;
    } catch (err) {
      log.info({ userId, slackError: classifySlackError(err).code }, 'modal gone; answering ephemerally instead');
    }
    const channel = meta.c ?? deps.config.slack.alertChannel;
    try {
      await client.chat.postEphemeral({ channel, user: userId, text });
    } catch (err) {
      const f = classifySlackError(err, channel);
      log.warn({ userId, channel, slackError: f.code }, 'could not tell the user the outcome of their form');
    }
  };
}

/** Decodes the form's metadata; a form that does not decode is answered in place, never a crash. */
async function metaOrRefuse(
  args: SubmitArgs,
  callbackId: string,
  verb: string,
  log: Logger,
): Promise<ModalMeta | null> {
  const decoded = decodeModalMeta(args.view.private_metadata);
  if (decoded.ok) return decoded.value;
  log.warn({ userId: args.body.user.id, reason: decoded.reason }, 'a form carried metadata that does not decode');
  await args.ack({ response_action: 'update', view: noticeModal(callbackId, verb, null, cardOutOfDate()) as View });
  return null;
}

function closeSubmitted(deps: ListenerDeps, triage: Triage) {
  const log = deps.logger.child({ module: 'close-form' });
  return async (args: SubmitArgs): Promise<void> => {
    const { ack, body, view, client } = args;
    const userId = body.user.id;
    const meta = await metaOrRefuse(args, VIEWS.closeModal, CLOSE_VERB, log);
    if (!meta) return;
    const form = readCloseForm(view.state.values);
    if (!form.ok) {
      await ack({ response_action: 'errors', errors: form.errors });
      return;
    }
    if (!(await triage.firstDelivery(`submission:${view.id}:${view.hash}`))) {
      await ack();
      log.info({ userId, alertId: meta.id }, 'ignored a redelivered form');
      return;
    }
    const displayId = await knownDisplayId(triage.deps, meta.id);
    const working = `Closing ${idMd(displayId)} as ${statusPhrase(form.status).replace(/^closed as /, '')}…`;
    await ack({
      response_action: 'update',
      view: workingModal(VIEWS.closeModal, CLOSE_VERB, displayId, working) as View,
    });
    const answer = answerer(deps, client, view.id, userId, meta, log);
    const notice = (text: string) => noticeModal(VIEWS.closeModal, CLOSE_VERB, displayId, text);
    const words = yourWords('Your reason', form.words);
    try {
      const result = await triage.changeStatus({
        alertId: meta.id,
        expectedUpdatedAt: meta.u,
        status: form.status,
        userId,
        words: form.words,
        clicked: placeOf(meta),
      });
      log.info(
        { userId, alertId: meta.id, status: form.status, outcome: result.ok ? 'ok' : result.code },
        'close form handled',
      );
      if (result.ok) {
        const text = triage.statusText(result);
        await answer(text, notice(text));
      } else if (result.code === 'stale' && isLive(result.alert.status)) {
        const text = staleForm(result.displayId, { now: result.alert.status, by: result.by });
        const again = renderCloseModal(
          result.alert,
          { ...meta, u: result.alert.updatedAt, d: form.disposition },
          { notice: text, words: form.words },
        );
        await answer(text + words, again);
      } else {
        const text = triage.failureText(result, form.status) + words;
        await answer(text, notice(text));
      }
    } catch (err) {
      const ref = newRef();
      log.error({ ref, err, userId, alertId: meta.id }, 'a close form failed unexpectedly');
      const text = unexpectedError(ref) + words;
      await answer(text, notice(text));
    }
  };
}

function editSubmitted(deps: ListenerDeps, triage: Triage) {
  const log = deps.logger.child({ module: 'edit-form' });
  return async (args: SubmitArgs): Promise<void> => {
    const { ack, body, view, client } = args;
    const userId = body.user.id;
    const meta = await metaOrRefuse(args, VIEWS.editModal, EDIT_VERB, log);
    if (!meta) return;
    const form = readEditForm(view.state.values);
    if (!form.ok) {
      await ack({ response_action: 'errors', errors: form.errors });
      return;
    }
    if (!(await triage.firstDelivery(`submission:${view.id}:${view.hash}`))) {
      await ack();
      log.info({ userId, alertId: meta.id }, 'ignored a redelivered form');
      return;
    }
    const displayId = await knownDisplayId(triage.deps, meta.id);
    await ack({
      response_action: 'update',
      view: workingModal(VIEWS.editModal, EDIT_VERB, displayId, `Saving ${idMd(displayId)}…`) as View,
    });
    const answer = answerer(deps, client, view.id, userId, meta, log);
    const notice = (text: string) => noticeModal(VIEWS.editModal, EDIT_VERB, displayId, text);
    const typed = yourWords('Your title', form.title ?? '') + yourWords('Your description', form.description ?? '');
    try {
      const result = await triage.editDetails({
        alertId: meta.id,
        expectedUpdatedAt: meta.u,
        userId,
        title: form.title,
        description: form.description,
        clicked: placeOf(meta),
      });
      log.info(
        {
          userId,
          alertId: meta.id,
          outcome: result.ok ? `saved:${result.changed.join('+') || 'nothing'}` : result.code,
        },
        'edit form handled',
      );
      if (result.ok) {
        const text = triage.detailsText(result);
        await answer(text, notice(text));
      } else if (result.code === 'stale') {
        const text = staleForm(result.displayId, { now: result.alert.status, by: result.by });
        // Shown as the alert is now; what was typed is quoted, not prefilled: an untouched field
        // prefilled from the older version would otherwise overwrite the newer one on save.
        const again = renderEditModal(result.alert, { ...meta, u: result.alert.updatedAt }, { notice: text + typed });
        await answer(text + typed, again);
      } else {
        const text = triage.failureText(result) + typed;
        await answer(text, notice(text));
      }
    } catch (err) {
      const ref = newRef();
      log.error({ ref, err, userId, alertId: meta.id }, 'an edit form failed unexpectedly');
      const text = unexpectedError(ref) + typed;
      await answer(text, notice(text));
    }
  };
}
