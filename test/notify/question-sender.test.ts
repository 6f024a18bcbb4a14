/**
 * The sender's question kinds against a recording fake Slack, a real in-memory store and a fake
 * clock: the DM posted once (its place saved with the question), a DM Slack refuses for good (the
 * card's thread told, the question ended), a lost answer looked up before any second post, a
 * question ended before its DM went, and the DM's redraw once answered.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { questionDmItem, questionFacts, questionUpdateItem } from '../../src/core/outbox.ts';
import type { NewQuestion } from '../../src/core/records.ts';
import { createLogger } from '../../src/log.ts';
import { createSender, type Sender } from '../../src/notify/sender/loop.ts';
import type { OutgoingMessage, SlackPort, SlackView, Store } from '../../src/ports.ts';
import { ACTIONS } from '../../src/slack/ids.ts';
import { questionRenderer } from '../../src/slack/listeners/actions/ask-user-views.ts';
import { createSlackPort } from '../../src/slack/port.ts';
import { createCardRenderer } from '../../src/slack/render.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { createHealth } from '../../src/telemetry/health.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';
import { config } from '../service/fakes.ts';
import { alert as makeAlert } from '../support/alerts.ts';

const CHANNEL = 'C0ALERTS';
const CARD_TS = '1795000000.000100';
const DM = 'D0JANE';
const platform = (error: string) =>
  Object.assign(new Error(`An API error occurred: ${error}`), { code: 'slack_webapi_platform_error', data: { error } });

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
  const failPost: { error: string; afterCommit?: boolean }[] = [];
  let n = 0;
  const port: SlackPort = {
    async post(m) {
      const step = failPost.shift();
      if (step && !step.afterCommit) throw platform(step.error);
      const ts = `1795000001.${String(++n).padStart(6, '0')}`;
      posts.push({ ...m, ts });
      if (step) throw platform(step.error);
      return { channel: m.channel, ts };
    },
    async update(m) {
      updates.push(m);
    },
    async findMessage(q) {
      const hit = posts.find((m) => m.metadata?.event_type === q.eventType && m.metadata.event_payload.key === q.key);
      return hit ? { found: hit.ts } : 'absent';
    },
    classify: createSlackPort({} as never).classify,
  };
  const metrics = createMetrics();
  const alert = makeAlert({ title: 'Impossible travel: jane@acme.io', severity: 'high' });
  const grant = await store.tryLease('poller', 'test', 3_600_000);
  sender = createSender({
    store,
    fence: () => ({ lease: 'poller', token: grant.token }),
    slack: port,
    render: createCardRenderer(config, { interactive: true }),
    cotool: {
      getAlert: async () => ({ ...alert, timeline: [] }),
      listTimeline: async () => {
        throw new Error('not used');
      },
    },
    health: createHealth('http'),
    logger: createLogger('debug', new Writable({ write: (_c, _e, cb) => cb() })),
    metrics,
    owner: 'test',
    pace: { postRatePerSec: 1_000, postBurst: 1_000, updatesPerMinute: 60_000 },
    channels: [CHANNEL],
    claimStaleMs: 60_000,
    isLeader: () => true,
    clock: () => now,
    idleMs: 5,
    retryBaseMs: 1,
    unknownSettleMs: 10,
    renderQuestion: questionRenderer,
  });
  sender.start();
  const s = sender;
  const q: NewQuestion = {
    id: 'q-1',
    alertId: alert.id,
    displayId: alert.displayId,
    channel: CHANNEL,
    threadTs: CARD_TS,
    askedBy: { id: 'U0BOB', name: 'Bob' },
    askedUserId: 'U0JANE',
    askedAt: now,
    deadline: now + 30 * 60_000,
  };
  return {
    store,
    posts,
    updates,
    failPost,
    metrics,
    q,
    advance: (ms: number) => {
      now += ms;
    },
    async ask() {
      const r = await store.apply([
        { question: { op: 'ask', q }, enqueue: [questionDmItem(q, DM, questionFacts(alert, 'Was this you?'), now)] },
      ]);
      expect(r.conflicts).toBe(0);
    },
    async drain() {
      await s.wake();
      expect(await s.whenIdle(5_000, 0)).toBe(true);
    },
  };
}

const json = (v: unknown) => JSON.stringify(v);

describe('question_dm', () => {
  it('posts the DM once, with its buttons and metadata, and saves where it went with the question', async () => {
    const t = await setup();
    await t.ask();
    await t.drain();
    expect(t.posts).toHaveLength(1);
    expect(t.posts[0]?.channel).toBe(DM);
    expect(json(t.posts[0]?.blocks)).toContain(ACTIONS.answerYes);
    expect(json(t.posts[0]?.blocks)).toContain('Was this you?');
    expect(t.posts[0]?.metadata).toMatchObject({
      event_type: 'cotool_question',
      event_payload: { question_id: 'q-1' },
    });
    expect(await t.store.getQuestion('q-1')).toMatchObject({ dmChannel: DM, dmTs: t.posts[0]?.ts, state: 'asked' });
    expect(await t.store.listOutbox({ kind: 'question_dm' })).toHaveLength(0);
  });

  it.each(['messages_tab_disabled', 'cannot_dm_bot', 'user_disabled'])(
    'a DM Slack refuses (%s): not retried; the card’s thread is told and the question ends',
    async (code) => {
      const t = await setup();
      t.failPost.push({ error: code });
      await t.ask();
      await t.drain();
      await t.drain();
      const replies = t.posts.filter((p) => p.channel === CHANNEL);
      expect(replies).toHaveLength(1);
      expect(replies[0]?.thread_ts).toBe(CARD_TS);
      expect(json(replies[0]?.blocks)).toContain(`Could not reach <@U0JANE>`);
      expect(json(replies[0]?.blocks)).toContain(code);
      expect(t.posts.filter((p) => p.channel === DM)).toHaveLength(0);
      expect((await t.store.getQuestion('q-1'))?.state).toBe('timed_out');
      expect(await t.store.listOutbox({ kind: 'question_dm' })).toHaveLength(0);
      expect(await t.metrics.render()).toMatch(/cotool_slack_questions_total\{outcome="unreachable"\} 1/);
    },
  );

  it('a lost answer (internal_error after Slack stored it): found by its metadata, never posted twice', async () => {
    const t = await setup();
    t.failPost.push({ error: 'internal_error', afterCommit: true });
    await t.ask();
    await t.drain();
    t.advance(60_000);
    await t.drain();
    expect(t.posts.filter((p) => p.channel === DM)).toHaveLength(1);
    expect((await t.store.getQuestion('q-1'))?.dmTs).toBe(t.posts[0]?.ts);
  });

  it('a question that ended before its DM went is not asked any more', async () => {
    const t = await setup();
    await t.ask();
    await t.store.apply([{ question: { op: 'timeout', id: 'q-1', at: 1 } }]);
    await t.drain();
    expect(t.posts).toHaveLength(0);
  });
});

describe('question_update', () => {
  it('redraws the DM without buttons once answered, with the answer and the note', async () => {
    const t = await setup();
    await t.ask();
    await t.drain();
    const posted = t.posts[0]?.ts;
    await t.store.apply([
      {
        question: { op: 'answer', id: 'q-1', userId: 'U0JANE', answer: 'no', note: 'not me', at: 2 },
        enqueue: [questionUpdateItem(t.q, DM, 2)],
      },
    ]);
    await t.drain();
    expect(t.updates).toHaveLength(1);
    expect(t.updates[0]).toMatchObject({ channel: DM, ts: posted });
    expect(json(t.updates[0]?.blocks)).not.toContain(ACTIONS.answerYes);
    expect(json(t.updates[0]?.blocks)).toContain('not me');
  });
});
