import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PruneQuery, PruneResult } from '../../src/core/records.ts';
import { createLogger } from '../../src/log.ts';
import { ABANDONED_CLAIM_MS, createRetention, PRUNE_STEPS } from '../../src/notify/retention.ts';
import type { Store } from '../../src/ports.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-01T00:00:00.000Z');
const logger = createLogger('silent');

/** A store whose prune answers from a script: how many rows each call of a kind deletes. */
function fakeStore(script: Partial<Record<PruneQuery['kind'], number[]>>, onCall?: (q: PruneQuery) => void) {
  const calls: PruneQuery[] = [];
  const store: Pick<Store, 'prune'> = {
    async prune(q) {
      calls.push(q);
      onCall?.(q);
      const n = script[q.kind]?.shift() ?? 0;
      const tables: PruneResult['tables'] = { [q.kind]: n };
      if (q.kind === 'cards') tables.meta = n * 2;
      return { deleted: n, tables };
    },
  };
  return { store, calls };
}

describe('retention job', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('prunes every step in order, in batches of batchSize with a pause between, until a batch is short', async () => {
    const { store, calls } = fakeStore({
      outbox: [2],
      cards: [3, 3, 1],
      war_rooms: [1],
      storm_members: [3, 0],
      storms: [1],
      mute_members: [3, 2],
      mutes: [1],
      questions: [2],
    });
    const sleeps: number[] = [];
    const metrics = createMetrics();
    const job = createRetention({
      store,
      retentionMs: 30 * DAY,
      isLeader: () => true,
      logger,
      metrics,
      clock: () => NOW,
      batchSize: 3,
      pauseMs: 25,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    const run = await job.run();
    expect(run).toEqual({
      complete: true,
      batches: 15,
      rows: {
        outbox: 2,
        cards: 7,
        meta: 14,
        war_rooms: 1,
        storm_members: 3,
        storms: 1,
        mute_members: 5,
        mutes: 1,
        questions: 2,
      },
    });
    expect(calls.map((c) => c.kind)).toEqual([
      'outbox',
      'cards',
      'cards',
      'cards',
      'war_rooms',
      'storm_members',
      'storm_members',
      'storms',
      'mute_members',
      'mute_members',
      'mutes',
      'close_requests',
      'questions',
      'once_keys',
      'action_claims',
    ]);
    expect(new Set(calls.map((c) => c.kind))).toEqual(new Set(PRUNE_STEPS));
    // A pause after each full batch only.
    expect(sleeps).toEqual([25, 25, 25, 25]);
    expect(calls.every((c) => c.limit === 3)).toBe(true);
    // Cut-offs: the retention for alert rows, now for expired keys, a day for abandoned claims.
    const cut = Object.fromEntries(calls.map((c) => [c.kind, c.before]));
    expect(cut).toEqual({
      outbox: NOW - 30 * DAY,
      cards: NOW - 30 * DAY,
      storm_members: NOW - 30 * DAY,
      storms: NOW - 30 * DAY,
      close_requests: NOW - 30 * DAY,
      war_rooms: NOW - 30 * DAY,
      mute_members: NOW - 30 * DAY,
      mutes: NOW - 30 * DAY,
      questions: NOW - 30 * DAY,
      once_keys: NOW,
      action_claims: NOW - ABANDONED_CLAIM_MS,
    });
    expect(calls.find((c) => c.kind === 'cards')?.metaPrefixes).toEqual(['timeline:', 'timeline-sending:']);
    const text = await metrics.render();
    expect(text).toContain('cotool_slack_pruned_rows_total{table="cards"} 7');
    expect(text).toContain('cotool_slack_pruned_rows_total{table="meta"} 14');
    expect(text).toContain(`cotool_slack_last_prune_timestamp_seconds ${NOW / 1000}`);
  });

  it('a follower prunes nothing; a leader that loses the lease stops at the next batch', async () => {
    let leader = false;
    const { store, calls } = fakeStore({ cards: [2, 2, 2, 2] }, (q) => {
      if (q.kind === 'cards' && calls.length === 3) leader = false; // lost during the second cards batch
    });
    const job = createRetention({
      metrics: createMetrics(),
      store,
      retentionMs: DAY,
      isLeader: () => leader,
      logger,
      clock: () => NOW,
      batchSize: 2,
      sleep: async () => undefined,
    });
    expect(await job.run()).toEqual({ complete: false, rows: {}, batches: 0 });
    expect(calls).toEqual([]);
    leader = true;
    const run = await job.run();
    expect(run.complete).toBe(false);
    expect(calls.map((c) => c.kind)).toEqual(['outbox', 'cards', 'cards']);
    expect(run.rows).toEqual({ cards: 4, meta: 8 });
  });

  it('never overlaps: a run asked for while one is in flight is the same run', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let first = true;
    const calls: string[] = [];
    const store: Pick<Store, 'prune'> = {
      async prune(q) {
        calls.push(q.kind);
        if (first) {
          first = false;
          await gate;
        }
        return { deleted: 0, tables: {} };
      },
    };
    const job = createRetention({
      store,
      retentionMs: DAY,
      isLeader: () => true,
      logger,
      metrics: createMetrics(),
      clock: () => NOW,
    });
    const a = job.run();
    const b = job.run();
    expect(b).toBe(a);
    release();
    await a;
    expect(calls).toEqual([...PRUNE_STEPS]);
    await job.run(); // a later run is a new one
    expect(calls).toHaveLength(PRUNE_STEPS.length * 2);
  });

  it('a store error ends the run (not complete, no last-prune time) and the next run starts over', async () => {
    let fail = true;
    const calls: string[] = [];
    const store: Pick<Store, 'prune'> = {
      async prune(q) {
        calls.push(q.kind);
        if (fail && q.kind === 'cards') throw new Error('database is locked');
        return { deleted: 0, tables: {} };
      },
    };
    const metrics = createMetrics();
    const job = createRetention({ store, retentionMs: DAY, isLeader: () => true, logger, metrics, clock: () => NOW });
    expect((await job.run()).complete).toBe(false);
    expect(await metrics.render()).toContain('cotool_slack_last_prune_timestamp_seconds 0');
    fail = false;
    expect((await job.run()).complete).toBe(true);
    expect(calls.slice(0, 3)).toEqual(['outbox', 'cards', 'outbox']);
  });

  it('runs shortly after election and then every hour; stop cancels both', async () => {
    vi.useFakeTimers();
    const { store, calls } = fakeStore({});
    const job = createRetention({
      metrics: createMetrics(),
      store,
      retentionMs: DAY,
      isLeader: () => true,
      logger,
      clock: () => NOW,
      firstDelayMs: 60_000,
      everyMs: 3_600_000,
    });
    job.start();
    job.elected();
    job.elected(); // one first run, however often told
    await vi.advanceTimersByTimeAsync(59_999);
    expect(calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(PRUNE_STEPS.length);
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(calls).toHaveLength(PRUNE_STEPS.length * 2);
    await job.stop();
    await vi.advanceTimersByTimeAsync(10 * 3_600_000);
    expect(calls).toHaveLength(PRUNE_STEPS.length * 2);
    expect((await job.run()).complete).toBe(false); // stopped: no more runs
  });
});
