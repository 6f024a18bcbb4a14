/**
 * The outbox items the bot writes, built in one place: their keys (which make coalescing and
 * exactly-once work), lanes and priorities. Lower priority values are sent first.
 */
import type { NewOutboxItem } from '../store/store.ts';
import type { SlackView } from './ports.ts';

export const PRIORITY = {
  /** Escalation notices, and the cards of alerts that arrive escalated (the card carries the notice). */
  escalation: 0,
  critical: 1,
  /** A storm's digest: right after the critical cards. */
  digest: 2,
  high: 3,
  medium: 4,
  low: 5,
  none: 6,
  /** Thread notes (timeline entries): after every card. */
  note: 7,
} as const;

const SEVERITY_PRIORITY: Record<string, number> = {
  critical: PRIORITY.critical,
  high: PRIORITY.high,
  medium: PRIORITY.medium,
  low: PRIORITY.low,
};

export function cardPriority(severity: string | null, escalated: boolean): number {
  if (escalated) return PRIORITY.escalation;
  return (severity ? SEVERITY_PRIORITY[severity] : undefined) ?? PRIORITY.none;
}

export const outboxKey = {
  card: (alertId: string) => `card:${alertId}`,
  cardUpdate: (alertId: string) => `card_update:${alertId}`,
  escalation: (alertId: string, updatedAt: string) => `escalation:${alertId}:${updatedAt}`,
  digest: (stormId: string) => `digest:${stormId}`,
  digestUpdate: (stormId: string) => `digest_update:${stormId}`,
  /** The `n`th id-list reply of a storm (0-based): each is posted once, never re-posted. */
  digestIds: (stormId: string, n: number) => `digest_ids:${stormId}:${n}`,
  note: (alertId: string, entryKey: string) => `note:${alertId}:${entryKey}`,
};

/** Re-render a storm's digest message (coalesced: one pending update per storm). */
export function digestUpdateItem(storm: { id: string; channel: string }, now: number): NewOutboxItem {
  return {
    key: outboxKey.digestUpdate(storm.id),
    kind: 'digest_update',
    lane: 'update',
    channel: storm.channel,
    alertId: null,
    priority: PRIORITY.digest,
    orderAt: now,
    payload: JSON.stringify({ stormId: storm.id }),
  };
}

/**
 * How far a storm's members are listed in id-list replies (meta `digest_ids:<storm id>`): the last
 * member's `seq`, how many members, and how many replies. Written with the digest item that queued them.
 */
export type IdListMark = { seq: number; listed: number; chunks: number };
export const idListMetaKey = (stormId: string) => `digest_ids:${stormId}`;

export function decodeIdListMark(v: string | null): IdListMark {
  try {
    const m = v ? (JSON.parse(v) as Partial<IdListMark>) : {};
    const ok = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
    if (ok(m.seq) && ok(m.listed) && ok(m.chunks)) return m as IdListMark;
  } catch {
    // unreadable: listed from the start (a reply may then repeat ids, none is lost)
  }
  return { seq: 0, listed: 0, chunks: 0 };
}

/** What an id-list reply carries: the reply itself, drawn when it was queued (its ids never change). */
export type DigestIdsPayload = { stormId: string; n: number; view: SlackView };

/**
 * The `n`th id-list reply of a storm, in the digest's thread: right after the digest, in order
 * (`orderAt` + n), on the channel's post lane (paced like every post).
 */
export function digestIdsItem(
  storm: { id: string; channel: string },
  n: number,
  view: SlackView,
  now: number,
): NewOutboxItem {
  const payload: DigestIdsPayload = { stormId: storm.id, n, view };
  return {
    key: outboxKey.digestIds(storm.id, n),
    kind: 'digest_ids',
    lane: 'post',
    channel: storm.channel,
    alertId: null,
    priority: PRIORITY.digest,
    orderAt: now + n,
    payload: JSON.stringify(payload),
  };
}

/** What a thread note item carries: the alert (to name and link it) as the poll that planned it saw it. */
export type ThreadNotePayload = {
  alertId: string;
  displayId: string;
  organizationName: string | null;
  /** The updatedAt the card had before this change (where telling starts for a card posted without a postedAt). */
  since: string | null;
};

/**
 * Tell the card's thread what is new in the alert's Cotool timeline (coalesced: one pending note per
 * card; the sender reads the timeline when it sends, so a later poll only needs the item to exist).
 */
export function threadNoteItem(
  key: string,
  channel: string,
  alert: { id: string; displayId: string; organizationName: string | null },
  since: string | null,
  now: number,
): NewOutboxItem {
  const payload: ThreadNotePayload = {
    alertId: alert.id,
    displayId: alert.displayId,
    organizationName: alert.organizationName,
    since,
  };
  return {
    key: outboxKey.note(key, 'timeline'),
    kind: 'thread_note',
    lane: 'post',
    channel,
    alertId: key,
    priority: PRIORITY.note,
    orderAt: now,
    payload: JSON.stringify(payload),
  };
}

/**
 * What a `reply` item carries: the rendered reply and the thread it goes to — or, for a status change
 * being made from Slack, the intent (held until the change is done; see statusIntentItem).
 */
export type ReplyPayload = {
  alertId: string;
  threadTs: string;
  view?: SlackView;
  intent?: { status: string; by: { id: string; name: string }; reason: string | null; beforeUpdatedAt: string };
};

/** How long a status change's note intent is held before the sender finishes it itself. */
export const INTENT_GRACE_MS = 60_000;

/**
 * Written before a status change is sent to Cotool, so a process that dies between Cotool's answer
 * and queueing the thread note does not lose the note: held for INTENT_GRACE_MS, then the sender
 * reads the alert and posts the note if the change was made (else drops it). The change's own note
 * replaces it (dequeued in the same transaction) when all goes well.
 */
export function statusIntentItem(i: {
  id: string;
  channel: string;
  threadTs: string;
  alertId: string;
  intent: NonNullable<ReplyPayload['intent']>;
  now: number;
}): NewOutboxItem & { notBefore: number } {
  const payload: ReplyPayload = { alertId: i.alertId, threadTs: i.threadTs, intent: i.intent };
  return {
    key: `reply:${i.alertId}:intent:${i.id}`,
    kind: 'reply',
    lane: 'post',
    channel: i.channel,
    alertId: i.alertId,
    priority: PRIORITY.escalation,
    orderAt: i.now,
    payload: JSON.stringify(payload),
    notBefore: i.now + INTENT_GRACE_MS,
  };
}

/**
 * A quiet reply in a card's thread (what a change made from Slack says there). `key` names the
 * change, so the same change never gets two replies; sent ahead of new cards (someone is waiting).
 */
export function threadReplyItem(i: {
  key: string;
  channel: string;
  threadTs: string;
  alertId: string;
  view: SlackView;
  now: number;
}): NewOutboxItem {
  const payload: ReplyPayload = { alertId: i.alertId, threadTs: i.threadTs, view: i.view };
  return {
    key: `reply:${i.key}`,
    kind: 'reply',
    lane: 'post',
    channel: i.channel,
    alertId: i.alertId,
    priority: PRIORITY.escalation,
    orderAt: i.now,
    payload: JSON.stringify(payload),
  };
}
