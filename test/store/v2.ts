/** A database as the first release left it (schema v2), for upgrade tests. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

/** Schema v2 exactly as the previous release created it (its migrations 1 and 2). */
const V2_SCHEMA = `
  CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);
  CREATE TABLE cards (
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
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE action_claims (alert_id TEXT PRIMARY KEY, owner TEXT NOT NULL, claimed_at INTEGER NOT NULL);
  CREATE TABLE once_keys (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
  CREATE INDEX once_keys_expiry ON once_keys (expires_at);
  INSERT INTO schema_migrations (version, applied_at) VALUES (1, '2026-11-01T00:00:00Z'), (2, '2026-11-02T00:00:00Z');
`;

export type V2Card = {
  alert_id: string;
  state: 'claimed' | 'posted' | 'seen';
  channel?: string | null;
  ts?: string | null;
  status?: string | null;
  final?: number;
  claim_owner?: string | null;
  claimed_at?: number | null;
  last_action?: string | null;
  created_at: number;
  changed_at: number;
};

export function writeV2(path: string, cards: V2Card[]): void {
  mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec(V2_SCHEMA);
  const ins = db.prepare(
    `INSERT INTO cards (alert_id, display_id, state, channel, ts, status, updated_at, fingerprint, final, claimed_at,
                        claim_owner, last_action, created_at, changed_at)
     VALUES (?, ?, ?, ?, ?, ?, 'u1', 'fp', ?, ?, ?, ?, ?, ?)`,
  );
  for (const c of cards) {
    ins.run(
      c.alert_id,
      `COT-${c.alert_id}`,
      c.state,
      c.channel ?? null,
      c.ts ?? null,
      c.status ?? 'open',
      c.final ?? 0,
      c.claimed_at ?? null,
      c.claim_owner ?? null,
      c.last_action ?? null,
      c.created_at,
      c.changed_at,
    );
  }
  db.prepare("INSERT INTO meta (key, value) VALUES ('bootstrapped_at', '2026-11-01')").run();
  db.prepare("INSERT INTO action_claims (alert_id, owner, claimed_at) VALUES ('posted', 'click', 5)").run();
  db.close();
}
