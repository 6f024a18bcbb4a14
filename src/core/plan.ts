/**
 * Deciding what to do in Slack after a poll: a pure function of what the store remembers and the
 * complete list of live alerts just fetched. No I/O, no clock: everything comes in as arguments.
 */
import type { Alert } from '../cotool/schemas.ts';
import { SEVERITIES } from '../cotool/schemas.ts';
import type { CardRecord } from '../store/store.ts';

export type PlanPolicy = {
  /** Cards for new alerts only from this severity up (escalations always card). */
  minSeverity: (typeof SEVERITIES)[number] | null;
  /** Cards for new alerts only from these source names (empty: all). */
  sources: readonly string[];
  /** First start with an empty store: which of the already-live alerts get a card. */
  backlog: 'recent' | 'all' | 'none';
  backlogMaxAgeMs: number;
  /** A claim older than this is taken to belong to a process that died mid-post. */
  claimStaleMs: number;
};

export type PlanInput = {
  /** Records for the fetched alerts and every unfinished record (posted-not-final or claimed). */
  records: ReadonlyMap<string, CardRecord>;
  /** The live alerts fetched this cycle. */
  live: readonly Alert[];
  /**
   * Whether `live` is the complete live set. Only a complete list can say that a card's alert
   * left it; a partial one (a page limit reached) is still used for new and changed alerts.
   */
  complete: boolean;
  /** True until the first complete cycle has been recorded: the backlog rule applies. */
  firstRun: boolean;
  now: number;
  policy: PlanPolicy;
  /** Hash of the card this alert would render to now, given what the store knows of it. */
  fingerprint: (alert: Alert, record: CardRecord | null) => string;
};

export type Action =
  /** A new card; `escalated` also posts the escalation reply. */
  | { type: 'post'; alert: Alert; escalated: boolean; reason: 'new' | 'backlog' | 'escalated' }
  /**
   * A claim left by a process that died mid-post: find the card it may have posted, else post
   * (`alert` null: the alert is no longer live, so only an existing card is adopted).
   */
  | { type: 'recover'; alert: Alert | null; record: CardRecord }
  /** Remember the alert without a card (first-start backlog). */
  | { type: 'seen'; alert: Alert }
  /** The alert became escalated: update the card and post the broadcast reply. */
  | { type: 'escalate'; alert: Alert; record: CardRecord }
  /** Something visible changed: chat.update. `render: false` only notes the new state. */
  | { type: 'update'; alert: Alert; record: CardRecord; render: boolean }
  /** A card whose alert left the live set: fetch it by id and show its final state. */
  | { type: 'refresh'; record: CardRecord };

export type Plan = {
  actions: Action[];
  skipped: { alertId: string; why: 'filtered' | 'claimed' | 'stale_listing' }[];
};

/** `a` is strictly older than `b` (both timestamps readable). */
function isOlder(a: string, b: string | null): boolean {
  const ta = Date.parse(a);
  const tb = b ? Date.parse(b) : Number.NaN;
  return !Number.isNaN(ta) && !Number.isNaN(tb) && ta < tb;
}

const severityRank = (s: string | null): number => (s ? (SEVERITIES as readonly string[]).indexOf(s) : -1);

export function passesFilters(alert: Alert, policy: PlanPolicy): boolean {
  if (policy.minSeverity && severityRank(alert.severity) < severityRank(policy.minSeverity)) return false;
  if (policy.sources.length > 0 && !policy.sources.includes(alert.source?.name ?? '')) return false;
  return true;
}

function isRecent(alert: Alert, now: number, maxAgeMs: number): boolean {
  const created = Date.parse(alert.createdAt);
  // An unparseable date is treated as recent: better one extra card than a silently dropped alert.
  return Number.isNaN(created) || now - created <= maxAgeMs;
}

export function plan(input: PlanInput): Plan {
  const { records, live, firstRun, now, policy } = input;
  const actions: Action[] = [];
  const skipped: Plan['skipped'] = [];
  const liveIds = new Set<string>();

  for (const alert of live) {
    if (liveIds.has(alert.id)) continue;
    liveIds.add(alert.id);
    const record = records.get(alert.id) ?? null;
    const escalated = alert.status === 'escalated';

    if (!record || record.state === 'seen') {
      if (record && !escalated) continue; // a seen alert gets a card only when it escalates
      if (escalated) {
        actions.push({ type: 'post', alert, escalated, reason: 'escalated' });
      } else if (firstRun) {
        const wanted =
          policy.backlog === 'all' || (policy.backlog === 'recent' && isRecent(alert, now, policy.backlogMaxAgeMs));
        if (wanted && passesFilters(alert, policy)) actions.push({ type: 'post', alert, escalated, reason: 'backlog' });
        else if (!wanted) actions.push({ type: 'seen', alert });
        else skipped.push({ alertId: alert.id, why: 'filtered' });
      } else if (passesFilters(alert, policy)) {
        actions.push({ type: 'post', alert, escalated, reason: 'new' });
      } else {
        skipped.push({ alertId: alert.id, why: 'filtered' });
      }
      continue;
    }

    if (record.state === 'claimed') {
      if (record.claimedAt !== null && record.claimedAt < now - policy.claimStaleMs) {
        actions.push({ type: 'recover', alert, record });
      } else {
        skipped.push({ alertId: alert.id, why: 'claimed' });
      }
      continue;
    }

    // A posted card. A listing older than what the card already shows (a change made from Slack
    // while this poll was reading) must not roll the card back.
    if (isOlder(alert.updatedAt, record.updatedAt)) {
      skipped.push({ alertId: alert.id, why: 'stale_listing' });
      continue;
    }
    if (escalated && record.status !== 'escalated') {
      actions.push({ type: 'escalate', alert, record });
      continue;
    }
    const fp = input.fingerprint(alert, record);
    if (fp !== record.fingerprint) actions.push({ type: 'update', alert, record, render: true });
    else if (record.final || record.status !== alert.status || record.updatedAt !== alert.updatedAt) {
      actions.push({ type: 'update', alert, record, render: false });
    }
  }

  // Cards whose alert is no longer live: closed (or deleted) in Cotool since the last poll.
  if (!input.complete) return { actions, skipped };
  for (const record of records.values()) {
    if (liveIds.has(record.alertId)) continue;
    if (record.state === 'posted' && !record.final) actions.push({ type: 'refresh', record });
    else if (record.state === 'claimed' && record.claimedAt !== null && record.claimedAt < now - policy.claimStaleMs) {
      actions.push({ type: 'recover', alert: null, record });
    }
  }
  return { actions, skipped };
}
