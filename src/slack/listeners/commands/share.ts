/**
 * "Share in channel" under a look-up answer: posts the alert's card (re-read from Cotool, with the
 * same buttons as the channel card) where the command was run, with "Shared by @who". The person
 * clicking is checked again. A redelivered click, or a second click within a few seconds, posts
 * nothing more. When the bot cannot post there, the answer says how to fix it.
 */
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { alertUrl } from '../../../config.ts';
import type { LookupService } from '../../../service/lookup.ts';
import { classifySlackError } from '../../errors.ts';
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
        if (!(await deps.store.firstTime(`share:${channel}:${r.alert.id}:${userId}`, now, SHARE_DEBOUNCE_MS))) {
          log.info({ userId, channel, alertId: r.alert.id }, 'dropped a repeated share');
          return;
        }
        const view = renderSharedCard(r.alert, {
          alertUrl: alertUrl(deps.config.cotool, r.alert),
          lastAction: r.lastAction,
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
