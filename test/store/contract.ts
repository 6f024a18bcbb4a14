/**
 * The Store contract: what every engine must do, run against each of them (sqlite.contract.test.ts,
 * postgres.contract.test.ts). Times are explicit epoch ms; the store's own clock is injected.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type {
  Change,
  LastAction,
  NewCloseRequest,
  NewOutboxItem,
  OutboxItem,
  Store,
  StormMember,
} from '../../src/store/store.ts';

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
      alertId: null,
      priority: 10,
      orderAt: 100,
      payload: `{"k":"${key}"}`,
      ...over,
    });
    const claim = (s: Store, at: number, owner = 'p1', over: { lane?: 'post' | 'update'; channel?: string } = {}) =>
      s.claimNext({ lane: over.lane ?? 'post', now: at, owner, staleBefore: at - 30_000, ...over });
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
          { ...insert('a1'), enqueue: [item('card:a1', { alertId: 'a1' }), item('upd:a1', { lane: 'update' })] },
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
        expect((await claim(s, 200))?.key).toBe('card:a1');
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
      it('an item may be held until a time: not claimed before it, and a re-enqueue keeps its own', async () => {
        const s = await fresh();
        await s.apply([{ enqueue: [{ ...item('held'), notBefore: 5_000 }] }]);
        expect(await claim(s, 4_999)).toBeNull();
        await s.apply([{ enqueue: [{ ...item('held'), notBefore: 0 }] }]);
        expect(await claim(s, 4_999)).toBeNull();
        expect((await claim(s, 5_000))?.key).toBe('held');
      });

      it('enqueue stores every field; pending items start unclaimed', async () => {
        const s = await fresh();
        now = 4_242;
        await s.apply([
          {
            enqueue: [item('esc:a1', { kind: 'escalation', channel: 'C7', alertId: 'a1', priority: 1, orderAt: 77 })],
          },
        ]);
        expect(await s.listOutbox()).toEqual([
          {
            key: 'esc:a1',
            kind: 'escalation',
            lane: 'post',
            channel: 'C7',
            alertId: 'a1',
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
          const i = await claim(s, 10_000);
          if (i) order.push(i.key);
        }
        expect(order).toEqual(['p1', 'p5', 'p10-early', 'p10-late']);
        expect((await claim(s, 10_000, 'p1', { lane: 'update' }))?.key).toBe('upd');
        expect(await claim(s, 10_000)).toBeNull();

        const t = await fresh();
        await t.apply([{ enqueue: [item('c1', { priority: 1 }), item('c2', { channel: 'C2', priority: 9 })] }]);
        expect((await claim(t, 10_000, 'p', { channel: 'C2' }))?.key).toBe('c2');
        expect(await claim(t, 10_000, 'p', { channel: 'C2' })).toBeNull();
        expect(await claim(t, 10_000, 'p', { channel: 'C3' })).toBeNull();
        expect((await claim(t, 10_000, 'p', { channel: 'C1' }))?.key).toBe('c1');
      });

      it('a claim records owner and time; a claimed item is not claimed again while fresh', async () => {
        const s = await fresh();
        await s.apply([{ enqueue: [item('k')] }]);
        const got = await claim(s, 2_000, 'worker-a');
        expect(got).toMatchObject({ key: 'k', state: 'claimed', owner: 'worker-a', claimedAt: 2_000, unknown: false });
        expect(await claim(s, 2_001, 'worker-b')).toBeNull();
        expect(await s.claimNext({ lane: 'post', now: 31_999, owner: 'worker-b', staleBefore: 2_000 })).toBeNull();
      });

      it('notBefore is respected', async () => {
        const s = await fresh();
        await s.apply([{ enqueue: [item('k')] }]);
        const i = await claim(s, 1_000);
        expect(await s.retryOutbox('k', 'p1', 5_000, false)).toBe(true);
        expect(await claim(s, 4_999)).toBeNull();
        expect(await s.listOutbox()).toEqual([
          expect.objectContaining({ state: 'pending', owner: null, claimedAt: null, notBefore: 5_000, attempts: 1 }),
        ]);
        expect((await claim(s, 5_000))?.key).toBe(i?.key);
      });

      it('a stale claim is taken over and comes back unknown; the old owner has lost it', async () => {
        const s = await fresh();
        await s.apply([{ enqueue: [item('k')] }]);
        await s.claimNext({ lane: 'post', now: 100, owner: 'dead', staleBefore: 0 });
        expect(await s.claimNext({ lane: 'post', now: 200, owner: 'b', staleBefore: 100 })).toBeNull(); // not older
        const taken = await s.claimNext({ lane: 'post', now: 300, owner: 'b', staleBefore: 101 });
        expect(taken).toMatchObject({ key: 'k', owner: 'b', claimedAt: 300, unknown: true, state: 'claimed' });
        expect(await s.completeOutbox('k', 'dead', 1)).toBe(false);
        expect(await s.retryOutbox('k', 'dead', 0, false)).toBe(false);
        expect((await s.listOutbox())[0]).toMatchObject({ owner: 'b', state: 'claimed' });
        expect(await s.completeOutbox('k', 'b', 1)).toBe(true);
        expect(await s.listOutbox()).toEqual([]);
      });

      it('completeOutbox deletes the item and applies its changes, only for the owner', async () => {
        const s = await fresh();
        await s.apply([{ ...insert('a1'), enqueue: [item('card:a1', { alertId: 'a1' })] }]);
        const i = await claim(s, 2_000, 'me');
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
        expect(await s.completeOutbox('card:a1', 'someone-else', i?.rev ?? 0, done)).toBe(false);
        expect(await s.get('a1')).toMatchObject({ state: 'queued', version: 1 }); // nothing applied
        expect(await s.completeOutbox('card:a1', 'me', i?.rev ?? 0, done)).toBe(true);
        expect(await s.get('a1')).toMatchObject({ state: 'posted', ts: '5.5', postedAt: 2_100, version: 2 });
        expect(await s.listOutbox()).toEqual([]);
        expect(await s.completeOutbox('card:a1', 'me', i?.rev ?? 0)).toBe(false); // already gone
      });

      it('meta written by a change lands with it: on completion of an item, and not when the change conflicts', async () => {
        const s = await fresh();
        await posted(s, 'a1', '5.5');
        await s.setMeta('timeline:a1', 'old');
        await s.apply([{ enqueue: [item('note:a1:timeline', { kind: 'thread_note', alertId: 'a1' })] }]);
        const i = await claim(s, 2_000, 'me');
        const cursor = { meta: [{ key: 'timeline:a1', value: '{"id":"e2","createdAt":"t2"}' }] };
        expect(await s.completeOutbox('note:a1:timeline', 'someone-else', i?.rev ?? 0, [cursor])).toBe(false);
        expect(await s.getMeta('timeline:a1')).toBe('old'); // nothing applied without the claim
        expect(await s.completeOutbox('note:a1:timeline', 'me', i?.rev ?? 0, [cursor])).toBe(true);
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
        expect(await s.completeOutbox('k', 'p1', 1)).toBe(false);
        expect(await s.retryOutbox('k', 'p1', 0, true)).toBe(false);
        expect(await s.listOutbox()).toEqual([expect.objectContaining({ state: 'pending', unknown: false })]);
      });

      it('a newer payload coalesced in while sending: completion puts the item back to pending', async () => {
        const s = await fresh();
        await s.apply([{ enqueue: [item('upd:a1', { lane: 'update', payload: 'v1' })] }]);
        const i = await claim(s, 2_000, 'me', { lane: 'update' });
        await s.retryOutbox('upd:a1', 'me', 0, true);
        const again = await claim(s, 2_500, 'me', { lane: 'update' });
        expect(again).toMatchObject({ unknown: true, attempts: 1 });
        await s.apply([{ enqueue: [item('upd:a1', { lane: 'update', payload: 'v2' })] }]);
        expect((await s.listOutbox())[0]).toMatchObject({ state: 'claimed', owner: 'me', rev: 2, payload: 'v2' });
        expect(await s.completeOutbox('upd:a1', 'me', i?.rev ?? 0)).toBe(true);
        expect(await s.listOutbox()).toEqual([
          expect.objectContaining({
            key: 'upd:a1',
            state: 'pending',
            owner: null,
            claimedAt: null,
            payload: 'v2',
            rev: 2,
            unknown: false,
            attempts: 0,
            notBefore: 0,
          }),
        ]);
        const next = await claim(s, 3_000, 'me', { lane: 'update' });
        expect(next).toMatchObject({ payload: 'v2', rev: 2 });
        expect(await s.completeOutbox('upd:a1', 'me', 2)).toBe(true);
        expect(await s.listOutbox()).toEqual([]);
      });

      it('retryOutbox counts attempts and keeps unknown sticky', async () => {
        const s = await fresh();
        await s.apply([{ enqueue: [item('k')] }]);
        await claim(s, 1_000);
        expect(await s.retryOutbox('k', 'p1', 0, true)).toBe(true);
        expect(await claim(s, 2_000)).toMatchObject({ unknown: true, attempts: 1 });
        expect(await s.retryOutbox('k', 'p1', 0, false)).toBe(true); // this attempt was a clean refusal
        expect(await claim(s, 3_000)).toMatchObject({ unknown: true, attempts: 2 });
        expect(await s.retryOutbox('k', 'intruder', 0, false)).toBe(false);
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
        await claim(s, 1_000, 'p', { channel: 'C1' });
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

      it('a member with no severity keeps null', async () => {
        const s = await fresh();
        await s.apply([{ members: [member('st1', 'a', { severity: null, groupKey: 'escalated' })] }]);
        expect((await s.stormMembers('st1'))[0]).toMatchObject({ severity: null, groupKey: 'escalated' });
      });
    });

    // ---------------------------------------------------------------------------------------------
    describe('leases, action claims, first-time keys', () => {
      it('a lease is exclusive until it expires; the owner renews and releases it', async () => {
        const s = await fresh();
        expect(await s.tryLease('poller', 'a', 1_000, 10_000)).toBe(true);
        expect(await s.tryLease('poller', 'b', 2_000, 10_000)).toBe(false);
        expect(await s.tryLease('other', 'b', 2_000, 10_000)).toBe(true);
        expect(await s.tryLease('poller', 'a', 9_000, 10_000)).toBe(true); // renewed until 19 000
        expect(await s.tryLease('poller', 'b', 15_000, 10_000)).toBe(false);
        expect(await s.tryLease('poller', 'b', 19_001, 10_000)).toBe(true); // a expired: taken over
        expect(await s.tryLease('poller', 'a', 19_002, 10_000)).toBe(false);
        await s.releaseLease('poller', 'a'); // not the owner: no effect
        expect(await s.tryLease('poller', 'a', 19_003, 10_000)).toBe(false);
        await s.releaseLease('poller', 'b');
        expect(await s.tryLease('poller', 'a', 19_004, 10_000)).toBe(true);
      });

      it('an action claim admits one change of an alert at a time, until released or expired', async () => {
        const s = await fresh();
        expect(await s.claimAction('a1', 'click-1', 1_000, 30_000)).toBe(true);
        expect(await s.claimAction('a1', 'click-2', 1_001, 30_000)).toBe(false);
        expect(await s.claimAction('a2', 'click-3', 1_001, 30_000)).toBe(true);
        await s.releaseAction('a1', 'click-2'); // not the owner: no effect
        expect(await s.claimAction('a1', 'click-4', 1_002, 30_000)).toBe(false);
        await s.releaseAction('a1', 'click-1');
        expect(await s.claimAction('a1', 'click-5', 1_003, 30_000)).toBe(true);
        expect(await s.claimAction('a1', 'click-6', 31_003, 30_000)).toBe(false); // exactly ttl: not yet
        expect(await s.claimAction('a1', 'click-6', 40_000, 30_000)).toBe(true); // click-5 expired
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

      it('ping answers', async () => {
        const s = await fresh();
        await expect(s.ping()).resolves.toBeUndefined();
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
        const got = await claim(s, at, 'p1', { channel, lane });
        expect(got?.channel).toBe(channel);
        expect(await s.retryOutbox(got?.key ?? '', 'p1', at + 1, false)).toBe(true);
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
          { enqueue: [item('card_update:with-item', { alertId: 'with-item', lane: 'update' })] },
          { enqueue: [item('card:queued-waiting', { alertId: 'queued-waiting' })] },
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
        expect(await s.claimAction('with-claim', 'p1', 1_600, 180_000)).toBe(true);
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
        const open = (id: string, members: string[]): Change => ({
          storm: { op: 'open', id, channel: 'C1', at: 1_000 },
          members: members.map((a) => member(id, a)),
        });
        await s.apply([
          open('storm-old', ['a', 'b', 'c']),
          open('storm-open', ['d', 'e']),
          open('storm-waiting', ['f']),
          open('storm-recent', ['g']),
        ]);
        await s.apply([
          { storm: { op: 'end', id: 'storm-old', at: 2_000 } },
          { storm: { op: 'end', id: 'storm-waiting', at: 2_000 } },
          { storm: { op: 'end', id: 'storm-recent', at: 50_000 } },
        ]);
        await s.apply([
          { enqueue: [item('digest_update:storm-waiting', { kind: 'digest_update', lane: 'update', alertId: null })] },
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
        await s.apply([{ enqueue: [item('reply:a4:x', { kind: 'reply', alertId: 'a4' })] }]);
        expect(await pruneAll(s, 'close_requests', 10_000)).toEqual([2]);
        expect(await s.getCloseRequest('decided-old')).toBeNull();
        expect(await s.getCloseRequest('pending-expired')).toBeNull();
        for (const id of ['pending-valid', 'decided-held', 'decided-recent']) {
          expect(await s.getCloseRequest(id), id).not.toBeNull();
        }
      });

      it('once keys past their expiry and abandoned action claims', async () => {
        const s = await fresh();
        expect(await s.firstTime('k-old', 1_000, 1_000)).toBe(true); // expires at 2_000
        expect(await s.firstTime('k-new', 1_000, 60_000)).toBe(true);
        expect(await s.claimAction('x-old', 'p1', 1_000, 180_000)).toBe(true);
        expect(await s.claimAction('x-new', 'p1', 40_000, 180_000)).toBe(true);
        expect(await pruneAll(s, 'once_keys', 5_000, 1)).toEqual([1, 0]);
        expect(await s.firstTime('k-new', 5_000, 60_000)).toBe(false); // still remembered
        expect(await s.firstTime('k-old', 5_000, 60_000)).toBe(true); // forgotten
        expect(await pruneAll(s, 'action_claims', 10_000)).toEqual([1]);
        // x-new is still held; x-old is free again.
        expect(await s.claimAction('x-new', 'p2', 41_000, 180_000)).toBe(false);
        expect(await s.claimAction('x-old', 'p2', 41_000, 180_000)).toBe(true);
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
              item('card_update:closed-old', { channel: 'C1', lane: 'update', alertId: 'closed-old' }),
              item('card:live-queued', { channel: 'C2', alertId: 'live-queued' }),
              item('card_update:closed-new', { channel: 'C3', lane: 'update', alertId: 'closed-new' }),
              item('note:closed-old:never-tried', { channel: 'C4', alertId: 'closed-old' }),
              item('digest_update:storm-ended', { channel: 'C5', lane: 'update', kind: 'digest_update' }),
              item('digest_update:storm-open', { channel: 'C6', lane: 'update', kind: 'digest_update' }),
              item('escalation:closed-old:u1', { channel: 'C7', alertId: 'closed-old' }),
            ],
          },
        ]);
        await failedOnce(s, 'C1', 3_000, 'update');
        await failedOnce(s, 'C2', 3_000);
        await failedOnce(s, 'C3', 3_000, 'update');
        await failedOnce(s, 'C5', 3_000, 'update');
        await failedOnce(s, 'C6', 3_000, 'update');
        await failedOnce(s, 'C7', 3_000);
        expect(await claim(s, 4_000, 'p1', { channel: 'C7' })).not.toBeNull(); // being sent right now: kept
        now = 60_000;
        await s.apply([{ enqueue: [item('card_update:closed-old:late', { channel: 'C8', alertId: 'closed-old' })] }]);
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
            const got = await s.claimNext({ lane: 'post', now: 10_000, owner, staleBefore: 0 });
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
        await a.claimNext({ lane: 'post', now: 100, owner: 'dead', staleBefore: 0 });
        const got = await Promise.all([
          a.claimNext({ lane: 'post', now: 60_000, owner: 'a', staleBefore: 30_000 }),
          b.claimNext({ lane: 'post', now: 60_000, owner: 'b', staleBefore: 30_000 }),
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
        const i = await a.claimNext({ lane: 'update', now: 1_000, owner: 'me', staleBefore: 0 });
        await Promise.all([
          a.completeOutbox('u', 'me', i?.rev ?? 0),
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
        const leases = await Promise.all([
          a.tryLease('poller', 'a', 1_000, 10_000),
          b.tryLease('poller', 'b', 1_000, 10_000),
        ]);
        expect(leases.filter(Boolean)).toHaveLength(1);
        const claims = await Promise.all([
          a.claimAction('x', 'a', 1_000, 30_000),
          b.claimAction('x', 'b', 1_000, 30_000),
        ]);
        expect(claims.filter(Boolean)).toHaveLength(1);
        const once = await Promise.all([a.firstTime('key', 1_000, 60_000), b.firstTime('key', 1_000, 60_000)]);
        expect(once.filter(Boolean)).toHaveLength(1);
        // An expired lease is taken over by exactly one of two contenders.
        const takeover = await Promise.all([
          a.tryLease('poller', 'c', 20_000, 10_000),
          b.tryLease('poller', 'd', 20_000, 10_000),
        ]);
        expect(takeover.filter(Boolean)).toHaveLength(1);
      });
    });
  });
}
