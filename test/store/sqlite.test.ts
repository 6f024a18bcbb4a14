/**
 * What only the SQLite store has: a file that survives restarts and the migrations from databases
 * written by earlier releases. The Store semantics themselves are in contract.ts.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore, SCHEMA_VERSION } from '../../src/store/sqlite.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempPath(): string {
  const d = mkdtempSync(join(tmpdir(), 'cotool-slack-store-'));
  dirs.push(d);
  return join(d, 'nested', 'bot.db');
}

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

type V2Card = {
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

function writeV2(path: string, cards: V2Card[]): void {
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

describe('sqlite store', () => {
  it('survives a reopen (the restart case) and migrates once', async () => {
    const path = tempPath();
    const s1 = openSqliteStore(path);
    await s1.apply([
      {
        card: {
          op: 'insert',
          alertId: 'a1',
          displayId: 'COT-1',
          state: 'queued',
          channel: 'C',
          status: 'open',
          updatedAt: 'u',
          fingerprint: null,
        },
        enqueue: [
          {
            key: 'card:a1',
            kind: 'card',
            lane: 'post',
            channel: 'C',
            alertId: 'a1',
            priority: 0,
            orderAt: 1,
            payload: '{}',
          },
        ],
      },
    ]);
    await s1.close();
    const s2 = openSqliteStore(path);
    expect((await s2.get('a1'))?.state).toBe('queued');
    expect((await s2.listOutbox()).map((i) => i.key)).toEqual(['card:a1']);
    await s2.close();
    const db = new DatabaseSync(path);
    const rows = db.prepare('SELECT version FROM schema_migrations').all();
    db.close();
    expect(rows.map((r) => Number(r.version))).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
  });

  it('refuses a database from a newer release', async () => {
    const path = tempPath();
    await openSqliteStore(path).close();
    const db = new DatabaseSync(path);
    db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(SCHEMA_VERSION + 1, 'x');
    db.close();
    expect(() => openSqliteStore(path)).toThrow(/newer than this release/);
  });

  it('upgrades a v2 database: a claimed card becomes a queued card with an unknown outbox item', async () => {
    const path = tempPath();
    const action = JSON.stringify({ by: { id: 'U1', name: 'Jane' }, kind: 'status', status: 'open', at: 'x' });
    writeV2(path, [
      {
        alert_id: 'posted',
        state: 'posted',
        channel: 'C0ALERTS',
        ts: '111.222',
        status: 'pending_escalation',
        last_action: action,
        created_at: 1_000,
        changed_at: 2_000,
      },
      {
        alert_id: 'final',
        state: 'posted',
        channel: 'C0ALERTS',
        ts: '333.444',
        final: 1,
        created_at: 1_100,
        changed_at: 2_100,
      },
      {
        alert_id: 'claimed',
        state: 'claimed',
        claim_owner: 'old-pid',
        claimed_at: 3_000,
        created_at: 3_000,
        changed_at: 3_000,
      },
      { alert_id: 'seen', state: 'seen', status: 'closed', created_at: 500, changed_at: 500 },
    ]);
    const s = openSqliteStore(path, { legacyChannel: 'CFALLBACK' });

    expect(await s.get('posted')).toEqual({
      alertId: 'posted',
      displayId: 'COT-posted',
      state: 'posted',
      channel: 'C0ALERTS',
      ts: '111.222',
      status: 'open', // the retired pending_escalation status
      updatedAt: 'u1',
      fingerprint: 'fp',
      final: false,
      lastAction: JSON.parse(action),
      version: 1,
      stormId: null,
      postedAt: 2_000,
      firstActionAt: null,
    });
    expect(await s.get('final')).toMatchObject({ state: 'posted', ts: '333.444', final: true, postedAt: 2_100 });
    expect(await s.get('claimed')).toMatchObject({ state: 'queued', ts: null, postedAt: null, version: 1 });
    expect(await s.get('seen')).toMatchObject({ state: 'seen', status: 'closed', postedAt: null });
    expect(await s.listOutbox()).toEqual([
      expect.objectContaining({
        key: 'card:claimed',
        kind: 'card',
        lane: 'post',
        channel: 'C0ALERTS', // where the other cards are
        alertId: 'claimed',
        priority: 0,
        orderAt: 3_000,
        state: 'pending',
        unknown: true, // it may have been posted: look it up before posting
        rev: 1,
      }),
    ]);
    expect((await s.getByMessage('C0ALERTS', '111.222'))?.alertId).toBe('posted');
    expect((await s.listUnfinishedIds()).sort()).toEqual(['claimed', 'posted']);
    expect(await s.getMeta('bootstrapped_at')).toBe('2026-11-01');
    expect(await s.claimAction('posted', 'other', 10, 30_000)).toBe(false); // kept
    await s.close();

    const db = new DatabaseSync(path);
    const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all();
    db.close();
    expect(versions.map((r) => Number(r.version))).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
  });

  it('a v2 claim with no posted card to learn the channel from goes to the configured channel', async () => {
    const path = tempPath();
    writeV2(path, [
      { alert_id: 'c1', state: 'claimed', claim_owner: 'p', claimed_at: 1, created_at: 1, changed_at: 1 },
    ]);
    const s = openSqliteStore(path, { legacyChannel: "C0'QUOTED" });
    expect((await s.listOutbox()).map((i) => [i.key, i.channel, i.unknown])).toEqual([['card:c1', "C0'QUOTED", true]]);
    await s.close();
  });
});
