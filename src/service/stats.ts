/**
 * The noise report: per detection, over the alerts created in the last 7 (or 30) days — how many,
 * how many closed as false positive / benign / true positive, the false-positive rate (of those
 * closed), and the median time from the card reaching Slack to the first human action on it from
 * Slack. The list a detection engineer tunes from.
 *
 * Where the numbers come from, and what they cost:
 * - Cotool's list endpoint has no date filter and promises no order, so the report pages through
 *   every alert (all statuses, 200 a page) and keeps those created in the window. That is
 *   ceil(N / 200) GET /api/alerts calls for N alerts in the organisation: **50 calls for 10,000
 *   alerts**, and nothing else from Cotool (no per-alert reads). The listing stops at MAX_PAGES
 *   (100 pages, 20,000 alerts); beyond that the report says it is partial.
 * - Times to first action come from the bot's own store (`cardTimes`: one query).
 * - A report is kept for CACHE_MS and concurrent asks share one run, so `/cotool stats` typed by a
 *   whole team (or the weekly post) costs one listing.
 */

import { type Alert, LIVE_STATUSES } from '../core/alert.ts';
import type { Logger } from '../log.ts';
import type { CotoolClient, Store } from '../ports.ts';

export const STATS_PAGE_SIZE = 200;
/** At most this many list calls per report (20,000 alerts). */
export const STATS_MAX_PAGES = 100;
export const CACHE_MS = 5 * 60_000;
const DAY_MS = 24 * 60 * 60_000;

export type DetectionStats = {
  /** Detection id, else its name, else `source:<name>` for alerts without a detection. */
  key: string;
  name: string;
  /** Alerts without a detection, grouped by their source. */
  noDetection: boolean;
  alerts: number;
  falsePositive: number;
  benign: number;
  truePositive: number;
  /** Still open, in progress or escalated. */
  live: number;
  /** falsePositive / (falsePositive + benign + truePositive); null when none is closed. */
  fpRate: number | null;
  /** Median ms from card to first human action from Slack, over the cards acted on; null: none. */
  medianFirstActionMs: number | null;
  /** Cards with a first action (the median's sample size). */
  acted: number;
};

export type StatsReport = {
  days: number;
  sinceMs: number;
  untilMs: number;
  alerts: number;
  falsePositive: number;
  benign: number;
  truePositive: number;
  fpRate: number | null;
  medianFirstActionMs: number | null;
  /** By volume, largest first (ties by name). */
  detections: DetectionStats[];
  /** The listing stopped at STATS_MAX_PAGES: counts cover only what was listed. */
  partial: boolean;
  /** List calls made. */
  pages: number;
};

export type StatsDeps = {
  cotool: Pick<CotoolClient, 'listAlertPages'>;
  store: Pick<Store, 'cardTimes'>;
  logger: Logger;
  clock: () => number;
  maxPages?: number;
  cacheMs?: number;
};

export type StatsService = { report(days: number): Promise<StatsReport> };

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function groupOf(a: Alert): { key: string; name: string; noDetection: boolean } {
  const d = a.detection;
  if (d && (d.id || d.name))
    return { key: d.id ?? `name:${d.name}`, name: d.name || d.id || 'Unnamed detection', noDetection: false };
  const source = a.source?.name || 'unknown';
  return { key: `source:${source}`, name: source, noDetection: true };
}

const rate = (fp: number, closed: number) => (closed > 0 ? fp / closed : null);

/** The report from alerts (deduplicated, any status) and card times; pure. */
export function buildReport(
  alerts: Iterable<Alert>,
  cardTimes: readonly { alertId: string; postedAt: number; firstActionAt: number | null }[],
  window: { days: number; sinceMs: number; untilMs: number },
  meta: { partial: boolean; pages: number },
): StatsReport {
  const firstAction = new Map<string, number>();
  for (const c of cardTimes) {
    if (c.firstActionAt !== null && c.firstActionAt >= c.postedAt)
      firstAction.set(c.alertId, c.firstActionAt - c.postedAt);
  }
  type Acc = DetectionStats & { times: number[] };
  const groups = new Map<string, Acc>();
  const all: number[] = [];
  for (const a of alerts) {
    const created = Date.parse(a.createdAt);
    if (!(created >= window.sinceMs && created <= window.untilMs)) continue;
    const g = groupOf(a);
    let acc = groups.get(g.key);
    if (!acc) {
      acc = {
        ...g,
        alerts: 0,
        falsePositive: 0,
        benign: 0,
        truePositive: 0,
        live: 0,
        fpRate: null,
        medianFirstActionMs: null,
        acted: 0,
        times: [],
      };
      groups.set(g.key, acc);
    }
    acc.alerts++;
    if (a.status === 'closed_false_positive') acc.falsePositive++;
    else if (a.status === 'closed_true_positive_benign') acc.benign++;
    else if (a.status === 'closed_true_positive') acc.truePositive++;
    else if ((LIVE_STATUSES as readonly string[]).includes(a.status)) acc.live++;
    const t = firstAction.get(a.id);
    if (t !== undefined) {
      acc.times.push(t);
      all.push(t);
    }
  }
  const detections = [...groups.values()]
    .map(({ times, ...d }) => ({
      ...d,
      fpRate: rate(d.falsePositive, d.falsePositive + d.benign + d.truePositive),
      medianFirstActionMs: median(times),
      acted: times.length,
    }))
    .sort((x, y) => y.alerts - x.alerts || x.name.localeCompare(y.name) || x.key.localeCompare(y.key));
  const sum = (f: (d: DetectionStats) => number) => detections.reduce((n, d) => n + f(d), 0);
  const fp = sum((d) => d.falsePositive);
  const benign = sum((d) => d.benign);
  const tp = sum((d) => d.truePositive);
  return {
    ...window,
    alerts: sum((d) => d.alerts),
    falsePositive: fp,
    benign,
    truePositive: tp,
    fpRate: rate(fp, fp + benign + tp),
    medianFirstActionMs: median(all),
    detections,
    partial: meta.partial,
    pages: meta.pages,
  };
}

export function createStatsService(deps: StatsDeps): StatsService {
  const log = deps.logger.child({ module: 'stats' });
  const cacheMs = deps.cacheMs ?? CACHE_MS;
  const cache = new Map<number, { at: number; report: Promise<StatsReport> }>();

  async function compute(days: number): Promise<StatsReport> {
    const untilMs = deps.clock();
    const sinceMs = untilMs - days * DAY_MS;
    const byId = new Map<string, Alert>();
    let pages = 0;
    let partial = false;
    for await (const page of deps.cotool.listAlertPages(
      {},
      { pageSize: STATS_PAGE_SIZE, maxPages: deps.maxPages ?? STATS_MAX_PAGES },
    )) {
      pages = page.pages;
      for (const a of page.alerts) byId.set(a.id, a);
      if (page.truncated) partial = true;
    }
    const times = await deps.store.cardTimes(sinceMs);
    const report = buildReport(byId.values(), times, { days, sinceMs, untilMs }, { partial, pages });
    log.info(
      { days, listed: byId.size, alerts: report.alerts, detections: report.detections.length, pages, partial },
      'noise report computed',
    );
    return report;
  }

  return {
    report(days) {
      const now = deps.clock();
      const hit = cache.get(days);
      if (hit && now - hit.at < cacheMs) return hit.report;
      const report = compute(days);
      cache.set(days, { at: now, report });
      // A failed run is not kept: the next ask tries again.
      report.catch(() => {
        if (cache.get(days)?.report === report) cache.delete(days);
      });
      return report;
    },
  };
}
