/**
 * Where a click came from, and how to answer the person who clicked there:
 * - a channel message (an alert card): the answer is an ephemeral note in that channel, through the
 *   click's response_url (works even for someone reading a public channel they have not joined),
 *   else chat.postEphemeral;
 * - an ephemeral message (e.g. a /cotool lookup answer showing the same card): same, and the
 *   message itself is redrawn in place (`replace_original`);
 * - the App Home (or any surface with neither a response_url nor a channel to answer in): a direct
 *   message from the app. An ephemeral note in the alert channel would never reach someone allowed
 *   by SLACK_ALLOWED_USERS who is not in that channel.
 * An ephemeral note Slack refuses falls back to a direct message too. Nothing here throws: a note
 * that could not be delivered at all is logged at warn with the user id.
 */
import type { BlockAction, RespondFn } from '@slack/bolt';
import type { KnownBlock } from '@slack/types';
import type { WebClient } from '@slack/web-api';
import type { Logger } from '../../../log.ts';
import type { SlackView } from '../../../notify/ports.ts';
import type { Place } from '../../../service/card-sync.ts';
import { classifySlackError } from '../../errors.ts';

export type SurfaceKind = 'message' | 'ephemeral' | 'home' | 'other';

export type Surface = {
  kind: SurfaceKind;
  /** The channel message clicked, for a click on a (non-ephemeral) message. */
  clicked: Place | null;
  /** Where ephemeral notes go when there is no response_url; null: notes go as a direct message. */
  channel: string | null;
  /** A private note to the person who clicked. */
  tell(text: string): Promise<void>;
  /** Redraws the clicked message when it is ephemeral (channel cards are updated by the use-cases). */
  show(view: SlackView): Promise<void>;
};

export function surfaceOf(
  body: BlockAction,
  tools: { client: WebClient; respond?: RespondFn | undefined; logger: Logger },
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
  const channel = kind === 'home' ? null : (body.channel?.id ?? container.channel_id ?? null);
  const clicked =
    kind === 'message' && body.channel && body.message ? { channel: body.channel.id, ts: body.message.ts } : null;
  const canRespond = Boolean(respond && body.response_url);

  /** True when Slack took the note. */
  async function postEphemeral(channel: string, text: string): Promise<boolean> {
    try {
      await client.chat.postEphemeral({ channel, user: userId, text });
      return true;
    } catch (err) {
      const f = classifySlackError(err, channel);
      logger.info({ userId, channel, slackError: f.code }, 'Slack refused the ephemeral note; sending it as a DM');
      return false;
    }
  }

  /** A direct message from the app (the bot's `im:write` opens the conversation). */
  async function directMessage(text: string): Promise<void> {
    try {
      await client.chat.postMessage({ channel: userId, text });
    } catch (err) {
      const f = classifySlackError(err);
      logger.warn(
        { userId, surface: kind, slackError: f.code, ...(f.authProblem && { hint: f.hint }) },
        'could not tell the user: Slack refused the direct message',
      );
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
          logger.info({ userId, err: String(err) }, 'response_url refused the note; posting it another way');
        }
      }
      if (channel && (await postEphemeral(channel, text))) return;
      await directMessage(text);
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
