import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import type { CardPeek, CardRecord } from '../core/records.ts';
import type { Store } from '../ports.ts';
import { type Done, driveSync, LIVE_SQL, pruneSql, SHARED_SQL, type Step, sharedStore } from './common.ts';
import { type Row, str, toItem, toRecord } from './rows.ts';

/** Versioned migrations, applied in order inside a transaction each. Never edit a released one. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE cards (
     alert_id     TEXT PRIMARY KEY,
     display_id   TEXT NOT NULL,
     state        TEXT NOT NULL CHECK (state IN ('claimed', 'posted', 'seen')),
     claim_from   TEXT,
     channel      TEXT,
     ts           TEXT,
     status       TEXT,
     updated_at   TEXT,
     fingerprint  TEXT,
     final        INTEGER NOT NULL DEFAULT 0,
     claimed_at   INTEGER,
     claim_owner  TEXT,
     last_action  TEXT,
     created_at   INTEGER NOT NULL,
     changed_at   INTEGER NOT NULL
   );
   CREATE INDEX cards_unfinished ON cards (state, final);
   CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  `CREATE TABLE action_claims (
     alert_id    TEXT PRIMARY KEY,
     owner       TEXT NOT NULL,
     claimed_at  INTEGER NOT NULL
   );
   CREATE TABLE once_keys (
     key         TEXT PRIMARY KEY,
     expires_at  INTEGER NOT NULL
   );
   CREATE INDEX once_keys_expiry ON once_keys (expires_at);`,
  // The outbox: every Slack write is a row (its claim) until its result is recorded. A card claimed
  // by an older release (posted or not: unknown) becomes a queued card whose outbox item is looked
  // up in the channel before anything is posted.
  `CREATE TABLE cards_v3 (
     alert_id        TEXT PRIMARY KEY,
     display_id      TEXT NOT NULL,
     state           TEXT NOT NULL CHECK (state IN ('queued', 'posted', 'seen', 'digested')),
     channel         TEXT,
     ts              TEXT,
     status          TEXT,
     updated_at      TEXT,
     fingerprint     TEXT,
     final           INTEGER NOT NULL DEFAULT 0,
     last_action     TEXT,
     version         INTEGER NOT NULL DEFAULT 1,
     storm_id        TEXT,
     posted_at       INTEGER,
     first_action_at INTEGER,
     created_at      INTEGER NOT NULL,
     changed_at      INTEGER NOT NULL
   );
   CREATE TABLE outbox (
     key         TEXT PRIMARY KEY,
     kind        TEXT NOT NULL,
     lane        TEXT NOT NULL CHECK (lane IN ('post', 'update')),
     channel     TEXT NOT NULL,
     alert_id    TEXT,
     priority    INTEGER NOT NULL,
     order_at    INTEGER NOT NULL,
     payload     TEXT NOT NULL,
     rev         INTEGER NOT NULL DEFAULT 1,
     state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'claimed')),
     owner       TEXT,
     claimed_at  INTEGER,
     unknown     INTEGER NOT NULL DEFAULT 0,
     attempts    INTEGER NOT NULL DEFAULT 0,
     not_before  INTEGER NOT NULL DEFAULT 0,
     created_at  INTEGER NOT NULL
   );
   INSERT INTO outbox (key, kind, lane, channel, alert_id, priority, order_at, payload, unknown, created_at)
     SELECT 'card:' || alert_id, 'card', 'post',
            COALESCE((SELECT channel FROM cards WHERE channel IS NOT NULL LIMIT 1), :legacyChannel),
            alert_id, 0, created_at, '{}', 1, created_at
     FROM cards WHERE state = 'claimed';
   INSERT INTO cards_v3 (alert_id, display_id, state, channel, ts, status, updated_at, fingerprint, final,
                         last_action, created_at, changed_at, posted_at)
     SELECT alert_id, display_id, CASE state WHEN 'claimed' THEN 'queued' ELSE state END, channel, ts,
            CASE status WHEN 'pending_escalation' THEN 'open' ELSE status END,
            updated_at, fingerprint, final, last_action, created_at, changed_at,
            CASE state WHEN 'posted' THEN changed_at END
     FROM cards;
   DROP TABLE cards;
   ALTER TABLE cards_v3 RENAME TO cards;
   CREATE INDEX cards_unfinished ON cards (state, final);
   CREATE INDEX cards_message ON cards (channel, ts);
   CREATE INDEX cards_posted ON cards (posted_at);
   CREATE INDEX outbox_next ON outbox (lane, channel, state, priority, order_at);
   CREATE TABLE storms (
     id             TEXT PRIMARY KEY,
     channel        TEXT NOT NULL,
     started_at     INTEGER NOT NULL,
     last_added_at  INTEGER NOT NULL,
     ended_at       INTEGER,
     cards_used     INTEGER NOT NULL DEFAULT 0,
     ts             TEXT,
     tally          TEXT
   );
   CREATE INDEX storms_active ON storms (ended_at);
   CREATE TABLE storm_members (
     seq         INTEGER PRIMARY KEY,
     storm_id    TEXT NOT NULL,
     alert_id    TEXT NOT NULL,
     display_id  TEXT NOT NULL,
     group_key   TEXT NOT NULL,
     group_name  TEXT NOT NULL,
     severity    TEXT,
     status      TEXT NOT NULL,
     title       TEXT NOT NULL,
     created_at  TEXT NOT NULL,
     updated_at  TEXT NOT NULL,
     UNIQUE (storm_id, alert_id)
   );
   CREATE TABLE leases (
     name        TEXT PRIMARY KEY,
     owner       TEXT NOT NULL,
     expires_at  INTEGER NOT NULL
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
     created_at       INTEGER NOT NULL,
     expires_at       INTEGER NOT NULL,
     decided_by_id    TEXT,
     decided_by_name  TEXT,
     decided_at       INTEGER,
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
  `ALTER TABLE leases ADD COLUMN token INTEGER NOT NULL DEFAULT 0;
   UPDATE leases SET token = 1;
   ALTER TABLE outbox ADD COLUMN fence INTEGER;
   UPDATE storms SET ended_at = last_added_at
   WHERE ended_at IS NULL AND EXISTS (
     SELECT 1 FROM storms AS o
     WHERE o.channel = storms.channel AND o.ended_at IS NULL
       AND (o.started_at < storms.started_at OR (o.started_at = storms.started_at AND o.id < storms.id)));
   CREATE UNIQUE INDEX storms_open_channel ON storms (channel) WHERE ended_at IS NULL;`,
  // The next move. Cards may be muted (the state's CHECK changes: the table is rebuilt, its rows and
  // indexes kept), have an owner and count their reminders. "Was this you?" questions: at most one
  // unanswered per (alert, person asked). Mutes: at most one not ended per (channel, detection), with
  // the alerts counted in them. War rooms: one per alert, ever.
  `CREATE TABLE cards_v8 (
     alert_id        TEXT PRIMARY KEY,
     display_id      TEXT NOT NULL,
     state           TEXT NOT NULL CHECK (state IN ('queued', 'posted', 'seen', 'digested', 'muted')),
     channel         TEXT,
     ts              TEXT,
     status          TEXT,
     updated_at      TEXT,
     fingerprint     TEXT,
     final           INTEGER NOT NULL DEFAULT 0,
     last_action     TEXT,
     version         INTEGER NOT NULL DEFAULT 1,
     storm_id        TEXT,
     posted_at       INTEGER,
     first_action_at INTEGER,
     created_at      INTEGER NOT NULL,
     changed_at      INTEGER NOT NULL,
     mute_id         TEXT,
     owner_id        TEXT,
     owner_name      TEXT,
     reminders_sent  INTEGER NOT NULL DEFAULT 0
   );
   INSERT INTO cards_v8 (alert_id, display_id, state, channel, ts, status, updated_at, fingerprint, final,
                         last_action, version, storm_id, posted_at, first_action_at, created_at, changed_at)
     SELECT alert_id, display_id, state, channel, ts, status, updated_at, fingerprint, final,
            last_action, version, storm_id, posted_at, first_action_at, created_at, changed_at
     FROM cards;
   DROP TABLE cards;
   ALTER TABLE cards_v8 RENAME TO cards;
   CREATE INDEX cards_unfinished ON cards (state, final);
   CREATE INDEX cards_message ON cards (channel, ts);
   CREATE INDEX cards_posted ON cards (posted_at);
   CREATE INDEX cards_retention ON cards (final, changed_at);
   CREATE TABLE questions (
     id              TEXT PRIMARY KEY,
     alert_id        TEXT NOT NULL,
     display_id      TEXT NOT NULL,
     channel         TEXT,
     thread_ts       TEXT,
     asked_by_id     TEXT NOT NULL,
     asked_by_name   TEXT NOT NULL,
     asked_user_id   TEXT NOT NULL,
     asked_at        INTEGER NOT NULL,
     deadline        INTEGER NOT NULL,
     state           TEXT NOT NULL DEFAULT 'asked' CHECK (state IN ('asked', 'yes', 'no', 'timed_out')),
     note            TEXT,
     answered_at     INTEGER,
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
     created_at       INTEGER NOT NULL,
     until_at         INTEGER NOT NULL,
     source_alert_id  TEXT,
     ended_at         INTEGER,
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
     seq         INTEGER PRIMARY KEY,
     mute_id     TEXT NOT NULL,
     alert_id    TEXT NOT NULL,
     display_id  TEXT NOT NULL,
     escalated   INTEGER NOT NULL DEFAULT 0,
     UNIQUE (mute_id, alert_id)
   );
   CREATE INDEX mute_members_ids ON mute_members (mute_id, length(display_id), display_id);
   CREATE TABLE war_rooms (
     alert_id  TEXT PRIMARY KEY,
     channel   TEXT NOT NULL,
     name      TEXT NOT NULL,
     by_id     TEXT NOT NULL,
     by_name   TEXT NOT NULL,
     at        INTEGER NOT NULL
   );`,
  // The interactive lane (a click's redraws, served at once). SQLite cannot alter a CHECK: the table
  // is rebuilt. claimNext without a channel (the update and interactive lanes) is served in order by
  // outbox_lane_next.
  `CREATE TABLE outbox_v8 (
     key         TEXT PRIMARY KEY,
     kind        TEXT NOT NULL,
     lane        TEXT NOT NULL CHECK (lane IN ('post', 'update', 'interactive')),
     channel     TEXT NOT NULL,
     alert_id    TEXT,
     priority    INTEGER NOT NULL,
     order_at    INTEGER NOT NULL,
     payload     TEXT NOT NULL,
     rev         INTEGER NOT NULL DEFAULT 1,
     state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'claimed')),
     owner       TEXT,
     claimed_at  INTEGER,
     unknown     INTEGER NOT NULL DEFAULT 0,
     attempts    INTEGER NOT NULL DEFAULT 0,
     not_before  INTEGER NOT NULL DEFAULT 0,
     created_at  INTEGER NOT NULL,
     fence       INTEGER
   );
   INSERT INTO outbox_v8 (key, kind, lane, channel, alert_id, priority, order_at, payload, rev, state, owner,
                          claimed_at, unknown, attempts, not_before, created_at, fence)
     SELECT key, kind, lane, channel, alert_id, priority, order_at, payload, rev, state, owner,
            claimed_at, unknown, attempts, not_before, created_at, fence
     FROM outbox;
   DROP TABLE outbox;
   ALTER TABLE outbox_v8 RENAME TO outbox;
   CREATE INDEX outbox_next ON outbox (lane, channel, state, priority, order_at);
   CREATE INDEX outbox_lane_next ON outbox (lane, priority, order_at);
   CREATE INDEX outbox_alert ON outbox (alert_id);`,
];

/**
 * The ownership clock (epoch ms), read inside each statement: the machine's, which every process of
 * one SQLite file shares (`dbClock`, registered as the SQL function `cotool_now()`; tests on a fake
 * clock pass their own). No caller's time decides ownership.
 */
const NOW = 'cotool_now()';
/** The fence holds: ?1 (the owner) still holds the lease named ?2 under token ?3, unexpired. */
const FENCE_HOLDS = `EXISTS (SELECT 1 FROM leases WHERE name = ?2 AND owner = ?1 AND token = ?3 AND expires_at > ${NOW})`;

/** Critical first, no severity last (src/core/digest.ts severityRank). */
const SEVERITY_RANK_SQL =
  "CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END";
/** What `String.prototype.trim` removes that titles hold in practice. */
const BLANKS_SQL = "' ' || char(9, 10, 13)";
/**
 * `id` (with `p`, the position of its first `-`) is a numbered id, `COT-123` (the NUMBERED pattern of
 * src/core/digest.ts: a letter, letters, digits or `_`, a `-`, then a number without leading zeros).
 */
const NUMBERED_SQL = `p > 1 AND substr(id, 1, 1) GLOB '[A-Za-z]' AND substr(id, 1, p - 1) NOT GLOB '*[^A-Za-z0-9_]*'
  AND length(id) - p BETWEEN 1 AND 15 AND substr(id, p + 1) NOT GLOB '*[^0-9]*'
  AND (substr(id, p + 1) = '0' OR substr(id, p + 1, 1) <> '0')`;

export type SqliteStoreOptions = {
  clock?: () => number;
  /** The ownership clock (default: the machine's). Only tests on a fake clock set it. */
  dbClock?: () => number;
  /** Where a card claimed by an older release was going (the alert channel). */
  legacyChannel?: string;
};

/** The statements, in SQLite's dialect (`$1` of the shared ones is read as `?1`). */
const SQL = {
  questionsOf: 'SELECT * FROM questions WHERE alert_id = ? ORDER BY asked_at DESC, id DESC',
  dueQuestions: `SELECT * FROM questions WHERE state = 'asked' AND deadline <= ${NOW} ORDER BY deadline, id LIMIT ?`,
  // Only into a mute that exists and is not ended; once per alert.
  muteMember: `INSERT INTO mute_members (mute_id, alert_id, display_id)
       SELECT id, ?2, ?3 FROM mutes WHERE id = ?1 AND ended_at IS NULL
       ON CONFLICT (mute_id, alert_id) DO NOTHING`,
  memberEscalated: 'UPDATE mute_members SET escalated = 1 WHERE mute_id = ? AND alert_id = ? AND escalated = 0',
  activeMutes: 'SELECT * FROM mutes WHERE ended_at IS NULL ORDER BY created_at, id',
  dueMuteEnds: `SELECT * FROM mutes WHERE ended_at IS NULL AND until_at <= ${NOW} ORDER BY until_at, id LIMIT ?`,
  // ?2 null: from the first; else after it in (length, bytes) order.
  muteMembersAfter: `SELECT alert_id, display_id FROM mute_members
       WHERE mute_id = ?1 AND (?2 IS NULL OR length(display_id) > length(?2)
                               OR (length(display_id) = length(?2) AND display_id > ?2))
       ORDER BY length(display_id), display_id LIMIT ?3`,
  // One JSON array bound instead of hundreds of placeholders (as the poller's peek).
  warRoomsOf: 'SELECT w.* FROM json_each(?) AS j JOIN war_rooms AS w ON w.alert_id = j.value',
  // One JSON array bound instead of hundreds of placeholders.
  peek: 'SELECT c.alert_id, c.state, c.status, c.updated_at, c.final FROM json_each(?) AS j JOIN cards AS c ON c.alert_id = j.value',
  unfinishedIds:
    "SELECT alert_id FROM cards WHERE (state = 'posted' AND final = 0) OR state = 'queued' ORDER BY created_at",
  lastAction: `UPDATE cards SET last_action = ?1,
              first_action_at = CASE WHEN ?2 = 1 AND first_action_at IS NULL THEN ?3 ELSE first_action_at END,
              version = version + 1, changed_at = ?3
       WHERE alert_id = ?4`,
  enqueue: `INSERT INTO outbox (key, kind, lane, channel, alert_id, priority, order_at, payload, created_at, not_before)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, COALESCE(${NOW} + ?11, ?10))
       ON CONFLICT (key) DO UPDATE SET payload = excluded.payload, priority = excluded.priority,
              order_at = MIN(outbox.order_at, excluded.order_at), rev = outbox.rev + 1,
              lane = CASE WHEN excluded.lane = 'interactive' THEN excluded.lane ELSE outbox.lane END`,
  dequeue: "DELETE FROM outbox WHERE key = ? AND state = 'pending' AND unknown = 0",
  settle: `INSERT INTO outbox (key, kind, lane, channel, alert_id, priority, order_at, payload, created_at, not_before, unknown)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
       ON CONFLICT (key) DO UPDATE SET payload = excluded.payload, not_before = excluded.not_before, rev = outbox.rev + 1
       WHERE outbox.state = 'pending'`,
  stormGrow: 'UPDATE storms SET last_added_at = MAX(last_added_at, ?), cards_used = cards_used + ? WHERE id = ?',
  nextAny: `SELECT * FROM outbox WHERE lane = :lane
         AND ((state = 'pending' AND not_before <= ${NOW}) OR (state = 'claimed' AND claimed_at < ${NOW} - :staleMs))
       ORDER BY priority, order_at LIMIT 1`,
  nextOf: `SELECT * FROM outbox WHERE lane = :lane AND channel = :channel
         AND ((state = 'pending' AND not_before <= ${NOW}) OR (state = 'claimed' AND claimed_at < ${NOW} - :staleMs))
       ORDER BY priority, order_at LIMIT 1`,
  fenceHolds: `SELECT ${FENCE_HOLDS} AS ok`,
  claim: `UPDATE outbox SET state = 'claimed', owner = :owner, claimed_at = ${NOW}, fence = :token,
              unknown = CASE WHEN state = 'claimed' THEN 1 ELSE unknown END
       WHERE key = :key AND rev = :rev AND state = :state AND COALESCE(claimed_at, -1) = COALESCE(:claimedAt, -1)`,
  touch: `UPDATE outbox SET claimed_at = ${NOW}
       WHERE key = ?4 AND state = 'claimed' AND owner = ?1 AND fence = ?3 AND ${FENCE_HOLDS}`,
  itemOf: 'SELECT * FROM outbox WHERE key = ?',
  ownedRev: `SELECT rev FROM outbox WHERE key = ?4 AND state = 'claimed' AND owner = ?1 AND fence = ?3 AND ${FENCE_HOLDS}`,
  requeue: `UPDATE outbox SET state = 'pending', owner = NULL, claimed_at = NULL, fence = NULL, unknown = 0, attempts = 0,
              not_before = 0
       WHERE key = ?`,
  retry: `UPDATE outbox SET state = 'pending', owner = NULL, claimed_at = NULL, fence = NULL,
              not_before = ${NOW} + ?5,
              unknown = CASE WHEN ?6 = 1 THEN 1 ELSE unknown END, attempts = attempts + 1
       WHERE key = ?4 AND state = 'claimed' AND owner = ?1 AND fence = ?3 AND ${FENCE_HOLDS}`,
  depth: 'SELECT channel, lane, COUNT(*) AS n FROM outbox GROUP BY channel, lane',
  listOutbox: `SELECT * FROM outbox WHERE (?1 IS NULL OR channel = ?1) AND (?2 IS NULL OR kind = ?2)
       ORDER BY lane, channel, priority, order_at`,
  activeStorms: 'SELECT * FROM storms WHERE ended_at IS NULL ORDER BY started_at',
  digestGroups: `SELECT group_key AS key, COUNT(*) AS count, COUNT(*) FILTER (WHERE status IN ${LIVE_SQL}) AS live,
              COUNT(*) FILTER (WHERE severity = 'critical') AS critical,
              COUNT(*) FILTER (WHERE severity = 'high') AS high,
              COUNT(*) FILTER (WHERE severity = 'medium') AS medium,
              COUNT(*) FILTER (WHERE severity = 'low') AS low,
              MIN(created_at) AS first_seen, MAX(created_at) AS last_seen, MIN(seq) AS first_seq
       FROM storm_members WHERE storm_id = ? GROUP BY group_key
       ORDER BY group_key = 'escalated' DESC, count DESC, first_seen, first_seq LIMIT ?`,
  // The first distinct titles (compared without surrounding blanks), in the order they came.
  groupExamples: `SELECT title, MIN(seq) AS first FROM storm_members
       WHERE storm_id = ? AND group_key = ? AND trim(title, ${BLANKS_SQL}) <> ''
       GROUP BY trim(title, ${BLANKS_SQL}) ORDER BY first LIMIT ?`,
  // Numbered ids (`COT-123`) as runs of consecutive numbers ("islands"), by prefix then number.
  groupIslands: `WITH m AS (
         SELECT display_id AS id, instr(display_id, '-') AS p FROM storm_members WHERE storm_id = ? AND group_key = ?
       ), nums AS (
         SELECT DISTINCT substr(id, 1, p) AS prefix, CAST(substr(id, p + 1) AS INTEGER) AS n FROM m WHERE ${NUMBERED_SQL}
       ), islands AS (
         SELECT prefix, n, n - ROW_NUMBER() OVER (PARTITION BY prefix ORDER BY n) AS k FROM nums
       )
       SELECT prefix, MIN(n) AS first, MAX(n) AS last, COUNT(*) AS run FROM islands
       GROUP BY prefix, k ORDER BY prefix, first LIMIT ?`,
  groupOtherIds: `WITH m AS (
         SELECT display_id AS id, instr(display_id, '-') AS p FROM storm_members WHERE storm_id = ? AND group_key = ?
       )
       SELECT DISTINCT id FROM m WHERE NOT (${NUMBERED_SQL}) ORDER BY id LIMIT ?`,
  // `?3` is a JSON array of group keys: one group (`?2` = 1) or every group but these.
  pageCount: `SELECT COUNT(*) AS total, COUNT(*) FILTER (WHERE status IN ${LIVE_SQL}) AS live,
              (SELECT group_name FROM storm_members WHERE storm_id = ?1 AND ?2 = 1
                 AND group_key = (SELECT value FROM json_each(?3)) ORDER BY seq LIMIT 1) AS group_name
       FROM storm_members WHERE storm_id = ?1 AND (group_key IN (SELECT value FROM json_each(?3))) = (?2 = 1)`,
  page: `SELECT * FROM storm_members WHERE storm_id = ?1 AND (group_key IN (SELECT value FROM json_each(?3))) = (?2 = 1)
       ORDER BY status IN ${LIVE_SQL} DESC, ${SEVERITY_RANK_SQL}, created_at, display_id, seq LIMIT ?4 OFFSET ?5`,
  // A renewal (same owner, unexpired) keeps the token; any other taking moves it on.
  lease: `INSERT INTO leases (name, owner, expires_at, token) VALUES (?1, ?2, ${NOW} + ?3, 1)
       ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at,
              token = CASE WHEN leases.owner = excluded.owner AND leases.expires_at >= ${NOW} THEN leases.token
                           ELSE leases.token + 1 END
       WHERE leases.owner = excluded.owner OR leases.expires_at < ${NOW}
       RETURNING token`,
  releaseLease: `UPDATE leases SET expires_at = ${NOW} - 1 WHERE name = ? AND owner = ?`,
  claimAction: `INSERT INTO action_claims (alert_id, owner, claimed_at) VALUES (?1, ?2, ${NOW})
       ON CONFLICT (alert_id) DO UPDATE SET owner = excluded.owner, claimed_at = excluded.claimed_at
       WHERE action_claims.claimed_at < ${NOW} - ?3`,
  quietIds: "SELECT alert_id, state FROM cards WHERE state IN ('seen', 'digested', 'muted') AND final = 0",
  pruneMeta: 'DELETE FROM meta WHERE key IN (SELECT p.value || c.value FROM json_each(?) AS p, json_each(?) AS c)',
};

const PRUNE = pruneSql(
  (a, b) => `instr(${a}, ${b})`,
  () => '',
);

/** Opens (creating if needed) the SQLite database at `path` (`:memory:` for tests). */
export function openSqliteStore(path: string, options: SqliteStoreOptions | (() => number) = {}): Store {
  const opts = typeof options === 'function' ? { clock: options } : options;
  const clock = opts.clock ?? Date.now;
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  const dbClock = opts.dbClock ?? Date.now;
  db.function('cotool_now', { deterministic: false }, () => Math.floor(dbClock()));
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
  migrateSqlite(db, opts.legacyChannel ?? '');

  const statements = new Map<string, { st: StatementSync; rows: boolean }>();
  /** Prepared once per text; the shared statements' `$n` read as `?n`. */
  function prepare(sql: string): { st: StatementSync; rows: boolean } {
    let p = statements.get(sql);
    if (!p) {
      const st = db.prepare(sql.replace(/\$(\d+)/g, '?$1'));
      p = { st, rows: st.columns().length > 0 };
      statements.set(sql, p);
    }
    return p;
  }
  for (const sql of [...Object.values(SHARED_SQL), ...Object.values(SQL), ...Object.values(PRUNE)]) prepare(sql);
  /** Booleans as 0/1, lists as one JSON array (read with json_each). */
  const bind = (v: unknown): SQLInputValue =>
    typeof v === 'boolean' ? Number(v) : Array.isArray(v) ? JSON.stringify(v) : ((v ?? null) as SQLInputValue);
  function exec({ sql, values }: Step): Done {
    const { st, rows } = prepare(sql);
    const args = values.map(bind);
    if (rows) {
      const all = st.all(...args) as Row[];
      return { rows: all, count: all.length };
    }
    return { rows: [], count: Number(st.run(...args).changes) };
  }
  const one = (sql: string, values: unknown[] | Record<string, SQLInputValue>) =>
    (Array.isArray(values) ? prepare(sql).st.get(...values.map(bind)) : prepare(sql).st.get(values)) as Row | undefined;

  const inStatements = new Map<number, StatementSync>();
  /** `SELECT * … IN (?, …)` with n placeholders, prepared once per n. */
  function inStatement(n: number): StatementSync {
    let st = inStatements.get(n);
    if (!st) {
      st = db.prepare(`SELECT * FROM cards WHERE alert_id IN (${Array.from({ length: n }, () => '?').join(',')})`);
      if (inStatements.size < 128) inStatements.set(n, st);
    }
    return st;
  }
  const peek = db.prepare(SQL.peek);
  peek.setReturnArrays(true);

  function transaction<T>(fn: () => T): T {
    db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      db.exec('COMMIT');
      return out;
    } catch (err) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw err;
    }
  }

  return {
    ...sharedStore({
      sql: SQL,
      prune: PRUNE,
      chunk: 500,
      clock,
      query: async (sql, values = []) => exec({ sql, values }),
      tx: async (make) => transaction(() => driveSync(make(), exec)),
    }),
    async getMany(alertIds) {
      const out = new Map<string, CardRecord>();
      for (let i = 0; i < alertIds.length; i += 500) {
        const chunk = alertIds.slice(i, i + 500);
        for (const r of inStatement(chunk.length).all(...chunk) as Row[]) out.set(String(r.alert_id), toRecord(r));
      }
      return out;
    },
    async peekMany(alertIds) {
      const out = new Map<string, CardPeek>();
      for (let i = 0; i < alertIds.length; i += 500) {
        const rows = peek.all(JSON.stringify(alertIds.slice(i, i + 500))) as unknown as SQLInputValue[][];
        for (const [id, state, status, updatedAt, final] of rows) {
          out.set(String(id), {
            state: String(state) as CardPeek['state'],
            status: str(status),
            updatedAt: str(updatedAt),
            final: Number(final) === 1,
          });
        }
      }
      return out;
    },
    async claimNext({ lane, channel, owner, staleMs, fence }) {
      return transaction(() => {
        if (Number(one(SQL.fenceHolds, [owner, fence.lease, fence.token])?.ok) !== 1) return null;
        const row =
          channel === undefined ? one(SQL.nextAny, { lane, staleMs }) : one(SQL.nextOf, { lane, channel, staleMs });
        if (!row) return null;
        const { key, rev, state, claimedAt } = toItem(row);
        const r = prepare(SQL.claim).st.run({ owner, token: fence.token, key, rev, state, claimedAt });
        if (Number(r.changes) !== 1) return null;
        return toItem(one(SQL.itemOf, [key]) as Row);
      });
    },
    async ping() {
      db.prepare('SELECT 1').get();
    },
    async close() {
      if (db.isOpen) db.close();
    },
  };
}

/**
 * Applies the pending migrations, up to version `upTo` (default: all; tests build a database as an
 * older release left it with a lower one).
 */
export function migrateSqlite(db: DatabaseSync, legacyChannel = '', upTo = MIGRATIONS.length): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as Row | undefined;
  const current = row?.v === null || row?.v === undefined ? 0 : Number(row.v);
  if (current > MIGRATIONS.length) {
    throw new Error(`database schema version ${current} is newer than this release supports (${MIGRATIONS.length})`);
  }
  for (let v = current + 1; v <= Math.min(upTo, MIGRATIONS.length); v++) {
    db.exec('BEGIN IMMEDIATE');
    try {
      const sql = (MIGRATIONS[v - 1] as string).replaceAll(
        ':legacyChannel',
        `'${legacyChannel.replaceAll("'", "''")}'`,
      );
      db.exec(sql);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(v, new Date().toISOString());
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  }
}

/** The schema version this release migrates to (also read by the doctor). */
export const SCHEMA_VERSION = MIGRATIONS.length;
/** The version of the fencing migration (lease tokens, one open storm per channel). */
export const FENCING_VERSION = 7;
/** The version of the next move's migration (questions, mutes, war rooms; cards muted, owned, reminded). */
export const NEXT_MOVE_VERSION = 8;
/** The migration that added the interactive lane. */
export const INTERACTIVE_LANE_VERSION = 9;
