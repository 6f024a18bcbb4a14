import { describe, expect, it } from 'vitest';
import {
  emailsIn,
  MAX_ASKABLE_ADDRESSES,
  mayAnswer,
  questionTimedOut,
  whyNotAskable,
} from '../../src/core/ask-user.ts';
import { DEFAULT_BREAK_THROUGH, detectionKeyOf, type Mute, mutedBy, muteEnd } from '../../src/core/mutes.ts';
import { openFor, reminderDue } from '../../src/core/reminders.ts';
import { CHANNEL_NAME_MAX, warRoomName } from '../../src/core/war-room.ts';

describe('emailsIn', () => {
  it.each([
    ['Impossible travel: jane@acme.io from 2 countries', null, ['jane@acme.io']],
    [
      'Login for Jane.Doe+sec@Acme.IO',
      'again jane.doe+sec@acme.io and bob@corp.example',
      ['Jane.Doe+sec@Acme.IO', 'bob@corp.example'],
    ],
    ['Defanged: jane[@]acme[.]io and bob(at)corp(dot)example', null, ['jane@acme.io', 'bob@corp.example']],
    ['Slack markup <mailto:eve@acme.io|eve@acme.io>', null, ['eve@acme.io']],
    ['No address here @channel <!here> user@ alone', null, []],
    ['Not an address: a@b, x@localhost, @acme.io', null, []],
  ])('%s', (title, description, want) => {
    expect(emailsIn({ title, description })).toEqual(want);
  });

  it('stops at MAX_ASKABLE_ADDRESSES and survives a huge description', () => {
    const many = Array.from({ length: 20 }, (_, i) => `u${i}@acme.io`).join(' ');
    expect(emailsIn({ title: 't', description: many })).toHaveLength(MAX_ASKABLE_ADDRESSES);
    const started = performance.now();
    expect(emailsIn({ title: 't', description: `${'a'.repeat(200_000)}@` })).toEqual([]);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe('who may be asked, and answer', () => {
  it.each([
    [{ id: 'U1' }, null],
    [{ id: 'U1', deleted: true }, 'deactivated'],
    [{ id: 'U1', is_bot: true }, 'bot'],
    [{ id: 'UBOT' }, 'bot'],
    [{ id: 'U1', is_restricted: true }, 'guest'],
    [{ id: 'U1', is_ultra_restricted: true }, 'guest'],
  ] as const)('%o → %s', (person, want) => {
    expect(whyNotAskable(person, 'UBOT')).toBe(want);
  });

  it.each([
    [{ askedUserId: 'U1', state: 'asked' }, 'U1', { ok: true }],
    [{ askedUserId: 'U1', state: 'asked' }, 'U2', { ok: false, code: 'not_yours' }],
    [{ askedUserId: 'U1', state: 'yes' }, 'U1', { ok: false, code: 'already_answered' }],
    [{ askedUserId: 'U1', state: 'no' }, 'U1', { ok: false, code: 'already_answered' }],
    [{ askedUserId: 'U1', state: 'timed_out' }, 'U1', { ok: false, code: 'timed_out' }],
  ] as const)('%o answered by %s', (q, user, want) => {
    expect(mayAnswer(q, user)).toEqual(want);
  });

  it('times out after the wait, only while unanswered', () => {
    const q = { state: 'asked' as const, askedAt: 1_000 };
    expect(questionTimedOut(q, 1_000 + 29 * 60_000, 30 * 60_000)).toBe(false);
    expect(questionTimedOut(q, 1_000 + 30 * 60_000, 30 * 60_000)).toBe(true);
    expect(questionTimedOut({ ...q, state: 'no' }, 1e12, 30 * 60_000)).toBe(false);
  });
});

describe('reminderDue (fixed clock)', () => {
  const M = 60_000;
  const base = { severity: 'critical', status: 'open', postedAt: 0, firstActionAt: null, sent: 0, afterMs: 15 * M };
  it.each([
    ['before the wait', base, 14 * M, { due: null, nextAt: 15 * M }],
    ['at the wait: the first', base, 15 * M, { due: 1, nextAt: 30 * M }],
    ['first sent, before the second', { ...base, sent: 1 }, 29 * M, { due: null, nextAt: 30 * M }],
    ['the second, then no more', { ...base, sent: 1 }, 31 * M, { due: 2, nextAt: null }],
    ['two sent: silence', { ...base, sent: 2 }, 10_000 * M, { due: null, nextAt: null }],
    ['someone acted', { ...base, firstActionAt: 3 * M }, 20 * M, { due: null, nextAt: null }],
    ['in progress in Cotool', { ...base, status: 'in_progress' }, 20 * M, { due: null, nextAt: null }],
    ['closed', { ...base, status: 'closed_false_positive' }, 20 * M, { due: null, nextAt: null }],
    ['escalated still counts', { ...base, status: 'escalated' }, 15 * M, { due: 1, nextAt: 30 * M }],
    ['high counts', { ...base, severity: 'high' }, 15 * M, { due: 1, nextAt: 30 * M }],
    ['medium never', { ...base, severity: 'medium' }, 60 * M, { due: null, nextAt: null }],
    ['no card yet', { ...base, postedAt: null }, 60 * M, { due: null, nextAt: null }],
    ['turned off', { ...base, afterMs: 0 }, 60 * M, { due: null, nextAt: null }],
    ['a route with 5 min', { ...base, afterMs: 5 * M }, 5 * M, { due: 1, nextAt: 10 * M }],
  ])('%s', (_name, input, now, want) => {
    expect(reminderDue(input, now)).toEqual(want);
  });

  it.each([
    [0, 'open 0 min'],
    [23 * 60_000 + 59_000, 'open 23 min'],
    [60 * 60_000, 'open 1 h'],
    [125 * 60_000, 'open 2 h 5 min'],
    [(3 * 24 + 4) * 3_600_000, 'open 3 d 4 h'],
    [-5_000, 'open 0 min'],
  ])('openFor %d ms', (ms, want) => {
    expect(openFor(0, ms)).toBe(want);
  });
});

describe('mutes (fixed clock)', () => {
  const H = 3_600_000;
  it.each([
    ['1h', undefined, { ok: true, until: 1_000 + H }],
    ['4h', undefined, { ok: true, until: 1_000 + 4 * H }],
    ['24h', undefined, { ok: true, until: 1_000 + 24 * H }],
    ['until', 1_000 + 2 * H, { ok: true, until: 1_000 + 2 * H }],
    ['until', 500, { ok: false, code: 'in_the_past' }],
    ['until', 1_000 + 8 * 24 * H, { ok: false, code: 'too_long' }],
    ['until', null, { ok: false, code: 'missing' }],
  ] as const)('muteEnd %s %s', (choice, until, want) => {
    expect(muteEnd(choice, 1_000, until)).toEqual(want);
  });

  const mute: Mute = { id: 'm1', detectionKey: 'id:d1', channel: 'C1', until: 10 * H, endedAt: null };
  const alert = { status: 'open', severity: 'high', detection: { id: 'd1', name: 'Impossible travel' } };
  it.each([
    ['held back', alert, 'C1', H, DEFAULT_BREAK_THROUGH, 'm1'],
    ['another channel', alert, 'C2', H, DEFAULT_BREAK_THROUGH, null],
    ['after the mute', alert, 'C1', 10 * H, DEFAULT_BREAK_THROUGH, null],
    ['escalated breaks through', { ...alert, status: 'escalated' }, 'C1', H, DEFAULT_BREAK_THROUGH, null],
    ['critical breaks through', { ...alert, severity: 'critical' }, 'C1', H, DEFAULT_BREAK_THROUGH, null],
    [
      'critical held when the route says so',
      { ...alert, severity: 'critical' },
      'C1',
      H,
      { escalated: true, critical: false },
      'm1',
    ],
    ['another detection', { ...alert, detection: { id: 'd2', name: 'x' } }, 'C1', H, DEFAULT_BREAK_THROUGH, null],
    ['no detection', { ...alert, detection: null }, 'C1', H, DEFAULT_BREAK_THROUGH, null],
  ])('%s', (_name, a, channel, now, breakThrough, want) => {
    expect(mutedBy(a, channel, [mute], now, breakThrough)?.id ?? null).toBe(want);
  });

  it('an ended mute holds nothing; a detection without id is matched by name', () => {
    expect(mutedBy(alert, 'C1', [{ ...mute, endedAt: 5 }], H)).toBeNull();
    expect(detectionKeyOf({ detection: { id: null, name: 'Impossible travel' } })).toBe('name:Impossible travel');
    expect(detectionKeyOf({ detection: { id: null, name: null } })).toBeNull();
  });
});

describe('warRoomName', () => {
  it.each([
    ['COT-1042', 'Impossible travel: jane@acme.io', 0, 'inc-cot-1042-impossible-travel-jane-acme-io'],
    ['COT-1042', 'Impossible travel', 1, 'inc-cot-1042-impossible-travel-2'],
    ['COT-7', 'Ünïcödé <!channel> *bold* `code`', 0, 'inc-cot-7-unicode-channel-bold-code'],
    ['COT-7', '!!!', 0, 'inc-cot-7'],
    ['', 'x', 0, 'inc-alert-x'],
  ])('%s / %s / %d', (id, title, attempt, want) => {
    expect(warRoomName(id, title, attempt)).toBe(want);
  });

  it('stays within 80 characters, valid, with the id whole, at every attempt', () => {
    const title = 'Suspicious OAuth consent granted to an unverified application by many users in finance';
    for (const attempt of [0, 1, 9, 99]) {
      const name = warRoomName('COT-123456', title, attempt);
      expect(name.length).toBeLessThanOrEqual(CHANNEL_NAME_MAX);
      expect(name).toMatch(/^inc-cot-123456(-[a-z0-9]+)*$/);
      if (attempt > 0) expect(name.endsWith(`-${attempt + 1}`)).toBe(true);
    }
  });
});
