import { describe, expect, it } from 'vitest';
import { buildReason, noteBody } from '../../src/core/attribution.ts';
import {
  decodeCursor,
  encodeCursor,
  entriesAfter,
  entriesToTell,
  isAfter,
  startCursor,
} from '../../src/notify/timeline-relay.ts';
import { entry } from '../slack/views/fixtures.ts';

const at = (s: number) => new Date(Date.UTC(2026, 10, 23, 10, 0, s)).toISOString();
const JANE = { id: 'U0JANE', name: 'Jane Doe' };
const BOT_USER = 'api-user-1';
const tell = (fresh: Parameters<typeof entriesToTell>[0], over: Partial<Parameters<typeof entriesToTell>[1]> = {}) =>
  entriesToTell(fresh, { mode: 'all', timeline: fresh, lastAction: null, ...over }).map((e) => e.id);

describe('cursor', () => {
  it('round-trips; anything else reads as none', () => {
    const c = { id: 'e1', createdAt: at(5) };
    expect(decodeCursor(encodeCursor(c))).toEqual(c);
    for (const bad of [null, '', 'x', '{}', '{"id":1,"createdAt":"x"}', '{"id":"a","createdAt":"not a date"}']) {
      expect(decodeCursor(bad)).toBeNull();
    }
  });

  it('starts at the card’s post time, else at what it last showed, else now', () => {
    expect(startCursor(Date.parse(at(3)), at(1), 0)).toEqual({ id: '', createdAt: at(3) });
    expect(startCursor(null, at(1), 0)).toEqual({ id: '', createdAt: at(1) });
    expect(startCursor(null, null, Date.parse(at(9)))).toEqual({ id: '', createdAt: at(9) });
  });

  it('orders by createdAt, then id; the entries after it come oldest first, once each, dated ones only', () => {
    const c = { id: 'm', createdAt: at(5) };
    expect(isAfter({ id: 'a', createdAt: at(6) }, c)).toBe(true);
    expect(isAfter({ id: 'z', createdAt: at(5) }, c)).toBe(true);
    expect(isAfter({ id: 'm', createdAt: at(5) }, c)).toBe(false);
    expect(isAfter({ id: 'a', createdAt: at(5) }, c)).toBe(false);
    expect(isAfter({ id: 'z', createdAt: 'soon' }, c)).toBe(false);
    const late = entry({ kind: 'comment', id: 'b', createdAt: at(9) });
    const early = entry({ kind: 'comment', id: 'c', createdAt: at(7) });
    const same = entry({ kind: 'comment', id: 'n', createdAt: at(5) });
    const old = entry({ kind: 'comment', id: 'd', createdAt: at(1) });
    const undated = entry({ kind: 'comment', id: 'e', createdAt: 'yesterday' });
    expect(entriesAfter([late, old, early, same, undated, late], c).map((e) => e.id)).toEqual(['n', 'c', 'b']);
  });
});

describe('entriesToTell', () => {
  const human = (kind: string, fields: Parameters<typeof entry>[0] | object = {}) =>
    entry({ kind, actorType: 'human', actorUserName: 'Dana', actorUserId: 'dana', ...fields });

  it('tells every kind from Cotool, but not the alert’s creation nor an escalation (the notice tells it)', () => {
    const fresh = [
      entry({ kind: 'created', id: 'created' }),
      human('comment', { id: 'comment', bodyMarkdown: 'hi' }),
      human('status_change', { id: 'status', beforeStatus: 'open', afterStatus: 'in_progress' }),
      entry({ kind: 'status_change', id: 'esc', actorType: 'agent', beforeStatus: 'open', afterStatus: 'escalated' }),
      human('severity_change', { id: 'severity' }),
      entry({ kind: 'assignment_change', id: 'assign', actorType: 'agent' }),
      human('title_change', { id: 'title' }),
      human('description_change', { id: 'description' }),
      entry({ kind: 'triage_run', id: 'triage', actorType: 'agent' }),
      entry({ kind: 'external_event', id: 'external' }),
      entry({ kind: 'something_new', id: 'new' }),
    ];
    expect(tell(fresh)).toEqual([
      'comment',
      'status',
      'severity',
      'assign',
      'title',
      'description',
      'triage',
      'external',
      'new',
    ]);
    expect(tell(fresh, { mode: 'comments' })).toEqual(['comment']);
    expect(tell(fresh, { mode: 'off' })).toEqual([]);
  });

  it('leaves out what Slack already said: notes, changes naming the Slack user, edits by the bot’s Cotool user', () => {
    const fromSlack = { actorUserId: BOT_USER, actorUserName: 'Cotool API' };
    const note = human('comment', {
      id: 'note',
      ...fromSlack,
      bodyMarkdown: noteBody('note', JANE, 'called the user'),
    });
    const reply = human('comment', { id: 'reply', ...fromSlack, bodyMarkdown: noteBody('reply', JANE, 'ok') });
    const close = human('status_change', {
      id: 'close',
      ...fromSlack,
      afterStatus: 'closed_false_positive',
      bodyMarkdown: buildReason('closed_false_positive', JANE, 'test').reason,
    });
    const title = human('title_change', { id: 'title', ...fromSlack });
    // An agent writing "from Slack by" is not believed; a person quoting a note's head is a comment.
    const agentClaim = entry({
      kind: 'status_change',
      id: 'agent',
      actorType: 'agent',
      afterStatus: 'in_progress',
      bodyMarkdown: buildReason('in_progress', JANE).reason,
    });
    const dana = human('comment', { id: 'dana', bodyMarkdown: 'Note from Slack by Jane was wrong' });
    const fresh = [note, reply, close, title, agentClaim, dana];
    expect(tell(fresh)).toEqual(['agent', 'dana']);
    // The bot's user is known only from its own entries: an edit alone is told…
    expect(tell([title])).toEqual(['title']);
    // …unless the card's last Slack action is an edit made about then.
    const edit = { by: JANE, kind: 'edit' as const, at: title.createdAt };
    expect(tell([title], { lastAction: edit })).toEqual([]);
    const later = { ...edit, at: new Date(Date.parse(title.createdAt) + 600_000).toISOString() };
    expect(tell([title], { lastAction: later })).toEqual(['title']);
  });
});
