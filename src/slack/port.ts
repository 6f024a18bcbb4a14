/**
 * The poller's and services' way to reach Slack: a narrow port over Bolt's WebClient. Posting never
 * unfurls attacker-supplied links and never parses names into mentions.
 */
import type { WebClient } from '@slack/web-api';
import { CARD_EVENT_TYPE, type SlackPort } from '../notify/poller.ts';

type Block = Parameters<WebClient['chat']['postMessage']>[0] extends infer A
  ? A extends { blocks?: infer B }
    ? B
    : never
  : never;

/**
 * `onError` is told of every call that failed (after the client's retries), before it is rethrown.
 * `poster` sends messages (see createPostingClient: it never repeats a post whose answer was lost).
 */
export function createSlackPort(
  client: WebClient,
  onError?: (err: unknown) => void,
  poster: WebClient = client,
): SlackPort {
  const port: SlackPort = {
    async post(m) {
      const base = {
        channel: m.channel,
        text: m.text,
        blocks: m.blocks as Block,
        unfurl_links: false,
        unfurl_media: false,
        ...(m.metadata ? { metadata: m.metadata } : {}),
      };
      const res = m.thread_ts
        ? await poster.chat.postMessage({
            ...base,
            thread_ts: m.thread_ts,
            reply_broadcast: m.reply_broadcast === true,
          })
        : await poster.chat.postMessage(base);
      return { channel: String(res.channel ?? m.channel), ts: String(res.ts) };
    },
    async update(m) {
      await client.chat.update({ channel: m.channel, ts: m.ts, text: m.text, blocks: m.blocks as Block });
    },
    async findCard(channel, alertId, oldestMs) {
      let cursor: string | undefined;
      for (let page = 0; page < 10; page++) {
        const res = await client.conversations.history({
          channel,
          oldest: (Math.max(0, oldestMs) / 1000).toFixed(6),
          include_all_metadata: true,
          limit: 200,
          ...(cursor ? { cursor } : {}),
        });
        for (const msg of res.messages ?? []) {
          const meta = msg.metadata as { event_type?: string; event_payload?: { alert_id?: unknown } } | undefined;
          if (meta?.event_type === CARD_EVENT_TYPE && meta.event_payload?.alert_id === alertId && msg.ts) return msg.ts;
        }
        cursor = res.response_metadata?.next_cursor || undefined;
        if (!cursor) break;
      }
      return null;
    },
  };
  if (!onError) return port;
  const observed =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await fn(...args);
      } catch (err) {
        onError(err);
        throw err;
      }
    };
  return { post: observed(port.post), update: observed(port.update), findCard: observed(port.findCard) };
}
