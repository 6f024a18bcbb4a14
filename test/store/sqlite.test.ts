/**
 * What only the SQLite store has: a file that survives restarts and the migrations from databases
 * written by earlier releases. The Store semantics themselves are in contract.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore, SCHEMA_VERSION } from '../../src/store/sqlite.ts';
import { writeV2 } from './v2.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempPath(): string {
  const d = mkdtempSync(join(tmpdir(), 'cotool-slack-store-'));
  dirs.push(d);
  return join(d, 'nested', 'bot.db');
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
    // kept: a claim (made at epoch 5 ms) that only a ttl longer than its age lets anyone else take
    expect(await s.claimAction('posted', 'other', 2 * Date.now())).toBe(false);
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

describe('sqlite store: the fencing migration', () => {
  it('ends duplicate open storms of a channel (the oldest stays open) and keeps leases, with a token', async () => {
    const path = tempPath();
    await openSqliteStore(path).close();
    // Back to the schema before the fencing migration (the 7th; later ones run again after it).
    const db = new DatabaseSync(path);
    db.exec(`DROP INDEX storms_open_channel;
             DROP INDEX outbox_lane_next;
             ALTER TABLE leases DROP COLUMN token;
             ALTER TABLE outbox DROP COLUMN fence;
             DELETE FROM schema_migrations WHERE version >= 7;
             INSERT INTO storms (id, channel, started_at, last_added_at) VALUES
               ('s-old', 'C1', 1000, 1500), ('s-new', 'C1', 2000, 2500), ('s-other', 'C2', 3000, 3000);
             INSERT INTO storms (id, channel, started_at, last_added_at, ended_at) VALUES ('s-ended', 'C1', 500, 600, 700);
             INSERT INTO leases (name, owner, expires_at) VALUES ('poller', 'old-release', 0);`);
    db.close();
    const s = openSqliteStore(path);
    expect((await s.activeStorms()).map((x) => x.id)).toEqual(['s-old', 's-other']);
    expect((await s.getStorm('s-new'))?.endedAt).toBe(2_500);
    expect((await s.getStorm('s-ended'))?.endedAt).toBe(700);
    // The lease an older release held: expired, so taken over, under a token past it.
    expect(await s.tryLease('poller', 'new-release', 60_000)).toEqual({ held: true, token: 2 });
    expect(await s.apply([{ storm: { op: 'open', id: 's-dup', channel: 'C1', at: 9_000 } }])).toEqual({
      applied: 0,
      conflicts: 1,
    });
    await s.close();
  });
});

describe('sqlite store: the interactive lane migration', () => {
  it('keeps every outbox row as it was, and then takes interactive items', async () => {
    const path = tempPath();
    await openSqliteStore(path).close();
    // Back to the schema before the interactive lane (the 8th migration): its CHECK knew two lanes.
    const db = new DatabaseSync(path);
    db.exec(`DROP TABLE outbox;
             CREATE TABLE outbox (
               key TEXT PRIMARY KEY, kind TEXT NOT NULL,
               lane TEXT NOT NULL CHECK (lane IN ('post', 'update')),
               channel TEXT NOT NULL, alert_id TEXT, priority INTEGER NOT NULL, order_at INTEGER NOT NULL,
               payload TEXT NOT NULL, rev INTEGER NOT NULL DEFAULT 1,
               state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'claimed')),
               owner TEXT, claimed_at INTEGER, unknown INTEGER NOT NULL DEFAULT 0,
               attempts INTEGER NOT NULL DEFAULT 0, not_before INTEGER NOT NULL DEFAULT 0,
               created_at INTEGER NOT NULL, fence INTEGER);
             CREATE INDEX outbox_next ON outbox (lane, channel, state, priority, order_at);
             CREATE INDEX outbox_alert ON outbox (alert_id);
             INSERT INTO outbox (key, kind, lane, channel, alert_id, priority, order_at, payload, rev, state, owner,
                                 claimed_at, unknown, attempts, not_before, created_at, fence)
               VALUES ('card_update:A1', 'card_update', 'update', 'C1', 'A1', 0, 10, '{"alertId":"A1","refresh":true}',
                       3, 'claimed', 'old', 50, 1, 2, 0, 5, 4);
             DELETE FROM schema_migrations WHERE version >= 8;`);
    db.close();
    const s = openSqliteStore(path);
    const [kept] = await s.listOutbox();
    expect(kept).toMatchObject({
      key: 'card_update:A1',
      lane: 'update',
      rev: 3,
      state: 'claimed',
      owner: 'old',
      claimedAt: 50,
      unknown: true,
      attempts: 2,
      fence: 4,
    });
    await s.apply([
      {
        enqueue: [
          {
            key: 'card_copy:C2:1.1',
            kind: 'card_copy',
            lane: 'interactive',
            channel: 'C2',
            alertId: null,
            priority: 0,
            orderAt: 1,
            payload: '{}',
          },
        ],
      },
    ]);
    expect((await s.listOutbox({ kind: 'card_copy' }))[0]?.lane).toBe('interactive');
    await s.close();
  });
});
