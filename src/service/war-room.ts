/**
 * "Open incident channel" on a card: one channel per alert, ever — named from the alert
 * (`inc-cot-1042-impossible-travel`), the clicker and the route's on-call invited, the card posted
 * there and kept in sync by the poller (a non-primary copy), Cotool bookmarked, the channel linked in
 * the card's thread and as a Cotool comment naming the clicker.
 *
 * Order, and why:
 *   access → the alert's war room, if recorded (point to it, invite the clicker) → claim
 *   `war_room:<alert>` (a double click, a redelivery or a second replica waits: "being opened") →
 *   read the alert → look again (the first click may have finished between the look and the claim) →
 *   conversations.create (name_taken: the next suffix, up to MAX_NAME_ATTEMPTS) → record the war room
 *   at once, with the card's record in its channel and the outbox items that post the card there and
 *   the note in the original card's thread (one atomic change; the store keeps one war room per alert)
 *   → invite → bookmark → Cotool comment → release the claim.
 *
 * The one window: a process that dies between conversations.create and recording it leaves a
 * channel nobody knows of; the next click then meets `name_taken` and opens `…-2`. (Listing the
 * workspace's channels to find it would need `channels:read`, which the bot does not ask for.)
 * Everything after the record is best effort and said in the result: the channel exists, and the
 * card, the thread note and the war room itself are already safe in the store.
 */
import { randomUUID } from 'node:crypto';
import { ACTION_CLAIM_TTL_MS, cardItem, cardPriority, threadReplyItem } from '../core/outbox.ts';
import { orderOf } from '../core/plan.ts';
import { newRef } from '../core/text.ts';
import { warRoomName } from '../core/war-room.ts';
import type { CotoolClient } from '../cotool/client.ts';
import { type CotoolError, isCotoolError } from '../cotool/errors.ts';
import type { Alert } from '../cotool/schemas.ts';
import type { Logger } from '../log.ts';
import type { CardRenderer, SlackPort, SlackView, SlackWorkspace } from '../notify/ports.ts';
import { cardKey, type Route, routeAlert } from '../notify/routes.ts';
import type { Change, Store, WarRoom } from '../store/store.ts';
import type { AccessPolicy, AccessRefusal } from './access.ts';
import {
  type Actor,
  type CotoolFailureCode,
  classifyCotool,
  noteThread,
  type Place,
  withoutTimeline,
} from './card-sync.ts';
import { noteBody } from './notes.ts';

/** Names tried before giving up: the plain one, then `-2` … `-5`. */
export const MAX_NAME_ATTEMPTS = 5;

const USER_ID = /^[UW][A-Z0-9]{2,20}$/;
const GROUP_ID = /^S[A-Z0-9]{2,20}$/;
const CHANNEL_ID = /^[CG][A-Z0-9]{2,20}$/;
const WORKSPACE_URL = /^https:\/\/[a-z0-9-]{1,63}\.(?:enterprise\.)?slack\.com\/$/;

export type WarRoomDeps = {
  cotool: Pick<CotoolClient, 'getAlert' | 'addComment'>;
  store: Pick<Store, 'get' | 'getWarRoom' | 'claimAction' | 'releaseAction' | 'apply'>;
  workspace: SlackWorkspace;
  /** How a thrown Slack error is read (src/slack/errors.ts). */
  slack: Pick<SlackPort, 'classify'>;
  access: Pick<AccessPolicy, 'check'>;
  /** The card's fingerprint, recorded with the war room's copy of the card. */
  render: Pick<CardRenderer, 'fingerprint'>;
  /** Where the alert's route says on-call is (`oncall`), and the default on-call (ESCALATION_MENTION). */
  routes: readonly Route[];
  defaultChannel: string;
  oncall: readonly string[];
  /** The alert's page in Cotool (config.ts alertUrl), bookmarked in the channel; null: none. */
  alertUrl: (alert: Alert) => string | null;
  /** The note in the original card's thread (src/slack/views/next-move-notes.ts warRoomOpenedNote). */
  renderOpenedNote: (n: { displayId: string; by: Actor; channel: string }) => SlackView;
  logger: Logger;
  clock: () => number;
  /** Told once per channel created (the metric). */
  onOpened?: () => void;
  /** How long the opening holds its claim if its process dies (default ACTION_CLAIM_TTL_MS). */
  claimTtlMs?: number;
};

export type OpenWarRoomInput = {
  /** The alert's id as carried in the button. */
  alertId: string;
  userId: string;
  /** The card clicked, when it is a channel message (the thread note's fallback place). */
  place: Place | null;
  /** `https://acme.slack.com/` (the click's team domain), to link the channel in Cotool; null: none. */
  workspaceUrl?: string | null;
};

/** Someone who could not be invited, and Slack's reason (`user_is_deactivated` …). */
export type InviteRefusal = { id: string; code: string };

export type OpenWarRoomResult =
  | {
      ok: true;
      channel: string;
      name: string;
      /** false: the alert had its war room already (the clicker was invited into it). */
      created: boolean;
      displayId: string;
      /** Who could not be invited (and on-call groups that could not be read). */
      refused: InviteRefusal[];
      /** The Cotool comment: null when this click did not open the channel. */
      commented: boolean | null;
    }
  | { ok: false; code: 'denied'; reason: AccessRefusal }
  /** Another click (here or on another replica) is opening it right now. */
  | { ok: false; code: 'busy'; displayId: string }
  /** The workspace does not let the bot create channels (`restricted_action`). */
  | { ok: false; code: 'restricted'; displayId: string }
  /** Every name tried was taken. */
  | { ok: false; code: 'name_taken'; displayId: string; tries: number }
  /** Cotool has no such alert (any more). */
  | { ok: false; code: 'not_found'; displayId: string; error: CotoolError; ref: string }
  /** Slack refused or failed otherwise; `slackCode` is its error, `ref` is in the log line. */
  | { ok: false; code: 'slack'; displayId: string; slackCode: string; ref: string }
  /** Cotool could not be read. */
  | {
      ok: false;
      code: 'upstream';
      displayId: string;
      cotoolCode: CotoolFailureCode;
      error: CotoolError;
      ref: string;
    };

export type OpenWarRoom = (input: OpenWarRoomInput) => Promise<OpenWarRoomResult>;

/** The user ids and user groups to invite: the clicker first, then on-call (here/channel are no one). */
export function inviteesOf(clicker: string, oncall: readonly string[]): { users: string[]; groups: string[] } {
  const users = [clicker, ...oncall.filter((id) => USER_ID.test(id))].filter((id) => USER_ID.test(id));
  const groups = oncall.filter((id) => GROUP_ID.test(id));
  return { users: [...new Set(users)], groups: [...new Set(groups)] };
}

/** `https://acme.slack.com/archives/C…`, or null without a workspace address we can vouch for. */
export function channelLinkUrl(workspaceUrl: string | null | undefined, channel: string): string | null {
  if (!workspaceUrl || !WORKSPACE_URL.test(workspaceUrl) || !CHANNEL_ID.test(channel)) return null;
  return `${workspaceUrl}archives/${channel}`;
}

/**
 * The Cotool comment: "Note from Slack by Jane Doe (<@U…>): Opened the incident channel
 * #inc-cot-1042-… for this alert: https://acme.slack.com/archives/C…". A note like any other written
 * from Slack (so a thread relaying Cotool's timeline does not tell it a second time).
 */
export function warRoomComment(actor: Actor, room: { name: string; channel: string }, link: string | null): string {
  const where = link ? `#${room.name} (${link})` : `#${room.name} (Slack channel ${room.channel})`;
  return noteBody('note', actor, `Opened the incident channel ${where} for this alert.`);
}

export function createOpenWarRoom(deps: WarRoomDeps): OpenWarRoom {
  const log = deps.logger.child({ module: 'war-room' });
  const { store, workspace } = deps;

  /** Invites, one by one; user groups expanded. Never throws: who could not be invited is returned. */
  async function invite(channel: string, clicker: string, oncall: readonly string[]): Promise<InviteRefusal[]> {
    const { users, groups } = inviteesOf(clicker, oncall);
    const refused: InviteRefusal[] = [];
    const members: string[] = [];
    for (const group of groups) {
      try {
        members.push(...(await workspace.groupMembers(group)).filter((id) => USER_ID.test(id)));
      } catch (err) {
        const code = deps.slack.classify(err).code;
        log.warn({ channel, group, slackError: code }, 'could not read an on-call group to invite it');
        refused.push({ id: group, code });
      }
    }
    try {
      const r = await workspace.invite(channel, [...new Set([...users, ...members])]);
      refused.push(...r.refused);
    } catch (err) {
      const code = deps.slack.classify(err, channel).code;
      log.warn({ channel, slackError: code }, 'could not invite people into the incident channel');
      refused.push({ id: clicker, code });
    }
    if (refused.length > 0)
      log.info({ channel, refused }, 'some people could not be invited into the incident channel');
    return refused;
  }

  /** The alert's route's on-call, else ESCALATION_MENTION's. */
  const oncallOf = (alert: Alert) => routeAlert(alert, deps.routes, deps.defaultChannel).oncall ?? deps.oncall;

  /** The alert has its war room already: point to it, and bring the clicker in. */
  async function existing(room: WarRoom, userId: string, displayId: string): Promise<OpenWarRoomResult> {
    const refused = await invite(room.channel, userId, []);
    log.info({ alertId: room.alertId, channel: room.channel, userId }, 'war room already open; pointed to it');
    return { ok: true, channel: room.channel, name: room.name, created: false, displayId, refused, commented: null };
  }

  /** conversations.create under the next name until one is free. */
  async function create(
    alert: Alert,
  ): Promise<
    | { ok: true; channel: string; name: string }
    | Extract<OpenWarRoomResult, { code: 'restricted' | 'name_taken' | 'slack' }>
  > {
    const displayId = alert.displayId;
    for (let attempt = 0; attempt < MAX_NAME_ATTEMPTS; attempt++) {
      const name = warRoomName(alert.displayId, alert.title, attempt);
      let r: Awaited<ReturnType<SlackWorkspace['createChannel']>>;
      try {
        r = await workspace.createChannel(name);
      } catch (err) {
        const f = deps.slack.classify(err);
        const ref = newRef();
        log.error(
          { ref, alertId: alert.id, name, slackError: f.code, outcomeUnknown: f.outcomeUnknown },
          'could not create the incident channel',
        );
        return { ok: false, code: 'slack', displayId, slackCode: f.code, ref };
      }
      if (r.ok) return r;
      if (r.code === 'name_taken') {
        log.info({ alertId: alert.id, name }, 'incident channel name taken; trying the next');
        continue;
      }
      if (r.code === 'restricted_action') {
        log.warn({ alertId: alert.id }, 'the workspace does not let the bot create channels (restricted_action)');
        return { ok: false, code: 'restricted', displayId };
      }
      const ref = newRef();
      log.warn({ ref, alertId: alert.id, name, slackError: r.code }, 'Slack refused to create the incident channel');
      return { ok: false, code: 'slack', displayId, slackCode: r.code, ref };
    }
    return { ok: false, code: 'name_taken', displayId, tries: MAX_NAME_ATTEMPTS };
  }

  return async (input) => {
    const decision = await deps.access.check(input.userId);
    if (!decision.ok) {
      log.info({ userId: input.userId, alertId: input.alertId, reason: decision.reason }, 'refused a war room');
      return { ok: false, code: 'denied', reason: decision.reason };
    }
    const actor: Actor = { id: input.userId, name: decision.user.name };
    const record = await store.get(input.alertId);
    let displayId = record?.displayId ?? input.alertId;
    const known = await store.getWarRoom(input.alertId);
    if (known) return existing(known, actor.id, displayId);

    const owner = randomUUID();
    const claim = `war_room:${input.alertId}`;
    if (!(await store.claimAction(claim, owner, deps.claimTtlMs ?? ACTION_CLAIM_TTL_MS))) {
      log.info({ alertId: input.alertId, userId: actor.id }, 'a war room is being opened by another click');
      return { ok: false, code: 'busy', displayId };
    }
    try {
      let alert: Alert;
      try {
        alert = withoutTimeline(await deps.cotool.getAlert(input.alertId));
      } catch (err) {
        if (!isCotoolError(err)) throw err;
        const cotoolCode = classifyCotool(err);
        const ref = newRef();
        if (cotoolCode === 'not_found') return { ok: false, code: 'not_found', displayId, error: err, ref };
        log.warn({ ref, alertId: input.alertId, err: err.toLog() }, 'could not read the alert to open its war room');
        return { ok: false, code: 'upstream', displayId, cotoolCode, error: err, ref };
      }
      displayId = alert.displayId;
      // The first click may have finished between the look above and this claim.
      const raced = await store.getWarRoom(alert.id);
      if (raced) return existing(raced, actor.id, displayId);

      const created = await create(alert);
      if (!created.ok) return created;
      const { channel, name } = created;
      const now = deps.clock();

      // Recorded at once, before anything else is asked of Slack: the war room, its copy of the card
      // (a non-primary copy: the poller keeps it in sync) and the note in the original card's thread.
      const primary = alert.id === input.alertId ? record : await store.get(alert.id);
      const thread = noteThread(primary, input.place) ?? input.place;
      const key = cardKey(alert.id, channel, false);
      const escalated = alert.status === 'escalated';
      const room: WarRoom = { alertId: alert.id, channel, name, by: actor, at: now };
      const change: Change = {
        warRoom: room,
        card: {
          op: 'insert',
          alertId: key,
          displayId: alert.displayId,
          state: 'queued',
          channel,
          status: alert.status,
          updatedAt: alert.updatedAt,
          fingerprint: deps.render.fingerprint(alert, null),
        },
        enqueue: [
          cardItem(key, channel, alert, cardPriority(alert.severity, escalated), orderOf(alert, now)),
          ...(thread
            ? [
                threadReplyItem({
                  key: `war_room:${alert.id}`,
                  channel: thread.channel,
                  threadTs: thread.ts,
                  alertId: alert.id,
                  view: deps.renderOpenedNote({ displayId: alert.displayId, by: actor, channel }),
                  now,
                }),
              ]
            : []),
        ],
      };
      const applied = await store.apply([change]);
      if (applied.applied !== 1) {
        // Only when the claim ran out under a very slow opening and another click recorded one.
        const winner = await store.getWarRoom(alert.id);
        log.warn(
          { alertId: alert.id, channel, name, recorded: winner?.channel ?? null },
          'created an incident channel, but the alert had one recorded meanwhile: this one is left unused',
        );
        if (winner) return existing(winner, actor.id, displayId);
        throw new Error('the war room could not be recorded');
      }
      deps.onOpened?.();
      log.info({ alertId: alert.id, displayId, channel, name, userId: actor.id }, 'war room opened');

      const refused = await invite(channel, actor.id, oncallOf(alert));
      const url = deps.alertUrl(alert);
      if (url) {
        try {
          await workspace.bookmark(channel, `${alert.displayId} in Cotool`.slice(0, 100), url);
        } catch (err) {
          log.warn({ channel, slackError: deps.slack.classify(err, channel).code }, 'could not bookmark Cotool');
        }
      }
      let commented = false;
      try {
        await deps.cotool.addComment(
          alert.id,
          warRoomComment(actor, room, channelLinkUrl(input.workspaceUrl ?? null, channel)),
        );
        commented = true;
      } catch (err) {
        const line = { alertId: alert.id, channel, err: isCotoolError(err) ? err.toLog() : String(err) };
        log.warn(line, 'the war room is open but Cotool did not take its comment');
      }
      return { ok: true, channel, name, created: true, displayId, refused, commented };
    } finally {
      await store.releaseAction(claim, owner);
    }
  };
}
