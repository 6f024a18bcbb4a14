/**
 * Recording fakes for the triage use-cases: a Cotool client over one in-memory alert (with
 * injectable failures), a Slack port that records posts and updates, an access policy that says
 * what it is told, a real in-memory store and the real card renderer.
 */
import { Writable } from 'node:stream';
import { parseConfig } from '../../src/config.ts';
import type { Alert, DetailsPatch, TimelineEntry } from '../../src/core/alert.ts';
import { decodeItem } from '../../src/core/outbox.ts';
import type { Change } from '../../src/core/records.ts';
import { CotoolError, type CotoolErrorInit } from '../../src/cotool/errors.ts';
import { createLogger } from '../../src/log.ts';
import { createSender, type Sender } from '../../src/notify/sender/loop.ts';
import type { CotoolClient, OutgoingMessage, SlackView, Store } from '../../src/ports.ts';
import type { AccessDecision } from '../../src/service/access.ts';
import type { TriageDeps } from '../../src/service/card-sync.ts';
import { createUseCases, type UseCaseDeps } from '../../src/service/use-cases.ts';
import { threadReplySlack } from '../../src/slack/listeners/events/thread-sync.ts';
import { createSlackPort } from '../../src/slack/port.ts';
import { createCardRenderer } from '../../src/slack/render.ts';
import { renderCloseRequest } from '../../src/slack/views/four-eyes.ts';
import { renderNoteReply } from '../../src/slack/views/note-modal.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { createHealth } from '../../src/telemetry/health.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';
import { seedPostedCard } from '../store/seed.ts';
import { alert as makeAlert } from '../support/alerts.ts';

export const CHANNEL = 'C0ALERTS';
export const CARD_TS = '1795000000.000100';
export const JANE = { id: 'U0JANE', name: 'Jane Doe' };

export const config = (() => {
  const parsed = parseConfig({
    COTOOL_API_URL: 'https://app.cotool.ai',
    COTOOL_API_KEY: 'test-cotool-key-0123456789',
    SLACK_BOT_TOKEN: 'xoxb-test',
    SLACK_APP_TOKEN: 'xapp-test',
    SLACK_ALERT_CHANNEL: CHANNEL,
  });
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.config;
})();

export const httpError = (status: number, extra: Partial<CotoolErrorInit> = {}, method = 'POST') =>
  new CotoolError({ kind: 'http', method, path: '/api/alerts/x/status', status, ...extra });
export const timeoutError = (method = 'POST') =>
  new CotoolError({ kind: 'timeout', method, path: '/api/alerts/x/status', detail: 'after 10000 ms' });

type Step = Error | null;

/** A Cotool client over one alert. `fail.<method>` holds errors thrown by the next calls, in order. */
export function fakeCotool(initial: Alert) {
  let current: Alert = { ...initial };
  const timeline: TimelineEntry[] = [];
  const calls: { method: string; args: unknown[] }[] = [];
  const fail: Record<'get' | 'status' | 'details', Step[]> = { get: [], status: [], details: [] };
  /** Whether a failing status/details call still applies the change (an answer lost on the way back). */
  const applyDespiteFailure = { status: false, details: false };
  let tick = 0;
  const bump = () => new Date(Date.parse('2026-11-23T11:00:00.000Z') + ++tick * 1000).toISOString();
  const next = (k: keyof typeof fail) => {
    const e = fail[k].shift();
    return e ?? null;
  };
  /** What the write endpoints answer with: no hydrated fields, like the real server. */
  const bare = (a: Alert): Alert => ({
    ...a,
    assignedAgentName: null,
    originAgentName: null,
    derivedDisposition: null,
    triggerSource: null,
  });

  const client: Pick<CotoolClient, 'getAlert' | 'updateStatus' | 'updateDetails'> = {
    async getAlert(id) {
      calls.push({ method: 'getAlert', args: [id] });
      const e = next('get');
      if (e) throw e;
      return { ...current, timeline: [...timeline] };
    },
    async updateStatus(id, status, reason) {
      calls.push({ method: 'updateStatus', args: [id, status, reason] });
      const e = next('status');
      if (e && !applyDespiteFailure.status) throw e;
      const changed = current.status !== status;
      if (changed) {
        const beforeStatus = current.status;
        current = { ...current, status, updatedAt: bump() };
        timeline.push({
          id: `e${tick}`,
          alertId: current.id,
          organizationId: null,
          createdAt: current.updatedAt,
          actorType: 'human',
          actorUserId: null,
          actorAgentId: null,
          actorRunId: null,
          actorUserName: 'Cotool API',
          actorUserImageUrl: null,
          actorAgentName: null,
          kind: 'status_change',
          bodyMarkdown: reason ?? null,
          beforeStatus,
          afterStatus: status,
          metadata: { reason: reason ?? null },
        });
      }
      if (e) throw e;
      return {
        alert: bare(current),
        entry: changed ? (timeline.at(-1) ?? null) : null,
        statusChanged: changed,
        alertComplete: true,
      };
    },
    async updateDetails(id, patch: DetailsPatch) {
      calls.push({ method: 'updateDetails', args: [id, patch] });
      const e = next('details');
      if (e && !applyDespiteFailure.details) throw e;
      current = {
        ...current,
        ...(patch.title !== undefined ? { title: patch.title } : {}),
        ...(patch.description !== undefined ? { description: patch.description } : {}),
        updatedAt: bump(),
      };
      if (e) throw e;
      return { alert: bare(current), entries: [], alertComplete: true };
    },
  };
  return {
    client,
    calls,
    fail,
    applyDespiteFailure,
    get alert() {
      return current;
    },
    /** A change made elsewhere (in Cotool), as someone else. */
    changeElsewhere(patch: Partial<Alert>, by = 'Ana') {
      const beforeStatus = current.status;
      current = { ...current, ...patch, updatedAt: bump() };
      if (patch.status && patch.status !== beforeStatus) {
        timeline.push({
          id: `e${tick}`,
          alertId: current.id,
          organizationId: null,
          createdAt: current.updatedAt,
          actorType: 'human',
          actorUserId: null,
          actorAgentId: null,
          actorRunId: null,
          actorUserName: by,
          actorUserImageUrl: null,
          actorAgentName: null,
          kind: 'status_change',
          bodyMarkdown: null,
          beforeStatus,
          afterStatus: patch.status,
          metadata: {},
        });
      }
    },
    count: (method: string) => calls.filter((c) => c.method === method).length,
  };
}

/** The real classification (the port's), without a client. */
const classifyForPort = createSlackPort({} as never).classify;

export function fakeSlack() {
  const posts: OutgoingMessage[] = [];
  const updates: (SlackView & { channel: string; ts: string })[] = [];
  const failUpdate: Error[] = [];
  return {
    port: {
      async post(m: OutgoingMessage) {
        posts.push(m);
        return { channel: m.channel, ts: `1795000001.${String(posts.length).padStart(6, '0')}` };
      },
      async update(m: SlackView & { channel: string; ts: string }) {
        const e = failUpdate.shift();
        if (e) throw e;
        updates.push(m);
      },
      classify: (err: unknown, channel?: string) => classifyForPort(err, channel),
    },
    posts,
    updates,
    failUpdate,
  };
}

export function fakeAccess(decision: (userId: string) => AccessDecision = (id) => ({ ok: true, user: user(id) })) {
  const checked: string[] = [];
  return {
    checked,
    policy: {
      async check(userId: string) {
        checked.push(userId);
        return decision(userId);
      },
    },
  };
}

export const user = (id: string, name = id === JANE.id ? JANE.name : id) => ({
  id,
  name,
  isRestricted: false,
  isUltraRestricted: false,
  isBot: false,
  deleted: false,
});

export type Harness = Awaited<ReturnType<typeof triageHarness>>;

/** Everything a use-case needs, with the alert's card already posted in the channel. */
export async function triageHarness(overrides: Partial<Alert> = {}, opts: { card?: boolean } = {}) {
  const a = makeAlert({ updatedAt: '2026-11-23T10:00:00.000Z', ...overrides });
  const cotool = fakeCotool(a);
  const slack = fakeSlack();
  const access = fakeAccess();
  let now = Date.parse('2026-11-23T12:00:00.000Z');
  // The store's ownership clock is the harness's (claims, holds and retries on the same fake time).
  const raw: Store = openSqliteStore(':memory:', { dbClock: () => now });
  // The card's one writer is the sender: a click's redraws (the interactive lane) are sent by the
  // real sender as soon as they are queued — here inline, within the use-case's `apply`, so that a
  // test reads Slack's state right after the use-case returns. Other items stay queued (drainOutbox).
  let redraw: Sender | null = null;
  const store: Store = new Proxy(raw, {
    get: (target, prop) =>
      prop === 'apply'
        ? async (changes: readonly Change[]) => {
            const r = await raw.apply(changes);
            if (changes.some((c) => c.enqueue?.some((i) => i.lane === 'interactive')))
              await redraw?.drain('interactive');
            return r;
          }
        : Reflect.get(target, prop),
  });
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
  const render = createCardRenderer(config, { interactive: true });
  if (opts.card !== false) {
    await seedPostedCard(store, {
      alertId: a.id,
      displayId: a.displayId,
      channel: CHANNEL,
      ts: CARD_TS,
      status: a.status,
      updatedAt: a.updatedAt,
      fingerprint: render.fingerprint(a, null),
    });
  }
  const grant = await raw.tryLease('poller', 'test-sender', 3_600_000);
  redraw = createSender({
    metrics: createMetrics(),
    store: raw,
    fence: () => ({ lease: 'poller', token: grant.token }),
    slack: { ...slack.port, findMessage: async () => 'absent' },
    render,
    cotool: {
      getAlert: cotool.client.getAlert,
      listTimeline: async () => ({ entries: [], totalCount: 0, skipped: 0, pages: 1, truncated: false }),
    },
    health: createHealth('socket'),
    logger,
    owner: 'test-sender',
    pace: { postRatePerSec: 1_000, postBurst: 1_000, updatesPerMinute: 60_000 },
    channels: [CHANNEL],
    claimStaleMs: 60_000,
    isLeader: () => true,
    clock: () => now,
    retryBaseMs: 1,
  });
  const changed: { alert: Alert; userId: string }[] = [];
  const deps: TriageDeps = {
    cotool: cotool.client,
    store,
    render,
    slack: slack.port,
    access: access.policy,
    logger,
    clock: () => now,
    onChanged: (c) => changed.push(c),
  };
  return {
    alert: a,
    cotool,
    slack,
    access,
    store,
    logs,
    deps,
    changed,
    /** Thread replies the service queued in the outbox (the sender posts them), as messages. */
    replies: async (): Promise<OutgoingMessage[]> =>
      (await store.listOutbox({ kind: 'reply' })).flatMap((i) => {
        const d = decodeItem(i);
        if (!d.ok || d.item.kind !== 'reply') throw new Error(`unreadable reply ${i.key}`);
        const p = d.item.data;
        // An intent not yet settled carries no view: listed all the same (as before it was typed).
        return [{ text: '', blocks: [], ...p.view, channel: i.channel, thread_ts: p.threadTs, reply_broadcast: false }];
      }),
    advance: (ms: number) => {
      now += ms;
    },
  };
}

/**
 * Every use-case built the way bot.ts builds them (createUseCases), over the harness's fakes, with a
 * fresh metrics registry (returned too). `over` replaces any ingredient.
 */
export function harnessUseCases(h: Harness, over: Partial<UseCaseDeps> = {}) {
  const metrics = createMetrics();
  const useCases = createUseCases({
    cotool: h.cotool.client as UseCaseDeps['cotool'],
    store: h.store,
    render: h.deps.render,
    slack: h.slack.port,
    access: {
      check: (id) => h.access.policy.check(id),
      user: async () => null,
      describe: () => 'members of the channel',
    },
    health: createHealth('socket'),
    logger: h.deps.logger,
    clock: h.deps.clock,
    metrics,
    fourEyes: { severities: config.fourEyes.severities, alertChannel: CHANNEL },
    onChanged: (c) => h.changed.push(c),
    renderNoteReply,
    // No thread reply is synced through these: a call would throw (no Slack client).
    threadReplies: threadReplySlack({} as never, h.deps.logger),
    ...over,
  });
  return { useCases, metrics };
}

/** All the text of a rendered view, for `toContain` checks. */
export const json = (v: unknown) => JSON.stringify(v);

/**
 * Sends what is due in the harness's outbox through the real sender (over the recording Slack fake,
 * on the harness's clock), until nothing due is left. Held items (intents in their grace) stay.
 * `findMessage` answers what an earlier attempt is known to have posted (default: nothing).
 */
export async function drainOutbox(
  h: Pick<Harness, 'store' | 'slack' | 'deps' | 'cotool'>,
  opts: {
    findMessage?: (q: { key: string }) => Promise<string | null>;
    /** Timeline entries the alert has besides those the fake writes itself (comments made in Cotool). */
    extraTimeline?: () => TimelineEntry[];
  } = {},
): Promise<void> {
  const base = h.cotool.client;
  const extra = opts.extraTimeline ?? (() => []);
  // The sender sends under the poller's lease (its fence).
  const grant = await h.store.tryLease('poller', 'test-sender', 3_600_000);
  const sender = createSender({
    metrics: createMetrics(),
    store: h.store,
    fence: () => ({ lease: 'poller', token: grant.token }),
    slack: {
      ...h.slack.port,
      findMessage: async (q) => {
        const ts = opts.findMessage ? await opts.findMessage(q) : null;
        return ts === null ? 'absent' : { found: ts };
      },
    },
    render: h.deps.render,
    cotool: {
      getAlert: base.getAlert,
      async listTimeline(id) {
        const entries = [...(await base.getAlert(id)).timeline, ...extra()];
        return { entries, totalCount: entries.length, skipped: 0, pages: 1, truncated: false };
      },
    },
    health: createHealth('socket'),
    logger: h.deps.logger,
    owner: 'test-sender',
    pace: { postRatePerSec: 1_000, postBurst: 1_000, updatesPerMinute: 60_000 },
    channels: [CHANNEL],
    claimStaleMs: 60_000,
    isLeader: () => true,
    clock: h.deps.clock,
    idleMs: 5,
    retryBaseMs: 1,
    renderRequest: renderCloseRequest,
  });
  sender.start();
  await sender.wake();
  const idle = await sender.whenIdle(5_000, 0);
  await sender.stop();
  if (!idle) throw new Error('the outbox did not drain');
}
