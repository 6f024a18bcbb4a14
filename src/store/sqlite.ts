import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import {
  digestGroup,
  idSpans,
  muteParams,
  num,
  questionParams,
  requestParams,
  str,
  toCloseRequest,
  toItem,
  toMember,
  toMute,
  toQuestion,
  toRecord,
  toStorm,
  toWarRoom,
  warRoomParams,
} from './rows.ts';
import type {
  ApplyResult,
  CardPatch,
  CardPeek,
  CardRecord,
  CardState,
  Change,
  NewOutboxItem,
  OutboxItem,
  PruneKind,
  PruneResult,
  Store,
  WarRoom,
} from './store.ts';

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
/** The fence holds: :owner still holds the lease named :lease under :token, unexpired. */
const FENCE_HOLDS = `EXISTS (SELECT 1 FROM leases WHERE name = :lease AND owner = :owner AND token = :token AND expires_at > ${NOW})`;

type Row = Record<string, SQLInputValue>;

/** Statuses still live (src/cotool/schemas.ts LIVE_STATUSES), for SQL. */
const LIVE_SQL = "('open', 'in_progress', 'escalated')";
/** Critical first, no severity last (src/notify/digest.ts severityRank). */
const SEVERITY_RANK_SQL =
  "CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END";
/** What `String.prototype.trim` removes that titles hold in practice. */
const BLANKS_SQL = "' ' || char(9, 10, 13)";
/**
 * `id` (with `p`, the position of its first `-`) is a numbered id, `COT-123` (the NUMBERED pattern of
 * src/notify/digest.ts: a letter, letters, digits or `_`, a `-`, then a number without leading zeros).
 */
const NUMBERED_SQL = `p > 1 AND substr(id, 1, 1) GLOB '[A-Za-z]' AND substr(id, 1, p - 1) NOT GLOB '*[^A-Za-z0-9_]*'
  AND length(id) - p BETWEEN 1 AND 15 AND substr(id, p + 1) NOT GLOB '*[^0-9]*'
  AND (substr(id, p + 1) = '0' OR substr(id, p + 1, 1) <> '0')`;

/** Column names of the patchable card fields, and how each value is stored (one value per column). */
const PATCH_COLUMNS: { [K in keyof CardPatch]-?: [string[], (v: CardPatch[K]) => SQLInputValue[]] } = {
  state: [['state'], (v) => [v as string]],
  channel: [['channel'], (v) => [v ?? null]],
  ts: [['ts'], (v) => [v ?? null]],
  status: [['status'], (v) => [v ?? null]],
  updatedAt: [['updated_at'], (v) => [v ?? null]],
  fingerprint: [['fingerprint'], (v) => [v ?? null]],
  final: [['final'], (v) => [v ? 1 : 0]],
  stormId: [['storm_id'], (v) => [v ?? null]],
  lastAction: [['last_action'], (v) => [v ? JSON.stringify(v) : null]],
  postedAt: [['posted_at'], (v) => [v ?? null]],
  muteId: [['mute_id'], (v) => [v ?? null]],
  owner: [['owner_id', 'owner_name'], (v) => [v?.id ?? null, v?.name ?? null]],
  remindersSent: [['reminders_sent'], (v) => [v ?? 0]],
};
/** The columns and values of a patch's fields, in the order of `keys`. */
function patchValues(keys: readonly (keyof CardPatch)[], set: CardPatch): SQLInputValue[] {
  return keys.flatMap((k) => (PATCH_COLUMNS[k][1] as (v: unknown) => SQLInputValue[])(set[k]));
}

export type SqliteStoreOptions = {
  clock?: () => number;
  /** The ownership clock (default: the machine's). Only tests on a fake clock set it. */
  dbClock?: () => number;
  /** Where a card claimed by an older release was going (the alert channel). */
  legacyChannel?: string;
};

class Conflict extends Error {}

/** Statements of the next move: questions, mutes and their members, war rooms, reminders. */
function nextMoveStatements(db: DatabaseSync) {
  return {
    ask: db.prepare(
      `INSERT INTO questions (id, alert_id, display_id, channel, thread_ts, asked_by_id, asked_by_name,
                              asked_user_id, asked_at, deadline)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    ),
    answer: db.prepare(
      `UPDATE questions SET state = ?, note = ?, answered_at = ?
       WHERE id = ? AND state = 'asked' AND asked_user_id = ?`,
    ),
    timeout: db.prepare("UPDATE questions SET state = 'timed_out', answered_at = ? WHERE id = ? AND state = 'asked'"),
    questionDm: db.prepare('UPDATE questions SET dm_channel = ?, dm_ts = ? WHERE id = ?'),
    getQuestion: db.prepare('SELECT * FROM questions WHERE id = ?'),
    questionsOf: db.prepare('SELECT * FROM questions WHERE alert_id = ? ORDER BY asked_at DESC, id DESC'),
    dueQuestions: db.prepare(
      `SELECT * FROM questions WHERE state = 'asked' AND deadline <= ${NOW} ORDER BY deadline, id LIMIT ?`,
    ),
    muteCreate: db.prepare(
      `INSERT INTO mutes (id, channel, detection_key, detection_name, by_id, by_name, reason, created_at,
                          until_at, source_alert_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    ),
    muteEnd: db.prepare(
      'UPDATE mutes SET ended_at = ?, ended_by_id = ?, ended_by_name = ? WHERE id = ? AND ended_at IS NULL',
    ),
    // Only into a mute that exists and is not ended; once per alert.
    muteMember: db.prepare(
      `INSERT INTO mute_members (mute_id, alert_id, display_id)
       SELECT id, ?2, ?3 FROM mutes WHERE id = ?1 AND ended_at IS NULL
       ON CONFLICT (mute_id, alert_id) DO NOTHING`,
    ),
    muteCounted: db.prepare('UPDATE mutes SET muted = muted + 1 WHERE id = ?'),
    memberEscalated: db.prepare(
      'UPDATE mute_members SET escalated = 1 WHERE mute_id = ? AND alert_id = ? AND escalated = 0',
    ),
    muteEscalated: db.prepare('UPDATE mutes SET escalated = escalated + 1 WHERE id = ?'),
    mutePosted: db.prepare('UPDATE mutes SET ts = ? WHERE id = ?'),
    getMute: db.prepare('SELECT * FROM mutes WHERE id = ?'),
    activeMutes: db.prepare('SELECT * FROM mutes WHERE ended_at IS NULL ORDER BY created_at, id'),
    dueMuteEnds: db.prepare(
      `SELECT * FROM mutes WHERE ended_at IS NULL AND until_at <= ${NOW} ORDER BY until_at, id LIMIT ?`,
    ),
    // ?2 null: from the first; else after it in (length, bytes) order.
    muteMembersAfter: db.prepare(
      `SELECT alert_id, display_id FROM mute_members
       WHERE mute_id = ?1 AND (?2 IS NULL OR length(display_id) > length(?2)
                               OR (length(display_id) = length(?2) AND display_id > ?2))
       ORDER BY length(display_id), display_id LIMIT ?3`,
    ),
    warRoom: db.prepare(
      `INSERT INTO war_rooms (alert_id, channel, name, by_id, by_name, at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (alert_id) DO NOTHING`,
    ),
    getWarRoom: db.prepare('SELECT * FROM war_rooms WHERE alert_id = ?'),
    // One JSON array bound instead of hundreds of placeholders (as the poller's peek).
    warRoomsOf: db.prepare('SELECT w.* FROM json_each(?) AS j JOIN war_rooms AS w ON w.alert_id = j.value'),
    reminder: db.prepare('UPDATE cards SET reminders_sent = ? WHERE alert_id = ? AND reminders_sent = ?'),
  };
}

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

  const q = {
    get: db.prepare('SELECT * FROM cards WHERE alert_id = ?'),
    peek: (() => {
      // One JSON array bound instead of hundreds of placeholders.
      const st = db.prepare(
        'SELECT c.alert_id, c.state, c.status, c.updated_at, c.final FROM json_each(?) AS j JOIN cards AS c ON c.alert_id = j.value',
      );
      st.setReturnArrays(true);
      return st;
    })(),
    byMessage: db.prepare("SELECT * FROM cards WHERE channel = ? AND ts = ? AND state = 'posted'"),
    unfinishedIds: db.prepare(
      "SELECT alert_id FROM cards WHERE (state = 'posted' AND final = 0) OR state = 'queued' ORDER BY created_at",
    ),
    seen: db.prepare(
      `INSERT INTO cards (alert_id, display_id, state, status, created_at, changed_at)
       VALUES (?, ?, 'seen', ?, ?, ?) ON CONFLICT (alert_id) DO NOTHING`,
    ),
    render: db.prepare(
      `UPDATE cards SET status = ?, updated_at = ?, fingerprint = ?, final = ?, version = version + 1, changed_at = ?
       WHERE alert_id = ?`,
    ),
    lastAction: db.prepare(
      `UPDATE cards SET last_action = ?,
              first_action_at = CASE WHEN ? = 1 AND first_action_at IS NULL THEN ? ELSE first_action_at END,
              version = version + 1, changed_at = ?
       WHERE alert_id = ?`,
    ),
    cardTimes: db.prepare(
      'SELECT alert_id, posted_at, first_action_at FROM cards WHERE posted_at IS NOT NULL AND posted_at >= ?',
    ),
    insertCard: db.prepare(
      `INSERT INTO cards (alert_id, display_id, state, channel, status, updated_at, fingerprint, storm_id,
                          created_at, changed_at, mute_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (alert_id) DO NOTHING`,
    ),
    enqueue: db.prepare(
      `INSERT INTO outbox (key, kind, lane, channel, alert_id, priority, order_at, payload, created_at, not_before)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, COALESCE(${NOW} + ?, ?))
       ON CONFLICT (key) DO UPDATE SET payload = excluded.payload, priority = excluded.priority,
              order_at = MIN(outbox.order_at, excluded.order_at), rev = outbox.rev + 1,
              lane = CASE WHEN excluded.lane = 'interactive' THEN excluded.lane ELSE outbox.lane END`,
    ),
    dequeue: db.prepare("DELETE FROM outbox WHERE key = ? AND state = 'pending' AND unknown = 0"),
    settle: db.prepare(
      `INSERT INTO outbox (key, kind, lane, channel, alert_id, priority, order_at, payload, created_at, not_before, unknown)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
       ON CONFLICT (key) DO UPDATE SET payload = excluded.payload, not_before = excluded.not_before, rev = outbox.rev + 1
       WHERE outbox.state = 'pending'`,
    ),
    stormOpen: db.prepare(
      'INSERT INTO storms (id, channel, started_at, last_added_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    stormExists: db.prepare('SELECT 1 FROM storms WHERE id = ?'),
    stormGrow: db.prepare(
      'UPDATE storms SET last_added_at = MAX(last_added_at, ?), cards_used = cards_used + ? WHERE id = ?',
    ),
    stormEnd: db.prepare('UPDATE storms SET ended_at = ? WHERE id = ? AND ended_at IS NULL'),
    stormPosted: db.prepare('UPDATE storms SET ts = ? WHERE id = ?'),
    stormTally: db.prepare('UPDATE storms SET tally = ? WHERE id = ?'),
    member: db.prepare(
      `INSERT INTO storm_members (storm_id, alert_id, display_id, group_key, group_name, severity, status,
                                  title, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (storm_id, alert_id) DO NOTHING`,
    ),
    memberStatus: db.prepare('UPDATE storm_members SET status = ?, updated_at = ? WHERE storm_id = ? AND alert_id = ?'),
    nextAny: db.prepare(
      `SELECT * FROM outbox WHERE lane = :lane
         AND ((state = 'pending' AND not_before <= ${NOW}) OR (state = 'claimed' AND claimed_at < ${NOW} - :staleMs))
       ORDER BY priority, order_at LIMIT 1`,
    ),
    nextOf: db.prepare(
      `SELECT * FROM outbox WHERE lane = :lane AND channel = :channel
         AND ((state = 'pending' AND not_before <= ${NOW}) OR (state = 'claimed' AND claimed_at < ${NOW} - :staleMs))
       ORDER BY priority, order_at LIMIT 1`,
    ),
    fenceHolds: db.prepare(`SELECT ${FENCE_HOLDS} AS ok`),
    claim: db.prepare(
      `UPDATE outbox SET state = 'claimed', owner = :owner, claimed_at = ${NOW}, fence = :token,
              unknown = CASE WHEN state = 'claimed' THEN 1 ELSE unknown END
       WHERE key = :key AND rev = :rev AND state = :state AND COALESCE(claimed_at, -1) = COALESCE(:claimedAt, -1)`,
    ),
    touch: db.prepare(
      `UPDATE outbox SET claimed_at = ${NOW}
       WHERE key = :key AND state = 'claimed' AND owner = :owner AND fence = :token AND ${FENCE_HOLDS}`,
    ),
    itemOf: db.prepare('SELECT * FROM outbox WHERE key = ?'),
    ownedRev: db.prepare(
      `SELECT rev FROM outbox WHERE key = :key AND state = 'claimed' AND owner = :owner AND fence = :token AND ${FENCE_HOLDS}`,
    ),
    deleteItem: db.prepare('DELETE FROM outbox WHERE key = ?'),
    requeue: db.prepare(
      `UPDATE outbox SET state = 'pending', owner = NULL, claimed_at = NULL, fence = NULL, unknown = 0, attempts = 0,
              not_before = 0
       WHERE key = ?`,
    ),
    retry: db.prepare(
      `UPDATE outbox SET state = 'pending', owner = NULL, claimed_at = NULL, fence = NULL,
              not_before = ${NOW} + :afterMs,
              unknown = CASE WHEN :unknown = 1 THEN 1 ELSE unknown END, attempts = attempts + 1
       WHERE key = :key AND state = 'claimed' AND owner = :owner AND fence = :token AND ${FENCE_HOLDS}`,
    ),
    depth: db.prepare('SELECT channel, lane, COUNT(*) AS n FROM outbox GROUP BY channel, lane'),
    listOutbox: db.prepare('SELECT * FROM outbox ORDER BY lane, channel, priority, order_at'),
    activeStorms: db.prepare('SELECT * FROM storms WHERE ended_at IS NULL ORDER BY started_at'),
    getStorm: db.prepare('SELECT * FROM storms WHERE id = ?'),
    members: db.prepare('SELECT * FROM storm_members WHERE storm_id = ? ORDER BY seq'),
    digestTotals: db.prepare(
      `SELECT COUNT(*) AS total, COUNT(*) FILTER (WHERE status IN ${LIVE_SQL}) AS live,
              COUNT(DISTINCT group_key) AS groups
       FROM storm_members WHERE storm_id = ?`,
    ),
    digestGroups: db.prepare(
      `SELECT group_key AS key, COUNT(*) AS count, COUNT(*) FILTER (WHERE status IN ${LIVE_SQL}) AS live,
              COUNT(*) FILTER (WHERE severity = 'critical') AS critical,
              COUNT(*) FILTER (WHERE severity = 'high') AS high,
              COUNT(*) FILTER (WHERE severity = 'medium') AS medium,
              COUNT(*) FILTER (WHERE severity = 'low') AS low,
              MIN(created_at) AS first_seen, MAX(created_at) AS last_seen, MIN(seq) AS first_seq
       FROM storm_members WHERE storm_id = ? GROUP BY group_key
       ORDER BY group_key = 'escalated' DESC, count DESC, first_seen, first_seq LIMIT ?`,
    ),
    groupName: db.prepare(
      'SELECT group_name FROM storm_members WHERE storm_id = ? AND group_key = ? ORDER BY seq LIMIT 1',
    ),
    // The first distinct titles (compared without surrounding blanks), in the order they came.
    groupExamples: db.prepare(
      `SELECT title, MIN(seq) AS first FROM storm_members
       WHERE storm_id = ? AND group_key = ? AND trim(title, ${BLANKS_SQL}) <> ''
       GROUP BY trim(title, ${BLANKS_SQL}) ORDER BY first LIMIT ?`,
    ),
    // Numbered ids (`COT-123`) as runs of consecutive numbers ("islands"), by prefix then number.
    groupIslands: db.prepare(
      `WITH m AS (
         SELECT display_id AS id, instr(display_id, '-') AS p FROM storm_members WHERE storm_id = ? AND group_key = ?
       ), nums AS (
         SELECT DISTINCT substr(id, 1, p) AS prefix, CAST(substr(id, p + 1) AS INTEGER) AS n FROM m WHERE ${NUMBERED_SQL}
       ), islands AS (
         SELECT prefix, n, n - ROW_NUMBER() OVER (PARTITION BY prefix ORDER BY n) AS k FROM nums
       )
       SELECT prefix, MIN(n) AS first, MAX(n) AS last, COUNT(*) AS run FROM islands
       GROUP BY prefix, k ORDER BY prefix, first LIMIT ?`,
    ),
    groupOtherIds: db.prepare(
      `WITH m AS (
         SELECT display_id AS id, instr(display_id, '-') AS p FROM storm_members WHERE storm_id = ? AND group_key = ?
       )
       SELECT DISTINCT id FROM m WHERE NOT (${NUMBERED_SQL}) ORDER BY id LIMIT ?`,
    ),
    // `?3` is a JSON array of group keys: one group (`?2` = 1) or every group but these.
    pageCount: db.prepare(
      `SELECT COUNT(*) AS total, COUNT(*) FILTER (WHERE status IN ${LIVE_SQL}) AS live,
              (SELECT group_name FROM storm_members WHERE storm_id = ?1 AND ?2 = 1
                 AND group_key = (SELECT value FROM json_each(?3)) ORDER BY seq LIMIT 1) AS group_name
       FROM storm_members WHERE storm_id = ?1 AND (group_key IN (SELECT value FROM json_each(?3))) = (?2 = 1)`,
    ),
    page: db.prepare(
      `SELECT * FROM storm_members WHERE storm_id = ?1 AND (group_key IN (SELECT value FROM json_each(?3))) = (?2 = 1)
       ORDER BY status IN ${LIVE_SQL} DESC, ${SEVERITY_RANK_SQL}, created_at, display_id, seq LIMIT ?4 OFFSET ?5`,
    ),
    idsAfter: db.prepare(
      'SELECT seq, display_id FROM storm_members WHERE storm_id = ? AND seq > ? ORDER BY seq LIMIT ?',
    ),
    // A renewal (same owner, unexpired) keeps the token; any other taking moves it on.
    lease: db.prepare(
      `INSERT INTO leases (name, owner, expires_at, token) VALUES (:name, :owner, ${NOW} + :ttlMs, 1)
       ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at,
              token = CASE WHEN leases.owner = excluded.owner AND leases.expires_at >= ${NOW} THEN leases.token
                           ELSE leases.token + 1 END
       WHERE leases.owner = excluded.owner OR leases.expires_at < ${NOW}
       RETURNING token`,
    ),
    leaseToken: db.prepare('SELECT token FROM leases WHERE name = ?'),
    releaseLease: db.prepare(`UPDATE leases SET expires_at = ${NOW} - 1 WHERE name = ? AND owner = ?`),
    claimAction: db.prepare(
      `INSERT INTO action_claims (alert_id, owner, claimed_at) VALUES (:alertId, :owner, ${NOW})
       ON CONFLICT (alert_id) DO UPDATE SET owner = excluded.owner, claimed_at = excluded.claimed_at
       WHERE action_claims.claimed_at < ${NOW} - :ttlMs`,
    ),
    releaseAction: db.prepare('DELETE FROM action_claims WHERE alert_id = ? AND owner = ?'),
    once: db.prepare(
      `INSERT INTO once_keys (key, expires_at) VALUES (?, ?)
       ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE once_keys.expires_at < ?`,
    ),
    pruneOnce: db.prepare('DELETE FROM once_keys WHERE expires_at < ?'),
    forgetOnce: db.prepare('DELETE FROM once_keys WHERE key = ?'),
    expireRequests: db.prepare(
      "UPDATE close_requests SET state = 'expired', decided_at = ? WHERE alert_id = ? AND state = 'pending' AND expires_at <= ?",
    ),
    addRequest: db.prepare(
      `INSERT INTO close_requests (id, alert_id, display_id, status, words, requester_id, requester_name, basis,
                                   channel, thread_ts, state, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT DO NOTHING`,
    ),
    getRequest: db.prepare('SELECT * FROM close_requests WHERE id = ?'),
    pendingRequest: db.prepare("SELECT * FROM close_requests WHERE alert_id = ? AND state = 'pending'"),
    requestTs: db.prepare('UPDATE close_requests SET ts = ? WHERE id = ?'),
    moveRequest: db.prepare(
      `UPDATE close_requests SET state = ?, decided_by_id = ?, decided_by_name = ?, decided_at = ?,
              outcome = COALESCE(?, outcome)
       WHERE id = ? AND state = ?`,
    ),
    quietIds: db.prepare(
      "SELECT alert_id, state FROM cards WHERE state IN ('seen', 'digested', 'muted') AND final = 0",
    ),
    pruneMeta: db.prepare(
      'DELETE FROM meta WHERE key IN (SELECT p.value || c.value FROM json_each(?) AS p, json_each(?) AS c)',
    ),
    getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
    ...nextMoveStatements(db),
    setMeta: db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),
  };

  /** One bounded DELETE per kind (parameters: before, limit); see PruneKind for the rules. */
  const prune: Record<PruneKind, StatementSync> = {
    outbox: db.prepare(
      `DELETE FROM outbox WHERE key IN (
         SELECT o.key FROM outbox AS o LEFT JOIN cards AS c ON c.alert_id = o.alert_id
         WHERE o.state = 'pending' AND o.attempts > 0 AND o.created_at < ?1
           AND ((c.alert_id IS NOT NULL AND c.final = 1 AND c.changed_at < ?1)
             OR (o.alert_id IS NULL AND EXISTS (
                   SELECT 1 FROM storms AS s
                   WHERE s.ended_at IS NOT NULL AND s.ended_at < ?1 AND instr(o.key, s.id) > 0)))
         ORDER BY o.created_at LIMIT ?2)`,
    ),
    cards: db.prepare(
      `DELETE FROM cards WHERE alert_id IN (
         SELECT c.alert_id FROM cards AS c
         WHERE c.final = 1 AND c.changed_at < ?1
           AND NOT EXISTS (SELECT 1 FROM outbox AS o WHERE o.alert_id = c.alert_id)
           AND NOT EXISTS (SELECT 1 FROM close_requests AS r WHERE r.alert_id = c.alert_id AND r.state = 'pending')
           AND NOT EXISTS (SELECT 1 FROM questions AS qu WHERE qu.alert_id = c.alert_id AND qu.state = 'asked')
           AND NOT EXISTS (SELECT 1 FROM action_claims AS a WHERE a.alert_id = c.alert_id)
         ORDER BY c.changed_at LIMIT ?2)
       RETURNING alert_id`,
    ),
    storm_members: db.prepare(
      `DELETE FROM storm_members WHERE seq IN (
         SELECT m.seq FROM storms AS s JOIN storm_members AS m ON m.storm_id = s.id
         WHERE s.ended_at IS NOT NULL AND s.ended_at < ?1
           AND NOT EXISTS (SELECT 1 FROM outbox AS o WHERE instr(o.key, s.id) > 0)
         LIMIT ?2)`,
    ),
    storms: db.prepare(
      `DELETE FROM storms WHERE id IN (
         SELECT s.id FROM storms AS s
         WHERE s.ended_at IS NOT NULL AND s.ended_at < ?1
           AND NOT EXISTS (SELECT 1 FROM outbox AS o WHERE instr(o.key, s.id) > 0)
           AND NOT EXISTS (SELECT 1 FROM storm_members AS m WHERE m.storm_id = s.id)
         ORDER BY s.ended_at LIMIT ?2)`,
    ),
    close_requests: db.prepare(
      `DELETE FROM close_requests WHERE id IN (
         SELECT r.id FROM close_requests AS r
         WHERE ((r.state <> 'pending' AND COALESCE(r.decided_at, r.expires_at) < ?1)
             OR (r.state = 'pending' AND r.expires_at < ?1))
           AND NOT EXISTS (SELECT 1 FROM outbox AS o WHERE o.alert_id = r.alert_id)
         LIMIT ?2)`,
    ),
    once_keys: db.prepare(
      'DELETE FROM once_keys WHERE key IN (SELECT key FROM once_keys WHERE expires_at < ?1 ORDER BY expires_at LIMIT ?2)',
    ),
    action_claims: db.prepare(
      'DELETE FROM action_claims WHERE alert_id IN (SELECT alert_id FROM action_claims WHERE claimed_at < ?1 LIMIT ?2)',
    ),
    questions: db.prepare(
      `DELETE FROM questions WHERE id IN (
         SELECT qu.id FROM questions AS qu
         WHERE qu.state <> 'asked' AND qu.answered_at < ?1
           AND NOT EXISTS (SELECT 1 FROM outbox AS o WHERE o.alert_id = qu.alert_id)
         ORDER BY qu.answered_at LIMIT ?2)`,
    ),
    mute_members: db.prepare(
      `DELETE FROM mute_members WHERE seq IN (
         SELECT mm.seq FROM mutes AS m JOIN mute_members AS mm ON mm.mute_id = m.id
         WHERE m.ended_at IS NOT NULL AND m.ended_at < ?1
           AND NOT EXISTS (SELECT 1 FROM outbox AS o WHERE instr(o.key, m.id) > 0)
         LIMIT ?2)`,
    ),
    mutes: db.prepare(
      `DELETE FROM mutes WHERE id IN (
         SELECT m.id FROM mutes AS m
         WHERE m.ended_at IS NOT NULL AND m.ended_at < ?1
           AND NOT EXISTS (SELECT 1 FROM outbox AS o WHERE instr(o.key, m.id) > 0)
           AND NOT EXISTS (SELECT 1 FROM mute_members AS mm WHERE mm.mute_id = m.id)
         ORDER BY m.ended_at LIMIT ?2)`,
    ),
    war_rooms: db.prepare(
      `DELETE FROM war_rooms WHERE alert_id IN (
         SELECT w.alert_id FROM war_rooms AS w
         WHERE w.at < ?1 AND NOT EXISTS (SELECT 1 FROM cards AS c WHERE c.alert_id = w.alert_id)
         LIMIT ?2)`,
    ),
  };

  const inStatements = new Map<string, StatementSync>();
  /** `SELECT <columns> … IN (?, …)` with n placeholders, prepared once per n. */
  function inStatement(n: number, columns = '*'): StatementSync {
    const key = `${columns}|${n}`;
    let st = inStatements.get(key);
    if (!st) {
      st = db.prepare(
        `SELECT ${columns} FROM cards WHERE alert_id IN (${Array.from({ length: n }, () => '?').join(',')})`,
      );
      if (columns !== '*') st.setReturnArrays(true);
      if (inStatements.size < 128) inStatements.set(key, st);
    }
    return st;
  }

  const patchStatements = new Map<string, StatementSync>();
  function patchStatement(keys: (keyof CardPatch)[], byVersion: boolean, byState: boolean): StatementSync {
    const sig = `${keys.join(',')}|${byVersion}|${byState}`;
    let st = patchStatements.get(sig);
    if (!st) {
      const sets = keys.flatMap((k) => PATCH_COLUMNS[k][0].map((c) => `${c} = ?`)).join(', ');
      const where = `alert_id = ?${byVersion ? ' AND version = ?' : ''}${byState ? ' AND state = ?' : ''}`;
      st = db.prepare(
        `UPDATE cards SET ${sets}${sets ? ', ' : ''}version = version + 1, changed_at = ? WHERE ${where}`,
      );
      patchStatements.set(sig, st);
    }
    return st;
  }

  const enqueueOne = (i: NewOutboxItem, t: number) =>
    q.enqueue.run(
      i.key,
      i.kind,
      i.lane,
      i.channel,
      i.alertId,
      i.priority,
      i.orderAt,
      i.payload,
      t,
      i.holdMs ?? null,
      i.notBefore ?? 0,
    );

  /** Applies one change inside the caller's transaction; throws Conflict to roll it back. */
  function applyOne(c: Change, t: number): void {
    const w = c.card;
    if (w?.op === 'insert') {
      const r = q.insertCard.run(
        w.alertId,
        w.displayId,
        w.state,
        w.channel,
        w.status,
        w.updatedAt,
        w.fingerprint,
        w.stormId ?? null,
        t,
        t,
        w.muteId ?? null,
      );
      if (Number(r.changes) !== 1) throw new Conflict();
    } else if (w?.op === 'update') {
      const keys = (Object.keys(w.set) as (keyof CardPatch)[]).filter((k) => w.set[k] !== undefined);
      const values = patchValues(keys, w.set);
      const byVersion = w.expectVersion !== undefined;
      const byState = w.expectState !== undefined;
      if (!byVersion && !byState) throw new Error('a card update needs expectVersion or expectState');
      const where: SQLInputValue[] = [w.alertId];
      if (byVersion) where.push(w.expectVersion as number);
      if (byState) where.push(w.expectState as string);
      const r = patchStatement(keys, byVersion, byState).run(...values, t, ...where);
      if (Number(r.changes) !== 1) throw new Conflict();
    }
    for (const key of c.dequeue ?? []) if (Number(q.dequeue.run(key).changes) !== 1) throw new Conflict();
    if (c.closeRequest) {
      const r = c.closeRequest;
      q.expireRequests.run(r.createdAt, r.alertId, r.createdAt);
      const res = q.addRequest.run(...requestParams(r));
      if (Number(res.changes) !== 1) throw new Conflict();
    }
    applyNextMoveChecks(c);
    if (c.closeRequestTs) q.requestTs.run(c.closeRequestTs.ts, c.closeRequestTs.id);
    const s = c.storm;
    if (s?.op === 'open') {
      // An existing id is a no-op; a second open storm in the channel (another leader's, during a
      // hand-over) conflicts.
      if (Number(q.stormOpen.run(s.id, s.channel, s.at, s.at).changes) !== 1 && !q.stormExists.get(s.id)) {
        throw new Conflict();
      }
    } else if (s?.op === 'grow') q.stormGrow.run(s.at, s.cards, s.id);
    else if (s?.op === 'end') q.stormEnd.run(s.at, s.id);
    else if (s?.op === 'posted') q.stormPosted.run(s.ts, s.id);
    else if (s?.op === 'tally') q.stormTally.run(s.tally, s.id);
    for (const m of c.members ?? []) {
      q.member.run(
        m.stormId,
        m.alertId,
        m.displayId,
        m.groupKey,
        m.groupName,
        m.severity,
        m.status,
        m.title,
        m.createdAt,
        m.updatedAt,
      );
    }
    for (const m of c.memberStatus ?? []) q.memberStatus.run(m.status, m.updatedAt, m.stormId, m.alertId);
    applyNextMoveWrites(c);
    for (const m of c.meta ?? []) q.setMeta.run(m.key, m.value);
    for (const i of c.enqueue ?? []) enqueueOne(i, t);
    for (const i of c.settle ?? []) {
      q.settle.run(i.key, i.kind, i.lane, i.channel, i.alertId, i.priority, i.orderAt, i.payload, t, i.notBefore ?? 0);
    }
  }

  /** The parts of a change for questions, mutes, war rooms and reminders that can conflict (as in postgres.ts). */
  function applyNextMoveChecks(c: Change): void {
    const qw = c.question;
    if (qw?.op === 'ask') {
      if (Number(q.ask.run(...questionParams(qw.q)).changes) !== 1) throw new Conflict();
    } else if (qw?.op === 'answer') {
      const r = q.answer.run(qw.answer, qw.note, qw.at, qw.id, qw.userId);
      if (Number(r.changes) !== 1) throw new Conflict();
    } else if (qw?.op === 'timeout') {
      if (Number(q.timeout.run(qw.at, qw.id).changes) !== 1) throw new Conflict();
    }
    const m = c.mute;
    if (m?.op === 'create') {
      if (Number(q.muteCreate.run(...muteParams(m.m)).changes) !== 1) throw new Conflict();
    } else if (m?.op === 'end') {
      if (Number(q.muteEnd.run(m.at, m.by?.id ?? null, m.by?.name ?? null, m.id).changes) !== 1) throw new Conflict();
    } else if (m?.op === 'count') {
      if (Number(q.muteMember.run(m.id, m.alertId, m.displayId).changes) !== 1) throw new Conflict();
      q.muteCounted.run(m.id);
    }
    if (c.warRoom && Number(q.warRoom.run(...warRoomParams(c.warRoom)).changes) !== 1) throw new Conflict();
    if (c.reminder) {
      const { cardKey, n } = c.reminder;
      if (Number(q.reminder.run(n, cardKey, n - 1).changes) !== 1) throw new Conflict();
    }
  }

  /** The next move's writes that never conflict: a question's DM, a member escalated, a mute's message. */
  function applyNextMoveWrites(c: Change): void {
    const qw = c.question;
    if (qw?.op === 'dm') q.questionDm.run(qw.channel, qw.ts, qw.id);
    const m = c.mute;
    if (m?.op === 'escalated') {
      if (Number(q.memberEscalated.run(m.id, m.alertId).changes) === 1) q.muteEscalated.run(m.id);
    } else if (m?.op === 'posted') q.mutePosted.run(m.ts, m.id);
  }

  /** Each change under a savepoint: a conflict undoes that change alone. */
  function applyAll(changes: readonly Change[], t: number): ApplyResult {
    let applied = 0;
    let conflicts = 0;
    for (const c of changes) {
      db.exec('SAVEPOINT change');
      try {
        applyOne(c, t);
        db.exec('RELEASE change');
        applied++;
      } catch (err) {
        db.exec('ROLLBACK TO change');
        db.exec('RELEASE change');
        if (!(err instanceof Conflict)) throw err;
        conflicts++;
      }
    }
    return { applied, conflicts };
  }

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

  let onceWrites = 0;
  const store: Store = {
    async getMany(alertIds) {
      const out = new Map<string, CardRecord>();
      for (let i = 0; i < alertIds.length; i += 500) {
        const chunk = alertIds.slice(i, i + 500);
        const rows = inStatement(chunk.length).all(...chunk) as Row[];
        for (const r of rows) out.set(String(r.alert_id), toRecord(r));
      }
      return out;
    },
    async peekMany(alertIds) {
      const out = new Map<string, CardPeek>();
      for (let i = 0; i < alertIds.length; i += 500) {
        const chunk = alertIds.slice(i, i + 500);
        const rows = q.peek.all(JSON.stringify(chunk)) as unknown as SQLInputValue[][];
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
    async get(alertId) {
      const r = q.get.get(alertId) as Row | undefined;
      return r ? toRecord(r) : null;
    },
    async getByMessage(channel, ts) {
      const r = q.byMessage.get(channel, ts) as Row | undefined;
      return r ? toRecord(r) : null;
    },
    async listUnfinishedIds() {
      return (q.unfinishedIds.all() as Row[]).map((r) => String(r.alert_id));
    },
    async markSeen(alertId, displayId, status) {
      const t = clock();
      q.seen.run(alertId, displayId, status, t, t);
    },
    async saveRender(alertId, r) {
      q.render.run(r.status, r.updatedAt, r.fingerprint, r.final ? 1 : 0, clock(), alertId);
    },
    async setLastAction(alertId, action) {
      const t = clock();
      q.lastAction.run(action ? JSON.stringify(action) : null, action ? 1 : 0, t, t, alertId);
    },
    async cardTimes(sinceMs) {
      return (q.cardTimes.all(sinceMs) as Row[]).map((r) => ({
        alertId: String(r.alert_id),
        postedAt: Number(r.posted_at),
        firstActionAt: num(r.first_action_at),
      }));
    },
    async apply(changes) {
      if (changes.length === 0) return { applied: 0, conflicts: 0 };
      const t = clock();
      return transaction(() => applyAll(changes, t));
    },
    async claimNext({ lane, channel, owner, staleMs, fence }) {
      return transaction(() => {
        const held = q.fenceHolds.get({ lease: fence.lease, owner, token: fence.token }) as Row;
        if (Number(held.ok) !== 1) return null;
        const row = (
          channel === undefined ? q.nextAny.get({ lane, staleMs }) : q.nextOf.get({ lane, channel, staleMs })
        ) as Row | undefined;
        if (!row) return null;
        const item = toItem(row);
        const r = q.claim.run({
          owner,
          token: fence.token,
          key: item.key,
          rev: item.rev,
          state: item.state,
          claimedAt: item.claimedAt,
        });
        if (Number(r.changes) !== 1) return null;
        return toItem(q.itemOf.get(item.key) as Row);
      });
    },
    async touchClaim(key, owner, fence) {
      return Number(q.touch.run({ key, owner, lease: fence.lease, token: fence.token }).changes) === 1;
    },
    async completeOutbox(key, owner, fence, rev, changes = []) {
      const t = clock();
      return transaction(() => {
        const row = q.ownedRev.get({ key, owner, lease: fence.lease, token: fence.token }) as Row | undefined;
        if (!row) return false;
        applyAll(changes, t);
        if (Number(row.rev) === rev) q.deleteItem.run(key);
        else q.requeue.run(key);
        return true;
      });
    },
    async retryOutbox(key, owner, fence, afterMs, unknown) {
      const r = q.retry.run({
        afterMs: Math.max(0, Math.round(afterMs)),
        unknown: unknown ? 1 : 0,
        key,
        owner,
        lease: fence.lease,
        token: fence.token,
      });
      return Number(r.changes) === 1;
    },
    async outboxDepth() {
      return (q.depth.all() as Row[]).map((r) => ({
        channel: String(r.channel),
        lane: String(r.lane) as OutboxItem['lane'],
        count: Number(r.n),
      }));
    },
    async listOutbox(filter = {}) {
      return (q.listOutbox.all() as Row[])
        .map(toItem)
        .filter(
          (i) =>
            (filter.channel === undefined || i.channel === filter.channel) && (!filter.kind || i.kind === filter.kind),
        );
    },
    async activeStorms() {
      return (q.activeStorms.all() as Row[]).map(toStorm);
    },
    async getStorm(id) {
      const r = q.getStorm.get(id) as Row | undefined;
      return r ? toStorm(r) : null;
    },
    async stormMembers(stormId) {
      return (q.members.all(stormId) as Row[]).map(toMember);
    },
    async stormDigest(stormId, limits) {
      const totals = q.digestTotals.get(stormId) as Row;
      const groups = (q.digestGroups.all(stormId, limits.groups) as Row[]).map((r) => {
        const key = String(r.key);
        const name = (q.groupName.get(stormId, key) as Row | undefined)?.group_name;
        const examples = (q.groupExamples.all(stormId, key, limits.examples) as Row[]).map((e) => String(e.title));
        const islands = q.groupIslands.all(stormId, key, limits.spans) as Row[];
        const others = (q.groupOtherIds.all(stormId, key, limits.spans) as Row[]).map((o) => String(o.id));
        return digestGroup(r, String(name ?? ''), examples, idSpans(islands, others, limits.spans));
      });
      const total = Number(totals.total);
      const live = Number(totals.live);
      const groupCount = Number(totals.groups);
      return {
        total,
        live,
        groupCount,
        groups,
        other: {
          groups: groupCount - groups.length,
          count: total - groups.reduce((n, g) => n + g.count, 0),
          live: live - groups.reduce((n, g) => n + g.live, 0),
        },
      };
    },
    async stormMemberPage(stormId, which, page) {
      const one = 'groupKey' in which ? 1 : 0;
      const keys = JSON.stringify('groupKey' in which ? [which.groupKey] : which.exceptGroups);
      const c = q.pageCount.get(stormId, one, keys) as Row;
      const rows = q.page.all(stormId, one, keys, page.limit, page.offset) as Row[];
      return {
        total: Number(c.total),
        live: Number(c.live),
        groupName: str(c.group_name),
        members: rows.map(toMember),
      };
    },
    async stormIdsAfter(stormId, afterSeq, limit) {
      return (q.idsAfter.all(stormId, afterSeq, limit) as Row[]).map((r) => ({
        seq: Number(r.seq),
        displayId: String(r.display_id),
      }));
    },
    async tryLease(name, owner, ttlMs) {
      const row = q.lease.get({ name, owner, ttlMs: Math.round(ttlMs) }) as Row | undefined;
      if (row) return { held: true, token: Number(row.token) };
      const cur = q.leaseToken.get(name) as Row | undefined;
      return { held: false, token: cur ? Number(cur.token) : 0 };
    },
    async releaseLease(name, owner) {
      q.releaseLease.run(name, owner);
    },
    async claimAction(alertId, owner, ttlMs) {
      return Number(q.claimAction.run({ alertId, owner, ttlMs: Math.round(ttlMs) }).changes) === 1;
    },
    async releaseAction(alertId, owner) {
      q.releaseAction.run(alertId, owner);
    },
    async firstTime(key, now, ttlMs) {
      if (++onceWrites % 500 === 0) q.pruneOnce.run(now);
      return Number(q.once.run(key, now + ttlMs, now).changes) === 1;
    },
    async forgetFirstTime(key) {
      q.forgetOnce.run(key);
    },
    async addCloseRequest(r, now) {
      return transaction(() => {
        q.expireRequests.run(now, r.alertId, now);
        const res = q.addRequest.run(...requestParams(r));
        return Number(res.changes) === 1;
      });
    },
    async getCloseRequest(id) {
      const r = q.getRequest.get(id) as Row | undefined;
      return r ? toCloseRequest(r) : null;
    },
    async pendingCloseRequest(alertId) {
      const r = q.pendingRequest.get(alertId) as Row | undefined;
      return r ? toCloseRequest(r) : null;
    },
    async setCloseRequestTs(id, ts) {
      q.requestTs.run(ts, id);
    },
    async moveCloseRequest(id, from, to, d) {
      const r = q.moveRequest.run(to, d.by?.id ?? null, d.by?.name ?? null, d.at, d.outcome ?? null, id, from);
      return Number(r.changes) === 1;
    },
    async getQuestion(id) {
      const r = q.getQuestion.get(id) as Row | undefined;
      return r ? toQuestion(r) : null;
    },
    async questionsOf(alertId) {
      return (q.questionsOf.all(alertId) as Row[]).map(toQuestion);
    },
    async dueQuestions(limit) {
      return (q.dueQuestions.all(limit) as Row[]).map(toQuestion);
    },
    async getMute(id) {
      const r = q.getMute.get(id) as Row | undefined;
      return r ? toMute(r) : null;
    },
    async activeMutes() {
      return (q.activeMutes.all() as Row[]).map(toMute);
    },
    async dueMuteEnds(limit) {
      return (q.dueMuteEnds.all(limit) as Row[]).map(toMute);
    },
    async muteMembersAfter(muteId, afterDisplayId, limit) {
      return (q.muteMembersAfter.all(muteId, afterDisplayId, limit) as Row[]).map((r) => ({
        alertId: String(r.alert_id),
        displayId: String(r.display_id),
      }));
    },
    async getWarRoom(alertId) {
      const r = q.getWarRoom.get(alertId) as Row | undefined;
      return r ? toWarRoom(r) : null;
    },
    async warRoomsOf(alertIds) {
      const out = new Map<string, WarRoom>();
      for (let i = 0; i < alertIds.length; i += 500) {
        for (const r of q.warRoomsOf.all(JSON.stringify(alertIds.slice(i, i + 500))) as Row[]) {
          const w = toWarRoom(r);
          out.set(w.alertId, w);
        }
      }
      return out;
    },
    async prune({ kind, before, limit, metaPrefixes = [] }) {
      return transaction((): PruneResult => {
        if (kind !== 'cards') {
          const deleted = Number(prune[kind].run(before, limit).changes);
          return { deleted, tables: { [kind]: deleted } };
        }
        const ids = (prune.cards.all(before, limit) as Row[]).map((r) => String(r.alert_id));
        const meta =
          ids.length > 0 && metaPrefixes.length > 0
            ? Number(q.pruneMeta.run(JSON.stringify(metaPrefixes), JSON.stringify(ids)).changes)
            : 0;
        return { deleted: ids.length, tables: { cards: ids.length, meta } };
      });
    },
    async listQuietIds() {
      return (q.quietIds.all() as Row[]).map((r) => ({
        alertId: String(r.alert_id),
        state: String(r.state) as CardState,
      }));
    },
    async getMeta(key) {
      const r = q.getMeta.get(key) as Row | undefined;
      return r ? String(r.value) : null;
    },
    async setMeta(key, value) {
      q.setMeta.run(key, value);
    },
    async ping() {
      db.prepare('SELECT 1').get();
    },
    async close() {
      if (db.isOpen) db.close();
    },
  };
  return store;
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
