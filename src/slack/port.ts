/**
 * The SlackPort over Bolt's WebClient: what the sender, the poller and the services use to reach
 * Slack. Posting never unfurls attacker-supplied links and never parses names into mentions.
 */
import type { WebClient } from '@slack/web-api';
import { classifySlackError, retryAfterSec } from '../core/slack-errors.ts';
import type { SlackPort } from '../ports.ts';

type Block = Parameters<WebClient['chat']['postMessage']>[0] extends infer A
  ? A extends { blocks?: infer B }
    ? B
    : never
  : never;

type FoundMessage = { ts?: string; metadata?: unknown };

/**
 * How many pages of 200 a look-up reads at most (10,000 messages of history since the item was
 * made, or replies of a thread). Past that it answers `unknown`, never "not there".
 */
export const FIND_MAX_PAGES = 50;

function matches(msg: FoundMessage, q: { eventType: string; key: string; alertId?: string }): boolean {
  const meta = msg.metadata as
    | { event_type?: string; event_payload?: { key?: unknown; alert_id?: unknown } }
    | undefined;
  if (meta?.event_type !== q.eventType || !msg.ts) return false;
  if (meta.event_payload?.key === q.key) return true;
  // Cards posted by the first release carry no key: the alert id identifies them.
  return q.alertId !== undefined && meta.event_payload?.key === undefined && meta.event_payload?.alert_id === q.alertId;
}

/**
 * `client` reads and updates; `poster` sends messages. The sender passes a client without retries
 * of its own (it paces and retries itself, and a 5xx after Slack stored a message must not be
 * blindly repeated); services pass Bolt's client for updates and the posting client for posts.
 * `onError` is told of every call that failed, before it is rethrown.
 */
export function createSlackPort(
  client: WebClient,
  onError?: (err: unknown, method: string) => void,
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
    async findMessage(q) {
      let cursor: string | undefined;
      for (let page = 0; page < FIND_MAX_PAGES; page++) {
        const common = {
          channel: q.channel,
          include_all_metadata: true,
          limit: 200,
          ...(cursor ? { cursor } : {}),
        };
        const res = q.threadTs
          ? await client.conversations.replies({ ...common, ts: q.threadTs })
          : await client.conversations.history({ ...common, oldest: (Math.max(0, q.oldestMs) / 1000).toFixed(6) });
        for (const msg of (res.messages ?? []) as FoundMessage[]) {
          if (matches(msg, q)) return { found: String(msg.ts) };
        }
        cursor = res.response_metadata?.next_cursor || undefined;
        if (!cursor) return 'absent';
      }
      // More pages than a look-up may read: it could be on one of them.
      return 'unknown';
    },
    classify(err, channel) {
      const f = classifySlackError(err, channel);
      return {
        ...f,
        outcomeUnknown: f.meaning === 'maybe',
        retryAfterSec: f.meaning === 'rate_limited' ? retryAfterSec(err) : null,
      };
    },
  };
  if (!onError) return port;
  const observed =
    <A extends unknown[], R>(method: string, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await fn(...args);
      } catch (err) {
        onError(err, method);
        throw err;
      }
    };
  return {
    post: observed('chat.postMessage', port.post),
    update: observed('chat.update', port.update),
    findMessage: observed('conversations.history', port.findMessage),
    classify: port.classify,
  };
}
