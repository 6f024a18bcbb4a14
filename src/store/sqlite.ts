import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import type { CardRecord, LastAction, Store } from './store.ts';

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
];

type Row = Record<string, SQLInputValue>;

function toRecord(r: Row): CardRecord {
  const str = (v: SQLInputValue | undefined) => (v === null || v === undefined ? null : String(v));
  return {
    alertId: String(r.alert_id),
    displayId: String(r.display_id),
    state: String(r.state) as CardRecord['state'],
    channel: str(r.channel),
    ts: str(r.ts),
    status: str(r.status),
    updatedAt: str(r.updated_at),
    fingerprint: str(r.fingerprint),
    final: Number(r.final) === 1,
    claimedAt: r.claimed_at === null || r.claimed_at === undefined ? null : Number(r.claimed_at),
    claimOwner: str(r.claim_owner),
    lastAction: r.last_action ? (JSON.parse(String(r.last_action)) as LastAction) : null,
  };
}

/** Opens (creating if needed) the SQLite database at `path` (`:memory:` for tests). */
export function openSqliteStore(path: string, clock: () => number = Date.now): Store {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
  migrate(db);

  const q = {
    get: db.prepare('SELECT * FROM cards WHERE alert_id = ?'),
    unfinished: db.prepare(
      "SELECT * FROM cards WHERE (state = 'posted' AND final = 0) OR state = 'claimed' ORDER BY created_at",
    ),
    insertClaim: db.prepare(
      `INSERT INTO cards (alert_id, display_id, state, claim_from, claimed_at, claim_owner, created_at, changed_at)
       VALUES (?, ?, 'claimed', 'new', ?, ?, ?, ?) ON CONFLICT (alert_id) DO NOTHING`,
    ),
    claimSeenOrStale: db.prepare(
      `UPDATE cards SET state = 'claimed',
              claim_from = CASE WHEN state = 'seen' THEN 'seen' ELSE claim_from END,
              claimed_at = ?, claim_owner = ?, changed_at = ?
       WHERE alert_id = ? AND (state = 'seen' OR (state = 'claimed' AND claimed_at < ?))`,
    ),
    posted: db.prepare(
      `UPDATE cards SET state = 'posted', channel = ?, ts = ?, status = ?, updated_at = ?, fingerprint = ?,
              final = ?, claimed_at = NULL, claim_owner = NULL, claim_from = NULL, changed_at = ?
       WHERE alert_id = ? AND state = 'claimed' AND claim_owner = ?`,
    ),
    releaseNew: db.prepare(
      "DELETE FROM cards WHERE alert_id = ? AND state = 'claimed' AND claim_owner = ? AND claim_from = 'new'",
    ),
    releaseSeen: db.prepare(
      `UPDATE cards SET state = 'seen', claimed_at = NULL, claim_owner = NULL, claim_from = NULL, changed_at = ?
       WHERE alert_id = ? AND state = 'claimed' AND claim_owner = ?`,
    ),
    seen: db.prepare(
      `INSERT INTO cards (alert_id, display_id, state, status, created_at, changed_at)
       VALUES (?, ?, 'seen', ?, ?, ?) ON CONFLICT (alert_id) DO NOTHING`,
    ),
    render: db.prepare(
      'UPDATE cards SET status = ?, updated_at = ?, fingerprint = ?, final = ?, changed_at = ? WHERE alert_id = ?',
    ),
    lastAction: db.prepare('UPDATE cards SET last_action = ?, changed_at = ? WHERE alert_id = ?'),
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
    getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
    setMeta: db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),
  };

  let onceWrites = 0;
  const store: Store = {
    async getMany(alertIds) {
      const out = new Map<string, CardRecord>();
      for (let i = 0; i < alertIds.length; i += 500) {
        const chunk = alertIds.slice(i, i + 500);
        const rows = db
          .prepare(`SELECT * FROM cards WHERE alert_id IN (${chunk.map(() => '?').join(',')})`)
          .all(...chunk) as Row[];
        for (const r of rows) out.set(String(r.alert_id), toRecord(r));
      }
      return out;
    },
    async get(alertId) {
      const r = q.get.get(alertId) as Row | undefined;
      return r ? toRecord(r) : null;
    },
    async listUnfinished() {
      return (q.unfinished.all() as Row[]).map(toRecord);
    },
    async tryClaim(alertId, displayId, owner, now, staleBefore) {
      const t = clock();
      if (Number(q.insertClaim.run(alertId, displayId, now, owner, t, t).changes) === 1) return true;
      return Number(q.claimSeenOrStale.run(now, owner, t, alertId, staleBefore).changes) === 1;
    },
    async markPosted(alertId, owner, place, r) {
      q.posted.run(
        place.channel,
        place.ts,
        r.status,
        r.updatedAt,
        r.fingerprint,
        r.final ? 1 : 0,
        clock(),
        alertId,
        owner,
      );
    },
    async releaseClaim(alertId, owner) {
      if (Number(q.releaseNew.run(alertId, owner).changes) === 0) q.releaseSeen.run(clock(), alertId, owner);
    },
    async markSeen(alertId, displayId, status) {
      const t = clock();
      q.seen.run(alertId, displayId, status, t, t);
    },
    async saveRender(alertId, r) {
      q.render.run(r.status, r.updatedAt, r.fingerprint, r.final ? 1 : 0, clock(), alertId);
    },
    async setLastAction(alertId, action) {
      q.lastAction.run(action ? JSON.stringify(action) : null, clock(), alertId);
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
    async getMeta(key) {
      const r = q.getMeta.get(key) as Row | undefined;
      return r ? String(r.value) : null;
    },
    async setMeta(key, value) {
      q.setMeta.run(key, value);
    },
    async close() {
      if (db.isOpen) db.close();
    },
  };
  return store;
}

function migrate(db: DatabaseSync): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as Row | undefined;
  const current = row?.v === null || row?.v === undefined ? 0 : Number(row.v);
  if (current > MIGRATIONS.length) {
    throw new Error(`database schema version ${current} is newer than this release supports (${MIGRATIONS.length})`);
  }
  for (let v = current + 1; v <= MIGRATIONS.length; v++) {
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec(MIGRATIONS[v - 1] as string);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(v, new Date().toISOString());
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  }
}

export const SCHEMA_VERSION = MIGRATIONS.length;
