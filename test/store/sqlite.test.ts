/**
 * What only the SQLite store has: a file that survives restarts and the migrations from databases
 * written by earlier releases. The Store semantics themselves are in contract.ts.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FENCING_VERSION,
  INTERACTIVE_LANE_VERSION,
  migrateSqlite,
  NEXT_MOVE_VERSION,
  openSqliteStore,
  SCHEMA_VERSION,
} from '../../src/store/sqlite.ts';
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
/** A database file whose schema is the one the release that stopped at `version` left. */
function olderDatabase(version: number): { path: string; db: DatabaseSync } {
  const path = tempPath();
  mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  migrateSqlite(db, '', version);
  return { path, db };
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
            cardKey: 'a1',
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
      muteId: null,
      owner: null,
      remindersSent: 0,
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
        cardKey: 'claimed',
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
    // The schema as the release before the fencing migration left it.
    const { path, db } = olderDatabase(FENCING_VERSION - 1);
    db.exec(`INSERT INTO storms (id, channel, started_at, last_added_at) VALUES
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

describe('sqlite store: the next move migration', () => {
  it('keeps every card (rows, indexes) with defaults for the new fields, and lets a card be muted', async () => {
    const { path, db } = olderDatabase(NEXT_MOVE_VERSION - 1);
    const action = JSON.stringify({ by: { id: 'U1', name: 'Jane' }, kind: 'status', status: 'open', at: 'x' });
    db.prepare(
      `INSERT INTO cards (alert_id, display_id, state, channel, ts, status, updated_at, fingerprint, final, last_action,
                          version, storm_id, posted_at, first_action_at, created_at, changed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run('a1', 'COT-1', 'posted', 'C1', '1.1', 'open', 'u1', 'fp', 0, action, 4, 'st', 2_000, 2_500, 1_000, 3_000);
    db.prepare(
      `INSERT INTO cards (alert_id, display_id, state, status, final, created_at, changed_at)
       VALUES ('a2', 'COT-2', 'seen', 'closed', 1, 500, 600)`,
    ).run();
    // A 'muted' card is refused by the older schema: the state's CHECK is what the migration changes.
    expect(() =>
      db
        .prepare(
          "INSERT INTO cards (alert_id, display_id, state, created_at, changed_at) VALUES ('x', 'COT-X', 'muted', 1, 1)",
        )
        .run(),
    ).toThrow(/CHECK constraint/);
    db.close();

    const s = openSqliteStore(path);
    expect(await s.get('a1')).toEqual({
      alertId: 'a1',
      displayId: 'COT-1',
      state: 'posted',
      channel: 'C1',
      ts: '1.1',
      status: 'open',
      updatedAt: 'u1',
      fingerprint: 'fp',
      final: false,
      lastAction: JSON.parse(action),
      version: 4,
      stormId: 'st',
      postedAt: 2_000,
      firstActionAt: 2_500,
      muteId: null,
      owner: null,
      remindersSent: 0,
    });
    expect(await s.get('a2')).toMatchObject({ state: 'seen', final: true, remindersSent: 0, owner: null });
    expect((await s.getByMessage('C1', '1.1'))?.alertId).toBe('a1');
    expect(await s.apply([{ reminder: { cardKey: 'a1', n: 1 } }])).toEqual({ applied: 1, conflicts: 0 });
    expect(
      await s.apply([
        {
          card: {
            op: 'insert',
            alertId: 'a3',
            displayId: 'COT-3',
            state: 'muted',
            channel: 'C1',
            status: 'open',
            updatedAt: 'u',
            fingerprint: null,
            muteId: 'm1',
          },
        },
      ]),
    ).toEqual({ applied: 1, conflicts: 0 });
    expect(await s.get('a3')).toMatchObject({ state: 'muted', muteId: 'm1' });
    await s.close();

    const check = new DatabaseSync(path);
    const indexes = check
      .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'cards' AND sql IS NOT NULL")
      .all()
      .map((r) => String(r.name))
      .sort();
    const versions = check.prepare('SELECT version FROM schema_migrations ORDER BY version').all();
    check.close();
    expect(indexes).toEqual(['cards_message', 'cards_posted', 'cards_retention', 'cards_unfinished']);
    expect(versions.map((r) => Number(r.version))).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
  });
});

describe('sqlite store: the interactive lane migration', () => {
  it('keeps every outbox row as it was, and then takes interactive items', async () => {
    // The schema as the release before the interactive lane left it (its CHECK knew two lanes).
    const { path, db } = olderDatabase(INTERACTIVE_LANE_VERSION - 1);
    db.exec(`INSERT INTO outbox (key, kind, lane, channel, alert_id, priority, order_at, payload, rev, state, owner,
                                 claimed_at, unknown, attempts, not_before, created_at, fence)
               VALUES ('card_update:A1', 'card_update', 'update', 'C1', 'A1', 0, 10, '{"alertId":"A1","refresh":true}',
                       3, 'claimed', 'old', 50, 1, 2, 0, 5, 4);`);
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
            cardKey: null,
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
