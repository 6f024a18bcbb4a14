/**
 * Submission of the close-all modal of a storm digest. Checked before the ack (a reason is
 * required; errors inline), a redelivery ignored, then acknowledged with a "Closing…" view; the bulk
 * close runs (it may take a while: the digest shows its progress) and the modal is updated with the
 * outcome — or, if the analyst closed it meanwhile, they are told ephemerally in the storm's channel.
 * A second submit (another analyst, or the same one twice) is answered with who is closing it or
 * closed it, and when; nothing runs twice.
 */
import type { AllMiddlewareArgs, App, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { BulkCloseResult } from '../../../service/bulk-close.ts';
import { decodeCloseAllMeta } from '../../digest-payloads.ts';
import { classifySlackError } from '../../errors.ts';
import { DIGEST_VIEWS } from '../../ids.ts';
import {
  accessRefused,
  bulkAlready,
  bulkBusy,
  bulkDone,
  bulkNothingLive,
  digestOutOfDate,
  groupText,
  newRef,
  reasonShortened,
  stormNotFound,
  unexpectedError,
  yourWords,
} from '../../messages.ts';
import { closeAllNotice, readCloseAllForm } from '../../views/digest-close-modal.ts';
import type { ListenerDeps } from '../deps.ts';
import { firstDelivery } from '../redelivery.ts';

type SubmitArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;
type View = Parameters<WebClient['views']['update']>[0]['view'];

/** `https://acme.slack.com/` from the payload's team domain, for linking the digest in the reason. */
function workspaceUrl(body: ViewSubmitAction): string | null {
  const domain = (body.team as { domain?: unknown } | null)?.domain;
  return typeof domain === 'string' && /^[a-z0-9-]{1,63}$/.test(domain) ? `https://${domain}.slack.com/` : null;
}

export function registerDigestViews(app: App, deps: ListenerDeps): void {
  const log = deps.logger.child({ module: 'digest-close' });
  const bulkClose = deps.useCases.bulkClose;

  function words(r: BulkCloseResult, groupKey: string, typed: string): string {
    if (r.ok) {
      const text = bulkDone(groupText(groupKey, r.groupName), r.tally);
      return r.wordsCut ? `${text}\n${reasonShortened(r.keptChars)}` : text;
    }
    switch (r.code) {
      case 'denied':
        return accessRefused(r.reason, deps.access.describe()) + typed;
      case 'not_found':
        return stormNotFound() + typed;
      case 'already':
        return bulkAlready(groupText(groupKey, r.groupName), r.tally) + typed;
      case 'busy':
        return bulkBusy(groupText(groupKey, r.groupName)) + typed;
      case 'nothing_live':
        return bulkNothingLive(groupText(groupKey, r.groupName));
    }
  }

  app.view({ type: 'view_submission', callback_id: DIGEST_VIEWS.closeAll }, async (args: SubmitArgs) => {
    const { ack, body, view, client } = args;
    const userId = body.user.id;
    let meta: ReturnType<typeof decodeCloseAllMeta>;
    let form: ReturnType<typeof readCloseAllForm>;
    try {
      meta = decodeCloseAllMeta(view.private_metadata);
      if (!meta.ok) {
        log.warn({ userId, reason: meta.reason }, 'a close-all form carried metadata that does not decode');
        await ack({ response_action: 'update', view: closeAllNotice(digestOutOfDate()) as View });
        return;
      }
      form = readCloseAllForm(view.state.values);
      if (!form.ok) {
        await ack({ response_action: 'errors', errors: form.errors });
        return;
      }
      if (!(await firstDelivery(deps, `submission:${view.id}:${view.hash}`))) {
        log.info({ userId, stormId: meta.value.s }, 'ignored a redelivered close-all form');
        await ack();
        return;
      }
    } catch (err) {
      const ref = newRef();
      log.error({ ref, err, userId }, 'a close-all form failed before it was acknowledged');
      await ack({ response_action: 'update', view: closeAllNotice(unexpectedError(ref)) as View });
      return;
    }
    const { s: stormId, g: groupKey, n } = meta.value;
    const typed = yourWords('Your reason', form.words);
    await ack({
      response_action: 'update',
      view: closeAllNotice(
        `:hourglass_flowing_sand: Closing up to ${n.toLocaleString('en-US')} alerts as false positive… The digest shows the progress; you can close this window.`,
      ) as View,
    });

    let text: string;
    try {
      const r = await bulkClose({ stormId, groupKey, userId, words: form.words, workspaceUrl: workspaceUrl(body) });
      log.info({ userId, stormId, outcome: r.ok ? 'done' : r.code }, 'close-all form handled');
      text = words(r, groupKey, typed);
    } catch (err) {
      const ref = newRef();
      log.error({ ref, err, userId, stormId }, 'a close-all form failed unexpectedly');
      text =
        unexpectedError(ref).replace(
          'nothing was changed',
          'some alerts may have been closed; the digest shows which',
        ) + typed;
    }
    try {
      await client.views.update({ view_id: view.id, view: closeAllNotice(text) as View });
      return;
    } catch (err) {
      log.info({ userId, slackError: classifySlackError(err).code }, 'close-all modal gone; answering ephemerally');
    }
    const channel = (await deps.store.getStorm(stormId).catch(() => null))?.channel ?? deps.config.slack.alertChannel;
    try {
      await client.chat.postEphemeral({ channel, user: userId, text });
    } catch (err) {
      const f = classifySlackError(err, channel);
      log.warn({ userId, channel, slackError: f.code }, 'could not tell the user the outcome of their close-all');
    }
  });
}
