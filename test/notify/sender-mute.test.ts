/**
 * The sender's mute handlers against a recording fake Slack, a real in-memory store and a fake
 * clock: the mute's message is posted once and its ts saved with the mute; an id list or a redraw
 * queued before that message is out waits for it (an id list needs its thread); the end is its own
 * top-level message.
 */

import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { muteEndItem, muteIdsItem, muteMessageItem, muteUpdateItem } from '../../src/core/outbox.ts';
import type { NewMute } from '../../src/core/records.ts';
import { createLogger } from '../../src/log.ts';
import { createSender, type Sender } from '../../src/notify/sender/loop.ts';
import type { OutgoingMessage, SlackPort, SlackView, Store } from '../../src/ports.ts';
import { createMuteRenderer } from '../../src/slack/mute-render.ts';
import { createSlackPort } from '../../src/slack/port.ts';
import { createCardRenderer } from '../../src/slack/render.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { createHealth } from '../../src/telemetry/health.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';
import { config } from '../service/fakes.ts';

const CHANNEL = 'C0ALERTS';
const HOUR = 3_600_000;
let sender: Sender | undefined;
afterEach(async () => {
  await sender?.stop(1_000);
  sender = undefined;
});

async function setup() {
  let now = Date.parse('2026-12-06T06:00:00.000Z');
  const store: Store = openSqliteStore(':memory:', { dbClock: () => now });
  const posts: (OutgoingMessage & { ts: string })[] = [];
  const updates: (SlackView & { channel: string; ts: string })[] = [];
  let n = 0;
  const port: SlackPort = {
    async post(m) {
      const ts = `1795000001.${String(++n).padStart(6, '0')}`;
      posts.push({ ...m, ts });
      return { channel: m.channel, ts };
    },
    async update(m) {
      updates.push(m);
    },
    async findMessage() {
      return 'absent';
    },
    classify: createSlackPort({} as never).classify,
  };
  const logger = createLogger(
    'debug',
    new Writable({
      write(_c, _e, cb) {
        cb();
      },
    }),
  );
  const grant = await store.tryLease('poller', 'test', 3_600_000);
  sender = createSender({
    metrics: createMetrics(),
    store,
    fence: () => ({ lease: 'poller', token: grant.token }),
    slack: port,
    render: createCardRenderer(config, { interactive: true }),
    renderMute: createMuteRenderer(config),
    cotool: {
      getAlert: async () => {
        throw new Error('not used');
      },
      listTimeline: async () => {
        throw new Error('not used');
      },
    },
    health: createHealth('http'),
    logger,
    owner: 'test',
    pace: { postRatePerSec: 1_000, postBurst: 1_000, updatesPerMinute: 60_000 },
    channels: [CHANNEL],
    claimStaleMs: 60_000,
    isLeader: () => true,
    clock: () => now,
    idleMs: 5,
  });
  sender.start();
  const s = sender;
  const m: NewMute = {
    id: 'm1',
    channel: CHANNEL,
    detectionKey: 'id:d-1',
    detectionName: 'Impossible travel',
    by: { id: 'U0JANE', name: 'Jane Doe' },
    reason: 'pentest',
    createdAt: now,
    until: now + 4 * HOUR,
    sourceAlertId: null,
  };
  await store.apply([{ mute: { op: 'create', m } }]);
  return {
    store,
    posts,
    updates,
    m,
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
    async drain() {
      await s.wake();
      expect(await s.whenIdle(5_000, 0)).toBe(true);
    },
  };
}

const kindOf = (p: OutgoingMessage) => p.metadata?.event_type;

describe('the mute handlers', () => {
  it('an id list queued before the mute message is out waits for it, then goes in its thread; the message is posted once with its ts saved', async () => {
    const t = await setup();
    // Held back before its message could be posted (its item is held by a pause, say).
    await t.store.apply([
      {
        mute: { op: 'count', id: 'm1', alertId: 'a1', displayId: 'COT-1' },
        enqueue: [muteIdsItem(t.m, ['COT-1'], 1, t.now())],
      },
    ]);
    await t.drain();
    expect(t.posts).toEqual([]);
    await t.store.apply([{ enqueue: [muteMessageItem(t.m, t.now()), muteUpdateItem(t.m, t.now())] }]);
    await t.drain();
    expect(t.posts.map(kindOf)).toEqual(['cotool_mute']);
    const ts = t.posts[0]?.ts;
    expect((await t.store.getMute('m1'))?.ts).toBe(ts);
    expect(JSON.stringify(t.posts[0]?.blocks)).toContain('1 alert');
    t.advance(3_000); // the id list's wait is over
    await t.drain();
    expect(t.posts.map(kindOf)).toEqual(['cotool_mute', 'cotool_mute_ids']);
    expect(t.posts[1]).toMatchObject({ thread_ts: ts, reply_broadcast: false });
    expect(JSON.stringify(t.posts[1]?.blocks)).toContain('`COT-1`');
    // The message item again (a redelivered enqueue): not posted twice.
    await t.store.apply([{ enqueue: [muteMessageItem(t.m, t.now())] }]);
    await t.drain();
    expect(t.posts.filter((p) => kindOf(p) === 'cotool_mute')).toHaveLength(1);
  });

  it('a redraw edits the message from the mute’s counts; the end is a message of its own with the tally', async () => {
    const t = await setup();
    await t.store.apply([{ enqueue: [muteMessageItem(t.m, t.now())] }]);
    await t.drain();
    for (const [i, id] of ['COT-1', 'COT-2'].entries()) {
      await t.store.apply([{ mute: { op: 'count', id: 'm1', alertId: `a${i}`, displayId: id } }]);
    }
    await t.store.apply([{ enqueue: [muteUpdateItem(t.m, t.now())] }]);
    await t.drain();
    expect(t.updates).toHaveLength(1);
    expect(t.updates[0]).toMatchObject({ channel: CHANNEL, ts: t.posts[0]?.ts });
    expect(JSON.stringify(t.updates[0]?.blocks)).toContain('2 alerts');
    t.advance(HOUR / 2); // (within the sender's lease)
    await t.store.apply([
      {
        mute: { op: 'end', id: 'm1', at: t.now(), by: { id: 'U0BOB', name: 'Bob' } },
        enqueue: [muteUpdateItem(t.m, t.now()), muteEndItem(t.m, t.now())],
      },
    ]);
    await t.drain();
    const end = t.posts.find((p) => kindOf(p) === 'cotool_mute_end');
    expect(end?.thread_ts).toBeUndefined();
    expect(JSON.stringify(end?.blocks)).toContain('muted 30 min: 2 alerts, 0 escalated');
    expect(JSON.stringify(t.updates.at(-1)?.blocks)).toContain('was muted');
  });
});
