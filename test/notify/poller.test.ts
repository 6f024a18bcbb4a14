import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Alert, AlertWithTimeline, TimelineEntry } from '../../src/cotool/schemas.ts';
import { createHealth } from '../../src/http/health.ts';
import { createLogger } from '../../src/log.ts';
import { type CardRenderer, createPoller, type OutgoingMessage, type SlackPort } from '../../src/notify/poller.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/store.ts';
import { alert } from '../support/alerts.ts';

const T0 = Date.parse('2026-11-23T12:00:00.000Z');

function platformError(error: string) {
  return Object.assign(new Error(`An API error occurred: ${error}`), {
    code: 'slack_webapi_platform_error',
    data: { ok: false, error },
  });
}
class NotFound extends Error {
  isNotFound() {
    return true;
  }
}

function fakeSlack() {
  let seq = 0;
  const messages: (OutgoingMessage & { ts: string; at: number })[] = [];
  const updates: { channel: string; ts: string; text: string }[] = [];
  const failPosts: (Error | null)[] = []; // null: that post goes through
  const port: SlackPort = {
    async post(m) {
      const err = failPosts.shift();
      if (err) throw err;
      const ts = `1700000000.${String(++seq).padStart(6, '0')}`;
      messages.push({ ...m, ts, at: seq });
      return { channel: m.channel, ts };
    },
    async update(m) {
      updates.push({ channel: m.channel, ts: m.ts, text: m.text });
    },
    async findCard(_channel, alertId) {
      const hit = messages.find((m) => !m.thread_ts && m.metadata?.event_payload.alert_id === alertId);
      return hit?.ts ?? null;
    },
  };
  return { port, messages, updates, failPosts, cards: () => messages.filter((m) => !m.thread_ts) };
}

function fakeCotool(initial: Alert[] = []) {
  const alerts = new Map(initial.map((a) => [a.id, a]));
  const timelines = new Map<string, TimelineEntry[]>();
  let failures = 0;
  return {
    alerts,
    timelines,
    failNext(n: number) {
      failures = n;
    },
    client: {
      async listAllAlerts() {
        if (failures > 0) {
          failures--;
          throw new Error('Cotool GET /api/alerts failed: HTTP 500');
        }
        const live = [...alerts.values()].filter((a) => ['open', 'in_progress', 'escalated'].includes(a.status));
        return { alerts: live.reverse(), totalCount: live.length, skipped: 0, pages: 1 };
      },
      async getAlert(id: string): Promise<AlertWithTimeline> {
        const a = alerts.get(id);
        if (!a) throw new NotFound('404');
        return { ...a, timeline: timelines.get(id) ?? [] };
      },
    },
  };
}

const render: CardRenderer = {
  card: (a, record) => ({
    text: `${a.displayId} ${a.status} ${a.title}${record?.lastAction ? ` by ${record.lastAction.by.name}` : ''}`,
    blocks: [],
  }),
  gone: (r) => ({ text: `${r.displayId} gone`, blocks: [] }),
  escalationReply: (a, who) => ({
    text: `${a.displayId} escalated by ${who.by ?? '?'}: ${who.reason ?? ''}`,
    blocks: [],
  }),
  fingerprint: (v) => v.text,
};

function setup(initial: Alert[], opts: { store?: Store; firstRunDone?: boolean } = {}) {
  let now = T0;
  const store = opts.store ?? openSqliteStore(':memory:', () => now);
  const slack = fakeSlack();
  const cotool = fakeCotool(initial);
  const health = createHealth('socket');
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger('debug', sink);
  const make = () =>
    createPoller({
      store,
      cotool: cotool.client,
      slack: slack.port,
      render,
      channel: 'C0ALERTS',
      policy: { minSeverity: null, sources: [], backlog: 'all', backlogMaxAgeMs: 3_600_000, claimStaleMs: 30_000 },
      health,
      logger,
      clock: () => now,
    });
  return {
    store,
    slack,
    cotool,
    health,
    lines,
    make,
    poller: make(),
    tick: (ms: number) => {
      now += ms;
    },
  };
}

describe('poller', () => {
  it('posts one card per new alert with metadata naming the alert, and no second card next cycle', async () => {
    const a = alert();
    const b = alert();
    const t = setup([a, b]);
    const r1 = await t.poller.runOnce();
    expect(r1).toMatchObject({ ok: true, live: 2, posted: 2, failed: 0 });
    expect(
      t.slack
        .cards()
        .map((m) => m.metadata?.event_payload.alert_id)
        .sort(),
    ).toEqual([a.id, b.id].sort());
    await t.poller.runOnce();
    expect(t.slack.cards()).toHaveLength(2);
    expect(t.health.lastSuccessfulPollAt).not.toBeNull();
  });

  it('a Cotool outage changes nothing in Slack and is never read as "alerts disappeared"', async () => {
    const a = alert();
    const t = setup([a]);
    await t.poller.runOnce();
    t.cotool.failNext(3);
    for (let i = 0; i < 3; i++) expect((await t.poller.runOnce()).ok).toBe(false);
    expect(t.health.consecutiveFailures).toBe(3);
    expect(t.health.lastError?.source).toBe('cotool');
    expect(t.slack.updates).toHaveLength(0);
    const newer = alert();
    t.cotool.alerts.set(newer.id, newer);
    expect(await t.poller.runOnce()).toMatchObject({ ok: true, posted: 1 });
    expect(t.health.consecutiveFailures).toBe(0);
    expect(t.slack.cards()).toHaveLength(2);
  });

  it('edits the card in place only when the rendered card differs', async () => {
    const a = alert();
    const t = setup([a]);
    await t.poller.runOnce();
    t.cotool.alerts.set(a.id, { ...a, updatedAt: '2026-11-23T12:01:00.000Z' });
    await t.poller.runOnce();
    expect(t.slack.updates).toHaveLength(0);
    t.cotool.alerts.set(a.id, { ...a, title: 'Renamed', updatedAt: '2026-11-23T12:02:00.000Z' });
    await t.poller.runOnce();
    expect(t.slack.updates).toEqual([
      { channel: 'C0ALERTS', ts: t.slack.cards()[0]?.ts, text: `${a.displayId} open Renamed` },
    ]);
  });

  it('announces an escalation once, in the thread, broadcast, naming who escalated and why', async () => {
    const a = alert();
    const t = setup([a]);
    await t.poller.runOnce();
    t.cotool.alerts.set(a.id, { ...a, status: 'escalated' });
    t.cotool.timelines.set(a.id, [
      {
        id: 'e1',
        alertId: a.id,
        organizationId: null,
        createdAt: '2026-11-23T12:00:30.000Z',
        actorType: 'agent',
        actorUserId: null,
        actorAgentId: 'ag',
        actorRunId: null,
        actorUserName: null,
        actorUserImageUrl: null,
        actorAgentName: 'Aria',
        kind: 'status_change',
        bodyMarkdown: 'Confirmed credential stuffing',
        beforeStatus: 'open',
        afterStatus: 'escalated',
        metadata: {},
      },
    ]);
    await t.poller.runOnce();
    await t.poller.runOnce();
    const replies = t.slack.messages.filter((m) => m.thread_ts);
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({
      thread_ts: t.slack.cards()[0]?.ts,
      reply_broadcast: true,
      text: `${a.displayId} escalated by Aria: Confirmed credential stuffing`,
    });
    expect(t.slack.updates.map((u) => u.text)).toEqual([`${a.displayId} escalated ${a.title}`]);
  });

  it('a new alert that is already escalated gets its card and the broadcast reply', async () => {
    const t = setup([alert({ status: 'escalated' })]);
    await t.poller.runOnce();
    expect(t.slack.messages.map((m) => Boolean(m.thread_ts))).toEqual([false, true]);
    await t.poller.runOnce();
    expect(t.slack.messages).toHaveLength(2);
  });

  it('a lost escalation reply is retried next cycle, without a second card', async () => {
    const t = setup([alert({ status: 'escalated' })]);
    t.slack.failPosts.push(null, platformError('internal_error')); // the card goes through; the reply fails
    await t.poller.runOnce();
    expect(t.slack.cards()).toHaveLength(1);
    expect(t.slack.messages.filter((m) => m.thread_ts)).toHaveLength(0);
    await t.poller.runOnce();
    expect(t.slack.cards()).toHaveLength(1);
    expect(t.slack.messages.filter((m) => m.thread_ts)).toHaveLength(1);
  });

  it('a card whose alert was closed in Cotool shows the final state and is then left alone', async () => {
    const a = alert();
    const t = setup([a]);
    await t.poller.runOnce();
    t.cotool.alerts.set(a.id, { ...a, status: 'closed_false_positive', resolvedAt: '2026-11-23T12:05:00.000Z' });
    await t.poller.runOnce();
    await t.poller.runOnce();
    expect(t.slack.updates.map((u) => u.text)).toEqual([`${a.displayId} closed_false_positive ${a.title}`]);
    expect((await t.store.get(a.id))?.final).toBe(true);
  });

  it('a card whose alert was deleted in Cotool says so', async () => {
    const a = alert();
    const t = setup([a]);
    await t.poller.runOnce();
    t.cotool.alerts.delete(a.id);
    await t.poller.runOnce();
    expect(t.slack.updates.map((u) => u.text)).toEqual([`${a.displayId} gone`]);
  });

  it('not_in_channel: one actionable log line, claim released, retried next cycle', async () => {
    const t = setup([alert(), alert()]);
    t.slack.failPosts.push(platformError('not_in_channel'));
    const r = await t.poller.runOnce();
    expect(r).toMatchObject({ ok: true, posted: 0, failed: 1 });
    expect(t.lines.filter((l) => l.includes('invite it there'))).toHaveLength(1);
    expect(t.health.lastError?.message).toMatch(/not a member of C0ALERTS/);
    expect(await t.poller.runOnce()).toMatchObject({ posted: 2 });
    expect(t.slack.cards()).toHaveLength(2);
  });

  it('a crash between the post and its confirmation produces no second card after restart', async () => {
    const a = alert();
    const t = setup([a]);
    const crashing: Store = {
      ...t.store,
      markPosted: async () => {
        throw new Error('process killed');
      },
    };
    const first = createPoller({
      store: crashing,
      cotool: t.cotool.client,
      slack: t.slack.port,
      render,
      channel: 'C0ALERTS',
      policy: { minSeverity: null, sources: [], backlog: 'all', backlogMaxAgeMs: 0, claimStaleMs: 30_000 },
      health: t.health,
      logger: createLogger('silent'),
      clock: () => T0,
    });
    await first.runOnce();
    expect(t.slack.cards()).toHaveLength(1);
    expect((await t.store.get(a.id))?.state).toBe('claimed');
    // Restart: a new process (new owner) 40 s later.
    t.tick(40_000);
    await t.make().runOnce();
    expect(t.slack.cards()).toHaveLength(1);
    expect(await t.store.get(a.id)).toMatchObject({ state: 'posted', ts: t.slack.cards()[0]?.ts });
  });

  it('a stale claim whose post never reached Slack is posted', async () => {
    const a = alert();
    const t = setup([a]);
    await t.store.tryClaim(a.id, a.displayId, 'dead-process', T0 - 120_000, 0);
    await t.poller.runOnce();
    expect(t.slack.cards()).toHaveLength(1);
  });

  it('stop() lets the action in flight finish and starts no other', async () => {
    const alerts = Array.from({ length: 5 }, () => alert());
    const t = setup(alerts);
    const slow = t.slack.port.post;
    let release: () => void = () => undefined;
    t.slack.port.post = async (m) => {
      await new Promise<void>((r) => {
        release = r;
      });
      return slow(m);
    };
    const cycle = t.poller.runOnce();
    await new Promise((r) => setTimeout(r, 20));
    const stopping = t.poller.stop(2_000);
    release();
    await stopping;
    await cycle;
    expect(t.slack.cards()).toHaveLength(1);
    expect((await t.store.listUnfinished()).filter((r) => r.state === 'claimed')).toHaveLength(0);
  });
});

describe('poller failures', () => {
  it('a store failure fails the cycle loudly (health, log) without an unhandled rejection', async () => {
    const t = setup([alert()]);
    await t.store.close();
    const r = await t.poller.runOnce();
    expect(r.ok).toBe(false);
    expect(t.health.lastError?.source).toBe('internal');
    expect(t.lines.some((l) => l.includes('poll cycle failed'))).toBe(true);
  });
});

describe('escalations made from Slack, and credit for status changes', () => {
  const jane = { id: 'U0JANE', name: 'Jane Doe' };

  it('a seen alert escalated from Slack (e.g. from /cotool) is carded without paging on-call', async () => {
    const a = alert({ status: 'escalated' });
    const t = setup([a]);
    await t.store.setMeta('bootstrapped_at', 'x');
    await t.store.markSeen(a.id, a.displayId, 'open');
    await t.store.setLastAction(a.id, { by: jane, kind: 'status', status: 'escalated', at: a.updatedAt });
    await t.poller.runOnce();
    await t.poller.runOnce();
    expect(t.slack.cards()).toHaveLength(1);
    expect(t.slack.messages.filter((m) => m.thread_ts)).toHaveLength(0);
    expect(t.slack.cards()[0]?.text).toContain('by Jane Doe');
  });

  it('a carded alert escalated from Slack whose card update failed is not announced by the poller', async () => {
    const a = alert();
    const t = setup([a]);
    await t.poller.runOnce();
    const esc = { ...a, status: 'escalated', updatedAt: '2026-11-23T12:01:00.000Z' };
    t.cotool.alerts.set(a.id, esc);
    await t.store.setLastAction(a.id, { by: jane, kind: 'status', status: 'escalated', at: esc.updatedAt });
    await t.poller.runOnce();
    await t.poller.runOnce();
    expect(t.slack.messages.filter((m) => m.thread_ts)).toHaveLength(0);
    expect((await t.store.get(a.id))?.status).toBe('escalated');
  });

  it('an escalation made in Cotool after a Slack action moved on is announced', async () => {
    const a = alert();
    const t = setup([a]);
    await t.poller.runOnce();
    await t.store.setLastAction(a.id, { by: jane, kind: 'status', status: 'escalated', at: a.updatedAt });
    t.cotool.alerts.set(a.id, { ...a, status: 'in_progress', updatedAt: '2026-11-23T12:01:00.000Z' });
    await t.poller.runOnce(); // the Slack escalation is history now
    expect((await t.store.get(a.id))?.lastAction).toBeNull();
    t.cotool.alerts.set(a.id, { ...a, status: 'escalated', updatedAt: '2026-11-23T12:02:00.000Z' });
    await t.poller.runOnce();
    expect(t.slack.messages.filter((m) => m.thread_ts)).toHaveLength(1);
  });

  it('a closed card credits the Slack user only while the alert keeps that status', async () => {
    const a = alert();
    const t = setup([a]);
    await t.poller.runOnce();
    const fp = { ...a, status: 'closed_false_positive', updatedAt: '2026-11-23T12:01:00.000Z' };
    await t.store.setLastAction(a.id, { by: jane, kind: 'status', status: fp.status, at: fp.updatedAt });
    t.cotool.alerts.set(a.id, fp);
    await t.poller.runOnce();
    expect(t.slack.updates.at(-1)?.text).toContain('by Jane Doe');
    t.cotool.alerts.set(a.id, { ...a, status: 'open', updatedAt: '2026-11-23T12:02:00.000Z' }); // reopened in Cotool
    await t.poller.runOnce();
    t.cotool.alerts.set(a.id, { ...fp, updatedAt: '2026-11-23T12:03:00.000Z' }); // closed again, by someone else
    await t.poller.runOnce();
    expect(t.slack.updates.at(-1)?.text).toBe(`${a.displayId} closed_false_positive ${a.title}`);
  });

  it('a card update that failed during an escalation is tried again next cycle', async () => {
    const a = alert();
    const t = setup([a]);
    await t.poller.runOnce();
    t.cotool.alerts.set(a.id, { ...a, status: 'escalated' });
    const update = t.slack.port.update;
    let failures = 1;
    t.slack.port.update = async (m) => {
      if (failures-- > 0) throw platformError('internal_error');
      return update(m);
    };
    await t.poller.runOnce();
    expect(t.slack.updates).toHaveLength(0);
    expect(t.slack.messages.filter((m) => m.thread_ts)).toHaveLength(1);
    await t.poller.runOnce();
    expect(t.slack.updates.map((u) => u.text)).toEqual([`${a.displayId} escalated ${a.title}`]);
    expect(t.slack.messages.filter((m) => m.thread_ts)).toHaveLength(1);
  });

  it('a post whose answer was lost keeps its claim; the card is then found, never posted twice', async () => {
    const a = alert();
    const t = setup([a]);
    const post = t.slack.port.post;
    let lose = true;
    t.slack.port.post = async (m) => {
      const placed = await post(m); // Slack posts it…
      if (lose) {
        lose = false; // …but the answer never arrives
        const timeout = Object.assign(new Error('aborted'), { name: 'TimeoutError' });
        throw Object.assign(new Error('A request error occurred'), {
          code: 'slack_webapi_request_error',
          original: timeout,
        });
      }
      return placed;
    };
    await t.poller.runOnce();
    expect((await t.store.get(a.id))?.state).toBe('claimed');
    await t.poller.runOnce(); // claim still fresh: left alone
    t.tick(60_000);
    await t.poller.runOnce(); // stale: found by metadata
    expect(t.slack.cards()).toHaveLength(1);
    expect(await t.store.get(a.id)).toMatchObject({ state: 'posted', ts: t.slack.cards()[0]?.ts });
  });
});
