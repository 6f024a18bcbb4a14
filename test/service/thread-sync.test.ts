import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CotoolError } from '../../src/cotool/errors.ts';
import { createLogger } from '../../src/log.ts';
import type { AddNoteInput, AddNoteResult } from '../../src/service/notes.ts';
import { createThreadSync, readableText, type ThreadReply } from '../../src/service/thread-sync.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { seedPostedCard } from '../store/seed.ts';
import { user } from './fakes.ts';

const names: Record<string, string> = { U0SAM: 'Sam Roe', U0JANE: 'Jane Doe' };
const nameOf = async (id: string) => names[id] ?? null;

describe('readableText', () => {
  it.each([
    ['plain', 'checked the host', 'checked the host'],
    ['user mention', 'ask <@U0SAM> about it', 'ask @Sam Roe about it'],
    ['unknown user keeps its label, else id', '<@U0NOBODY|nob> and <@U0X>', '@nob and @U0X'],
    [
      'link with label',
      'see <https://evil.example/a?b=1&amp;c=2|the report>',
      'see the report (https://evil.example/a?b=1&c=2)',
    ],
    ['bare link', '<https://example.com/x>', 'https://example.com/x'],
    ['label equal to url', '<https://example.com|https://example.com>', 'https://example.com'],
    ['mail link', '<mailto:bob@heretic.io|bob@heretic.io>', 'bob@heretic.io'],
    ['channel', 'in <#C0123|soc-team>', 'in #soc-team'],
    ['broadcast', '<!here> look', '@here look'],
    ['user group', '<!subteam^S0123|@oncall> paged', '@oncall paged'],
    ['date', '<!date^1700000000^{date}|Nov 14>', 'Nov 14'],
    ['entities', 'a &lt;b&gt; &amp;&amp; c', 'a <b> && c'],
    ['indicator', 'cmd.exe /c "whoami /all &gt; C:\\Temp\\o.txt"', 'cmd.exe /c "whoami /all > C:\\Temp\\o.txt"'],
  ])('%s', async (_, text, expected) => {
    expect(await readableText(text, [], nameOf)).toBe(expected);
  });

  it('names files', async () => {
    expect(await readableText('here', [{ name: 'pcap.zip' }], nameOf)).toBe('here\n[File: pcap.zip]');
    expect(await readableText('', [{ name: 'a.png' }, { title: 'b' }], nameOf)).toBe('[Files: a.png, b]');
    expect(await readableText('', [], nameOf)).toBe('');
  });
});

async function setup() {
  const store = openSqliteStore(':memory:');
  await seedPostedCard(store, {
    alertId: 'a1',
    displayId: 'COT-1',
    channel: 'C1',
    ts: '100.1',
    status: 'open',
    updatedAt: 'u',
    fingerprint: 'f',
  });
  const notes: AddNoteInput[] = [];
  const told: string[] = [];
  const reacted: string[] = [];
  const next: AddNoteResult[] = [];
  let allowed = true;
  const logger = createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() }));
  const sync = createThreadSync({
    store,
    access: {
      check: async (id) =>
        allowed ? { ok: true, user: user(id, names[id] ?? id) } : { ok: false, reason: 'not_channel_member' },
      user: async (id) => user(id, names[id] ?? id),
      describe: () => 'members',
    },
    addNote: async (input) => {
      notes.push(input);
      return (
        next.shift() ?? {
          ok: true,
          entry: { id: `e${notes.length}` } as never,
          actor: input.actor ?? { id: input.userId, name: '' },
          displayId: 'COT-1',
          replied: null,
          cut: false,
        }
      );
    },
    react: async (_c, ts) => {
      reacted.push(ts);
    },
    tell: async (_r, text) => {
      told.push(text);
    },
    logger,
    clock: () => 1_000,
    words: { refused: (_r, _w, ref) => `refused ${ref}`, failed: (r) => `failed ${r.ref}` },
  });
  const reply = (over: Partial<ThreadReply> = {}): ThreadReply => ({
    channel: 'C1',
    ts: '100.2',
    threadTs: '100.1',
    user: 'U0JANE',
    text: 'ask <@U0SAM>',
    files: [],
    ...over,
  });
  return { sync, reply, notes, told, reacted, next, store, deny: () => (allowed = false) };
}

const failure = (mayHaveSaved: boolean): AddNoteResult => ({
  ok: false,
  code: 'upstream',
  displayId: 'COT-1',
  error: new CotoolError({ kind: 'http', method: 'POST', path: '/x', status: 500 }),
  ref: 'abcd1234',
  mayHaveSaved,
});

describe('thread sync', () => {
  it('a reply in a card’s thread becomes one comment, quiet, naming the person; marked once saved', async () => {
    const t = await setup();
    expect(await t.sync(t.reply())).toBe('saved');
    expect(t.notes).toEqual([
      expect.objectContaining({
        alertId: 'a1',
        kind: 'reply',
        words: 'ask @Sam Roe',
        quiet: true,
        actor: { id: 'U0JANE', name: 'Jane Doe' },
      }),
    ]);
    expect(t.reacted).toEqual(['100.2']);
  });

  it('a redelivery of the same reply makes no second comment', async () => {
    const t = await setup();
    await t.sync(t.reply());
    expect(await t.sync(t.reply())).toBe('duplicate');
    expect(t.notes).toHaveLength(1);
  });

  it('other threads are not synced', async () => {
    const t = await setup();
    expect(await t.sync(t.reply({ threadTs: '999.1' }))).toBe('not_a_card');
    expect(t.notes).toEqual([]);
  });

  it('a refused person: no comment, told once per thread with a reference', async () => {
    const t = await setup();
    t.deny();
    expect(await t.sync(t.reply())).toBe('refused');
    expect(await t.sync(t.reply({ ts: '100.3' }))).toBe('refused');
    expect(t.notes).toEqual([]);
    expect(t.told).toEqual([expect.stringMatching(/^refused [0-9a-f]{8}$/)]);
  });

  it('a failure that surely saved nothing is told and may be tried again by a redelivery', async () => {
    const t = await setup();
    t.next.push(failure(false));
    expect(await t.sync(t.reply())).toBe('failed');
    expect(t.told).toEqual(['failed abcd1234']);
    expect(t.reacted).toEqual([]);
    expect(await t.sync(t.reply())).toBe('saved');
    expect(t.notes).toHaveLength(2);
  });

  it('a failure that may have saved it is never sent again', async () => {
    const t = await setup();
    t.next.push(failure(true));
    expect(await t.sync(t.reply())).toBe('maybe_saved');
    expect(await t.sync(t.reply())).toBe('duplicate');
    expect(t.notes).toHaveLength(1);
  });
});
