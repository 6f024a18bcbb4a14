import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/core/alert.ts';
import { PRIORITY } from '../../src/core/outbox.ts';
import { type Candidate, type PageInput, type PlanPolicy, planGone, planPage, unchanged } from '../../src/core/plan.ts';
import type { CardRecord, Change, Storm } from '../../src/core/records.ts';
import { parseRoutes } from '../../src/core/routes.ts';
import { type ChannelInput, candidateBuffer, decideNew, type PendingCard } from '../../src/core/storm-plan.ts';
import { alert } from '../support/alerts.ts';

const NOW = Date.parse('2026-11-23T12:00:00.000Z');
const CH = 'C0ALERTS';
const policy: PlanPolicy = { minSeverity: null, sources: [], backlog: 'recent', backlogMaxAgeMs: 3_600_000 };
const fingerprint = (a: Alert) => `${a.updatedAt}|${a.status}|${a.severity}|${a.title}`;

function record(a: Alert, extra: Partial<CardRecord> = {}): CardRecord {
  return {
    alertId: a.id,
    displayId: a.displayId,
    state: 'posted',
    channel: CH,
    ts: '1.1',
    status: a.status,
    updatedAt: a.updatedAt,
    fingerprint: fingerprint(a),
    final: false,
    lastAction: null,
    version: 3,
    stormId: null,
    postedAt: 1,
    firstActionAt: null,
    muteId: null,
    owner: null,
    remindersSent: 0,
    ...extra,
  };
}

function page(alerts: Alert[], records: CardRecord[] = [], over: Partial<PageInput> = {}) {
  return planPage({
    alerts,
    records: new Map(records.map((r) => [r.alertId, r])),
    routes: [],
    defaultChannel: CH,
    firstRun: false,
    now: NOW,
    policy,
    fingerprint,
    ...over,
  });
}
const kinds = (changes: Change[]) => changes.flatMap((c) => (c.enqueue ?? []).map((i) => i.kind));

describe('planPage', () => {
  it('a new alert is a candidate; nothing is written until decideNew', () => {
    const p = page([alert()]);
    expect(p.changes).toEqual([]);
    expect(p.candidates).toHaveLength(1);
    expect(p.candidates[0]).toMatchObject({ channel: CH, forced: false, priority: PRIORITY.high });
  });

  it('a steady poll writes nothing', () => {
    const a = alert();
    expect(page([a], [record(a)])).toMatchObject({ changes: [], candidates: [] });
  });

  it('a visible change enqueues one coalesced card update, compare-and-set on the record version', () => {
    const a = alert();
    const changed = { ...a, title: 'New title', updatedAt: '2026-11-23T11:00:00.000Z' };
    const p = page([changed], [record(a)]);
    expect(p.changes).toHaveLength(1);
    const c = p.changes[0] as Change;
    expect(c.card).toMatchObject({ op: 'update', alertId: a.id, expectVersion: 3 });
    expect(c.enqueue?.map((i) => [i.kind, i.key, i.lane])).toEqual([['card_update', `card_update:${a.id}`, 'update']]);
  });

  it('a listing older than the record (a change made from Slack during the poll) does not roll the card back', () => {
    const a = alert({ updatedAt: '2026-11-23T11:00:00.000Z', status: 'closed_false_positive' });
    const old = { ...a, status: 'open', updatedAt: '2026-11-23T10:00:00.000Z' };
    expect(page([old], [record(a)]).changes).toEqual([]);
  });

  it('an escalation updates the card and enqueues one notice; not again while it stays escalated', () => {
    const a = alert();
    const esc = { ...a, status: 'escalated', updatedAt: '2026-11-23T11:00:00.000Z' };
    const p = page([esc], [record(a)]);
    expect(kinds(p.changes)).toEqual(['card_update', 'escalation']);
    const esc2 = { ...esc, title: 'x', updatedAt: '2026-11-23T11:30:00.000Z' };
    expect(kinds(page([esc2], [record(esc)]).changes)).toEqual(['card_update']);
  });

  it('an escalation made from Slack is not announced again by the poller', () => {
    const a = alert();
    const esc = { ...a, status: 'escalated', updatedAt: '2026-11-23T11:00:00.000Z' };
    const last = { by: { id: 'U1', name: 'Jane' }, kind: 'status' as const, status: 'escalated', at: 'x' };
    expect(kinds(page([esc], [record(a, { lastAction: last })]).changes)).toEqual(['card_update']);
  });

  it('a queued card is re-enqueued with the latest alert (no edit of a card not yet posted)', () => {
    const a = alert();
    const changed = { ...a, severity: 'critical', updatedAt: '2026-11-23T11:00:00.000Z' };
    const p = page([changed], [record(a, { state: 'queued', ts: null })]);
    expect(kinds(p.changes)).toEqual(['card']);
    expect(p.changes[0]?.enqueue?.[0]).toMatchObject({ key: `card:${a.id}`, priority: PRIORITY.critical });
  });

  it('a seen alert gets a card only when it escalates (forced: not held back by a storm)', () => {
    const a = alert();
    expect(page([a], [record(a, { state: 'seen', ts: null })]).candidates).toEqual([]);
    const esc = { ...a, status: 'escalated' };
    expect(page([esc], [record(a, { state: 'seen', ts: null })]).candidates[0]).toMatchObject({ forced: true });
  });

  it('a digested alert gets a card when it escalates, not when it was digested escalated', () => {
    const a = alert();
    const esc = { ...a, status: 'escalated' };
    expect(page([esc], [record(a, { state: 'digested', ts: null })]).candidates[0]).toMatchObject({ forced: true });
    expect(page([esc], [record(esc, { state: 'digested', ts: null })]).candidates).toEqual([]);
  });

  it('a final card whose alert is live again (reopened) is updated', () => {
    const a = alert();
    expect(kinds(page([a], [record(a, { final: true })]).changes)).toEqual(['card_update']);
  });

  describe('thread notes (THREAD_TIMELINE)', () => {
    const on = (threadTimeline: 'all' | 'comments' | 'off') => ({ policy: { ...policy, threadTimeline } });
    const moved = (a: Alert) => ({ ...a, updatedAt: '2026-11-23T11:00:00.000Z' });

    it('a moved updatedAt of a posted card enqueues one coalesced note item after its card update', () => {
      const a = alert();
      for (const mode of ['all', 'comments'] as const) {
        const p = page([moved(a)], [record(a)], on(mode));
        expect(kinds(p.changes)).toEqual(['card_update', 'thread_note']);
        const note = p.changes[0]?.enqueue?.[1];
        expect(note).toMatchObject({
          key: `note:${a.id}:timeline`,
          kind: 'thread_note',
          lane: 'post',
          channel: CH,
          cardKey: a.id,
          priority: PRIORITY.note,
          orderAt: NOW,
        });
        expect(JSON.parse(String(note?.payload))).toEqual({
          alertId: a.id,
          displayId: a.displayId,
          organizationName: a.organizationName,
          since: a.updatedAt,
        });
      }
      // With the escalation notice: the note still comes (the thread tells the entry too, unless from Slack).
      const esc = { ...moved(a), status: 'escalated' };
      expect(kinds(page([esc], [record(a)], on('all')).changes)).toEqual(['card_update', 'thread_note', 'escalation']);
    });

    it('nothing for an unchanged alert, a queued card, an alert reopened with the same updatedAt, or THREAD_TIMELINE=off', () => {
      const a = alert();
      expect(page([a], [record(a)], on('all')).changes).toEqual([]);
      expect(kinds(page([moved(a)], [record(a, { state: 'queued', ts: null })], on('all')).changes)).toEqual(['card']);
      expect(kinds(page([a], [record(a, { final: true })], on('all')).changes)).toEqual(['card_update']);
      expect(kinds(page([moved(a)], [record(a)], on('off')).changes)).toEqual(['card_update']);
      expect(kinds(page([moved(a)], [record(a)]).changes)).toEqual(['card_update']); // not asked for
    });

    it('a routed alert gets a note per card, each in its card’s channel', () => {
      const a = alert({ severity: 'critical' });
      const routes = parseRoutes(
        JSON.stringify([{ match: { severity: { min: 'critical' } }, channels: ['C0CRIT', 'C0SOC'] }]),
        'routes.json',
      );
      if (!routes.ok) throw new Error(routes.problem);
      const first = page([a], [], { routes: routes.routes, ...on('all') }).keys;
      expect(first.length).toBe(2);
      const channels = ['C0CRIT', 'C0SOC'];
      const records = first.map((key, i) => record(a, { alertId: key, channel: channels[i] ?? null }));
      const p = page([moved(a)], records, { routes: routes.routes, ...on('all') });
      const notes = p.changes.flatMap((c) => c.enqueue ?? []).filter((i) => i.kind === 'thread_note');
      expect(notes.map((i) => [i.key, i.channel])).toEqual(first.map((k, i) => [`note:${k}:timeline`, channels[i]]));
    });
  });

  describe('first start', () => {
    const old = () => alert({ createdAt: '2026-11-23T09:00:00.000Z' });
    it('recent: old alerts are recorded as seen, recent and escalated ones are candidates', () => {
      const o = old();
      const recent = alert({ createdAt: '2026-11-23T11:30:00.000Z' });
      const esc = alert({ createdAt: '2026-11-01T00:00:00.000Z', status: 'escalated' });
      const p = page([o, recent, esc], [], { firstRun: true });
      expect(p.changes.map((c) => c.card)).toEqual([
        expect.objectContaining({ op: 'insert', alertId: o.id, state: 'seen' }),
      ]);
      expect(p.candidates.map((c) => c.alert.id)).toEqual([recent.id, esc.id]);
    });
    it('all: everything is a candidate; none: only escalations', () => {
      const o = old();
      expect(page([o], [], { firstRun: true, policy: { ...policy, backlog: 'all' } }).candidates).toHaveLength(1);
      expect(page([o], [], { firstRun: true, policy: { ...policy, backlog: 'none' } }).candidates).toHaveLength(0);
    });
    it('an unparseable createdAt counts as recent rather than dropping the alert', () => {
      expect(page([alert({ createdAt: 'yesterday-ish' })], [], { firstRun: true }).candidates).toHaveLength(1);
    });
  });

  describe('filters', () => {
    it('MIN_SEVERITY and NOTIFY_SOURCES hold back new alerts, never escalations', () => {
      const low = alert({ severity: 'low' });
      const mail = alert({ source: { category: 'trigger', name: 'email', triggerType: null } });
      const esc = alert({ severity: 'low', status: 'escalated' });
      const strict = { ...policy, minSeverity: 'high' as const, sources: ['cotool_detection'] };
      expect(page([low, mail, esc], [], { policy: strict }).candidates.map((c) => c.alert.id)).toEqual([esc.id]);
    });
  });

  it('routes: the first matching rule wins; several channels give a primary card and mirrors', () => {
    const routes = parseRoutes(
      JSON.stringify([
        { match: { severity: { min: 'critical' } }, channels: ['C0CRIT', 'C0SOC'], mention: 'S0ONCALL' },
        { match: { source: ['hackerone', 'bugcrowd'] }, channels: 'C0APPSEC' },
      ]),
      'routes.json',
    );
    if (!routes.ok) throw new Error(routes.problem);
    const crit = alert({ severity: 'critical' });
    const bounty = alert({ source: { category: 'trigger', name: 'hackerone', triggerType: null } });
    const plain = alert();
    const p = page([crit, bounty, plain], [], { routes: routes.routes });
    expect(p.candidates.map((c) => [c.alert.id, c.channel, c.key])).toEqual([
      [crit.id, 'C0CRIT', crit.id],
      [crit.id, 'C0SOC', `${crit.id}\u001fC0SOC`],
      [bounty.id, 'C0APPSEC', bounty.id],
      [plain.id, CH, plain.id],
    ]);
    expect(p.candidates[0]?.mention).toBe('<!subteam^S0ONCALL>');
  });

  it('an incident channel holds a further copy of the card, updated with the others (never the primary)', () => {
    const a = alert();
    const room = 'C0INC1042';
    const copy = `${a.id}\u001f${room}`;
    const warRooms = new Map([[a.id, room]]);
    const changed = { ...a, title: 'New title', updatedAt: '2026-11-23T11:00:00.000Z' };
    const p = page([changed], [record(a), record(a, { alertId: copy, channel: room, ts: '2.2' })], { warRooms });
    expect(p.keys).toEqual([a.id, copy]);
    const updates = p.changes.flatMap((c) => (c.enqueue ?? []).filter((i) => i.kind === 'card_update'));
    expect(updates.map((i) => [i.channel, i.cardKey])).toEqual([
      [CH, a.id],
      [room, copy],
    ]);
    // Without its war room, the alert has one card.
    expect(page([changed], [record(a)]).keys).toEqual([a.id]);
    // A war room that is (oddly) one of the route's channels is not a second copy there.
    expect(page([changed], [record(a)], { warRooms: new Map([[a.id, CH]]) }).keys).toEqual([a.id]);
  });

  it('a copy catches up with a change made from Slack: credited like the primary card, on-call not paged again', () => {
    const a = alert();
    const room = 'C0INC1042';
    const copy = `${a.id}\u001f${room}`;
    const warRooms = new Map([[a.id, room]]);
    const by = { id: 'U0JANE', name: 'Jane Doe' };
    const escalated = { ...a, status: 'escalated', updatedAt: '2026-11-23T11:00:00.000Z' };
    // The click recorded the primary card (its record matches the listing); the copy is behind.
    const primary = record(escalated, {
      lastAction: { by, kind: 'status', status: 'escalated', at: escalated.updatedAt },
    });
    const behind = record(a, { alertId: copy, channel: room, ts: '2.2' });
    const p = page([escalated], [primary, behind], { warRooms });
    expect(p.changes).toHaveLength(1);
    expect(p.changes[0]?.card).toMatchObject({
      alertId: copy,
      set: { status: 'escalated', lastAction: primary.lastAction },
    });
    expect(kinds(p.changes)).toEqual(['card_update']);
    // Escalated in Cotool (nobody in Slack): the copy's thread hears it like any card's.
    const elsewhere = page([escalated], [record(escalated), behind], { warRooms });
    expect(kinds(elsewhere.changes)).toEqual(['card_update', 'escalation']);
    expect(elsewhere.changes[0]?.card).toMatchObject({ alertId: copy, set: { status: 'escalated' } });
    expect(elsewhere.changes[0]?.card).not.toMatchObject({ set: { lastAction: expect.anything() } });
  });
});

describe('records without a card, marked final when their alert left the live set', () => {
  it('live again: not unchanged any more, and unmarked (compare-and-set), still without a card', () => {
    const a = alert({ status: 'open' });
    for (const state of ['seen', 'digested'] as const) {
      const quiet = record(a, { state, ts: null, final: false });
      expect(unchanged(a, quiet)).toBe(true);
      expect(page([a], [quiet])).toMatchObject({ changes: [], candidates: [] });
      const gone = { ...quiet, final: true };
      expect(unchanged(a, gone)).toBe(false);
      const p = page([a], [gone]);
      expect(p.candidates).toEqual([]);
      expect(p.changes).toEqual([{ card: { op: 'update', alertId: a.id, expectVersion: 3, set: { final: false } } }]);
    }
  });

  it('live again and escalated: the card it now gets unmarks it', () => {
    const a = alert({ status: 'escalated' });
    const p = page([a], [record(a, { state: 'seen', status: 'open', ts: null, final: true })]);
    expect(p.changes).toEqual([]);
    expect(p.candidates).toHaveLength(1);
    expect(p.candidates[0]).toMatchObject({ forced: true });
  });
});

describe('planGone', () => {
  it('a posted card whose alert left the live set is refreshed once (marked final while it is)', () => {
    const a = alert();
    const changes = planGone([record(a)], NOW);
    expect(kinds(changes)).toEqual(['card_update']);
    expect(changes[0]?.card).toMatchObject({ op: 'update', expectVersion: 3, set: { final: true } });
    expect(planGone([record(a, { final: true })], NOW)).toEqual([]);
  });
  it('a queued card whose alert closed before it was posted is posted as it is now (refresh)', () => {
    const a = alert();
    const changes = planGone([record(a, { state: 'queued', ts: null })], NOW);
    expect(JSON.parse(changes[0]?.enqueue?.[0]?.payload ?? '{}')).toEqual({ alertId: a.id, refresh: true });
  });
});

describe('decideNew', () => {
  const storm = (over: Partial<Storm> = {}): Storm => ({
    id: 'storm-1',
    channel: CH,
    startedAt: NOW - 60_000,
    lastAddedAt: NOW - 60_000,
    endedAt: null,
    cardsUsed: 0,
    ts: '9.9',
    tally: null,
    ...over,
  });
  const cand = (a: Alert, extra: Partial<Candidate> = {}): Candidate => ({
    key: a.id,
    channel: CH,
    alert: a,
    record: null,
    priority:
      a.status === 'escalated'
        ? PRIORITY.escalation
        : ((
            { critical: PRIORITY.critical, high: PRIORITY.high, medium: PRIORITY.medium, low: PRIORITY.low } as Record<
              string,
              number
            >
          )[a.severity ?? ''] ?? PRIORITY.none),
    orderAt: Date.parse(a.createdAt),
    forced: false,
    mention: null,
    stormThreshold: null,
    ...extra,
  });
  const decide = (over: Partial<ChannelInput>) =>
    decideNew(
      {
        channel: CH,
        candidates: [],
        pending: [],
        storm: null,
        policy: { threshold: 20, cards: 20, quietMs: 300_000 },
        now: NOW,
        newStormId: () => 'storm-new',
        ...over,
      },
      fingerprint,
    );

  it('below the threshold every new alert gets a card (and an escalated one its notice)', () => {
    const a = alert();
    const e = alert({ status: 'escalated' });
    const d = decide({ candidates: [cand(a), cand(e)] });
    expect(d).toMatchObject({ cards: 2, digested: 0, stormStarted: null });
    expect(kinds(d.changes)).toEqual(['card', 'escalation', 'card']); // escalated first
  });

  it('above the threshold a storm starts: cards for the most urgent only, the rest in one digest', () => {
    const crit = Array.from({ length: 3 }, (_, i) =>
      alert({ severity: 'critical', createdAt: `2026-11-23T11:0${i}:00.000Z` }),
    );
    const high = Array.from({ length: 30 }, () => alert({ severity: 'high' }));
    const medium = Array.from({ length: 30 }, () => alert({ severity: 'medium' }));
    const d = decide({
      candidates: [...medium, ...high, ...crit].map((a) => cand(a)),
      policy: { threshold: 20, cards: 5, quietMs: 300_000 },
    });
    expect(d).toMatchObject({ cards: 5, digested: 58, stormStarted: 'storm-new' });
    const carded = d.changes.filter((c) => c.enqueue?.some((i) => i.kind === 'card')).map((c) => c.card?.alertId);
    // Criticals first (oldest first), then the oldest highs.
    expect(carded.slice(0, 3)).toEqual(crit.map((a) => a.id));
    expect(kinds(d.changes).filter((k) => k === 'digest')).toHaveLength(1);
    expect(d.changes.flatMap((c) => c.members ?? [])).toHaveLength(58);
  });

  it('queued cards decided before the storm are folded into the digest unless urgent', () => {
    const queued = alert({ severity: 'low' });
    const pend: PendingCard = {
      key: queued.id,
      record: record(queued, { state: 'queued', ts: null }),
      alert: queued,
      priority: PRIORITY.low,
      orderAt: 0,
    };
    const d = decide({
      candidates: Array.from({ length: 25 }, () => cand(alert({ severity: 'low' }))),
      pending: [pend],
    });
    const fold = d.changes.find((c) => c.dequeue?.length);
    expect(fold).toMatchObject({ dequeue: [`card:${queued.id}`], card: { set: { state: 'digested' } } });
    expect(d.folded).toBe(1);
  });

  it('a running storm keeps digesting; its card budget is shared across polls', () => {
    const d = decide({
      storm: storm({ cardsUsed: 19 }),
      candidates: [cand(alert({ severity: 'critical' })), cand(alert({ severity: 'critical' }))],
    });
    expect(d).toMatchObject({ cards: 1, digested: 1, stormStarted: null });
    expect(kinds(d.changes)).toContain('digest_update');
    expect(d.changes.at(-1)?.storm).toEqual({ op: 'grow', id: 'storm-1', at: NOW, cards: 1 });
  });

  it('a known alert that escalates gets its card at once, storm or not', () => {
    const a = alert({ status: 'escalated' });
    const d = decide({
      storm: storm({ cardsUsed: 20 }),
      candidates: [cand(a, { forced: true, record: record(a, { state: 'digested', ts: null }) })],
    });
    expect(d.cards).toBe(1);
    expect(kinds(d.changes)).toEqual(['card', 'escalation']);
  });

  it('a storm ends after a quiet spell: the digest says so', () => {
    expect(decide({ storm: storm({ lastAddedAt: NOW - 60_000 }) }).changes).toEqual([]);
    const d = decide({ storm: storm({ lastAddedAt: NOW - 300_000 }) });
    expect(d.stormEnded).toBe('storm-1');
    expect(d.changes[0]?.storm).toEqual({ op: 'end', id: 'storm-1', at: NOW });
    expect(kinds(d.changes)).toEqual(['digest_update']);
  });

  it('a route may set its own storm threshold', () => {
    const d = decide({ candidates: Array.from({ length: 4 }, () => cand(alert(), { stormThreshold: 3 })) });
    expect(d.stormStarted).toBe('storm-new');
  });
});

describe('candidateBuffer', () => {
  const cand = (a: Alert): Candidate => ({
    key: a.id,
    channel: CH,
    alert: a,
    record: null,
    priority:
      ({ critical: PRIORITY.critical, high: PRIORITY.high, medium: PRIORITY.medium } as Record<string, number>)[
        a.severity ?? ''
      ] ?? PRIORITY.low,
    orderAt: Date.parse(a.createdAt),
    forced: false,
    mention: null,
    stormThreshold: null,
  });
  const storm = { threshold: 20, cards: 5, quietMs: 300_000 };

  it('keeps every alert whole below the threshold', () => {
    const b = candidateBuffer(storm);
    for (let i = 0; i < 20; i++) b.add(cand(alert({ severity: 'low' })));
    expect(b.list().every((c) => !c.slim && c.alert.description !== undefined)).toBe(true);
  });

  it('beyond it, only the most urgent few stay whole; the storm decides the same cards as with everything kept', () => {
    const alerts = Array.from({ length: 500 }, (_, i) =>
      alert({
        severity: (['low', 'medium', 'high', 'critical'] as const)[i % 4],
        createdAt: new Date(Date.parse('2026-11-23T09:00:00.000Z') + ((i * 7919) % 500) * 1000).toISOString(),
      }),
    );
    const b = candidateBuffer(storm);
    for (const a of alerts) b.add(cand(a));
    const whole = b.list().filter((c) => !c.slim);
    expect(whole).toHaveLength(5);
    expect(whole.every((c) => c.alert.severity === 'critical')).toBe(true);
    const slim = b.list().find((c) => c.slim);
    expect(slim?.alert.description).toBeUndefined();
    const decide = (list: Candidate[]) =>
      decideNew(
        { channel: CH, candidates: list, pending: [], storm: null, policy: storm, now: NOW, newStormId: () => 's' },
        fingerprint,
      );
    const carded = (d: ReturnType<typeof decide>) =>
      d.changes.filter((c) => c.enqueue?.some((i) => i.kind === 'card')).map((c) => c.card?.alertId);
    const full = decide(alerts.map(cand));
    const bounded = decide(b.list());
    expect(carded(bounded)).toEqual(carded(full));
    expect(bounded.digested).toBe(full.digested);
    expect(bounded.changes.flatMap((c) => c.members ?? []).map((m) => m.displayId)).toEqual(
      full.changes.flatMap((c) => c.members ?? []).map((m) => m.displayId),
    );
  });
});

describe('reminders (the primary card of a critical or high alert)', () => {
  const remind = (alerts: Alert[], over: Partial<PageInput> = {}, pol: Partial<PlanPolicy> = {}) => {
    const p = page(alerts, [], {
      policy: { ...policy, remindAfterMs: 15 * 60_000, oncall: ['S0ONCALL'], ...pol },
      ...over,
    });
    const out = decideNew(
      {
        channel: CH,
        candidates: p.candidates.filter((c) => c.channel === CH),
        pending: [],
        storm: null,
        policy: { threshold: 20, cards: 20, quietMs: 300_000 },
        now: NOW,
        newStormId: () => 'storm-new',
      },
      fingerprint,
    );
    return out.changes.flatMap((c) => c.enqueue ?? []).filter((i) => i.kind === 'reminder');
  };

  it.each([
    ['critical', 'open', 1],
    ['high', 'escalated', 1],
    ['medium', 'open', 0],
    ['low', 'open', 0],
    [null, 'open', 0],
  ] as const)('%s, %s: %i reminder queued with the card', (severity, status, n) => {
    expect(remind([alert({ severity, status })])).toHaveLength(n);
  });

  it('reminder 1: held the wait from the poll (on the database clock), keyed by card and number, mentioning on-call', () => {
    const a = alert({ severity: 'critical' });
    const [r] = remind([a]);
    expect(r).toMatchObject({
      key: `reminder:${a.id}:1`,
      lane: 'post',
      channel: CH,
      cardKey: a.id,
      holdMs: 15 * 60_000,
      notBefore: NOW + 15 * 60_000,
    });
    expect(JSON.parse(r?.payload ?? '{}')).toEqual({
      alertId: a.id,
      displayId: a.displayId,
      n: 1,
      afterMs: 15 * 60_000,
      oncall: ['S0ONCALL'],
    });
  });

  it('off (0), a route of its own, on-call ids only (never @here / @channel), never for a copy in another channel', () => {
    const a = alert({ severity: 'critical' });
    expect(remind([a], {}, { remindAfterMs: 0 })).toHaveLength(0);
    const routes = parseRoutes(
      JSON.stringify([
        {
          match: { severity: 'critical' },
          channels: [CH, 'C0SOC'],
          oncall: ['U0ANA', 'here'],
          remind_after_minutes: 5,
        },
      ]),
      'routes.json',
    );
    if (!routes.ok) throw new Error(routes.problem);
    const [r, ...more] = remind([a], { routes: routes.routes });
    expect(more).toHaveLength(0);
    expect(r?.holdMs).toBe(5 * 60_000);
    expect(JSON.parse(r?.payload ?? '{}').oncall).toEqual(['U0ANA']);
    const quiet = parseRoutes(JSON.stringify([{ channels: CH, remind_after_minutes: 0 }]), 'routes.json');
    if (!quiet.ok) throw new Error(quiet.problem);
    expect(remind([a], { routes: quiet.routes })).toHaveLength(0);
  });
});
