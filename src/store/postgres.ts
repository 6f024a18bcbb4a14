/**
 * The PostgreSQL store: the same semantics as the SQLite reference (sqlite.ts), across processes.
 * Every write that must not race is one statement whose condition is checked by the database (an
 * upsert with a WHERE, a compare-and-set UPDATE, `FOR UPDATE SKIP LOCKED`), or a transaction that
 * locks the row it depends on first.
 */
import pg from 'pg';
import type { CardPeek, CardRecord } from '../core/records.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../ports.ts';
import { type Done, drive, LIVE_SQL, pruneSql, type Step, sharedStore } from './common.ts';
import { type Row, toItem, toRecord } from './rows.ts';

/**
 * Versioned migrations, applied in order at start in one transaction under an advisory lock (two
 * replicas starting together migrate once). Never edit a released one; add a new one. Version 1 is
 * the end state of SQLite's schema v3.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE cards (
     alert_id        TEXT PRIMARY KEY,
     display_id      TEXT NOT NULL,
     state           TEXT NOT NULL CHECK (state IN ('queued', 'posted', 'seen', 'digested')),
     channel         TEXT,
     ts              TEXT,
     status          TEXT,
     updated_at      TEXT,
     fingerprint     TEXT,
     final           BOOLEAN NOT NULL DEFAULT false,
     last_action     TEXT,
     version         INTEGER NOT NULL DEFAULT 1,
     storm_id        TEXT,
     posted_at       BIGINT,
     first_action_at BIGINT,
     created_at      BIGINT NOT NULL,
     changed_at      BIGINT NOT NULL
   );
   CREATE INDEX cards_unfinished ON cards (state, final);
   CREATE INDEX cards_message ON cards (channel, ts);
   CREATE INDEX cards_posted ON cards (posted_at);
   CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE action_claims (
     alert_id    TEXT PRIMARY KEY,
     owner       TEXT NOT NULL,
     claimed_at  BIGINT NOT NULL
   );
   CREATE TABLE once_keys (
     key         TEXT PRIMARY KEY,
     expires_at  BIGINT NOT NULL
   );
   CREATE INDEX once_keys_expiry ON once_keys (expires_at);
   CREATE TABLE outbox (
     key         TEXT PRIMARY KEY,
     kind        TEXT NOT NULL,
     lane        TEXT NOT NULL CHECK (lane IN ('post', 'update')),
     channel     TEXT NOT NULL,
     alert_id    TEXT,
     priority    INTEGER NOT NULL,
     order_at    BIGINT NOT NULL,
     payload     TEXT NOT NULL,
     rev         INTEGER NOT NULL DEFAULT 1,
     state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'claimed')),
     owner       TEXT,
     claimed_at  BIGINT,
     unknown     BOOLEAN NOT NULL DEFAULT false,
     attempts    INTEGER NOT NULL DEFAULT 0,
     not_before  BIGINT NOT NULL DEFAULT 0,
     created_at  BIGINT NOT NULL
   );
   CREATE INDEX outbox_next ON outbox (lane, channel, state, priority, order_at);
   CREATE TABLE storms (
     id             TEXT PRIMARY KEY,
     channel        TEXT NOT NULL,
     started_at     BIGINT NOT NULL,
     last_added_at  BIGINT NOT NULL,
     ended_at       BIGINT,
     cards_used     INTEGER NOT NULL DEFAULT 0,
     ts             TEXT,
     tally          TEXT
   );
   CREATE INDEX storms_active ON storms (ended_at);
   CREATE TABLE storm_members (
     storm_id    TEXT NOT NULL,
     alert_id    TEXT NOT NULL,
     seq         BIGINT GENERATED ALWAYS AS IDENTITY,
     display_id  TEXT NOT NULL,
     group_key   TEXT NOT NULL,
     group_name  TEXT NOT NULL,
     severity    TEXT,
     status      TEXT NOT NULL,
     title       TEXT NOT NULL,
     created_at  TEXT NOT NULL,
     updated_at  TEXT NOT NULL,
     PRIMARY KEY (storm_id, alert_id)
   );
   CREATE TABLE leases (
     name        TEXT PRIMARY KEY,
     owner       TEXT NOT NULL,
     expires_at  BIGINT NOT NULL
   );`,
  // Four eyes: closes waiting for a second person's approval; at most one pending per alert.
  `CREATE TABLE close_requests (
     id               TEXT PRIMARY KEY,
     alert_id         TEXT NOT NULL,
     display_id       TEXT NOT NULL,
     status           TEXT NOT NULL,
     words            TEXT,
     requester_id     TEXT NOT NULL,
     requester_name   TEXT NOT NULL,
     basis            TEXT NOT NULL,
     channel          TEXT,
     thread_ts        TEXT,
     ts               TEXT,
     state            TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'expired', 'cancelled', 'failed')),
     created_at       BIGINT NOT NULL,
     expires_at       BIGINT NOT NULL,
     decided_by_id    TEXT,
     decided_by_name  TEXT,
     decided_at       BIGINT,
     outcome          TEXT
   );
   CREATE UNIQUE INDEX close_requests_pending ON close_requests (alert_id) WHERE state = 'pending';`,
  // The digest is aggregated in SQL, group by group; its ids are listed in the order they came.
  `CREATE INDEX storm_members_group ON storm_members (storm_id, group_key, seq);
   CREATE INDEX storm_members_seq ON storm_members (storm_id, seq);`,
  // Retention: closed records by age, and "has this record an outbox item" without a scan.
  `CREATE INDEX cards_retention ON cards (final, changed_at);
   CREATE INDEX outbox_alert ON outbox (alert_id);`,
  // Fencing: the lease's token moves each time it changes hands, and an outbox claim records the token
  // it was taken under. At most one open storm per channel: duplicates an older release may have
  // opened are ended first (the oldest stays open).
  `ALTER TABLE leases ADD COLUMN token BIGINT NOT NULL DEFAULT 0;
   UPDATE leases SET token = 1;
   ALTER TABLE outbox ADD COLUMN fence BIGINT;
   UPDATE storms SET ended_at = last_added_at
   WHERE ended_at IS NULL AND EXISTS (
     SELECT 1 FROM storms AS o
     WHERE o.channel = storms.channel AND o.ended_at IS NULL
       AND (o.started_at < storms.started_at OR (o.started_at = storms.started_at AND o.id < storms.id)));
   CREATE UNIQUE INDEX storms_open_channel ON storms (channel) WHERE ended_at IS NULL;`,
  // The next move. Cards may be muted, have an owner and count their reminders. "Was this you?"
  // questions: at most one unanswered per (alert, person asked). Mutes: at most one not ended per
  // (channel, detection), with the alerts counted in them. War rooms: one per alert, ever.
  `ALTER TABLE cards DROP CONSTRAINT cards_state_check;
   ALTER TABLE cards ADD CONSTRAINT cards_state_check
     CHECK (state IN ('queued', 'posted', 'seen', 'digested', 'muted'));
   ALTER TABLE cards ADD COLUMN mute_id TEXT,
                     ADD COLUMN owner_id TEXT,
                     ADD COLUMN owner_name TEXT,
                     ADD COLUMN reminders_sent INTEGER NOT NULL DEFAULT 0;
   CREATE TABLE questions (
     id              TEXT PRIMARY KEY,
     alert_id        TEXT NOT NULL,
     display_id      TEXT NOT NULL,
     channel         TEXT,
     thread_ts       TEXT,
     asked_by_id     TEXT NOT NULL,
     asked_by_name   TEXT NOT NULL,
     asked_user_id   TEXT NOT NULL,
     asked_at        BIGINT NOT NULL,
     deadline        BIGINT NOT NULL,
     state           TEXT NOT NULL DEFAULT 'asked' CHECK (state IN ('asked', 'yes', 'no', 'timed_out')),
     note            TEXT,
     answered_at     BIGINT,
     dm_channel      TEXT,
     dm_ts           TEXT
   );
   CREATE UNIQUE INDEX questions_asked ON questions (alert_id, asked_user_id) WHERE state = 'asked';
   CREATE INDEX questions_alert ON questions (alert_id, asked_at);
   CREATE INDEX questions_due ON questions (deadline) WHERE state = 'asked';
   CREATE INDEX questions_answered ON questions (answered_at) WHERE state <> 'asked';
   CREATE TABLE mutes (
     id               TEXT PRIMARY KEY,
     channel          TEXT NOT NULL,
     detection_key    TEXT NOT NULL,
     detection_name   TEXT NOT NULL,
     by_id            TEXT NOT NULL,
     by_name          TEXT NOT NULL,
     reason           TEXT NOT NULL,
     created_at       BIGINT NOT NULL,
     until_at         BIGINT NOT NULL,
     source_alert_id  TEXT,
     ended_at         BIGINT,
     ended_by_id      TEXT,
     ended_by_name    TEXT,
     muted            INTEGER NOT NULL DEFAULT 0,
     escalated        INTEGER NOT NULL DEFAULT 0,
     ts               TEXT
   );
   CREATE UNIQUE INDEX mutes_active ON mutes (channel, detection_key) WHERE ended_at IS NULL;
   CREATE INDEX mutes_until ON mutes (until_at) WHERE ended_at IS NULL;
   CREATE INDEX mutes_ended ON mutes (ended_at);
   CREATE TABLE mute_members (
     mute_id     TEXT NOT NULL,
     alert_id    TEXT NOT NULL,
     display_id  TEXT NOT NULL,
     escalated   BOOLEAN NOT NULL DEFAULT false,
     PRIMARY KEY (mute_id, alert_id)
   );
   CREATE INDEX mute_members_ids ON mute_members (mute_id, length(display_id), display_id COLLATE "C");
   CREATE TABLE war_rooms (
     alert_id  TEXT PRIMARY KEY,
     channel   TEXT NOT NULL,
     name      TEXT NOT NULL,
     by_id     TEXT NOT NULL,
     by_name   TEXT NOT NULL,
     at        BIGINT NOT NULL
   );`,
  // The interactive lane (a click's redraws, served at once). claimNext without a channel (the update
  // and interactive lanes) is served in order by outbox_lane_next.
  `ALTER TABLE outbox DROP CONSTRAINT outbox_lane_check;
   ALTER TABLE outbox ADD CONSTRAINT outbox_lane_check CHECK (lane IN ('post', 'update', 'interactive'));
   CREATE INDEX outbox_lane_next ON outbox (lane, priority, order_at, key);`,
];

/** The schema version this release migrates to (also read by the doctor). */
export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;

/** pg_advisory_xact_lock key that serialises migrations of every replica ('cotool' in ASCII). */
const MIGRATION_LOCK = '109342156206956';

const INT8_OID = 20;
/** BIGINT columns (epoch ms, counts) come back as numbers: every value the bot stores fits in 2^53. */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** Critical first, no severity last (src/core/digest.ts severityRank). */
const SEVERITY_RANK_SQL =
  "CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END";
/** What `String.prototype.trim` removes that titles hold in practice. */
const BLANKS_SQL = "E' \\t\\n\\r'";
/** A numbered id, `COT-123` (the NUMBERED pattern of src/core/digest.ts). */
const NUMBERED_RE = "'^[A-Za-z][A-Za-z0-9_]*-(0|[1-9][0-9]{0,14})$'";
/**
 * The ownership clock (epoch ms): the database server's, read inside each statement. Replicas'
 * clocks may disagree by minutes; every decision about who owns a lease or a claim uses this one.
 */
const NOW = '(floor(extract(epoch FROM clock_timestamp()) * 1000))::bigint';
/** The fence holds: owner $o still holds the lease named $l under token $t, unexpired. */
const fenceHolds = (o: number, l: number, t: number) =>
  `EXISTS (SELECT 1 FROM leases WHERE name = $${l} AND owner = $${o} AND token = $${t} AND expires_at > ${NOW})`;

const SQL = {
  getMany: 'SELECT * FROM cards WHERE alert_id = ANY($1::text[])',
  peekMany: 'SELECT alert_id, state, status, updated_at, final FROM cards WHERE alert_id = ANY($1::text[])',
  unfinishedIds:
    "SELECT alert_id FROM cards WHERE (state = 'posted' AND NOT final) OR state = 'queued' ORDER BY created_at, alert_id",
  lastAction: `UPDATE cards SET last_action = $1,
                      first_action_at = CASE WHEN $2::boolean AND first_action_at IS NULL THEN $3::bigint
                                             ELSE first_action_at END,
                      version = version + 1, changed_at = $3
               WHERE alert_id = $4`,
  enqueue: `INSERT INTO outbox (key, kind, lane, channel, alert_id, priority, order_at, payload, created_at, not_before)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, COALESCE(${NOW} + $11::bigint, $10))
            ON CONFLICT (key) DO UPDATE SET payload = EXCLUDED.payload, priority = EXCLUDED.priority,
                   order_at = LEAST(outbox.order_at, EXCLUDED.order_at), rev = outbox.rev + 1,
                   lane = CASE WHEN EXCLUDED.lane = 'interactive' THEN EXCLUDED.lane ELSE outbox.lane END`,
  dequeue: "DELETE FROM outbox WHERE key = $1 AND state = 'pending' AND NOT unknown",
  settle: `INSERT INTO outbox (key, kind, lane, channel, alert_id, priority, order_at, payload, created_at, not_before,
                              unknown)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, true)
           ON CONFLICT (key) DO UPDATE SET payload = EXCLUDED.payload, not_before = EXCLUDED.not_before,
                  rev = outbox.rev + 1
           WHERE outbox.state = 'pending'`,
  stormGrow:
    'UPDATE storms SET last_added_at = GREATEST(last_added_at, $1), cards_used = cards_used + $2 WHERE id = $3',
  // One statement: the subquery locks the best due row, skipping rows another claimer holds locked,
  // and the UPDATE takes it. A claimed row taken over (its claim stale) comes back `unknown`.
  // Only while the claimer holds the lease under the token it names; stale on the server's clock.
  claimNext: `UPDATE outbox o SET state = 'claimed', owner = $1, claimed_at = ${NOW}, fence = $3,
                     unknown = CASE WHEN o.state = 'claimed' THEN true ELSE o.unknown END
              WHERE ${fenceHolds(1, 2, 3)} AND o.key = (
                SELECT key FROM outbox
                WHERE lane = $4 AND ($5::text IS NULL OR channel = $5)
                  AND ((state = 'pending' AND not_before <= ${NOW})
                       OR (state = 'claimed' AND claimed_at < ${NOW} - $6::bigint))
                ORDER BY priority, order_at, key
                LIMIT 1
                FOR UPDATE SKIP LOCKED)
              RETURNING o.*`,
  touch: `UPDATE outbox SET claimed_at = ${NOW}
          WHERE key = $4 AND state = 'claimed' AND owner = $1 AND fence = $3 AND ${fenceHolds(1, 2, 3)}`,
  ownedRev: `SELECT rev FROM outbox
             WHERE key = $4 AND state = 'claimed' AND owner = $1 AND fence = $3 AND ${fenceHolds(1, 2, 3)}
             FOR UPDATE`,
  requeue: `UPDATE outbox SET state = 'pending', owner = NULL, claimed_at = NULL, fence = NULL, unknown = false,
                   attempts = 0, not_before = 0
            WHERE key = $1`,
  retry: `UPDATE outbox SET state = 'pending', owner = NULL, claimed_at = NULL, fence = NULL,
                 not_before = ${NOW} + $5::bigint, unknown = unknown OR $6::boolean, attempts = attempts + 1
          WHERE key = $4 AND state = 'claimed' AND owner = $1 AND fence = $3 AND ${fenceHolds(1, 2, 3)}`,
  depth: 'SELECT channel, lane, COUNT(*) AS n FROM outbox GROUP BY channel, lane ORDER BY channel, lane',
  listOutbox: `SELECT * FROM outbox WHERE ($1::text IS NULL OR channel = $1) AND ($2::text IS NULL OR kind = $2)
               ORDER BY lane COLLATE "C", channel COLLATE "C", priority, order_at, key`,
  activeStorms: 'SELECT * FROM storms WHERE ended_at IS NULL ORDER BY started_at, id',
  digestGroups: `SELECT group_key AS key, COUNT(*) AS count, COUNT(*) FILTER (WHERE status IN ${LIVE_SQL}) AS live,
                        COUNT(*) FILTER (WHERE severity = 'critical') AS critical,
                        COUNT(*) FILTER (WHERE severity = 'high') AS high,
                        COUNT(*) FILTER (WHERE severity = 'medium') AS medium,
                        COUNT(*) FILTER (WHERE severity = 'low') AS low,
                        MIN(created_at COLLATE "C") AS first_seen, MAX(created_at COLLATE "C") AS last_seen,
                        MIN(seq) AS first_seq
                 FROM storm_members WHERE storm_id = $1 GROUP BY group_key
                 ORDER BY group_key = 'escalated' DESC, count DESC, first_seen, first_seq LIMIT $2`,
  // The first distinct titles (compared without surrounding blanks), in the order they came.
  groupExamples: `SELECT title FROM (
                    SELECT DISTINCT ON (btrim(title, ${BLANKS_SQL})) title, seq FROM storm_members
                    WHERE storm_id = $1 AND group_key = $2 AND btrim(title, ${BLANKS_SQL}) <> ''
                    ORDER BY btrim(title, ${BLANKS_SQL}), seq
                  ) t ORDER BY seq LIMIT $3`,
  // Numbered ids (\`COT-123\`) as runs of consecutive numbers ("islands"), by prefix then number.
  groupIslands: `WITH nums AS (
                   SELECT DISTINCT substring(display_id from '^[^-]*-') AS prefix,
                          substring(display_id from '-([0-9]+)$')::bigint AS n
                   FROM storm_members WHERE storm_id = $1 AND group_key = $2 AND display_id ~ ${NUMBERED_RE}
                 ), islands AS (
                   SELECT prefix, n, n - ROW_NUMBER() OVER (PARTITION BY prefix ORDER BY n) AS k FROM nums
                 )
                 SELECT prefix, MIN(n) AS first, MAX(n) AS last, COUNT(*) AS run FROM islands
                 GROUP BY prefix, k ORDER BY prefix COLLATE "C", first LIMIT $3`,
  groupOtherIds: `SELECT DISTINCT display_id COLLATE "C" AS id FROM storm_members
                  WHERE storm_id = $1 AND group_key = $2 AND display_id !~ ${NUMBERED_RE} ORDER BY 1 LIMIT $3`,
  // $3: the group keys: one group ($2) or every group but these.
  pageCount: `SELECT COUNT(*) AS total, COUNT(*) FILTER (WHERE status IN ${LIVE_SQL}) AS live,
                     (SELECT group_name FROM storm_members WHERE storm_id = $1 AND $2 AND group_key = ($3::text[])[1]
                      ORDER BY seq LIMIT 1) AS group_name
              FROM storm_members WHERE storm_id = $1 AND (group_key = ANY($3::text[])) = $2`,
  page: `SELECT * FROM storm_members WHERE storm_id = $1 AND (group_key = ANY($3::text[])) = $2
         ORDER BY status IN ${LIVE_SQL} DESC, ${SEVERITY_RANK_SQL}, created_at COLLATE "C", display_id COLLATE "C", seq
         LIMIT $4 OFFSET $5`,
  // A renewal (same owner, unexpired) keeps the token; any other taking moves it on.
  lease: `INSERT INTO leases (name, owner, expires_at, token) VALUES ($1, $2, ${NOW} + $3::bigint, 1)
          ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at,
                 token = CASE WHEN leases.owner = EXCLUDED.owner AND leases.expires_at >= ${NOW} THEN leases.token
                              ELSE leases.token + 1 END
          WHERE leases.owner = EXCLUDED.owner OR leases.expires_at < ${NOW}
          RETURNING token`,
  releaseLease: `UPDATE leases SET expires_at = ${NOW} - 1 WHERE name = $1 AND owner = $2`,
  claimAction: `INSERT INTO action_claims (alert_id, owner, claimed_at) VALUES ($1, $2, ${NOW})
                ON CONFLICT (alert_id) DO UPDATE SET owner = EXCLUDED.owner, claimed_at = EXCLUDED.claimed_at
                WHERE action_claims.claimed_at < ${NOW} - $3::bigint`,
  quietIds: "SELECT alert_id, state FROM cards WHERE state IN ('seen', 'digested', 'muted') AND NOT final",
  pruneMeta: 'DELETE FROM meta WHERE key IN (SELECT p || c FROM unnest($1::text[]) AS p, unnest($2::text[]) AS c)',
  questionsOf: 'SELECT * FROM questions WHERE alert_id = $1 ORDER BY asked_at DESC, id COLLATE "C" DESC',
  dueQuestions: `SELECT * FROM questions WHERE state = 'asked' AND deadline <= ${NOW}
                 ORDER BY deadline, id COLLATE "C" LIMIT $1`,
  // Only into a mute that exists and is not ended (its row locked: an Unmute waits or wins); once per alert.
  muteMember: `INSERT INTO mute_members (mute_id, alert_id, display_id)
               SELECT id, $2, $3 FROM mutes WHERE id = $1 AND ended_at IS NULL FOR UPDATE
               ON CONFLICT (mute_id, alert_id) DO NOTHING`,
  memberEscalated: `UPDATE mute_members SET escalated = true WHERE mute_id = $1 AND alert_id = $2 AND NOT escalated`,
  activeMutes: 'SELECT * FROM mutes WHERE ended_at IS NULL ORDER BY created_at, id COLLATE "C"',
  dueMuteEnds: `SELECT * FROM mutes WHERE ended_at IS NULL AND until_at <= ${NOW}
                ORDER BY until_at, id COLLATE "C" LIMIT $1`,
  // $2 null: from the first; else after it in (length, bytes) order.
  muteMembersAfter: `SELECT alert_id, display_id FROM mute_members
                     WHERE mute_id = $1
                       AND ($2::text IS NULL
                            OR (length(display_id), display_id COLLATE "C") > (length($2::text), $2::text COLLATE "C"))
                     ORDER BY length(display_id), display_id COLLATE "C" LIMIT $3`,
  warRoomsOf: 'SELECT * FROM war_rooms WHERE alert_id = ANY($1::text[])',
} as const;

const PRUNE = pruneSql(
  (a, b) => `strpos(${a}, ${b})`,
  (of) => `FOR UPDATE${of ? ` OF ${of}` : ''} SKIP LOCKED`,
);

export type PostgresStoreOptions = {
  clock?: () => number;
  /** Pool errors (a connection lost while idle or mid-transaction) are logged here, never thrown. */
  logger?: Pick<Logger, 'warn' | 'error'>;
  /** A schema of its own (created if missing) instead of the connection's default search_path. */
  schema?: string;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** How long to wait for a connection before a query fails (default 10 s). */
  connectTimeoutMs?: number;
  /** How long a query may take before it fails (default 30 s). */
  queryTimeoutMs?: number;
};

/** Deadlock or serialisation failure: the whole transaction was rolled back and may be run again. */
const RETRYABLE = new Set(['40P01', '40001']);
const isRetryable = (err: unknown) =>
  typeof err === 'object' && err !== null && RETRYABLE.has(String((err as { code?: unknown }).code));

/** The URL with `-c search_path=<schema>` added to its startup options (the URL's own options kept). */
function withSearchPath(url: string, schema: string): string {
  const u = new URL(url);
  const options = [u.searchParams.get('options'), `-c search_path=${schema}`].filter(Boolean).join(' ');
  u.searchParams.set('options', options);
  return u.toString();
}

/**
 * Opens a pool on `url` (postgres://…), runs pending migrations under a lock and returns the store.
 * Rejects when the server cannot be reached or refuses the credentials (the caller words that).
 */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<Store> {
  const clock = options.clock ?? Date.now;
  const logger = options.logger;
  const schema = options.schema;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`invalid schema name ${JSON.stringify(schema)}`);
  }
  const pool = new pg.Pool({
    connectionString: schema === undefined ? url : withSearchPath(url, schema),
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    // A database that stops answering (a partition, not a refusal) fails the query instead of hanging
    // the poller; the broken connection is discarded and the caller retries.
    query_timeout: options.queryTimeoutMs ?? 30_000,
    application_name: 'cotool-slack',
    // A process that stalls (or dies) inside a transaction must not hold row locks for long.
    idle_in_transaction_session_timeout: 60_000,
    types: TYPES,
  });
  // An idle connection that breaks (server restart, network) must never crash the process: the
  // pool drops it and the next query opens a new one, or rejects so that the caller retries.
  pool.on('error', (err) => logger?.warn({ err: { message: err.message } }, 'postgres: idle connection lost'));

  /** A checked-out client gets its own error listener: pg emits 'error' between queries. */
  async function withClient<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    let lost: Error | undefined;
    const onError = (err: Error) => {
      lost = err;
      logger?.warn({ err: { message: err.message } }, 'postgres: connection lost during a transaction');
    };
    client.on('error', onError);
    try {
      return await fn(client);
    } catch (err) {
      // An error the server answered with leaves the connection usable; anything else (a socket
      // closed, a timeout) may not: the pool then discards this client instead of reusing it.
      if (!(err instanceof pg.DatabaseError)) lost ??= err instanceof Error ? err : new Error(String(err));
      throw err;
    } finally {
      client.off('error', onError);
      client.release(lost);
    }
  }

  /** BEGIN … COMMIT; rolled back on any error; run again (up to 3 times) after a deadlock. */
  async function tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await withClient(async (c) => {
          await c.query('BEGIN');
          try {
            const out = await fn(c);
            await c.query('COMMIT');
            return out;
          } catch (err) {
            await c.query('ROLLBACK').catch(() => undefined);
            throw err;
          }
        });
      } catch (err) {
        if (attempt < 3 && isRetryable(err)) continue;
        throw err;
      }
    }
  }

  const run = async (c: pg.Pool | pg.PoolClient, { sql, values }: Step): Promise<Done> => {
    const r = await c.query<Row>(sql, values as unknown[]);
    return { rows: r.rows, count: r.rowCount ?? 0 };
  };
  const query = async (text: string, values?: unknown[]) => (await run(pool, { sql: text, values: values ?? [] })).rows;

  await migrate();

  async function migrate(): Promise<void> {
    await tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK]);
      if (schema !== undefined) {
        await c.query(`CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(schema)}`);
        await c.query(`SET LOCAL search_path TO ${pg.escapeIdentifier(schema)}`);
      }
      await c.query(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
           version    INTEGER PRIMARY KEY,
           applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )`,
      );
      const current = Number((await c.query<Row>('SELECT MAX(version) AS v FROM schema_migrations')).rows[0]?.v ?? 0);
      if (current > MIGRATIONS.length) {
        throw new Error(
          `database schema version ${current} is newer than this release supports (${MIGRATIONS.length})`,
        );
      }
      for (let v = current + 1; v <= MIGRATIONS.length; v++) {
        await c.query(MIGRATIONS[v - 1] as string);
        await c.query('INSERT INTO schema_migrations (version) VALUES ($1)', [v]);
      }
    }).catch(async (err: unknown) => {
      await pool.end().catch(() => undefined);
      throw err;
    });
  }

  let closed: Promise<void> | null = null;
  const store: Store = {
    ...sharedStore({
      sql: SQL,
      prune: PRUNE,
      chunk: 5000,
      clock,
      query: (sql, values = []) => run(pool, { sql, values }),
      tx: (make) => tx((c) => drive(make(), (step) => run(c, step))),
    }),
    async getMany(alertIds) {
      const out = new Map<string, CardRecord>();
      for (let i = 0; i < alertIds.length; i += 5000) {
        for (const r of await query(SQL.getMany, [alertIds.slice(i, i + 5000)])) {
          out.set(String(r.alert_id), toRecord(r));
        }
      }
      return out;
    },
    async peekMany(alertIds) {
      const out = new Map<string, CardPeek>();
      for (let i = 0; i < alertIds.length; i += 5000) {
        for (const r of await query(SQL.peekMany, [alertIds.slice(i, i + 5000)])) {
          out.set(String(r.alert_id), {
            state: String(r.state) as CardPeek['state'],
            status: r.status === null || r.status === undefined ? null : String(r.status),
            updatedAt: r.updated_at === null || r.updated_at === undefined ? null : String(r.updated_at),
            final: r.final === true || Number(r.final) === 1,
          });
        }
      }
      return out;
    },
    async claimNext({ lane, channel, owner, staleMs, fence }) {
      const [r] = await query(SQL.claimNext, [
        owner,
        fence.lease,
        fence.token,
        lane,
        channel ?? null,
        Math.round(staleMs),
      ]);
      return r ? toItem(r) : null;
    },
    async ping() {
      await query('SELECT 1');
    },
    close() {
      closed ??= pool.end();
      return closed;
    },
  };
  return store;
}
