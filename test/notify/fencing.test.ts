/**
 * Two replicas on one database, one of them with a clock two minutes ahead, and a pause (GC, VM
 * freeze) of the leader right before a Slack write while the lease changes hands: every item is
 * posted exactly once. Before fencing, the replica ahead judged the paused leader's claim stale at
 * once (its clock said two minutes had passed), and the paused leader, waking up, wrote anyway.
 */

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { NewOutboxItem } from '../../src/core/records.ts';
import { createLogger } from '../../src/log.ts';
import { createLeadership } from '../../src/notify/leader.ts';
import { createSender } from '../../src/notify/sender/loop.ts';
import type { CardRenderer, OutgoingMessage, SlackPort, Store } from '../../src/ports.ts';
import { openPostgresStore } from '../../src/store/postgres.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { createHealth } from '../../src/telemetry/health.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';

const CHANNEL = 'C0FENCE';
const STALE_MS = 1_500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(10);
  }
}

/** Slack as the senders see it: who posted what (by outbox key), and look-ups by key. */
function fakeSlack() {
  const posts: { key: string; by: string }[] = [];
  const port = (by: string): SlackPort => ({
    async post(m: OutgoingMessage) {
      await sleep(5);
      posts.push({ key: String(m.metadata?.event_payload.key), by });
      return { channel: m.channel, ts: `${posts.length}.0` };
    },
    async update() {},
    async findMessage(q) {
      const i = posts.findIndex((p) => p.key === q.key);
      return i < 0 ? 'absent' : { found: `${i + 1}.0` };
    },
    classify: () => ({
      code: 'unknown',
      channelProblem: false,
      authProblem: false,
      hint: null,
      meaning: 'retry' as const,
      outcomeUnknown: false,
      retryAfterSec: null,
    }),
  });
  return { posts, port };
}

/** A store whose process can be frozen: no call of it goes out until it is resumed. */
function freezable(store: Store, onFrozenAtTouch: (key: string) => void) {
  let gate: Promise<void> | null = null;
  let thaw = () => {};
  let freezeAtNextTouch = false;
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (prop === 'touchClaim' && freezeAtNextTouch) {
          freezeAtNextTouch = false;
          gate = new Promise((resolve) => {
            thaw = () => {
              gate = null;
              resolve();
            };
          });
          onFrozenAtTouch(String(args[0]));
        }
        while (gate) await gate;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, freezeBeforeNextWrite: () => (freezeAtNextTouch = true), thaw: () => thaw() };
}

const stops: (() => Promise<void>)[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** One database both replicas share; each replica opens its own store (its own connections) on it. */
type Db = { open(clock: () => number): Promise<Store> };

function sqliteDb(): Db {
  const dir = mkdtempSync(join(tmpdir(), 'cotool-fencing-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'bot.db');
  return { open: async (clock) => openSqliteStore(path, { clock }) };
}

const pgUrl = process.env.TEST_DATABASE_URL;
function postgresDb(): Db {
  const schema = `fencing_${process.pid}_${randomBytes(3).toString('hex')}`;
  cleanups.push(async () => {
    const c = new pg.Client({ connectionString: pgUrl });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
    await c.end();
  });
  return { open: (clock) => openPostgresStore(pgUrl ?? '', { clock, schema }) };
}

const engines: [string, () => Db][] = [['SQLite file', sqliteDb]];
if (pgUrl) engines.push(['PostgreSQL', postgresDb]);

async function replica(db: Db, owner: string, clock: () => number, slack: SlackPort, onFrozen: (key: string) => void) {
  const raw = await db.open(clock);
  const f = freezable(raw, onFrozen);
  const health = createHealth('socket');
  const logger = createLogger('silent');
  const leadership = createLeadership({
    store: f.store,
    owner,
    ttlMs: 1_500,
    health,
    logger,
    metrics: createMetrics(),
  });
  const sender = createSender({
    metrics: createMetrics(),
    store: f.store,
    slack,
    render: {} as CardRenderer,
    cotool: {} as never,
    health,
    logger,
    owner,
    pace: { postRatePerSec: 1_000, postBurst: 1_000, updatesPerMinute: 60_000 },
    channels: [CHANNEL],
    claimStaleMs: STALE_MS,
    isLeader: leadership.isLeader,
    fence: leadership.fence,
    clock,
    idleMs: 20,
    retryBaseMs: 20,
    unknownSettleMs: 20,
  });
  stops.push(async () => {
    f.thaw();
    await sender.stop(2_000);
    await leadership.stop();
    await raw.close();
  });
  return { raw, leadership, sender, ...f };
}

const reply = (n: number): NewOutboxItem => ({
  key: `reply:a${n}:note`,
  kind: 'reply',
  lane: 'post',
  channel: CHANNEL,
  cardKey: `a${n}`,
  priority: 5,
  orderAt: n,
  payload: JSON.stringify({ alertId: `a${n}`, threadTs: '1.0', view: { text: `note ${n}`, blocks: [] } }),
});

describe.each(engines)(
  'fencing on %s: two senders, one clock two minutes ahead, a leader paused mid-send',
  (_engine, database) => {
    it.each([
      ['the new leader runs 2 minutes ahead', 0, 120_000],
      ['the paused leader runs 2 minutes ahead', 120_000, 0],
    ])('%s: every item is posted exactly once', async (_name, skewA, skewB) => {
      const db = database();
      const slack = fakeSlack();
      let frozenKey: string | null = null;
      const a = await replica(
        db,
        'replica-a',
        () => Date.now() + skewA,
        slack.port('a'),
        (k) => (frozenKey = k),
      );
      const b = await replica(
        db,
        'replica-b',
        () => Date.now() + skewB,
        slack.port('b'),
        () => {},
      );
      const n = 40;
      await a.raw.apply([{ enqueue: Array.from({ length: n }, (_, i) => reply(i)) }]);

      await a.leadership.start();
      await b.leadership.start();
      expect(a.leadership.isLeader()).toBe(true);
      expect(b.leadership.isLeader()).toBe(false);
      a.sender.start();
      b.sender.start();
      await until(() => slack.posts.length >= 5);

      // The leader freezes between its claim and its write; its lease lapses and changes hands.
      a.freezeBeforeNextWrite();
      await until(() => frozenKey !== null);
      const key = frozenKey as unknown as string;
      const claimedByA = (await b.raw.listOutbox()).find((i) => i.key === key);
      expect(claimedByA).toMatchObject({ state: 'claimed', owner: 'replica-a' });
      await until(() => b.leadership.isLeader());
      const fenceB = b.leadership.fence();
      expect(fenceB?.token).toBe((claimedByA?.fence ?? 0) + 1);

      // The new leader sends the rest, and takes the frozen claim over only once it is stale on the
      // database's clock — whatever either replica's clock says.
      await until(() => slack.posts.some((p) => p.key === key));
      const post = slack.posts.find((p) => p.key === key);
      expect(post?.by).toBe('b');
      await until(() => slack.posts.length >= n);

      // The old leader wakes up and would write the item it had claimed: its fence no longer holds.
      a.thaw();
      await sleep(500);
      expect(a.leadership.isLeader()).toBe(false);
      await until(async () => (await b.raw.listOutbox()).length === 0);

      const keys = slack.posts.map((p) => p.key);
      expect(keys).toHaveLength(n);
      expect(new Set(keys).size).toBe(n);
      expect(slack.posts.filter((p) => p.key === key)).toEqual([{ key, by: 'b' }]);
    });

    it('the takeover waits for the claim to be stale on the database clock, not on the replica ahead', async () => {
      const db = database();
      const slack = fakeSlack();
      let frozenAt = 0;
      const a = await replica(db, 'replica-a', Date.now, slack.port('a'), () => (frozenAt = Date.now()));
      const b = await replica(
        db,
        'replica-b',
        () => Date.now() + 120_000,
        slack.port('b'),
        () => {},
      );
      await a.raw.apply([{ enqueue: [reply(1)] }]);
      await a.leadership.start();
      await b.leadership.start();
      a.freezeBeforeNextWrite();
      a.sender.start();
      b.sender.start();
      await until(() => frozenAt > 0);
      const [held] = await b.raw.listOutbox();
      await until(() => slack.posts.length === 1);
      const tookOver = Date.now();
      // Not before the claim (made by the frozen leader) was STALE_MS old by the database's clock.
      expect(tookOver - (held?.claimedAt ?? 0)).toBeGreaterThanOrEqual(STALE_MS);
      a.thaw();
      await sleep(500);
      expect(slack.posts).toEqual([{ key: 'reply:a1:note', by: 'b' }]);
    });
  },
);
