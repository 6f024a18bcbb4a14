/**
 * One poll cycle: list the live alerts page by page, plan, and record what must be sent — store
 * writes only, never a Slack call, so a cycle takes the same time whatever Slack is doing. The
 * sender (sender.ts) drains the outbox. The schedule (node-cron, no overlapping runs) is src/schedule.ts.
 */
import { randomUUID } from 'node:crypto';
import { type Alert, LIVE_STATUSES } from '../core/alert.ts';
import { createMutePlanner } from '../core/mute-plan.ts';
import { decodeItem } from '../core/outbox.ts';
import { cardChannels, type PlanPolicy, planGone, planPage, unchanged } from '../core/plan.ts';
import type { Change, Storm } from '../core/records.ts';
import { alertIdOfKey, cardKey, type Route } from '../core/routes.ts';
import { candidateBuffer, decideNew, type PendingCard, type StormPolicy } from '../core/storm-plan.ts';
import { isCotoolError } from '../cotool/errors.ts';
import type { Logger } from '../log.ts';
import type { CardRenderer, CotoolClient, Store } from '../ports.ts';
import type { HealthState } from '../telemetry/health.ts';
import type { Metrics } from '../telemetry/metrics.ts';

export type PollerDeps = {
  store: Store;
  cotool: Pick<CotoolClient, 'listRawAlertPages' | 'parseListedAlert'>;
  render: Pick<CardRenderer, 'fingerprint'>;
  defaultChannel: string;
  routes: readonly Route[];
  policy: PlanPolicy;
  storm: StormPolicy;
  health: HealthState;
  logger: Logger;
  metrics: Metrics;
  clock?: () => number;
  /** Only the leader polls. */
  isLeader?: () => boolean;
  /** How often a complete poll marks quiet records of gone alerts final (default QUIET_CHECK_MS). */
  quietCheckMs?: number;
  /**
   * The leader's periodic work done at the start of each cycle, whatever Cotool does (mutes whose
   * time ran out are ended here, before the cycle reads the mutes holding).
   */
  eachCycle?: () => Promise<unknown>;
};

export type CycleReport = {
  ok: boolean;
  /** This replica does not hold the lease: nothing was done. */
  follower: boolean;
  live: number;
  pages: number;
  skippedMalformed: number;
  /** Store changes applied, and those that lost a compare-and-set (someone changed the record first). */
  changes: number;
  conflicts: number;
  queued: number;
  digested: number;
  /** New alerts held back by a mute of their detection (counted in the mute, no card). */
  muted: number;
  durationMs: number;
  /** CPU time of the process while the cycle ran. */
  cpuMs: number;
};

function emptyReport(): CycleReport {
  return {
    ok: false,
    follower: false,
    live: 0,
    pages: 0,
    skippedMalformed: 0,
    changes: 0,
    conflicts: 0,
    queued: 0,
    digested: 0,
    muted: 0,
    durationMs: 0,
    cpuMs: 0,
  };
}

/** Pages of 200 before a listing is cut short: 200,000 live alerts. */
const MAX_PAGES = 1000;

/** How often a complete poll looks for quiet records whose alert left the live set (see finaliseQuiet). */
export const QUIET_CHECK_MS = 3_600_000;

export function createPoller(deps: PollerDeps) {
  const { store, cotool, render, health, policy } = deps;
  const clock = deps.clock ?? Date.now;
  const log = deps.logger.child({ module: 'poller' });
  const fingerprint = render.fingerprint.bind(render);
  let stopping = false;
  let inFlight: Promise<CycleReport> | null = null;
  let lastQuietCheck: number | null = null;

  async function apply(changes: Change[], report: CycleReport): Promise<void> {
    if (changes.length === 0) return;
    const r = await store.apply(changes);
    report.changes += r.applied;
    report.conflicts += r.conflicts;
  }

  /**
   * A plan that opens a storm: the opening (with its digest) goes first, alone, and the rest of the
   * plan only if it applied — it conflicts when the channel has an open storm already. Takes the
   * opening out of `changes`.
   */
  async function openStorm(changes: Change[], report: CycleReport): Promise<boolean> {
    const at = changes.findIndex((c) => c.storm?.op === 'open');
    if (at < 0) return true;
    const [opening] = changes.splice(at, 1);
    const r = await store.apply([opening as Change]);
    report.changes += r.applied;
    report.conflicts += r.conflicts;
    return r.applied === 1;
  }

  const keysOf = (alerts: readonly Alert[], warRooms: ReadonlyMap<string, string>) =>
    alerts.flatMap((a) =>
      cardChannels(a, deps.routes, deps.defaultChannel, warRooms).channels.map((ch, i) => cardKey(a.id, ch, i === 0)),
    );

  async function pendingCards(): Promise<Map<string, PendingCard[]>> {
    // Only cards surely not in Slack may be folded into a digest: one whose earlier attempt has an
    // unknown outcome is looked up by the sender first (the store refuses to dequeue it anyway).
    const items = (await store.listOutbox({ kind: 'card' })).filter(
      (i) => i.state === 'pending' && !i.unknown && i.cardKey,
    );
    const out = new Map<string, PendingCard[]>();
    if (items.length === 0) return out;
    const records = await store.getMany(items.map((i) => i.cardKey as string));
    for (const i of items) {
      const record = records.get(i.cardKey as string);
      if (record?.state !== 'queued') continue;
      const decoded = decodeItem(i);
      // Unreadable (the sender drops it): left out of the storm's planning.
      if (!decoded.ok || decoded.item.kind !== 'card') continue;
      const payload = decoded.item.data;
      const list = out.get(i.channel) ?? [];
      list.push({
        key: record.alertId,
        record,
        alert: payload.alert ?? null,
        priority: i.priority,
        orderAt: i.orderAt,
      });
      out.set(i.channel, list);
    }
    return out;
  }

  /**
   * Records without a card of their own (seen, digested) whose alert left the live set are marked
   * final, so that retention prunes them once they are older than RETENTION_DAYS (a live one must
   * never be pruned: it would come back as a new alert). At most every QUIET_CHECK_MS: a storm leaves
   * many of them, and nothing else waits on this. The first complete poll looks at once.
   */
  async function finaliseQuiet(live: ReadonlySet<string>, report: CycleReport): Promise<void> {
    const now = clock();
    if (lastQuietCheck !== null && now - lastQuietCheck < (deps.quietCheckMs ?? QUIET_CHECK_MS)) return;
    lastQuietCheck = now;
    const gone = (await store.listQuietIds()).filter((r) => !live.has(alertIdOfKey(r.alertId)));
    for (let i = 0; i < gone.length && !stopping; i += 1_000) {
      const changes: Change[] = gone.slice(i, i + 1_000).map((r) => ({
        card: { op: 'update', alertId: r.alertId, expectState: r.state, set: { final: true } },
      }));
      await apply(changes, report);
    }
  }

  async function runCycle(): Promise<CycleReport> {
    const started = clock();
    const report = emptyReport();
    if (deps.isLeader && !deps.isLeader()) {
      report.follower = true;
      report.ok = true;
      return report;
    }
    health.lastPollAt = new Date(started).toISOString();
    const firstRun = (await store.getMeta('bootstrapped_at')) === null;
    const seenIds = new Set<string>();
    const candidates = new Map<string, ReturnType<typeof candidateBuffer>>();
    let complete = false;
    if (deps.eachCycle) await deps.eachCycle();
    // The mutes holding now, read once per cycle: new alerts of a muted detection get no card.
    const mutes = await store.activeMutes();
    const muter = createMutePlanner(mutes, started);
    deps.metrics.mutesActive.set(mutes.filter((m) => m.endedAt === null && started < m.until).length);
    try {
      const pages = cotool.listRawAlertPages({ status: LIVE_STATUSES }, { maxPages: MAX_PAGES });
      for await (const page of pages) {
        report.pages = page.pages;
        if (stopping) break;
        // Offset paging over a changing set can repeat an alert: the first copy counts.
        const items = page.items.filter((i) => i.id === null || (!seenIds.has(i.id) && seenIds.add(i.id)));
        const ids = items.flatMap((i) => (i.id === null ? [] : [i.id]));
        const peeks = await store.peekMany(ids);
        // An alert with an incident channel has a further copy of its card there, compared too: a
        // change made from Slack redraws the primary card at once (its record then matches the
        // listing), and the copy only here.
        const warRooms = new Map([...(await store.warRoomsOf(ids))].map(([id, w]) => [id, w.channel]));
        const copyKey = (id: string, room: string) => cardKey(id, room, false);
        const copies =
          warRooms.size > 0 ? await store.peekMany([...warRooms].map(([id, room]) => copyKey(id, room))) : null;
        const alerts: Alert[] = [];
        for (const item of items) {
          const room = item.id === null ? undefined : warRooms.get(item.id);
          if (
            item.id !== null &&
            unchanged(item, peeks.get(item.id)) &&
            (room === undefined || unchanged(item, copies?.get(copyKey(item.id, room))))
          )
            continue;
          const alert = cotool.parseListedAlert(item);
          if (alert) alerts.push(alert);
          else report.skippedMalformed++;
        }
        if (alerts.length === 0) {
          if (page.last) complete = !page.truncated;
          continue;
        }
        // Full records only for what changed (and the further channels of routed alerts and of
        // incident channels).
        const records = await store.getMany(keysOf(alerts, warRooms));
        const planned = planPage({
          alerts,
          records,
          routes: deps.routes,
          defaultChannel: deps.defaultChannel,
          firstRun,
          now: clock(),
          policy,
          fingerprint,
          muter,
          warRooms,
        });
        // Held back by a mute: applied together (one id-list reply per chunk), and counted as applied.
        const held = planned.changes.filter((c) => c.mute?.op === 'count');
        if (held.length > 0) {
          const r = await store.apply(held);
          report.changes += r.applied;
          report.conflicts += r.conflicts;
          report.muted += r.applied;
          deps.metrics.alertsMuted.inc(r.applied);
        }
        await apply(held.length > 0 ? planned.changes.filter((c) => c.mute?.op !== 'count') : planned.changes, report);
        for (const c of planned.candidates) {
          let buffer = candidates.get(c.channel);
          if (!buffer) {
            buffer = candidateBuffer(deps.storm);
            candidates.set(c.channel, buffer);
          }
          buffer.add(c);
        }
        if (page.last) complete = !page.truncated;
      }
    } catch (err) {
      // Anything but a Cotool failure (the store, a bug) is not "Cotool did not answer".
      if (!isCotoolError(err)) throw err;
      health.consecutiveFailures++;
      const message = err instanceof Error ? err.message : String(err);
      health.lastError = { at: new Date(clock()).toISOString(), source: 'cotool', message };
      log.warn({ err, consecutiveFailures: health.consecutiveFailures }, 'poll failed: Cotool did not answer');
      report.durationMs = clock() - started;
      // Changes already recorded stand (they are each correct on their own); new alerts wait.
      return report;
    }
    report.live = seenIds.size;
    if (stopping) {
      report.durationMs = clock() - started;
      return report;
    }

    // Cards whose alert left the live set: only a complete listing can say so.
    if (complete) {
      const gone = (await store.listUnfinishedIds()).filter((k) => !seenIds.has(alertIdOfKey(k)));
      if (gone.length > 0) {
        const records = await store.getMany(gone);
        await apply(planGone([...records.values()], clock()), report);
      }
      await finaliseQuiet(seenIds, report);
    }

    // New alerts, channel by channel: cards, or a storm's digest.
    const storms = new Map<string, Storm>((await store.activeStorms()).map((s) => [s.channel, s]));
    const pending = candidates.size > 0 || storms.size > 0 ? await pendingCards() : new Map<string, PendingCard[]>();
    for (const channel of new Set([...candidates.keys(), ...storms.keys()])) {
      const decision = decideNew(
        {
          channel,
          candidates: candidates.get(channel)?.list() ?? [],
          pending: pending.get(channel) ?? [],
          storm: storms.get(channel) ?? null,
          policy: deps.storm,
          now: clock(),
          newStormId: randomUUID,
        },
        fingerprint,
      );
      if (decision.stormStarted && !(await openStorm(decision.changes, report))) {
        // Another process opened this channel's storm meanwhile (one open storm per channel): plan
        // again from it at the next poll; nothing of this plan was written.
        log.warn({ channel }, 'another process opened a storm in this channel; planning again next poll');
        continue;
      }
      await apply(decision.changes, report);
      report.queued += decision.cards;
      report.digested += decision.digested + decision.folded;
      if (decision.digested + decision.folded > 0) {
        deps.metrics.digestedAlerts.inc({ channel }, decision.digested + decision.folded);
      }
      if (decision.stormStarted) {
        deps.metrics.stormActive.set({ channel }, 1);
        log.warn(
          { channel, stormId: decision.stormStarted },
          'alert storm: new alerts beyond the most urgent go to one digest',
        );
      }
      if (decision.stormEnded) {
        deps.metrics.stormActive.set({ channel }, 0);
        log.info({ channel, stormId: decision.stormEnded }, 'alert storm over');
      }
    }
    if (firstRun && complete) await store.setMeta('bootstrapped_at', new Date(clock()).toISOString());

    report.ok = true;
    report.durationMs = clock() - started;
    health.consecutiveFailures = 0;
    health.lastSuccessfulPollAt = new Date(clock()).toISOString();
    health.lastPollDurationMs = report.durationMs;
    health.liveAlerts = report.live;
    if (health.lastError?.source === 'cotool') health.lastError = null;
    const summary = {
      live: report.live,
      pages: report.pages,
      changes: report.changes,
      conflicts: report.conflicts,
      queued: report.queued,
      digested: report.digested,
      muted: report.muted,
      ms: report.durationMs,
    };
    if (report.changes > 0) log.info(summary, 'poll cycle done');
    else log.debug(summary, 'poll cycle done');
    return report;
  }

  return {
    /** Runs one cycle; concurrent calls share the cycle in flight. */
    runOnce(): Promise<CycleReport> {
      if (!inFlight) {
        const started = clock();
        const cpu0 = process.cpuUsage();
        inFlight = runCycle()
          .catch((err: unknown) => {
            // Only a store failure gets here (a Cotool failure is handled in the cycle).
            health.consecutiveFailures++;
            health.storeOk = false;
            health.lastError = { at: new Date(clock()).toISOString(), source: 'internal', message: String(err) };
            log.error({ err }, 'poll cycle failed: the store did not answer');
            return { ...emptyReport(), durationMs: 0 };
          })
          .then((report) => {
            const cpu = process.cpuUsage(cpu0);
            report.cpuMs = (cpu.user + cpu.system) / 1000;
            if (!report.follower) {
              deps.metrics.pollCpu.inc(report.cpuMs / 1000);
              deps.metrics.pollChanges.inc(report.changes);
            }
            if (!report.follower && (report.ok || !stopping)) {
              deps.metrics.observePoll({ ...report, durationMs: clock() - started }, clock());
            }
            return report;
          })
          .finally(() => (inFlight = null));
      }
      return inFlight;
    },
    /** Stops starting new work and waits (up to `timeoutMs`) for the cycle in flight. */
    async stop(timeoutMs = 8_000): Promise<void> {
      stopping = true;
      if (!inFlight) return;
      await Promise.race([inFlight.catch(() => undefined), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    },
  };
}

export type Poller = ReturnType<typeof createPoller>;
