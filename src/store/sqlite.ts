import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { num, str, toCloseRequest, toItem, toMember, toRecord, toStorm } from './rows.ts';
import type {
  ApplyResult,
  CardPatch,
  CardPeek,
  CardRecord,
  CardState,
  Change,
  NewOutboxItem,
  PruneKind,
  PruneResult,
  Store,
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
  // Retention: closed records by age, and "has this record an outbox item" without a scan.
  `CREATE INDEX cards_retention ON cards (final, changed_at);
   CREATE INDEX outbox_alert ON outbox (alert_id);`,
];

type Row = Record<string, SQLInputValue>;

/** Column names of the patchable card fields, and how each value is stored. */
const PATCH_COLUMNS: Record<keyof CardPatch, [string, (v: unknown) => SQLInputValue]> = {
  state: ['state', (v) => v as string],
  channel: ['channel', (v) => (v ?? null) as string | null],
  ts: ['ts', (v) => (v ?? null) as string | null],
  status: ['status', (v) => (v ?? null) as string | null],
  updatedAt: ['updated_at', (v) => (v ?? null) as string | null],
  fingerprint: ['fingerprint', (v) => (v ?? null) as string | null],
  final: ['final', (v) => (v ? 1 : 0)],
  stormId: ['storm_id', (v) => (v ?? null) as string | null],
  lastAction: ['last_action', (v) => (v ? JSON.stringify(v) : null)],
  postedAt: ['posted_at', (v) => (v ?? null) as number | null],
};

export type SqliteStoreOptions = {
  clock?: () => number;
  /** Where a card claimed by an older release was going (the alert channel). */
  legacyChannel?: string;
};

class Conflict extends Error {}

/** Opens (creating if needed) the SQLite database at `path` (`:memory:` for tests). */
export function openSqliteStore(path: string, options: SqliteStoreOptions | (() => number) = {}): Store {
  const opts = typeof options === 'function' ? { clock: options } : options;
  const clock = opts.clock ?? Date.now;
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
  migrate(db, opts.legacyChannel ?? '');

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
                          created_at, changed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (alert_id) DO NOTHING`,
    ),
    enqueue: db.prepare(
      `INSERT INTO outbox (key, kind, lane, channel, alert_id, priority, order_at, payload, created_at, not_before)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET payload = excluded.payload, priority = excluded.priority,
              order_at = MIN(outbox.order_at, excluded.order_at), rev = outbox.rev + 1`,
    ),
    dequeue: db.prepare("DELETE FROM outbox WHERE key = ? AND state = 'pending'"),
    stormOpen: db.prepare(
      'INSERT INTO storms (id, channel, started_at, last_added_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
    ),
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
      `SELECT * FROM outbox WHERE lane = ? AND ((state = 'pending' AND not_before <= ?) OR (state = 'claimed' AND claimed_at < ?))
       ORDER BY priority, order_at LIMIT 1`,
    ),
    nextOf: db.prepare(
      `SELECT * FROM outbox WHERE lane = ? AND channel = ?
         AND ((state = 'pending' AND not_before <= ?) OR (state = 'claimed' AND claimed_at < ?))
       ORDER BY priority, order_at LIMIT 1`,
    ),
    claim: db.prepare(
      `UPDATE outbox SET state = 'claimed', owner = ?, claimed_at = ?,
              unknown = CASE WHEN state = 'claimed' THEN 1 ELSE unknown END
       WHERE key = ? AND rev = ? AND state = ? AND COALESCE(claimed_at, -1) = COALESCE(?, -1)`,
    ),
    itemOf: db.prepare('SELECT * FROM outbox WHERE key = ?'),
    ownedRev: db.prepare("SELECT rev FROM outbox WHERE key = ? AND state = 'claimed' AND owner = ?"),
    deleteItem: db.prepare('DELETE FROM outbox WHERE key = ?'),
    requeue: db.prepare(
      `UPDATE outbox SET state = 'pending', owner = NULL, claimed_at = NULL, unknown = 0, attempts = 0, not_before = 0
       WHERE key = ?`,
    ),
    retry: db.prepare(
      `UPDATE outbox SET state = 'pending', owner = NULL, claimed_at = NULL, not_before = ?,
              unknown = CASE WHEN ? = 1 THEN 1 ELSE unknown END, attempts = attempts + 1
       WHERE key = ? AND state = 'claimed' AND owner = ?`,
    ),
    depth: db.prepare('SELECT channel, lane, COUNT(*) AS n FROM outbox GROUP BY channel, lane'),
    listOutbox: db.prepare('SELECT * FROM outbox ORDER BY lane, channel, priority, order_at'),
    activeStorms: db.prepare('SELECT * FROM storms WHERE ended_at IS NULL ORDER BY started_at'),
    getStorm: db.prepare('SELECT * FROM storms WHERE id = ?'),
    members: db.prepare('SELECT * FROM storm_members WHERE storm_id = ? ORDER BY seq'),
    lease: db.prepare(
      `INSERT INTO leases (name, owner, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
       WHERE leases.owner = excluded.owner OR leases.expires_at < ?`,
    ),
    releaseLease: db.prepare('DELETE FROM leases WHERE name = ? AND owner = ?'),
    claimAction: db.prepare(
      `INSERT INTO action_claims (alert_id, owner, claimed_at) VALUES (?, ?, ?)
       ON CONFLICT (alert_id) DO UPDATE SET owner = excluded.owner, claimed_at = excluded.claimed_at
       WHERE action_claims.claimed_at < ?`,
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
    quietIds: db.prepare("SELECT alert_id, state FROM cards WHERE state IN ('seen', 'digested') AND final = 0"),
    pruneMeta: db.prepare(
      'DELETE FROM meta WHERE key IN (SELECT p.value || c.value FROM json_each(?) AS p, json_each(?) AS c)',
    ),
    getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
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
      const sets = keys.map((k) => `${PATCH_COLUMNS[k][0]} = ?`).join(', ');
      const where = `alert_id = ?${byVersion ? ' AND version = ?' : ''}${byState ? ' AND state = ?' : ''}`;
      st = db.prepare(
        `UPDATE cards SET ${sets}${sets ? ', ' : ''}version = version + 1, changed_at = ? WHERE ${where}`,
      );
      patchStatements.set(sig, st);
    }
    return st;
  }

  const enqueueOne = (i: NewOutboxItem, t: number) =>
    q.enqueue.run(i.key, i.kind, i.lane, i.channel, i.alertId, i.priority, i.orderAt, i.payload, t, i.notBefore ?? 0);

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
      );
      if (Number(r.changes) !== 1) throw new Conflict();
    } else if (w?.op === 'update') {
      const keys = (Object.keys(w.set) as (keyof CardPatch)[]).filter((k) => w.set[k] !== undefined);
      const values = keys.map((k) => PATCH_COLUMNS[k][1](w.set[k]));
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
    const s = c.storm;
    if (s?.op === 'open') q.stormOpen.run(s.id, s.channel, s.at, s.at);
    else if (s?.op === 'grow') q.stormGrow.run(s.at, s.cards, s.id);
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
    for (const m of c.meta ?? []) q.setMeta.run(m.key, m.value);
    for (const i of c.enqueue ?? []) enqueueOne(i, t);
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
    async claimNext({ lane, channel, now, owner, staleBefore }) {
      return transaction(() => {
        const row = (
          channel === undefined ? q.nextAny.get(lane, now, staleBefore) : q.nextOf.get(lane, channel, now, staleBefore)
        ) as Row | undefined;
        if (!row) return null;
        const item = toItem(row);
        const r = q.claim.run(owner, now, item.key, item.rev, item.state, item.claimedAt);
        if (Number(r.changes) !== 1) return null;
        return toItem(q.itemOf.get(item.key) as Row);
      });
    },
    async completeOutbox(key, owner, rev, changes = []) {
      const t = clock();
      return transaction(() => {
        const row = q.ownedRev.get(key, owner) as Row | undefined;
        if (!row) return false;
        applyAll(changes, t);
        if (Number(row.rev) === rev) q.deleteItem.run(key);
        else q.requeue.run(key);
        return true;
      });
    },
    async retryOutbox(key, owner, notBefore, unknown) {
      return Number(q.retry.run(notBefore, unknown ? 1 : 0, key, owner).changes) === 1;
    },
    async outboxDepth() {
      return (q.depth.all() as Row[]).map((r) => ({
        channel: String(r.channel),
        lane: String(r.lane) as 'post' | 'update',
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
    async tryLease(name, owner, now, ttlMs) {
      return Number(q.lease.run(name, owner, now + ttlMs, now).changes) === 1;
    },
    async releaseLease(name, owner) {
      q.releaseLease.run(name, owner);
    },
    async claimAction(alertId, owner, now, ttlMs) {
      return Number(q.claimAction.run(alertId, owner, now, now - ttlMs).changes) === 1;
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
        const res = q.addRequest.run(
          r.id,
          r.alertId,
          r.displayId,
          r.status,
          r.words,
          r.requester.id,
          r.requester.name,
          r.basis,
          r.channel,
          r.threadTs,
          r.createdAt,
          r.expiresAt,
        );
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

function migrate(db: DatabaseSync, legacyChannel: string): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as Row | undefined;
  const current = row?.v === null || row?.v === undefined ? 0 : Number(row.v);
  if (current > MIGRATIONS.length) {
    throw new Error(`database schema version ${current} is newer than this release supports (${MIGRATIONS.length})`);
  }
  for (let v = current + 1; v <= MIGRATIONS.length; v++) {
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
