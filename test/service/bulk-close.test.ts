/**
 * Bulk close from the storm digest, against a real (in-memory SQLite) store, a fake Cotool over many
 * alerts with injectable failures, and an access policy that says what it is told; the 429 path
 * against the real Cotool client and nock.
 */
import { Writable } from 'node:stream';
import nock from 'nock';
import { afterEach, describe, expect, it } from 'vitest';
import type { Alert, StatusChangeResult } from '../../src/core/alert.ts';
import { type BulkTally, parseTallies, tallyDone } from '../../src/core/digest.ts';
import type { Change, StormMember } from '../../src/core/records.ts';
import { createCotoolClient } from '../../src/cotool/client.ts';
import { createLogger } from '../../src/log.ts';
import type { Store } from '../../src/ports.ts';
import {
  type BulkCloseDeps,
  bulkReason,
  createBulkClose,
  createBulkClosePreview,
} from '../../src/service/bulk-close.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { alert as makeAlert } from '../support/alerts.ts';
import { fakeAccess, httpError, JANE, timeoutError } from './fakes.ts';

const STORM = 'storm-C0ALERTS-1';
const CHANNEL = 'C0ALERTS';
const DIGEST_TS = '1795000000.000100';
const WORKSPACE = 'https://acme.slack.com/';
const V0 = '2026-11-23T10:00:00.000Z';

type Fail = Error | { delayMs: number };

/** A Cotool client over many alerts. `fail.get/status` map an alert id to what its next calls throw. */
function fakeCotool(alerts: Alert[]) {
  const byId = new Map(alerts.map((a) => [a.id, { ...a }]));
  const calls: { method: 'getAlert' | 'updateStatus'; id: string; reason?: string }[] = [];
  const fail = { get: new Map<string, Fail[]>(), status: new Map<string, Fail[]>() };
  /** The POST applies even though it fails (an answer lost on the way back). */
  const appliesDespite = new Set<string>();
  let inFlight = 0;
  let maxInFlight = 0;
  let tick = 0;
  const next = async (k: keyof typeof fail, id: string) => {
    const f = fail[k].get(id)?.shift();
    if (f && 'delayMs' in f) {
      await new Promise((r) => setTimeout(r, f.delayMs));
      return null;
    }
    return f ?? null;
  };
  const client: BulkCloseDeps['cotool'] = {
    async getAlert(id) {
      calls.push({ method: 'getAlert', id });
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        await new Promise((r) => setTimeout(r, 2));
        const e = await next('get', id);
        if (e) throw e;
        const a = byId.get(id);
        if (!a) throw httpError(404, {}, 'GET');
        return { ...a, timeline: [] };
      } finally {
        inFlight--;
      }
    },
    async updateStatus(id, status, reason) {
      calls.push({ method: 'updateStatus', id, reason });
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        await new Promise((r) => setTimeout(r, 2));
        const e = await next('status', id);
        const a = byId.get(id);
        if (!a) throw httpError(404);
        if (e && !appliesDespite.has(id)) throw e;
        const changed = a.status !== status;
        if (changed) Object.assign(a, { status, updatedAt: new Date(Date.parse(V0) + ++tick * 1000).toISOString() });
        if (e) throw e;
        return {
          alert: { ...a },
          entry: null,
          statusChanged: changed,
          alertComplete: true,
        } satisfies StatusChangeResult & {
          alertComplete: boolean;
        };
      } finally {
        inFlight--;
      }
    },
  };
  return {
    client,
    calls,
    fail,
    appliesDespite,
    get maxInFlight() {
      return maxInFlight;
    },
    alert: (id: string) => byId.get(id),
    /** A change made in Cotool meanwhile. */
    change(id: string, patch: Partial<Alert>) {
      const a = byId.get(id);
      if (a) Object.assign(a, patch, { updatedAt: new Date(Date.parse(V0) + ++tick * 1000 + 500).toISOString() });
    },
    posts: () => calls.filter((c) => c.method === 'updateStatus'),
  };
}

function memberOf(a: Alert, groupKey = 'det-1'): StormMember {
  return {
    stormId: STORM,
    alertId: a.id,
    displayId: a.displayId,
    groupKey,
    groupName: 'Impossible travel',
    severity: a.severity,
    status: a.status,
    title: a.title,
    createdAt: a.createdAt,
    updatedAt: a.updatedAt,
  };
}

async function setup(n: number, opts: { other?: number; deps?: Partial<BulkCloseDeps> } = {}) {
  const alerts = Array.from({ length: n }, () => makeAlert({ updatedAt: V0 }));
  const others = Array.from({ length: opts.other ?? 0 }, () => makeAlert({ updatedAt: V0 }));
  const cotool = fakeCotool([...alerts, ...others]);
  const store: Store = openSqliteStore(':memory:');
  await store.apply([
    {
      storm: { op: 'open', id: STORM, channel: CHANNEL, at: Date.parse(V0) },
      members: [...alerts.map((a) => memberOf(a)), ...others.map((a) => memberOf(a, 'det-2'))],
    },
    { storm: { op: 'posted', id: STORM, ts: DIGEST_TS } },
  ]);
  const applied: Change[] = [];
  const spied: Store = Object.assign(Object.create(store) as Store, {
    apply: async (changes: readonly Change[]) => {
      applied.push(...changes);
      return store.apply(changes);
    },
  });
  const access = fakeAccess();
  const logs: string[] = [];
  const logger = createLogger(
    'debug',
    new Writable({
      write(chunk, _enc, cb) {
        logs.push(String(chunk));
        cb();
      },
    }),
  );
  let now = Date.parse('2026-11-23T12:00:00.000Z');
  const deps: BulkCloseDeps = {
    cotool: cotool.client,
    store: spied,
    access: access.policy,
    logger,
    clock: () => now,
    ...opts.deps,
  };
  const run = createBulkClose(deps);
  const input = { stormId: STORM, groupKey: 'det-1', userId: JANE.id, words: 'Scanner noise', workspaceUrl: WORKSPACE };
  const tally = async (key = 'det-1') => parseTallies((await store.getStorm(STORM))?.tally).get(key);
  return {
    alerts,
    others,
    cotool,
    store,
    applied,
    access,
    logs,
    deps,
    run,
    input,
    tally,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const done = (t: BulkTally) => tallyDone(t);

afterEach(() => {
  nock.cleanAll();
});

describe('bulk close', () => {
  it('closes every live member once, with a reason naming the analyst and the digest, and records the tally', async () => {
    const h = await setup(12, { other: 3 });
    const r = await h.run(h.input);
    expect(r).toMatchObject({ ok: true, tally: { state: 'done', total: 12, closed: 12, failed: [] } });
    expect(h.cotool.posts()).toHaveLength(12);
    expect(new Set(h.cotool.posts().map((c) => c.id))).toEqual(new Set(h.alerts.map((a) => a.id)));
    expect(h.cotool.posts()[0]?.reason).toBe(
      'Closed as false positive from Slack by Jane Doe (<@U0JANE>) in bulk from the alert-storm digest (C0ALERTS, https://acme.slack.com/archives/C0ALERTS/p1795000000000100): Scanner noise',
    );
    // The other group is untouched.
    expect(h.cotool.calls.some((c) => h.others.some((o) => o.id === c.id))).toBe(false);
    const t = await h.tally();
    expect(t).toMatchObject({
      state: 'done',
      by: { id: JANE.id, name: JANE.name },
      closed: 12,
      finishedAt: expect.any(Number),
    });
    const members = await h.store.stormMembers(STORM);
    expect(members.filter((m) => m.groupKey === 'det-1').every((m) => m.status === 'closed_false_positive')).toBe(true);
    // Every tally write queues a (coalesced) digest redraw.
    expect(h.applied.every((c) => c.enqueue?.[0]?.kind === 'digest_update')).toBe(true);
    expect(await h.store.listOutbox({ kind: 'digest_update' })).toHaveLength(1);
  });

  it('counts partial failures, changes made meanwhile and alerts already closed — nothing skipped silently', async () => {
    const h = await setup(10);
    const [a0, a1, a2, a3, a4, a5, a6, a7] = h.alerts.map((a) => a.id) as string[];
    h.cotool.fail.status.set(a0 as string, [httpError(403, { missingPerms: ['alert.triage'] })]);
    h.cotool.fail.status.set(a1 as string, [httpError(403, { missingPerms: ['alert.triage'] })]);
    h.cotool.fail.status.set(a2 as string, [timeoutError()]); // not applied: the re-read says so
    h.cotool.fail.get.set(a3 as string, [httpError(404, {}, 'GET')]);
    h.cotool.change(a4 as string, { severity: 'critical' }); // raised meanwhile: an analyst must look
    h.cotool.change(a5 as string, { description: 'edited' }); // a change that does not matter: closed
    h.cotool.change(a6 as string, { status: 'closed_true_positive' }); // closed meanwhile
    h.cotool.fail.status.set(a7 as string, [timeoutError()]);
    h.cotool.appliesDespite.add(a7 as string); // timed out but went through: the re-read shows it
    const r = await h.run(h.input);
    if (!r.ok) throw new Error(r.code);
    expect(r.tally).toMatchObject({ total: 10, closed: 4, alreadyClosed: 1, changedSince: 1 });
    expect(done(r.tally)).toBe(10);
    expect(r.tally.failed).toEqual(
      expect.arrayContaining([
        { alertId: a0, displayId: expect.any(String), why: 'the API key lacks alert.triage (403)' },
        { alertId: a1, displayId: expect.any(String), why: 'the API key lacks alert.triage (403)' },
        { alertId: a2, displayId: expect.any(String), why: 'Cotool did not answer (timeout)' },
        { alertId: a3, displayId: expect.any(String), why: 'not found in Cotool (404)' },
      ]),
    );
    expect(r.tally.failed).toHaveLength(4);
    expect(h.cotool.alert(a4 as string)?.status).toBe('open');
    expect(h.cotool.posts().some((c) => c.id === a4 || c.id === a6 || c.id === a3)).toBe(false);
    expect(h.cotool.alert(a5 as string)?.status).toBe('closed_false_positive');
    expect(await h.tally()).toEqual(r.tally);
    const members = new Map((await h.store.stormMembers(STORM)).map((m) => [m.alertId, m]));
    expect(members.get(a6 as string)?.status).toBe('closed_true_positive');
    expect(members.get(a4 as string)?.status).toBe('open');
    expect(members.get(a0 as string)?.status).toBe('open');
    expect(h.logs.some((l) => l.includes('"status":403') && l.includes('bulk close: closing failed'))).toBe(true);
  });

  it('an alert that the server says is already closed counts as already closed', async () => {
    const h = await setup(2);
    const id = h.alerts[0]?.id as string;
    // Cotool reads it live, then another close lands between the GET and the POST.
    const original = h.cotool.client.getAlert;
    h.cotool.client.getAlert = async (x) => {
      const got = await original(x);
      if (x === id)
        h.cotool.alert(id) && Object.assign(h.cotool.alert(id) as Alert, { status: 'closed_false_positive' });
      return got;
    };
    const r = await h.run(h.input);
    expect(r).toMatchObject({ ok: true, tally: { closed: 1, alreadyClosed: 1 } });
  });

  it('works on at most four alerts at a time and records progress every ~10 alerts', async () => {
    const h = await setup(25);
    const r = await h.run(h.input);
    expect(r.ok).toBe(true);
    expect(h.cotool.maxInFlight).toBeLessThanOrEqual(4);
    expect(h.cotool.maxInFlight).toBeGreaterThan(1);
    const tallies = h.applied
      .map((c) => (c.storm?.op === 'tally' ? parseTallies(c.storm.tally).get('det-1') : undefined))
      .filter((t): t is BulkTally => t !== undefined);
    expect(tallies.map((t) => [t.state, done(t)])).toEqual([
      ['running', 0],
      ['running', 10],
      ['running', 20],
      ['done', 25],
    ]);
    // The statuses travel with the progress writes.
    expect(h.applied.flatMap((c) => c.memberStatus ?? [])).toHaveLength(25);
  });

  it('two submits at once run it once; a submit after it is done is told who did it and when', async () => {
    const h = await setup(8);
    const bob = { ...h.input, userId: 'U0BOB' };
    const [first, second] = await Promise.all([h.run(h.input), h.run(bob)]);
    const results = [first, second];
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    const other = results.find((r) => !r.ok);
    expect(other && !other.ok && ['already', 'busy'].includes(other.code)).toBe(true);
    expect(h.cotool.posts()).toHaveLength(8);
    const again = await h.run(bob);
    expect(again).toMatchObject({
      ok: false,
      code: 'already',
      tally: { state: 'done', by: { name: expect.any(String) } },
    });
    expect(h.cotool.posts()).toHaveLength(8);
    expect(await createBulkClosePreview(h.deps)(bob)).toMatchObject({ ok: false, code: 'already' });
  });

  it('a submit while a run is going is told it is running, with its progress', async () => {
    const h = await setup(6);
    for (const a of h.alerts) h.cotool.fail.get.set(a.id, [{ delayMs: 40 }]);
    const first = h.run(h.input);
    await new Promise((r) => setTimeout(r, 20));
    const second = await h.run({ ...h.input, userId: 'U0BOB' });
    expect(second).toMatchObject({ ok: false, code: 'already', tally: { state: 'running', by: { id: JANE.id } } });
    expect((await first).ok).toBe(true);
    expect(h.cotool.posts()).toHaveLength(6);
  });

  it('access refused → nothing read, nothing closed, no tally', async () => {
    const h = await setup(3, { deps: { access: fakeAccess(() => ({ ok: false, reason: 'guest' })).policy } });
    expect(await h.run(h.input)).toEqual({ ok: false, code: 'denied', reason: 'guest' });
    expect(h.cotool.calls).toEqual([]);
    expect(await h.tally()).toBeUndefined();
  });

  it('a group with nothing live, or unknown, does nothing', async () => {
    const h = await setup(2);
    expect(await h.run({ ...h.input, groupKey: 'nope' })).toEqual({ ok: false, code: 'not_found' });
    expect(await h.run({ ...h.input, stormId: 'nope' })).toEqual({ ok: false, code: 'not_found' });
    await h.store.apply([
      {
        memberStatus: h.alerts.map((a) => ({
          stormId: STORM,
          alertId: a.id,
          status: 'closed_false_positive',
          updatedAt: V0,
        })),
      },
    ]);
    expect(await h.run(h.input)).toMatchObject({ ok: false, code: 'nothing_live' });
    expect(h.cotool.calls).toEqual([]);
  });

  it("honours Cotool's Retry-After on a 429 and then closes the alert (real client)", async () => {
    nock.disableNetConnect();
    const a = makeAlert({ updatedAt: V0 });
    const logger = createLogger('silent');
    const client = createCotoolClient({
      baseUrl: 'https://cotool.test',
      apiKey: 'ctk_test_0123456789abcdef',
      logger,
      backoffLimitMs: 1,
    });
    nock('https://cotool.test')
      .get(`/api/alerts/${a.id}`)
      .reply(200, { alert: { ...a, timeline: [] } });
    nock('https://cotool.test')
      .post(`/api/alerts/${a.id}/status`)
      .reply(429, { error: 'Too many requests' }, { 'Retry-After': '1' });
    let closedAt = 0;
    nock('https://cotool.test')
      .post(`/api/alerts/${a.id}/status`)
      .reply(200, () => {
        closedAt = Date.now();
        return {
          alert: { ...a, status: 'closed_false_positive', updatedAt: '2026-11-23T11:00:00.000Z' },
          entry: null,
          statusChanged: true,
        };
      });
    const store = openSqliteStore(':memory:');
    await store.apply([{ storm: { op: 'open', id: STORM, channel: CHANNEL, at: 0 }, members: [memberOf(a)] }]);
    const started = Date.now();
    const r = await createBulkClose({ cotool: client, store, access: fakeAccess().policy, logger, clock: Date.now })({
      stormId: STORM,
      groupKey: 'det-1',
      userId: JANE.id,
      words: 'noise',
    });
    expect(r).toMatchObject({ ok: true, tally: { closed: 1, failed: [] } });
    expect(closedAt - started).toBeGreaterThanOrEqual(900);
    expect(nock.isDone()).toBe(true);
    nock.enableNetConnect();
  });
});

describe('bulkReason', () => {
  it("names the analyst and the digest, and cuts words that do not fit Cotool's 2,000 characters", () => {
    const r = bulkReason(
      { id: 'U0JANE', name: 'Jane (<@U0BOSS>) Doe' },
      { channel: CHANNEL, link: null },
      'x'.repeat(3_000),
    );
    expect(r.reason.length).toBeLessThanOrEqual(2_000);
    expect(
      r.reason.startsWith(
        'Closed as false positive from Slack by Jane @U0BOSS Doe (<@U0JANE>) in bulk from the alert-storm digest (C0ALERTS): x',
      ),
    ).toBe(true);
    expect(r.wordsCut).toBe(true);
    const long = bulkReason(
      { id: 'U0JANE', name: 'n'.repeat(200) },
      { channel: CHANNEL, link: `https://${'a'.repeat(63)}.slack.com/archives/C0ALERTS/p1795000000000100` },
      'w'.repeat(1_600),
    );
    expect(long.wordsCut).toBe(false);
    expect(long.reason.length).toBeLessThanOrEqual(2_000);
  });
});
