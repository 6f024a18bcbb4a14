/**
 * The narrow interfaces between the notification core (poller, sender) and the services on one
 * side, and Slack and the views on the other. `src/notify/` and `src/service/` reach Slack only
 * through these; src/slack/port.ts and src/slack/render.ts implement them.
 */
import type { Alert, TimelineEntry } from '../cotool/schemas.ts';
import type { CardRecord, Storm, StormDigest } from '../store/store.ts';

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
  /** A "was this you?" question's DM. */
  question: 'cotool_question',
} as const;

/**
 * What a Slack error means, one word per code (the table in src/slack/errors.ts): `done` (already
 * so), `retry` (not done, transient), `maybe` (maybe done: look the message up before any retry),
 * `operator` (permanent until an operator acts), `payload` (permanent for this payload), `gone` (the
 * target message no longer exists), `rate_limited` (429 + Retry-After).
 */
export type SlackMeaning = 'done' | 'retry' | 'maybe' | 'operator' | 'payload' | 'gone' | 'rate_limited';

/** A Slack failure classified once, by code (see src/slack/errors.ts). */
export type SlackFailure = {
  /** The platform error code (`not_in_channel` …) or `http_<status>`, `request_error`, `rate_limited`, `unknown`. */
  code: string;
  /** What the code means: the failure policy (src/notify/failure-policy.ts) acts on this alone. */
  meaning: SlackMeaning;
  channelProblem: boolean;
  authProblem: boolean;
  /** One sentence for the operator: what is wrong and what to do. */
  hint: string | null;
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
  editPrefill(alert: Alert): { title: string | null; description: string | null; descriptionChars: number };
  sameEditText(a: string | null | undefined, b: string | null | undefined): boolean;
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
