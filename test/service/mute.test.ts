/**
 * The mute use-cases over a real store (SQLite in memory, on a fake clock shared with the database):
 * a mute is created once and announced through the outbox, recorded as a Cotool comment naming who,
 * how long and why; Unmute and the leader's expiry end it once each, whoever tries second.
 */
import { Writable } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Alert, TimelineEntry } from '../../src/core/alert.ts';
import { CotoolError } from '../../src/cotool/errors.ts';
import { createLogger } from '../../src/log.ts';
import type { Store } from '../../src/ports.ts';
import type { AccessDecision } from '../../src/service/access.ts';
import {
  createMuteService,
  detectionKeyOfGroup,
  detectionOf,
  type MuteInput,
  muteCommentBody,
} from '../../src/service/mute.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { alert } from '../support/alerts.ts';

const HOUR = 3_600_000;
const CH = 'C0ALERTS';
const JANE = { id: 'U0JANE', name: 'Jane Doe' };

let now: number;
let store: Store;
let comments: { alertId: string; body: string }[];
let commentFails: boolean;
let allowed: boolean;
let alerts: Map<string, Alert>;

const sink = () =>
  createLogger(
    'debug',
    new Writable({
      write(_c, _e, cb) {
        cb();
      },
    }),
  );

function service(s: Store = store) {
  return createMuteService({
    store: s,
    cotool: {
      async addComment(alertId: string, body: string) {
        if (commentFails)
          throw new CotoolError({ kind: 'http', method: 'POST', path: `/api/alerts/${alertId}/comments`, status: 500 });
        comments.push({ alertId, body });
        return { id: `c${comments.length}`, kind: 'comment', bodyMarkdown: body } as unknown as TimelineEntry;
      },
      async getAlert(id: string) {
        const a = alerts.get(id);
        if (!a) throw new CotoolError({ kind: 'http', method: 'GET', path: `/api/alerts/${id}`, status: 404 });
        return { ...a, timeline: [] };
      },
    },
    access: {
      async check(userId: string): Promise<AccessDecision> {
        return allowed
          ? {
              ok: true,
              user: {
                id: userId,
                name: userId === JANE.id ? JANE.name : userId,
                isRestricted: false,
                isUltraRestricted: false,
                isBot: false,
                deleted: false,
              },
            }
          : { ok: false, reason: 'not_allowed' };
      },
    },
    logger: sink(),
    clock: () => now,
  });
}

const input = (over: Partial<MuteInput> = {}): MuteInput => ({
  channel: CH,
  detectionKey: 'id:d-travel',
  detectionName: 'Impossible travel',
  sourceAlertId: 'a-1',
  userId: JANE.id,
  choice: '4h',
  until: now + 4 * HOUR,
  reason: 'pentest this afternoon',
  ...over,
});

beforeEach(() => {
  now = Date.parse('2026-12-06T10:00:00.000Z');
  store = openSqliteStore(':memory:', { dbClock: () => now });
  comments = [];
  commentFails = false;
  allowed = true;
  alerts = new Map();
});

describe('mute', () => {
  it('creates the mute and queues its announcement (the quiet counter) in the channel; the Cotool comment names who, how long and why', async () => {
    const r = await service().mute(input());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.commented).toBe(true);
    expect(r.mute).toMatchObject({
      channel: CH,
      detectionKey: 'id:d-travel',
      by: JANE,
      until: now + 4 * HOUR,
      reason: 'pentest this afternoon',
    });
    expect(await store.getMute(r.mute.id)).toMatchObject({ endedAt: null, muted: 0, escalated: 0 });
    const items = await store.listOutbox();
    expect(items.map((i) => [i.kind, i.key, i.channel])).toEqual([['mute_message', `mute:${r.mute.id}`, CH]]);
    expect(comments).toEqual([
      {
        alertId: 'a-1',
        body: 'Detection “Impossible travel” muted from Slack by Jane Doe (<@U0JANE>) in channel C0ALERTS for 4 hours, until 2026-12-06T14:00:00.000Z: pentest this afternoon',
      },
    ]);
  });

  it('a second mute of the detection in that channel (a double submit, or someone else first) is refused with the one holding; nothing more is queued or commented', async () => {
    const first = await service().mute(input());
    const second = await service().mute(input({ userId: 'U0BOB', choice: '1h', until: now + HOUR }));
    expect(second).toMatchObject({
      ok: false,
      code: 'already_muted',
      mute: { id: first.ok ? first.mute.id : '', by: JANE },
    });
    expect(await store.listOutbox()).toHaveLength(1);
    expect(comments).toHaveLength(1);
    // Another channel, or another detection, is another mute.
    expect((await service().mute(input({ channel: 'C0OTHER' }))).ok).toBe(true);
    expect((await service().mute(input({ detectionKey: 'name:Brute force' }))).ok).toBe(true);
  });

  it.each([
    ['no reason', { reason: '  \n ' }, 'no_reason'],
    ['a reason over 500 characters', { reason: 'x'.repeat(501) }, 'reason_too_long'],
    ['an end in the past', { choice: 'until' as const, until: Date.parse('2026-12-06T09:59:00.000Z') }, 'in_the_past'],
    [
      'an end more than 7 days ahead',
      { choice: 'until' as const, until: Date.parse('2026-12-13T10:01:00.000Z') },
      'too_long',
    ],
  ])('%s: refused, nothing written', async (_n, over, code) => {
    expect(await service().mute(input(over))).toEqual({ ok: false, code });
    expect(await store.activeMutes()).toEqual([]);
    expect(await store.listOutbox()).toEqual([]);
  });

  it('a span picked (1 h, 4 h, 24 h) runs from when the mute is made, whatever end the form worked out', async () => {
    const r = await service().mute(input({ choice: '4h', until: now + 4 * HOUR - 1_500 }));
    expect(r).toMatchObject({ ok: true, mute: { createdAt: now, until: now + 4 * HOUR } });
  });

  it('someone the access policy refuses: refused before anything is written', async () => {
    allowed = false;
    expect(await service().mute(input())).toEqual({ ok: false, code: 'denied', reason: 'not_allowed' });
    expect(await store.activeMutes()).toEqual([]);
    expect(comments).toEqual([]);
  });

  it('Cotool refuses the comment: the mute holds and is announced; the result says it was not recorded there', async () => {
    commentFails = true;
    const r = await service().mute(input());
    expect(r).toMatchObject({ ok: true, commented: false });
    expect(await store.listOutbox()).toHaveLength(1);
  });

  it('the comment text: untrusted names and reasons stay on their line, the span of a picked end in words', () => {
    const body = muteCommentBody(
      { id: 'not-an-id', name: 'Eve <@U1> (x)\n' },
      { detectionName: 'A\nB', channel: CH, choice: 'until', createdAt: 0, until: 90 * 60_000, reason: 'why' },
    );
    expect(body).toBe(
      'Detection “A B” muted from Slack by Eve @U1 x in channel C0ALERTS for 1.5 h, until 1970-01-01T01:30:00.000Z: why',
    );
  });
});

describe('unmute', () => {
  it('ends the mute once: its counter redrawn and its end announced; a second Unmute is told it ended already', async () => {
    const m = await service().mute(input());
    if (!m.ok) throw new Error('not muted');
    await store.apply([{ dequeue: [`mute:${m.mute.id}`] }]);
    now += HOUR;
    const r = await service().unmute({ muteId: m.mute.id, userId: 'U0BOB' });
    expect(r).toMatchObject({ ok: true, mute: { endedAt: now, endedBy: { id: 'U0BOB' } } });
    expect((await store.listOutbox()).map((i) => i.key).sort()).toEqual([
      `mute_end:${m.mute.id}`,
      `mute_update:${m.mute.id}`,
    ]);
    const again = await service().unmute({ muteId: m.mute.id, userId: JANE.id });
    expect(again).toMatchObject({ ok: false, code: 'already_ended' });
    expect(await store.listOutbox()).toHaveLength(2);
    expect(await service().list()).toEqual([]);
  });

  it('an unknown mute, and someone refused by the access policy', async () => {
    expect(await service().unmute({ muteId: 'nope', userId: JANE.id })).toEqual({ ok: false, code: 'not_found' });
    const m = await service().mute(input());
    allowed = false;
    expect(await service().unmute({ muteId: m.ok ? m.mute.id : '', userId: JANE.id })).toMatchObject({
      code: 'denied',
    });
  });
});

describe('endDueMutes (the leader, each poll cycle)', () => {
  it('ends a mute whose time ran out, once, even with two replicas trying; it no longer lists', async () => {
    const m = await service().mute(input({ choice: '1h', until: now + HOUR }));
    if (!m.ok) throw new Error('not muted');
    expect(await service().endDueMutes()).toBe(0);
    expect(await service().list()).toHaveLength(1);
    now += HOUR;
    expect(await service().list()).toEqual([]); // ran out: no longer holds, even before its end is announced
    const [a, b] = await Promise.all([service().endDueMutes(), service().endDueMutes()]);
    expect(a + b).toBe(1);
    expect(await service().endDueMutes()).toBe(0);
    expect(await store.getMute(m.mute.id)).toMatchObject({ endedAt: now, endedBy: null });
    expect((await store.listOutbox({ kind: 'mute_message' })).map((i) => i.key)).toEqual([
      `mute:${m.mute.id}`,
      `mute_end:${m.mute.id}`,
    ]);
  });

  it('an Unmute of a mute that ran out tells it ended (at its time, not by the click)', async () => {
    const m = await service().mute(input({ choice: '1h', until: now + HOUR }));
    now += 2 * HOUR;
    const r = await service().unmute({ muteId: m.ok ? m.mute.id : '', userId: 'U0BOB' });
    expect(r).toMatchObject({ ok: false, code: 'already_ended', mute: { endedAt: now - HOUR, endedBy: null } });
  });
});

describe('a digest group', () => {
  it.each([
    ['d-travel', 'id:d-travel'],
    ['name:Impossible travel', 'name:Impossible travel'],
    ['escalated', null],
    ['source:hackerone', null],
    ['source:', null],
    ['name:', null],
  ])('group %s → detection %s', (group, key) => {
    expect(detectionKeyOfGroup(group)).toBe(key);
  });

  it('the group of a detection maps to the key the poller mutes by (detectionKeyOf of its alerts)', () => {
    const withId = alert({ detection: { id: 'd-1', agentId: null, name: 'X', kind: 'cotool' } });
    const byName = alert({ detection: { id: null, agentId: null, name: 'Brute force', kind: 'cotool' } });
    expect(detectionKeyOfGroup('d-1')).toBe(detectionOf(withId)?.key);
    expect(detectionKeyOfGroup('name:Brute force')).toBe(detectionOf(byName)?.key);
  });

  it('resolves a storm group to its channel, detection and one of its alerts; an unknown storm or the escalated group has none', async () => {
    const a = alert({ detection: { id: 'd-9', agentId: null, name: 'Noisy rule', kind: 'cotool' } });
    alerts.set(a.id, a);
    await store.apply([
      { storm: { op: 'open', id: 's1', channel: CH, at: now } },
      {
        members: [
          {
            stormId: 's1',
            alertId: a.id,
            displayId: a.displayId,
            groupKey: 'd-9',
            groupName: 'Noisy rule',
            severity: 'low',
            status: 'open',
            title: a.title,
            createdAt: a.createdAt,
            updatedAt: a.updatedAt,
          },
        ],
      },
    ]);
    expect(await service().groupTarget('s1', 'd-9')).toEqual({
      ok: true,
      channel: CH,
      detectionKey: 'id:d-9',
      detectionName: 'Noisy rule',
      sourceAlertId: a.id,
    });
    alerts.clear(); // Cotool does not answer: the group's key and name say it
    expect(await service().groupTarget('s1', 'd-9')).toMatchObject({
      ok: true,
      detectionKey: 'id:d-9',
      detectionName: 'Noisy rule',
    });
    expect(await service().groupTarget('nope', 'd-9')).toEqual({ ok: false, code: 'not_found' });
    expect(await service().groupTarget('s1', 'escalated')).toEqual({ ok: false, code: 'no_detection' });
  });
});
