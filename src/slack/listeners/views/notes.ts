/**
 * Submissions of the note and disagreement modals. Checked before the ack (an empty note is an
 * inline error), a redelivery ignored, acknowledged with a "Saving…" view, the comment saved, and
 * the outcome shown in the modal — or, if it was closed, told ephemerally in the card's channel. A
 * refused or failed note quotes the analyst's words back with a reference, so nothing is lost.
 */
import type { AllMiddlewareArgs, App, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { NoteKind } from '../../../service/notes.ts';
import { classifySlackError } from '../../errors.ts';
import { VIEWS } from '../../ids.ts';
import {
  accessRefused,
  cardOutOfDate,
  newRef,
  noteFailed,
  noteSaved,
  unexpectedError,
  yourWords,
} from '../../messages.ts';
import { decodeModalMeta } from '../../payloads.ts';
import { mrkdwn, oneLine } from '../../text.ts';
import { DISAGREE_VERB, NOTE_VERB, readNoteForm } from '../../views/note-modal.ts';
import { noticeModal, workingModal } from '../../views/triage-modal.ts';
import type { ListenerDeps } from '../deps.ts';
import { firstDelivery } from '../redelivery.ts';

type SubmitArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;
type View = Parameters<WebClient['views']['update']>[0]['view'];

export function registerNoteViews(app: App, deps: ListenerDeps): void {
  app.view({ type: 'view_submission', callback_id: VIEWS.noteModal }, noteSubmitted(deps, 'note'));
  app.view({ type: 'view_submission', callback_id: VIEWS.disagreeModal }, noteSubmitted(deps, 'disagree'));
}

function noteSubmitted(deps: ListenerDeps, kind: Exclude<NoteKind, 'reply'>) {
  const log = deps.logger.child({ module: 'note-form' });
  const addNote = deps.useCases.addNote;
  const callbackId = kind === 'note' ? VIEWS.noteModal : VIEWS.disagreeModal;
  const verb = kind === 'note' ? NOTE_VERB : DISAGREE_VERB;

  return async ({ ack, body, view, client }: SubmitArgs): Promise<void> => {
    const userId = body.user.id;
    let words = '';
    let displayId: string | null = null;
    let meta: ReturnType<typeof decodeModalMeta>;
    try {
      meta = decodeModalMeta(view.private_metadata);
      if (!meta.ok) {
        log.warn({ userId, reason: meta.reason }, 'a note form carried metadata that does not decode');
        await ack({ response_action: 'update', view: noticeModal(callbackId, verb, null, cardOutOfDate()) as View });
        return;
      }
      const form = readNoteForm(view.state.values);
      if (!form.ok) {
        await ack({ response_action: 'errors', errors: form.errors });
        return;
      }
      words = form.words;
      if (!(await firstDelivery(deps, `submission:${view.id}:${view.hash}`))) {
        await ack();
        return;
      }
      displayId = (await deps.store.get(meta.value.id))?.displayId ?? null;
    } catch (err) {
      const ref = newRef();
      log.error({ ref, err, userId }, 'a note form failed before it was acknowledged');
      const text = unexpectedError(ref) + yourWords('Your note', words);
      await ack({ response_action: 'update', view: noticeModal(callbackId, verb, null, text) as View });
      return;
    }
    const m = meta.value;
    const idText = displayId ? `*${mrkdwn(oneLine(displayId), 40)}*` : 'the alert';
    await ack({
      response_action: 'update',
      view: workingModal(callbackId, verb, displayId, `Saving your note on ${idText} in Cotool…`) as View,
    });
    const answer = async (text: string) => {
      try {
        await client.views.update({ view_id: view.id, view: noticeModal(callbackId, verb, displayId, text) as View });
        return;
      } catch (err) {
        log.info({ userId, slackError: classifySlackError(err).code }, 'modal gone; answering ephemerally instead');
      }
      const channel = m.c ?? deps.config.slack.alertChannel;
      try {
        await client.chat.postEphemeral({ channel, user: userId, text });
      } catch (err) {
        log.warn(
          { userId, channel, slackError: classifySlackError(err, channel).code },
          'could not tell the note outcome',
        );
      }
    };
    try {
      const place = m.c && m.t ? { channel: m.c, ts: m.t } : null;
      const clickId = `submission:${view.id}:${view.hash}`;
      const result = await addNote({ alertId: m.id, userId, words, kind, place, clickId });
      if (result.ok) return await answer(noteSaved(result.displayId, { replied: result.replied, cut: result.cut }));
      const typed = yourWords('Your note', words);
      if (result.code === 'denied') return await answer(accessRefused(result.reason, deps.access.describe()) + typed);
      if (result.code === 'empty') return await answer(':information_source: The note was empty; nothing was saved.');
      await answer(
        noteFailed(result.error, result.ref, { displayId: result.displayId, mayHaveSaved: result.mayHaveSaved }) +
          typed,
      );
    } catch (err) {
      const ref = newRef();
      log.error({ ref, err, userId, alertId: m.id }, 'a note form failed unexpectedly');
      await answer(unexpectedError(ref) + yourWords('Your note', words));
    }
  };
}
