/**
 * Where a click came from, and how to answer the person who clicked there:
 * - a channel message (an alert card): the answer is an ephemeral note in that channel, through the
 *   click's response_url (works even for someone reading a public channel they have not joined),
 *   else chat.postEphemeral;
 * - an ephemeral message (e.g. a /cotool lookup answer showing the same card): same, and the
 *   message itself is redrawn in place (`replace_original`);
 * - the App Home: no message to answer under, so an ephemeral note in the alert channel.
 * Nothing here throws: a note Slack refuses is logged with the reason.
 */
import type { BlockAction, RespondFn } from '@slack/bolt';
import type { KnownBlock } from '@slack/types';
import type { WebClient } from '@slack/web-api';
import type { Logger } from '../../../log.ts';
import type { SlackView } from '../../../notify/poller.ts';
import type { Place } from '../../../service/triage.ts';
import { classifySlackError } from '../../errors.ts';

export type SurfaceKind = 'message' | 'ephemeral' | 'home' | 'other';

export type Surface = {
  kind: SurfaceKind;
  /** The channel message clicked, for a click on a (non-ephemeral) message. */
  clicked: Place | null;
  /** Where ephemeral notes go when there is no response_url. */
  channel: string;
  /** An ephemeral note to the person who clicked. */
  tell(text: string): Promise<void>;
  /** Redraws the clicked message when it is ephemeral (channel cards are updated by the use-cases). */
  show(view: SlackView): Promise<void>;
};

export function surfaceOf(
  body: BlockAction,
  tools: { client: WebClient; respond?: RespondFn | undefined; alertChannel: string; logger: Logger },
): Surface {
  const { client, respond, logger } = tools;
  const container = body.container as { type?: string; is_ephemeral?: boolean; channel_id?: string };
  const userId = body.user.id;
  const kind: SurfaceKind =
    body.view?.type === 'home' || container.type === 'view'
      ? 'home'
      : container.is_ephemeral === true
        ? 'ephemeral'
        : container.type === 'message' && body.channel?.id && body.message?.ts
          ? 'message'
          : 'other';
  const channel = body.channel?.id ?? container.channel_id ?? tools.alertChannel;
  const clicked =
    kind === 'message' && body.channel && body.message ? { channel: body.channel.id, ts: body.message.ts } : null;
  const canRespond = Boolean(respond && body.response_url);

  async function postEphemeral(text: string): Promise<void> {
    try {
      await client.chat.postEphemeral({ channel, user: userId, text });
    } catch (err) {
      const f = classifySlackError(err, channel);
      logger.warn({ userId, channel, slackError: f.code }, 'could not tell the user: Slack refused the ephemeral note');
    }
  }

  return {
    kind,
    clicked,
    channel,
    async tell(text) {
      if (canRespond && respond) {
        try {
          await respond({ response_type: 'ephemeral', replace_original: false, text });
          return;
        } catch (err) {
          logger.info({ userId, err: String(err) }, 'response_url refused the note; posting it ephemerally');
        }
      }
      await postEphemeral(text);
    },
    async show(view) {
      if (kind !== 'ephemeral' || !canRespond || !respond) return;
      try {
        await respond({ replace_original: true, text: view.text, blocks: view.blocks as KnownBlock[] });
      } catch (err) {
        logger.info({ userId, err: String(err) }, 'could not redraw the ephemeral card');
      }
    },
  };
}
