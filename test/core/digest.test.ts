import { describe, expect, it } from 'vitest';
import {
  type BulkTally,
  compactIds,
  ESCALATED_GROUP,
  formatIds,
  groupMembers,
  groupOf,
  MAX_GROUPS_SHOWN,
  membersOf,
  parseTallies,
  serializeTallies,
} from '../../src/core/digest.ts';
import type { StormMember } from '../../src/core/records.ts';
import { alert } from '../support/alerts.ts';

let seq = 0;
function member(over: Partial<StormMember> = {}): StormMember {
  seq++;
  return {
    stormId: 'storm-1',
    alertId: `a-${seq}`,
    displayId: `COT-${seq}`,
    groupKey: 'det-1',
    groupName: 'Impossible travel',
    severity: 'high',
    status: 'open',
    title: `Alert ${seq}`,
    createdAt: new Date(Date.parse('2026-11-23T10:00:00Z') + seq * 1000).toISOString(),
    updatedAt: '2026-11-23T10:00:00.000Z',
    ...over,
  };
}

describe('groupOf', () => {
  it('puts escalated alerts in the escalated group, whatever their detection', () => {
    expect(groupOf(alert({ status: 'escalated' }))).toEqual({ key: ESCALATED_GROUP, name: 'Escalated' });
  });
  it('keys by detection id, else detection name, else source', () => {
    const det = { id: 'det-42', agentId: null, name: 'Okta push spam', kind: 'cotool' };
    expect(groupOf(alert({ detection: det }))).toEqual({ key: 'det-42', name: 'Okta push spam' });
    expect(groupOf(alert({ detection: { ...det, id: null } }))).toEqual({
      key: 'name:Okta push spam',
      name: 'Okta push spam',
    });
    const email = { category: 'trigger', name: 'email', triggerType: 'email' };
    expect(groupOf(alert({ detection: null, source: email }))).toEqual({ key: 'source:email', name: 'Source: email' });
    expect(groupOf(alert({ detection: null, source: null }))).toEqual({ key: 'source:', name: 'Other alerts' });
  });
  it('keeps keys short and well-formed for hostile detection names', () => {
    const name = `${'👨‍👩‍👧‍👦'.repeat(200)}\n<!channel>\uD800`;
    const g = groupOf(alert({ detection: { id: null, agentId: null, name, kind: 'cotool' } }));
    expect(g.key.startsWith('name:')).toBe(true);
    expect(Array.from(g.key).length).toBeLessThanOrEqual(105);
    expect(g.key.isWellFormed()).toBe(true);
    expect(g.name).toBe(name); // the display name is escaped by the view, not here
  });
  it('never lets a detection id pose as the escalated group', () => {
    const g = groupOf(alert({ detection: { id: 'escalated', agentId: null, name: 'Sneaky', kind: 'cotool' } }));
    expect(g.key).not.toBe(ESCALATED_GROUP);
  });
});

describe('groupMembers', () => {
  it('orders the escalated group first, then by size, ties by first seen', () => {
    const t = (m: number) => new Date(Date.parse('2026-11-23T10:00:00Z') + m * 60_000).toISOString();
    const members = [
      member({ groupKey: 'b', groupName: 'B', createdAt: t(5) }),
      member({ groupKey: 'c', groupName: 'C', createdAt: t(1) }),
      member({ groupKey: 'a', groupName: 'A', createdAt: t(2) }),
      member({ groupKey: 'a', groupName: 'A', createdAt: t(3) }),
      member({ groupKey: 'a', groupName: 'A', createdAt: t(4) }),
      member({ groupKey: ESCALATED_GROUP, groupName: 'Escalated', createdAt: t(9), status: 'escalated' }),
    ];
    expect(groupMembers(members).map((g) => g.key)).toEqual([ESCALATED_GROUP, 'a', 'c', 'b']);
  });

  it('counts severities, first/last seen, examples, ids and what is still live', () => {
    const members = [
      member({ severity: 'critical', title: 'Same', createdAt: '2026-11-23T10:05:00.000Z' }),
      member({ severity: 'high', title: 'Same', createdAt: '2026-11-23T10:01:00.000Z' }),
      member({
        severity: null,
        title: 'Other',
        status: 'closed_false_positive',
        createdAt: '2026-11-23T10:09:00.000Z',
      }),
      member({ severity: 'weird', title: 'Third', createdAt: '2026-11-23T10:02:00.000Z' }),
      member({ severity: 'low', title: 'Fourth', createdAt: '2026-11-23T10:03:00.000Z' }),
    ];
    const [g] = groupMembers(members);
    expect(g).toMatchObject({
      key: 'det-1',
      count: 5,
      live: 4,
      severities: { critical: 1, high: 1, medium: 0, low: 1, none: 2 },
      firstSeen: '2026-11-23T10:01:00.000Z',
      lastSeen: '2026-11-23T10:09:00.000Z',
      examples: ['Same', 'Other', 'Third'],
    });
    // Every member's id, compact (the store reads a bounded number of spans; see digestOf).
    expect(g?.spans).toEqual(compactIds(members.map((m) => m.displayId)));
  });

  it('"all other" are the members of the groups beyond the ones shown one by one', () => {
    const members = Array.from({ length: MAX_GROUPS_SHOWN + 3 }, (_, i) =>
      Array.from({ length: 20 - i }, () => member({ groupKey: `g${i}`, groupName: `G${i}` })),
    ).flat();
    const other = membersOf(members, null);
    expect(new Set(other.map((m) => m.groupKey))).toEqual(new Set(['g12', 'g13', 'g14']));
    expect(membersOf(members, 'g0')).toHaveLength(20);
  });
});

describe('compact ids', () => {
  it('collapses consecutive ids into ranges, sorted numerically', () => {
    expect(formatIds(['COT-12', 'COT-10', 'COT-11', 'COT-2', 'COT-100', 'COT-9', 'COT-101'])).toBe(
      'COT-2, COT-9–COT-12, COT-100, COT-101',
    );
  });
  it('spans 1,000 ids in one range and counts what each span stands for', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `COT-${100 + i}`);
    expect(compactIds(ids)).toEqual([{ text: 'COT-100–COT-1099', count: 1000 }]);
  });
  it('lists non-numeric ids as they are, after the numbered ones, without duplicates', () => {
    expect(formatIds(['x-1a', 'COT-3', 'COT-0012', 'COT-3', 'SEC-1', 'SEC-2', 'SEC-3', 'COT-4'])).toBe(
      'COT-3, COT-4, SEC-1–SEC-3, COT-0012, x-1a',
    );
  });
});

describe('bulk-close tally codec', () => {
  const tally: BulkTally = {
    state: 'done',
    by: { id: 'U0JANE', name: 'Jane Doe' },
    total: 60,
    closed: 57,
    alreadyClosed: 1,
    changedSince: 1,
    failed: [{ alertId: 'a-1', displayId: 'COT-1', why: 'timeout' }],
    startedAt: 1_795_000_000_000,
    finishedAt: 1_795_000_030_000,
  };
  it('round-trips by group key', () => {
    const json = serializeTallies(new Map([['det-1', tally]]));
    expect(parseTallies(json)).toEqual(new Map([['det-1', tally]]));
  });
  it('reads nothing from garbage and drops only the entries that do not parse', () => {
    expect(parseTallies(null).size).toBe(0);
    expect(parseTallies('not json').size).toBe(0);
    expect(parseTallies('[1,2]').size).toBe(0);
    const mixed = JSON.stringify({ good: tally, bad: { ...tally, state: 'exploded' }, worse: 7 });
    expect([...parseTallies(mixed).keys()]).toEqual(['good']);
  });
  it('refuses to write an invalid tally', () => {
    expect(() => serializeTallies(new Map([['x', { ...tally, closed: -1 }]]))).toThrow();
  });
});

describe('groupOf keys travel in buttons', () => {
  it('yields keys the digest button codec accepts, whatever the detection is called', async () => {
    const { encodeDigestButton, decodeDigestButton } = await import('../../src/slack/digest-payloads.ts');
    const { HOSTILE } = await import('../slack/hostile.ts');
    for (const name of HOSTILE) {
      for (const detection of [
        { id: null, agentId: null, name, kind: 'cotool' },
        { id: name, agentId: null, name: 'x', kind: 'cotool' },
      ]) {
        const { key } = groupOf(alert({ detection }));
        const value = encodeDigestButton({ v: 1, k: 'close', s: 'storm-1', g: key });
        expect(decodeDigestButton(value)).toMatchObject({ ok: true, value: { g: key } });
      }
    }
  });
});
