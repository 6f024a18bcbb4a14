/**
 * SYNC_THREAD_REPLIES: a person's reply in an alert card's thread is saved to Cotool as a comment
 * (src/service/thread-sync.ts) and marked ✅ once saved. Only new messages by people: bots' messages
 * (bot_id, the bot's own user), edits (message_changed), deletions and other subtypes are left alone;
 * a reply also sent to the channel (thread_broadcast) and a reply with files (file_share) count.
 * Bolt acknowledges events before this runs. `threadReplySlack` is how the use-case marks a saved
 * reply and tells a person why theirs was not saved.
 */
import type { App } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Logger } from '../../../log.ts';
import type { ThreadReply, ThreadSyncDeps } from '../../../service/thread-sync.ts';
import { classifySlackError } from '../../errors.ts';
import { accessRefused, newRef, noteFailed } from '../../messages.ts';
import type { ListenerDeps } from '../deps.ts';

/** The reaction that marks a reply saved in Cotool. */
export const SAVED_REACTION = 'white_check_mark';

/** Subtypes of a new message written by a person. */
const PERSON_SUBTYPES = new Set(['thread_broadcast', 'file_share']);

type MessageEvent = {
  subtype?: string;
  bot_id?: string;
  bot_profile?: unknown;
  user?: string;
  text?: string;
  channel: string;
  channel_type?: string;
  ts: string;
  thread_ts?: string;
  files?: { name?: string | null; title?: string | null }[];
};

/**
 * How a synced reply is marked and a person told, for the thread-sync use-case (built in bot.ts):
 * the reaction and an ephemeral note in the thread, through the app's Slack client.
 */
export function threadReplySlack(client: WebClient, logger: Logger): Pick<ThreadSyncDeps, 'react' | 'tell' | 'words'> {
  const log = logger.child({ module: 'thread-sync' });
  return {
    async react(channel, ts) {
      try {
        await client.reactions.add({ channel, timestamp: ts, name: SAVED_REACTION });
      } catch (err) {
        if (classifySlackError(err, channel).code === 'already_reacted') return;
        throw err;
      }
    },
    async tell(reply: ThreadReply, text: string) {
      try {
        await client.chat.postEphemeral({
          channel: reply.channel,
          user: reply.user,
          thread_ts: reply.threadTs,
          text,
        });
      } catch (err) {
        log.warn(
          { userId: reply.user, channel: reply.channel, slackError: classifySlackError(err, reply.channel).code },
          'could not tell the person why their thread reply was not saved',
        );
      }
    },
    words: {
      refused: (reason, who, ref) =>
        `${accessRefused(reason, who)} Your replies in this thread are not saved to Cotool. (ref \`${ref}\`)`,
      failed: (r) =>
        noteFailed(r.error, r.ref, { displayId: r.displayId, mayHaveSaved: r.mayHaveSaved })
          .replace('Your note was not saved.', 'Your thread reply was not saved to Cotool.')
          .replace('your note', 'your thread reply'),
    },
  };
}

export function registerThreadSync(app: App, deps: ListenerDeps): void {
  const log = deps.logger.child({ module: 'thread-sync' });
  const sync = deps.useCases.syncThreadReply;

  app.event('message', async ({ event, context }) => {
    const m = event as unknown as MessageEvent;
    if (m.subtype !== undefined && !PERSON_SUBTYPES.has(m.subtype)) return;
    if (m.bot_id || m.bot_profile || !m.user || m.user === context.botUserId) return;
    if (!m.thread_ts || m.thread_ts === m.ts) return;
    if (m.channel_type !== undefined && m.channel_type !== 'channel' && m.channel_type !== 'group') return;
    try {
      const outcome = await sync({
        channel: m.channel,
        ts: m.ts,
        threadTs: m.thread_ts,
        user: m.user,
        text: typeof m.text === 'string' ? m.text : '',
        files: Array.isArray(m.files) ? m.files : [],
      });
      if (outcome !== 'not_a_card') log.debug({ channel: m.channel, ts: m.ts, outcome }, 'thread reply handled');
    } catch (err) {
      log.error({ err, ref: newRef(), channel: m.channel, ts: m.ts }, 'unexpected error while syncing a thread reply');
    }
  });
}
