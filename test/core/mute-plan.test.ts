/**
 * Planning under mutes, on a fixed clock: which new alerts a mute holds back (no card: a `muted`
 * record, counted, its id listed), which break through, and what a held-back alert that escalates
 * later gets.
 */
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/core/alert.ts';
import { createMutePlanner, MUTE_IDS_PER_REPLY, type PlanMute } from '../../src/core/mute-plan.ts';
import type { BreakThrough } from '../../src/core/mutes.ts';
import { type MuteIdsPayload, MuteIdsPayloadSchema } from '../../src/core/outbox.ts';
import { type PageInput, type PlanPolicy, planPage, unchanged } from '../../src/core/plan.ts';
import type { CardRecord, Change } from '../../src/core/records.ts';
import { parseRoutes, type Route } from '../../src/core/routes.ts';
import { decideNew } from '../../src/core/storm-plan.ts';
import { alert } from '../support/alerts.ts';

const NOW = Date.parse('2026-12-06T12:00:00.000Z');
const HOUR = 3_600_000;
const CH = 'C0ALERTS';
const OTHER = 'C0OTHER';
const policy: PlanPolicy = { minSeverity: null, sources: [], backlog: 'recent', backlogMaxAgeMs: HOUR };
const fingerprint = (a: Alert) => `${a.updatedAt}|${a.status}`;
const DET = { id: 'd-travel', agentId: null, name: 'Impossible travel', kind: 'cotool' };

const mute = (over: Partial<PlanMute> = {}): PlanMute => ({
  id: 'm1',
  detectionKey: 'id:d-travel',
  channel: CH,
  until: NOW + HOUR,
  endedAt: null,
  muted: 0,
  ...over,
});

function record(a: Alert, extra: Partial<CardRecord> = {}): CardRecord {
  return {
    alertId: a.id,
    displayId: a.displayId,
    state: 'muted',
    channel: CH,
    ts: null,
    status: a.status,
    updatedAt: a.updatedAt,
    fingerprint: null,
    final: false,
    lastAction: null,
    version: 2,
    stormId: null,
    postedAt: null,
    firstActionAt: null,
    muteId: 'm1',
    owner: null,
    remindersSent: 0,
    ...extra,
  };
}

function plan(alerts: Alert[], mutes: PlanMute[], over: Partial<PageInput> = {}, records: CardRecord[] = []) {
  const muter = createMutePlanner(mutes, NOW);
  return planPage({
    alerts,
    records: new Map(records.map((r) => [r.alertId, r])),
    routes: [],
    defaultChannel: CH,
    firstRun: false,
    now: NOW,
    policy,
    fingerprint,
    muter,
    ...over,
  });
}

const routesWith = (breakThrough: Partial<BreakThrough>): Route[] => {
  const r = parseRoutes(
    JSON.stringify([{ match: { detection: ['Impossible travel'] }, channels: CH, mute_break_through: breakThrough }]),
  );
  if (!r.ok) throw new Error(r.problem);
  return r.routes;
};

const held = (changes: Change[]) => changes.filter((c) => c.mute?.op === 'count');
const idsOf = (c: Change) =>
  (c.enqueue ?? []).filter((i) => i.kind === 'mute_ids').map((i) => MuteIdsPayloadSchema.parse(JSON.parse(i.payload)));

describe('a new alert under a mute', () => {
  const cases: {
    name: string;
    alert: Partial<Alert>;
    mutes: PlanMute[];
    routes?: Partial<BreakThrough>;
    expect: 'held' | 'card';
  }[] = [
    { name: 'of the muted detection, in its channel', alert: {}, mutes: [mute()], expect: 'held' },
    {
      name: 'muted by name when the detection has no id',
      alert: { detection: { ...DET, id: null } },
      mutes: [mute({ detectionKey: 'name:Impossible travel' })],
      expect: 'held',
    },
    { name: 'of another detection', alert: { detection: { ...DET, id: 'd-other' } }, mutes: [mute()], expect: 'card' },
    { name: 'with no detection', alert: { detection: null }, mutes: [mute()], expect: 'card' },
    { name: 'muted in another channel only', alert: {}, mutes: [mute({ channel: OTHER })], expect: 'card' },
    { name: 'escalated: breaks through', alert: { status: 'escalated' }, mutes: [mute()], expect: 'card' },
    { name: 'critical: breaks through', alert: { severity: 'critical' }, mutes: [mute()], expect: 'card' },
    { name: 'high: held', alert: { severity: 'high' }, mutes: [mute()], expect: 'held' },
    {
      name: 'critical, on a route that lets no critical through',
      alert: { severity: 'critical' },
      mutes: [mute()],
      routes: { critical: false },
      expect: 'held',
    },
    {
      name: 'escalated, on a route that lets no escalated through',
      alert: { status: 'escalated' },
      mutes: [mute()],
      routes: { escalated: false },
      expect: 'held',
    },
    {
      name: 'escalated, on a route that lets only escalated through',
      alert: { status: 'escalated', severity: 'critical' },
      mutes: [mute()],
      routes: { critical: false },
      expect: 'card',
    },
    { name: 'the mute ran out (its end not announced yet)', alert: {}, mutes: [mute({ until: NOW })], expect: 'card' },
    { name: 'the mute ended (unmuted)', alert: {}, mutes: [mute({ endedAt: NOW - 1 })], expect: 'card' },
    { name: 'no mutes at all', alert: {}, mutes: [], expect: 'card' },
  ];
  it.each(cases)('$name → $expect', (c) => {
    const a = alert({ detection: DET, severity: 'high', ...c.alert });
    const p = plan([a], c.mutes, c.routes ? { routes: routesWith(c.routes) } : {});
    if (c.expect === 'card') {
      expect(p.candidates).toHaveLength(1);
      expect(held(p.changes)).toEqual([]);
      return;
    }
    expect(p.candidates).toEqual([]);
    expect(p.changes).toHaveLength(1);
    const change = p.changes[0] as Change;
    expect(change.card).toMatchObject({ op: 'insert', alertId: a.id, state: 'muted', muteId: 'm1', channel: CH });
    expect(change.mute).toEqual({ op: 'count', id: 'm1', alertId: a.id, displayId: a.displayId });
    expect((change.enqueue ?? []).map((i) => [i.kind, i.key])).toEqual([
      ['mute_update', 'mute_update:m1'],
      ['mute_ids', `mute_ids:m1:${a.displayId}`],
    ]);
  });

  it('the first start: an old alert the backlog rule skips is only seen, not counted in a mute', () => {
    const a = alert({ detection: DET, createdAt: new Date(NOW - 5 * HOUR).toISOString() });
    const p = plan([a], [mute()], { firstRun: true });
    expect(p.changes).toHaveLength(1);
    expect(p.changes[0]?.card).toMatchObject({ state: 'seen' });
    expect(p.changes[0]?.mute).toBeUndefined();
  });

  it('an alert skipped by the backlog rule or the filters is not listed with those held back', () => {
    const old = alert({ detection: DET, createdAt: new Date(NOW - 5 * HOUR).toISOString() });
    const fresh = alert({ detection: DET, createdAt: new Date(NOW - 60_000).toISOString() });
    const p = plan([old, fresh], [mute()], { firstRun: true });
    const lists = p.changes.flatMap(idsOf);
    expect(lists.map((l) => l.ids)).toEqual([[fresh.displayId]]);
    expect(lists[0]?.from).toBe(1);
  });

  it('an alert the filters leave out is neither carded nor counted', () => {
    const a = alert({ detection: DET, severity: 'low' });
    const p = plan([a], [mute()], { policy: { ...policy, minSeverity: 'high' } });
    expect(p).toMatchObject({ changes: [], candidates: [] });
  });

  it('ids are listed per cycle: one reply holds every id held back so far (same key, the last change the whole list), a new reply past MUTE_IDS_PER_REPLY', () => {
    const alerts = Array.from({ length: MUTE_IDS_PER_REPLY + 5 }, () => alert({ detection: DET }));
    const muter = createMutePlanner([mute({ muted: 7 })], NOW);
    const input = {
      records: new Map(),
      routes: [],
      defaultChannel: CH,
      firstRun: false,
      now: NOW,
      policy,
      fingerprint,
      muter,
    };
    // Two pages of one cycle share the planner.
    const first = planPage({ ...input, alerts: alerts.slice(0, 60) });
    const second = planPage({ ...input, alerts: alerts.slice(60) });
    const changes = [...first.changes, ...second.changes];
    expect(held(changes)).toHaveLength(alerts.length);
    const lists = changes.flatMap(idsOf);
    const last = new Map<string, MuteIdsPayload>();
    for (const [i, c] of changes.entries()) {
      const item = (c.enqueue ?? []).find((x) => x.kind === 'mute_ids');
      if (item) last.set(item.key, lists[i] as MuteIdsPayload);
    }
    expect([...last.keys()]).toEqual([
      `mute_ids:m1:${alerts[0]?.displayId}`,
      `mute_ids:m1:${alerts[MUTE_IDS_PER_REPLY]?.displayId}`,
    ]);
    const [a, b] = [...last.values()];
    expect(a?.ids).toEqual(alerts.slice(0, MUTE_IDS_PER_REPLY).map((x) => x.displayId));
    expect(a?.from).toBe(8); // 7 held back before this cycle
    expect(b?.ids).toEqual(alerts.slice(MUTE_IDS_PER_REPLY).map((x) => x.displayId));
    expect(b?.from).toBe(8 + MUTE_IDS_PER_REPLY);
  });
});

describe('a held-back alert later', () => {
  it('is unchanged while it stays as it was (no validation, no plan)', () => {
    const a = alert({ detection: DET });
    const r = record(a);
    expect(unchanged({ updatedAt: '2026-12-06T13:00:00.000Z', status: 'in_progress' }, r)).toBe(true);
    expect(unchanged({ updatedAt: a.updatedAt, status: 'escalated' }, r)).toBe(false);
    expect(unchanged({ updatedAt: a.updatedAt, status: 'open' }, { ...r, final: true })).toBe(false);
  });

  it('escalates: its card at once (forced, storm or not), counted as escalated in the mute, the counter redrawn', () => {
    const before = alert({ detection: DET });
    const now = { ...before, status: 'escalated', updatedAt: '2026-12-06T11:00:00.000Z' };
    const p = plan([now], [mute()], {}, [record(before)]);
    expect(p.changes).toEqual([]);
    expect(p.candidates).toHaveLength(1);
    expect(p.candidates[0]).toMatchObject({ forced: true, muteId: 'm1' });
    const d = decideNew(
      {
        channel: CH,
        candidates: p.candidates,
        pending: [],
        storm: null,
        policy: { threshold: 0, cards: 0, quietMs: 1 },
        now: NOW,
        newStormId: () => 's1',
      },
      fingerprint,
    );
    expect(d.cards).toBe(1);
    const change = d.changes[0] as Change;
    expect(change.card).toMatchObject({ op: 'update', alertId: before.id, expectVersion: 2, set: { state: 'queued' } });
    expect(change.mute).toEqual({ op: 'escalated', id: 'm1', alertId: before.id });
    expect((change.enqueue ?? []).map((i) => i.kind)).toEqual(['card', 'escalation', 'mute_update']);
  });

  it('escalates after its mute ended: still its card, still counted as escalated', () => {
    const before = alert({ detection: DET });
    const now = { ...before, status: 'escalated', updatedAt: '2026-12-06T11:00:00.000Z' };
    const p = plan([now], [], {}, [record(before)]);
    expect(p.candidates[0]).toMatchObject({ forced: true, muteId: 'm1' });
  });

  it('escalates on a route that lets no escalated alert through, the mute holding: no card, counted as escalated', () => {
    const before = alert({ detection: DET });
    const now = { ...before, status: 'escalated', updatedAt: '2026-12-06T11:00:00.000Z' };
    const p = plan([now], [mute()], { routes: routesWith({ escalated: false }) }, [record(before)]);
    expect(p.candidates).toEqual([]);
    expect(p.changes).toEqual([
      {
        card: {
          op: 'update',
          alertId: before.id,
          expectVersion: 2,
          set: { status: 'escalated', updatedAt: now.updatedAt },
        },
        mute: { op: 'escalated', id: 'm1', alertId: before.id },
        enqueue: [expect.objectContaining({ kind: 'mute_update', key: 'mute_update:m1' })],
      },
    ]);
  });

  it('escalated already when last seen: nothing more', () => {
    const a = alert({ detection: DET, status: 'escalated' });
    const p = plan([{ ...a, updatedAt: '2026-12-06T11:30:00.000Z' }], [mute()], {}, [record(a)]);
    expect(p).toMatchObject({ changes: [], candidates: [] });
  });

  it('live again after it was marked final: unmarked, still no card', () => {
    const a = alert({ detection: DET });
    const p = plan([a], [mute()], {}, [record(a, { final: true })]);
    expect(p.candidates).toEqual([]);
    expect(p.changes).toEqual([{ card: { op: 'update', alertId: a.id, expectVersion: 2, set: { final: false } } }]);
  });
});
