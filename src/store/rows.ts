/**
 * Rows → the Store's types, shared by both engines (SQLite stores booleans as 0/1, PostgreSQL as
 * booleans; BIGINT epoch values arrive as numbers from both).
 */
import type {
  CardRecord,
  CloseRequest,
  IdSpan,
  LastAction,
  Mute,
  NewCloseRequest,
  NewMute,
  NewQuestion,
  OutboxItem,
  Question,
  Storm,
  StormDigestGroup,
  StormMember,
  WarRoom,
} from '../core/records.ts';

export type Row = Record<string, unknown>;

export const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
export const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
export const bool = (v: unknown): boolean => v === true || v === 1 || v === 1n || v === '1';

export function toRecord(r: Row): CardRecord {
  return {
    alertId: String(r.alert_id),
    displayId: String(r.display_id),
    state: String(r.state) as CardRecord['state'],
    channel: str(r.channel),
    ts: str(r.ts),
    status: str(r.status),
    updatedAt: str(r.updated_at),
    fingerprint: str(r.fingerprint),
    final: bool(r.final),
    lastAction: r.last_action ? (JSON.parse(String(r.last_action)) as LastAction) : null,
    version: Number(r.version),
    stormId: str(r.storm_id),
    postedAt: num(r.posted_at),
    firstActionAt: num(r.first_action_at),
    muteId: str(r.mute_id),
    owner: person(r.owner_id, r.owner_name),
    remindersSent: num(r.reminders_sent) ?? 0,
  };
}

/** A person from their id and name columns (null when no id). */
const person = (id: unknown, name: unknown): { id: string; name: string } | null =>
  id === null || id === undefined ? null : { id: String(id), name: String(name ?? '') };

export function toItem(r: Row): OutboxItem {
  return {
    key: String(r.key),
    kind: String(r.kind) as OutboxItem['kind'],
    lane: String(r.lane) as OutboxItem['lane'],
    channel: String(r.channel),
    cardKey: str(r.alert_id),
    priority: Number(r.priority),
    orderAt: Number(r.order_at),
    payload: String(r.payload),
    rev: Number(r.rev),
    state: String(r.state) as OutboxItem['state'],
    owner: str(r.owner),
    claimedAt: num(r.claimed_at),
    unknown: bool(r.unknown),
    attempts: Number(r.attempts),
    notBefore: Number(r.not_before),
    createdAt: Number(r.created_at),
    fence: num(r.fence),
  };
}

export function toStorm(r: Row): Storm {
  return {
    id: String(r.id),
    channel: String(r.channel),
    startedAt: Number(r.started_at),
    lastAddedAt: Number(r.last_added_at),
    endedAt: num(r.ended_at),
    cardsUsed: Number(r.cards_used),
    ts: str(r.ts),
    tally: str(r.tally),
  };
}

export function toMember(r: Row): StormMember {
  return {
    stormId: String(r.storm_id),
    alertId: String(r.alert_id),
    displayId: String(r.display_id),
    groupKey: String(r.group_key),
    groupName: String(r.group_name),
    severity: str(r.severity),
    status: String(r.status),
    title: String(r.title),
    createdAt: String(r.created_at),
    updatedAt: String(r.updated_at),
  };
}

export function toCloseRequest(r: Row): CloseRequest {
  return {
    id: String(r.id),
    alertId: String(r.alert_id),
    displayId: String(r.display_id),
    status: String(r.status),
    words: str(r.words),
    requester: { id: String(r.requester_id), name: String(r.requester_name) },
    basis: String(r.basis),
    channel: str(r.channel),
    threadTs: str(r.thread_ts),
    ts: str(r.ts),
    state: String(r.state) as CloseRequest['state'],
    createdAt: Number(r.created_at),
    expiresAt: Number(r.expires_at),
    decidedBy: r.decided_by_id ? { id: String(r.decided_by_id), name: String(r.decided_by_name ?? '') } : null,
    decidedAt: num(r.decided_at),
    outcome: str(r.outcome),
  };
}

const EN_DASH = '–';

/**
 * Compact spans from the database's runs of consecutive numbers (`prefix`, `first`, `last`, `run`; by
 * prefix then number) and the other ids (sorted): a run of three or more is a range, shorter runs
 * are single ids — as `compactIds` (src/core/digest.ts) makes them. At most `limit` spans.
 */
export function idSpans(islands: readonly Row[], others: readonly string[], limit: number): IdSpan[] {
  const spans: IdSpan[] = [];
  for (const r of islands) {
    const prefix = String(r.prefix);
    const first = Number(r.first);
    const run = Number(r.run);
    if (run >= 3) spans.push({ text: `${prefix}${first}${EN_DASH}${prefix}${Number(r.last)}`, count: run });
    else for (let k = 0; k < run; k++) spans.push({ text: `${prefix}${first + k}`, count: 1 });
    if (spans.length >= limit) return spans.slice(0, limit);
  }
  for (const id of others) {
    if (spans.length >= limit) break;
    spans.push({ text: id, count: 1 });
  }
  return spans;
}

/** A digest group from its aggregate row (`count`, `live`, the four severities, `first_seen`, `last_seen`). */
export function digestGroup(r: Row, name: string, examples: string[], spans: IdSpan[]): StormDigestGroup {
  const count = Number(r.count);
  const critical = Number(r.critical);
  const high = Number(r.high);
  const medium = Number(r.medium);
  const low = Number(r.low);
  return {
    key: String(r.key),
    name,
    count,
    live: Number(r.live),
    severities: { critical, high, medium, low, none: count - critical - high - medium - low },
    firstSeen: String(r.first_seen),
    lastSeen: String(r.last_seen),
    examples,
    spans,
  };
}

/** A close request's columns, in the order both engines' insert takes them. */
export function requestParams(r: NewCloseRequest): (string | number | null)[] {
  return [
    r.id,
    r.alertId,
    r.displayId,
    r.status,
    r.words,
    r.requester.id,
    r.requester.name,
    r.basis,
    r.channel,
    r.threadTs,
    r.createdAt,
    r.expiresAt,
  ];
}

/** A question row (its state is one of QuestionState: a CHECK constraint of both engines). */
export function toQuestion(r: Row): Question {
  return {
    id: String(r.id),
    alertId: String(r.alert_id),
    displayId: String(r.display_id),
    channel: str(r.channel),
    threadTs: str(r.thread_ts),
    askedBy: { id: String(r.asked_by_id), name: String(r.asked_by_name) },
    askedUserId: String(r.asked_user_id),
    askedAt: Number(r.asked_at),
    deadline: Number(r.deadline),
    state: String(r.state) as Question['state'],
    note: str(r.note),
    answeredAt: num(r.answered_at),
    dmChannel: str(r.dm_channel),
    dmTs: str(r.dm_ts),
  };
}

/** A new question's columns, in the order both engines' insert takes them. */
export function questionParams(q: NewQuestion): (string | number | null)[] {
  return [
    q.id,
    q.alertId,
    q.displayId,
    q.channel,
    q.threadTs,
    q.askedBy.id,
    q.askedBy.name,
    q.askedUserId,
    q.askedAt,
    q.deadline,
  ];
}

export function toMute(r: Row): Mute {
  return {
    id: String(r.id),
    channel: String(r.channel),
    detectionKey: String(r.detection_key),
    detectionName: String(r.detection_name),
    by: { id: String(r.by_id), name: String(r.by_name) },
    reason: String(r.reason),
    createdAt: Number(r.created_at),
    until: Number(r.until_at),
    sourceAlertId: str(r.source_alert_id),
    endedAt: num(r.ended_at),
    endedBy: person(r.ended_by_id, r.ended_by_name),
    muted: Number(r.muted),
    escalated: Number(r.escalated),
    ts: str(r.ts),
  };
}

/** A new mute's columns, in the order both engines' insert takes them. */
export function muteParams(m: NewMute): (string | number | null)[] {
  return [
    m.id,
    m.channel,
    m.detectionKey,
    m.detectionName,
    m.by.id,
    m.by.name,
    m.reason,
    m.createdAt,
    m.until,
    m.sourceAlertId,
  ];
}

export function toWarRoom(r: Row): WarRoom {
  return {
    alertId: String(r.alert_id),
    channel: String(r.channel),
    name: String(r.name),
    by: { id: String(r.by_id), name: String(r.by_name) },
    at: Number(r.at),
  };
}

/** A war room's columns, in the order both engines' insert takes them. */
export function warRoomParams(w: WarRoom): (string | number)[] {
  return [w.alertId, w.channel, w.name, w.by.id, w.by.name, w.at];
}
