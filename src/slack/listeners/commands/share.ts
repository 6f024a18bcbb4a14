/**
 * "Share in channel" under a look-up answer: posts the alert's card (re-read from Cotool, with the
 * same buttons as the channel card) where the command was run, with "Shared by @who". The person
 * clicking is checked again. A redelivered click, or a second click within a few seconds, posts
 * nothing more. When the bot cannot post there, the answer says how to fix it.
 *
 * Never into a channel shared with another organisation (Slack Connect), like previews and expanded
 * ids: the card carries the alert's description. The channel is looked up (conversations.info)
 * before posting, and when it cannot be, nothing is posted (fail closed).
 */
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { alertUrl } from '../../../config.ts';
import { classifySlackError } from '../../../core/slack-errors.ts';
import type { Logger } from '../../../log.ts';
import type { LookupService } from '../../../service/lookup.ts';
import { ACTIONS, OPS } from '../../ids.ts';
import { newRef } from '../../messages.ts';
import { decodeAction } from '../../payloads.ts';
import { renderSharedCard } from '../../views/lookup.ts';
import type { ListenerDeps } from '../deps.ts';
import { failureView, guarded, tellPrivately } from './boundary.ts';

/** A second share of the same alert into the same channel by the same person within this is dropped. */
export const SHARE_DEBOUNCE_MS = 10_000;
const REDELIVERY_TTL_MS = 10 * 60_000;

const OUT_OF_DATE = ':hourglass: This answer is out of date. Run `/cotool` again to share the alert.';
const CANNOT_POST =
  ':information_source: I cannot post in this conversation. Invite me first (`/invite @Cotool`), then press *Share in channel* again. In direct messages, share from a channel instead.';
const EXTERNAL =
  ':no_entry: Alerts are not shared into channels shared with other organisations (Slack Connect). Nothing was posted; share it in one of your own channels instead.';
const cannotCheck = (ref: string) =>
  `:warning: I could not check whether this conversation is shared with another organisation, so nothing was posted. If I am not in it, invite me first (\`/invite @Cotool\`); in direct messages, share from a channel instead; otherwise try again in a moment. (ref \`${ref}\`)`;

/** Shared with another organisation, now or pending (Slack Connect); `is_shared` without `is_org_shared` too. */
type ChannelSharing = {
  is_ext_shared?: boolean;
  is_pending_ext_shared?: boolean;
  is_shared?: boolean;
  is_org_shared?: boolean;
};
const isExternal = (c: ChannelSharing) =>
  c.is_ext_shared === true || c.is_pending_ext_shared === true || (c.is_shared === true && c.is_org_shared !== true);

/**
 * Whether the bot may share into `channel`: `ok`, or the note that says why not. Fails closed: a
 * channel that cannot be looked up is refused, with a reference in the log.
 */
async function shareTarget(
  client: WebClient,
  channel: string,
  log: Logger,
  fields: Record<string, unknown>,
): Promise<{ ok: true } | { ok: false; note: string }> {
  let info: ChannelSharing | undefined;
  try {
    info = (await client.conversations.info({ channel })).channel;
  } catch (err) {
    const f = classifySlackError(err, channel);
    if (f.channelProblem || f.code === 'channel_not_found') {
      log.info({ ...fields, channel, slackError: f.code }, 'cannot share into this conversation');
      return { ok: false, note: CANNOT_POST };
    }
    const ref = newRef();
    log.warn({ ...fields, channel, slackError: f.code, ref }, 'could not look the share target up; nothing shared');
    return { ok: false, note: cannotCheck(ref) };
  }
  if (!info) {
    const ref = newRef();
    log.warn({ ...fields, channel, ref }, 'conversations.info returned no channel; nothing shared');
    return { ok: false, note: cannotCheck(ref) };
  }
  if (isExternal(info)) {
    log.info({ ...fields, channel }, 'refused to share into a channel shared with another organisation');
    return { ok: false, note: EXTERNAL };
  }
  return { ok: true };
}

export function registerShare(app: App, deps: ListenerDeps, lookups: LookupService): void {
  const log = deps.logger.child({ module: 'share' });
  app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: ACTIONS.share }, async (args) => {
    const { ack, body, action, respond, client } = args;
    await ack();
    const userId = body.user.id;
    const container = body.container as { channel_id?: string; message_ts?: string };
    const channel = body.channel?.id ?? container.channel_id;
    const tell = (text: string) => tellPrivately({ respond, client, channel, user: userId }, text, log);
    await guarded(
      log,
      { userId, channel },
      async () => {
        const decoded = decodeAction(action.value);
        if (!decoded.ok || decoded.value.op !== OPS.share) {
          log.warn(
            { userId, reason: decoded.ok ? 'wrong_op' : decoded.reason },
            'refused a share value that did not decode',
          );
          await tell(OUT_OF_DATE);
          return;
        }
        if (!channel) {
          await tell(CANNOT_POST);
          return;
        }
        const now = deps.clock();
        if (!(await deps.store.firstTime(`share-click:${userId}:${action.action_ts}`, now, REDELIVERY_TTL_MS))) return;
        const id = decoded.value.id;
        const r = await lookups.lookup(userId, id);
        if (!r.ok) {
          const view = failureView(r, { who: deps.access.describe(), alertRef: id, log, fields: { userId } });
          await tell(view.text);
          return;
        }
        const target = await shareTarget(client, channel, log, { userId, alertId: r.alert.id });
        if (!target.ok) {
          await tell(target.note);
          return;
        }
        if (!(await deps.store.firstTime(`share:${channel}:${r.alert.id}:${userId}`, now, SHARE_DEBOUNCE_MS))) {
          log.info({ userId, channel, alertId: r.alert.id }, 'dropped a repeated share');
          return;
        }
        const view = renderSharedCard(r.alert, {
          alertUrl: alertUrl(deps.config.cotool, r.alert),
          lastAction: r.lastAction,
          closeOpensForm: deps.config.slack.closeReasonRequired,
          sharedBy: userId,
          at: new Date(now).toISOString(),
        });
        try {
          const posted = await deps.slack.post({ channel, text: view.text, blocks: view.blocks });
          log.info({ userId, channel, alertId: r.alert.id, ts: posted.ts }, 'shared an alert card');
        } catch (err) {
          const f = classifySlackError(err, channel);
          if (f.channelProblem || f.code === 'channel_not_found') {
            log.info({ userId, channel, slackError: f.code }, 'cannot share into this conversation');
            await tell(CANNOT_POST);
            return;
          }
          const ref = newRef();
          log.warn({ userId, channel, slackError: f.code, ref }, 'Slack refused a shared card');
          await tell(`:warning: Slack did not accept the card (${f.code}). Try again in a moment. (ref \`${ref}\`)`);
        }
      },
      tell,
    );
  });
}
