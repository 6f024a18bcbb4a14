/**
 * What the bot remembers. The store is the only memory that survives a restart and the only thing
 * replicas share, so every Slack write that must happen exactly once is an outbox row here before it
 * is sent (the row is the claim), and is confirmed in the same transaction that records its result.
 *
 * Two engines implement this interface: SQLite (embedded default) and PostgreSQL. One contract test
 * suite (test/store/contract.ts) runs against both.
 */

import type { QuestionState } from '../core/ask-user.ts';

export type { QuestionState };

/** The last action taken from Slack on an alert, kept so every later re-render still shows it. */
export type LastAction = {
  by: { id: string; name: string };
  kind: 'status' | 'edit';
  status?: string;
  at: string;
};

/**
 * queued: a card is in the outbox (not yet in Slack); posted: the card exists; seen: known,
 * deliberately no card; digested: folded into a storm's digest (no card unless it escalates); muted:
 * counted in a mute of its detection (`muteId`), no card unless it breaks through later.
 */
export type CardState = 'queued' | 'posted' | 'seen' | 'digested' | 'muted';

export type CardRecord = {
  alertId: string;
  displayId: string;
  state: CardState;
  channel: string | null;
  ts: string | null;
  /** The alert status the card was last planned or rendered from (or seen with). */
  status: string | null;
  /** The alert's updatedAt the card was last planned or rendered from. */
  updatedAt: string | null;
  /** Compact fingerprint of what the card shows (alert fields + last action): no chat.update when equal. */
  fingerprint: string | null;
  /** A closed card that needs no further refresh until the alert shows up live again. */
  final: boolean;
  lastAction: LastAction | null;
  /** Bumped by every write: the poller's writes are compare-and-set on the version it planned from. */
  version: number;
  /** The storm whose digest holds this alert (state digested). */
  stormId: string | null;
  /** When the card reached Slack (epoch ms). */
  postedAt: number | null;
  /** When a human first acted on the alert from Slack (epoch ms). */
  firstActionAt: number | null;
  /** The mute the alert was counted in (state muted, or a card that broke through since). */
  muteId: string | null;
  /** Who took the alert ("I'll take it"), shown on the card. */
  owner: { id: string; name: string } | null;
  /** Reminders sent in the card's thread (0, 1 or 2): moved by a `reminder` part, once each. */
  remindersSent: number;
};

/** The part of a record the poller compares a listed alert with. */
export type CardPeek = Pick<CardRecord, 'state' | 'status' | 'updatedAt' | 'final'>;

export type RenderedState = {
  status: string;
  updatedAt: string;
  fingerprint: string;
  final: boolean;
};

// ---------------------------------------------------------------------------------------------
// Outbox

/**
 * post: chat.postMessage, paced per channel. update: chat.update, paced per workspace, coalesced.
 * interactive: a click's redraws (chat.update), served at once, ahead of the update lane's backlog
 * and from the same budget. An item enqueued on the interactive lane moves a pending item of its key
 * there (and it stays there until sent).
 */
export type OutboxLane = 'post' | 'update' | 'interactive';
export type OutboxKind =
  | 'card'
  | 'escalation'
  | 'card_update'
  /** A copy of a card that is not the stored card (a routed copy, a lookup answer) redrawn after a click. */
  | 'card_copy'
  | 'digest'
  | 'digest_update'
  | 'digest_ids'
  | 'thread_note'
  | 'reply'
  /** A four-eyes request's message (posted in the card's thread), and its redraw once decided. */
  | 'close_request'
  | 'close_request_update'
  /**
   * A mute's message in its channel (its announcement and quiet counter; with `end`, the announcement
   * that it ended), its redraw from the mute's counts, and the id lists of the alerts it held back.
   */
  | 'mute_message'
  | 'mute_update'
  | 'mute_ids'
  /** A "was this you?" question's DM (posted in the asked person's DM), and its redraw once answered or timed out. */
  | 'question_dm'
  | 'question_update'
  /** A reminder in the thread of a critical or high alert nobody has acted on (the nth, once each). */
  | 'reminder';

export type NewOutboxItem = {
  /** Unique: enqueueing an existing key replaces its payload (coalescing) and bumps its rev. */
  key: string;
  kind: OutboxKind;
  lane: OutboxLane;
  channel: string;
  /** The card the item is for (its record's key: the alert id, or the alert id and channel of a copy); null: none. */
  cardKey: string | null;
  /** Lower first. */
  priority: number;
  /** Within a priority, lower (older) first: epoch ms. */
  orderAt: number;
  /** JSON, kind-specific. */
  payload: string;
  /**
   * Held until then (epoch ms, compared with the database's clock; default: due at once). An existing
   * item keeps its own.
   */
  notBefore?: number;
  /**
   * Held this long from the database's now (wins over `notBefore`): a hold reckoned on one replica's
   * clock would end early or late by that replica's skew (the database's clock judges when items are due).
   */
  holdMs?: number;
};

export type OutboxItem = Omit<NewOutboxItem, 'notBefore' | 'holdMs'> & {
  rev: number;
  state: 'pending' | 'claimed';
  owner: string | null;
  claimedAt: number | null;
  /** An earlier attempt's outcome is unknown (lost answer, 5xx, crash): look it up before sending. */
  unknown: boolean;
  attempts: number;
  notBefore: number;
  createdAt: number;
  /** The lease token the item was claimed under (null while pending). */
  fence: number | null;
};

/**
 * Ownership clock. Every decision about who owns something — a lease, an outbox claim, an action
 * claim — is judged by the database's clock (PostgreSQL's `clock_timestamp()`, SQLite's own
 * `unixepoch()` on its one machine), never by a replica's: callers pass durations, not times.
 */

/**
 * Proof of leadership: the lease (by name) and the token it had when this owner took it. The token
 * moves each time the lease changes hands, so work started under an older holder's token is refused.
 */
export type Fence = { lease: string; token: number };

export type LeaseGrant = {
  /** This owner holds the lease now (taken or renewed). */
  held: boolean;
  /** The lease's token: this owner's fence when held, else the current holder's (0: never held). */
  token: number;
};

// ---------------------------------------------------------------------------------------------
// Storms

export type Storm = {
  id: string;
  channel: string;
  startedAt: number;
  lastAddedAt: number;
  endedAt: number | null;
  /** Individual cards posted within this storm (bounded by STORM_CARDS). */
  cardsUsed: number;
  /** The digest message, once posted. */
  ts: string | null;
  /** JSON of the bulk-close tallies, by group key (the digest shows them). */
  tally: string | null;
};

export type StormMember = {
  stormId: string;
  alertId: string;
  displayId: string;
  /** Detection id or name; `escalated` for the escalated group. */
  groupKey: string;
  groupName: string;
  severity: string | null;
  status: string;
  title: string;
  createdAt: string;
  updatedAt: string;
};

export type SeverityCounts = { critical: number; high: number; medium: number; low: number; none: number };

/** One item of a compact id list: a single id or a range (`COT-1–COT-9`), and how many ids it stands for. */
export type IdSpan = { text: string; count: number };

/** One group of a storm's digest, aggregated by the store. */
export type StormDigestGroup = {
  key: string;
  /** The name its first member came with (untrusted). */
  name: string;
  count: number;
  severities: SeverityCounts;
  /** Earliest and latest member `createdAt` (ISO). */
  firstSeen: string;
  lastSeen: string;
  /** Up to `limits.examples` distinct titles, in the order the alerts arrived. */
  examples: string[];
  /**
   * The group's display ids, compact (`compactIds` in src/core/digest.ts: numbered ids by prefix then
   * number, runs of three or more as a range, other ids after them). At most `limits.spans` spans:
   * their counts may add up to less than `count`.
   */
  spans: IdSpan[];
  /** Members still live (open, in progress, escalated) as far as the store knows. */
  live: number;
};

/**
 * What a storm's digest shows, aggregated in the database: memory is bounded by the groups shown
 * and their examples and spans, not by the number of members.
 */
export type StormDigest = {
  total: number;
  live: number;
  /** How many groups the storm has in all. */
  groupCount: number;
  /** The first `limits.groups` groups, in the digest's order: escalated first, then by size, ties by first seen. */
  groups: StormDigestGroup[];
  /** The groups beyond those, together. */
  other: { groups: number; count: number; live: number };
};

export type StormDigestLimits = { groups: number; examples: number; spans: number };

// ---------------------------------------------------------------------------------------------
// Batched writes

export type CardPatch = Partial<Omit<CardRecord, 'alertId' | 'displayId' | 'version' | 'firstActionAt'>>;

export type CardWrite =
  /** A new record; the change conflicts when one exists already. */
  | ({ op: 'insert' } & Pick<
      CardRecord,
      'alertId' | 'displayId' | 'state' | 'channel' | 'status' | 'updatedAt' | 'fingerprint'
    > &
      Partial<Pick<CardRecord, 'stormId' | 'muteId'>>)
  /**
   * Compare-and-set: applies only while the record still has `expectVersion` and/or is still in
   * `expectState` (at least one of the two is given).
   */
  | { op: 'update'; alertId: string; expectVersion?: number; expectState?: CardState; set: CardPatch };

export type StormWrite =
  /** Conflicts while the channel has another open storm (at most one open storm per channel). */
  | { op: 'open'; id: string; channel: string; at: number }
  | { op: 'grow'; id: string; at: number; cards: number }
  | { op: 'end'; id: string; at: number }
  | { op: 'posted'; id: string; ts: string }
  | { op: 'tally'; id: string; tally: string };

/**
 * One atomic unit of a plan: all of it applies or none (a compare-and-set that fails, an insert
 * that finds a record, or a dequeue of an item that is no longer pending and surely unsent rolls the
 * change back).
 */
export type Change = {
  card?: CardWrite;
  enqueue?: NewOutboxItem[];
  /**
   * Outbox keys to delete; each must still be pending and surely unsent: an item being sent, or one
   * whose earlier attempt has an unknown outcome (it may be in Slack), conflicts.
   */
  dequeue?: string[];
  storm?: StormWrite;
  members?: StormMember[];
  /** Member status updates (bulk close, alerts that changed). */
  memberStatus?: { stormId: string; alertId: string; status: string; updatedAt: string }[];
  /** Meta values to write (upsert), with the rest of the change (e.g. a cursor saved as its item completes). */
  meta?: { key: string; value: string }[];
  /**
   * Intents settled by what they announced (a change made from Slack, its thread note now known):
   * each item replaces the pending item of its key (payload; due at `notBefore`, default at once), is
   * left alone when that item is being sent (the sender finishes the intent itself), and is inserted
   * marked `unknown` (looked for in Slack before it is sent) when no item has its key — the intent was
   * never written, or the sender already finished it. Never a conflict.
   */
  settle?: NewOutboxItem[];
  /**
   * A four-eyes request recorded pending, with the rest of the change (its message's outbox item). A
   * pending request of the alert whose expiry is ≤ its `createdAt` is marked expired first; the change
   * conflicts when the alert still has a pending one.
   */
  closeRequest?: NewCloseRequest;
  /** Where a request's message was posted (saved as its outbox item completes). */
  closeRequestTs?: { id: string; ts: string };
  /** "Was this you?": a question asked, answered, timed out, or its DM saved (see QuestionWrite). */
  question?: QuestionWrite;
  /** A mute created, ended, an alert counted in it, a member escalated, or its message saved (see MuteWrite). */
  mute?: MuteWrite;
  /** The alert's incident channel, recorded once: conflicts when the alert has one. */
  warRoom?: WarRoom;
  /**
   * Reminder `n` of the card whose record key is `cardKey` (CardRecord.alertId: the alert id, or a
   * mirror's key, src/core/routes.ts cardKey): sets `remindersSent` to n only where it is
   * n - 1, else the change conflicts (so each reminder is queued once, whoever plans it). Neither the
   * card's version nor its changed time moves: a reminder changes nothing the card shows.
   */
  reminder?: { cardKey: string; n: number };
};

export type ApplyResult = { applied: number; conflicts: number };

// ---------------------------------------------------------------------------------------------
// Four eyes: a close waiting for a second person's approval

/**
 * pending: waiting for an approver; approved: an approver took it (the status change is made once,
 * by whoever moved it here); rejected, expired, cancelled (the alert changed in Cotool meanwhile):
 * closed without a change; failed: approved, but the change's outcome is not known.
 */
export type CloseRequestState = 'pending' | 'approved' | 'rejected' | 'expired' | 'cancelled' | 'failed';

export type NewCloseRequest = {
  id: string;
  alertId: string;
  displayId: string;
  /** The status asked for (closed_false_positive or closed_true_positive_benign). */
  status: string;
  /** The requester's words (the reason modal), or null. */
  words: string | null;
  requester: { id: string; name: string };
  /** JSON: what the alert was when the request was made (status, severity, title, updatedAt). */
  basis: string;
  /** The card whose thread holds the request. */
  channel: string | null;
  threadTs: string | null;
  createdAt: number;
  expiresAt: number;
};

export type CloseRequest = NewCloseRequest & {
  /** The request message in the card's thread, once posted. */
  ts: string | null;
  state: CloseRequestState;
  decidedBy: { id: string; name: string } | null;
  decidedAt: number | null;
  /** A short word on how it ended (JSON or text, the service's). */
  outcome: string | null;
};

// ---------------------------------------------------------------------------------------------
// The next move: "was this you?" questions, mutes, war rooms

export type Question = {
  id: string;
  alertId: string;
  displayId: string;
  /** The card whose thread hears about it (channel + ts), null if none. */
  channel: string | null;
  threadTs: string | null;
  askedBy: { id: string; name: string };
  askedUserId: string;
  /** Epoch ms. */
  askedAt: number;
  deadline: number;
  state: QuestionState;
  note: string | null;
  answeredAt: number | null;
  /** The DM message, once posted (channel is the DM's id). */
  dmChannel: string | null;
  dmTs: string | null;
};

export type NewQuestion = Omit<Question, 'state' | 'note' | 'answeredAt' | 'dmChannel' | 'dmTs'>;

export type QuestionWrite =
  /** Conflicts when (alertId, askedUserId) already has an 'asked' question, or the id exists. */
  | { op: 'ask'; q: NewQuestion }
  /** Conflicts unless the question is 'asked' and was put to `userId` (one answer, by the person asked). */
  | { op: 'answer'; id: string; userId: string; answer: 'yes' | 'no'; note: string | null; at: number }
  /** Conflicts unless the question is 'asked'; `at` becomes its answeredAt. */
  | { op: 'timeout'; id: string; at: number }
  | { op: 'dm'; id: string; channel: string; ts: string };

export type Mute = {
  id: string;
  channel: string;
  detectionKey: string;
  detectionName: string;
  by: { id: string; name: string };
  reason: string;
  createdAt: number;
  until: number;
  sourceAlertId: string | null;
  endedAt: number | null;
  endedBy: { id: string; name: string } | null;
  /** Alerts counted into it, and how many of them escalated later. */
  muted: number;
  escalated: number;
  /** Its quiet "muted" message in the channel, once posted. */
  ts: string | null;
};

export type NewMute = Omit<Mute, 'endedAt' | 'endedBy' | 'muted' | 'escalated' | 'ts'>;

export type MuteWrite =
  /** Conflicts while (channel, detectionKey) has a mute not ended, or the id exists. */
  | { op: 'create'; m: NewMute }
  /** Conflicts when already ended (or no such mute). `by` null: it ran out. */
  | { op: 'end'; id: string; at: number; by: { id: string; name: string } | null }
  /**
   * Counts an alert into the mute (a member; bumps `muted`). Conflicts when that alert is already
   * counted in it, or when the mute is missing or ended (an Unmute won the race: the alert gets a card).
   */
  | { op: 'count'; id: string; alertId: string; displayId: string }
  /** A counted member escalated: bumps `escalated` once per member; never a conflict. */
  | { op: 'escalated'; id: string; alertId: string }
  | { op: 'posted'; id: string; ts: string };

export type WarRoom = { alertId: string; channel: string; name: string; by: { id: string; name: string }; at: number };

// ---------------------------------------------------------------------------------------------
// Retention

/**
 * What one prune step deletes, at most `limit` rows of it, the oldest first:
 * - outbox: pending items created before `before` that were tried and still not sent (a channel that
 *   refuses the bot), and only those whose alert is surely past caring — its record final (the alert
 *   closed) and unchanged since before `before` — or a digest item of a storm that ended before
 *   `before`. Anything else waits, whatever its age.
 * - cards: records that are final (the alert closed), unchanged since before `before`, with no
 *   outbox item (so never a card still on its way to Slack), no pending close request, no question
 *   still asked and no action claim; with the meta keys `<prefix><alertId>` for each of `metaPrefixes`.
 * - storm_members: members of storms that ended before `before` with no outbox item naming the storm.
 * - storms: such storms once they have no members left.
 * - close_requests: decided (or expired while pending) before `before`, their alert with no outbox item.
 * - once_keys: expired before `before` (pass now).
 * - action_claims: taken before `before` (a claim that old is abandoned).
 * - questions: answered or timed out before `before`, their alert with no outbox item.
 * - mute_members: members of mutes ended before `before` with no outbox item naming the mute.
 * - mutes: such mutes once they have no members left.
 * - war_rooms: of alerts whose record is gone (pruned), opened before `before`.
 */
export type PruneKind =
  | 'outbox'
  | 'cards'
  | 'storm_members'
  | 'storms'
  | 'close_requests'
  | 'once_keys'
  | 'action_claims'
  | 'questions'
  | 'mute_members'
  | 'mutes'
  | 'war_rooms';

export type PruneTable = PruneKind | 'meta';

export type PruneQuery = {
  kind: PruneKind;
  /** Epoch ms: rows whose time (see PruneKind) is older go. */
  before: number;
  /** Rows of the kind's table deleted at most (one bounded statement). */
  limit: number;
  /** cards: per-card meta keys are these prefixes followed by the record's key. */
  metaPrefixes?: readonly string[];
};

/** Rows deleted by one step: `deleted` of the kind's own table (the step is done when < limit), by table. */
export type PruneResult = { deleted: number; tables: Partial<Record<PruneTable, number>> };
