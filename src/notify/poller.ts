/**
 * One poll cycle: fetch every live alert, ask `plan()` what to do, and carry it out against Slack
 * and the store. The schedule (node-cron, no overlapping runs) and shutdown live here too.
 *
 * Exactly-once posting: a card is claimed in the store before chat.postMessage and confirmed with its
 * ts the moment Slack answers. A failed post releases the claim (the next cycle tries again); a claim
 * left behind by a crash is recovered by looking for the card's message metadata in the channel.
 */
import { randomUUID } from 'node:crypto';
import { createTask, type ScheduledTask } from 'node-cron';
import { currentLastAction, escalatedFromSlack } from '../core/last-action.ts';
import { type Action, type PlanPolicy, plan } from '../core/plan.ts';
import type { CotoolClient } from '../cotool/client.ts';
import { type Alert, type AlertWithTimeline, LIVE_STATUSES } from '../cotool/schemas.ts';
import type { HealthState } from '../http/health.ts';
import { createMetrics, type Metrics } from '../http/metrics.ts';
import type { Logger } from '../log.ts';
import { nameInReason } from '../service/reason.ts';
import { answerLost, classifySlackError } from '../slack/errors.ts';
import type { CardRecord, Store } from '../store/store.ts';

export type SlackView = { text: string; blocks: unknown[] };

export type OutgoingMessage = SlackView & {
  channel: string;
  thread_ts?: string;
  reply_broadcast?: boolean;
  metadata?: { event_type: string; event_payload: Record<string, string> };
};

/** The narrow slice of Slack the poller needs; the real one wraps Bolt's WebClient. */
export type SlackPort = {
  post(message: OutgoingMessage): Promise<{ channel: string; ts: string }>;
  update(message: SlackView & { channel: string; ts: string }): Promise<void>;
  /** The ts of this alert's card posted in `channel` since `oldestMs`, found by message metadata. */
  findCard(channel: string, alertId: string, oldestMs: number): Promise<string | null>;
};

export type CardRenderer = {
  card(alert: Alert, record: CardRecord | null): SlackView;
  /** The card of an alert that no longer exists in Cotool. */
  gone(record: CardRecord): SlackView;
  escalationReply(alert: Alert, who: { by: string | null; reason: string | null }): SlackView;
  fingerprint(view: SlackView): string;
};

export const CARD_EVENT_TYPE = 'cotool_alert';

export type PollerDeps = {
  store: Store;
  cotool: Pick<CotoolClient, 'listAllAlerts' | 'getAlert'>;
  slack: SlackPort;
  render: CardRenderer;
  channel: string;
  policy: PlanPolicy;
  health: HealthState;
  logger: Logger;
  /** Where cycles, cards and escalations are counted (default: a registry nobody reads). */
  metrics?: Metrics;
  clock?: () => number;
  /** Identifies this process's claims. */
  owner?: string;
};

export type CycleReport = {
  ok: boolean;
  live: number;
  pages: number;
  skippedMalformed: number;
  actions: Record<Action['type'], number>;
  posted: number;
  updated: number;
  failed: number;
  durationMs: number;
};

type Outcome = 'posted' | 'updated' | 'noop' | 'failed';

export function createPoller(deps: PollerDeps) {
  const { store, cotool, slack, render, channel, policy, health, logger } = deps;
  const clock = deps.clock ?? Date.now;
  const owner = deps.owner ?? randomUUID();
  const metrics = deps.metrics ?? createMetrics();
  const log = logger.child({ module: 'poller' });
  let stopping = false;
  let inFlight: Promise<CycleReport> | null = null;

  const view = (alert: Alert, record: CardRecord | null) => render.card(alert, record);
  const metadata = (alert: Alert) => ({
    event_type: CARD_EVENT_TYPE,
    event_payload: { alert_id: alert.id, display_id: alert.displayId },
  });

  function slackFailed(err: unknown, what: string, alertId: string): { channelProblem: boolean } {
    const f = classifySlackError(err, channel);
    const msg = f.hint ?? `Slack ${what} failed: ${f.code}`;
    health.lastError = { at: new Date(clock()).toISOString(), source: 'slack', message: msg };
    if (f.channelProblem || f.authProblem) log.error({ alertId, slackError: f.code }, msg);
    else log.warn({ alertId, slackError: f.code, err }, `Slack ${what} failed; will retry next poll`);
    return { channelProblem: f.channelProblem || f.authProblem };
  }

  async function escalationWho(alert: Alert): Promise<{ by: string | null; reason: string | null }> {
    let full: AlertWithTimeline;
    try {
      full = await cotool.getAlert(alert.id);
    } catch (err) {
      log.warn({ alertId: alert.id, err }, 'could not read the timeline to name who escalated');
      return { by: null, reason: null };
    }
    const entry = full.timeline
      .filter((e) => e.kind === 'status_change' && e.afterStatus === 'escalated')
      .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))[0];
    if (!entry) return { by: null, reason: null };
    const metaReason = typeof entry.metadata.reason === 'string' ? entry.metadata.reason : null;
    const reason = entry.bodyMarkdown ?? metaReason;
    // The API key's user writes for Slack users; an agent's text naming someone is not believed.
    const named = entry.actorType === 'human' ? nameInReason(reason) : null;
    const by = named ?? entry.actorAgentName ?? entry.actorUserName ?? (entry.actorType === 'system' ? 'Cotool' : null);
    return { by, reason };
  }

  /** Posts the broadcast reply; true when Slack took it. */
  async function announceEscalation(alert: Alert, ts: string): Promise<boolean> {
    const reply = render.escalationReply(alert, await escalationWho(alert));
    try {
      await slack.post({ ...reply, channel, thread_ts: ts, reply_broadcast: true });
      metrics.escalationsAnnounced.inc();
      return true;
    } catch (err) {
      slackFailed(err, 'escalation reply', alert.id);
      return false;
    }
  }

  async function post(alert: Alert, escalated: boolean): Promise<Outcome | 'channel'> {
    const now = clock();
    // A seen alert may carry an escalation made from Slack (a /cotool answer): it is in the card already.
    const prior = await store.get(alert.id);
    if (!(await store.tryClaim(alert.id, alert.displayId, owner, now, now - policy.claimStaleMs))) return 'noop';
    const card = view(alert, prior);
    let place: { channel: string; ts: string };
    try {
      place = await slack.post({ ...card, channel, metadata: metadata(alert) });
    } catch (err) {
      if (answerLost(err)) {
        // No answer: Slack may have posted the card. Keep the claim; once it is stale, the card is
        // looked up by its metadata and posted only if it is not there.
        slackFailed(err, 'post', alert.id);
        return 'failed';
      }
      await store.releaseClaim(alert.id, owner);
      return slackFailed(err, 'post', alert.id).channelProblem ? 'channel' : 'failed';
    }
    const announce = escalated && !escalatedFromSlack(alert.status, prior?.lastAction);
    // An escalation's status is recorded only once its reply is out, so a lost reply is retried.
    const rendered = { updatedAt: alert.updatedAt, fingerprint: render.fingerprint(card), final: false };
    await store.markPosted(alert.id, owner, place, {
      ...rendered,
      status: announce ? 'pending_escalation' : alert.status,
    });
    log.info({ alertId: alert.id, displayId: alert.displayId, ts: place.ts }, 'card posted');
    if (announce && (await announceEscalation(alert, place.ts))) {
      await store.saveRender(alert.id, { ...rendered, status: alert.status });
    }
    return 'posted';
  }

  async function recover(alert: Alert | null, record: CardRecord): Promise<Outcome | 'channel'> {
    const now = clock();
    if (!(await store.tryClaim(record.alertId, record.displayId, owner, now, now - policy.claimStaleMs))) return 'noop';
    let ts: string | null;
    try {
      ts = await slack.findCard(channel, record.alertId, (record.claimedAt ?? now) - 60_000);
    } catch (err) {
      const f = slackFailed(err, 'history lookup', record.alertId);
      if (classifySlackError(err).code !== 'missing_scope') return f.channelProblem ? 'channel' : 'failed';
      // Without channels:history the card cannot be looked for: post rather than lose the alert.
      ts = null;
    }
    if (ts) {
      log.info({ alertId: record.alertId, ts }, 'recovered a card posted before a restart');
      // Fingerprint left empty so the next cycle re-renders it; status null so an escalation is announced.
      await store.markPosted(
        record.alertId,
        owner,
        { channel, ts },
        {
          status: alert?.status === 'escalated' ? 'pending_escalation' : (alert?.status ?? 'unknown'),
          updatedAt: '',
          fingerprint: '',
          final: false,
        },
      );
      return 'updated';
    }
    if (!alert) {
      await store.releaseClaim(record.alertId, owner);
      return 'noop';
    }
    await store.releaseClaim(record.alertId, owner);
    return post(alert, alert.status === 'escalated');
  }

  /** Forgets a Slack status action the alert has moved past, so it is never credited again. */
  async function settleLastAction(alert: Alert, record: CardRecord): Promise<void> {
    if (record.lastAction && !currentLastAction(alert.status, record.lastAction)) {
      await store.setLastAction(alert.id, null);
    }
  }

  async function update(alert: Alert, record: CardRecord, final: boolean): Promise<Outcome | 'channel'> {
    await settleLastAction(alert, record);
    const card = view(alert, record);
    const fingerprint = render.fingerprint(card);
    if (fingerprint !== record.fingerprint && record.channel && record.ts) {
      try {
        await slack.update({ ...card, channel: record.channel, ts: record.ts });
      } catch (err) {
        const f = classifySlackError(err, record.channel);
        if (f.code === 'message_not_found' || f.code === 'cant_update_message') {
          log.warn({ alertId: alert.id }, 'the card was deleted in Slack; it will no longer be updated');
          await store.saveRender(alert.id, {
            status: alert.status,
            updatedAt: alert.updatedAt,
            fingerprint,
            final: true,
          });
          return 'noop';
        }
        return slackFailed(err, 'update', alert.id).channelProblem ? 'channel' : 'failed';
      }
    }
    await store.saveRender(alert.id, { status: alert.status, updatedAt: alert.updatedAt, fingerprint, final });
    return fingerprint !== record.fingerprint ? 'updated' : 'noop';
  }

  async function escalate(alert: Alert, record: CardRecord): Promise<Outcome | 'channel'> {
    if (!record.channel || !record.ts) return 'noop';
    await settleLastAction(alert, record);
    const card = view(alert, record);
    let fingerprint = render.fingerprint(card);
    if (fingerprint !== record.fingerprint) {
      try {
        await slack.update({ ...card, channel: record.channel, ts: record.ts });
      } catch (err) {
        if (slackFailed(err, 'update', alert.id).channelProblem) return 'channel';
        fingerprint = record.fingerprint ?? ''; // not shown yet: the next cycle updates the card again
      }
    }
    // Escalated from Slack: the analyst's thread note says so already; on-call is not paged for it.
    const fromSlack = escalatedFromSlack(alert.status, record.lastAction);
    if (!fromSlack && !(await announceEscalation(alert, record.ts))) return 'failed';
    await store.saveRender(alert.id, { status: alert.status, updatedAt: alert.updatedAt, fingerprint, final: false });
    if (!fromSlack) log.info({ alertId: alert.id, displayId: alert.displayId }, 'escalation announced');
    return 'updated';
  }

  async function refresh(record: CardRecord): Promise<Outcome | 'channel'> {
    let alert: Alert;
    try {
      alert = await cotool.getAlert(record.alertId);
    } catch (err) {
      const e = err as { isNotFound?: () => boolean };
      if (typeof e.isNotFound === 'function' && e.isNotFound()) {
        if (!record.channel || !record.ts) return 'noop';
        const card = render.gone(record);
        try {
          await slack.update({ ...card, channel: record.channel, ts: record.ts });
        } catch (slackErr) {
          return slackFailed(slackErr, 'update', record.alertId).channelProblem ? 'channel' : 'failed';
        }
        await store.saveRender(record.alertId, {
          status: 'deleted',
          updatedAt: record.updatedAt ?? '',
          fingerprint: render.fingerprint(card),
          final: true,
        });
        return 'updated';
      }
      log.warn({ alertId: record.alertId, err }, 'could not refresh a card whose alert left the live set; will retry');
      return 'failed';
    }
    const live = (LIVE_STATUSES as readonly string[]).includes(alert.status);
    return update(alert, record, !live);
  }

  async function runCycle(): Promise<CycleReport> {
    const started = clock();
    const report = emptyReport();
    health.lastPollAt = new Date(started).toISOString();
    let live: Alert[];
    let complete = true;
    try {
      const listing = await cotool.listAllAlerts({ status: LIVE_STATUSES });
      live = listing.alerts;
      report.pages = listing.pages;
      report.skippedMalformed = listing.skipped;
      complete = listing.truncated !== true;
    } catch (err) {
      health.consecutiveFailures++;
      const message = err instanceof Error ? err.message : String(err);
      health.lastError = { at: new Date(clock()).toISOString(), source: 'cotool', message };
      log.warn({ err, consecutiveFailures: health.consecutiveFailures }, 'poll failed: Cotool did not answer');
      report.durationMs = clock() - started;
      return report;
    }
    report.live = live.length;
    // Shutting down while Cotool answered: leave the store alone (it may be closing).
    if (stopping) {
      report.durationMs = clock() - started;
      return report;
    }

    const unfinished = await store.listUnfinished();
    const records = await store.getMany(live.map((a) => a.id));
    for (const r of unfinished) if (!records.has(r.alertId)) records.set(r.alertId, r);
    const firstRun = (await store.getMeta('bootstrapped_at')) === null;
    const { actions } = plan({
      records,
      live,
      complete,
      firstRun,
      now: clock(),
      policy,
      fingerprint: (alert, record) => render.fingerprint(view(alert, record)),
    });

    // Local bookkeeping first: a Slack failure later in the cycle must not leave the backlog unrecorded.
    for (const a of actions) {
      report.actions[a.type]++;
      if (a.type === 'seen') await store.markSeen(a.alert.id, a.alert.displayId, a.alert.status);
    }
    let channelDown = false;
    for (const a of actions) {
      if (stopping) break;
      if (a.type === 'seen' || (channelDown && a.type !== 'refresh')) continue;
      let outcome: Outcome | 'channel';
      try {
        outcome = await execute(a);
      } catch (err) {
        log.error({ err, action: a.type }, 'poll action failed unexpectedly');
        health.lastError = { at: new Date(clock()).toISOString(), source: 'internal', message: String(err) };
        outcome = 'failed';
      }
      if (outcome === 'channel') {
        channelDown = true;
        report.failed++;
      } else if (outcome === 'posted') report.posted++;
      else if (outcome === 'updated') report.updated++;
      else if (outcome === 'failed') report.failed++;
    }
    if (firstRun && !stopping) await store.setMeta('bootstrapped_at', new Date(clock()).toISOString());

    report.ok = true;
    report.durationMs = clock() - started;
    health.consecutiveFailures = 0;
    health.lastSuccessfulPollAt = new Date(clock()).toISOString();
    health.lastPollDurationMs = report.durationMs;
    health.liveAlerts = live.length;
    if (report.failed === 0 && health.lastError?.source === 'cotool') health.lastError = null;
    log.info(
      {
        live: report.live,
        pages: report.pages,
        posted: report.posted,
        updated: report.updated,
        failed: report.failed,
        ms: report.durationMs,
      },
      'poll cycle done',
    );
    return report;
  }

  function execute(a: Action): Promise<Outcome | 'channel'> {
    switch (a.type) {
      case 'post':
        return post(a.alert, a.escalated);
      case 'recover':
        return recover(a.alert, a.record);
      case 'escalate':
        return escalate(a.alert, a.record);
      case 'update':
        return update(a.alert, a.record, !(LIVE_STATUSES as readonly string[]).includes(a.alert.status));
      case 'refresh':
        return refresh(a.record);
      case 'seen':
        return Promise.resolve('noop');
    }
  }

  return {
    owner,
    /** Runs one cycle; concurrent calls share the cycle in flight. */
    runOnce(): Promise<CycleReport> {
      if (!inFlight) {
        const started = clock();
        inFlight = runCycle()
          .catch((err: unknown) => {
            // Only a store failure gets here (every Slack and Cotool failure is handled in the cycle).
            health.consecutiveFailures++;
            health.lastError = { at: new Date(clock()).toISOString(), source: 'internal', message: String(err) };
            log.error({ err }, 'poll cycle failed');
            return { ...emptyReport(), durationMs: 0 };
          })
          .then((report) => {
            // A cycle cut short by shutdown is not a failure.
            if (report.ok || !stopping) metrics.observePoll({ ...report, durationMs: clock() - started }, clock());
            return report;
          })
          .finally(() => (inFlight = null));
      }
      return inFlight;
    },
    /** Stops starting new Slack actions and waits (up to `timeoutMs`) for the one in flight. */
    async stop(timeoutMs = 8_000): Promise<void> {
      stopping = true;
      if (!inFlight) return;
      await Promise.race([inFlight.catch(() => undefined), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    },
  };
}

export type Poller = ReturnType<typeof createPoller>;

function emptyReport(): CycleReport {
  return {
    ok: false,
    live: 0,
    pages: 0,
    skippedMalformed: 0,
    actions: { post: 0, recover: 0, seen: 0, escalate: 0, update: 0, refresh: 0 },
    posted: 0,
    updated: 0,
    failed: 0,
    durationMs: 0,
  };
}

/** Runs the poller on a cron schedule without overlapping runs; returns the task to stop. */
export function schedulePoller(poller: Poller, expression: string, logger: Logger): ScheduledTask {
  const task = createTask(
    expression,
    async () => {
      await poller.runOnce();
    },
    { noOverlap: true, name: 'cotool-poll' },
  );
  task.on('execution:overlap', () => logger.debug('previous poll still running; skipped a tick'));
  task.on('execution:failed', (ctx) => logger.error({ err: ctx.execution?.error }, 'poll crashed'));
  return task;
}
