/**
 * Deciding what to send after a poll: pure functions of what the store remembers and the alerts just
 * fetched. No I/O, no clock: everything comes in as arguments, and what comes out are store changes
 * (record writes that are compare-and-set on the version they were planned from, and outbox items).
 *
 * `planPage` handles one page of the listing (changes to known alerts are written page by page);
 * new alerts come out as candidates, and `decideNew` decides per channel, once the listing is
 * complete, which of them get a card and which are folded into a storm's digest.
 */

import type { Alert } from './alert.ts';
import { SEVERITIES } from './alert.ts';
import { currentLastAction, escalatedFromSlack } from './last-action.ts';
import type { MutePlanner } from './mute-plan.ts';
import { cardItem, cardPriority, cardUpdateItem, escalationItem, refreshedCardItem, threadNoteItem } from './outbox.ts';
import type { CardRecord, Change, NewOutboxItem } from './records.ts';
import { alertIdOfKey, cardKey, type Route, routeAlert } from './routes.ts';

export type PlanPolicy = {
  /** Cards for new alerts only from this severity up (escalations always card). */
  minSeverity: (typeof SEVERITIES)[number] | null;
  /** Cards for new alerts only from these source names (empty: all). */
  sources: readonly string[];
  /** First start with an empty store: which of the already-live alerts get a card. */
  backlog: 'recent' | 'all' | 'none';
  backlogMaxAgeMs: number;
  /** THREAD_TIMELINE: whether a change of a posted card's alert also asks for a thread note (default off). */
  threadTimeline?: 'all' | 'comments' | 'off';
  /** REMIND_AFTER_MINUTES in ms (0: none; a route may set its own), and who reminders mention by default. */
  remindAfterMs?: number;
  oncall?: readonly string[];
};

/** A new alert for a channel, waiting for `decideNew`. */
export type Candidate = {
  key: string;
  channel: string;
  alert: Alert;
  record: CardRecord | null;
  priority: number;
  orderAt: number;
  /** A known alert that escalated: it gets its card at once, storm or not. */
  forced: boolean;
  mention: string | null;
  stormThreshold: number | null;
  /** The alert's primary card of a critical or high alert gets reminders: after this wait, mentioning these. */
  remind?: { afterMs: number; oncall: string[] } | null;
  /** When the poll planned it (the reminder's hold starts then). */
  plannedAt?: number;
  /**
   * Only what a digest entry needs is kept of the alert (a big backlog: it can no longer get a card
   * of its own). See candidateBuffer.
   */
  slim?: boolean;
  /** A held-back alert that escalated: the mute it was counted in (its card counts as escalated there). */
  muteId?: string | null;
};

export type PageInput = {
  alerts: readonly Alert[];
  /** Records by card key (see cardKey) for these alerts. */
  records: ReadonlyMap<string, CardRecord>;
  routes: readonly Route[];
  defaultChannel: string;
  /** True until the first complete cycle has been recorded: the backlog rule applies. */
  firstRun: boolean;
  now: number;
  policy: PlanPolicy;
  /** Compact fingerprint of the card this alert would show, given its record. */
  fingerprint: (alert: Alert, record: CardRecord | null) => string;
  /** The mutes holding this cycle (src/core/mute-plan.ts): new alerts they hold back get no card. */
  muter?: MutePlanner;
  /** The incident channel of each alert that has one (alert id → channel): a further copy of its card. */
  warRooms?: ReadonlyMap<string, string>;
};

export type PagePlan = { changes: Change[]; candidates: Candidate[]; keys: string[] };

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

/** `a` is strictly older than `b` (both timestamps readable). */
function isOlder(a: string, b: string | null): boolean {
  const ta = Date.parse(a);
  const tb = b ? Date.parse(b) : Number.NaN;
  return !Number.isNaN(ta) && !Number.isNaN(tb) && ta < tb;
}

export function orderOf(alert: Alert, now: number): number {
  const t = Date.parse(alert.createdAt);
  return Number.isNaN(t) ? now : t;
}

/**
 * A listed alert its record already reflects: nothing to plan, and no need even to validate it. The
 * steady state of every poll, decided by comparing two strings.
 */
export function unchanged(
  item: { updatedAt: string | null; status: string | null },
  record: Pick<CardRecord, 'state' | 'status' | 'updatedAt' | 'final'> | undefined,
): boolean {
  if (!record || item.updatedAt === null || item.status === null) return false;
  // A final one (its alert had left the live set) is live again: it must be unmarked, or be pruned.
  if (record.state === 'seen') return item.status !== 'escalated' && !record.final;
  if (record.state === 'digested' || record.state === 'muted')
    return (item.status !== 'escalated' || record.status === 'escalated') && !record.final;
  return record.updatedAt === item.updatedAt && record.status === item.status && !record.final;
}

/**
 * The channels an alert's card is in: its route's (the first holds the primary card), then its war
 * room's, if it has one — a further copy, kept in sync like any routed copy (never the primary).
 */
export function cardChannels(
  alert: Alert,
  routes: readonly Route[],
  defaultChannel: string,
  warRooms?: ReadonlyMap<string, string>,
): { dest: ReturnType<typeof routeAlert>; channels: string[] } {
  const dest = routeAlert(alert, routes, defaultChannel);
  const room = warRooms?.get(alert.id);
  const channels = room && !dest.channels.includes(room) ? [...dest.channels, room] : dest.channels;
  return { dest, channels };
}

export function planPage(input: PageInput): PagePlan {
  const { records, firstRun, now, policy } = input;
  const changes: Change[] = [];
  const candidates: Candidate[] = [];
  const keys: string[] = [];

  for (const alert of input.alerts) {
    const { dest, channels } = cardChannels(alert, input.routes, input.defaultChannel, input.warRooms);
    const escalated = alert.status === 'escalated';
    channels.forEach((channel, i) => {
      const key = cardKey(alert.id, channel, i === 0);
      keys.push(key);
      const record = records.get(key) ?? null;
      const candidate = (forced: boolean): Candidate => ({
        key,
        channel,
        alert,
        record,
        priority: cardPriority(alert.severity, escalated),
        orderAt: orderOf(alert, now),
        forced,
        mention: dest.mention,
        stormThreshold: dest.stormThreshold,
        remind: i === 0 ? remindOf(dest, policy) : null,
        plannedAt: now,
      });

      if (!record) {
        // Decided only for an alert that would get a card: the planner lists every alert it holds.
        const fresh = () => {
          const held = input.muter?.hold(alert, key, channel, dest.breakThrough) ?? null;
          if (held) changes.push(held);
          else candidates.push(candidate(false));
        };
        if (escalated) fresh();
        else if (firstRun) {
          const wanted =
            policy.backlog === 'all' || (policy.backlog === 'recent' && isRecent(alert, now, policy.backlogMaxAgeMs));
          if (!wanted) {
            changes.push({
              card: {
                op: 'insert',
                alertId: key,
                displayId: alert.displayId,
                state: 'seen',
                channel: null,
                status: alert.status,
                updatedAt: alert.updatedAt,
                fingerprint: null,
              },
            });
          } else if (passesFilters(alert, policy)) fresh();
        } else if (passesFilters(alert, policy)) fresh();
        return;
      }

      if (record.state === 'muted') {
        // Held back by a mute: its card when it escalates (counted as escalated in the mute).
        const moved = input.muter?.escalated(alert, record, dest.breakThrough) ?? {
          do: escalated && record.status !== 'escalated' ? ('card' as const) : ('none' as const),
        };
        if (moved.do === 'card') candidates.push({ ...candidate(true), muteId: record.muteId });
        else if (moved.do === 'stay') changes.push(moved.change);
        else if (record.final) {
          changes.push({ card: { op: 'update', alertId: key, expectVersion: record.version, set: { final: false } } });
        }
        return;
      }

      if (record.state === 'seen' || record.state === 'digested') {
        // A known alert gets a card when it escalates (one folded into a digest as escalated already
        // stands in the digest's escalated group).
        if (escalated && (record.state === 'seen' || record.status !== 'escalated')) candidates.push(candidate(true));
        else if (record.final) {
          // Live again after it was marked final (see finaliseQuiet in the poller): it is no longer
          // past caring, so retention keeps it.
          changes.push({ card: { op: 'update', alertId: key, expectVersion: record.version, set: { final: false } } });
        }
        return;
      }

      // queued or posted. A listing older than what the record holds (a change made from Slack
      // while this poll was reading) must not roll the card back.
      if (isOlder(alert.updatedAt, record.updatedAt)) return;
      // Cotool moves updatedAt on every change: the same updatedAt is the same card (the common,
      // steady case, decided without hashing anything).
      if (alert.updatedAt === record.updatedAt && alert.status === record.status && !record.final) return;
      const becameEscalated = escalated && record.status !== 'escalated';
      // A further copy (another routed channel, a war room) credits what the primary card credits: a
      // change made from Slack is recorded on the primary card, and reaches the copies here.
      const credited = i > 0 ? currentLastAction(alert.status, records.get(alert.id)?.lastAction) : record.lastAction;
      const shown = credited === record.lastAction ? record : { ...record, lastAction: credited };
      const fp = input.fingerprint(alert, shown);
      const liveAgain = record.final;
      if (!becameEscalated && fp === record.fingerprint && !liveAgain) return;

      const settle =
        i > 0
          ? credited !== record.lastAction
          : record.lastAction && !currentLastAction(alert.status, record.lastAction);
      const change: Change = {
        card: {
          op: 'update',
          alertId: key,
          expectVersion: record.version,
          set: {
            status: alert.status,
            updatedAt: alert.updatedAt,
            fingerprint: fp,
            final: false,
            ...(settle ? { lastAction: i > 0 ? credited : null } : {}),
          },
        },
        enqueue: [],
      };
      const enqueue = change.enqueue as NewOutboxItem[];
      if (record.state === 'queued') {
        // Not in Slack yet: the queued card is posted with the latest version of the alert.
        enqueue.push(cardItem(key, channel, alert, cardPriority(alert.severity, escalated), orderOf(alert, now)));
      } else {
        enqueue.push(cardUpdateItem(key, channel, alert.id, alert, now));
        // Its timeline moved too: what is new in it goes to the card's thread (read when sent).
        if ((policy.threadTimeline ?? 'off') !== 'off' && alert.updatedAt !== record.updatedAt) {
          enqueue.push(threadNoteItem(key, channel, alert, record.updatedAt, now));
        }
      }
      // Escalated from Slack (on the primary card, for a copy): the analyst's thread note says so
      // already; on-call is not paged for it.
      if (becameEscalated && !escalatedFromSlack(alert.status, credited)) {
        enqueue.push(escalationItem(key, channel, alert, dest.mention, now));
      }
      changes.push(change);
    });
  }
  return { changes, candidates, keys };
}

/**
 * The status a redraw outside the poll (a click's, or the sender's) may record for a card: the
 * alert's — except an escalation made elsewhere that the poller has not announced yet (null: keep
 * the record's), so that the next poll still sees "became escalated" (above) and pages on-call.
 * Escalated from Slack: the analyst's thread note says so, nothing to page.
 */
export function statusToRecord(
  alert: Pick<Alert, 'status'>,
  record: Pick<CardRecord, 'status' | 'lastAction'> | null,
): string | null {
  const unannounced =
    alert.status === 'escalated' &&
    record?.status !== 'escalated' &&
    !escalatedFromSlack(alert.status, record?.lastAction);
  return unannounced ? null : alert.status;
}

/** Cards whose alert left the live set (closed or deleted in Cotool): fetch them by id and redraw. */
export function planGone(records: readonly CardRecord[], now: number): Change[] {
  const out: Change[] = [];
  for (const r of records) {
    if (!r.channel) continue;
    if (r.state === 'posted' && !r.final) {
      out.push({
        card: { op: 'update', alertId: r.alertId, expectVersion: r.version, set: { final: true } },
        enqueue: [cardUpdateItem(r.alertId, r.channel, alertIdOfRecord(r), null, now)],
      });
    } else if (r.state === 'queued' && !r.final) {
      // Closed before its card was posted: the card is posted as the alert is then (closed).
      out.push({
        card: { op: 'update', alertId: r.alertId, expectVersion: r.version, set: { final: true } },
        enqueue: [refreshedCardItem(r.alertId, r.channel, alertIdOfRecord(r), now)],
      });
    }
  }
  return out;
}

const alertIdOfRecord = (r: CardRecord) => alertIdOfKey(r.alertId);

/** Who a reminder may mention: people (U…/W…) and user groups (S…), never @here or @channel. */
const REMINDER_MENTION = /^([UW]|S)[A-Z0-9]{2,}$/;

function remindOf(
  dest: { remindAfterMs: number | null; oncall: string[] | null },
  policy: PlanPolicy,
): Candidate['remind'] {
  const afterMs = dest.remindAfterMs ?? policy.remindAfterMs ?? 0;
  if (afterMs <= 0) return null;
  return { afterMs, oncall: (dest.oncall ?? policy.oncall ?? []).filter((id) => REMINDER_MENTION.test(id)) };
}
