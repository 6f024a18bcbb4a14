/**
 * The narrow interfaces between the notification core (poller, sender) and the services on one
 * side, and Slack and the views on the other. `src/notify/` and `src/service/` reach Slack only
 * through these; src/slack/port.ts and src/slack/render.ts implement them.
 */

import type {
  Alert,
  AlertPage,
  AlertWithTimeline,
  DetailsChangeResult,
  DetailsPatch,
  ListAlertsParams,
  StatusChangeResult,
  TimelineEntry,
  TimelinePage,
} from './core/alert.ts';
import type { QuestionFacts } from './core/outbox.ts';
import type {
  ApplyResult,
  CardPeek,
  CardRecord,
  CardState,
  Change,
  CloseRequest,
  CloseRequestState,
  Fence,
  LastAction,
  LeaseGrant,
  Mute,
  NewCloseRequest,
  OutboxItem,
  OutboxKind,
  OutboxLane,
  PruneQuery,
  PruneResult,
  Question,
  RenderedState,
  Storm,
  StormDigest,
  StormDigestLimits,
  StormMember,
  WarRoom,
} from './core/records.ts';
import type { SlackFailure as ClassifiedSlackFailure } from './core/slack-errors.ts';

export type SlackView = { text: string; blocks: unknown[] };

/** Message metadata: how the bot finds its own messages again after a crash or a lost answer. */
export type MessageMetadata = { event_type: string; event_payload: Record<string, string> };

export type OutgoingMessage = SlackView & {
  channel: string;
  thread_ts?: string;
  reply_broadcast?: boolean;
  metadata?: MessageMetadata;
};

/** Event types of the bot's message metadata. */
export const EVENT_TYPES = {
  card: 'cotool_alert',
  escalation: 'cotool_escalation',
  digest: 'cotool_digest',
  /** A reply in a digest's thread listing storm members' ids. */
  digestIds: 'cotool_digest_ids',
  note: 'cotool_note',
  /** A four-eyes close request in a card's thread. */
  closeRequest: 'cotool_close_request',
  /** A mute's message (its announcement and quiet counter), the id lists in its thread, its end. */
  mute: 'cotool_mute',
  muteIds: 'cotool_mute_ids',
  muteEnd: 'cotool_mute_end',
  /** A "was this you?" question's DM. */
  question: 'cotool_question',
} as const;

/** A Slack failure classified once, by code (see src/core/slack-errors.ts); the failure policy acts on `meaning` alone. */
export type SlackFailure = ClassifiedSlackFailure & {
  /**
   * The request may have reached Slack and been acted on, but no definite answer came back (5xx,
   * `internal_error`, `fatal_error`, a timeout, a dropped connection): a post must be looked up
   * before it is sent again. Same as `meaning === 'maybe'`.
   */
  outcomeUnknown: boolean;
  /** Slack said 429: wait this many seconds. */
  retryAfterSec: number | null;
};

/**
 * What a look-up by metadata found: the message's ts, `absent` (every page was read and it is not
 * there), or `unknown` (the look-up could not finish — more pages than it may read): never read as
 * "not there". A failed call throws (classify it).
 */
export type FoundMessage = { found: string } | 'absent' | 'unknown';

export type SlackPort = {
  post(message: OutgoingMessage): Promise<{ channel: string; ts: string }>;
  update(message: SlackView & { channel: string; ts: string }): Promise<void>;
  /**
   * The ts of a message of ours found by its metadata: in the channel's history since `oldestMs`, or
   * among the replies of `threadTs`. Matches `event_payload.key === key`, or, for cards posted by the
   * first release (no key), `event_payload.alert_id === alertId`.
   */
  findMessage(q: {
    channel: string;
    eventType: string;
    key: string;
    alertId?: string;
    threadTs?: string;
    oldestMs: number;
  }): Promise<FoundMessage>;
  /** What a failure of any of these calls means. */
  classify(err: unknown, channel?: string): SlackFailure;
};

/** Who escalated and why; `mention` overrides ESCALATION_MENTION (a route's own on-call). */
export type EscalationWho = { by: string | null; reason: string | null; mention?: string | null };

export type CardRenderer = {
  card(alert: Alert, record: CardRecord | null): SlackView;
  /** The card of an alert that no longer exists in Cotool. */
  gone(record: CardRecord): SlackView;
  escalationReply(alert: Alert, who: EscalationWho): SlackView;
  /** The storm's digest message, from the store's aggregate of its members. */
  digest(storm: Storm, digest: StormDigest, now: number): SlackView;
  /** A reply listing storm members' ids one by one, member number `from` (1-based) onward. */
  idList(ids: readonly string[], from: number): SlackView;
  /** How many of `ids` (from the first) one id-list reply holds (at least one). */
  idListFits(ids: readonly string[]): number;
  /**
   * The fallback when Slack refuses a card (or its update) for good (`invalid_blocks`,
   * `msg_too_long` …): one short text section — display id, title (escaped), status, a link to
   * Cotool — so the alert is still shown. No buttons.
   */
  minimalCard(alert: Pick<Alert, 'id' | 'displayId' | 'title' | 'status' | 'organizationName'>): SlackView;
  /** The fallback of a refused digest: how many alerts, and as many of their ids as fit. */
  minimalDigest(storm: Storm, total: number, displayIds: readonly string[]): SlackView;
  /**
   * The thread reply telling new Cotool timeline entries of an alert (oldest first, batched: the view
   * shows what fits and counts the rest). `alert` names the alert and builds its link in Cotool.
   */
  timelineNote(
    alert: { id: string; displayId: string; organizationName: string | null },
    entries: readonly TimelineEntry[],
  ): SlackView;
  /**
   * A compact fingerprint of what `card(alert, record)` shows: equal fingerprints, same card. Cheap
   * (no rendering): the poller computes it for every live alert on every poll.
   */
  fingerprint(alert: Alert, record: CardRecord | null): string;
  /** Fingerprint of an already rendered view (surfaces that render anyway). */
  viewFingerprint(view: SlackView): string;
  /** The thread note for a status change made from Slack. */
  statusReply(
    alert: Alert,
    ctx: { by: { id: string; name: string }; status: string; reason?: string | null },
  ): SlackView;
  /** The thread note for an edit made from Slack. */
  editReply(
    alert: Alert,
    ctx: { by: { id: string; name: string }; title?: { from: string; to: string } | null; descriptionChanged: boolean },
  ): SlackView;
  /** What the edit form's inputs start with (null: not editable in Slack), and how a submission compares. */
  /** "@ana took COT-1": the thread note of "I'll take it". */
  taken(n: { displayId: string; by: { id: string; name: string } }): SlackView;
  /** A reminder in the thread of a critical or high alert nobody has acted on (src/slack/views/next-move-notes.ts). */
  reminder(n: {
    displayId: string;
    severity: string | null;
    n: number;
    waitedMs: number;
    oncall: readonly string[];
  }): SlackView;
  editPrefill(alert: Alert): { title: string | null; description: string | null; descriptionChars: number };
  sameEditText(a: string | null | undefined, b: string | null | undefined): boolean;
};

/** What the request message shows; the view renders it (src/slack/views/four-eyes.ts). */
export type RequestView = {
  request: CloseRequest;
  /** For a decided request: why it ended that way, in a few words (mrkdwn-safe is the view's job). */
  note?: string | null;
  now: number;
};

/** How a question's messages are drawn (src/slack/listeners/actions/ask-user-views.ts). */
export type QuestionRenderer = {
  /** The DM as the question is now: asking (two buttons), answered, timed out. */
  dm(q: Question, facts: QuestionFacts): SlackView;
  /** The card-thread note when Slack refused the DM (`code`: Slack's refusal). */
  unreachable(q: Question, code: string): SlackView;
};

/** Someone in the workspace, as far as asking them or inviting them goes. */
export type SlackPerson = {
  id: string;
  name: string;
  deleted: boolean;
  isBot: boolean;
  isRestricted: boolean;
  isUltraRestricted: boolean;
};

/**
 * The workspace beyond messages: people, direct messages, channels. Expected refusals are results
 * (`code`: Slack's error); anything else is thrown for the caller to classify.
 */
export type SlackWorkspace = {
  /** users.lookupByEmail; null when nobody has the address. */
  userByEmail(email: string): Promise<SlackPerson | null>;
  /** users.info; null when there is no such user. */
  user(userId: string): Promise<SlackPerson | null>;
  /** conversations.open with one person: the DM's channel id. */
  openDm(userId: string): Promise<{ ok: true; channel: string } | { ok: false; code: string }>;
  /** conversations.create (public). */
  createChannel(name: string): Promise<{ ok: true; channel: string; name: string } | { ok: false; code: string }>;
  /** conversations.invite, one person at a time: who could not be invited, and why. */
  invite(channel: string, userIds: readonly string[]): Promise<{ refused: { id: string; code: string }[] }>;
  /** bookmarks.add of a link. */
  bookmark(channel: string, title: string, link: string): Promise<void>;
  /** usergroups.users.list. */
  groupMembers(groupId: string): Promise<string[]>;
};

export interface Store {
  // ---- records
  /** Records for these alert ids (missing ids are absent from the map). */
  getMany(alertIds: readonly string[]): Promise<Map<string, CardRecord>>;
  get(alertId: string): Promise<CardRecord | null>;
  /**
   * What tells whether a listed alert changed, for these ids (missing ids are absent): the poll's
   * hot path, so only four columns and no full records.
   */
  peekMany(alertIds: readonly string[]): Promise<Map<string, CardPeek>>;
  /** The record of the card posted at (channel, ts), if any. */
  getByMessage(channel: string, ts: string): Promise<CardRecord | null>;
  /** Ids of records that still follow their alert: posted and not final, or queued. */
  listUnfinishedIds(): Promise<string[]>;
  /** Remember an alert without a card. No-op when a record exists. */
  markSeen(alertId: string, displayId: string, status: string): Promise<void>;
  /** The card was re-rendered (or its alert's state noted) from Slack. Bumps the version. */
  saveRender(alertId: string, rendered: RenderedState): Promise<void>;
  /** Sets (or clears) the last Slack action; the first one also sets firstActionAt. Bumps the version. */
  setLastAction(alertId: string, action: LastAction | null): Promise<void>;
  /** Cards posted since `sinceMs`, with when a human first acted on them. */
  cardTimes(sinceMs: number): Promise<{ alertId: string; postedAt: number; firstActionAt: number | null }[]>;

  // ---- plans and the outbox
  /** Applies each change atomically (all of them in one transaction where the engine allows). */
  apply(changes: readonly Change[]): Promise<ApplyResult>;
  /**
   * Claims the most urgent item of a lane (optionally of one channel) that is due — pending with
   * notBefore ≤ the database's now, or claimed by someone whose claim (claimedAt, refreshed by
   * touchClaim) is more than `staleMs` old on the database's clock (that item comes back with
   * `unknown` set) — and records `fence.token` on it. Null when nothing is due, or when `owner` does
   * not hold the lease `fence` names under that token (unexpired).
   */
  claimNext(q: {
    lane: OutboxLane;
    channel?: string;
    owner: string;
    staleMs: number;
    fence: Fence;
  }): Promise<OutboxItem | null>;
  /**
   * Right before a Slack write: true, and claimedAt set to the database's now, only while `owner`
   * still holds the item under `fence.token` and still holds that lease with that token, unexpired.
   * False: stop, someone else may be sending it.
   */
  touchClaim(key: string, owner: string, fence: Fence): Promise<boolean>;
  /**
   * The item was sent (or is moot): applies `changes` and deletes the item, atomically, only while
   * the fence holds (as in touchClaim). When its rev moved on (a newer payload was coalesced in while
   * sending), the item goes back to pending instead of being deleted. False when the claim was lost.
   */
  completeOutbox(key: string, owner: string, fence: Fence, rev: number, changes?: readonly Change[]): Promise<boolean>;
  /**
   * Gives the item back for a later attempt, due `afterMs` from the database's now (`unknown`: the
   * outcome of this one is not known). False, and nothing changed, when the fence no longer holds.
   */
  retryOutbox(key: string, owner: string, fence: Fence, afterMs: number, unknown: boolean): Promise<boolean>;
  /** Pending and claimed items per channel and lane. */
  outboxDepth(): Promise<{ channel: string; lane: OutboxLane; count: number }[]>;
  /** Items of a lane for one channel that are pending, in order (for plans and tests). */
  listOutbox(filter?: { channel?: string; kind?: OutboxKind }): Promise<OutboxItem[]>;

  // ---- storms
  activeStorms(): Promise<Storm[]>;
  getStorm(id: string): Promise<Storm | null>;
  /** Members in the order they were added. */
  stormMembers(stormId: string): Promise<StormMember[]>;
  /** The digest's aggregate of a storm's members, computed by the database (see StormDigest). */
  stormDigest(stormId: string, limits: StormDigestLimits): Promise<StormDigest>;
  /**
   * One page of a storm's members — of one group, or of every group but `exceptGroups` — live ones
   * first, then by severity (critical first, none last), age and display id; with how many there are
   * in all, how many live, and the name the group's first member came with.
   */
  stormMemberPage(
    stormId: string,
    which: { groupKey: string } | { exceptGroups: readonly string[] },
    page: { offset: number; limit: number },
  ): Promise<{ total: number; live: number; groupName: string | null; members: StormMember[] }>;
  /**
   * Up to `limit` display ids of a storm's members added after `afterSeq` (0: from the first), in the
   * order they were added, each with its position `seq` (increasing; a keyset for the next page).
   */
  stormIdsAfter(stormId: string, afterSeq: number, limit: number): Promise<{ seq: number; displayId: string }[]>;

  // ---- replicas
  /**
   * Takes or renews the named lease until the database's now + ttlMs; not held while another owner
   * holds it unexpired. The token moves on whenever the lease is taken (by another owner, or again
   * after it lapsed), and never goes back.
   */
  tryLease(name: string, owner: string, ttlMs: number): Promise<LeaseGrant>;
  /** Lets the lease lapse at once (its token is kept: the next holder gets a higher one). */
  releaseLease(name: string, owner: string): Promise<void>;

  // ---- interactions
  /**
   * Claims the right to change an alert from Slack: true when no other change of this alert is in
   * flight (or the one in flight is older than `ttlMs` on the database's clock, its process
   * presumably gone). Two fast clicks, or two analysts, get one true between them. The key may be
   * namespaced (`war_room:<alertId>`) to claim one kind of action apart from status changes.
   */
  claimAction(alertId: string, owner: string, ttlMs: number): Promise<boolean>;
  releaseAction(alertId: string, owner: string): Promise<void>;
  /**
   * True the first time `key` is seen within `ttlMs`, false after: for Slack redeliveries of the same
   * interaction and "at most once per thread" replies. Old keys are forgotten.
   */
  firstTime(key: string, now: number, ttlMs: number): Promise<boolean>;
  /** Forgets a `firstTime` key: the work it guarded surely did not happen, a redelivery may do it. */
  forgetFirstTime(key: string): Promise<void>;

  // ---- four eyes
  /**
   * Records a pending close request. False when the alert already has a pending one (a pending one
   * whose expiry is ≤ `now` is marked expired first, so it does not block a new request).
   */
  addCloseRequest(request: NewCloseRequest, now: number): Promise<boolean>;
  getCloseRequest(id: string): Promise<CloseRequest | null>;
  /** The alert's pending request (expired or not), if any. */
  pendingCloseRequest(alertId: string): Promise<CloseRequest | null>;
  /** Where the request message was posted in the card's thread. */
  setCloseRequestTs(id: string, ts: string): Promise<void>;
  /**
   * Compare-and-set: moves the request from `from` to `to`, recording who decided (null clears it)
   * and when; false when it was no longer in `from` (someone else decided first).
   */
  moveCloseRequest(
    id: string,
    from: CloseRequestState,
    to: CloseRequestState,
    decision: { by: { id: string; name: string } | null; at: number | null; outcome?: string | null },
  ): Promise<boolean>;

  // ---- the next move
  getQuestion(id: string): Promise<Question | null>;
  /** The alert's questions, newest first. */
  questionsOf(alertId: string): Promise<Question[]>;
  /** Questions still 'asked' whose deadline is ≤ the database's now, the oldest deadline first. */
  dueQuestions(limit: number): Promise<Question[]>;
  getMute(id: string): Promise<Mute | null>;
  /** Mutes not ended, whatever their `until` (the caller decides by time), the oldest first. */
  activeMutes(): Promise<Mute[]>;
  /** Mutes not ended whose `until` is ≤ the database's now, the earliest first. */
  dueMuteEnds(limit: number): Promise<Mute[]>;
  /**
   * Up to `limit` alerts counted in a mute, after `afterDisplayId` (null: from the first), in a stable
   * order of display ids: shorter first, then bytewise (numbered ids of one prefix in numeric order).
   * The last one's displayId is the keyset for the next page.
   */
  muteMembersAfter(
    muteId: string,
    afterDisplayId: string | null,
    limit: number,
  ): Promise<{ alertId: string; displayId: string }[]>;
  getWarRoom(alertId: string): Promise<WarRoom | null>;
  /** The war rooms of these alerts, by alert id (alerts without one are absent): the poller's page of changed alerts. */
  warRoomsOf(alertIds: readonly string[]): Promise<Map<string, WarRoom>>;

  // ---- retention
  /** Deletes one bounded batch of rows past retention (see PruneKind for exactly which). */
  prune(q: PruneQuery): Promise<PruneResult>;
  /**
   * Records kept without a card of their own (seen, digested, muted) that are not final yet: the poller
   * marks those whose alert left the live set final, so that they can be pruned in time.
   */
  listQuietIds(): Promise<{ alertId: string; state: CardState }[]>;

  getMeta(key: string): Promise<string | null>;
  setMeta(key: string, value: string): Promise<void>;
  /** Cheap round trip for readiness. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Cotool: what the use-cases, the poller and the sender read and write (src/cotool/client.ts).

/** A listed alert before validation: what tells whether it changed, and the item itself. */
export type ListedItem = {
  id: string | null;
  updatedAt: string | null;
  status: string | null;
  raw: unknown;
  offset: number;
};

/** How a paged listing is read. */
export type ListingOptions = {
  /** Items per request, 1–200 (default 200). */
  pageSize?: number;
  /** Requests before stopping with the listing flagged `truncated`. */
  maxPages?: number;
};

export type RawAlertPage = { items: ListedItem[]; last: boolean; truncated: boolean; pages: number };

/** One page of a paged listing; `last` on the final page (`truncated` when maxPages cut it short). */
export type AlertPageOf = { alerts: Alert[]; skipped: number; last: boolean; truncated: boolean; pages: number };

/**
 * Added to write results. `false` when the alert in the response lacked fields the bot relies on
 * and placeholders were filled in: re-fetch the alert before rendering it.
 */
export type WriteMeta = { alertComplete: boolean };

export type ListingParams = Omit<ListAlertsParams, 'limit' | 'offset'>;

export type CotoolClient = {
  /** One page of alerts. Malformed items are skipped and counted in `skipped`. */
  listAlerts(params?: ListAlertsParams): Promise<AlertPage>;
  /**
   * The listing page by page (default at most 50 pages), items validated on demand with
   * `parseListedAlert`: the poller validates only the alerts that are new or changed.
   */
  listRawAlertPages(params?: ListingParams, opts?: ListingOptions): AsyncGenerator<RawAlertPage>;
  /** Validates a listed item: the alert, or null when it is malformed (logged and skipped). */
  parseListedAlert(item: ListedItem): Alert | null;
  /**
   * The listing page by page, items validated, for callers that must not hold every alert at once.
   * The last page says whether the listing was complete. Offset paging over a changing set can
   * repeat an alert on two pages: callers dedupe by id. Any failed page throws.
   */
  listAlertPages(params?: ListingParams, opts?: ListingOptions): AsyncGenerator<AlertPageOf>;
  /** An alert by UUID or display id (`COT-123`) with the first page of its timeline. */
  getAlert(idOrDisplayId: string): Promise<AlertWithTimeline>;
  /** The alert a run minted, or null when the run has none. */
  getAlertForRun(runId: string): Promise<Alert | null>;
  /** Sends exactly one status change per call unless the server refused it outright (429/503). */
  updateStatus(id: string, status: string, reason?: string): Promise<StatusChangeResult & WriteMeta>;
  updateDetails(id: string, patch: DetailsPatch): Promise<DetailsChangeResult & WriteMeta>;
  /**
   * Appends a comment to the alert's timeline; the new entry. Not idempotent (a repeat adds a second
   * comment), so it is sent again only when the server surely did nothing (429/503, no connection).
   * Cotool records the API key's user as the author: callers name the Slack user in the body.
   */
  addComment(alertId: string, bodyMarkdown: string): Promise<TimelineEntry>;
  /** One page of the alert's timeline (`limit` 1–200, default 100; `offset` ≥ 0). Bad entries are skipped and counted. */
  getTimeline(alertId: string, page?: { limit?: number; offset?: number }): Promise<TimelinePage>;
  /**
   * The alert's whole timeline, oldest first, deduplicated by id, in at most `maxPages` requests
   * (default 10 of 200: 2,000 entries); beyond that `truncated` is set and the oldest pages are what
   * was read.
   */
  listTimeline(alertId: string, opts?: ListingOptions): Promise<TimelineListing>;
};

export type TimelineListing = {
  entries: TimelineEntry[];
  totalCount: number;
  skipped: number;
  pages: number;
  truncated: boolean;
};

/** The mute messages the sender posts (src/slack/mute-render.ts), drawn from the mute as stored. */
export type MuteRenderer = {
  /** The mute's one message: who muted what until when and why, and the count of alerts held back. */
  message(m: Mute): SlackView;
  /** A reply in its thread listing ids held back, numbered from `from` (1-based). */
  ids(m: Mute, ids: readonly string[], from: number): SlackView;
  /** The announcement that it ended (ran out, or unmuted), with the tally. */
  ended(m: Mute): SlackView;
};
