import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore, SCHEMA_VERSION } from '../../src/store/sqlite.ts';

const rendered = { status: 'open', updatedAt: 'u1', fingerprint: 'f1', final: false };
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
  it('a claim is exclusive until posted or released', async () => {
    const s = openSqliteStore(':memory:');
    expect(await s.tryClaim('a1', 'COT-1', 'p1', 1000, 0)).toBe(true);
    expect(await s.tryClaim('a1', 'COT-1', 'p2', 1001, 0)).toBe(false);
    await s.markPosted('a1', 'p1', { channel: 'C1', ts: '1.1' }, rendered);
    expect(await s.tryClaim('a1', 'COT-1', 'p2', 99_999, 99_999)).toBe(false); // posted: never again
    const r = await s.get('a1');
    expect(r).toMatchObject({
      state: 'posted',
      channel: 'C1',
      ts: '1.1',
      status: 'open',
      fingerprint: 'f1',
      claimOwner: null,
    });
  });

  it('a released claim of a new alert disappears; of a seen alert goes back to seen', async () => {
    const s = openSqliteStore(':memory:');
    await s.tryClaim('a1', 'COT-1', 'p1', 1000, 0);
    await s.releaseClaim('a1', 'p1');
    expect(await s.get('a1')).toBeNull();
    await s.markSeen('a2', 'COT-2', 'open');
    expect(await s.tryClaim('a2', 'COT-2', 'p1', 1000, 0)).toBe(true);
    await s.releaseClaim('a2', 'p1');
    expect(await s.get('a2')).toMatchObject({ state: 'seen', claimOwner: null });
  });

  it('only the owner confirms or releases its claim', async () => {
    const s = openSqliteStore(':memory:');
    await s.tryClaim('a1', 'COT-1', 'p1', 1000, 0);
    await s.markPosted('a1', 'intruder', { channel: 'C1', ts: '9.9' }, rendered);
    await s.releaseClaim('a1', 'intruder');
    expect(await s.get('a1')).toMatchObject({ state: 'claimed', ts: null, claimOwner: 'p1' });
  });

  it('a stale claim can be taken over; a fresh one cannot', async () => {
    const s = openSqliteStore(':memory:');
    await s.tryClaim('a1', 'COT-1', 'dead', 1000, 0);
    expect(await s.tryClaim('a1', 'COT-1', 'p2', 2000, 500)).toBe(false);
    expect(await s.tryClaim('a1', 'COT-1', 'p2', 50_000, 20_000)).toBe(true);
    expect((await s.get('a1'))?.claimOwner).toBe('p2');
  });

  it('lists unfinished records: posted-not-final and claims', async () => {
    const s = openSqliteStore(':memory:');
    await s.tryClaim('posted', 'COT-1', 'p', 1, 0);
    await s.markPosted('posted', 'p', { channel: 'C', ts: '1' }, rendered);
    await s.tryClaim('final', 'COT-2', 'p', 1, 0);
    await s.markPosted('final', 'p', { channel: 'C', ts: '2' }, { ...rendered, final: true });
    await s.tryClaim('claimed', 'COT-3', 'p', 1, 0);
    await s.markSeen('seen', 'COT-4', 'open');
    expect((await s.listUnfinished()).map((r) => r.alertId).sort()).toEqual(['claimed', 'posted']);
    const many = await s.getMany(['posted', 'seen', 'nope']);
    expect([...many.keys()].sort()).toEqual(['posted', 'seen']);
  });

  it('getMany works past the SQL variable limit', async () => {
    const s = openSqliteStore(':memory:');
    const ids = Array.from({ length: 1200 }, (_, i) => `id-${i}`);
    for (const id of ids) await s.markSeen(id, id, 'open');
    expect((await s.getMany(ids)).size).toBe(1200);
  });

  it('keeps the last Slack action and meta values', async () => {
    const s = openSqliteStore(':memory:');
    await s.tryClaim('a1', 'COT-1', 'p', 1, 0);
    await s.markPosted('a1', 'p', { channel: 'C', ts: '1' }, rendered);
    const action = {
      by: { id: 'U1', name: 'jane' },
      kind: 'status' as const,
      status: 'closed_false_positive',
      at: 'now',
    };
    await s.setLastAction('a1', action);
    expect((await s.get('a1'))?.lastAction).toEqual(action);
    expect(await s.getMeta('bootstrapped_at')).toBeNull();
    await s.setMeta('bootstrapped_at', 'x');
    await s.setMeta('bootstrapped_at', 'y');
    expect(await s.getMeta('bootstrapped_at')).toBe('y');
  });

  it('an action claim admits one change of an alert at a time, until released or expired', async () => {
    const s = openSqliteStore(':memory:');
    expect(await s.claimAction('a1', 'click-1', 1_000, 30_000)).toBe(true);
    expect(await s.claimAction('a1', 'click-2', 1_001, 30_000)).toBe(false);
    expect(await s.claimAction('a2', 'click-3', 1_001, 30_000)).toBe(true);
    await s.releaseAction('a1', 'click-2'); // not the owner: no effect
    expect(await s.claimAction('a1', 'click-4', 1_002, 30_000)).toBe(false);
    await s.releaseAction('a1', 'click-1');
    expect(await s.claimAction('a1', 'click-5', 1_003, 30_000)).toBe(true);
    expect(await s.claimAction('a1', 'click-6', 40_000, 30_000)).toBe(true); // click-5 expired
  });

  it('firstTime is true once per key within its ttl', async () => {
    const s = openSqliteStore(':memory:');
    expect(await s.firstTime('interaction:U1:123.456', 1_000, 60_000)).toBe(true);
    expect(await s.firstTime('interaction:U1:123.456', 2_000, 60_000)).toBe(false);
    expect(await s.firstTime('interaction:U1:999.000', 2_000, 60_000)).toBe(true);
    expect(await s.firstTime('interaction:U1:123.456', 70_000, 60_000)).toBe(true);
  });

  it('survives a reopen (the restart case) and migrates once', async () => {
    const path = tempPath();
    const s1 = openSqliteStore(path);
    await s1.tryClaim('a1', 'COT-1', 'p', 1, 0);
    await s1.markPosted('a1', 'p', { channel: 'C', ts: '1' }, rendered);
    await s1.close();
    const s2 = openSqliteStore(path);
    expect((await s2.get('a1'))?.ts).toBe('1');
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
});
