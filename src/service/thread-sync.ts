/**
 * SYNC_THREAD_REPLIES: a person's reply in an alert card's thread becomes one Cotool comment,
 * "Reply in Slack by Jane Doe (<@U…>): <the reply>", and the reply is marked with a reaction once it
 * is saved.
 *
 * - Only replies in the thread of a card the bot posted (found by the thread's parent message).
 * - Never twice: Slack redelivers events, so the reply (channel + ts) is claimed in the store before
 *   the comment is sent; a Cotool failure that surely saved nothing gives the claim back, so a
 *   redelivery may try again. A failure that may have saved it keeps the claim (a second try could
 *   write it twice).
 * - Access policy as for the buttons; a refused person is told privately (once per thread a day),
 *   with a reference; a failed save is told privately too. Nothing is lost silently.
 * - The text as people read it: mentions become names, `<url|label>` links become "label (url)",
 *   channels `#name`, Slack's entities decoded; attached files are named.
 *
 * Which messages count (a person's, not edits, deletions or bots') is the listener's job.
 */

import { newRef } from '../core/text.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../ports.ts';
import type { AccessPolicy, AccessRefusal } from './access.ts';
import type { AddNoteInput, AddNoteResult } from './notes.ts';

/** How long a synced reply is remembered (Slack retries for minutes; edits can come much later). */
export const SYNC_TTL_MS = 30 * 24 * 60 * 60_000;
/** How often a refused person is told, per thread. */
export const REFUSAL_TTL_MS = 24 * 60 * 60_000;
const MAX_FILES = 20;

export type ThreadReply = {
  channel: string;
  /** The reply's own ts. */
  ts: string;
  /** The thread's parent (the card). */
  threadTs: string;
  user: string;
  text: string;
  files: { name?: string | null; title?: string | null }[];
};

export type ThreadSyncDeps = {
  store: Pick<Store, 'getByMessage' | 'firstTime' | 'forgetFirstTime'>;
  access: Pick<AccessPolicy, 'check' | 'user' | 'describe'>;
  addNote: (input: AddNoteInput) => Promise<AddNoteResult>;
  /** Marks the reply as saved (reactions.add). */
  react: (channel: string, ts: string) => Promise<void>;
  /** A private note to the person, in the thread (chat.postEphemeral). */
  tell: (reply: ThreadReply, text: string) => Promise<void>;
  logger: Logger;
  clock: () => number;
  /** The words of a refusal and of a failure (src/slack/messages.ts). */
  words: {
    refused: (reason: AccessRefusal, who: string, ref: string) => string;
    failed: (result: Extract<AddNoteResult, { ok: false; ref: string }>) => string;
  };
};

export type SyncOutcome = 'not_a_card' | 'duplicate' | 'refused' | 'bot' | 'empty' | 'saved' | 'failed' | 'maybe_saved';

const SLACK_TOKEN = /<([^<>]*)>/g;
const decode = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/**
 * A Slack message's text as people read it. `nameOf` gives a user's name (null: unknown). Links keep
 * their URL ("label (url)", or the URL when the label is the URL); mentions become "@Name".
 */
export async function readableText(
  text: string,
  files: ThreadReply['files'],
  nameOf: (userId: string) => Promise<string | null>,
): Promise<string> {
  const ids = new Set<string>();
  for (const m of text.matchAll(/<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>/g)) if (m[1]) ids.add(m[1]);
  const names = new Map<string, string>();
  for (const id of [...ids].slice(0, 50)) {
    const name = await nameOf(id).catch(() => null);
    if (name) names.set(id, name);
  }
  const plain = text.replace(SLACK_TOKEN, (whole, inner: string) => {
    const bar = inner.indexOf('|');
    const target = bar >= 0 ? inner.slice(0, bar) : inner;
    const label = bar >= 0 ? inner.slice(bar + 1) : '';
    if (target.startsWith('@')) {
      const id = target.slice(1);
      return `@${names.get(id) ?? (label || id)}`;
    }
    if (target.startsWith('#')) return `#${label || target.slice(1)}`;
    if (target.startsWith('!subteam^')) return label ? (label.startsWith('@') ? label : `@${label}`) : '@group';
    if (target.startsWith('!date^')) return label || target;
    if (target.startsWith('!')) return `@${target.slice(1)}`;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
      const url = decode(target);
      const shown = decode(label);
      if (!shown || shown === url) return url;
      if (`mailto:${shown}`.toLowerCase() === url.toLowerCase()) return shown;
      return `${shown} (${url})`;
    }
    return whole;
  });
  const words = decode(plain).trim();
  const named = files
    .map((f) => (f.name || f.title || '').trim())
    .filter(Boolean)
    .slice(0, MAX_FILES);
  const more = files.length > MAX_FILES ? ` and ${files.length - MAX_FILES} more` : '';
  const fileLine = named.length
    ? `[${named.length === 1 && !more ? 'File' : 'Files'}: ${named.join(', ')}${more}]`
    : '';
  return [words, fileLine].filter(Boolean).join('\n');
}

export function createThreadSync(deps: ThreadSyncDeps): (reply: ThreadReply) => Promise<SyncOutcome> {
  const log = deps.logger.child({ module: 'thread-sync' });
  return async (reply) => {
    const card = await deps.store.getByMessage(reply.channel, reply.threadTs);
    if (!card) return 'not_a_card';
    const key = `thread-reply:${reply.channel}:${reply.ts}`;
    if (!(await deps.store.firstTime(key, deps.clock(), SYNC_TTL_MS))) {
      log.info({ channel: reply.channel, ts: reply.ts }, 'ignored a redelivered thread reply');
      return 'duplicate';
    }
    const decision = await deps.access.check(reply.user);
    if (!decision.ok) {
      const ref = newRef();
      log.info(
        { ref, userId: reply.user, alertId: card.alertId, reason: decision.reason },
        'a thread reply was not synced: access refused',
      );
      const once = `thread-refused:${reply.channel}:${reply.threadTs}:${reply.user}`;
      if (await deps.store.firstTime(once, deps.clock(), REFUSAL_TTL_MS)) {
        await deps.tell(reply, deps.words.refused(decision.reason, deps.access.describe(), ref));
      }
      return 'refused';
    }
    if (decision.user.isBot) return 'bot';
    const words = await readableText(reply.text, reply.files, async (id) => (await deps.access.user(id))?.name ?? null);
    if (!words) {
      await deps.store.forgetFirstTime(key);
      return 'empty';
    }
    const result = await deps.addNote({
      alertId: card.alertId,
      userId: reply.user,
      words,
      kind: 'reply',
      actor: { id: reply.user, name: decision.user.name },
      place: { channel: reply.channel, ts: reply.threadTs },
      quiet: true,
    });
    if (result.ok) {
      try {
        await deps.react(reply.channel, reply.ts);
      } catch (err) {
        log.warn(
          { channel: reply.channel, ts: reply.ts, err: String(err) },
          'the reply was saved but could not be marked',
        );
      }
      log.info({ alertId: card.alertId, userId: reply.user, entryId: result.entry.id }, 'thread reply saved to Cotool');
      return 'saved';
    }
    if (result.code === 'denied' || result.code === 'empty') {
      await deps.store.forgetFirstTime(key);
      return result.code === 'empty' ? 'empty' : 'refused';
    }
    // A failure that surely saved nothing may be tried again by a redelivery; one that may have saved
    // it is never sent again (it could be written twice).
    if (!result.mayHaveSaved) await deps.store.forgetFirstTime(key);
    await deps.tell(reply, deps.words.failed(result));
    return result.mayHaveSaved ? 'maybe_saved' : 'failed';
  };
}
