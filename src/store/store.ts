/**
 * What the bot remembers per alert. The store is the only memory that survives a restart, so
 * every transition that must happen at most once (posting a card) is claimed here before the
 * slow, external part runs, and confirmed the moment it returns.
 */

/** The last action taken from Slack on an alert, kept so every later re-render still shows it. */
export type LastAction = {
  by: { id: string; name: string };
  kind: 'status' | 'edit';
  status?: string;
  at: string;
};

export type CardState = 'claimed' | 'posted' | 'seen';

export type CardRecord = {
  alertId: string;
  displayId: string;
  /** claimed: a card is being posted; posted: the card exists; seen: known, deliberately no card. */
  state: CardState;
  channel: string | null;
  ts: string | null;
  /** The alert status the card was last rendered from (or seen with). */
  status: string | null;
  /** The alert's updatedAt the card was last rendered from. */
  updatedAt: string | null;
  /** Hash of the last rendered card: chat.update only when it differs. */
  fingerprint: string | null;
  /** A closed card that needs no further refresh until the alert shows up live again. */
  final: boolean;
  claimedAt: number | null;
  claimOwner: string | null;
  lastAction: LastAction | null;
};

export type RenderedState = {
  status: string;
  updatedAt: string;
  fingerprint: string;
  final: boolean;
};

export interface Store {
  /** Records for these alert ids (missing ids are absent from the map). */
  getMany(alertIds: readonly string[]): Promise<Map<string, CardRecord>>;
  get(alertId: string): Promise<CardRecord | null>;
  /** Cards that still follow their alert (posted, not final) and claims not yet confirmed. */
  listUnfinished(): Promise<CardRecord[]>;
  /**
   * Claims the right to post a card: true when this caller now holds the claim (a new alert, a
   * seen alert, or a claim older than `staleBefore`); false when someone else holds it or a card
   * already exists.
   */
  tryClaim(alertId: string, displayId: string, owner: string, now: number, staleBefore: number): Promise<boolean>;
  /** The card was posted: keep its place and what it shows. */
  markPosted(
    alertId: string,
    owner: string,
    place: { channel: string; ts: string },
    rendered: RenderedState,
  ): Promise<void>;
  /** The post failed: undo the claim so the next cycle tries again. */
  releaseClaim(alertId: string, owner: string): Promise<void>;
  /** Remember an alert without posting a card (first-start backlog). No-op when a record exists. */
  markSeen(alertId: string, displayId: string, status: string): Promise<void>;
  /** The card was re-rendered (or its alert's state noted). */
  saveRender(alertId: string, rendered: RenderedState): Promise<void>;
  setLastAction(alertId: string, action: LastAction | null): Promise<void>;
  /**
   * Claims the right to change an alert from Slack: true when no other change of this alert is in
   * flight (or the one in flight is older than `ttlMs`, its process presumably gone). Two fast
   * clicks, or two analysts, get one true between them.
   */
  claimAction(alertId: string, owner: string, now: number, ttlMs: number): Promise<boolean>;
  releaseAction(alertId: string, owner: string): Promise<void>;
  /**
   * True the first time `key` is seen within `ttlMs`, false after: for Slack redeliveries of the same
   * interaction and "at most once per thread" replies. Old keys are forgotten.
   */
  firstTime(key: string, now: number, ttlMs: number): Promise<boolean>;
  getMeta(key: string): Promise<string | null>;
  setMeta(key: string, value: string): Promise<void>;
  close(): Promise<void>;
}
