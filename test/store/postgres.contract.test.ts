/**
 * The Store contract on PostgreSQL, plus what only a server has: migrations under a lock, BIGINT
 * mapping, a connection lost while running. Runs when TEST_DATABASE_URL is set (.ci/postgres.sh
 * provides one in CI): each file gets a database of its own, each test a schema of its own.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server, Socket } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/ports.ts';
import { openPostgresStore, POSTGRES_SCHEMA_VERSION, type PostgresStoreOptions } from '../../src/store/postgres.ts';
import { storeContract } from './contract.ts';

const adminUrl = process.env.TEST_DATABASE_URL;
const dbName = `cotool_contract_${process.pid}_${randomBytes(3).toString('hex')}`;
let dbUrl = '';

function urlFor(database: string): string {
  const u = new URL(adminUrl ?? '');
  u.pathname = `/${database}`;
  return u.toString();
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>, url = adminUrl): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

let schemaSeq = 0;
const schemas = new WeakMap<Store, string>();
const toDrop: string[] = [];
const nextSchema = () => {
  const s = `t${++schemaSeq}_${randomBytes(2).toString('hex')}`;
  toDrop.push(s);
  return s;
};

async function dropSchemas(): Promise<void> {
  const names = toDrop.splice(0);
  if (names.length === 0) return;
  await admin(async (c) => {
    for (const s of names) await c.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(s)} CASCADE`);
  }, dbUrl);
}

// CI must run this suite: .ci/run starts a cluster with .ci/postgres.sh and exports TEST_DATABASE_URL.
it.runIf(process.env.CI === 'true' && !adminUrl)('CI provides TEST_DATABASE_URL (.ci/postgres.sh start)', () => {
  expect.fail('TEST_DATABASE_URL is not set: the PostgreSQL store would go untested');
});

describe.skipIf(!adminUrl)('PostgreSQL store', () => {
  beforeAll(async () => {
    await admin((c) => c.query(`CREATE DATABASE ${pg.escapeIdentifier(dbName)}`));
    dbUrl = urlFor(dbName);
  });
  afterAll(async () => {
    await admin((c) => c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(dbName)} WITH (FORCE)`));
  });

  async function open(options: PostgresStoreOptions & { sameDatabaseAs?: Store } = {}): Promise<Store> {
    const { sameDatabaseAs, ...rest } = options;
    const schema = (sameDatabaseAs && schemas.get(sameDatabaseAs)) || nextSchema();
    const store = await openPostgresStore(dbUrl, { schema, ...rest });
    schemas.set(store, schema);
    return store;
  }

  storeContract(
    'PostgreSQL',
    ({ clock, sameDatabaseAs } = {}) => open({ ...(clock ? { clock } : {}), sameDatabaseAs }),
    dropSchemas,
  );

  describe('PostgreSQL only', () => {
    it('two replicas starting together migrate once; a reopen migrates nothing', async () => {
      const schema = nextSchema();
      const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresStore(dbUrl, { schema })));
      const reopened = await openPostgresStore(dbUrl, { schema });
      const rows = await admin(
        (c) => c.query(`SELECT version FROM ${pg.escapeIdentifier(schema)}.schema_migrations ORDER BY version`),
        dbUrl,
      );
      expect(rows.rows.map((r) => r.version)).toEqual(Array.from({ length: POSTGRES_SCHEMA_VERSION }, (_, i) => i + 1));
      for (const s of [...stores, reopened]) await s.close();
      await dropSchemas();
    });

    it('refuses a database migrated by a newer release', async () => {
      const schema = nextSchema();
      await (await openPostgresStore(dbUrl, { schema })).close();
      await admin(
        (c) =>
          c.query(`INSERT INTO ${pg.escapeIdentifier(schema)}.schema_migrations (version) VALUES ($1)`, [
            POSTGRES_SCHEMA_VERSION + 1,
          ]),
        dbUrl,
      );
      await expect(openPostgresStore(dbUrl, { schema })).rejects.toThrow(/newer than this release supports/);
      await dropSchemas();
    });

    it('the next move migration: cards written by the previous release read back with defaults, and may be muted', async () => {
      const schema = nextSchema();
      await (await openPostgresStore(dbUrl, { schema })).close();
      const q = pg.escapeIdentifier(schema);
      // Back to the previous release's schema: its last migration was the one before this one (the
      // interactive lane, which came after it, is undone too and applied again after it).
      await admin(
        (c) =>
          c.query(`SET search_path TO ${q};
                   DROP INDEX outbox_lane_next;
                   ALTER TABLE outbox DROP CONSTRAINT outbox_lane_check;
                   ALTER TABLE outbox ADD CONSTRAINT outbox_lane_check CHECK (lane IN ('post', 'update'));
                   DROP TABLE questions, mutes, mute_members, war_rooms;
                   ALTER TABLE cards DROP COLUMN mute_id, DROP COLUMN owner_id, DROP COLUMN owner_name,
                                     DROP COLUMN reminders_sent;
                   ALTER TABLE cards DROP CONSTRAINT cards_state_check;
                   ALTER TABLE cards ADD CONSTRAINT cards_state_check
                     CHECK (state IN ('queued', 'posted', 'seen', 'digested'));
                   DELETE FROM schema_migrations WHERE version >= ${POSTGRES_SCHEMA_VERSION - 1};
                   INSERT INTO cards (alert_id, display_id, state, channel, ts, status, version, posted_at,
                                      created_at, changed_at)
                   VALUES ('a1', 'COT-1', 'posted', 'C1', '1.1', 'open', 4, 2000, 1000, 3000);`),
        dbUrl,
      );
      await expect(
        admin(
          (c) =>
            c.query(
              `INSERT INTO ${q}.cards (alert_id, display_id, state, created_at, changed_at) VALUES ('x', 'X', 'muted', 1, 1)`,
            ),
          dbUrl,
        ),
      ).rejects.toThrow(/check constraint/);
      const s = await openPostgresStore(dbUrl, { schema });
      try {
        expect(await s.get('a1')).toMatchObject({
          state: 'posted',
          ts: '1.1',
          version: 4,
          postedAt: 2_000,
          muteId: null,
          owner: null,
          remindersSent: 0,
        });
        expect(await s.apply([{ reminder: { cardKey: 'a1', n: 1 } }])).toEqual({ applied: 1, conflicts: 0 });
        const muted = {
          op: 'insert',
          alertId: 'a2',
          displayId: 'COT-2',
          state: 'muted',
          channel: 'C1',
          status: 'open',
          updatedAt: 'u',
          fingerprint: null,
          muteId: 'm1',
        } as const;
        expect(await s.apply([{ card: muted }])).toEqual({ applied: 1, conflicts: 0 });
        expect(await s.get('a2')).toMatchObject({ state: 'muted', muteId: 'm1' });
      } finally {
        await s.close();
        await dropSchemas();
      }
    });

    it('keeps epoch milliseconds past 2^31 as numbers', async () => {
      const s = await open({ clock: () => 1_790_000_000_123 });
      await s.markSeen('a1', 'COT-1', 'open');
      await s.apply([
        {
          enqueue: [
            {
              key: 'k',
              kind: 'card',
              lane: 'post',
              channel: 'C',
              cardKey: null,
              priority: 0,
              orderAt: 1_790_000_000_999,
              payload: '{}',
            },
          ],
        },
      ]);
      const [item] = await s.listOutbox();
      expect(item?.orderAt).toBe(1_790_000_000_999);
      expect(item?.createdAt).toBe(1_790_000_000_123);
      expect((await s.outboxDepth())[0]?.count).toBe(1);
      await s.close();
      await dropSchemas();
    });

    it('a connection lost while running is logged, queries reject, and the store recovers', async () => {
      const target = new URL(dbUrl);
      const proxy = await startProxy(Number(target.port));
      const viaProxy = new URL(dbUrl);
      viaProxy.port = String(proxy.port);
      const warnings: string[] = [];
      const logger = {
        warn: (_o: unknown, msg?: string) => void warnings.push(String(msg)),
        error: (_o: unknown, msg?: string) => void warnings.push(String(msg)),
      };
      const schema = nextSchema();
      const s = await openPostgresStore(viaProxy.toString(), {
        schema,
        logger: logger as unknown as PostgresStoreOptions['logger'],
        connectTimeoutMs: 2_000,
      });
      try {
        await s.markSeen('a1', 'COT-1', 'open');
        await proxy.down(); // the database goes away: idle connections break, new ones are refused
        await new Promise((r) => setTimeout(r, 50));
        await expect(s.ping()).rejects.toThrow();
        await expect(s.get('a1')).rejects.toThrow();
        await expect(s.apply([{ enqueue: [] }])).rejects.toThrow();
        expect(warnings.some((w) => /connection lost/.test(w))).toBe(true);
        await proxy.up(); // back: the next query opens a new connection
        await expect(s.ping()).resolves.toBeUndefined();
        expect((await s.get('a1'))?.state).toBe('seen');
      } finally {
        await s.close();
        await proxy.close();
        await dropSchemas();
      }
    });

    it('a database that stops answering fails queries after the query timeout, then recovers', async () => {
      const proxy = await startProxy(Number(new URL(dbUrl).port));
      const viaProxy = new URL(dbUrl);
      viaProxy.port = String(proxy.port);
      const s = await openPostgresStore(viaProxy.toString(), {
        schema: nextSchema(),
        queryTimeoutMs: 300,
        connectTimeoutMs: 300,
      });
      try {
        await s.markSeen('a1', 'COT-1', 'open');
        proxy.stall();
        const started = Date.now();
        await expect(s.ping()).rejects.toThrow();
        await expect(s.apply([{ storm: { op: 'open', id: 'st', channel: 'C', at: 1 } }])).rejects.toThrow();
        expect(Date.now() - started).toBeLessThan(5_000);
        proxy.resume();
        await expect(s.ping()).resolves.toBeUndefined();
        expect((await s.get('a1'))?.state).toBe('seen');
      } finally {
        await s.close();
        await proxy.close();
        await dropSchemas();
      }
    });

    it('close is idempotent', async () => {
      const s = await open();
      await s.close();
      await s.close();
      await dropSchemas();
    });
  });
});

/**
 * A TCP proxy on 127.0.0.1 in front of the database that can drop every connection and refuse new
 * ones (down/up), or stop passing bytes while keeping connections open (stall/resume).
 */
async function startProxy(targetPort: number) {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let stalled = false;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const srv = createServer((client) => {
        const upstream = new Socket();
        sockets.add(client).add(upstream);
        const drop = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
        // While stalled, bytes are swallowed both ways: the database neither answers nor refuses.
        client.on('data', (d: Buffer) => void (stalled || upstream.write(d)));
        upstream.on('data', (d: Buffer) => void (stalled || client.write(d)));
        upstream.connect(targetPort, '127.0.0.1');
      });
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', () => {
        const addr = srv.address();
        if (addr && typeof addr === 'object') port = addr.port;
        server = srv;
        resolve();
      });
    });
  const down = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      sockets.clear();
      if (!server) return resolve();
      server.close(() => resolve());
      server = null;
    });
  const stall = () => {
    stalled = true;
  };
  /** Ends the stall: connections that lost bytes are dropped, new ones work. */
  const resume = () => {
    for (const s of sockets) s.destroy();
    sockets.clear();
    stalled = false;
  };
  await listen();
  return { port, down, up: listen, close: down, stall, resume };
}
