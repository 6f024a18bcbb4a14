/**
 * The mute modal's submission. Checked before the ack — how long (a time in the past, or more than
 * the longest mute) and why (missing, too long) are inline errors — a redelivery ignored, then
 * acknowledged with a "Muting…" view; the mute is created (announced in the channel through the
 * outbox, recorded as a Cotool comment on the alert it was made from) and the outcome shown in the
 * modal — or, if it was closed, told ephemerally in the mute's channel. A detection muted there
 * already (a double submit, or someone else first) is said so, with until when and by whom.
 */
import type { AllMiddlewareArgs, App, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { classifySlackError } from '../../../core/slack-errors.ts';
import { VIEWS } from '../../ids.ts';
import {
  accessRefused,
  alreadyMuted,
  cardOutOfDate,
  MUTE_ERRORS,
  muteDone,
  newRef,
  unexpectedError,
} from '../../messages.ts';
import { decodeMuteMeta } from '../../payloads.ts';
import { readMuteForm } from '../../views/mute.ts';
import { noticeModal, workingModal } from '../../views/triage-modal.ts';
import type { ListenerDeps } from '../deps.ts';
import { firstDelivery } from '../redelivery.ts';

type SubmitArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;
type View = Parameters<WebClient['views']['update']>[0]['view'];

const VERB = 'Mute detection';

export function registerMuteViews(app: App, deps: ListenerDeps): void {
  const log = deps.logger.child({ module: 'mute-form' });
  const { mutes } = deps.useCases;

  app.view(
    { type: 'view_submission', callback_id: VIEWS.muteModal },
    async ({ ack, body, view, client }: SubmitArgs) => {
      const userId = body.user.id;
      const meta = decodeMuteMeta(view.private_metadata);
      if (!meta.ok) {
        log.warn({ userId, reason: meta.reason }, 'a mute form carried metadata that does not decode');
        await ack({
          response_action: 'update',
          view: noticeModal(VIEWS.muteModal, VERB, null, cardOutOfDate()) as View,
        });
        return;
      }
      const form = readMuteForm(view.state.values, deps.clock());
      if (!form.ok) {
        await ack({ response_action: 'errors', errors: form.errors });
        return;
      }
      try {
        if (!(await firstDelivery(deps, `submission:${view.id}:${view.hash}`))) {
          await ack();
          return;
        }
      } catch (err) {
        const ref = newRef();
        log.error({ ref, err, userId }, 'a mute form failed before it was acknowledged');
        await ack({
          response_action: 'update',
          view: noticeModal(VIEWS.muteModal, VERB, null, unexpectedError(ref)) as View,
        });
        return;
      }
      const m = meta.value;
      await ack({ response_action: 'update', view: workingModal(VIEWS.muteModal, VERB, null, 'Muting…') as View });
      const answer = async (text: string) => {
        try {
          await client.views.update({ view_id: view.id, view: noticeModal(VIEWS.muteModal, VERB, null, text) as View });
          return;
        } catch (err) {
          log.info({ userId, slackError: classifySlackError(err).code }, 'modal gone; answering ephemerally instead');
        }
        try {
          await client.chat.postEphemeral({ channel: m.channel, user: userId, text });
        } catch (err) {
          log.warn({ userId, slackError: classifySlackError(err, m.channel).code }, 'could not tell the mute outcome');
        }
      };
      try {
        const r = await mutes.mute({
          channel: m.channel,
          detectionKey: m.detectionKey,
          detectionName: m.detectionName,
          sourceAlertId: m.alertId,
          userId,
          choice: form.choice,
          until: form.until,
          reason: form.reason,
        });
        if (r.ok) deps.events.emit('mutes-changed', userId);
        if (r.ok) return await answer(muteDone(r.mute.detectionName, r.mute.channel, r.mute.until, r.commented));
        switch (r.code) {
          case 'denied':
            return await answer(accessRefused(r.reason, deps.access.describe()));
          case 'already_muted':
            return await answer(
              r.mute
                ? alreadyMuted(r.mute.detectionName, r.mute.until, r.mute.by)
                : alreadyMuted(m.detectionName, deps.clock()),
            );
          case 'no_reason':
            return await answer(`${MUTE_ERRORS.reasonMissing} Nothing was muted.`);
          case 'reason_too_long':
            return await answer(`${MUTE_ERRORS.reasonTooLong(500)} Nothing was muted.`);
          case 'in_the_past':
            return await answer(`${MUTE_ERRORS.inThePast} Nothing was muted.`);
          case 'too_long':
            return await answer(`${MUTE_ERRORS.tooLong(7)} Nothing was muted.`);
        }
      } catch (err) {
        const ref = newRef();
        log.error({ ref, err, userId }, 'a mute form failed unexpectedly');
        await answer(unexpectedError(ref));
      }
    },
  );
}
