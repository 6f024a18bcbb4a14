/**
 * The poll cycle on a fake clock: the real poller, the real Cotool client (its `fetch` served from
 * memory), the real SQLite store in memory. What a cycle writes is read back from the store.
 */

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { outboxKey } from '../../src/core/outbox.ts';
import { createCotoolClient } from '../../src/cotool/client.ts';
import { createLogger } from '../../src/log.ts';
import { createPoller } from '../../src/notify/poller.ts';
import { signalling } from '../../src/notify/sender/signal.ts';
import type { Store } from '../../src/ports.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { createHealth, type HealthState } from '../../src/telemetry/health.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';
import { type CotoolAlert, makeAlert } from '../e2e/fakes/cotool.ts';

const T0 = Date.parse('2026-12-01T09:00:00Z');
const CH = 'C0ALERTS';

type Fault = 'http_500' | 'bad_json';

function world() {
  let now = T0;
  const alerts: CotoolAlert[] = [];
  const faults: { afterRequests: number; fault: Fault }[] = [];
  let requests = 0;
  const fetchFake: typeof fetch = async (input, init) => {
    const req = input instanceof Request ? input : new Request(String(input), init);
    const url = new URL(req.url);
    requests++;
    const fault = faults.find((f) => f.afterRequests < requests);
    if (fault) {
      faults.splice(faults.indexOf(fault), 1);
      return fault.fault === 'http_500'
        ? new Response('boom', { status: 500 })
        : new Response('{"alerts": [', { status: 200, headers: { 'content-type': 'application/json' } });
    }
    if (url.pathname !== '/api/alerts') return new Response('{}', { status: 404 });
    const statuses = (url.searchParams.get('status') ?? '').split(',').filter(Boolean);
    const limit = Number(url.searchParams.get('limit') ?? 50);
    const offset = Number(url.searchParams.get('offset') ?? 0);
    const listed = alerts.filter((a) => statuses.length === 0 || statuses.includes(a.status));
    return Response.json({ alerts: listed.slice(offset, offset + limit), totalCount: listed.length });
  };
  const logger = createLogger('silent');
  const cotool = createCotoolClient({
    baseUrl: 'http://cotool.invalid',
    apiKey: 'test-key',
    logger,
    fetch: fetchFake,
    retryLimit: 0,
  });
  let enqueued = 0;
  // The sender is woken through the store the poller writes with (one signal).
  const store: Store = signalling(openSqliteStore(':memory:'), () => enqueued++);
  const health: HealthState = createHealth('socket');
  let leader = true;
  const poller = createPoller({
    metrics: createMetrics(),
    store,
    cotool,
    render: { fingerprint: (a) => `${a.status}|${a.severity}|${a.title}|${a.updatedAt}` },
    defaultChannel: CH,
    routes: [],
    policy: { minSeverity: null, sources: [], backlog: 'all', backlogMaxAgeMs: 86_400_000 },
    storm: { threshold: 5, cards: 2, quietMs: 10 * 60_000 },
    health,
    logger,
    clock: () => now,
    isLeader: () => leader,
  });
  return {
    store,
    health,
    poller,
    alerts,
    get enqueued() {
      return enqueued;
    },
    set leader(v: boolean) {
      leader = v;
    },
    advance(ms: number) {
      now += ms;
    },
    now: () => now,
    fail(fault: Fault, afterRequests = 0) {
      faults.push({ afterRequests: requests + afterRequests, fault });
    },
    add(over: Partial<CotoolAlert> = {}): CotoolAlert {
      const a = makeAlert({ createdAt: new Date(now).toISOString(), updatedAt: new Date(now).toISOString(), ...over });
      alerts.push(a);
      return a;
    },
    change(a: CotoolAlert, over: Partial<CotoolAlert>) {
      Object.assign(a, over, { updatedAt: new Date(now).toISOString() });
    },
    async outbox() {
      return (await store.listOutbox()).map((i) => `${i.kind}:${i.cardKey ?? JSON.parse(i.payload).stormId}`);
    },
  };
}

type World = ReturnType<typeof world>;

describe('poll cycle', () => {
  let w: World;
  beforeEach(async () => {
    w = world();
    // Bootstrapped before these tests: an empty first start (no backlog to decide).
    expect((await w.poller.runOnce()).ok).toBe(true);
  });
  afterEach(() => w.store.close());

  it('a new alert is queued once as a card, with its alert; a steady poll then writes nothing', async () => {
    const a = w.add({ severity: 'critical' });
    w.advance(10_000);
    const r1 = await w.poller.runOnce();
    expect(r1).toMatchObject({ ok: true, live: 1, queued: 1, digested: 0 });
    expect(await w.outbox()).toEqual([`card:${a.id}`]);
    expect(await w.store.get(a.id)).toMatchObject({ state: 'queued', status: 'open', channel: CH });
    expect(w.enqueued).toBe(1);

    w.advance(10_000);
    const r2 = await w.poller.runOnce();
    expect(r2).toMatchObject({ ok: true, live: 1, changes: 0, queued: 0 });
    expect(await w.outbox()).toEqual([`card:${a.id}`]);
    expect(w.enqueued).toBe(1);
    expect(w.health.lastSuccessfulPollAt).toBe(new Date(w.now()).toISOString());
  });

  it('a follower does nothing', async () => {
    w.add();
    w.leader = false;
    const r = await w.poller.runOnce();
    expect(r).toMatchObject({ follower: true, ok: true, changes: 0 });
    expect(await w.outbox()).toEqual([]);
  });

  it('a posted card whose alert escalates gets one card update and one notice; not again while it stays escalated', async () => {
    const a = w.add({ severity: 'high' });
    await w.poller.runOnce();
    // The sender posted it.
    const rec = await w.store.get(a.id);
    const [item] = await w.store.listOutbox();
    await w.store.apply([
      {
        card: { op: 'update', alertId: a.id, expectVersion: rec?.version, set: { state: 'posted', ts: '1.1' } },
        dequeue: [item?.key ?? ''],
      },
    ]);
    w.advance(10_000);
    w.change(a, { status: 'escalated' });
    await w.poller.runOnce();
    const keys = (await w.store.listOutbox()).map((i) => i.key).sort();
    expect(keys).toEqual([outboxKey.cardUpdate(a.id), outboxKey.escalation(a.id, a.updatedAt)].sort());
    w.advance(10_000);
    expect((await w.poller.runOnce()).changes).toBe(0);
    expect(await w.store.listOutbox()).toHaveLength(2);
  });

  it('a posted card whose alert left a complete listing is refreshed once; a failed listing says nothing of it', async () => {
    const a = w.add();
    const b = w.add();
    await w.poller.runOnce();
    for (const x of [a, b]) {
      const rec = await w.store.get(x.id);
      await w.store.apply([
        {
          card: { op: 'update', alertId: x.id, expectVersion: rec?.version, set: { state: 'posted', ts: `1.${x.id}` } },
          dequeue: [outboxKey.card(x.id)],
        },
      ]);
    }
    w.change(a, { status: 'closed_false_positive' });
    // The listing fails half-way: nothing is concluded about a.
    w.fail('http_500', 0);
    w.advance(10_000);
    const failed = await w.poller.runOnce();
    expect(failed.ok).toBe(false);
    expect(w.health.consecutiveFailures).toBe(1);
    expect(w.health.lastError?.source).toBe('cotool');
    expect(await w.outbox()).toEqual([]);
    // Complete again: a's card is refreshed (it left the live set), b's is not.
    w.advance(10_000);
    const ok = await w.poller.runOnce();
    expect(ok.ok).toBe(true);
    expect(w.health.consecutiveFailures).toBe(0);
    expect(await w.outbox()).toEqual([`card_update:${a.id}`]);
  });

  it('above the storm threshold: cards for the most urgent only, the rest in one digest; the storm ends after a quiet spell', async () => {
    const crit = [w.add({ severity: 'critical' }), w.add({ severity: 'critical' })];
    const low = Array.from({ length: 6 }, () => w.add({ severity: 'low' }));
    w.advance(10_000);
    const r = await w.poller.runOnce();
    expect(r).toMatchObject({ ok: true, queued: 2, digested: 6 });
    const [storm] = await w.store.activeStorms();
    expect(storm?.channel).toBe(CH);
    const cards = (await w.store.listOutbox({ kind: 'card' })).map((i) => i.cardKey).sort();
    expect(cards).toEqual(crit.map((a) => a.id).sort());
    expect((await w.store.listOutbox({ kind: 'digest' })).map((i) => i.key)).toEqual([
      outboxKey.digest(storm?.id ?? ''),
    ]);
    const members = await w.store.stormMembers(storm?.id ?? '');
    expect(members.map((m) => m.alertId).sort()).toEqual(low.map((a) => a.id).sort());

    // Quiet for longer than STORM_QUIET: the storm ends, and its digest is redrawn to say so.
    w.advance(11 * 60_000);
    await w.poller.runOnce();
    expect(await w.store.activeStorms()).toEqual([]);
    expect((await w.store.getStorm(storm?.id ?? ''))?.endedAt).toBe(w.now());
  });

  it('a storm never folds a queued card whose earlier attempt has an unknown outcome', async () => {
    const sent = w.add({ severity: 'medium' });
    await w.poller.runOnce();
    // The sender tried it: Slack answered 5xx (the card may be in the channel).
    const { token } = await w.store.tryLease('test-me', 'me', 600_000);
    const fence = { lease: 'test-me', token };
    const claimed = await w.store.claimNext({ lane: 'post', channel: CH, owner: 'me', staleMs: 60_000, fence });
    expect(claimed?.key).toBe(outboxKey.card(sent.id));
    await w.store.retryOutbox(claimed?.key ?? '', 'me', fence, 60_000, true);
    // A plain queued card of the same severity, surely unsent.
    const unsent = w.add({ severity: 'medium' });
    await w.poller.runOnce();
    // Now a storm: both queued cards are below the storm's urgency.
    for (let i = 0; i < 6; i++) w.add({ severity: 'critical' });
    w.advance(10_000);
    await w.poller.runOnce();
    const [storm] = await w.store.activeStorms();
    const members = (await w.store.stormMembers(storm?.id ?? '')).map((m) => m.alertId);
    expect(members).toContain(unsent.id);
    expect(members).not.toContain(sent.id);
    expect(await w.store.get(sent.id)).toMatchObject({ state: 'queued', stormId: null });
    expect((await w.store.listOutbox({ kind: 'card' })).find((i) => i.cardKey === sent.id)?.unknown).toBe(true);
  });

  it('an unparseable listing counts as a failed poll and keeps what earlier pages recorded', async () => {
    const a = w.add();
    w.fail('bad_json', 0);
    const r = await w.poller.runOnce();
    expect(r.ok).toBe(false);
    expect(await w.store.get(a.id)).toBeNull();
    const again = await w.poller.runOnce();
    expect(again.ok).toBe(true);
    expect(await w.store.get(a.id)).toMatchObject({ state: 'queued' });
  });
});

describe('first start', () => {
  it('marks itself bootstrapped only after a complete listing', async () => {
    const w = world();
    w.add();
    w.fail('http_500', 0);
    expect((await w.poller.runOnce()).ok).toBe(false);
    expect(await w.store.getMeta('bootstrapped_at')).toBeNull();
    expect((await w.poller.runOnce()).ok).toBe(true);
    expect(await w.store.getMeta('bootstrapped_at')).toBe(new Date(T0).toISOString());
    await w.store.close();
  });
});
