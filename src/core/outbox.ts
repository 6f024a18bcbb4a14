/**
 * The outbox item vocabulary, in one place: for each kind, what its payload holds (a zod schema, so
 * a row is read back checked, never cast), how an item is built (its key — which makes coalescing
 * and exactly-once work — its lane and its priority), and one `decodeItem` the sender and the poller
 * read rows with. Pure: no I/O.
 *
 * Rows survive upgrades: JSON written by earlier releases decodes (field names unchanged; a card
 * claimed by the first release carries `{}`). An item's `alertId` column holds a *card key* (the
 * alert id, with the channel for a routed copy: alertIdOfKey in src/core/routes.ts): builders
 * name it `cardKey`. A payload's `alertId` is the alert's own id.
 */
import { z } from 'zod';
import { type Alert, AlertSchema } from './alert.ts';
import type { NewOutboxItem, OutboxItem, OutboxKind } from './records.ts';

/** A rendered message (src/ports.ts SlackView). */
export type SlackView = { text: string; blocks: unknown[] };

// ---------------------------------------------------------------------------------------------
// Priorities and keys

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
  card: (cardKey: string) => `card:${cardKey}`,
  cardUpdate: (cardKey: string) => `card_update:${cardKey}`,
  /** A copy of a card somewhere else (a routed copy, a lookup answer) redrawn after a click: by its place. */
  cardCopy: (channel: string, ts: string) => `card_copy:${channel}:${ts}`,
  escalation: (cardKey: string, updatedAt: string) => `escalation:${cardKey}:${updatedAt}`,
  digest: (stormId: string) => `digest:${stormId}`,
  digestUpdate: (stormId: string) => `digest_update:${stormId}`,
  /** The `n`th id-list reply of a storm (0-based): each is posted once, never re-posted. */
  digestIds: (stormId: string, n: number) => `digest_ids:${stormId}:${n}`,
  note: (cardKey: string, entryKey: string) => `note:${cardKey}:${entryKey}`,
  closeRequest: (requestId: string) => `close_request:${requestId}`,
  closeRequestUpdate: (requestId: string) => `close_request_update:${requestId}`,
  /** A mute's message: its announcement and quiet counter, posted once. */
  mute: (muteId: string) => `mute:${muteId}`,
  /** A redraw of a mute's message from its counts (coalesced: one pending per mute). */
  muteUpdate: (muteId: string) => `mute_update:${muteId}`,
  /** An id-list reply in a mute's thread, named by the first id it lists. */
  muteIds: (muteId: string, firstDisplayId: string) => `mute_ids:${muteId}:${firstDisplayId}`,
  /** The announcement that a mute ended, with its tally. */
  muteEnd: (muteId: string) => `mute_end:${muteId}`,
  questionDm: (questionId: string) => `question_dm:${questionId}`,
  questionUpdate: (questionId: string) => `question_update:${questionId}`,
  /** A question's note in the card's thread (as a `reply` item's change key: `reply:question:…`). */
  questionNote: (questionId: string, what: 'asked' | 'answered' | 'timed_out' | 'unreachable') =>
    `question:${questionId}:${what}`,
  /** The `n`th reminder of a card (1 or 2): each is sent once. */
  reminder: (cardKey: string, n: number) => `reminder:${cardKey}:${n}`,
};

/** How long a click holds its claim on an alert (card-sync.ts CLAIM_TTL_MS): longer than its writes can take. */
export const ACTION_CLAIM_TTL_MS = 180_000;

/** How long an intent is held before the sender finishes it: past the click's claim (a change settles its own). */
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

// ---------------------------------------------------------------------------------------------
// Payloads

const ViewSchema = z.object({ text: z.string(), blocks: z.array(z.unknown()) });
const AlertPayloadSchema = AlertSchema.transform((a): Alert => a);
const ActorSchema = z.object({ id: z.string(), name: z.string() });

/**
 * card, card_update: the alert to draw (as the poll or click that queued it saw it), or `refresh`:
 * read it from Cotool when sending. No `alertId`: a card claimed by the first release (`{}`); its
 * alert id is the card key's.
 */
export const CardPayloadSchema = z.object({
  alertId: z.string().min(1).optional(),
  alert: AlertPayloadSchema.optional(),
  refresh: z.boolean().optional(),
});
export type CardPayload = z.infer<typeof CardPayloadSchema>;

export const EscalationPayloadSchema = z.object({
  alertId: z.string().min(1),
  alert: AlertPayloadSchema,
  mention: z.string().nullable(),
});
export type EscalationPayload = z.infer<typeof EscalationPayloadSchema>;

/** digest, digest_update: the storm (its digest is drawn from the store when it goes). */
export const StormPayloadSchema = z.object({ stormId: z.string().min(1) });
export type StormPayload = z.infer<typeof StormPayloadSchema>;

/** What an id-list reply carries: the reply itself, drawn when it was queued (its ids never change). */
export const DigestIdsPayloadSchema = z.object({
  stormId: z.string().min(1),
  n: z.number().int().min(0),
  view: ViewSchema,
});
export type DigestIdsPayload = z.infer<typeof DigestIdsPayloadSchema>;

/** What a thread note item carries: the alert (to name and link it) as the poll that planned it saw it. */
export const ThreadNotePayloadSchema = z.object({
  alertId: z.string().min(1),
  displayId: z.string(),
  organizationName: z.string().nullable(),
  /** The updatedAt the card had before this change (where telling starts for a card posted without a postedAt). */
  since: z.string().nullable(),
});
export type ThreadNotePayload = z.infer<typeof ThreadNotePayloadSchema>;

/**
 * What a held intent announces. A status change (no `kind`, as the first intents were written): told
 * when the alert has the status and moved since the click. An edit: told when the title and
 * description are what was asked and the alert moved since the click. A note (its reply is `view`,
 * drawn before the comment was sent): told when a comment with exactly `body` is in the timeline.
 */
export const ReplyIntentSchema = z.union([
  z.object({
    kind: z.literal('status').optional(),
    status: z.string(),
    by: ActorSchema,
    reason: z.string().nullable(),
    beforeUpdatedAt: z.string(),
  }),
  z.object({
    kind: z.literal('edit'),
    by: ActorSchema,
    /** The title asked for, and the one it replaced (absent: not edited). */
    title: z.object({ from: z.string(), to: z.string() }).optional(),
    /** The description asked for (null clears it; absent: not edited). */
    description: z.string().nullable().optional(),
    beforeUpdatedAt: z.string(),
  }),
  z.object({ kind: z.literal('note'), body: z.string() }),
]);
export type ReplyIntent = z.infer<typeof ReplyIntentSchema>;

/**
 * What a `reply` item carries: the rendered reply and the thread it goes to — or, for a change being
 * made from Slack, the intent (held until the change is done; see intentItem).
 */
export const ReplyPayloadSchema = z.object({
  alertId: z.string().min(1),
  threadTs: z.string().min(1),
  view: ViewSchema.optional(),
  intent: ReplyIntentSchema.optional(),
});
export type ReplyPayload = z.infer<typeof ReplyPayloadSchema>;

/** What a four-eyes request's items carry. */
export const CloseRequestPayloadSchema = z.object({ requestId: z.string().min(1), alertId: z.string().min(1) });
export type CloseRequestPayload = z.infer<typeof CloseRequestPayloadSchema>;

/** A copy of a card somewhere else, redrawn after a click: the message and what it now shows. */
export const CardCopyPayloadSchema = z.object({
  alertId: z.string().min(1),
  ts: z.string().min(1),
  view: ViewSchema,
});
export type CardCopyPayload = z.infer<typeof CardCopyPayloadSchema>;

/** A mute's message (`end`: the announcement that it ended), and its redraw (src/core/mute-plan.ts). */
export const MuteMessagePayloadSchema = z.object({ muteId: z.string().min(1), end: z.boolean().optional() });
export const MuteUpdatePayloadSchema = z.object({ muteId: z.string().min(1) });
/** An id-list reply in a mute's thread: display ids held back (in the order they came), numbered from `from`. */
export const MuteIdsPayloadSchema = z.object({
  muteId: z.string().min(1),
  ids: z.array(z.string()).min(1),
  from: z.number().int().min(1),
});
export type MuteIdsPayload = z.infer<typeof MuteIdsPayloadSchema>;
/**
 * What a question's DM shows of the alert, drawn when the question was asked (the DM is posted from
 * it; its redraws read the alert again): untrusted strings, escaped by the view.
 */
export const QuestionFactsSchema = z.object({
  displayId: z.string(),
  title: z.string(),
  severity: z.string().nullable(),
  createdAt: z.string(),
  facts: z.array(z.object({ label: z.string(), value: z.string() })),
  description: z.string().nullable(),
});
export type QuestionFacts = z.infer<typeof QuestionFactsSchema>;

/**
 * What a question's DM shows of an alert: what the card shows (title, severity, when, detection,
 * source, description) and the asker's words (already cleaned), if any.
 */
export function questionFacts(alert: Alert, words: string | null): QuestionFacts {
  const facts: { label: string; value: string }[] = [];
  if (words) facts.push({ label: 'From the security team', value: words });
  if (alert.detection?.name) facts.push({ label: 'Detection', value: alert.detection.name });
  const source = [alert.source?.category, alert.source?.name].filter((p): p is string => !!p?.trim());
  if (source.length) facts.push({ label: 'Source', value: [...new Set(source)].join(' · ') });
  return {
    displayId: alert.displayId,
    title: alert.title,
    severity: alert.severity,
    createdAt: alert.createdAt,
    facts,
    description: alert.description,
  };
}

/** question_dm: the question (its state and people are the store's) and what its DM shows. */
export const QuestionDmPayloadSchema = z.object({ questionId: z.string().min(1), facts: QuestionFactsSchema });
export type QuestionDmPayload = z.infer<typeof QuestionDmPayloadSchema>;
/** question_update: the question; its DM is redrawn from its state when the item goes. */
export const QuestionUpdatePayloadSchema = z.object({ questionId: z.string().min(1) });
export type QuestionUpdatePayload = z.infer<typeof QuestionUpdatePayloadSchema>;

/**
 * A reminder: which one (1 or 2), the wait it follows (the route's REMIND_AFTER_MINUTES, in ms), and
 * who it mentions (validated ids: U…/W… people, S… user groups).
 */
export const ReminderPayloadSchema = z.object({
  alertId: z.string().min(1),
  displayId: z.string(),
  n: z.number().int().min(1),
  afterMs: z.number().int().positive(),
  oncall: z.array(z.string().regex(/^([UW]|S)[A-Z0-9]{2,}$/)),
});
export type ReminderPayload = z.infer<typeof ReminderPayloadSchema>;

const SCHEMAS = {
  card: CardPayloadSchema,
  card_update: CardPayloadSchema,
  card_copy: CardCopyPayloadSchema,
  escalation: EscalationPayloadSchema,
  digest: StormPayloadSchema,
  digest_update: StormPayloadSchema,
  digest_ids: DigestIdsPayloadSchema,
  thread_note: ThreadNotePayloadSchema,
  reply: ReplyPayloadSchema,
  close_request: CloseRequestPayloadSchema,
  close_request_update: CloseRequestPayloadSchema,
  mute_message: MuteMessagePayloadSchema,
  mute_update: MuteUpdatePayloadSchema,
  mute_ids: MuteIdsPayloadSchema,
  question_dm: QuestionDmPayloadSchema,
  question_update: QuestionUpdatePayloadSchema,
  reminder: ReminderPayloadSchema,
} as const satisfies Record<OutboxKind, z.ZodType>;

type PayloadOf = { [K in OutboxKind]: z.infer<(typeof SCHEMAS)[K]> };

/** An outbox row with its payload decoded (`data`), discriminated by `kind`. */
export type TypedItem = { [K in OutboxKind]: OutboxItem & { kind: K; data: PayloadOf[K] } }[OutboxKind];
export type ItemOf<K extends OutboxKind> = Extract<TypedItem, { kind: K }>;

export type DecodeError = { code: 'unknown_kind' | 'bad_json' | 'bad_payload'; detail: string };

const isKind = (k: string): k is OutboxKind => Object.hasOwn(SCHEMAS, k);

function parseJson(raw: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(raw) };
  } catch {
    return { ok: false };
  }
}

/**
 * Reads an outbox row: its payload checked against its kind's schema. An unknown kind or a payload
 * that does not decode is an error (the sender logs and drops the item, counted).
 */
export function decodeItem(item: OutboxItem): { ok: true; item: TypedItem } | { ok: false; error: DecodeError } {
  const kind: string = item.kind;
  if (!isKind(kind)) return { ok: false, error: { code: 'unknown_kind', detail: kind } };
  const json = parseJson(item.payload);
  if (!json.ok) return { ok: false, error: { code: 'bad_json', detail: 'payload is not JSON' } };
  const parsed = SCHEMAS[kind].safeParse(json.value);
  if (!parsed.success) return { ok: false, error: { code: 'bad_payload', detail: z.prettifyError(parsed.error) } };
  // The schema picked by `kind` produced `data`: the pair is consistent by construction.
  return { ok: true, item: { ...item, kind, data: parsed.data } as TypedItem };
}

// ---------------------------------------------------------------------------------------------
// Meta values written with items

/**
 * How far a storm's members are listed in id-list replies (meta `digest_ids:<storm id>`): the last
 * member's `seq`, how many members, and how many replies. Written with the digest item that queued them.
 */
const IdListMarkSchema = z.object({
  seq: z.number().int().min(0),
  listed: z.number().int().min(0),
  chunks: z.number().int().min(0),
});
export type IdListMark = z.infer<typeof IdListMarkSchema>;
export const idListMetaKey = (stormId: string) => `digest_ids:${stormId}`;

/** Unreadable or absent: listed from the start (a reply may then repeat ids, none is lost). */
export function decodeIdListMark(v: string | null): IdListMark {
  const json = v ? parseJson(v) : { ok: false as const };
  const m = json.ok ? IdListMarkSchema.safeParse(json.value) : null;
  return m?.success ? m.data : { seq: 0, listed: 0, chunks: 0 };
}

export function encodeIdListMark(m: IdListMark): string {
  return JSON.stringify({ seq: m.seq, listed: m.listed, chunks: m.chunks });
}

// ---------------------------------------------------------------------------------------------
// Builders

type Place = { channel: string; ts: string };

/** An item of `kind`: its payload typed by the kind's schema. `cardKey`: the card it is for (null: none). */
function build<K extends OutboxKind>(
  kind: K,
  lane: NewOutboxItem['lane'],
  at: { key: string; channel: string; cardKey: string | null; priority: number; orderAt: number },
  payload: PayloadOf[K],
): NewOutboxItem {
  const { key, channel, cardKey, priority, orderAt } = at;
  return { key, kind, lane, channel, cardKey, priority, orderAt, payload: JSON.stringify(payload) };
}

/** A new alert's card, on its channel's post lane. */
export function cardItem(
  cardKey: string,
  channel: string,
  alert: Alert,
  priority: number,
  orderAt: number,
): NewOutboxItem {
  const at = { key: outboxKey.card(cardKey), channel, cardKey, priority, orderAt };
  return build('card', 'post', at, { alertId: alert.id, alert });
}

/** A queued card whose alert closed before it was posted: posted as the alert is then (read when sent). */
export function refreshedCardItem(cardKey: string, channel: string, alertId: string, now: number): NewOutboxItem {
  const at = { key: outboxKey.card(cardKey), channel, cardKey, priority: PRIORITY.none, orderAt: now };
  return build('card', 'post', at, { alertId, refresh: true });
}

/**
 * Redraw a posted card (coalesced: one pending redraw per card) from `alert`, or from Cotool when
 * sent (null). `interactive`: a click's redraw, on the lane served at once (it also moves a pending
 * redraw of the card there: the newest payload wins).
 */
export function cardUpdateItem(
  cardKey: string,
  channel: string,
  alertId: string,
  alert: Alert | null,
  now: number,
  opts: { interactive?: boolean } = {},
): NewOutboxItem {
  const at = { key: outboxKey.cardUpdate(cardKey), channel, cardKey, priority: PRIORITY.escalation, orderAt: now };
  return build(
    'card_update',
    opts.interactive ? 'interactive' : 'update',
    at,
    alert ? { alertId, alert } : { alertId, refresh: true },
  );
}

/** A copy of a card that is not the stored card (a routed copy, a lookup answer), redrawn after a click. */
export function cardCopyItem(place: Place, alertId: string, view: SlackView, now: number): NewOutboxItem {
  const at = {
    key: outboxKey.cardCopy(place.channel, place.ts),
    channel: place.channel,
    cardKey: null,
    priority: PRIORITY.escalation,
    orderAt: now,
  };
  return build('card_copy', 'interactive', at, { alertId, ts: place.ts, view });
}

/** An escalation notice in the card's thread (one per escalation: keyed by the alert's updatedAt). */
export function escalationItem(
  cardKey: string,
  channel: string,
  alert: Alert,
  mention: string | null,
  orderAt: number,
): NewOutboxItem {
  const key = outboxKey.escalation(cardKey, alert.updatedAt);
  return build(
    'escalation',
    'post',
    { key, channel, cardKey, priority: PRIORITY.escalation, orderAt },
    { alertId: alert.id, alert, mention },
  );
}

type StormPlace = { id: string; channel: string };
const stormAt = (key: string, storm: StormPlace, orderAt: number) => ({
  key,
  channel: storm.channel,
  cardKey: null,
  priority: PRIORITY.digest,
  orderAt,
});

/** A storm's digest message (drawn from the store when it goes). */
export function digestItem(storm: StormPlace, now: number): NewOutboxItem {
  return build('digest', 'post', stormAt(outboxKey.digest(storm.id), storm, now), { stormId: storm.id });
}

/** Re-render a storm's digest message (coalesced: one pending update per storm). */
export function digestUpdateItem(storm: StormPlace, now: number): NewOutboxItem {
  return build('digest_update', 'update', stormAt(outboxKey.digestUpdate(storm.id), storm, now), { stormId: storm.id });
}

/**
 * The `n`th id-list reply of a storm, in the digest's thread: right after the digest, in order
 * (`orderAt` + n), on the channel's post lane (paced like every post).
 */
export function digestIdsItem(storm: StormPlace, n: number, view: SlackView, now: number): NewOutboxItem {
  return build('digest_ids', 'post', stormAt(outboxKey.digestIds(storm.id, n), storm, now + n), {
    stormId: storm.id,
    n,
    view,
  });
}

/**
 * Tell the card's thread what is new in the alert's Cotool timeline (coalesced: one pending note per
 * card; the sender reads the timeline when it sends, so a later poll only needs the item to exist).
 */
export function threadNoteItem(
  cardKey: string,
  channel: string,
  alert: { id: string; displayId: string; organizationName: string | null },
  since: string | null,
  now: number,
): NewOutboxItem {
  const at = { key: outboxKey.note(cardKey, 'timeline'), channel, cardKey, priority: PRIORITY.note, orderAt: now };
  const { id: alertId, displayId, organizationName } = alert;
  return build('thread_note', 'post', at, { alertId, displayId, organizationName, since });
}

/** A `reply` item: a quiet reply in a card's thread, sent ahead of new cards (someone is waiting). */
function replyItem(key: string, payload: ReplyPayload, channel: string, now: number): NewOutboxItem {
  const at = { key, channel, cardKey: payload.alertId, priority: PRIORITY.escalation, orderAt: now };
  return build('reply', 'post', at, payload);
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

/** A reply drawn for a card's thread (`key` names the change it tells). */
type ThreadReply = { key: string; channel: string; threadTs: string; alertId: string; view: SlackView; now: number };

/** The thread note that settles an intent (Change.settle): the same key, due at once. */
export function settleItem(i: ThreadReply): NewOutboxItem {
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
  intent: ReplyIntent;
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
export function threadReplyItem(i: ThreadReply): NewOutboxItem {
  const payload: ReplyPayload = { alertId: i.alertId, threadTs: i.threadTs, view: i.view };
  return replyItem(`reply:${i.key}`, payload, i.channel, i.now);
}

/**
 * A four-eyes request's message, posted in the card's thread (or the alert channel) by the sender;
 * written in the same transaction that records the request pending (Change.closeRequest).
 */
export function closeRequestItem(r: { id: string; alertId: string; channel: string }, now: number): NewOutboxItem {
  const at = {
    key: outboxKey.closeRequest(r.id),
    channel: r.channel,
    cardKey: r.alertId,
    priority: PRIORITY.escalation,
    orderAt: now,
  };
  return build('close_request', 'post', at, { requestId: r.id, alertId: r.alertId });
}

/** Redraw a request's message as the request is now (coalesced: one pending redraw per request). */
export function closeRequestUpdateItem(
  r: { id: string; alertId: string; channel: string },
  now: number,
): NewOutboxItem {
  const at = {
    key: outboxKey.closeRequestUpdate(r.id),
    channel: r.channel,
    cardKey: r.alertId,
    priority: PRIORITY.escalation,
    orderAt: now,
  };
  return build('close_request_update', 'update', at, { requestId: r.id, alertId: r.alertId });
}

type MutePlace = { id: string; channel: string };

/** A mute's message in its channel (the announcement and quiet counter), ahead of new cards. */
export function muteMessageItem(mute: MutePlace, now: number): NewOutboxItem {
  const at = {
    key: outboxKey.mute(mute.id),
    channel: mute.channel,
    cardKey: null,
    priority: PRIORITY.escalation,
    orderAt: now,
  };
  return build('mute_message', 'post', at, { muteId: mute.id });
}

/** The announcement that a mute ended (ran out or unmuted), with its tally. */
export function muteEndItem(mute: MutePlace, now: number): NewOutboxItem {
  const at = {
    key: outboxKey.muteEnd(mute.id),
    channel: mute.channel,
    cardKey: null,
    priority: PRIORITY.escalation,
    orderAt: now,
  };
  return build('mute_message', 'post', at, { muteId: mute.id, end: true });
}

/** Redraw a mute's message from its counts (coalesced: one pending redraw per mute). */
export function muteUpdateItem(mute: MutePlace, now: number): NewOutboxItem {
  const at = {
    key: outboxKey.muteUpdate(mute.id),
    channel: mute.channel,
    cardKey: null,
    priority: PRIORITY.digest,
    orderAt: now,
  };
  return build('mute_update', 'update', at, { muteId: mute.id });
}

/**
 * An id-list reply in a mute's thread, named by its first id (re-enqueued with more ids while its
 * cycle plans: the last payload holds them all), after every card, in order (`orderAt` + from).
 */
export function muteIdsItem(mute: MutePlace, ids: readonly string[], from: number, now: number): NewOutboxItem {
  const at = {
    key: outboxKey.muteIds(mute.id, ids[0] ?? ''),
    channel: mute.channel,
    cardKey: null,
    priority: PRIORITY.note,
    orderAt: now + from,
  };
  return build('mute_ids', 'post', at, { muteId: mute.id, ids: [...ids], from });
}

/**
 * A "was this you?" question's DM, posted in the asked person's DM channel by the sender (its place
 * saved with the question's 'dm' write as it completes); written in the same transaction that records
 * the question asked (Change.question). Someone is waiting: ahead of new cards.
 */
export function questionDmItem(
  q: { id: string; alertId: string },
  dmChannel: string,
  facts: QuestionFacts,
  now: number,
): NewOutboxItem {
  const at = {
    key: outboxKey.questionDm(q.id),
    channel: dmChannel,
    cardKey: q.alertId,
    priority: PRIORITY.escalation,
    orderAt: now,
  };
  return build('question_dm', 'post', at, { questionId: q.id, facts });
}

/** Redraw a question's DM as the question is now (answered, timed out: no buttons). Coalesced per question. */
export function questionUpdateItem(q: { id: string; alertId: string }, dmChannel: string, now: number): NewOutboxItem {
  const at = {
    key: outboxKey.questionUpdate(q.id),
    channel: dmChannel,
    cardKey: q.alertId,
    priority: PRIORITY.escalation,
    orderAt: now,
  };
  return build('question_update', 'update', at, { questionId: q.id });
}

/**
 * The `n`th reminder of a card, held `afterMs` from now on the database's clock (the card was just
 * posted, or the previous reminder just sent). Sent once: its key names the card and the number.
 */
export function reminderItem(
  cardKey: string,
  channel: string,
  payload: ReminderPayload,
  now: number,
): NewOutboxItem & { notBefore: number } {
  const at = { key: outboxKey.reminder(cardKey, payload.n), channel, cardKey, priority: PRIORITY.note, orderAt: now };
  return { ...build('reminder', 'post', at, payload), notBefore: now + payload.afterMs, holdMs: payload.afterMs };
}
