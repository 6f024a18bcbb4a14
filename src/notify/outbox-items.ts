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
 * What a `reply` item carries: the rendered reply and the thread it goes to — or, for a change being
 * made from Slack, the intent (held until the change is done; see intentItem).
 */
export type ReplyPayload = {
  alertId: string;
  threadTs: string;
  view?: SlackView;
  intent?: ReplyIntent;
};

/**
 * What a held intent announces. A status change (no `kind`, as the first intents were written): told
 * when the alert has the status and moved since the click. An edit: told when the title and
 * description are what was asked and the alert moved since the click. A note (its reply is `view`,
 * drawn before the comment was sent): told when a comment with exactly `body` is in the timeline.
 */
export type ReplyIntent =
  | {
      kind?: 'status';
      status: string;
      by: { id: string; name: string };
      reason: string | null;
      beforeUpdatedAt: string;
    }
  | {
      kind: 'edit';
      by: { id: string; name: string };
      /** The title asked for, and the one it replaced (absent: not edited). */
      title?: { from: string; to: string };
      /** The description asked for (null clears it; absent: not edited). */
      description?: string | null;
      beforeUpdatedAt: string;
    }
  | { kind: 'note'; body: string };

/**
 * How long a click holds its claim on an alert (src/service/triage.ts CLAIM_TTL_MS is this): longer
 * than the worst a change's writes to Cotool can take, so a slow change is never overtaken by a second.
 */
export const ACTION_CLAIM_TTL_MS = 180_000;

/**
 * How long an intent is held before the sender finishes it itself: longer than the click's claim,
 * so a change still in flight (its claim held) always settles its own intent first.
 */
export function intentGraceMs(claimTtlMs: number = ACTION_CLAIM_TTL_MS): number {
  return claimTtlMs + Math.ceil(claimTtlMs / 6);
}

/** The intent grace with the default claim (210 s). */
export const INTENT_GRACE_MS = intentGraceMs();

/**
 * The key of a change's intent, and of the thread note that settles it: named by the click (the
 * interaction's stable id), so a redelivery, or a retry after a lost commit answer, finds the same item.
 */
export const intentKey = (alertId: string, clickId: string) => `reply:${alertId}:intent:${clickId}`;

/** A `reply` item: a quiet reply in a card's thread, sent ahead of new cards (someone is waiting). */
function replyItem(key: string, payload: ReplyPayload, channel: string, now: number): NewOutboxItem {
  return {
    key,
    kind: 'reply',
    lane: 'post',
    channel,
    alertId: payload.alertId,
    priority: PRIORITY.escalation,
    orderAt: now,
    payload: JSON.stringify(payload),
  };
}

/**
 * Written before a change from Slack (status, edit, note) is sent to Cotool, so a process that dies,
 * or a Cotool that answers late, does not lose the change's thread note: held for `graceMs`, then
 * the sender reads the alert and posts the note if the change was made (else drops it). When all
 * goes well the change's own note settles it (same key, one transaction: `settleItem`).
 */
export function intentItem(i: {
  clickId: string;
  channel: string;
  threadTs: string;
  alertId: string;
  intent: ReplyIntent;
  /** A note's reply, drawn before the comment is sent. */
  view?: SlackView;
  now: number;
  graceMs?: number;
}): NewOutboxItem & { notBefore: number } {
  const payload: ReplyPayload = {
    alertId: i.alertId,
    threadTs: i.threadTs,
    intent: i.intent,
    ...(i.view ? { view: i.view } : {}),
  };
  const graceMs = i.graceMs ?? INTENT_GRACE_MS;
  // Held from the database's clock (holdMs); notBefore says the same on this process's.
  return {
    ...replyItem(intentKey(i.alertId, i.clickId), payload, i.channel, i.now),
    notBefore: i.now + graceMs,
    holdMs: graceMs,
  };
}

/** The thread note that settles an intent (Change.settle): the same key, due at once. */
export function settleItem(i: {
  key: string;
  channel: string;
  threadTs: string;
  alertId: string;
  view: SlackView;
  now: number;
}): NewOutboxItem {
  const payload: ReplyPayload = { alertId: i.alertId, threadTs: i.threadTs, view: i.view };
  return { ...replyItem(i.key, payload, i.channel, i.now), notBefore: 0 };
}

/**
 * A status change's intent named by an id of its own (the first form; `intentItem` names it by the
 * click): held for INTENT_GRACE_MS, then the sender reads the alert and posts the note if the change
 * was made (else drops it).
 */
export function statusIntentItem(i: {
  id: string;
  channel: string;
  threadTs: string;
  alertId: string;
  intent: NonNullable<ReplyPayload['intent']>;
  now: number;
  graceMs?: number;
}): NewOutboxItem & { notBefore: number } {
  const { id, ...rest } = i;
  return intentItem({ ...rest, clickId: id });
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
  return replyItem(`reply:${i.key}`, payload, i.channel, i.now);
}

/** What a four-eyes request's items carry. */
export type CloseRequestPayload = { requestId: string; alertId: string };

/**
 * A four-eyes request's message, posted in the card's thread (or the alert channel) by the sender;
 * written in the same transaction that records the request pending (Change.closeRequest).
 */
export function closeRequestItem(r: { id: string; alertId: string; channel: string }, now: number): NewOutboxItem {
  const payload: CloseRequestPayload = { requestId: r.id, alertId: r.alertId };
  return {
    key: `close_request:${r.id}`,
    kind: 'close_request',
    lane: 'post',
    channel: r.channel,
    alertId: r.alertId,
    priority: PRIORITY.escalation,
    orderAt: now,
    payload: JSON.stringify(payload),
  };
}

/** Redraw a request's message as the request is now (coalesced: one pending redraw per request). */
export function closeRequestUpdateItem(
  r: { id: string; alertId: string; channel: string },
  now: number,
): NewOutboxItem {
  const payload: CloseRequestPayload = { requestId: r.id, alertId: r.alertId };
  return {
    key: `close_request_update:${r.id}`,
    kind: 'close_request_update',
    lane: 'update',
    channel: r.channel,
    alertId: r.alertId,
    priority: PRIORITY.escalation,
    orderAt: now,
    payload: JSON.stringify(payload),
  };
}
