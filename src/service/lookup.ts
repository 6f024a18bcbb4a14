/**
 * Look-up use-cases: an alert by id, display id or link; the alert a run raised; a page of a list or
 * a search; the App Home's numbers; the alerts behind unfurled links and bare ids in messages.
 *
 * Every use-case checks access first (the same policy as the triage buttons; guests never) and
 * makes no Cotool call for someone refused. Expected outcomes are results: `forbidden`,
 * `not_found`, `upstream_error` (a Cotool failure, with the error for the log). Anything else thrown
 * is a bug and reaches the listener's error boundary. Nothing here knows about Slack surfaces.
 */

import { type Alert, type AlertWithTimeline, type KnownSeverity, LIVE_STATUSES, SEVERITIES } from '../core/alert.ts';
import type { AlertFilter } from '../core/command.ts';
import type { LastAction } from '../core/records.ts';
import { type CotoolError, isCotoolError } from '../cotool/errors.ts';
import type { Logger } from '../log.ts';
import type { CotoolClient, Store } from '../ports.ts';
import type { HealthState } from '../telemetry/health.ts';
import type { AccessPolicy, AccessRefusal, SlackUserInfo } from './access.ts';

export const LIST_PAGE_SIZE = 10;
/** Escalated alerts read for the App Home, of which the newest are shown. */
export const HOME_ESCALATED_FETCH = 50;
/** How long a bare id stays expanded in a thread: "at most once per alert per thread". */
export const EXPAND_TTL_MS = 30 * 24 * 60 * 60_000;
export const MAX_UNFURLS = 5;

export type LookupDeps = {
  cotool: Pick<CotoolClient, 'getAlert' | 'getAlertForRun' | 'listAlerts'>;
  access: Pick<AccessPolicy, 'check'>;
  store: Pick<Store, 'get' | 'getMany' | 'firstTime'>;
  health: HealthState;
  logger: Logger;
  clock: () => number;
};

export type Forbidden = { ok: false; code: 'forbidden'; reason: AccessRefusal };
export type NotFound = { ok: false; code: 'not_found' };
export type UpstreamError = { ok: false; code: 'upstream_error'; error: CotoolError };
export type LookupFailure = Forbidden | NotFound | UpstreamError;

export type FoundAlert = {
  ok: true;
  alert: AlertWithTimeline;
  /** What was last done to the alert from Slack, as the channel card shows it. */
  lastAction: LastAction | null;
  user: SlackUserInfo;
};

/** A list or a search: the filters, and the text for a search (filters empty then). */
export type AlertQuery = AlertFilter & { q?: string };

export type ListPage = {
  ok: true;
  query: AlertQuery;
  offset: number;
  alerts: Alert[];
  totalCount: number;
  /** Items Cotool sent that could not be read (the page shows fewer rows). */
  skipped: number;
};

export type LiveStatus = (typeof LIVE_STATUSES)[number];
export type HomeData = {
  ok: true;
  /** Null where the count could not be read. */
  byStatus: Record<LiveStatus, number | null>;
  bySeverity: Record<KnownSeverity, number | null>;
  /** The newest escalated alerts, or null when they could not be read. */
  escalated: { alerts: Array<{ alert: Alert; lastAction: LastAction | null }>; totalCount: number } | null;
  /** The first Cotool failure among the calls, if any. */
  error: CotoolError | null;
  health: HealthState;
  now: number;
};

export type LookupService = {
  lookup(userId: string, ref: string): Promise<FoundAlert | LookupFailure>;
  lookupRun(userId: string, runId: string): Promise<{ ok: true; found: FoundAlert | null } | LookupFailure>;
  list(userId: string, query: AlertQuery, offset: number): Promise<ListPage | Forbidden | UpstreamError>;
  home(userId: string): Promise<HomeData | Forbidden>;
  /** Alerts for unfurling, by ref (display id or UUID). Refs that failed to load are absent. */
  unfurl(userId: string, refs: readonly string[]): Promise<{ ok: true; alerts: Map<string, Alert> } | Forbidden>;
  /**
   * Alerts to expand in a thread: only ids not expanded in that thread before (claimed in the store
   * whether or not the alert then loads). The poster's access is checked before anything is claimed.
   */
  expand(
    userId: string,
    place: { channel: string; threadTs: string },
    displayIds: readonly string[],
  ): Promise<{ ok: true; alerts: Alert[] } | Forbidden>;
};

const byNewest = (a: { createdAt: string }, b: { createdAt: string }) =>
  (Date.parse(b.createdAt) || 0) - (Date.parse(a.createdAt) || 0);

export function createLookupService(deps: LookupDeps): LookupService {
  const { cotool, access, store, clock } = deps;
  const log = deps.logger.child({ module: 'lookup' });

  async function allowed(userId: string): Promise<{ ok: true; user: SlackUserInfo } | Forbidden> {
    const decision = await access.check(userId);
    return decision.ok ? decision : { ok: false, code: 'forbidden', reason: decision.reason };
  }

  /** A Cotool failure as a result; anything else is rethrown. */
  function failure(err: unknown): NotFound | UpstreamError {
    if (!isCotoolError(err)) throw err;
    if (err.isNotFound()) return { ok: false, code: 'not_found' };
    return { ok: false, code: 'upstream_error', error: err };
  }

  async function found(alert: AlertWithTimeline, user: SlackUserInfo): Promise<FoundAlert> {
    const record = await store.get(alert.id);
    return { ok: true, alert, lastAction: record?.lastAction ?? null, user };
  }

  async function lookup(userId: string, ref: string): Promise<FoundAlert | LookupFailure> {
    const who = await allowed(userId);
    if (!who.ok) return who;
    try {
      return await found(await cotool.getAlert(ref), who.user);
    } catch (err) {
      return failure(err);
    }
  }

  async function lookupRun(userId: string, runId: string) {
    const who = await allowed(userId);
    if (!who.ok) return who;
    let alert: Alert | null;
    try {
      alert = await cotool.getAlertForRun(runId);
    } catch (err) {
      return failure(err);
    }
    if (!alert) return { ok: true as const, found: null };
    try {
      return { ok: true as const, found: await found(await cotool.getAlert(alert.id), who.user) };
    } catch (err) {
      const f = failure(err);
      if (f.code === 'not_found') return { ok: true as const, found: null };
      // The run's alert is known; show it without its timeline rather than fail the whole answer.
      log.warn({ err: f.error.toLog(), alertId: alert.id }, 'could not read the timeline of a run’s alert');
      return { ok: true as const, found: await found({ ...alert, timeline: [] }, who.user) };
    }
  }

  async function list(
    userId: string,
    query: AlertQuery,
    offset: number,
  ): Promise<ListPage | Forbidden | UpstreamError> {
    const who = await allowed(userId);
    if (!who.ok) return who;
    try {
      const page = await cotool.listAlerts({
        status: query.status,
        severity: query.severity,
        source: query.source,
        ...(query.q ? { q: query.q } : {}),
        limit: LIST_PAGE_SIZE,
        offset,
      });
      // The API promises no order: within a page, newest first.
      const alerts = [...page.alerts].sort(byNewest).slice(0, LIST_PAGE_SIZE);
      return { ok: true, query, offset, alerts, totalCount: page.totalCount, skipped: page.skipped };
    } catch (err) {
      const f = failure(err);
      if (f.code === 'not_found') throw err; // a 404 on the list endpoint is not "no such alert"
      return f;
    }
  }

  async function home(userId: string): Promise<HomeData | Forbidden> {
    const who = await allowed(userId);
    if (!who.ok) return who;
    const live = [...LIVE_STATUSES];
    const count = (status: string[], severity: string[] = []) =>
      cotool.listAlerts({ status, ...(severity.length ? { severity } : {}), limit: 1 }).then((p) => p.totalCount);
    // Seven calls at once: open, in progress, the escalated list (its total is the third count), four severities.
    const [open, inProgress, escalatedPage, ...severities] = await Promise.allSettled([
      count(['open']),
      count(['in_progress']),
      cotool.listAlerts({ status: ['escalated'], limit: HOME_ESCALATED_FETCH }),
      ...SEVERITIES.map((s) => count(live, [s])),
    ]);
    let error: CotoolError | null = null;
    const value = <T>(r: PromiseSettledResult<T> | undefined): T | null => {
      if (r?.status === 'fulfilled') return r.value;
      if (r && isCotoolError(r.reason)) error ??= r.reason;
      else if (r) throw r.reason;
      return null;
    };
    const page = value(escalatedPage);
    let escalated: HomeData['escalated'] = null;
    if (page) {
      const newest = [...page.alerts].sort(byNewest);
      const records = await store.getMany(newest.map((a) => a.id));
      escalated = {
        alerts: newest.map((alert) => ({ alert, lastAction: records.get(alert.id)?.lastAction ?? null })),
        totalCount: page.totalCount,
      };
    }
    const bySeverity = Object.fromEntries(SEVERITIES.map((s, i) => [s, value(severities[i])])) as Record<
      KnownSeverity,
      number | null
    >;
    return {
      ok: true,
      byStatus: { open: value(open), in_progress: value(inProgress), escalated: page?.totalCount ?? null },
      bySeverity,
      escalated,
      error,
      health: structuredClone(deps.health),
      now: clock(),
    };
  }

  async function unfurl(userId: string, refs: readonly string[]) {
    const who = await allowed(userId);
    if (!who.ok) return who;
    const wanted = [...new Set(refs)].slice(0, MAX_UNFURLS);
    const alerts = new Map<string, Alert>();
    await Promise.all(
      wanted.map(async (ref) => {
        try {
          alerts.set(ref, await cotool.getAlert(ref));
        } catch (err) {
          const f = failure(err);
          if (f.code === 'upstream_error') log.warn({ err: f.error.toLog(), ref }, 'could not read an alert to unfurl');
          else log.info({ ref }, 'a linked alert was not found; no preview');
        }
      }),
    );
    return { ok: true as const, alerts };
  }

  async function expand(userId: string, place: { channel: string; threadTs: string }, displayIds: readonly string[]) {
    const who = await allowed(userId);
    if (!who.ok) return who;
    const alerts: Alert[] = [];
    for (const id of displayIds) {
      const key = `expand:${place.channel}:${place.threadTs}:${id}`;
      if (!(await store.firstTime(key, clock(), EXPAND_TTL_MS))) continue;
      try {
        alerts.push(await cotool.getAlert(id));
      } catch (err) {
        const f = failure(err);
        if (f.code === 'upstream_error')
          log.warn({ err: f.error.toLog(), displayId: id }, 'could not read an alert to expand');
      }
    }
    return { ok: true as const, alerts };
  }

  return { lookup, lookupRun, list, home, unfurl, expand };
}
