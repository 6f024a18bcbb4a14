/**
 * The Store contract: what every engine must do, run against each of them (sqlite.contract.test.ts,
 * postgres.contract.test.ts). Times are explicit epoch ms; the store's own clock is injected.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { digestOf } from '../../src/core/digest.ts';
import type {
  Change,
  Fence,
  LastAction,
  NewCloseRequest,
  NewMute,
  NewOutboxItem,
  NewQuestion,
  OutboxItem,
  StormMember,
  WarRoom,
} from '../../src/core/records.ts';
import type { Store } from '../../src/ports.ts';

export type OpenOptions = {
  /** The store's clock (created/changed/first-action times). */
  clock?: () => number;
  /**
   * Open a second, independent instance (its own connections) on the same database as this store,
   * as another process would. An engine that cannot (SQLite :memory:) returns this store itself.
   */
  sameDatabaseAs?: Store;
};

/** Opens a store on a fresh, empty database (or a second instance on an existing one). */
export type OpenStore = (options?: OpenOptions) => Promise<Store>;

export function storeContract(name: string, open: OpenStore, cleanup: () => Promise<void> = async () => {}): void {
  describe(`Store contract: ${name}`, () => {
    const opened: Store[] = [];
    let now = 1_000;
    const clock = () => now;

    afterEach(async () => {
      for (const s of new Set(opened.splice(0))) await s.close();
      await cleanup();
    });

    async function fresh(): Promise<Store> {
      now = 1_000;
      const s = await open({ clock });
      opened.push(s);
      return s;
    }
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    async function twin(s: Store): Promise<Store> {
      const t = await open({ clock, sameDatabaseAs: s });
      opened.push(t);
      return t;
    }

    const insert = (alertId: string, over: Partial<Extract<Change['card'], { op: 'insert' }>> = {}): Change => ({
      card: {
        op: 'insert',
        alertId,
        displayId: `COT-${alertId}`,
        state: 'queued',
        channel: 'C1',
        status: 'open',
        updatedAt: 'u1',
        fingerprint: null,
        ...over,
      },
    });
    const item = (key: string, over: Partial<NewOutboxItem> = {}): NewOutboxItem => ({
      key,
      kind: 'card',
      lane: 'post',
      channel: 'C1',
      cardKey: null,
      priority: 10,
      orderAt: 100,
      payload: `{"k":"${key}"}`,
      ...over,
    });
    /** The fence of `owner`: each owner holds a lease of its own (claims are not what those tests contend for). */
    const fenceOf = async (s: Store, owner: string): Promise<Fence> => {
      const lease = `lease:${owner}`;
      const g = await s.tryLease(lease, owner, 600_000);
      expect(g.held).toBe(true);
      return { lease, token: g.token };
    };
    const claim = async (
      s: Store,
      owner = 'p1',
      over: { lane?: 'post' | 'update' | 'interactive'; channel?: string; staleMs?: number } = {},
    ) => s.claimNext({ lane: over.lane ?? 'post', owner, staleMs: 30_000, fence: await fenceOf(s, owner), ...over });
    const complete = async (s: Store, key: string, owner: string, rev: number, changes?: Change[]) =>
      s.completeOutbox(key, owner, await fenceOf(s, owner), rev, changes);
    const retry = async (s: Store, key: string, owner: string, afterMs: number, unknown: boolean) =>
      s.retryOutbox(key, owner, await fenceOf(s, owner), afterMs, unknown);
    /** A card that reached Slack at (channel, ts). */
    async function posted(s: Store, alertId: string, ts: string, postedAt = 5_000, channel = 'C1') {
      await s.apply([insert(alertId, { channel })]);
      const r = await s.get(alertId);
      const res = await s.apply([
        { card: { op: 'update', alertId, expectVersion: r?.version ?? 0, set: { state: 'posted', ts, postedAt } } },
      ]);
      expect(res).toEqual({ applied: 1, conflicts: 0 });
    }
    const member = (stormId: string, alertId: string, over: Partial<StormMember> = {}): StormMember => ({
      stormId,
      alertId,
      displayId: `COT-${alertId}`,
      groupKey: 'det-1',
      groupName: 'Impossible travel',
      severity: 'high',
      status: 'open',
      title: `Alert ${alertId}`,
      createdAt: '2026-11-23T10:00:00.000Z',
      updatedAt: '2026-11-23T10:00:00.000Z',
      ...over,
    });
    const action: LastAction = { by: { id: 'U1', name: 'Jane' }, kind: 'status', status: 'closed', at: 'x' };

    // ---------------------------------------------------------------------------------------------
    describe('records', () => {
      it('markSeen remembers an alert without a card, once', async () => {
        const s = await fresh();
        expect(await s.get('a1')).toBeNull();
        await s.markSeen('a1', 'COT-1', 'open');
        expect(await s.get('a1')).toEqual({
          alertId: 'a1',
          displayId: 'COT-1',
          state: 'seen',
          channel: null,
          ts: null,
          status: 'open',
          updatedAt: null,
          fingerprint: null,
          final: false,
          lastAction: null,
          version: 1,
          stormId: null,
          postedAt: null,
          firstActionAt: null,
          muteId: null,
          owner: null,
          remindersSent: 0,
        });
        await s.markSeen('a1', 'COT-1', 'escalated'); // a record exists: no-op
        expect(await s.get('a1')).toMatchObject({ status: 'open', version: 1 });
      });

      it('getMany returns the records that exist, also for many ids', async () => {
        const s = await fresh();
        const ids = Array.from({ length: 1200 }, (_, i) => `id-${i}`);
        await s.apply(ids.map((id) => insert(id, { state: 'seen', channel: null })));
        const many = await s.getMany([...ids, 'missing']);
        expect(many.size).toBe(1200);
        expect(many.get('id-1199')).toMatchObject({ alertId: 'id-1199', state: 'seen' });
        expect(many.has('missing')).toBe(false);
        expect((await s.getMany([])).size).toBe(0);
      });

      it('peekMany returns what the poller compares (state, status, updatedAt, final), also for many ids', async () => {
        const s = await fresh();
        const ids = Array.from({ length: 1200 }, (_, i) => `id-${i}`);
        await s.apply(ids.map((id) => insert(id, { state: 'seen', channel: null })));
        await s.apply([
          {
            card: {
              op: 'update',
              alertId: 'id-7',
              expectState: 'seen',
              set: { state: 'posted', status: 'open', updatedAt: 'u7', final: true },
            },
          },
        ]);
        const peeks = await s.peekMany([...ids, 'missing']);
        expect(peeks.size).toBe(1200);
        expect(peeks.get('id-7')).toEqual({ state: 'posted', status: 'open', updatedAt: 'u7', final: true });
        const r = await s.get('id-8');
        expect(peeks.get('id-8')).toEqual({
          state: r?.state,
          status: r?.status,
          updatedAt: r?.updatedAt,
          final: r?.final,
        });
        expect(peeks.has('missing')).toBe(false);
        expect((await s.peekMany([])).size).toBe(0);
      });

      it('an insert creates the record with version 1; an insert over an existing record conflicts', async () => {
        const s = await fresh();
        expect(await s.apply([insert('a1', { fingerprint: 'f', stormId: 'st' })])).toEqual({
          applied: 1,
          conflicts: 0,
        });
        expect(await s.get('a1')).toMatchObject({
          state: 'queued',
          channel: 'C1',
          status: 'open',
          updatedAt: 'u1',
          fingerprint: 'f',
          stormId: 'st',
          version: 1,
          final: false,
        });
        expect(await s.apply([insert('a1', { state: 'seen', status: 'closed' })])).toEqual({
          applied: 0,
          conflicts: 1,
        });
        expect(await s.get('a1')).toMatchObject({ state: 'queued', status: 'open', version: 1 });
        await s.markSeen('a2', 'COT-2', 'open');
        expect((await s.apply([insert('a2')])).conflicts).toBe(1);
      });

      it('an update is compare-and-set on the version and bumps it', async () => {
        const s = await fresh();
        await s.apply([insert('a1')]);
        const set = {
          state: 'posted' as const,
          channel: 'C9',
          ts: '111.222',
          status: 'escalated',
          updatedAt: 'u2',
          fingerprint: 'fp',
          final: true,
          stormId: 'storm-1',
          lastAction: action,
          postedAt: 1_790_000_000_123,
        };
        expect(await s.apply([{ card: { op: 'update', alertId: 'a1', expectVersion: 1, set } }])).toEqual({
          applied: 1,
          conflicts: 0,
        });
        expect(await s.get('a1')).toMatchObject({ ...set, version: 2 });
        // The same expected version again: someone wrote in between.
        expect(
          await s.apply([{ card: { op: 'update', alertId: 'a1', expectVersion: 1, set: { status: 'open' } } }]),
        ).toEqual({ applied: 0, conflicts: 1 });
        expect(await s.get('a1')).toMatchObject({ status: 'escalated', version: 2 });
        // Clearing with null; undefined fields are left alone.
        await s.apply([
          {
            card: {
              op: 'update',
              alertId: 'a1',
              expectVersion: 2,
              set: { stormId: null, lastAction: null, final: false, fingerprint: undefined },
            },
          },
        ]);
        expect(await s.get('a1')).toMatchObject({
          stormId: null,
          lastAction: null,
          final: false,
          fingerprint: 'fp',
          version: 3,
        });
        // An empty patch still bumps the version (a deliberate touch).
        await s.apply([{ card: { op: 'update', alertId: 'a1', expectVersion: 3, set: {} } }]);
        expect((await s.get('a1'))?.version).toBe(4);
        // Updating a record that does not exist conflicts.
        expect(
          await s.apply([{ card: { op: 'update', alertId: 'nope', expectVersion: 1, set: { status: 'x' } } }]),
        ).toEqual({ applied: 0, conflicts: 1 });
      });

      it('an update may be conditional on the state instead of (or as well as) the version', async () => {
        const s = await fresh();
        await s.apply([insert('a1')]); // queued, version 1
        const byState = (expectState: 'queued' | 'posted' | 'seen', status: string, expectVersion?: number) =>
          s.apply([{ card: { op: 'update', alertId: 'a1', expectState, expectVersion, set: { status } } }]);
        expect(await byState('posted', 'x')).toEqual({ applied: 0, conflicts: 1 });
        expect(await byState('queued', 'in_progress')).toEqual({ applied: 1, conflicts: 0 });
        expect(await s.get('a1')).toMatchObject({ status: 'in_progress', version: 2 });
        expect(await byState('queued', 'y', 1)).toEqual({ applied: 0, conflicts: 1 }); // state ok, version not
        expect(await byState('queued', 'closed', 2)).toEqual({ applied: 1, conflicts: 0 });
        expect(await s.get('a1')).toMatchObject({ status: 'closed', version: 3 });
      });

      it('an update with neither expectVersion nor expectState is refused and applies nothing', async () => {
        const s = await fresh();
        await expect(
          s.apply([insert('a0'), { card: { op: 'update', alertId: 'a0', set: { status: 'x' } } }]),
        ).rejects.toThrow();
        expect(await s.get('a0')).toBeNull();
      });

      it('saveRender and setLastAction write unconditionally and bump the version', async () => {
        const s = await fresh();
        await posted(s, 'a1', '1.1');
        await s.saveRender('a1', { status: 'closed', updatedAt: 'u9', fingerprint: 'f9', final: true });
        expect(await s.get('a1')).toMatchObject({
          status: 'closed',
          updatedAt: 'u9',
          fingerprint: 'f9',
          final: true,
          version: 3,
        });
        await s.saveRender('missing', { status: 'closed', updatedAt: 'u', fingerprint: 'f', final: false });
        expect(await s.get('missing')).toBeNull();
      });

      it('setLastAction sets firstActionAt once; clearing keeps it', async () => {
        const s = await fresh();
        await posted(s, 'a1', '1.1');
        now = 7_000;
        await s.setLastAction('a1', action);
        expect(await s.get('a1')).toMatchObject({ lastAction: action, firstActionAt: 7_000, version: 3 });
        now = 9_000;
        const second = { ...action, status: 'open', at: 'y' };
        await s.setLastAction('a1', second);
        expect(await s.get('a1')).toMatchObject({ lastAction: second, firstActionAt: 7_000, version: 4 });
        await s.setLastAction('a1', null);
        expect(await s.get('a1')).toMatchObject({ lastAction: null, firstActionAt: 7_000, version: 5 });
        // Clearing first never counts as a human action.
        await posted(s, 'a2', '2.2');
        await s.setLastAction('a2', null);
        expect((await s.get('a2'))?.firstActionAt).toBeNull();
      });

      it('getByMessage finds the posted card at (channel, ts) only', async () => {
        const s = await fresh();
        await posted(s, 'a1', '111.1');
        await posted(s, 'a2', '222.2', 5_000, 'C2');
        await s.apply([insert('q', { channel: 'C1' })]);
        expect((await s.getByMessage('C1', '111.1'))?.alertId).toBe('a1');
        expect((await s.getByMessage('C2', '222.2'))?.alertId).toBe('a2');
        expect(await s.getByMessage('C2', '111.1')).toBeNull();
        expect(await s.getByMessage('C1', '999.9')).toBeNull();
      });

      it('listUnfinishedIds: posted and not final, or queued', async () => {
        const s = await fresh();
        await posted(s, 'live', '1');
        await posted(s, 'final', '2');
        await s.saveRender('final', { status: 'closed', updatedAt: 'u', fingerprint: 'f', final: true });
        await s.apply([insert('queued'), insert('digested', { state: 'digested', channel: null })]);
        await s.markSeen('seen', 'COT-4', 'open');
        expect((await s.listUnfinishedIds()).sort()).toEqual(['live', 'queued']);
      });

      it('cardTimes: cards posted since, with the first human action', async () => {
        const s = await fresh();
        await posted(s, 'old', '1', 1_000);
        await posted(s, 'a', '2', 5_000);
        await posted(s, 'b', '3', 6_000);
        now = 8_000;
        await s.setLastAction('b', action);
        await s.markSeen('seen', 'COT-9', 'open');
        const times = (await s.cardTimes(5_000)).sort((x, y) => x.postedAt - y.postedAt);
        expect(times).toEqual([
          { alertId: 'a', postedAt: 5_000, firstActionAt: null },
          { alertId: 'b', postedAt: 6_000, firstActionAt: 8_000 },
        ]);
        expect(await s.cardTimes(10_000)).toEqual([]);
      });

      it('meta values are kept and overwritten', async () => {
        const s = await fresh();
        expect(await s.getMeta('bootstrapped_at')).toBeNull();
        await s.setMeta('bootstrapped_at', 'x');
        await s.setMeta('bootstrapped_at', 'y');
        await s.setMeta('other', '');
        expect(await s.getMeta('bootstrapped_at')).toBe('y');
        expect(await s.getMeta('other')).toBe('');
      });
    });

    // ---------------------------------------------------------------------------------------------
    describe('apply', () => {
      it('each change is atomic: a conflict undoes its own writes and no other change', async () => {
        const s = await fresh();
        await s.apply([insert('a1')]);
        const res = await s.apply([
          { ...insert('a2'), enqueue: [item('card:a2')] },
          // conflicts (a1 exists): its enqueue, storm and members must not land
          {
            ...insert('a1'),
            enqueue: [item('card:a1')],
            storm: { op: 'open', id: 'st1', channel: 'C1', at: 10 },
            members: [member('st1', 'a1')],
          },
          { card: { op: 'update', alertId: 'a1', expectVersion: 1, set: { status: 'in_progress' } } },
        ]);
        expect(res).toEqual({ applied: 2, conflicts: 1 });
        expect((await s.listOutbox()).map((i) => i.key)).toEqual(['card:a2']);
        expect(await s.getStorm('st1')).toBeNull();
        expect(await s.stormMembers('st1')).toEqual([]);
        expect(await s.get('a1')).toMatchObject({ status: 'in_progress', version: 2 });
        expect(await s.get('a2')).not.toBeNull();
        expect(await s.apply([])).toEqual({ applied: 0, conflicts: 0 });
      });

      it('a later change sees an earlier change of the same batch', async () => {
        const s = await fresh();
        const res = await s.apply([
          insert('a1'),
          { card: { op: 'update', alertId: 'a1', expectVersion: 1, set: { status: 'escalated' } } },
          { card: { op: 'update', alertId: 'a1', expectVersion: 1, set: { status: 'open' } } },
        ]);
        expect(res).toEqual({ applied: 2, conflicts: 1 });
        expect(await s.get('a1')).toMatchObject({ status: 'escalated', version: 2 });
      });

      it('dequeue deletes pending items; a claimed (or missing) one rolls the whole change back', async () => {
        const s = await fresh();
        await s.apply([
          { ...insert('a1'), enqueue: [item('card:a1', { cardKey: 'a1' }), item('upd:a1', { lane: 'update' })] },
        ]);
        // A pending item is dequeued with the card write.
        expect(
          await s.apply([
            {
              card: { op: 'update', alertId: 'a1', expectVersion: 1, set: { state: 'seen' } },
              dequeue: ['upd:a1'],
            },
          ]),
        ).toEqual({ applied: 1, conflicts: 0 });
        expect((await s.listOutbox()).map((i) => i.key)).toEqual(['card:a1']);
        // The card item is being sent: dequeueing it conflicts, and the card write goes back too.
        expect((await claim(s))?.key).toBe('card:a1');
        expect(
          await s.apply([
            {
              card: { op: 'update', alertId: 'a1', expectVersion: 2, set: { state: 'posted', ts: '1.1' } },
              dequeue: ['card:a1'],
              enqueue: [item('other')],
            },
          ]),
        ).toEqual({ applied: 0, conflicts: 1 });
        expect(await s.get('a1')).toMatchObject({ state: 'seen', ts: null, version: 2 });
        expect((await s.listOutbox()).map((i) => [i.key, i.state])).toEqual([['card:a1', 'claimed']]);
        // A key that is not there conflicts too.
        expect(await s.apply([{ dequeue: ['gone'] }])).toEqual({ applied: 0, conflicts: 1 });
      });

      it('dequeue refuses an item whose earlier attempt has an unknown outcome (it may be in Slack)', async () => {
        const s = await fresh();
        await s.apply([{ ...insert('a1'), enqueue: [item('card:a1', { cardKey: 'a1' })] }]);
        expect((await claim(s))?.key).toBe('card:a1');
        // Slack answered 5xx: the item is pending again, its outcome unknown.
        expect(await retry(s, 'card:a1', 'p1', 0, true)).toBe(true);
        expect((await s.listOutbox()).map((i) => [i.key, i.state, i.unknown])).toEqual([['card:a1', 'pending', true]]);
        expect(
          await s.apply([
            {
              card: { op: 'update', alertId: 'a1', expectVersion: 1, set: { state: 'digested' } },
              dequeue: ['card:a1'],
            },
          ]),
        ).toEqual({ applied: 0, conflicts: 1 });
        expect(await s.get('a1')).toMatchObject({ state: 'queued', version: 1 });
        expect((await s.listOutbox()).map((i) => i.key)).toEqual(['card:a1']);
      });

      it('holdMs holds an item from the database clock, whatever notBefore (a replica clock) says', async () => {
        const s = await fresh();
        await s.apply([
          { enqueue: [item('held', { notBefore: 0, holdMs: 600_000 }), item('due', { notBefore: 9e15, holdMs: 0 })] },
        ]);
        expect((await claim(s))?.key).toBe('due');
        expect(await claim(s)).toBeNull();
      });

      it('dequeue then enqueue of the same key in one change makes a fresh item', async () => {
        const s = await fresh();
        await s.apply([{ enqueue: [item('k', { payload: 'old' })] }]);
        await s.apply([{ enqueue: [item('k', { payload: 'old2' })] }]);
        await s.apply([{ dequeue: ['k'], enqueue: [item('k', { payload: 'new' })] }]);
        const [i] = await s.listOutbox();
        expect(i).toMatchObject({ key: 'k', payload: 'new', rev: 1 });
      });
    });

    // ---------------------------------------------------------------------------------------------
    describe('outbox', () => {
      it('the interactive lane: claimed on its own, and an interactive enqueue moves a pending item of its key there', async () => {
        const s = await fresh();
        await s.apply([
          {
            enqueue: [
              item('card_update:a1', { kind: 'card_update', lane: 'update', priority: 0 }),
              item('card_update:a2', { kind: 'card_update', lane: 'update', priority: 0 }),
            ],
          },
        ]);
        expect(await claim(s, 'p1', { lane: 'interactive' })).toBeNull();
        // A click's redraw of a1: the pending update-lane item becomes the click's (payload and lane).
        await s.apply([
          { enqueue: [item('card_update:a1', { kind: 'card_update', lane: 'interactive', payload: '{"click":1}' })] },
        ]);
        const got = await claim(s, 'p1', { lane: 'interactive' });
        expect(got).toMatchObject({ key: 'card_update:a1', lane: 'interactive', payload: '{"click":1}' });
        // A later poll's enqueue of the same key does not move it back.
        await s.apply([{ enqueue: [item('card_update:a1', { kind: 'card_update', lane: 'update' })] }]);
        expect((await s.listOutbox()).find((i) => i.key === 'card_update:a1')?.lane).toBe('interactive');
        expect((await claim(s, 'p1', { lane: 'update' }))?.key).toBe('card_update:a2');
        expect(await claim(s, 'p1', { lane: 'update' })).toBeNull();
      });

      it('an item may be held until a time (the database clock): not claimed before it, and a re-enqueue keeps its own', async () => {
        const s = await fresh();
        await s.apply([{ enqueue: [{ ...item('held'), notBefore: Date.now() + 60_000 }] }]);
        expect(await claim(s)).toBeNull();
        await s.apply([{ enqueue: [{ ...item('held'), notBefore: 0 }] }]);
        expect(await claim(s)).toBeNull();
        await s.apply([{ enqueue: [{ ...item('due', { priority: 99 }), notBefore: Date.now() - 1 }] }]);
        expect((await claim(s))?.key).toBe('due');
      });

      it('enqueue stores every field; pending items start unclaimed', async () => {
        const s = await fresh();
        now = 4_242;
        await s.apply([
          {
            enqueue: [item('esc:a1', { kind: 'escalation', channel: 'C7', cardKey: 'a1', priority: 1, orderAt: 77 })],
          },
        ]);
        expect(await s.listOutbox()).toEqual([
          {
            key: 'esc:a1',
            kind: 'escalation',
            lane: 'post',
            channel: 'C7',
            cardKey: 'a1',
            priority: 1,
            orderAt: 77,
            payload: '{"k":"esc:a1"}',
            rev: 1,
            state: 'pending',
            owner: null,
            claimedAt: null,
            unknown: false,
            attempts: 0,
            notBefore: 0,
            createdAt: 4_242,
            fence: null,
          } satisfies OutboxItem,
        ]);
      });

      it('enqueueing an existing key coalesces: new payload and priority, rev bumped, the older orderAt kept', async () => {
        const s = await fresh();
        await s.apply([{ enqueue: [item('upd:a1', { lane: 'update', priority: 5, orderAt: 100, payload: 'v1' })] }]);
        await s.apply([{ enqueue: [item('upd:a1', { lane: 'update', priority: 3, orderAt: 300, payload: 'v2' })] }]);
        let [i] = await s.listOutbox();
        expect(i).toMatchObject({ payload: 'v2', priority: 3, orderAt: 100, rev: 2 });
        await s.apply([{ enqueue: [item('upd:a1', { lane: 'update', priority: 3, orderAt: 50, payload: 'v3' })] }]);
        [i] = await s.listOutbox();
        expect(i).toMatchObject({ payload: 'v3', orderAt: 50, rev: 3, createdAt: 1_000 });
        expect(await s.listOutbox()).toHaveLength(1);
      });

      it('claims by priority, then orderAt, within the lane (and channel) asked for', async () => {
        const s = await fresh();
        await s.apply([
          {
            enqueue: [
              item('p10-late', { priority: 10, orderAt: 900 }),
              item('p10-early', { priority: 10, orderAt: 100, channel: 'C2' }),
              item('p1', { priority: 1, orderAt: 5_000 }),
              item('upd', { lane: 'update', priority: 0, orderAt: 1 }),
              item('p5', { priority: 5, orderAt: 500, channel: 'C2' }),
            ],
          },
        ]);
        const order: string[] = [];
        for (let k = 0; k < 5; k++) {
          const i = await claim(s);
          if (i) order.push(i.key);
        }
        expect(order).toEqual(['p1', 'p5', 'p10-early', 'p10-late']);
        expect((await claim(s, 'p1', { lane: 'update' }))?.key).toBe('upd');
        expect(await claim(s)).toBeNull();

        const t = await fresh();
        await t.apply([{ enqueue: [item('c1', { priority: 1 }), item('c2', { channel: 'C2', priority: 9 })] }]);
        expect((await claim(t, 'p', { channel: 'C2' }))?.key).toBe('c2');
        expect(await claim(t, 'p', { channel: 'C2' })).toBeNull();
        expect(await claim(t, 'p', { channel: 'C3' })).toBeNull();
        expect((await claim(t, 'p', { channel: 'C1' }))?.key).toBe('c1');
      });

      it('a claim records owner and time; a claimed item is not claimed again while fresh', async () => {
        const s = await fresh();
        await s.apply([{ enqueue: [item('k')] }]);
        const before = Date.now();
        const got = await claim(s, 'worker-a');
        const fence = await fenceOf(s, 'worker-a');
        expect(got).toMatchObject({
          key: 'k',
          state: 'claimed',
          owner: 'worker-a',
          unknown: false,
          fence: fence.token,
        });
        // claimedAt is the database's time (this machine's, here), not the store's injected clock.
        expect(got?.claimedAt).toBeGreaterThanOrEqual(before - 1_000);
        expect(got?.claimedAt).toBeLessThanOrEqual(Date.now() + 1_000);
        expect(await claim(s, 'worker-b')).toBeNull();
        expect(await claim(s, 'worker-b', { staleMs: 60_000 })).toBeNull();
      });

      it('notBefore is respected', async () => {
        const s = await fresh();
        await s.apply([{ enqueue: [item('k')] }]);
        const i = await claim(s);
        const before = Date.now();
        expect(await retry(s, 'k', 'p1', 60_000, false)).toBe(true); // due a minute from the database's now
        expect(await claim(s)).toBeNull();
        const [held] = await s.listOutbox();
        expect(held).toMatchObject({ state: 'pending', owner: null, claimedAt: null, fence: null, attempts: 1 });
        expect(held?.notBefore).toBeGreaterThanOrEqual(before + 60_000 - 1_000);
        expect(held?.notBefore).toBeLessThanOrEqual(Date.now() + 60_000 + 1_000);
        expect(await retry(s, 'k', 'p1', 0, false)).toBe(false); // not claimed: nothing to give back
        await s.apply([{ enqueue: [item('k2')] }]);
        expect((await claim(s))?.key).toBe('k2');
        expect(await retry(s, 'k2', 'p1', 0, false)).toBe(true); // due at once
        expect((await claim(s))?.key).toBe('k2');
        expect(i?.key).toBe('k');
      });

      it('a stale claim is taken over and comes back unknown; the old owner has lost it', async () => {
        const s = await fresh();
        await s.apply([{ enqueue: [item('k')] }]);
        const first = await claim(s, 'dead');
        expect(await claim(s, 'b', { staleMs: 60_000 })).toBeNull(); // not older
        await sleep(25);
        const taken = await claim(s, 'b', { staleMs: 10 });
        expect(taken).toMatchObject({ key: 'k', owner: 'b', unknown: true, state: 'claimed' });
        expect(taken?.claimedAt).toBeGreaterThan(first?.claimedAt ?? Number.POSITIVE_INFINITY);
        expect(await complete(s, 'k', 'dead', 1)).toBe(false);
        expect(await retry(s, 'k', 'dead', 0, false)).toBe(false);
        expect((await s.listOutbox())[0]).toMatchObject({ owner: 'b', state: 'claimed' });
        expect(await complete(s, 'k', 'b', 1)).toBe(true);
        expect(await s.listOutbox()).toEqual([]);
      });

      it('completeOutbox deletes the item and applies its changes, only for the owner', async () => {
        const s = await fresh();
        await s.apply([{ ...insert('a1'), enqueue: [item('card:a1', { cardKey: 'a1' })] }]);
        const i = await claim(s, 'me');
        const done: Change[] = [
          {
            card: {
              op: 'update',
              alertId: 'a1',
              expectVersion: 1,
              set: { state: 'posted', ts: '5.5', postedAt: 2_100 },
            },
          },
        ];
        expect(await complete(s, 'card:a1', 'someone-else', i?.rev ?? 0, done)).toBe(false);
        expect(await s.get('a1')).toMatchObject({ state: 'queued', version: 1 }); // nothing applied
        expect(await complete(s, 'card:a1', 'me', i?.rev ?? 0, done)).toBe(true);
        expect(await s.get('a1')).toMatchObject({ state: 'posted', ts: '5.5', postedAt: 2_100, version: 2 });
        expect(await s.listOutbox()).toEqual([]);
        expect(await complete(s, 'card:a1', 'me', i?.rev ?? 0)).toBe(false); // already gone
      });

      it('meta written by a change lands with it: on completion of an item, and not when the change conflicts', async () => {
        const s = await fresh();
        await posted(s, 'a1', '5.5');
        await s.setMeta('timeline:a1', 'old');
        await s.apply([{ enqueue: [item('note:a1:timeline', { kind: 'thread_note', cardKey: 'a1' })] }]);
        const i = await claim(s, 'me');
        const cursor = { meta: [{ key: 'timeline:a1', value: '{"id":"e2","createdAt":"t2"}' }] };
        expect(await complete(s, 'note:a1:timeline', 'someone-else', i?.rev ?? 0, [cursor])).toBe(false);
        expect(await s.getMeta('timeline:a1')).toBe('old'); // nothing applied without the claim
        expect(await complete(s, 'note:a1:timeline', 'me', i?.rev ?? 0, [cursor])).toBe(true);
        expect(await s.getMeta('timeline:a1')).toBe('{"id":"e2","createdAt":"t2"}');
        expect(await s.listOutbox()).toEqual([]);
        // Inserted when missing, overwritten when present; a conflicting change writes none of it.
        const res = await s.apply([
          {
            meta: [
              { key: 'm1', value: 'x' },
              { key: 'timeline:a1', value: 'new' },
            ],
          },
          { ...insert('a1'), meta: [{ key: 'm2', value: 'lost' }] },
        ]);
        expect(res).toEqual({ applied: 1, conflicts: 1 });
        expect(await s.getMeta('m1')).toBe('x');
        expect(await s.getMeta('timeline:a1')).toBe('new');
        expect(await s.getMeta('m2')).toBeNull();
      });

      it('a pending item cannot be completed or retried', async () => {
        const s = await fresh();
        await s.apply([{ enqueue: [item('k')] }]);
        expect(await complete(s, 'k', 'p1', 1)).toBe(false);
        expect(await retry(s, 'k', 'p1', 0, true)).toBe(false);
        expect(await s.listOutbox()).toEqual([expect.objectContaining({ state: 'pending', unknown: false })]);
      });

      it('a newer payload coalesced in while sending: completion puts the item back to pending', async () => {
        const s = await fresh();
        await s.apply([{ enqueue: [item('upd:a1', { lane: 'update', payload: 'v1' })] }]);
        const i = await claim(s, 'me', { lane: 'update' });
        await retry(s, 'upd:a1', 'me', 0, true);
        const again = await claim(s, 'me', { lane: 'update' });
        expect(again).toMatchObject({ unknown: true, attempts: 1 });
        await s.apply([{ enqueue: [item('upd:a1', { lane: 'update', payload: 'v2' })] }]);
        expect((await s.listOutbox())[0]).toMatchObject({ state: 'claimed', owner: 'me', rev: 2, payload: 'v2' });
        expect(await complete(s, 'upd:a1', 'me', i?.rev ?? 0)).toBe(true);
        expect(await s.listOutbox()).toEqual([
          expect.objectContaining({
            key: 'upd:a1',
            state: 'pending',
            owner: null,
            claimedAt: null,
            fence: null,
            payload: 'v2',
            rev: 2,
            unknown: false,
            attempts: 0,
            notBefore: 0,
          }),
        ]);
        const next = await claim(s, 'me', { lane: 'update' });
        expect(next).toMatchObject({ payload: 'v2', rev: 2 });
        expect(await complete(s, 'upd:a1', 'me', 2)).toBe(true);
        expect(await s.listOutbox()).toEqual([]);
      });

      it('retryOutbox counts attempts and keeps unknown sticky', async () => {
        const s = await fresh();
        await s.apply([{ enqueue: [item('k')] }]);
        await claim(s);
        expect(await retry(s, 'k', 'p1', 0, true)).toBe(true);
        expect(await claim(s)).toMatchObject({ unknown: true, attempts: 1 });
        expect(await retry(s, 'k', 'p1', 0, false)).toBe(true); // this attempt was a clean refusal
        expect(await claim(s)).toMatchObject({ unknown: true, attempts: 2 });
        expect(await retry(s, 'k', 'intruder', 0, false)).toBe(false);
      });

      it('outboxDepth counts pending and claimed items per channel and lane; listOutbox filters', async () => {
        const s = await fresh();
        await s.apply([
          {
            enqueue: [
              item('a', { channel: 'C1' }),
              item('b', { channel: 'C1', kind: 'escalation' }),
              item('c', { channel: 'C2' }),
              item('d', { channel: 'C1', lane: 'update', kind: 'card_update' }),
            ],
          },
        ]);
        await claim(s, 'p', { channel: 'C1' });
        const depth = (await s.outboxDepth()).sort((x, y) =>
          `${x.channel}${x.lane}`.localeCompare(`${y.channel}${y.lane}`),
        );
        expect(depth).toEqual([
          { channel: 'C1', lane: 'post', count: 2 },
          { channel: 'C1', lane: 'update', count: 1 },
          { channel: 'C2', lane: 'post', count: 1 },
        ]);
        expect((await s.listOutbox({ channel: 'C1' })).map((i) => i.key).sort()).toEqual(['a', 'b', 'd']);
        expect((await s.listOutbox({ kind: 'escalation' })).map((i) => i.key)).toEqual(['b']);
        expect((await s.listOutbox({ channel: 'C2', kind: 'card' })).map((i) => i.key)).toEqual(['c']);
        expect(await s.listOutbox({ channel: 'C3' })).toEqual([]);
      });
    });

    // ---------------------------------------------------------------------------------------------
    describe('storms', () => {
      it('open, grow, post, tally and end', async () => {
        const s = await fresh();
        await s.apply([{ storm: { op: 'open', id: 'st1', channel: 'C1', at: 1_000 } }]);
        await s.apply([{ storm: { op: 'open', id: 'st1', channel: 'C9', at: 9_000 } }]); // exists: no-op
        expect(await s.getStorm('st1')).toEqual({
          id: 'st1',
          channel: 'C1',
          startedAt: 1_000,
          lastAddedAt: 1_000,
          endedAt: null,
          cardsUsed: 0,
          ts: null,
          tally: null,
        });
        await s.apply([{ storm: { op: 'grow', id: 'st1', at: 3_000, cards: 2 } }]);
        await s.apply([{ storm: { op: 'grow', id: 'st1', at: 2_000, cards: 1 } }]); // an older time never wins
        await s.apply([{ storm: { op: 'posted', id: 'st1', ts: '99.1' } }]);
        await s.apply([{ storm: { op: 'tally', id: 'st1', tally: '{"det-1":{"closed":3}}' } }]);
        expect(await s.getStorm('st1')).toMatchObject({
          lastAddedAt: 3_000,
          cardsUsed: 3,
          ts: '99.1',
          tally: '{"det-1":{"closed":3}}',
        });
        await s.apply([{ storm: { op: 'open', id: 'st2', channel: 'C2', at: 2_000 } }]);
        expect((await s.activeStorms()).map((x) => x.id)).toEqual(['st1', 'st2']);
        await s.apply([{ storm: { op: 'end', id: 'st1', at: 5_000 } }]);
        await s.apply([{ storm: { op: 'end', id: 'st1', at: 6_000 } }]); // ended once
        expect((await s.getStorm('st1'))?.endedAt).toBe(5_000);
        expect((await s.activeStorms()).map((x) => x.id)).toEqual(['st2']);
        expect(await s.getStorm('nope')).toBeNull();
      });

      it('members keep the order they were added in; a member is added once; memberStatus updates it', async () => {
        const s = await fresh();
        await s.apply([
          { storm: { op: 'open', id: 'st1', channel: 'C1', at: 1 }, members: [member('st1', 'z'), member('st1', 'a')] },
        ]);
        await s.apply([{ members: [member('st1', 'm'), member('st1', 'z', { title: 'changed' })] }]);
        await s.apply([{ members: [member('st2', 'other')] }]);
        const members = await s.stormMembers('st1');
        expect(members.map((m) => m.alertId)).toEqual(['z', 'a', 'm']);
        expect(members[0]).toEqual(member('st1', 'z'));
        await s.apply([
          {
            memberStatus: [
              { stormId: 'st1', alertId: 'a', status: 'closed', updatedAt: 'u2' },
              { stormId: 'st1', alertId: 'missing', status: 'closed', updatedAt: 'u2' },
            ],
          },
        ]);
        expect((await s.stormMembers('st1'))[1]).toMatchObject({ alertId: 'a', status: 'closed', updatedAt: 'u2' });
        expect((await s.stormMembers('st2')).map((m) => m.alertId)).toEqual(['other']);
        expect(await s.stormMembers('none')).toEqual([]);
      });

      it('the digest aggregate: escalated first, then by size, ties by first seen; counts, times, examples, id ranges', async () => {
        const s = await fresh();
        const at = (min: number) => `2026-11-23T10:${String(min).padStart(2, '0')}:00.000Z`;
        await s.apply([
          {
            storm: { op: 'open', id: 'st1', channel: 'C1', at: 1 },
            members: [
              member('st1', '1', { groupKey: 'small', groupName: 'Small', createdAt: at(1) }),
              ...['10', '11', '12', '14', '15', '20'].map((id, i) =>
                member('st1', id, {
                  groupKey: 'big',
                  groupName: i ? 'Big (renamed)' : 'Big',
                  severity: (['critical', 'high', null, 'low', 'weird', 'medium'] as const)[i] ?? null,
                  status: i === 5 ? 'closed_false_positive' : 'open',
                  title: ['Same', ' Same ', '', 'Other', 'Third', 'Fourth'][i] ?? '',
                  createdAt: at(10 - i),
                }),
              ),
              member('st1', '30', {
                groupKey: 'escalated',
                groupName: 'Escalated',
                status: 'escalated',
                createdAt: at(30),
              }),
              member('st1', 'x', { displayId: 'legacy-id', groupKey: 'tie-b', groupName: 'B', createdAt: at(2) }),
              member('st1', 'y', { groupKey: 'tie-a', groupName: 'A', createdAt: at(2) }),
            ],
          },
        ]);
        await s.apply([{ members: [member('st2', 'other', { groupKey: 'big' })] }]);
        const d = await s.stormDigest('st1', { groups: 3, examples: 3, spans: 10 });
        expect(d).toMatchObject({ total: 10, live: 9, groupCount: 5, other: { groups: 2, count: 2, live: 2 } });
        expect(d.groups.map((g) => g.key)).toEqual(['escalated', 'big', 'small']);
        expect(d.groups[1]).toEqual({
          key: 'big',
          name: 'Big',
          count: 6,
          live: 5,
          severities: { critical: 1, high: 1, medium: 1, low: 1, none: 2 },
          firstSeen: at(5),
          lastSeen: at(10),
          examples: ['Same', 'Other', 'Third'],
          spans: [
            { text: 'COT-10–COT-12', count: 3 },
            { text: 'COT-14', count: 1 },
            { text: 'COT-15', count: 1 },
            { text: 'COT-20', count: 1 },
          ],
        });
        expect(d.groups[0]).toMatchObject({ name: 'Escalated', count: 1, spans: [{ text: 'COT-30', count: 1 }] });
        // Ties by first seen, then by who came first; a group beyond the limit is counted in `other`.
        const ties = await s.stormDigest('st1', { groups: 10, examples: 1, spans: 1 });
        expect(ties.groups.map((g) => g.key)).toEqual(['escalated', 'big', 'small', 'tie-b', 'tie-a']);
        expect(ties.groups[3]?.spans).toEqual([{ text: 'legacy-id', count: 1 }]);
        expect(ties.groups[1]?.spans).toEqual([{ text: 'COT-10–COT-12', count: 3 }]); // at most `spans`
        expect(ties.other).toEqual({ groups: 0, count: 0, live: 0 });
        expect(await s.stormDigest('none', { groups: 3, examples: 3, spans: 10 })).toEqual({
          total: 0,
          live: 0,
          groupCount: 0,
          groups: [],
          other: { groups: 0, count: 0, live: 0 },
        });
      });

      it('the digest aggregate matches the in-memory reference for a mixed storm of 600', async () => {
        const s = await fresh();
        const ids = (i: number) =>
          i % 50 === 7
            ? `x-${i}a`
            : i % 61 === 3
              ? `SEC-0${i}`
              : i % 7 === 0
                ? `cot-${i}`
                : `COT-${1000 + i - (i % 9 === 0 ? 1 : 0)}`;
        const members = Array.from({ length: 600 }, (_, i) =>
          member('st1', `a${i}`, {
            displayId: ids(i),
            groupKey: i % 23 === 0 ? 'escalated' : `g${(i * 7) % 15}`,
            groupName: `Group ${(i * 7) % 15}`,
            severity: (['critical', 'high', 'medium', 'low', null] as const)[i % 5] ?? null,
            status: i % 4 === 0 ? 'closed_true_positive' : 'open',
            title: `Title ${i % 11}`,
            createdAt: `2026-11-23T10:${String(i % 60).padStart(2, '0')}:00.000Z`,
          }),
        );
        for (let i = 0; i < members.length; i += 100) await s.apply([{ members: members.slice(i, i + 100) }]);
        const limits = { groups: 12, examples: 3, spans: 25 };
        expect(await s.stormDigest('st1', limits)).toEqual(digestOf(members, limits));
      });

      it('a page of members: of one group or all but some, live first, then by severity and age; counted in all', async () => {
        const s = await fresh();
        const at = (min: number) => `2026-11-23T10:${String(min).padStart(2, '0')}:00.000Z`;
        await s.apply([
          {
            members: [
              member('st1', 'closed', { status: 'closed_false_positive', severity: 'critical', createdAt: at(1) }),
              member('st1', 'low', { severity: 'low', createdAt: at(1) }),
              member('st1', 'none', { severity: null, createdAt: at(0) }),
              member('st1', 'crit-late', { severity: 'critical', createdAt: at(9) }),
              member('st1', 'crit-early', { severity: 'critical', createdAt: at(2), groupName: 'Renamed' }),
              member('st1', 'other', { groupKey: 'det-2', groupName: 'Other' }),
              member('st1', 'esc', { groupKey: 'escalated', status: 'escalated' }),
            ],
          },
        ]);
        await s.apply([{ members: [member('st2', 'elsewhere')] }]);
        const all = await s.stormMemberPage('st1', { groupKey: 'det-1' }, { offset: 0, limit: 10 });
        expect(all).toMatchObject({ total: 5, live: 4, groupName: 'Impossible travel' });
        expect(all.members.map((m) => m.alertId)).toEqual(['crit-early', 'crit-late', 'low', 'none', 'closed']);
        const second = await s.stormMemberPage('st1', { groupKey: 'det-1' }, { offset: 2, limit: 2 });
        expect(second.members.map((m) => m.alertId)).toEqual(['low', 'none']);
        const rest = await s.stormMemberPage('st1', { exceptGroups: ['det-1', 'escalated'] }, { offset: 0, limit: 10 });
        expect(rest).toMatchObject({ total: 1, live: 1, groupName: null });
        expect(rest.members.map((m) => m.alertId)).toEqual(['other']);
        expect((await s.stormMemberPage('st1', { exceptGroups: [] }, { offset: 0, limit: 1 })).total).toBe(7);
        expect(await s.stormMemberPage('st1', { groupKey: 'nope' }, { offset: 0, limit: 10 })).toEqual({
          total: 0,
          live: 0,
          groupName: null,
          members: [],
        });
      });

      it('ids after a position page through the members in the order they were added', async () => {
        const s = await fresh();
        await s.apply([{ members: ['z', 'a', 'm'].map((id) => member('st1', id)) }]);
        await s.apply([{ members: [member('st2', 'other')] }]);
        await s.apply([{ members: [member('st1', 'b')] }]);
        const first = await s.stormIdsAfter('st1', 0, 2);
        expect(first.map((x) => x.displayId)).toEqual(['COT-z', 'COT-a']);
        const rest = await s.stormIdsAfter('st1', first[1]?.seq ?? 0, 10);
        expect(rest.map((x) => x.displayId)).toEqual(['COT-m', 'COT-b']);
        expect((rest[0]?.seq ?? 0) > (first[1]?.seq ?? 0)).toBe(true);
        expect(await s.stormIdsAfter('st1', rest[1]?.seq ?? 0, 10)).toEqual([]);
      });

      it('a member with no severity keeps null', async () => {
        const s = await fresh();
        await s.apply([{ members: [member('st1', 'a', { severity: null, groupKey: 'escalated' })] }]);
        expect((await s.stormMembers('st1'))[0]).toMatchObject({ severity: null, groupKey: 'escalated' });
      });
    });

    // ---------------------------------------------------------------------------------------------
    describe('fencing', () => {
      it('the lease token moves on takeover; claim, refresh, retry and completion under the old token are refused', async () => {
        const s = await fresh();
        await s.apply([{ ...insert('a1'), enqueue: [item('card:a1', { cardKey: 'a1' }), item('k2'), item('k3')] }]);
        const g1 = await s.tryLease('poller', 'old', 1_000);
        const old: Fence = { lease: 'poller', token: g1.token };
        const mine = await s.claimNext({ lane: 'post', owner: 'old', staleMs: 60_000, fence: old });
        expect(mine).toMatchObject({ key: 'card:a1', owner: 'old', fence: g1.token });
        expect(await s.touchClaim('card:a1', 'old', old)).toBe(true);
        await sleep(1_100); // the lease lapses …
        expect(await s.touchClaim('card:a1', 'old', old)).toBe(false); // … and with it every write under it
        const g2 = await s.tryLease('poller', 'new', 60_000); // … and changes hands
        expect(g2).toEqual({ held: true, token: g1.token + 1 });
        const next: Fence = { lease: 'poller', token: g2.token };
        // The old holder, even with the token it once had, no longer claims, refreshes, retries or completes.
        expect(await s.claimNext({ lane: 'post', owner: 'old', staleMs: 60_000, fence: old })).toBeNull();
        expect(await s.touchClaim('card:a1', 'old', old)).toBe(false);
        expect(await s.retryOutbox('card:a1', 'old', old, 0, false)).toBe(false);
        const posted: Change = {
          card: { op: 'update', alertId: 'a1', expectVersion: 1, set: { state: 'posted', ts: '9.9' } },
        };
        expect(await s.completeOutbox('card:a1', 'old', old, mine?.rev ?? 0, [posted])).toBe(false);
        expect(await s.get('a1')).toMatchObject({ state: 'queued', version: 1 }); // nothing applied
        // Nor does the new holder under a token it does not hold, nor another owner under its token.
        expect(await s.claimNext({ lane: 'post', owner: 'new', staleMs: 60_000, fence: old })).toBeNull();
        expect(await s.claimNext({ lane: 'post', owner: 'intruder', staleMs: 60_000, fence: next })).toBeNull();
        // The old claim is not stale (a minute): the new holder takes what is pending.
        const k2 = await s.claimNext({ lane: 'post', owner: 'new', staleMs: 60_000, fence: next });
        expect(k2).toMatchObject({ key: 'k2', fence: next.token, unknown: false });
        expect(await s.touchClaim('k2', 'new', next)).toBe(true);
        expect(await s.completeOutbox('k2', 'new', next, k2?.rev ?? 0)).toBe(true);
        // Once stale, the old holder's item comes back unknown under the new token.
        const taken = await s.claimNext({ lane: 'post', owner: 'new', staleMs: 100, fence: next });
        expect(taken).toMatchObject({ key: 'card:a1', owner: 'new', fence: next.token, unknown: true });
        expect(await s.completeOutbox('card:a1', 'old', old, taken?.rev ?? 0)).toBe(false);
        expect(await s.completeOutbox('card:a1', 'new', next, taken?.rev ?? 0, [posted])).toBe(true);
        expect(await s.get('a1')).toMatchObject({ state: 'posted', ts: '9.9' });
        // The same owner that takes the lease again after it lapsed gets a new token: its older work is refused.
        const k3 = await s.claimNext({ lane: 'post', owner: 'new', staleMs: 60_000, fence: next });
        await s.releaseLease('poller', 'new');
        const g3 = await s.tryLease('poller', 'new', 60_000);
        expect(g3.token).toBe(next.token + 1);
        expect(await s.touchClaim('k3', 'new', next)).toBe(false);
        expect(await s.retryOutbox('k3', 'new', { lease: 'poller', token: g3.token }, 0, false)).toBe(false);
        expect(k3?.key).toBe('k3');
      });

      it('touchClaim refreshes the claim: a refreshed claim is not stale', async () => {
        const s = await fresh();
        await s.apply([{ enqueue: [item('k')] }]);
        const first = await claim(s, 'a');
        await sleep(600);
        expect(await s.touchClaim('k', 'a', await fenceOf(s, 'a'))).toBe(true);
        const [after] = await s.listOutbox();
        expect(after?.claimedAt).toBeGreaterThanOrEqual((first?.claimedAt ?? 0) + 550);
        // Older than 500 ms since the claim, but not since the refresh.
        expect(await claim(s, 'b', { staleMs: 500 })).toBeNull();
        expect(await s.touchClaim('k', 'b', await fenceOf(s, 'b'))).toBe(false); // not b's
        await sleep(600);
        expect(await claim(s, 'b', { staleMs: 500 })).toMatchObject({ key: 'k', owner: 'b', unknown: true });
        expect(await s.touchClaim('k', 'a', await fenceOf(s, 'a'))).toBe(false); // a lost it
      });

      it('ownership is judged by the database clock: two instances whose clocks are minutes apart agree', async () => {
        const a = await fresh();
        const ahead = await open({ clock: () => now + 120_000, sameDatabaseAs: a });
        opened.push(ahead);
        const behind = await open({ clock: () => now - 120_000, sameDatabaseAs: a });
        opened.push(behind);
        await a.apply([{ enqueue: [item('k')] }]);
        // A lease taken by the one behind is not expired for the one ahead.
        expect((await behind.tryLease('poller', 'behind', 60_000)).held).toBe(true);
        expect((await ahead.tryLease('poller', 'ahead', 60_000)).held).toBe(false);
        const fb: Fence = { lease: 'poller', token: (await behind.tryLease('poller', 'behind', 60_000)).token };
        expect(await behind.claimNext({ lane: 'post', owner: 'behind', staleMs: 60_000, fence: fb })).toMatchObject({
          key: 'k',
        });
        // The claim is fresh for everyone, whatever their clock says.
        const fa = { lease: 'other', token: (await ahead.tryLease('other', 'ahead', 60_000)).token };
        expect(await ahead.claimNext({ lane: 'post', owner: 'ahead', staleMs: 60_000, fence: fa })).toBeNull();
        expect(await ahead.touchClaim('k', 'ahead', fa)).toBe(false);
        expect(await behind.touchClaim('k', 'behind', fb)).toBe(true);
        // An item held a minute from the database's now is not due for either.
        await behind.apply([{ enqueue: [item('later')] }]);
        expect(await behind.retryOutbox('k', 'behind', fb, 60_000, false)).toBe(true);
        expect(await ahead.claimNext({ lane: 'post', owner: 'ahead', staleMs: 60_000, fence: fa })).toMatchObject({
          key: 'later',
        });
        expect(await ahead.claimNext({ lane: 'post', owner: 'ahead', staleMs: 60_000, fence: fa })).toBeNull();
        // Action claims likewise.
        expect(await behind.claimAction('a1', 'click-behind', 30_000)).toBe(true);
        expect(await ahead.claimAction('a1', 'click-ahead', 30_000)).toBe(false);
      });

      it('one open storm per channel: a second opening conflicts and rolls its change back', async () => {
        const s = await fresh();
        const open1: Change = {
          storm: { op: 'open', id: 'st1', channel: 'C1', at: 1_000 },
          enqueue: [item('digest:st1', { kind: 'digest' })],
        };
        const open2: Change = {
          ...insert('a1'),
          storm: { op: 'open', id: 'st2', channel: 'C1', at: 2_000 },
          enqueue: [item('digest:st2', { kind: 'digest' })],
        };
        expect(await s.apply([open1])).toEqual({ applied: 1, conflicts: 0 });
        expect(await s.apply([open2])).toEqual({ applied: 0, conflicts: 1 });
        expect(await s.getStorm('st2')).toBeNull();
        expect(await s.get('a1')).toBeNull(); // the rest of the change went back with it
        expect((await s.listOutbox()).map((i) => i.key)).toEqual(['digest:st1']);
        expect(await s.apply([open1])).toEqual({ applied: 1, conflicts: 0 }); // the same storm again: a no-op
        // Another channel has its own; once the first ends, the channel may open a new one.
        expect(await s.apply([{ storm: { op: 'open', id: 'st3', channel: 'C2', at: 2_000 } }])).toEqual({
          applied: 1,
          conflicts: 0,
        });
        await s.apply([{ storm: { op: 'end', id: 'st1', at: 3_000 } }]);
        expect(await s.apply([open2])).toEqual({ applied: 1, conflicts: 0 });
        expect((await s.activeStorms()).map((x) => x.id).sort()).toEqual(['st2', 'st3']);
      });

      it('two instances opening a storm in one channel at once: one wins', async () => {
        const a = await fresh();
        const b = await twin(a);
        const opening = (id: string): Change => ({
          storm: { op: 'open', id, channel: 'C1', at: 1_000 },
          enqueue: [item(`digest:${id}`, { kind: 'digest' })],
        });
        const res = await Promise.all([a.apply([opening('sa')]), b.apply([opening('sb')])]);
        expect(res.map((r) => r.applied).sort()).toEqual([0, 1]);
        expect(await a.activeStorms()).toHaveLength(1);
        expect(await a.listOutbox()).toHaveLength(1);
      });
    });

    // ---------------------------------------------------------------------------------------------
    describe('leases, action claims, first-time keys', () => {
      it('a lease is exclusive until it expires (database clock); the owner renews and releases it', async () => {
        const s = await fresh();
        const a1 = await s.tryLease('poller', 'a', 60_000);
        expect(a1).toEqual({ held: true, token: 1 });
        expect(await s.tryLease('poller', 'b', 60_000)).toEqual({ held: false, token: 1 });
        expect(await s.tryLease('other', 'b', 60_000)).toEqual({ held: true, token: 1 });
        expect(await s.tryLease('poller', 'a', 60_000)).toEqual({ held: true, token: 1 }); // renewed: same token
        expect(await s.tryLease('poller', 'b', 60_000)).toEqual({ held: false, token: 1 });
        await s.releaseLease('poller', 'b'); // not the owner: no effect
        expect(await s.tryLease('poller', 'b', 60_000)).toEqual({ held: false, token: 1 });
        await s.releaseLease('poller', 'a');
        expect(await s.tryLease('poller', 'b', 60_000)).toEqual({ held: true, token: 2 }); // changed hands
        expect(await s.tryLease('poller', 'a', 60_000)).toEqual({ held: false, token: 2 });
        // An expired lease is taken over, and the token moves on; a released one never goes back.
        expect(await s.tryLease('poller', 'b', 1)).toEqual({ held: true, token: 2 });
        await sleep(15);
        expect(await s.tryLease('poller', 'a', 60_000)).toEqual({ held: true, token: 3 });
        await s.releaseLease('poller', 'a');
        expect(await s.tryLease('poller', 'a', 60_000)).toEqual({ held: true, token: 4 }); // taken again
      });

      it('an action claim admits one change of an alert at a time, until released or expired', async () => {
        const s = await fresh();
        expect(await s.claimAction('a1', 'click-1', 30_000)).toBe(true);
        expect(await s.claimAction('a1', 'click-2', 30_000)).toBe(false);
        expect(await s.claimAction('a2', 'click-3', 30_000)).toBe(true);
        await s.releaseAction('a1', 'click-2'); // not the owner: no effect
        expect(await s.claimAction('a1', 'click-4', 30_000)).toBe(false);
        await s.releaseAction('a1', 'click-1');
        expect(await s.claimAction('a1', 'click-5', 30_000)).toBe(true);
        await sleep(25);
        expect(await s.claimAction('a1', 'click-6', 30_000)).toBe(false); // younger than its ttl
        expect(await s.claimAction('a1', 'click-6', 10)).toBe(true); // older than 10 ms: click-5 presumed gone
      });

      it('firstTime is true once per key within its ttl', async () => {
        const s = await fresh();
        expect(await s.firstTime('interaction:U1:123.456', 1_000, 60_000)).toBe(true);
        expect(await s.firstTime('interaction:U1:123.456', 2_000, 60_000)).toBe(false);
        expect(await s.firstTime('interaction:U1:999.000', 2_000, 60_000)).toBe(true);
        expect(await s.firstTime('interaction:U1:123.456', 61_000, 60_000)).toBe(false); // expires at 61 000
        expect(await s.firstTime('interaction:U1:123.456', 70_000, 60_000)).toBe(true);
        expect(await s.firstTime('interaction:U1:123.456', 70_001, 60_000)).toBe(false);
      });

      it('firstTime keeps working past its pruning of old keys', async () => {
        const s = await fresh();
        for (let k = 0; k < 520; k++) expect(await s.firstTime(`k${k}`, k, 10)).toBe(true);
        expect(await s.firstTime('k519', 520, 10)).toBe(false);
        expect(await s.firstTime('k0', 520, 10)).toBe(true);
      });

      it('forgetFirstTime lets the same key be first again', async () => {
        const s = await fresh();
        expect(await s.firstTime('thread-reply:C1:1.2', 1_000, 60_000)).toBe(true);
        expect(await s.firstTime('thread-reply:C1:1.2', 1_001, 60_000)).toBe(false);
        await s.forgetFirstTime('thread-reply:C1:1.2');
        await s.forgetFirstTime('never-seen');
        expect(await s.firstTime('thread-reply:C1:1.2', 1_002, 60_000)).toBe(true);
        expect(await s.firstTime('thread-reply:C1:1.2', 1_003, 60_000)).toBe(false);
      });

      const request = (id: string, over: Partial<NewCloseRequest> = {}): NewCloseRequest => ({
        id,
        alertId: 'a1',
        displayId: 'COT-1',
        status: 'closed_false_positive',
        words: 'scanner',
        requester: { id: 'U1', name: 'Jane Doe' },
        basis: '{"status":"open"}',
        channel: 'C1',
        threadTs: '1.1',
        createdAt: 1_000,
        expiresAt: 100_000,
        ...over,
      });

      it('close requests: one pending per alert, read back whole, ts saved', async () => {
        const s = await fresh();
        expect(await s.addCloseRequest(request('r1'), 1_000)).toBe(true);
        expect(await s.addCloseRequest(request('r2', { requester: { id: 'U2', name: 'Sam' } }), 1_001)).toBe(false);
        expect(await s.addCloseRequest(request('r3', { alertId: 'a2' }), 1_001)).toBe(true);
        await s.setCloseRequestTs('r1', '1.5');
        expect(await s.getCloseRequest('r1')).toEqual({
          ...request('r1'),
          ts: '1.5',
          state: 'pending',
          decidedBy: null,
          decidedAt: null,
          outcome: null,
        });
        expect((await s.pendingCloseRequest('a1'))?.id).toBe('r1');
        expect(await s.getCloseRequest('r2')).toBeNull();
        expect(await s.pendingCloseRequest('a9')).toBeNull();
      });

      it('close requests: compare-and-set moves, one winner; a decided one frees the alert', async () => {
        const s = await fresh();
        await s.addCloseRequest(request('r1'), 1_000);
        const sam = { id: 'U2', name: 'Sam Roe' };
        const ana = { id: 'U3', name: 'Ana' };
        const moves = await Promise.all([
          s.moveCloseRequest('r1', 'pending', 'approved', { by: sam, at: 2_000 }),
          s.moveCloseRequest('r1', 'pending', 'approved', { by: ana, at: 2_001 }),
        ]);
        expect(moves.filter(Boolean)).toHaveLength(1);
        expect(await s.getCloseRequest('r1')).toMatchObject({ state: 'approved', decidedAt: expect.any(Number) });
        expect(await s.moveCloseRequest('r1', 'pending', 'rejected', { by: ana, at: 2_002 })).toBe(false);
        // A failure that surely changed nothing hands it back, without a decider.
        expect(await s.moveCloseRequest('r1', 'approved', 'pending', { by: null, at: null })).toBe(true);
        expect(await s.getCloseRequest('r1')).toMatchObject({ state: 'pending', decidedBy: null, decidedAt: null });
        expect(await s.moveCloseRequest('r1', 'pending', 'rejected', { by: ana, at: 3_000, outcome: 'no' })).toBe(true);
        expect(await s.getCloseRequest('r1')).toMatchObject({
          state: 'rejected',
          decidedBy: ana,
          decidedAt: 3_000,
          outcome: 'no',
        });
        expect(await s.pendingCloseRequest('a1')).toBeNull();
        expect(await s.addCloseRequest(request('r2'), 3_001)).toBe(true);
      });

      it('close requests: an expired pending one does not block a new request, and is marked expired', async () => {
        const s = await fresh();
        await s.addCloseRequest(request('r1', { expiresAt: 5_000 }), 1_000);
        expect(await s.addCloseRequest(request('r2'), 4_999)).toBe(false);
        expect(await s.addCloseRequest(request('r2'), 5_000)).toBe(true);
        expect(await s.getCloseRequest('r1')).toMatchObject({ state: 'expired', decidedAt: 5_000 });
        expect((await s.pendingCloseRequest('a1'))?.id).toBe('r2');
      });

      it('close requests: recorded with their message item in one change; a pending one conflicts, and nothing is queued', async () => {
        const s = await fresh();
        const msg = (id: string) => item(`close_request:${id}`, { kind: 'close_request', cardKey: 'a1' });
        expect(await s.apply([{ closeRequest: request('r1', { expiresAt: 5_000 }), enqueue: [msg('r1')] }])).toEqual({
          applied: 1,
          conflicts: 0,
        });
        expect((await s.pendingCloseRequest('a1'))?.id).toBe('r1');
        expect(await s.apply([{ closeRequest: request('r2', { createdAt: 4_999 }), enqueue: [msg('r2')] }])).toEqual({
          applied: 0,
          conflicts: 1,
        });
        expect(await s.getCloseRequest('r2')).toBeNull();
        expect((await s.listOutbox()).map((i) => i.key)).toEqual(['close_request:r1']);
        // Past its expiry the old one is marked expired and the new one recorded, with its item.
        expect(await s.apply([{ closeRequest: request('r2', { createdAt: 5_000 }), enqueue: [msg('r2')] }])).toEqual({
          applied: 1,
          conflicts: 0,
        });
        expect(await s.getCloseRequest('r1')).toMatchObject({ state: 'expired', decidedAt: 5_000 });
        expect((await s.listOutbox()).map((i) => i.key).sort()).toEqual(['close_request:r1', 'close_request:r2']);
        // The ts is saved as the item completes.
        const c = await claim(s);
        expect(c?.key).toBe('close_request:r1');
        expect(
          await complete(s, 'close_request:r1', 'p1', c?.rev ?? 0, [{ closeRequestTs: { id: 'r1', ts: '9.9' } }]),
        ).toBe(true);
        expect((await s.getCloseRequest('r1'))?.ts).toBe('9.9');
      });

      it('settle: replaces a pending intent (due at once), leaves one being sent alone, inserts one to look up when absent', async () => {
        const s = await fresh();
        const intent = (key: string) => item(key, { kind: 'reply', payload: '{"intent":1}', notBefore: 500_000 });
        const note = (key: string) => item(key, { kind: 'reply', payload: '{"view":1}', notBefore: 0 });
        await s.apply([{ enqueue: [intent('i-pending'), intent('i-claimed')] }]);
        now = 600_000;
        const taken = await claim(s);
        expect(['i-pending', 'i-claimed']).toContain(taken?.key);
        const claimedKey = taken?.key as string;
        const pendingKey = claimedKey === 'i-pending' ? 'i-claimed' : 'i-pending';
        // Hand the other one back to its grace, so it is pending and not due.
        expect(await s.apply([{ enqueue: [intent(pendingKey)] }])).toEqual({ applied: 1, conflicts: 0 });
        const before = (await s.listOutbox()).find((i) => i.key === pendingKey);
        expect(await s.apply([{ settle: [note(pendingKey), note(claimedKey), note('i-absent')] }])).toEqual({
          applied: 1,
          conflicts: 0,
        });
        const after = new Map((await s.listOutbox()).map((i) => [i.key, i]));
        expect(after.get(pendingKey)).toMatchObject({
          payload: '{"view":1}',
          notBefore: 0,
          state: 'pending',
          unknown: false,
          rev: (before?.rev ?? 0) + 1,
        });
        expect(after.get(claimedKey)).toMatchObject({ payload: '{"intent":1}', state: 'claimed', rev: taken?.rev });
        expect(after.get('i-absent')).toMatchObject({ payload: '{"view":1}', notBefore: 0, unknown: true });
      });

      it('ping answers', async () => {
        const s = await fresh();
        await expect(s.ping()).resolves.toBeUndefined();
      });
    });

    // ---------------------------------------------------------------------------------------------
    describe('the next move: questions, mutes, war rooms, reminders', () => {
      const jane = { id: 'U1', name: 'Jane Doe' };
      const sam = { id: 'U2', name: 'Sam Roe' };
      const question = (id: string, over: Partial<NewQuestion> = {}): NewQuestion => ({
        id,
        alertId: 'a1',
        displayId: 'COT-1',
        channel: 'C1',
        threadTs: '1.1',
        askedBy: jane,
        askedUserId: 'U9',
        askedAt: 1_000,
        deadline: 1_000 + 30 * 60_000,
        ...over,
      });
      const mute = (id: string, over: Partial<NewMute> = {}): NewMute => ({
        id,
        channel: 'C1',
        detectionKey: 'det-1',
        detectionName: 'Impossible travel',
        by: jane,
        reason: 'scanner noise',
        createdAt: 1_000,
        until: 1_000 + 4 * 3_600_000,
        sourceAlertId: 'a1',
        ...over,
      });
      const room = (alertId: string, over: Partial<WarRoom> = {}): WarRoom => ({
        alertId,
        channel: `CINC${alertId}`,
        name: `inc-cot-${alertId}`,
        by: jane,
        at: 2_000,
        ...over,
      });
      const ask = (q: NewQuestion, key = `dm:${q.id}`): Change => ({
        question: { op: 'ask', q },
        enqueue: [item(key, { kind: 'reply', cardKey: q.alertId })],
      });
      const answer = (id: string, userId: string, a: 'yes' | 'no' = 'yes', at = 5_000): Change => ({
        question: { op: 'answer', id, userId, answer: a, note: a === 'no' ? 'not me' : null, at },
        enqueue: [item(`answer:${id}:${userId}:${at}`, { kind: 'thread_note', cardKey: 'a1' })],
      });
      const keys = async (s: Store) => (await s.listOutbox()).map((i) => i.key).sort();
      const ONE = { applied: 1, conflicts: 0 };
      const CONFLICT = { applied: 0, conflicts: 1 };

      it('questions: asked with their DM item, read back whole; one unanswered per alert and person; an id once', async () => {
        const s = await fresh();
        expect(await s.apply([ask(question('q1'))])).toEqual(ONE);
        expect(await s.getQuestion('q1')).toEqual({
          ...question('q1'),
          state: 'asked',
          note: null,
          answeredAt: null,
          dmChannel: null,
          dmTs: null,
        });
        // The same person asked again about the same alert while unanswered: nothing recorded, nothing queued.
        expect(await s.apply([ask(question('q2'))])).toEqual(CONFLICT);
        expect(await s.getQuestion('q2')).toBeNull();
        // The same id again (a redelivered submit), even for someone else: the same.
        expect(await s.apply([ask(question('q1', { askedUserId: 'U8' }), 'dm:q1-again')])).toEqual(CONFLICT);
        expect(await keys(s)).toEqual(['dm:q1']);
        // Another person, or another alert: fine.
        expect(await s.apply([ask(question('q3', { askedUserId: 'U8', askedAt: 2_000 }))])).toEqual(ONE);
        expect(await s.apply([ask(question('q4', { alertId: 'a2', displayId: 'COT-2' }))])).toEqual(ONE);
        // The DM is saved as its item completes.
        expect(await s.apply([{ question: { op: 'dm', id: 'q1', channel: 'D9', ts: '7.7' } }])).toEqual(ONE);
        expect(await s.getQuestion('q1')).toMatchObject({ dmChannel: 'D9', dmTs: '7.7' });
        // Newest first.
        expect((await s.questionsOf('a1')).map((q) => q.id)).toEqual(['q3', 'q1']);
        expect(await s.questionsOf('a9')).toEqual([]);
        expect(await s.getQuestion('nope')).toBeNull();
        // Answered, the person may be asked again.
        expect(await s.apply([answer('q1', 'U9')])).toEqual(ONE);
        expect(await s.apply([ask(question('q5', { askedAt: 9_000 }))])).toEqual(ONE);
        expect((await s.questionsOf('a1')).map((q) => [q.id, q.state])).toEqual([
          ['q5', 'asked'],
          ['q3', 'asked'],
          ['q1', 'yes'],
        ]);
      });

      it('questions: answered once, only by the person asked; a timeout only while unanswered', async () => {
        const s = await fresh();
        await s.apply([ask(question('q1')), ask(question('q2', { askedUserId: 'U8' }))]);
        // Someone else answering: refused, and the answer's note is not queued.
        expect(await s.apply([answer('q1', 'U1')])).toEqual(CONFLICT);
        expect(await s.getQuestion('q1')).toMatchObject({ state: 'asked', note: null, answeredAt: null });
        expect(await s.apply([answer('q1', 'U9', 'no', 6_000)])).toEqual(ONE);
        expect(await s.getQuestion('q1')).toMatchObject({ state: 'no', note: 'not me', answeredAt: 6_000 });
        // A second answer (double submit, redelivery, the other button): refused, the first kept.
        expect(await s.apply([answer('q1', 'U9', 'yes', 6_500)])).toEqual(CONFLICT);
        expect(await s.apply([{ question: { op: 'timeout', id: 'q1', at: 9_000 } }])).toEqual(CONFLICT);
        expect(await s.getQuestion('q1')).toMatchObject({ state: 'no', answeredAt: 6_000 });
        // Timed out: no answer after it, and no second timeout.
        const timeout: Change = {
          question: { op: 'timeout', id: 'q2', at: 9_000 },
          enqueue: [item('timeout:q2', { kind: 'thread_note', cardKey: 'a1' })],
        };
        expect(await s.apply([timeout])).toEqual(ONE);
        expect(await s.apply([{ ...timeout, enqueue: [item('timeout:q2:again')] }])).toEqual(CONFLICT);
        expect(await s.apply([answer('q2', 'U8')])).toEqual(CONFLICT);
        expect(await s.getQuestion('q2')).toMatchObject({ state: 'timed_out', answeredAt: 9_000, note: null });
        expect(await s.apply([{ question: { op: 'timeout', id: 'missing', at: 1 } }])).toEqual(CONFLICT);
        expect(await keys(s)).toEqual(['answer:q1:U9:6000', 'dm:q1', 'dm:q2', 'timeout:q2']);
      });

      it('questions due: unanswered with a deadline passed on the database clock, the oldest first', async () => {
        const s = await fresh();
        const db = Date.now(); // the database's clock (the store's own clock stays at 1_000)
        await s.apply([
          ask(question('late', { askedUserId: 'U1', deadline: db - 60_000 })),
          ask(question('later', { askedUserId: 'U2', deadline: db - 120_000 })),
          ask(question('answered', { askedUserId: 'U3', deadline: db - 180_000 })),
          ask(question('waiting', { askedUserId: 'U4', deadline: db + 600_000 })),
        ]);
        await s.apply([answer('answered', 'U3')]);
        expect((await s.dueQuestions(10)).map((q) => q.id)).toEqual(['later', 'late']);
        expect((await s.dueQuestions(1)).map((q) => q.id)).toEqual(['later']);
        await s.apply([{ question: { op: 'timeout', id: 'later', at: db } }]);
        expect((await s.dueQuestions(10)).map((q) => q.id)).toEqual(['late']);
      });

      it('mutes: one not ended per channel and detection, created with its notice; ended once', async () => {
        const s = await fresh();
        const create = (m: NewMute, key = `mute:${m.id}`): Change => ({
          mute: { op: 'create', m },
          enqueue: [item(key, { kind: 'thread_note' })],
        });
        expect(await s.apply([create(mute('m1'))])).toEqual(ONE);
        expect(await s.getMute('m1')).toEqual({
          ...mute('m1'),
          endedAt: null,
          endedBy: null,
          muted: 0,
          escalated: 0,
          ts: null,
        });
        // Muted already (another analyst, another replica): nothing recorded, nothing announced.
        expect(await s.apply([create(mute('m2', { by: sam }))])).toEqual(CONFLICT);
        expect(await s.apply([create(mute('m1', { channel: 'C2' }), 'mute:m1:again')])).toEqual(CONFLICT);
        expect(await s.getMute('m2')).toBeNull();
        expect(await keys(s)).toEqual(['mute:m1']);
        // The same detection in another channel, another detection in the same channel: fine.
        expect(await s.apply([create(mute('m3', { channel: 'C2', createdAt: 1_100 }))])).toEqual(ONE);
        expect(await s.apply([create(mute('m4', { detectionKey: 'det-2', createdAt: 1_200 }))])).toEqual(ONE);
        expect((await s.activeMutes()).map((m) => m.id)).toEqual(['m1', 'm3', 'm4']);
        await s.apply([{ mute: { op: 'posted', id: 'm1', ts: '8.8' } }]);
        expect((await s.getMute('m1'))?.ts).toBe('8.8');
        // Unmuted by Sam, once; a second end (the expiry job, another click) conflicts and announces nothing.
        const end: Change = {
          mute: { op: 'end', id: 'm1', at: 5_000, by: sam },
          enqueue: [item('mute_end:m1', { kind: 'thread_note' })],
        };
        expect(await s.apply([end])).toEqual(ONE);
        expect(await s.apply([{ ...end, mute: { op: 'end', id: 'm1', at: 6_000, by: null } }])).toEqual(CONFLICT);
        expect(await s.getMute('m1')).toMatchObject({ endedAt: 5_000, endedBy: sam });
        expect(await s.apply([{ mute: { op: 'end', id: 'missing', at: 1, by: null } }])).toEqual(CONFLICT);
        expect((await s.activeMutes()).map((m) => m.id)).toEqual(['m3', 'm4']);
        // Ended, the detection may be muted again; an expiry records no one.
        expect(await s.apply([create(mute('m5', { createdAt: 7_000 }))])).toEqual(ONE);
        expect(await s.apply([{ mute: { op: 'end', id: 'm4', at: 8_000, by: null } }])).toEqual(ONE);
        expect(await s.getMute('m4')).toMatchObject({ endedAt: 8_000, endedBy: null });
      });

      it('mute ends due on the database clock: not ended, until passed, the earliest first', async () => {
        const s = await fresh();
        const db = Date.now();
        await s.apply([
          { mute: { op: 'create', m: mute('past', { detectionKey: 'd1', until: db - 1_000 }) } },
          { mute: { op: 'create', m: mute('long-past', { detectionKey: 'd2', until: db - 60_000 }) } },
          { mute: { op: 'create', m: mute('ended', { detectionKey: 'd3', until: db - 120_000 }) } },
          { mute: { op: 'create', m: mute('running', { detectionKey: 'd4', until: db + 600_000 }) } },
        ]);
        await s.apply([{ mute: { op: 'end', id: 'ended', at: 2_000, by: jane } }]);
        expect((await s.dueMuteEnds(10)).map((m) => m.id)).toEqual(['long-past', 'past']);
        expect((await s.dueMuteEnds(1)).map((m) => m.id)).toEqual(['long-past']);
        // Listed while not ended, due or not: the caller decides by time.
        expect((await s.activeMutes()).map((m) => m.id).sort()).toEqual(['long-past', 'past', 'running']);
      });

      it('mute counting: each alert once, with its record and nothing else; never into an ended or unknown mute', async () => {
        const s = await fresh();
        await s.apply([{ mute: { op: 'create', m: mute('m1') } }]);
        const counted = (alertId: string, muteId = 'm1'): Change => ({
          ...insert(alertId, { state: 'muted', muteId }),
          mute: { op: 'count', id: muteId, alertId, displayId: `COT-${alertId}` },
          enqueue: [item(`mute_ids:${muteId}`, { kind: 'digest_ids', cardKey: null })],
        });
        expect(await s.apply([counted('a1'), counted('a2')])).toEqual({ applied: 2, conflicts: 0 });
        expect(await s.get('a1')).toMatchObject({ state: 'muted', muteId: 'm1', channel: 'C1' });
        expect(await s.getMute('m1')).toMatchObject({ muted: 2, escalated: 0 });
        // Counted again (two pollers, a replay): the member is there already, so the change conflicts.
        const again: Change = {
          mute: { op: 'count', id: 'm1', alertId: 'a1', displayId: 'COT-a1' },
          enqueue: [item('mute_ids:m1:again')],
        };
        expect(await s.apply([again])).toEqual(CONFLICT);
        expect(await s.getMute('m1')).toMatchObject({ muted: 2 });
        expect(await keys(s)).toEqual(['mute_ids:m1']);
        // A member escalated: counted once, whatever the repeats; an alert not counted changes nothing.
        for (let k = 0; k < 3; k++) {
          expect(await s.apply([{ mute: { op: 'escalated', id: 'm1', alertId: 'a2' } }])).toEqual(ONE);
        }
        expect(await s.apply([{ mute: { op: 'escalated', id: 'm1', alertId: 'not-counted' } }])).toEqual(ONE);
        expect(await s.getMute('m1')).toMatchObject({ muted: 2, escalated: 1 });
        // Ended (an Unmute won the race) or unknown: the count conflicts and the alert's record is not made.
        await s.apply([{ mute: { op: 'end', id: 'm1', at: 5_000, by: sam } }]);
        expect(await s.apply([counted('a3')])).toEqual(CONFLICT);
        expect(await s.apply([counted('a4', 'no-such-mute')])).toEqual(CONFLICT);
        expect(await s.get('a3')).toBeNull();
        expect(await s.get('a4')).toBeNull();
        expect(await s.getMute('m1')).toMatchObject({ muted: 2, escalated: 1 });
        expect(await s.muteMembersAfter('m1', null, 10)).toEqual([
          { alertId: 'a1', displayId: 'COT-a1' },
          { alertId: 'a2', displayId: 'COT-a2' },
        ]);
      });

      it('mute members page in a stable order (numbered ids of a prefix by number), every id once', async () => {
        const s = await fresh();
        await s.apply([{ mute: { op: 'create', m: mute('m1') } }]);
        const ids = [...Array.from({ length: 23 }, (_, k) => `COT-${23 - k}`), 'A-100', 'COT-1042', 'ZZ-1', 'X'];
        await s.apply(
          ids.map((displayId) => ({ mute: { op: 'count', id: 'm1', alertId: `id-${displayId}`, displayId } })),
        );
        expect(await s.getMute('m1')).toMatchObject({ muted: ids.length });
        const first = await s.muteMembersAfter('m1', null, 12);
        expect(first.map((m) => m.displayId)).toEqual([
          'X',
          'ZZ-1',
          'A-100', // as long as COT-1, and before it bytewise
          'COT-1',
          'COT-2',
          'COT-3',
          'COT-4',
          'COT-5',
          'COT-6',
          'COT-7',
          'COT-8',
          'COT-9',
        ]);
        expect(first[0]).toEqual({ alertId: 'id-X', displayId: 'X' });
        const seen: string[] = [];
        let after: string | null = null;
        for (;;) {
          const page: { alertId: string; displayId: string }[] = await s.muteMembersAfter('m1', after, 5);
          seen.push(...page.map((m) => m.displayId));
          if (page.length < 5) break;
          after = page[page.length - 1]?.displayId ?? null;
        }
        expect(seen).toHaveLength(ids.length);
        expect(new Set(seen)).toEqual(new Set(ids));
        expect(seen.slice(-3)).toEqual(['COT-22', 'COT-23', 'COT-1042']);
        expect(await s.muteMembersAfter('other', null, 10)).toEqual([]);
      });

      it('war rooms: one per alert, ever; the second opening conflicts and queues nothing', async () => {
        const s = await fresh();
        const open = (w: WarRoom): Change => ({
          warRoom: w,
          enqueue: [item(`war_room:${w.alertId}:${w.channel}`, { kind: 'thread_note', cardKey: w.alertId })],
        });
        expect(await s.apply([open(room('a1'))])).toEqual(ONE);
        expect(await s.getWarRoom('a1')).toEqual(room('a1'));
        expect(await s.apply([open(room('a1', { channel: 'COTHER', by: sam }))])).toEqual(CONFLICT);
        expect(await s.getWarRoom('a1')).toEqual(room('a1'));
        expect(await keys(s)).toEqual(['war_room:a1:CINCa1']);
        expect(await s.getWarRoom('a2')).toBeNull();
      });

      it('war rooms of a page of alerts: those that have one, by alert id', async () => {
        const s = await fresh();
        await s.apply([{ warRoom: room('a1') }, { warRoom: room('a3', { by: sam }) }]);
        const found = await s.warRoomsOf(['a1', 'a2', 'a3', 'a4']);
        expect([...found.keys()].sort()).toEqual(['a1', 'a3']);
        expect(found.get('a3')).toEqual(room('a3', { by: sam }));
        expect((await s.warRoomsOf([])).size).toBe(0);
        // More ids than one statement takes.
        const many = Array.from({ length: 1_200 }, (_, i) => `x${i}`);
        await s.apply(many.filter((_, i) => i % 400 === 399).map((id) => ({ warRoom: room(id) })));
        expect([...(await s.warRoomsOf(many)).keys()].sort()).toEqual(['x1199', 'x399', 'x799']);
      });

      it('a war room is claimed with the action claims, under a key of its own: apart from status changes', async () => {
        const a = await fresh();
        const b = await twin(a);
        expect(await a.claimAction('a1', 'p1', 60_000)).toBe(true); // a status change in flight
        const claims = await Promise.all([
          a.claimAction('war_room:a1', 'p1', 60_000),
          b.claimAction('war_room:a1', 'p2', 60_000),
        ]);
        expect(claims.filter(Boolean)).toHaveLength(1);
        await a.releaseAction('war_room:a1', claims[0] ? 'p1' : 'p2');
        expect(await b.claimAction('war_room:a1', 'p2', 60_000)).toBe(true);
      });

      it('reminders: each number once, in order, with its item; the card version does not move', async () => {
        const s = await fresh();
        await posted(s, 'a1', '1.1');
        const v = (await s.get('a1'))?.version;
        const remind = (n: number): Change => ({
          reminder: { cardKey: 'a1', n },
          enqueue: [item(`reminder:a1:${n}`, { kind: 'thread_note', cardKey: 'a1' })],
        });
        expect(await s.apply([remind(2)])).toEqual(CONFLICT); // not before the first
        expect(await s.apply([remind(1)])).toEqual(ONE);
        expect(await s.apply([remind(1)])).toEqual(CONFLICT);
        expect(await s.get('a1')).toMatchObject({ remindersSent: 1, version: v });
        expect(await s.apply([remind(2)])).toEqual(ONE);
        expect(await s.apply([remind(2)])).toEqual(CONFLICT);
        expect(await s.apply([{ reminder: { cardKey: 'missing', n: 1 } }])).toEqual(CONFLICT);
        expect(await s.get('a1')).toMatchObject({ remindersSent: 2, version: v });
        expect(await keys(s)).toEqual(['reminder:a1:1', 'reminder:a1:2']);
      });

      it('a card is inserted muted, owned and reminded through patches; cleared back to null', async () => {
        const s = await fresh();
        await s.apply([insert('a1', { state: 'muted', muteId: 'm1' }), insert('a2')]);
        expect(await s.get('a1')).toMatchObject({ state: 'muted', muteId: 'm1', owner: null, remindersSent: 0 });
        expect(await s.get('a2')).toMatchObject({ muteId: null });
        // It broke through: a card now, still naming its mute; taken by Jane.
        expect(
          await s.apply([
            {
              card: {
                op: 'update',
                alertId: 'a1',
                expectState: 'muted',
                set: { state: 'queued', owner: jane, remindersSent: 1 },
              },
            },
          ]),
        ).toEqual(ONE);
        expect(await s.get('a1')).toMatchObject({
          state: 'queued',
          muteId: 'm1',
          owner: jane,
          remindersSent: 1,
          version: 2,
        });
        await s.apply([
          { card: { op: 'update', alertId: 'a1', expectVersion: 2, set: { owner: null, muteId: null } } },
        ]);
        expect(await s.get('a1')).toMatchObject({ muteId: null, owner: null, remindersSent: 1, version: 3 });
        // A muted record has no card of its own: the poller finalises it like a seen one.
        await s.apply([insert('a3', { state: 'muted', muteId: 'm1' })]);
        expect((await s.listQuietIds()).map((r) => [r.alertId, r.state])).toEqual([['a3', 'muted']]);
      });

      it('a conflicting part undoes the whole change: its card write, its other writes and its items', async () => {
        const s = await fresh();
        await posted(s, 'a1', '1.1');
        await s.apply([
          { reminder: { cardKey: 'a1', n: 1 } },
          { mute: { op: 'create', m: mute('m1') } },
          { warRoom: room('a1') },
          ask(question('q1')),
        ]);
        await s.apply([{ mute: { op: 'count', id: 'm1', alertId: 'a1', displayId: 'COT-1' } }]);
        const before = await s.get('a1');
        const changes: Change[] = [
          // A valid compare-and-set with a reminder already sent.
          {
            card: { op: 'update', alertId: 'a1', expectVersion: before?.version ?? 0, set: { owner: jane } },
            reminder: { cardKey: 'a1', n: 1 },
            enqueue: [item('x1')],
          },
          // A second mute of the detection, with writes that cannot conflict.
          {
            mute: { op: 'create', m: mute('m2') },
            question: { op: 'dm', id: 'q1', channel: 'D1', ts: '5.5' },
            meta: [{ key: 'k2', value: 'v' }],
            enqueue: [item('x2')],
          },
          // A second war room, with a message saved.
          {
            warRoom: room('a1', { channel: 'C2' }),
            mute: { op: 'posted', id: 'm1', ts: '6.6' },
            enqueue: [item('x3')],
          },
          // Someone else's answer, with a member escalated.
          { ...answer('q1', 'U1'), mute: { op: 'escalated', id: 'm1', alertId: 'a1' } },
        ];
        for (const c of changes) expect(await s.apply([c])).toEqual(CONFLICT);
        expect(await s.get('a1')).toEqual(before);
        expect(await s.getQuestion('q1')).toMatchObject({ state: 'asked', dmChannel: null, dmTs: null });
        expect(await s.getMute('m1')).toMatchObject({ ts: null, muted: 1, escalated: 0 });
        expect(await s.getMute('m2')).toBeNull();
        expect(await s.getMeta('k2')).toBeNull();
        expect(await keys(s)).toEqual(['dm:q1']);
      });

      it('one winner across instances: asks, answers, timeouts, mutes, counts, war rooms, reminders', async () => {
        const a = await fresh();
        const b = await twin(a);
        const both = async (ca: Change, cb: Change) => {
          const [ra, rb] = await Promise.all([a.apply([ca]), b.apply([cb])]);
          expect(ra.applied + rb.applied).toBe(1);
          expect(ra.conflicts + rb.conflicts).toBe(1);
        };
        await both(ask(question('qa')), ask(question('qb'), 'dm:qb'));
        const id = (await a.getQuestion('qa')) ? 'qa' : 'qb';
        // The person double-clicks Yes and No on two replicas; the timeout job races them.
        await both(answer(id, 'U9', 'yes', 5_000), answer(id, 'U9', 'no', 5_001));
        await a.apply([ask(question('q2', { askedUserId: 'U2' }))]);
        await both(answer('q2', 'U2'), { question: { op: 'timeout', id: 'q2', at: 5_000 } });
        await both({ mute: { op: 'create', m: mute('ma') } }, { mute: { op: 'create', m: mute('mb') } });
        const m = (await a.getMute('ma')) ? 'ma' : 'mb';
        await both(
          { mute: { op: 'count', id: m, alertId: 'x1', displayId: 'COT-x1' } },
          { mute: { op: 'count', id: m, alertId: 'x1', displayId: 'COT-x1' } },
        );
        await both({ warRoom: room('a1') }, { warRoom: room('a1', { channel: 'CB' }) });
        await posted(a, 'a9', '9.9');
        await both({ reminder: { cardKey: 'a9', n: 1 } }, { reminder: { cardKey: 'a9', n: 1 } });
        // Unmute and a count race: the count lands before the end, or conflicts after it.
        const [counted, ended] = await Promise.all([
          a.apply([{ mute: { op: 'count', id: m, alertId: 'x2', displayId: 'COT-x2' } }]),
          b.apply([{ mute: { op: 'end', id: m, at: 9_000, by: sam } }]),
        ]);
        expect(ended).toEqual(ONE);
        expect((await a.getMute(m))?.muted).toBe(1 + counted.applied);
        expect((await a.muteMembersAfter(m, null, 10)).length).toBe(1 + counted.applied);
      });
    });

    // ---------------------------------------------------------------------------------------------
    describe('retention', () => {
      const PREFIXES = ['timeline:', 'timeline-sending:'];
      const pruneAll = async (s: Store, kind: Parameters<Store['prune']>[0]['kind'], before: number, limit = 1_000) => {
        const batches: number[] = [];
        for (;;) {
          const r = await s.prune({ kind, before, limit, metaPrefixes: PREFIXES });
          batches.push(r.deleted);
          if (r.deleted < limit) return batches;
        }
      };
      /** A record in `state`, made final (its alert closed) at `at` by the store's clock. */
      async function closed(s: Store, alertId: string, at: number, state: 'posted' | 'seen' | 'digested' | 'queued') {
        now = at;
        if (state === 'posted') await posted(s, alertId, `ts-${alertId}`, at);
        else await s.apply([insert(alertId, { state, channel: state === 'seen' ? null : 'C1' })]);
        const r = await s.get(alertId);
        await s.apply([{ card: { op: 'update', alertId, expectVersion: r?.version ?? 0, set: { final: true } } }]);
      }
      /** Claims the only item of `channel` and gives it back: one failed attempt. */
      async function failedOnce(s: Store, channel: string, at: number, lane: 'post' | 'update' = 'post') {
        void at; // claims and retries are on the database's clock
        const got = await claim(s, 'p1', { channel, lane });
        expect(got?.channel).toBe(channel);
        expect(await retry(s, got?.key ?? '', 'p1', 1, false)).toBe(true);
      }

      it('cards: final, unchanged since before the cut, nothing still on its way to Slack, with their meta keys, in batches', async () => {
        const s = await fresh();
        await closed(s, 'gone-posted', 1_000, 'posted');
        await closed(s, 'gone-seen', 1_100, 'seen');
        await closed(s, 'gone-digested', 1_200, 'digested');
        await closed(s, 'queued-final', 1_300, 'queued'); // closed before its card was posted
        await closed(s, 'queued-waiting', 1_300, 'queued'); // the same, its card still on its way: kept
        await closed(s, 'with-item', 1_400, 'posted');
        await closed(s, 'with-request', 1_500, 'posted');
        await closed(s, 'with-claim', 1_600, 'posted');
        await closed(s, 'recent', 50_000, 'posted');
        now = 1_700;
        await posted(s, 'live', 'ts-live', 1_700); // not final
        await s.apply([
          { enqueue: [item('card_update:with-item', { cardKey: 'with-item', lane: 'update' })] },
          { enqueue: [item('card:queued-waiting', { cardKey: 'queued-waiting' })] },
        ]);
        await s.addCloseRequest(
          {
            id: 'req-1',
            alertId: 'with-request',
            displayId: 'COT-9',
            status: 'closed_false_positive',
            words: null,
            requester: { id: 'U1', name: 'Jane' },
            basis: '{}',
            channel: 'C1',
            threadTs: 'ts-with-request',
            createdAt: 1_500,
            expiresAt: 900_000,
          },
          1_500,
        );
        expect(await s.claimAction('with-claim', 'p1', 180_000)).toBe(true);
        for (const id of ['gone-posted', 'live']) {
          await s.setMeta(`timeline:${id}`, '{"id":"e1","createdAt":"2026-01-01T00:00:00.000Z"}');
          await s.setMeta(`timeline-sending:${id}`, '{"id":"e2","createdAt":"2026-01-01T00:00:00.000Z"}');
        }
        await s.setMeta('bootstrapped_at', 'x');

        const first = await s.prune({ kind: 'cards', before: 10_000, limit: 2, metaPrefixes: PREFIXES });
        expect(first).toEqual({ deleted: 2, tables: { cards: 2, meta: 2 } }); // the oldest first: gone-posted, gone-seen
        expect(await pruneAll(s, 'cards', 10_000, 2)).toEqual([2, 0]);
        for (const id of ['gone-posted', 'gone-seen', 'gone-digested', 'queued-final']) {
          expect(await s.get(id)).toBeNull();
        }
        for (const id of ['queued-waiting', 'with-item', 'with-request', 'with-claim', 'recent', 'live']) {
          expect(await s.get(id), id).not.toBeNull();
        }
        expect(await s.getMeta('timeline:gone-posted')).toBeNull();
        expect(await s.getMeta('timeline-sending:gone-posted')).toBeNull();
        expect(await s.getMeta('timeline:live')).not.toBeNull();
        expect(await s.getMeta('bootstrapped_at')).toBe('x');
        // The record of a pruned card is gone for good: the alert reopened is a new one to the poller.
        expect(await s.getByMessage('C1', 'ts-gone-posted')).toBeNull();
        // Once what held them goes, they go too.
        await s.releaseAction('with-claim', 'p1');
        expect(await s.prune({ kind: 'cards', before: 10_000, limit: 10 })).toEqual({
          deleted: 1,
          tables: { cards: 1, meta: 0 },
        });
        expect(await s.get('with-claim')).toBeNull();
      });

      it('storms: members first, then the storm; only ended before the cut and with no outbox item naming it', async () => {
        const s = await fresh();
        // One open storm per channel: each in a channel of its own.
        const open = (id: string, members: string[], channel: string): Change => ({
          storm: { op: 'open', id, channel, at: 1_000 },
          members: members.map((a) => member(id, a)),
        });
        await s.apply([
          open('storm-old', ['a', 'b', 'c'], 'C1'),
          open('storm-open', ['d', 'e'], 'C2'),
          open('storm-waiting', ['f'], 'C3'),
          open('storm-recent', ['g'], 'C4'),
        ]);
        await s.apply([
          { storm: { op: 'end', id: 'storm-old', at: 2_000 } },
          { storm: { op: 'end', id: 'storm-waiting', at: 2_000 } },
          { storm: { op: 'end', id: 'storm-recent', at: 50_000 } },
        ]);
        await s.apply([
          { enqueue: [item('digest_update:storm-waiting', { kind: 'digest_update', lane: 'update', cardKey: null })] },
        ]);
        // No storm row is deleted while it still has members.
        expect(await s.prune({ kind: 'storms', before: 10_000, limit: 10 })).toEqual({
          deleted: 0,
          tables: { storms: 0 },
        });
        expect(await pruneAll(s, 'storm_members', 10_000, 2)).toEqual([2, 1]);
        expect(await pruneAll(s, 'storms', 10_000)).toEqual([1]);
        expect(await s.getStorm('storm-old')).toBeNull();
        expect(await s.stormMembers('storm-old')).toEqual([]);
        expect((await s.stormMembers('storm-open')).map((m) => m.alertId)).toEqual(['d', 'e']);
        expect((await s.stormMembers('storm-waiting')).map((m) => m.alertId)).toEqual(['f']);
        expect((await s.stormMembers('storm-recent')).map((m) => m.alertId)).toEqual(['g']);
        expect((await s.activeStorms()).map((x) => x.id)).toEqual(['storm-open']);
        expect(await s.getStorm('storm-waiting')).not.toBeNull();
        expect(await s.getStorm('storm-recent')).not.toBeNull();
      });

      it('close requests: decided, or expired while pending, before the cut; none whose alert has an outbox item', async () => {
        const s = await fresh();
        const req = (id: string, alertId: string, expiresAt: number): NewCloseRequest => ({
          id,
          alertId,
          displayId: `COT-${alertId}`,
          status: 'closed_false_positive',
          words: null,
          requester: { id: 'U1', name: 'Jane' },
          basis: '{}',
          channel: 'C1',
          threadTs: '1.1',
          createdAt: 1_000,
          expiresAt,
        });
        const by = { id: 'U2', name: 'Sam' };
        for (const [id, alertId, expires] of [
          ['decided-old', 'a1', 900_000],
          ['pending-valid', 'a2', 900_000],
          ['pending-expired', 'a3', 3_000],
          ['decided-held', 'a4', 900_000],
          ['decided-recent', 'a5', 900_000],
        ] as const) {
          expect(await s.addCloseRequest(req(id, alertId, expires), 1_000)).toBe(true);
        }
        await s.moveCloseRequest('decided-old', 'pending', 'rejected', { by, at: 2_000 });
        await s.moveCloseRequest('decided-held', 'pending', 'approved', { by, at: 2_000 });
        await s.moveCloseRequest('decided-recent', 'pending', 'approved', { by, at: 50_000 });
        await s.apply([{ enqueue: [item('reply:a4:x', { kind: 'reply', cardKey: 'a4' })] }]);
        expect(await pruneAll(s, 'close_requests', 10_000)).toEqual([2]);
        expect(await s.getCloseRequest('decided-old')).toBeNull();
        expect(await s.getCloseRequest('pending-expired')).toBeNull();
        for (const id of ['pending-valid', 'decided-held', 'decided-recent']) {
          expect(await s.getCloseRequest(id), id).not.toBeNull();
        }
      });

      it('questions: answered or timed out before the cut, none still asked, none whose alert has an outbox item', async () => {
        const s = await fresh();
        const q = (id: string, alertId: string): NewQuestion => ({
          id,
          alertId,
          displayId: `COT-${alertId}`,
          channel: 'C1',
          threadTs: '1.1',
          askedBy: { id: 'U1', name: 'Jane' },
          askedUserId: 'U9',
          askedAt: 1_000,
          deadline: 2_000,
        });
        await s.apply(
          [
            ['answered-old', 'a1'],
            ['timed-out-old', 'a2'],
            ['asked-forever', 'a3'],
            ['answered-held', 'a4'],
            ['answered-recent', 'a5'],
          ].map(([id, alertId]) => ({ question: { op: 'ask', q: q(id as string, alertId as string) } })),
        );
        await s.apply([
          { question: { op: 'answer', id: 'answered-old', userId: 'U9', answer: 'yes', note: null, at: 2_000 } },
          { question: { op: 'timeout', id: 'timed-out-old', at: 2_000 } },
          { question: { op: 'answer', id: 'answered-held', userId: 'U9', answer: 'no', note: null, at: 2_000 } },
          { question: { op: 'answer', id: 'answered-recent', userId: 'U9', answer: 'yes', note: null, at: 50_000 } },
          { enqueue: [item('answer:a4', { kind: 'thread_note', cardKey: 'a4' })] },
        ]);
        expect(await pruneAll(s, 'questions', 10_000, 1)).toEqual([1, 1, 0]);
        expect(await s.getQuestion('answered-old')).toBeNull();
        expect(await s.getQuestion('timed-out-old')).toBeNull();
        for (const id of ['asked-forever', 'answered-held', 'answered-recent']) {
          expect(await s.getQuestion(id), id).not.toBeNull();
        }
      });

      it('mutes: members first, then the mute; only ended before the cut and with no outbox item naming it', async () => {
        const s = await fresh();
        const m = (id: string, detectionKey: string): Change => ({
          mute: {
            op: 'create',
            m: {
              id,
              channel: 'C1',
              detectionKey,
              detectionName: detectionKey,
              by: { id: 'U1', name: 'Jane' },
              reason: 'noise',
              createdAt: 1_000,
              until: 5_000,
              sourceAlertId: null,
            },
          },
        });
        await s.apply([m('mute-old', 'd1'), m('mute-running', 'd2'), m('mute-waiting', 'd3'), m('mute-recent', 'd4')]);
        const count = (id: string, alerts: string[]): Change[] =>
          alerts.map((alertId) => ({ mute: { op: 'count', id, alertId, displayId: `COT-${alertId}` } }));
        await s.apply([
          ...count('mute-old', ['a', 'b', 'c']),
          ...count('mute-running', ['d']),
          ...count('mute-waiting', ['e']),
          ...count('mute-recent', ['f']),
        ]);
        await s.apply([
          { mute: { op: 'end', id: 'mute-old', at: 2_000, by: null } },
          { mute: { op: 'end', id: 'mute-waiting', at: 2_000, by: null } },
          { mute: { op: 'end', id: 'mute-recent', at: 50_000, by: null } },
          { enqueue: [item('mute_end:mute-waiting', { kind: 'thread_note' })] },
        ]);
        // No mute is deleted while it still has members.
        expect(await s.prune({ kind: 'mutes', before: 10_000, limit: 10 })).toEqual({
          deleted: 0,
          tables: { mutes: 0 },
        });
        expect(await pruneAll(s, 'mute_members', 10_000, 2)).toEqual([2, 1]);
        expect(await pruneAll(s, 'mutes', 10_000)).toEqual([1]);
        expect(await s.getMute('mute-old')).toBeNull();
        expect(await s.muteMembersAfter('mute-old', null, 10)).toEqual([]);
        for (const id of ['mute-running', 'mute-waiting', 'mute-recent']) {
          expect(await s.getMute(id), id).not.toBeNull();
          expect(await s.muteMembersAfter(id, null, 10), id).toHaveLength(1);
        }
      });

      it('war rooms: of alerts whose record was pruned; a card with a question still asked is kept', async () => {
        const s = await fresh();
        await closed(s, 'gone', 1_000, 'posted');
        await closed(s, 'asked', 1_000, 'posted');
        await closed(s, 'kept', 50_000, 'posted');
        const room = (alertId: string): Change => ({
          warRoom: {
            alertId,
            channel: `C-${alertId}`,
            name: `inc-${alertId}`,
            by: { id: 'U1', name: 'Jane' },
            at: 1_500,
          },
        });
        await s.apply([room('gone'), room('asked'), room('kept'), room('never-recorded')]);
        await s.apply([
          {
            question: {
              op: 'ask',
              q: {
                id: 'q1',
                alertId: 'asked',
                displayId: 'COT-asked',
                channel: 'C1',
                threadTs: 'ts-asked',
                askedBy: { id: 'U1', name: 'Jane' },
                askedUserId: 'U9',
                askedAt: 1_000,
                deadline: 900_000,
              },
            },
          },
        ]);
        // Before its record goes, the war room stays.
        expect(await s.prune({ kind: 'war_rooms', before: 10_000, limit: 10 })).toEqual({
          deleted: 1,
          tables: { war_rooms: 1 },
        });
        expect(await s.getWarRoom('never-recorded')).toBeNull();
        expect(await s.getWarRoom('gone')).not.toBeNull();
        expect(await pruneAll(s, 'cards', 10_000)).toEqual([1]);
        expect(await s.get('gone')).toBeNull();
        expect(await s.get('asked')).not.toBeNull(); // its question is still waiting for an answer
        expect(await pruneAll(s, 'war_rooms', 10_000)).toEqual([1]);
        expect(await s.getWarRoom('gone')).toBeNull();
        expect(await s.getWarRoom('asked')).not.toBeNull();
        expect(await s.getWarRoom('kept')).not.toBeNull();
        // Once the question timed out, the card may go, then its war room.
        await s.apply([{ question: { op: 'timeout', id: 'q1', at: 2_000 } }]);
        expect(await pruneAll(s, 'cards', 10_000)).toEqual([1]);
        expect(await pruneAll(s, 'war_rooms', 10_000)).toEqual([1]);
        expect(await s.getWarRoom('asked')).toBeNull();
      });

      it('once keys past their expiry and abandoned action claims', async () => {
        const s = await fresh();
        expect(await s.firstTime('k-old', 1_000, 1_000)).toBe(true); // expires at 2_000
        expect(await s.firstTime('k-new', 1_000, 60_000)).toBe(true);
        // Action claims are timed by the database's clock: a cut between two claims made 30 ms apart.
        expect(await s.claimAction('x-old', 'p1', 180_000)).toBe(true);
        await new Promise((r) => setTimeout(r, 15));
        const cut = Date.now();
        await new Promise((r) => setTimeout(r, 15));
        expect(await s.claimAction('x-new', 'p1', 180_000)).toBe(true);
        expect(await pruneAll(s, 'once_keys', 5_000, 1)).toEqual([1, 0]);
        expect(await s.firstTime('k-new', 5_000, 60_000)).toBe(false); // still remembered
        expect(await s.firstTime('k-old', 5_000, 60_000)).toBe(true); // forgotten
        expect(await pruneAll(s, 'action_claims', cut)).toEqual([1]);
        // x-new is still held; x-old is free again.
        expect(await s.claimAction('x-new', 'p2', 180_000)).toBe(false);
        expect(await s.claimAction('x-old', 'p2', 180_000)).toBe(true);
      });

      it('outbox: only a tried, unsent item of an alert closed before the cut, or of a storm ended before it', async () => {
        const s = await fresh();
        await closed(s, 'closed-old', 1_000, 'posted');
        await closed(s, 'closed-new', 50_000, 'posted');
        now = 1_000;
        await s.apply([insert('live-queued')]);
        await s.apply([
          { storm: { op: 'open', id: 'storm-ended', channel: 'C5', at: 1_000 } },
          { storm: { op: 'open', id: 'storm-open', channel: 'C6', at: 1_000 } },
        ]);
        await s.apply([{ storm: { op: 'end', id: 'storm-ended', at: 2_000 } }]);
        await s.apply([
          {
            enqueue: [
              item('card_update:closed-old', { channel: 'C1', lane: 'update', cardKey: 'closed-old' }),
              item('card:live-queued', { channel: 'C2', cardKey: 'live-queued' }),
              item('card_update:closed-new', { channel: 'C3', lane: 'update', cardKey: 'closed-new' }),
              item('note:closed-old:never-tried', { channel: 'C4', cardKey: 'closed-old' }),
              item('digest_update:storm-ended', { channel: 'C5', lane: 'update', kind: 'digest_update' }),
              item('digest_update:storm-open', { channel: 'C6', lane: 'update', kind: 'digest_update' }),
              item('escalation:closed-old:u1', { channel: 'C7', cardKey: 'closed-old' }),
            ],
          },
        ]);
        await failedOnce(s, 'C1', 3_000, 'update');
        await failedOnce(s, 'C2', 3_000);
        await failedOnce(s, 'C3', 3_000, 'update');
        await failedOnce(s, 'C5', 3_000, 'update');
        await failedOnce(s, 'C6', 3_000, 'update');
        await failedOnce(s, 'C7', 3_000);
        await new Promise((r) => setTimeout(r, 10)); // its retry is due (1 ms on the database's clock)
        expect(await claim(s, 'p1', { channel: 'C7' })).not.toBeNull(); // being sent right now: kept
        now = 60_000;
        await s.apply([{ enqueue: [item('card_update:closed-old:late', { channel: 'C8', cardKey: 'closed-old' })] }]);
        await failedOnce(s, 'C8', 60_000);

        expect(await pruneAll(s, 'outbox', 10_000)).toEqual([2]);
        const left = (await s.listOutbox()).map((i) => i.key).sort();
        expect(left).toEqual([
          'card:live-queued',
          'card_update:closed-new',
          'card_update:closed-old:late',
          'digest_update:storm-open',
          'escalation:closed-old:u1',
          'note:closed-old:never-tried',
        ]);
      });

      it('listQuietIds: records without a card of their own that are not final yet', async () => {
        const s = await fresh();
        await s.apply([
          insert('seen-1', { state: 'seen', channel: null }),
          insert('digested-1', { state: 'digested' }),
          insert('queued-1'),
        ]);
        await closed(s, 'seen-final', 1_000, 'seen');
        await posted(s, 'posted-1', 'ts-1');
        const quiet = (await s.listQuietIds()).sort((a, b) => a.alertId.localeCompare(b.alertId));
        expect(quiet).toEqual([
          { alertId: 'digested-1', state: 'digested' },
          { alertId: 'seen-1', state: 'seen' },
        ]);
      });
    });

    // ---------------------------------------------------------------------------------------------
    describe('two processes on one database', () => {
      it('a second instance sees the first one’s writes', async () => {
        const a = await fresh();
        const b = await twin(a);
        await posted(a, 'a1', '1.1');
        await a.setMeta('k', 'v');
        expect(await b.get('a1')).toMatchObject({ state: 'posted', ts: '1.1' });
        expect(await b.getMeta('k')).toBe('v');
      });

      it('concurrent claimNext calls never return the same item', async () => {
        const a = await fresh();
        const b = await twin(a);
        const n = 40;
        await a.apply([
          { enqueue: Array.from({ length: n }, (_, k) => item(`k${k}`, { priority: k % 3, orderAt: k })) },
        ]);
        const claimed: string[] = [];
        const worker = async (s: Store, owner: string) => {
          for (;;) {
            const got = await claim(s, owner);
            if (!got) return;
            claimed.push(got.key);
          }
        };
        await Promise.all([worker(a, 'a1'), worker(b, 'b1'), worker(a, 'a2'), worker(b, 'b2')]);
        expect(claimed).toHaveLength(n);
        expect(new Set(claimed).size).toBe(n);
        const items = await a.listOutbox();
        expect(items.every((i) => i.state === 'claimed')).toBe(true);
      });

      it('a stale item is taken over by exactly one of two concurrent claimers', async () => {
        const a = await fresh();
        const b = await twin(a);
        await a.apply([{ enqueue: [item('k')] }]);
        await claim(a, 'dead');
        await sleep(25);
        const [fa, fb] = [await fenceOf(a, 'a'), await fenceOf(b, 'b')];
        const got = await Promise.all([
          a.claimNext({ lane: 'post', owner: 'a', staleMs: 10, fence: fa }),
          b.claimNext({ lane: 'post', owner: 'b', staleMs: 10, fence: fb }),
        ]);
        expect(got.filter(Boolean)).toHaveLength(1);
      });

      it('concurrent compare-and-set writes and inserts: exactly one wins', async () => {
        const a = await fresh();
        const b = await twin(a);
        await a.apply([insert('a1')]);
        const cas = (s: Store, status: string) =>
          s.apply([{ card: { op: 'update', alertId: 'a1', expectVersion: 1, set: { status } } }]);
        const [ra, rb] = await Promise.all([cas(a, 'from-a'), cas(b, 'from-b')]);
        expect(ra.applied + rb.applied).toBe(1);
        expect(ra.conflicts + rb.conflicts).toBe(1);
        expect((await a.get('a1'))?.version).toBe(2);
        const ins = await Promise.all([a.apply([insert('a2')]), b.apply([insert('a2')])]);
        expect(ins.map((r) => r.applied).sort()).toEqual([0, 1]);
      });

      it('concurrent completion and coalescing: the newer payload is never lost', async () => {
        const a = await fresh();
        const b = await twin(a);
        await a.apply([{ enqueue: [item('u', { lane: 'update', payload: 'v1' })] }]);
        const i = await claim(a, 'me', { lane: 'update' });
        const fence = await fenceOf(a, 'me');
        await Promise.all([
          a.completeOutbox('u', 'me', fence, i?.rev ?? 0),
          b.apply([{ enqueue: [item('u', { lane: 'update', payload: 'v2' })] }]),
        ]);
        const left = await a.listOutbox();
        // Either the enqueue came first (completion saw rev 2 and re-queued it) or after (a new item).
        expect(left).toEqual([expect.objectContaining({ key: 'u', state: 'pending', payload: 'v2' })]);
      });

      it('close requests have one winner across instances: one pending per alert, one decider', async () => {
        const a = await fresh();
        const b = await twin(a);
        const req = (id: string): NewCloseRequest => ({
          id,
          alertId: 'a1',
          displayId: 'COT-1',
          status: 'closed_false_positive',
          words: null,
          requester: { id: 'U1', name: 'Jane' },
          basis: '{}',
          channel: 'C1',
          threadTs: '1.1',
          createdAt: 1_000,
          expiresAt: 100_000,
        });
        const added = await Promise.all([a.addCloseRequest(req('ra'), 1_000), b.addCloseRequest(req('rb'), 1_000)]);
        expect(added.filter(Boolean)).toHaveLength(1);
        const id = added[0] ? 'ra' : 'rb';
        const moved = await Promise.all([
          a.moveCloseRequest(id, 'pending', 'approved', { by: { id: 'U2', name: 'Sam' }, at: 2_000 }),
          b.moveCloseRequest(id, 'pending', 'rejected', { by: { id: 'U3', name: 'Ana' }, at: 2_000 }),
        ]);
        expect(moved.filter(Boolean)).toHaveLength(1);
        expect((await b.getCloseRequest(id))?.state).toBe(moved[0] ? 'approved' : 'rejected');
      });

      it('leases, action claims and first-time keys have one winner across instances', async () => {
        const a = await fresh();
        const b = await twin(a);
        const leases = await Promise.all([a.tryLease('poller', 'a', 60_000), b.tryLease('poller', 'b', 60_000)]);
        expect(leases.filter((l) => l.held)).toHaveLength(1);
        const [winner, name] = leases[0]?.held ? [a, 'a'] : [b, 'b'];
        expect(await winner.tryLease('poller', name, 1)).toEqual({ held: true, token: 1 }); // expires at once
        const claims = await Promise.all([a.claimAction('x', 'a', 30_000), b.claimAction('x', 'b', 30_000)]);
        expect(claims.filter(Boolean)).toHaveLength(1);
        const once = await Promise.all([a.firstTime('key', 1_000, 60_000), b.firstTime('key', 1_000, 60_000)]);
        expect(once.filter(Boolean)).toHaveLength(1);
        // An expired lease is taken over by exactly one of two contenders, under one new token.
        await sleep(15);
        const takeover = await Promise.all([a.tryLease('poller', 'c', 60_000), b.tryLease('poller', 'd', 60_000)]);
        expect(takeover.filter((l) => l.held)).toHaveLength(1);
        expect(takeover.map((l) => l.token)).toEqual([2, 2]);
      });
    });
  });
}
