/**
 * The sender against a recording fake Slack, a real in-memory store and a fake clock: how it reads
 * Slack's answers (maybe done, transient, operator, payload) and a look-up that could not finish.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/core/alert.ts';
import { cardCopyItem, cardItem, cardUpdateItem, outboxKey, PRIORITY, reminderItem } from '../../src/core/outbox.ts';
import { createLogger } from '../../src/log.ts';
import { createSender, type Sender } from '../../src/notify/sender/loop.ts';
import type { FoundMessage, OutgoingMessage, SlackPort, SlackView, Store } from '../../src/ports.ts';
import { createSlackPort } from '../../src/slack/port.ts';
import { createCardRenderer } from '../../src/slack/render.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { createHealth, readiness } from '../../src/telemetry/health.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';
import { config } from '../service/fakes.ts';
import { seedPostedCard } from '../store/seed.ts';
import { alert as makeAlert } from '../support/alerts.ts';

const CHANNEL = 'C0ALERTS';
const platform = (error: string) =>
  Object.assign(new Error(`An API error occurred: ${error}`), { code: 'slack_webapi_platform_error', data: { error } });

type Step = { error: string; afterCommit?: boolean; err?: Error };

/** A Slack that records what it stores and answers from a script of failures, per method. */
function recordingSlack() {
  const messages: (OutgoingMessage & { ts: string })[] = [];
  const updates: (SlackView & { channel: string; ts: string })[] = [];
  const script: Record<'post' | 'update', Step[]> = { post: [], update: [] };
  const found: FoundMessage[] = [];
  const calls: string[] = [];
  const classify = createSlackPort({} as never).classify;
  let n = 0;
  const port: SlackPort = {
    async post(m) {
      calls.push('post');
      const step = script.post.shift();
      if (step && !step.afterCommit) throw platform(step.error);
      const ts = `1795000001.${String(++n).padStart(6, '0')}`;
      messages.push({ ...m, ts });
      if (step) throw platform(step.error);
      return { channel: m.channel, ts };
    },
    async update(m) {
      calls.push('update');
      const step = script.update.shift();
      if (step) throw step.err ?? platform(step.error);
      updates.push(m);
    },
    async findMessage(q) {
      calls.push('find');
      const scripted = found.shift();
      if (scripted) return scripted;
      const hit = messages.find(
        (m) => m.metadata?.event_type === q.eventType && m.metadata.event_payload.key === q.key,
      );
      return hit ? { found: hit.ts } : 'absent';
    },
    classify,
  };
  return { port, messages, updates, script, found, calls };
}

let sender: Sender | undefined;
afterEach(async () => {
  await sender?.stop(1_000);
  sender = undefined;
});

async function setup(
  opts: { retryBaseMs?: number; start?: boolean; updatesPerMinute?: number; alerts?: Map<string, Alert> } = {},
) {
  let now = Date.parse('2026-12-06T06:00:00.000Z');
  // The store's ownership clock is the test's (claims, holds and retries on the same fake time).
  const store: Store = openSqliteStore(':memory:', { dbClock: () => now });
  const slack = recordingSlack();
  const health = createHealth('http');
  const metrics = createMetrics();
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
  const clock = () => now;
  const render = createCardRenderer(config, { interactive: true });
  // The sender sends under the poller's lease (its fence).
  const grant = await store.tryLease('poller', 'test', 3_600_000);
  sender = createSender({
    store,
    fence: () => ({ lease: 'poller', token: grant.token }),
    slack: slack.port,
    render,
    cotool: {
      getAlert: async (id: string) => {
        const a = opts.alerts?.get(id);
        if (!a) throw new Error('not used');
        return { ...a, timeline: [] };
      },
      listTimeline: async () => {
        throw new Error('not used');
      },
    },
    health,
    logger,
    metrics,
    owner: 'test',
    pace: { postRatePerSec: 1_000, postBurst: 1_000, updatesPerMinute: opts.updatesPerMinute ?? 60_000 },
    channels: [CHANNEL],
    claimStaleMs: 60_000,
    isLeader: () => true,
    clock,
    idleMs: 5,
    retryBaseMs: opts.retryBaseMs ?? 1_000,
    unknownSettleMs: 5_000,
  });
  if (opts.start !== false) sender.start();
  const s = sender;
  return {
    sender: s,
    store,
    slack,
    health,
    metrics,
    logs,
    render,
    advance: (ms: number) => {
      now += ms;
    },
    now: clock,
    /** Lets the sender do everything due now. */
    async drain() {
      await s.wake();
      expect(await s.whenIdle(5_000, 0)).toBe(true);
    },
    async queueCard(a: Alert) {
      await store.apply([
        {
          card: {
            op: 'insert',
            alertId: a.id,
            displayId: a.displayId,
            state: 'queued',
            channel: CHANNEL,
            status: a.status,
            updatedAt: a.updatedAt,
            fingerprint: null,
          },
          enqueue: [cardItem(a.id, CHANNEL, a, PRIORITY.none, now)],
        },
      ]);
    },
  };
}

const cardsOf = (msgs: readonly OutgoingMessage[], alertId: string) =>
  msgs.filter((m) => m.metadata?.event_type === 'cotool_alert' && m.metadata.event_payload.alert_id === alertId);

describe('the sender reads Slack’s answers', () => {
  it('internal_error after Slack stored the card: kept unknown, looked up, exactly one card', async () => {
    const t = await setup();
    const a = makeAlert();
    t.slack.script.post.push({ error: 'internal_error', afterCommit: true });
    await t.queueCard(a);
    await t.drain();
    const [item] = await t.store.listOutbox({ kind: 'card' });
    expect(item).toMatchObject({ unknown: true, state: 'pending' });
    expect((await t.store.get(a.id))?.state).toBe('queued');
    t.advance(5_000);
    await t.drain();
    expect(cardsOf(t.slack.messages, a.id)).toHaveLength(1);
    expect(t.slack.calls).toEqual(['post', 'find', 'update']);
    expect(await t.store.get(a.id)).toMatchObject({ state: 'posted', ts: t.slack.messages[0]?.ts });
    expect(await t.store.listOutbox({ kind: 'card' })).toEqual([]);
    // What it shows may be older than the alert: redrawn, never posted again.
    t.advance(60_000);
    await t.drain();
    expect(cardsOf(t.slack.messages, a.id)).toHaveLength(1);
  });

  it('fatal_error after Slack stored it, twice in a row for two cards: one card each', async () => {
    const t = await setup();
    const [a, b] = [makeAlert(), makeAlert()];
    t.slack.script.post.push({ error: 'fatal_error', afterCommit: true }, { error: 'fatal_error', afterCommit: true });
    await t.queueCard(a);
    await t.queueCard(b);
    await t.drain();
    t.advance(5_000);
    await t.drain();
    expect(cardsOf(t.slack.messages, a.id)).toHaveLength(1);
    expect(cardsOf(t.slack.messages, b.id)).toHaveLength(1);
    expect(t.slack.messages).toHaveLength(2);
  });

  it('20 transient refusals in a row: still pending, never dropped; sent once Slack recovers', async () => {
    const t = await setup();
    const a = makeAlert();
    for (let i = 0; i < 20; i++) t.slack.script.post.push({ error: i % 2 ? 'service_unavailable' : 'request_timeout' });
    await t.queueCard(a);
    for (let i = 0; i < 20; i++) {
      await t.drain();
      const items = await t.store.listOutbox({ kind: 'card' });
      expect(items).toHaveLength(1);
      expect(items[0]).toMatchObject({ state: 'pending', attempts: i + 1, unknown: false });
      // Capped backoff: never more than 30 s away.
      expect((items[0]?.notBefore ?? 0) - t.now()).toBeLessThanOrEqual(30_000);
      expect((await t.store.get(a.id))?.state).toBe('queued');
      t.advance(30_000);
    }
    expect(t.slack.script.post).toEqual([]); // Slack has recovered
    await t.drain();
    expect(cardsOf(t.slack.messages, a.id)).toHaveLength(1);
    expect((await t.store.get(a.id))?.state).toBe('posted');
    expect(await t.store.listOutbox()).toEqual([]);
    expect(t.slack.calls.filter((c) => c === 'find')).toHaveLength(0); // nothing was maybe done
  });

  it('invalid_blocks: the minimal card is posted (with the card’s metadata), counted and listed on /readyz', async () => {
    const t = await setup();
    const a = makeAlert({ title: '<!channel> *bold* & <https://evil|x>' });
    t.slack.script.post.push({ error: 'invalid_blocks' });
    await t.queueCard(a);
    await t.drain();
    const cards = cardsOf(t.slack.messages, a.id);
    expect(cards).toHaveLength(1);
    const card = cards[0] as OutgoingMessage;
    expect(card.metadata?.event_payload.key).toBe(outboxKey.card(a.id));
    const text = JSON.stringify(card.blocks);
    expect(text).toContain(a.displayId);
    expect(text).toContain('Open in Cotool');
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<https://evil');
    expect(text).not.toContain('"actions"'); // no buttons
    expect(await t.store.get(a.id)).toMatchObject({ state: 'posted', ts: (card as unknown as { ts: string }).ts });
    expect(await t.metrics.render()).toContain(
      'cotool_slack_fallback_messages_total{kind="card",fallback="minimal"} 1',
    );
    const r = readiness({ ...t.health, lease: 'follower' });
    expect(r.ready).toBe(true);
    expect(r.slackProblems).toEqual([
      expect.objectContaining({ kind: 'fallback', channel: CHANNEL, code: 'invalid_blocks' }),
    ]);
    expect(t.logs.some((l) => l.includes('sending the minimal version instead'))).toBe(true);
  });

  it('a card update refused for its content: the minimal update shows the new status, without buttons', async () => {
    const t = await setup();
    const a = makeAlert();
    await t.queueCard(a);
    await t.drain();
    const closed = { ...a, status: 'closed_false_positive', updatedAt: '2026-11-23T11:00:00.000Z' } as Alert;
    t.slack.script.update.push({ error: 'msg_too_long' });
    await t.store.apply([
      {
        enqueue: [
          {
            key: outboxKey.cardUpdate(a.id),
            kind: 'card_update',
            lane: 'update',
            channel: CHANNEL,
            cardKey: a.id,
            priority: PRIORITY.none,
            orderAt: t.now(),
            payload: JSON.stringify({ alertId: a.id, alert: closed }),
          },
        ],
      },
    ]);
    await t.drain();
    expect(t.slack.updates).toHaveLength(1);
    expect(JSON.stringify(t.slack.updates[0]?.blocks)).toContain('Closed');
    expect(JSON.stringify(t.slack.updates[0]?.blocks)).not.toContain('"actions"');
    expect(await t.store.get(a.id)).toMatchObject({ status: 'closed_false_positive', final: true });
    expect(await t.metrics.render()).toContain(
      'cotool_slack_fallback_messages_total{kind="card_update",fallback="minimal"} 1',
    );
  });

  it('a digest refused for its content: the minimal digest (count and ids) is posted and recorded', async () => {
    const t = await setup();
    const members = [makeAlert(), makeAlert(), makeAlert()];
    await t.store.apply([
      {
        storm: { op: 'open', id: 'storm-1', channel: CHANNEL, at: t.now() },
        members: members.map((m) => ({
          stormId: 'storm-1',
          alertId: m.id,
          displayId: m.displayId,
          groupKey: 'd1',
          groupName: 'Impossible travel',
          severity: m.severity,
          status: m.status,
          title: m.title,
          createdAt: m.createdAt,
          updatedAt: m.updatedAt,
        })),
        enqueue: [
          {
            key: outboxKey.digest('storm-1'),
            kind: 'digest',
            lane: 'post',
            channel: CHANNEL,
            cardKey: null,
            priority: PRIORITY.digest,
            orderAt: t.now(),
            payload: JSON.stringify({ stormId: 'storm-1' }),
          },
        ],
      },
    ]);
    t.slack.script.post.push({ error: 'msg_too_long' });
    await t.drain();
    // The digest, then the storm's ids one by one in its thread.
    const top = t.slack.messages.filter((m) => !m.thread_ts);
    expect(top).toHaveLength(1);
    const digest = top[0];
    const lists = t.slack.messages.filter((m) => m.thread_ts === digest?.ts);
    expect(lists.map((m) => m.metadata?.event_type)).toEqual(['cotool_digest_ids']);
    for (const m of members) expect(JSON.stringify(lists[0]?.blocks)).toContain(m.displayId);
    expect(digest?.metadata).toMatchObject({ event_type: 'cotool_digest', event_payload: { storm_id: 'storm-1' } });
    for (const m of members) expect(JSON.stringify(digest?.blocks)).toContain(m.displayId);
    expect(JSON.stringify(digest?.blocks)).toContain('3 alerts');
    expect((await t.store.getStorm('storm-1'))?.ts).toBe(digest?.ts);
    expect(await t.metrics.render()).toContain(
      'cotool_slack_fallback_messages_total{kind="digest",fallback="minimal"} 1',
    );
  });

  it('a look-up that could not finish is not "not there": nothing posted, the item stays unknown', async () => {
    const t = await setup();
    const a = makeAlert();
    t.slack.script.post.push({ error: 'internal_error' }); // refused before storing: not in Slack
    await t.queueCard(a);
    await t.drain();
    t.slack.found.push('unknown', 'unknown');
    for (let i = 0; i < 2; i++) {
      t.advance(30_000);
      await t.drain();
      expect(t.slack.messages).toHaveLength(0);
      expect((await t.store.listOutbox({ kind: 'card' }))[0]).toMatchObject({ unknown: true, state: 'pending' });
    }
    expect(t.slack.calls).toEqual(['post', 'find', 'find']);
    t.advance(30_000);
    await t.drain(); // the look-up now reads every page: absent, so it is posted
    expect(t.slack.calls).toEqual(['post', 'find', 'find', 'find', 'post']);
    expect(cardsOf(t.slack.messages, a.id)).toHaveLength(1);
  });

  it('not_in_channel: kept and retried slowly, shown on /readyz without failing it, cleared once it works', async () => {
    // retryBaseMs 10: tried again every 300 ms (30 s by default); the clock moves 30 s a step.
    const t = await setup({ retryBaseMs: 10 });
    const a = makeAlert();
    for (let i = 0; i < 3; i++) t.slack.script.post.push({ error: 'not_in_channel' });
    await t.queueCard(a);
    for (let i = 0; i < 3; i++) {
      await t.drain();
      const [item] = await t.store.listOutbox({ kind: 'card' });
      expect(item?.notBefore).toBe(t.now() + 300);
      t.advance(30_001);
    }
    const r = readiness({ ...t.health, lease: 'follower' });
    expect(r.ready).toBe(true);
    expect(r.slackProblems).toEqual([
      expect.objectContaining({ kind: 'operator', channel: CHANNEL, code: 'not_in_channel' }),
    ]);
    expect(r.checks.find((c) => c.name === 'slack_writes')).toMatchObject({ ok: true });
    // Logged once a minute per channel, not once per try (3 tries over 60 s: 2 lines).
    expect(t.logs.filter((l) => l.includes('"level":50') && l.includes('invite it there'))).toHaveLength(2);
    await t.drain();
    expect(cardsOf(t.slack.messages, a.id)).toHaveLength(1);
    expect(t.health.slackProblems).toEqual([]);
  });
});

/**
 * The interactive lane, played step by step on the fake clock (the sender's loops not started: each
 * `drain(lane)` sends what that lane may send now).
 */
describe('the interactive lane (a click’s redraws)', () => {
  const at = (min: number) => `2026-12-06T05:${String(min).padStart(2, '0')}:00.000Z`;
  async function posted(t: Awaited<ReturnType<typeof setup>>, n: number, updatedAt = at(0)) {
    const a = makeAlert({ updatedAt });
    await seedPostedCard(t.store, {
      alertId: a.id,
      displayId: a.displayId,
      channel: CHANNEL,
      ts: `1795000000.${String(n).padStart(6, '0')}`,
      status: a.status,
      updatedAt,
      fingerprint: 'old',
    });
    return a;
  }
  const tsOf = (n: number) => `1795000000.${String(n).padStart(6, '0')}`;

  it('a redraw jumps the update backlog, and takes its turn from the same chat.update budget', async () => {
    // 60 updates a minute (one a second), a burst of 3.
    const t = await setup({ start: false, updatesPerMinute: 60 });
    const backlog: Alert[] = [];
    for (let i = 1; i <= 6; i++) backlog.push(await posted(t, i));
    await t.store.apply([
      { enqueue: backlog.map((a, i) => cardUpdateItem(a.id, CHANNEL, a.id, { ...a, title: `v${i}` }, t.now())) },
    ]);
    expect(await t.sender.drain('update')).toBe(3); // the burst; three left behind the pacer
    const clicked = await posted(t, 7);
    await t.store.apply([
      {
        enqueue: [
          cardUpdateItem(clicked.id, CHANNEL, clicked.id, { ...clicked, status: 'in_progress' }, t.now(), {
            interactive: true,
          }),
        ],
      },
    ]);
    expect(await t.sender.drain('update')).toBe(0);
    // The click's redraw goes at once, though the budget is spent…
    expect(await t.sender.drain('interactive')).toBe(1);
    expect(t.slack.updates.map((u) => u.ts)).toEqual([tsOf(1), tsOf(2), tsOf(3), tsOf(7)]);
    expect(await t.store.get(clicked.id)).toMatchObject({ status: 'in_progress' });
    // …and the update lane pays for it: a second brings its token back only to zero, two to one.
    t.advance(1_000);
    expect(await t.sender.drain('update')).toBe(0);
    t.advance(1_000);
    expect(await t.sender.drain('update')).toBe(1);
    expect((await t.store.listOutbox({ kind: 'card_update' })).map((i) => i.lane)).toEqual(['update', 'update']);
  });

  it('a redraw queued from an older version of the alert than the card’s record is dropped as stale', async () => {
    const t = await setup({ start: false });
    const a = await posted(t, 1, at(0));
    const old = cardUpdateItem(a.id, CHANNEL, a.id, { ...a, status: 'in_progress' }, t.now(), { interactive: true });
    await t.store.apply([{ enqueue: [old] }]);
    // A later click recorded a newer version meanwhile (syncCard records before it queues).
    await t.store.apply([
      {
        card: {
          op: 'update',
          alertId: a.id,
          expectState: 'posted',
          set: { status: 'closed_false_positive', updatedAt: at(5) },
        },
      },
    ]);
    expect(await t.sender.drain('interactive')).toBe(1);
    expect(t.slack.updates).toEqual([]);
    expect(await t.store.listOutbox()).toEqual([]);
    expect(await t.store.get(a.id)).toMatchObject({ status: 'closed_false_positive', fingerprint: 'old' });
  });

  it('a 429 on a redraw: retried after Retry-After (both update lanes pause), then drawn and recorded once', async () => {
    const t = await setup({ start: false });
    const a = await posted(t, 1);
    const limited = Object.assign(new Error('rate limited'), {
      code: 'slack_webapi_rate_limited_error',
      retryAfter: 30,
    });
    t.slack.script.update.push({ error: 'ratelimited', err: limited });
    const next = { ...a, status: 'in_progress', updatedAt: at(1) };
    await t.store.apply([{ enqueue: [cardUpdateItem(a.id, CHANNEL, a.id, next, t.now(), { interactive: true })] }]);
    const other = await posted(t, 2);
    await t.store.apply([{ enqueue: [cardUpdateItem(other.id, CHANNEL, other.id, other, t.now())] }]);
    expect(await t.sender.drain('interactive')).toBe(1);
    expect(t.slack.updates).toEqual([]);
    expect(await t.store.get(a.id)).toMatchObject({ fingerprint: 'old' });
    const [held] = await t.store.listOutbox({ kind: 'card_update' });
    expect(held).toMatchObject({ lane: 'interactive', notBefore: t.now() + 30_000, attempts: 1, unknown: false });
    t.advance(29_000);
    expect(await t.sender.drain('interactive')).toBe(0);
    expect(await t.sender.drain('update')).toBe(0); // the pause holds the whole chat.update budget
    t.advance(1_000);
    expect(await t.sender.drain('interactive')).toBe(1);
    expect(t.slack.updates.map((u) => u.ts)).toEqual([tsOf(1)]);
    expect(t.slack.calls).toEqual(['update', 'update']);
    const rec = await t.store.get(a.id);
    expect(rec).toMatchObject({ status: 'in_progress', updatedAt: at(1) });
    expect(rec?.fingerprint).not.toBe('old');
    // The update lane's turn comes once the budget (1,000 a second here) is back above zero.
    expect(await t.sender.drain('update')).toBe(0);
    t.advance(10);
    expect(await t.sender.drain('update')).toBe(1);
  });

  it('a copy of the card elsewhere is redrawn by its place; an unreadable item is dropped and counted', async () => {
    const t = await setup({ start: false });
    const view = { text: 'card', blocks: [] };
    await t.store.apply([
      {
        enqueue: [
          cardCopyItem({ channel: 'C0OTHER', ts: '1795000009.000001' }, 'a1', view, t.now()),
          {
            ...cardCopyItem({ channel: 'C0OTHER', ts: '1795000009.000002' }, 'a1', view, t.now()),
            payload: '{"ts":1}',
          },
        ],
      },
    ]);
    expect(await t.sender.drain('interactive')).toBe(2);
    expect(t.slack.updates).toEqual([{ ...view, channel: 'C0OTHER', ts: '1795000009.000001' }]);
    expect(t.sender.stats.dropped).toBe(1);
    expect(await t.store.listOutbox()).toEqual([]);
  });
});

describe('reminders (nothing waits unseen), on a fake clock', () => {
  const MIN = 60_000;
  async function remindable(t: Awaited<ReturnType<typeof setup>>, a: Alert) {
    await seedPostedCard(t.store, {
      alertId: a.id,
      displayId: a.displayId,
      channel: CHANNEL,
      ts: '1795000000.000001',
      status: a.status,
      updatedAt: a.updatedAt,
      fingerprint: 'fp',
      postedAt: t.now(),
    });
    const payload = { alertId: a.id, displayId: a.displayId, n: 1, afterMs: 15 * MIN, oncall: ['S0ONCALL'] };
    await t.store.apply([{ enqueue: [reminderItem(a.id, CHANNEL, payload, t.now())] }]);
  }
  const threadOf = (t: Awaited<ReturnType<typeof setup>>) =>
    t.slack.messages.filter((m) => m.thread_ts === '1795000000.000001').map((m) => m.text);

  it('held the wait; then one reminder in the thread; the second after the same again; then silence', async () => {
    const a = makeAlert({ severity: 'critical' });
    const t = await setup({ alerts: new Map([[a.id, a]]) });
    await remindable(t, a);
    t.advance(15 * MIN - 1_000);
    await t.drain();
    expect(threadOf(t)).toEqual([]);
    t.advance(1_000);
    await t.drain();
    expect(threadOf(t)).toEqual([
      expect.stringMatching(/^<!subteam\^S0ONCALL> Reminder 1 of 2: .* \(critical\) has waited 15 min/),
    ]);
    expect(await t.store.get(a.id)).toMatchObject({ remindersSent: 1 });
    t.advance(15 * MIN);
    await t.drain();
    expect(threadOf(t)).toHaveLength(2);
    expect(threadOf(t)[1]).toContain('Reminder 2 of 2');
    t.advance(60 * MIN);
    await t.drain();
    expect(threadOf(t)).toHaveLength(2);
    expect(await t.store.listOutbox({ kind: 'reminder' })).toEqual([]);
  });

  const actedFromSlack = (store: Store, id: string) =>
    store.setLastAction(id, { by: { id: 'U0ANA', name: 'Ana' }, kind: 'status', status: 'escalated', at: 'now' });
  const owned = async (store: Store, id: string) => {
    await store.apply([
      { card: { op: 'update', alertId: id, expectState: 'posted', set: { owner: { id: 'U0ANA', name: 'Ana' } } } },
    ]);
  };
  const nothing = async () => undefined;
  it.each([
    ['someone acted from Slack', actedFromSlack, {}],
    ['someone owns it', owned, {}],
    ['it was closed in Cotool', nothing, { status: 'closed_false_positive' }],
    ['it was marked in progress in Cotool', nothing, { status: 'in_progress' }],
    ['its severity went down to medium', nothing, { severity: 'medium' }],
  ] as const)('no reminder when %s', async (_why, act, alertPatch) => {
    const a = makeAlert({ severity: 'high' });
    const t = await setup({ alerts: new Map([[a.id, { ...a, ...alertPatch }]]) });
    await remindable(t, a);
    await act(t.store, a.id);
    t.advance(16 * MIN);
    await t.drain();
    expect(threadOf(t)).toEqual([]);
    expect(await t.store.listOutbox({ kind: 'reminder' })).toEqual([]);
  });

  it('a card posted late (a storm) waits its own full time; a lost answer is looked up, not repeated', async () => {
    const a = makeAlert({ severity: 'critical' });
    const t = await setup({ alerts: new Map([[a.id, a]]) });
    await remindable(t, a);
    // The card reached Slack 10 min after the reminder was planned.
    await t.store.apply([
      { card: { op: 'update', alertId: a.id, expectState: 'posted', set: { postedAt: t.now() + 10 * MIN } } },
    ]);
    t.advance(15 * MIN);
    await t.drain();
    expect(threadOf(t)).toEqual([]);
    t.slack.script.post.push({ error: 'internal_error', afterCommit: true });
    t.advance(10 * MIN);
    await t.drain();
    t.advance(10_000);
    await t.drain();
    expect(threadOf(t)).toHaveLength(1);
    expect(await t.store.get(a.id)).toMatchObject({ remindersSent: 1 });
  });
});
