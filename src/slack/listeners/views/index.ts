/**
 * Submissions of the reason modal and the edit modal.
 *
 * A submission is checked before it is acknowledged (fast): errors go back inline
 * (`response_action: errors`) and the form stays open. Anything that fails before the ack (the
 * store, during shutdown say) is still acknowledged, with a view carrying a reference that is also
 * in the log, so Slack never shows its own generic error. A valid one is acknowledged with
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
import type { Place } from '../../../service/card-sync.ts';
import { classifySlackError } from '../../errors.ts';
import { VIEWS } from '../../ids.ts';
import { cardOutOfDate, newRef, staleForm, statusPhrase, unexpectedError, yourWords } from '../../messages.ts';
import { decodeModalMeta, type ModalMeta } from '../../payloads.ts';
import { mrkdwn, oneLine } from '../../text.ts';
import { CLOSE_VERB, readCloseForm, renderCloseModal } from '../../views/close-modal.ts';
import { EDIT_VERB, readEditForm, renderEditModal } from '../../views/edit-modal.ts';
import { type FormValues, noticeModal, workingModal } from '../../views/triage-modal.ts';
import { detailsText, failureText, statusText } from '../actions/change-answers.ts';
import type { ListenerDeps } from '../deps.ts';
import { firstDelivery } from '../redelivery.ts';
import { registerDigestViews } from './digest-close.ts';

type SubmitArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;
type View = Parameters<WebClient['views']['update']>[0]['view'];
type AckResponse = Parameters<SubmitArgs['ack']>[0];

export function registerViews(app: App, deps: ListenerDeps): void {
  app.view({ type: 'view_submission', callback_id: VIEWS.closeModal }, closeSubmitted(deps));
  app.view({ type: 'view_submission', callback_id: VIEWS.editModal }, editSubmitted(deps));
  registerDigestViews(app, deps);
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

/** What the analyst is answered with: the text, and the modal view when it is not a plain notice. */
type Answer = { text: string; view?: object };

type SubmitContext<F> = {
  form: F;
  meta: ModalMeta;
  userId: string;
  typed: string;
  log: Logger;
  /** The submission's stable id (its redelivery key). */
  clickId: string;
};

/** What differs between the forms; `formSubmitted` does the rest. */
type FormSpec<F extends { ok: true }> = {
  callbackId: string;
  verb: string;
  module: string;
  /** The form as named in the log line when it fails unexpectedly ("a close form"). */
  name: string;
  read: (values: FormValues | undefined) => F | { ok: false; errors: Record<string, string> };
  /** What the modal says while the change is made. */
  working: (displayId: string, form: F) => string;
  /** What the analyst typed, added to an answer that did not save it so nothing typed is lost. */
  typed: (form: F) => string;
  /** Makes the change and words the outcome. */
  submit: (ctx: SubmitContext<F>) => Promise<Answer>;
};

/** Before the ack: the answer to give at once (`done`), or the checked submission to act on. */
type Checked<F> = { done: true; response?: AckResponse } | { done: false; meta: ModalMeta; form: F; displayId: string };

/**
 * A form's submission: metadata and inputs checked before the ack (errors inline), a redelivery
 * ignored, the modal updated to a working view, the change made, and the outcome answered. Whatever
 * fails before the ack is acknowledged with a notice carrying a reference (and what was typed).
 */
function formSubmitted<F extends { ok: true }>(deps: ListenerDeps, spec: FormSpec<F>) {
  const log = deps.logger.child({ module: spec.module });

  /** Everything before the ack. `typed` collects what the analyst typed, once the form is read. */
  async function check(args: SubmitArgs, typed: { text: string }): Promise<Checked<F>> {
    const { body, view } = args;
    const userId = body.user.id;
    const decoded = decodeModalMeta(view.private_metadata);
    if (!decoded.ok) {
      log.warn({ userId, reason: decoded.reason }, 'a form carried metadata that does not decode');
      const notice = noticeModal(spec.callbackId, spec.verb, null, cardOutOfDate());
      return { done: true, response: { response_action: 'update', view: notice as View } };
    }
    const meta = decoded.value;
    const form = spec.read(view.state.values);
    if (!form.ok) return { done: true, response: { response_action: 'errors', errors: form.errors } };
    typed.text = spec.typed(form);
    if (!(await firstDelivery(deps, `submission:${view.id}:${view.hash}`))) {
      log.info({ userId, alertId: meta.id }, 'ignored a redelivered form');
      return { done: true };
    }
    return { done: false, meta, form, displayId: await deps.useCases.displayIdOf(meta.id) };
  }

  return async (args: SubmitArgs): Promise<void> => {
    const { ack, body, view, client } = args;
    const userId = body.user.id;
    const typed = { text: '' };
    let checked: Checked<F>;
    try {
      checked = await check(args, typed);
    } catch (err) {
      const ref = newRef();
      log.error({ ref, err, userId }, `${spec.name} failed before it was acknowledged`);
      const text = unexpectedError(ref) + typed.text;
      await ack({ response_action: 'update', view: noticeModal(spec.callbackId, spec.verb, null, text) as View });
      return;
    }
    if (checked.done) {
      await ack(checked.response);
      return;
    }
    const { meta, form, displayId } = checked;
    await ack({
      response_action: 'update',
      view: workingModal(spec.callbackId, spec.verb, displayId, spec.working(displayId, form)) as View,
    });
    const answer = answerer(deps, client, view.id, userId, meta, log);
    const notice = (text: string) => noticeModal(spec.callbackId, spec.verb, displayId, text);
    try {
      const clickId = `submission:${view.id}:${view.hash}`;
      const out = await spec.submit({ form, meta, userId, typed: typed.text, log, clickId });
      await answer(out.text, out.view ?? notice(out.text));
    } catch (err) {
      const ref = newRef();
      log.error({ ref, err, userId, alertId: meta.id }, `${spec.name} failed unexpectedly`);
      const text = unexpectedError(ref) + typed.text;
      await answer(text, notice(text));
    }
  };
}

function closeSubmitted(deps: ListenerDeps) {
  return formSubmitted(deps, {
    callbackId: VIEWS.closeModal,
    verb: CLOSE_VERB,
    module: 'close-form',
    name: 'a close form',
    read: readCloseForm,
    working: (displayId, form) =>
      `Closing ${idMd(displayId)} as ${statusPhrase(form.status).replace(/^closed as /, '')}…`,
    typed: (form) => yourWords('Your reason', form.words),
    submit: async ({ form, meta, userId, typed, log, clickId }) => {
      const result = await deps.useCases.changeStatus({
        alertId: meta.id,
        expectedUpdatedAt: meta.u,
        status: form.status,
        userId,
        words: form.words,
        clicked: placeOf(meta),
        clickId,
      });
      log.info(
        { userId, alertId: meta.id, status: form.status, outcome: result.ok ? 'ok' : result.code },
        'close form handled',
      );
      if (result.ok) return { text: statusText(result) };
      if (result.code === 'stale' && isLive(result.alert.status)) {
        const text = staleForm(result.displayId, { now: result.alert.status, by: result.by });
        const again = renderCloseModal(
          result.alert,
          { ...meta, u: result.alert.updatedAt, d: form.disposition },
          { notice: text, words: form.words },
        );
        return { text: text + typed, view: again };
      }
      return { text: failureText(result, deps.access.describe(), form.status) + typed };
    },
  });
}

function editSubmitted(deps: ListenerDeps) {
  return formSubmitted(deps, {
    callbackId: VIEWS.editModal,
    verb: EDIT_VERB,
    module: 'edit-form',
    name: 'an edit form',
    read: readEditForm,
    working: (displayId) => `Saving ${idMd(displayId)}…`,
    typed: (form) => yourWords('Your title', form.title ?? '') + yourWords('Your description', form.description ?? ''),
    submit: async ({ form, meta, userId, typed, log, clickId }) => {
      const result = await deps.useCases.editDetails({
        alertId: meta.id,
        expectedUpdatedAt: meta.u,
        userId,
        title: form.title,
        description: form.description,
        clicked: placeOf(meta),
        clickId,
      });
      log.info(
        {
          userId,
          alertId: meta.id,
          outcome: result.ok ? `saved:${result.changed.join('+') || 'nothing'}` : result.code,
        },
        'edit form handled',
      );
      if (result.ok) return { text: detailsText(result) };
      if (result.code === 'stale') {
        const text = staleForm(result.displayId, { now: result.alert.status, by: result.by });
        // Shown as the alert is now; what was typed is quoted, not prefilled: an untouched field
        // prefilled from the older version would otherwise overwrite the newer one on save.
        const again = renderEditModal(result.alert, { ...meta, u: result.alert.updatedAt }, { notice: text + typed });
        return { text: text + typed, view: again };
      }
      return { text: failureText(result, deps.access.describe()) + typed };
    },
  });
}
