import { describe, expect, it } from 'vitest';
import type { TimelineEntry } from '../../src/core/alert.ts';
import { isSlackNote, noteBody } from '../../src/core/attribution.ts';
import type { CardRecord, Change } from '../../src/core/records.ts';
import { CotoolError } from '../../src/cotool/errors.ts';
import { createLogger } from '../../src/log.ts';
import type { OutgoingMessage } from '../../src/ports.ts';
import { createAddNote, type NotesDeps } from '../../src/service/notes.ts';
import { renderNoteReply } from '../../src/slack/views/note-modal.ts';

const JANE = { id: 'U0JANE', name: 'Jane Doe' };
const ALERT = '8f14e45f-ceea-467a-9c1a-6c1f8b3d2e5a';

function setup(opts: { allowed?: boolean; fail?: CotoolError; card?: boolean } = {}) {
  const comments: { alertId: string; body: string }[] = [];
  const posts: OutgoingMessage[] = [];
  /** Intents held in the outbox (their reply not told yet). */
  const held: string[] = [];
  const deps: NotesDeps = {
    cotool: {
      async addComment(alertId, body) {
        if (opts.fail) throw opts.fail;
        comments.push({ alertId, body });
        return { id: `e${comments.length}`, kind: 'comment', bodyMarkdown: body } as TimelineEntry;
      },
    },
    store: {
      async get() {
        return opts.card === false
          ? null
          : ({ alertId: ALERT, displayId: 'COT-12', state: 'posted', channel: 'C0ALERTS', ts: '1.2' } as CardRecord);
      },
      /**
       * Thread replies are queued in the outbox: read them back as the messages the sender will post.
       * A reply is first held as an intent (until its grace), then settled by the note's outcome.
       */
      async apply(changes: readonly Change[]) {
        for (const c of changes) {
          for (const item of c.enqueue ?? []) if ((item.notBefore ?? 0) > Date.now()) held.push(item.key);
          for (const key of c.dequeue ?? []) held.splice(held.indexOf(key), 1);
        }
        for (const item of changes.flatMap((c) => [...(c.enqueue ?? []), ...(c.settle ?? [])])) {
          if ((item.notBefore ?? 0) > Date.now()) continue;
          if (held.includes(item.key)) held.splice(held.indexOf(item.key), 1);
          const p = JSON.parse(item.payload) as { threadTs: string; alertId: string; view: OutgoingMessage };
          posts.push({
            ...p.view,
            channel: item.channel,
            thread_ts: p.threadTs,
            reply_broadcast: false,
            metadata: { event_type: 'cotool_note', event_payload: { alert_id: p.alertId, key: item.key } },
          });
        }
        return { applied: changes.length, conflicts: 0 };
      },
    },
    access: {
      async check(userId) {
        return opts.allowed === false
          ? { ok: false, reason: 'not_allowed' }
          : {
              ok: true,
              user: {
                id: userId,
                name: 'Jane Doe',
                isRestricted: false,
                isUltraRestricted: false,
                isBot: false,
                deleted: false,
              },
            };
      },
    },
    logger: createLogger('silent'),
    renderReply: renderNoteReply,
  };
  return { addNote: createAddNote(deps), comments, posts, held };
}

describe('noteBody', () => {
  it('names the Slack user, and the words follow', () => {
    expect(noteBody('note', JANE, ' checked\r\nwith the user ')).toBe(
      'Note from Slack by Jane Doe (<@U0JANE>): checked\nwith the user',
    );
    expect(noteBody('disagree', JANE, 'benign')).toBe(
      'Disagreement with the triage verdict from Slack by Jane Doe (<@U0JANE>): benign',
    );
    expect(noteBody('note', { id: 'U1', name: '<@U2> (x)' }, 'a').startsWith('Note from Slack by @U2 x: ')).toBe(true);
    expect(noteBody('note', JANE, 'x'.repeat(30_000)).length).toBeLessThanOrEqual(20_000);
    expect(isSlackNote(noteBody('reply', JANE, 'hi'))).toBe(true);
    expect(isSlackNote('Note from Slack by Jane')).toBe(false);
  });
});

describe('addNote', () => {
  it('posts one comment naming the user and a quiet reply in the card thread with the entry id', async () => {
    const { addNote, comments, posts, held } = setup();
    const r = await addNote({
      alertId: ALERT,
      userId: 'U0JANE',
      words: 'travel confirmed',
      kind: 'note',
      clickId: 'submission:V1:h1',
    });
    expect(r).toMatchObject({ ok: true, displayId: 'COT-12', replied: true, cut: false });
    expect(comments).toEqual([{ alertId: ALERT, body: 'Note from Slack by Jane Doe (<@U0JANE>): travel confirmed' }]);
    expect(posts).toHaveLength(1);
    expect(posts[0]).toMatchObject({
      channel: 'C0ALERTS',
      thread_ts: '1.2',
      reply_broadcast: false,
      // Keyed by the submission (its intent's key, settled by the note): a redelivery coalesces.
      metadata: {
        event_type: 'cotool_note',
        event_payload: { alert_id: ALERT, key: `reply:${ALERT}:intent:submission:V1:h1` },
      },
    });
    expect(held).toEqual([]);
  });

  it('a refused user posts no comment', async () => {
    const { addNote, comments, posts } = setup({ allowed: false });
    expect(await addNote({ alertId: ALERT, userId: 'U0EVE', words: 'x', kind: 'note' })).toEqual({
      ok: false,
      code: 'denied',
      reason: 'not_allowed',
    });
    expect(comments).toEqual([]);
    expect(posts).toEqual([]);
  });

  it('a lost answer is reported with a reference and "may have been saved", never retried here', async () => {
    const timeout = new CotoolError({ kind: 'timeout', method: 'POST', path: '/api/alerts/x/comments' });
    const { addNote, posts, held } = setup({ fail: timeout });
    const r = await addNote({ alertId: ALERT, userId: 'U0JANE', words: 'x', kind: 'note' });
    // Maybe saved: the reply stays held as an intent; the sender tells it if the comment is there.
    expect(held).toHaveLength(1);
    expect(r).toMatchObject({
      ok: false,
      code: 'upstream',
      mayHaveSaved: true,
      ref: expect.stringMatching(/^[0-9a-f]{8}$/),
    });
    expect(posts).toEqual([]);
    const forbidden = new CotoolError({ kind: 'http', status: 403, method: 'POST', path: '/api/alerts/x/comments' });
    const refused = setup({ fail: forbidden });
    expect(await refused.addNote({ alertId: ALERT, userId: 'U0JANE', words: 'x', kind: 'note' })).toMatchObject({
      ok: false,
      code: 'forbidden',
      mayHaveSaved: false,
    });
    // Surely not saved: its intent is gone.
    expect(refused.held).toEqual([]);
  });

  it('without a card, the comment is saved and no reply is posted', async () => {
    const { addNote, comments, posts } = setup({ card: false });
    expect(await addNote({ alertId: ALERT, userId: 'U0JANE', words: 'x', kind: 'disagree' })).toMatchObject({
      ok: true,
      replied: null,
    });
    expect(comments).toHaveLength(1);
    expect(posts).toEqual([]);
  });
});
