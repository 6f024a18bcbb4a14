/**
 * New alerts, per channel, once a poll's listing is complete: which get a card and which are folded
 * into a storm's digest (and the buffer that keeps a big backlog's candidates small). Pure, like the
 * rest of the planner (plan.ts plans pages of known alerts and hands new ones over as candidates).
 */
import type { Alert } from './alert.ts';
import { groupOf } from './digest.ts';
import { escalatedFromSlack } from './last-action.ts';
import { escalatedParts } from './mute-plan.ts';
import { cardItem, digestItem, digestUpdateItem, escalationItem, outboxKey, PRIORITY, reminderItem } from './outbox.ts';
import type { Candidate } from './plan.ts';
import type { CardRecord, Change, Storm, StormMember } from './records.ts';
import { REMINDED_SEVERITIES } from './reminders.ts';

export type StormPolicy = { threshold: number; cards: number; quietMs: number };

/** A card already in the outbox for this channel, not yet being sent. */
export type PendingCard = {
  key: string;
  record: CardRecord;
  alert: Alert | null;
  priority: number;
  orderAt: number;
};

export type ChannelInput = {
  channel: string;
  candidates: readonly Candidate[];
  pending: readonly PendingCard[];
  storm: Storm | null;
  policy: StormPolicy;
  now: number;
  newStormId: () => string;
};

export type ChannelDecision = {
  changes: Change[];
  cards: number;
  digested: number;
  folded: number;
  stormStarted: string | null;
  stormEnded: string | null;
};

function member(stormId: string, alert: Alert): StormMember {
  const group = groupOf(alert);
  return {
    stormId,
    alertId: alert.id,
    displayId: alert.displayId,
    groupKey: group.key,
    groupName: group.name,
    severity: alert.severity,
    status: alert.status,
    title: alert.title,
    createdAt: alert.createdAt,
    updatedAt: alert.updatedAt,
  };
}

const byUrgency = (a: { priority: number; orderAt: number }, b: { priority: number; orderAt: number }) =>
  a.priority - b.priority || a.orderAt - b.orderAt;

function cardChange(c: Candidate, stormId: string | null, fingerprint: string): Change {
  const { alert } = c;
  const escalated = alert.status === 'escalated';
  const enqueue = [cardItem(c.key, c.channel, alert, c.priority, c.orderAt)];
  // Reminder 1, held from now for the wait (the sender also waits for the card's own age when it is due).
  if (c.remind && c.record?.firstActionAt == null && REMINDED_SEVERITIES.includes(alert.severity ?? '')) {
    const payload = { alertId: alert.id, displayId: alert.displayId, n: 1, ...c.remind };
    enqueue.push(reminderItem(c.key, c.channel, payload, c.plannedAt ?? c.orderAt));
  }
  if (escalated && !escalatedFromSlack(alert.status, c.record?.lastAction)) {
    enqueue.push(escalationItem(c.key, c.channel, alert, c.mention, c.orderAt + 1));
  }
  const muted = c.muteId ? escalatedParts(c.muteId, c.channel, c.key, c.orderAt) : null;
  if (muted) enqueue.push(...muted.enqueue);
  const set = {
    state: 'queued' as const,
    channel: c.channel,
    status: alert.status,
    updatedAt: alert.updatedAt,
    fingerprint,
    final: false,
    stormId,
  };
  return {
    card: c.record
      ? { op: 'update', alertId: c.key, expectVersion: c.record.version, set }
      : {
          op: 'insert',
          alertId: c.key,
          displayId: alert.displayId,
          state: 'queued',
          channel: c.channel,
          status: alert.status,
          updatedAt: alert.updatedAt,
          fingerprint,
          stormId,
        },
    enqueue,
    ...(muted ? { mute: muted.mute } : {}),
  };
}

/**
 * Per channel: new alerts become cards, unless the channel's backlog of new cards exceeds the storm
 * threshold (or a storm is on). In a storm, only the most urgent alerts (escalated, then critical,
 * then high, oldest first) get cards, up to the storm's card budget; the rest — including queued
 * cards not yet sent — are folded into the storm's one digest.
 */
export function decideNew(
  input: ChannelInput,
  fingerprint: (alert: Alert, record: CardRecord | null) => string,
): ChannelDecision {
  const { channel, policy, now } = input;
  const out: ChannelDecision = { changes: [], cards: 0, digested: 0, folded: 0, stormStarted: null, stormEnded: null };
  const forced = input.candidates.filter((c) => c.forced);
  const fresh = input.candidates.filter((c) => !c.forced).sort(byUrgency);
  for (const c of forced) {
    out.changes.push(cardChange(c, c.record?.stormId ?? null, fingerprint(c.alert, c.record)));
    out.cards++;
  }
  const threshold = fresh[0]?.stormThreshold ?? policy.threshold;
  const backlog = fresh.length + input.pending.length;
  let storm = input.storm;

  if (!storm && backlog <= threshold) {
    for (const c of fresh) out.changes.push(cardChange(c, null, fingerprint(c.alert, c.record)));
    out.cards += fresh.length;
    return out;
  }
  if (storm && fresh.length === 0) {
    if (now - storm.lastAddedAt >= policy.quietMs) {
      out.changes.push({ storm: { op: 'end', id: storm.id, at: now }, enqueue: [digestUpdateItem(storm, now)] });
      out.stormEnded = storm.id;
    }
    return out;
  }

  if (!storm) {
    storm = {
      id: input.newStormId(),
      channel,
      startedAt: now,
      lastAddedAt: now,
      endedAt: null,
      cardsUsed: 0,
      ts: null,
      tally: null,
    };
    out.stormStarted = storm.id;
    out.changes.push({
      storm: { op: 'open', id: storm.id, channel, at: now },
      enqueue: [digestItem({ id: storm.id, channel }, now)],
    });
  }
  const stormId = storm.id;
  let budget = Math.max(0, policy.cards - storm.cardsUsed);
  const eligible = (p: number) => p <= PRIORITY.high;

  // Queued cards decided before this storm compete with the new alerts; those decided within it keep
  // their place (they were counted), and so do escalated ones (their notice pages on-call).
  type Entry = { kind: 'fresh'; c: Candidate } | { kind: 'pending'; p: PendingCard };
  const pool: (Entry & { priority: number; orderAt: number })[] = [
    ...fresh.map((c) => ({ kind: 'fresh' as const, c, priority: c.priority, orderAt: c.orderAt })),
    ...input.pending
      .filter((p) => p.record.stormId !== stormId && p.priority !== PRIORITY.escalation)
      .map((p) => ({ kind: 'pending' as const, p, priority: p.priority, orderAt: p.orderAt })),
  ].sort(byUrgency);

  let used = 0;
  let added = 0;
  for (const e of pool) {
    const asCard = eligible(e.priority) && budget > 0 && !(e.kind === 'fresh' && e.c.slim);
    if (asCard) {
      budget--;
      used++;
      if (e.kind === 'fresh') {
        out.changes.push(cardChange(e.c, stormId, fingerprint(e.c.alert, e.c.record)));
        out.cards++;
      } else {
        out.changes.push({
          card: { op: 'update', alertId: e.p.key, expectVersion: e.p.record.version, set: { stormId } },
        });
      }
      continue;
    }
    if (e.kind === 'fresh') {
      const a = e.c.alert;
      out.changes.push({
        card: {
          op: 'insert',
          alertId: e.c.key,
          displayId: a.displayId,
          state: 'digested',
          channel,
          status: a.status,
          updatedAt: a.updatedAt,
          fingerprint: null,
          stormId,
        },
        members: [member(stormId, a)],
      });
      out.digested++;
      added++;
    } else if (e.p.alert) {
      out.changes.push({
        card: {
          op: 'update',
          alertId: e.p.key,
          expectVersion: e.p.record.version,
          set: { state: 'digested', stormId },
        },
        dequeue: [outboxKey.card(e.p.key)],
        members: [member(stormId, e.p.alert)],
      });
      out.folded++;
      added++;
    }
  }
  out.changes.push({
    storm: { op: 'grow', id: stormId, at: added > 0 ? now : storm.lastAddedAt, cards: used },
    enqueue: added > 0 && !out.stormStarted ? [digestUpdateItem(storm, now)] : [],
  });
  return out;
}

/** What a digest entry and a digested record need of an alert, and nothing more. */
function slimAlert(a: Alert): Alert {
  return {
    id: a.id,
    displayId: a.displayId,
    title: a.title,
    severity: a.severity,
    status: a.status,
    createdAt: a.createdAt,
    updatedAt: a.updatedAt,
    detection: a.detection ? { id: a.detection.id, agentId: null, name: a.detection.name, kind: null } : null,
    source: a.source ? { category: null, name: a.source.name, triggerType: null } : null,
  } as Alert;
}

/**
 * A channel's new alerts during one poll, with bounded memory: once more of them arrived than the
 * storm threshold, a storm is certain and only the `cards` most urgent (escalated, critical, high)
 * can still get a card of their own — the others keep only what their digest entry needs. A first
 * start over 100,000 alerts holds 20 alerts whole, not 100,000. (Once outside the most urgent, an
 * alert never comes back in: later arrivals only add competition.)
 */
export function candidateBuffer(policy: StormPolicy) {
  const all: Candidate[] = [];
  const index = new Map<Candidate, number>();
  let fresh = 0;
  let top: Candidate[] | null = null;
  const eligible = (c: Candidate) => c.priority <= PRIORITY.high;
  const slimAt = (i: number) => {
    const c = all[i] as Candidate;
    index.delete(c);
    all[i] = { ...c, alert: slimAlert(c.alert), slim: true };
  };
  return {
    add(c: Candidate): void {
      all.push(c);
      if (c.forced) return;
      fresh++;
      if (top === null) {
        if (fresh <= (c.stormThreshold ?? policy.threshold)) {
          index.set(c, all.length - 1);
          return;
        }
        all.forEach((x, i) => {
          if (!x.forced) index.set(x, i);
        });
        top = all
          .filter((x) => !x.forced && eligible(x))
          .sort(byUrgency)
          .slice(0, policy.cards);
        const keep = new Set(top);
        all.forEach((x, i) => {
          if (!x.forced && !keep.has(x)) slimAt(i);
        });
        return;
      }
      if (!eligible(c) || policy.cards === 0) {
        slimAt(all.length - 1);
        return;
      }
      index.set(c, all.length - 1);
      top.push(c);
      top.sort(byUrgency);
      if (top.length > policy.cards) {
        const out = top.pop() as Candidate;
        const i = index.get(out);
        if (i !== undefined) slimAt(i);
      }
    },
    list(): Candidate[] {
      return all;
    },
  };
}
