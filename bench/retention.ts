/**
 * Retention benchmark: 1,000,000 alerts created and closed over simulated months against a real
 * store (a SQLite file in a temp dir; PostgreSQL with `--engine postgres` and TEST_DATABASE_URL),
 * with a simulated clock. The store is driven as the poller and the sender drive it — records
 * inserted with their card in the outbox, posted (a sample through claimNext/completeOutbox, the
 * rest as the same writes applied in batches), closed (planGone's final mark and card update,
 * then the redraw), storms with their members and digests, timeline cursors, four-eyes requests,
 * clicks (first-time keys, action claims), and a channel that refuses the bot — and the retention
 * job runs once a simulated day. One row per simulated month: the alerts so far, rows per table and
 * the database size, which must go flat once the retention window is full.
 *
 *   node bench/retention.ts [--alerts 1000000] [--days 240] [--retention-days 30] [--engine sqlite|postgres]
 *
 * The full run costs about 7 CPU-minutes (SQLite; mostly the store's own writes); `--alerts` scales it.
 * PostgreSQL defaults to 200,000 alerts (every write is a round trip).
 */

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { Change, NewOutboxItem, StormMember } from '../src/core/records.ts';
import { createLogger } from '../src/log.ts';
import { createRetention, type PruneRun } from '../src/notify/retention.ts';
import { encodeCursor } from '../src/notify/timeline-relay.ts';
import type { Store } from '../src/ports.ts';
import { openPostgresStore } from '../src/store/postgres.ts';
import { openSqliteStore } from '../src/store/sqlite.ts';
import { createMetrics } from '../src/telemetry/metrics.ts';

const { values: args } = parseArgs({
  options: {
    alerts: { type: 'string' },
    days: { type: 'string', default: '240' },
    'retention-days': { type: 'string', default: '30' },
    engine: { type: 'string', default: 'sqlite' },
  },
});
const ENGINE = args.engine === 'postgres' ? 'postgres' : 'sqlite';
const ALERTS = Number(args.alerts ?? (ENGINE === 'postgres' ? 200_000 : 1_000_000));
const DAYS = Number(args.days);
const RETENTION_DAYS = Number(args['retention-days']);
const DAY = 86_400_000;
const HOUR = 3_600_000;
const MONTH_DAYS = 30;
const START = Date.parse('2026-01-01T00:00:00.000Z');
const CHANNEL = 'C0ALERTS';
/** A channel the bot was removed from: its cards are tried and refused, forever. */
const REFUSED = 'C0REFUSED';
const BATCH = 1_000;

let now = START;
const clock = () => now;
const iso = (t: number) => new Date(t).toISOString();

type Sim = { id: string; n: number; createdAt: number; kind: 'card' | 'digested' | 'refused'; stormId: string | null };

/** About what a card item carries: the alert as listed. */
function alertJson(a: Sim): string {
  return JSON.stringify({
    id: a.id,
    displayId: `COT-${a.n}`,
    title: `Impossible travel for user${a.n % 997}@acme.test from 203.0.113.${a.n % 250}`,
    description: 'Sign-in from two countries within 10 minutes; the second from a hosting provider ASN.',
    severity: ['low', 'medium', 'high', 'critical'][a.n % 4],
    status: 'open',
    createdAt: iso(a.createdAt),
    updatedAt: iso(a.createdAt),
    organizationName: 'Acme',
    detection: { id: `det-${a.n % 40}`, name: `Detection ${a.n % 40}`, kind: 'cotool', agentId: null },
    source: { category: 'detection', name: 'okta', triggerType: null },
    assignee: null,
    tags: ['identity', 'travel'],
  });
}

function cardItem(a: Sim, channel: string, payload: string): NewOutboxItem {
  return {
    key: `card:${a.id}`,
    kind: 'card',
    lane: 'post',
    channel,
    cardKey: a.id,
    priority: 3,
    orderAt: a.createdAt,
    payload,
  };
}

function member(a: Sim, stormId: string): StormMember {
  return {
    stormId,
    alertId: a.id,
    displayId: `COT-${a.n}`,
    groupKey: `det-${a.n % 40}`,
    groupName: `Detection ${a.n % 40}`,
    severity: ['low', 'medium', 'high', 'critical'][a.n % 4] ?? null,
    status: 'open',
    title: `Impossible travel for user${a.n % 997}@acme.test`,
    createdAt: iso(a.createdAt),
    updatedAt: iso(a.createdAt),
  };
}

async function applyAll(store: Store, changes: Change[]): Promise<void> {
  for (let i = 0; i < changes.length; i += BATCH) {
    const r = await store.apply(changes.slice(i, i + BATCH));
    if (r.conflicts > 0) throw new Error(`unexpected conflicts: ${r.conflicts}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Engines: a store on a fresh database, its table counts and its size.

type Engine = {
  store: Store;
  counts(): Promise<Record<string, number>>;
  size(): Promise<{ bytes: number; free: number; file: number }>;
  close(): Promise<void>;
};

const TABLES = ['cards', 'outbox', 'meta', 'storms', 'storm_members', 'close_requests', 'once_keys', 'action_claims'];

async function openEngine(): Promise<Engine> {
  if (ENGINE === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'cotool-slack-retention-'));
    const path = join(dir, 'bot.db');
    // Claims, holds and retries on the simulated clock too (the database's clock, for SQLite the machine's).
    const store = openSqliteStore(path, { clock, dbClock: clock });
    const db = new DatabaseSync(path, { readOnly: true });
    const one = (sql: string) => Number(Object.values(db.prepare(sql).get() ?? {})[0] ?? 0);
    const fileSize = (p: string) => {
      try {
        return statSync(p).size;
      } catch {
        return 0;
      }
    };
    return {
      store,
      async counts() {
        return Object.fromEntries(TABLES.map((t) => [t, one(`SELECT COUNT(*) FROM ${t}`)]));
      },
      async size() {
        const pageSize = one('PRAGMA page_size');
        return {
          bytes: one('PRAGMA page_count') * pageSize,
          free: one('PRAGMA freelist_count') * pageSize,
          file: fileSize(path) + fileSize(`${path}-wal`),
        };
      },
      async close() {
        db.close();
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('--engine postgres needs TEST_DATABASE_URL');
  const name = `retention_bench_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(url);
  u.pathname = `/${name}`;
  const store = await openPostgresStore(u.toString(), { clock });
  const client = new pg.Client({ connectionString: u.toString() });
  await client.connect();
  const one = async (sql: string) => Number(Object.values((await client.query(sql)).rows[0] ?? {})[0] ?? 0);
  return {
    store,
    async counts() {
      const out: Record<string, number> = {};
      for (const t of TABLES) out[t] = await one(`SELECT COUNT(*) FROM ${t}`);
      return out;
    },
    async size() {
      // What autovacuum would have done by now on a live server: freed space reusable.
      await client.query('VACUUM');
      const bytes = await one('SELECT pg_database_size(current_database())');
      return { bytes, free: 0, file: bytes };
    },
    async close() {
      await client.end();
      await store.close();
      await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const engine = await openEngine();
  const { store } = engine;
  const retention = createRetention({
    metrics: createMetrics(),
    store,
    retentionMs: RETENTION_DAYS * DAY,
    isLeader: () => true,
    logger: createLogger('silent'),
    clock,
    pauseMs: 0,
    sleep: async () => undefined,
  });
  const perDay = Math.ceil(ALERTS / DAYS);
  const byDay: Sim[][] = [];
  const storms: { id: string; day: number }[] = [];
  let made = 0;
  let pruneMs = 0;
  const pruned: Record<string, number> = {};
  const t0 = performance.now();

  console.log(
    `retention bench: ${ALERTS.toLocaleString('en')} alerts over ${DAYS} simulated days (${perDay}/day), ` +
      `RETENTION_DAYS=${RETENTION_DAYS}, ${ENGINE}\n`,
  );
  const header = [
    'month',
    'alerts',
    'cards',
    'outbox',
    'meta',
    'storms',
    'members',
    'requests',
    'once',
    'claims',
    'db MB',
    'free MB',
    'file MB',
    'pruned',
  ];
  const widths = [5, 9, 8, 7, 7, 6, 8, 8, 6, 6, 7, 7, 7, 9];
  const line = (cells: string[]) => console.log(cells.map((c, i) => c.padStart(widths[i] ?? 8)).join(' '));
  line(header);
  let prunedThisMonth = 0;

  for (let day = 0; day < DAYS; day++) {
    const dayStart = START + day * DAY;

    // 00:30 — yesterday's storm is over: the poller ends it and its digest is redrawn (sent).
    now = dayStart + 30 * 60_000;
    for (const s of storms.filter((x) => x.day === day - 1)) {
      await applyAll(store, [
        {
          storm: { op: 'end', id: s.id, at: now },
          enqueue: [
            {
              key: `digest_update:${s.id}`,
              kind: 'digest_update',
              lane: 'update',
              channel: CHANNEL,
              cardKey: null,
              priority: 2,
              orderAt: now,
              payload: JSON.stringify({ stormId: s.id }),
            },
          ],
        },
      ]);
      now += 1_000;
      await applyAll(store, [{ dequeue: [`digest_update:${s.id}`] }]);
    }

    // 01:00 — today's alerts. Every fourth day a storm: 40 % of that day's alerts go to one digest.
    now = dayStart + HOUR;
    const count = Math.min(perDay, ALERTS - made);
    const stormDay = day % 4 === 3;
    const stormId = stormDay ? randomUUID() : null;
    const today: Sim[] = [];
    for (let i = 0; i < count; i++) {
      const n = made + i + 1;
      const kind = n % 500 === 0 ? 'refused' : stormId && i % 5 < 2 ? 'digested' : 'card';
      today.push({ id: randomUUID(), n, createdAt: now + i * 10, kind, stormId: kind === 'digested' ? stormId : null });
    }
    made += count;
    byDay[day] = today;
    const create: Change[] = [];
    if (stormId) {
      storms.push({ id: stormId, day });
      create.push({
        storm: { op: 'open', id: stormId, channel: CHANNEL, at: now },
        enqueue: [
          {
            key: `digest:${stormId}`,
            kind: 'digest',
            lane: 'post',
            channel: CHANNEL,
            cardKey: null,
            priority: 2,
            orderAt: now,
            payload: JSON.stringify({ stormId }),
          },
        ],
      });
    }
    for (const a of today) {
      if (a.kind === 'digested') {
        create.push({
          card: {
            op: 'insert',
            alertId: a.id,
            displayId: `COT-${a.n}`,
            state: 'digested',
            channel: CHANNEL,
            status: 'open',
            updatedAt: iso(a.createdAt),
            fingerprint: null,
            stormId: a.stormId,
          },
          members: [member(a, a.stormId as string)],
        });
        continue;
      }
      const channel = a.kind === 'refused' ? REFUSED : CHANNEL;
      create.push({
        card: {
          op: 'insert',
          alertId: a.id,
          displayId: `COT-${a.n}`,
          state: 'queued',
          channel,
          status: 'open',
          updatedAt: iso(a.createdAt),
          fingerprint: `fp-${a.n}`,
        },
        enqueue: [cardItem(a, channel, `{"alertId":"${a.id}","alert":${alertJson(a)}}`)],
      });
    }
    await applyAll(store, create);

    // 01:05 — the sender: a sample through the real claim and completion, the rest as the same writes.
    now = dayStart + HOUR + 5 * 60_000;
    // The sender sends under a lease (its fence), renewed each simulated day.
    const fence = { lease: 'bench', token: (await store.tryLease('bench', 'bench', 10 * DAY)).token };
    let viaClaim = 0;
    for (;;) {
      const item =
        viaClaim < 20
          ? await store.claimNext({ lane: 'post', channel: CHANNEL, owner: 'bench', staleMs: 60_000, fence })
          : null;
      if (!item) break;
      viaClaim++;
      const changes: Change[] =
        item.kind === 'digest'
          ? [{ storm: { op: 'posted', id: JSON.parse(item.payload).stormId, ts: `${now / 1000}.000100` } }]
          : [
              {
                card: {
                  op: 'update',
                  alertId: item.cardKey as string,
                  expectState: 'queued',
                  set: { state: 'posted', ts: `${now / 1000}.${String(viaClaim).padStart(6, '0')}`, postedAt: now },
                },
              },
            ];
      if (!(await store.completeOutbox(item.key, 'bench', fence, item.rev, changes))) throw new Error('lost a claim');
    }
    const sent = new Set((await store.listOutbox({ channel: CHANNEL })).map((i) => i.key));
    const send: Change[] = [];
    for (const a of today) {
      if (a.kind !== 'card' || !sent.has(`card:${a.id}`)) continue;
      const meta =
        a.n % 3 === 0 ? [{ key: `timeline:${a.id}`, value: encodeCursor({ id: '', createdAt: iso(now) }) }] : [];
      send.push({
        card: {
          op: 'update',
          alertId: a.id,
          expectState: 'queued',
          set: { state: 'posted', ts: `${now / 1000}.${String(a.n).padStart(6, '0')}`, postedAt: now },
        },
        dequeue: [`card:${a.id}`],
        meta,
      });
    }
    await applyAll(store, send);
    // The refused channel: each of its cards is tried and refused (not_in_channel), and retried later.
    for (;;) {
      const item = await store.claimNext({ lane: 'post', channel: REFUSED, owner: 'bench', staleMs: 60_000, fence });
      if (!item) break;
      await store.retryOutbox(item.key, 'bench', fence, DAY, false);
    }

    // Clicks on 2 % of today's cards: a first-time key, an action claim (one in a thousand never
    // released: its process died), a thread note cursor being sent.
    now = dayStart + 3 * HOUR;
    for (const a of today) {
      if (a.kind !== 'card' || a.n % 50 !== 0) continue;
      await store.firstTime(`action:${a.id}:${a.n}`, now, 10 * 60_000);
      await store.claimAction(a.id, 'bench', 180_000);
      if (a.n % 1000 !== 50) await store.releaseAction(a.id, 'bench');
      await store.setMeta(`timeline-sending:${a.id}`, encodeCursor({ id: `e-${a.n}`, createdAt: iso(now) }));
    }

    // 12:00 — alerts created two days ago close. The poller marks the cards final and queues their
    // redraw (planGone), records without a card of their own are marked final (finaliseQuiet); the
    // sender redraws. One in two hundred had a four-eyes close request, approved.
    now = dayStart + 12 * HOUR;
    const closing = byDay[day - 2] ?? [];
    const gone: Change[] = [];
    const redraw: Change[] = [];
    for (const a of closing) {
      if (a.kind === 'digested') {
        gone.push({
          card: { op: 'update', alertId: a.id, expectState: 'digested', set: { final: true } },
          memberStatus: [
            { stormId: a.stormId as string, alertId: a.id, status: 'closed_true_positive', updatedAt: iso(now) },
          ],
        });
      } else if (a.kind === 'refused') {
        gone.push({
          card: { op: 'update', alertId: a.id, expectState: 'queued', set: { final: true } },
          enqueue: [cardItem(a, REFUSED, JSON.stringify({ alertId: a.id, refresh: true }))],
        });
      } else {
        gone.push({
          card: { op: 'update', alertId: a.id, expectState: 'posted', set: { final: true } },
          enqueue: [
            {
              key: `card_update:${a.id}`,
              kind: 'card_update',
              lane: 'update',
              channel: CHANNEL,
              cardKey: a.id,
              priority: 0,
              orderAt: now,
              payload: JSON.stringify({ alertId: a.id, refresh: true }),
            },
          ],
        });
        redraw.push({
          card: {
            op: 'update',
            alertId: a.id,
            expectState: 'posted',
            set: { status: 'closed_true_positive', updatedAt: iso(now), fingerprint: `fp-closed-${a.n}` },
          },
          dequeue: [`card_update:${a.id}`],
        });
      }
      if (a.n % 200 === 7) {
        const id = randomUUID();
        await store.addCloseRequest(
          {
            id,
            alertId: a.id,
            displayId: `COT-${a.n}`,
            status: 'closed_false_positive',
            words: 'scanner',
            requester: { id: 'U0REQ', name: 'Jane' },
            basis: '{"status":"open"}',
            channel: CHANNEL,
            threadTs: '1.1',
            createdAt: now - HOUR,
            expiresAt: now + DAY,
          },
          now - HOUR,
        );
        await store.moveCloseRequest(id, 'pending', 'approved', { by: { id: 'U0APP', name: 'Sam' }, at: now });
      }
    }
    await applyAll(store, gone);
    now += 60_000;
    await applyAll(store, redraw);
    byDay[day - 2] = [];

    // 23:00 — the leader's retention run (hourly in production; daily is enough here).
    now = dayStart + 23 * HOUR;
    const p0 = performance.now();
    const run: PruneRun = await retention.run();
    pruneMs += performance.now() - p0;
    if (!run.complete) throw new Error('a retention run did not complete');
    for (const [t, n] of Object.entries(run.rows)) {
      pruned[t] = (pruned[t] ?? 0) + n;
      prunedThisMonth += n;
    }

    if ((day + 1) % MONTH_DAYS === 0 || day === DAYS - 1) {
      const c = await engine.counts();
      const size = await engine.size();
      const mb = (b: number) => (b / 1_048_576).toFixed(1);
      line([
        String(Math.ceil((day + 1) / MONTH_DAYS)),
        made.toLocaleString('en'),
        String(c.cards),
        String(c.outbox),
        String(c.meta),
        String(c.storms),
        String(c.storm_members),
        String(c.close_requests),
        String(c.once_keys),
        String(c.action_claims),
        mb(size.bytes),
        mb(size.free),
        mb(size.file),
        String(prunedThisMonth),
      ]);
      prunedThisMonth = 0;
    }
  }
  const secs = (performance.now() - t0) / 1000;
  console.log(
    `\npruned in total: ${Object.entries(pruned)
      .map(([t, n]) => `${t} ${n.toLocaleString('en')}`)
      .join(', ')}`,
  );
  console.log(`retention runs: ${DAYS}, ${(pruneMs / 1000).toFixed(1)} s in total; whole run ${secs.toFixed(0)} s`);
  console.log(
    'db MB: page_count × page_size (SQLite) or pg_database_size after VACUUM (PostgreSQL); free MB: the freelist, ' +
      'reused before the file grows; file MB: the file and its WAL on disk.',
  );
  await engine.close();
}

await main();
