/**
 * "Open incident channel" on a card: acknowledged first, the value decoded (out of date → a note,
 * never a crash), Slack's redelivery of the same click dropped, then the use-case
 * (src/service/war-room.ts) — and the clicker told, privately, where the channel is or why there is none.
 */
import type { AllMiddlewareArgs, App, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { OpenWarRoom, OpenWarRoomResult } from '../../../service/war-room.ts';
import { ACTIONS, OPS } from '../../ids.ts';
import {
  accessRefused,
  cardOutOfDate,
  cotoolFailed,
  newRef,
  unexpectedError,
  warRoomBusy,
  warRoomFailed,
  warRoomOpened,
  warRoomRefused,
} from '../../messages.ts';
import { decodeAction } from '../../payloads.ts';
import type { ListenerDeps } from '../deps.ts';
import { firstDelivery } from '../redelivery.ts';
import { surfaceOf } from './surface.ts';

type ClickArgs = SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs;

/** `https://acme.slack.com/` from the click's team domain (links the channel in the Cotool comment). */
function workspaceUrl(body: BlockAction): string | null {
  const domain = (body.team as { domain?: unknown } | null)?.domain;
  return typeof domain === 'string' && /^[a-z0-9-]{1,63}$/.test(domain) ? `https://${domain}.slack.com/` : null;
}

/** The words for the clicker. */
export function warRoomText(r: OpenWarRoomResult, describeAccess: () => string): string {
  if (r.ok) return r.created ? warRoomOpened(r.channel, r.refused) : warRoomRefused('exists', { channel: r.channel });
  switch (r.code) {
    case 'denied':
      return accessRefused(r.reason, describeAccess());
    case 'busy':
      return warRoomBusy(r.displayId);
    case 'restricted':
      return warRoomRefused('restricted');
    case 'name_taken':
      return warRoomRefused('name_taken', { tries: r.tries });
    case 'slack':
      return warRoomFailed(r.slackCode, r.ref);
    case 'not_found':
    case 'upstream':
      return cotoolFailed(r.error, r.ref, { alertRef: r.displayId, changing: true });
  }
}

export function registerWarRoomAction(
  app: App,
  deps: Pick<ListenerDeps, 'store' | 'access' | 'logger' | 'clock'>,
  openWarRoom: OpenWarRoom,
): void {
  const log = deps.logger.child({ module: 'war-room-action' });
  app.action({ type: 'block_actions', action_id: ACTIONS.warRoom }, async (args: ClickArgs) => {
    const { ack, body, action, client, respond } = args;
    await ack();
    const started = performance.now();
    const userId = body.user.id;
    const surface = surfaceOf(body, { client, respond, logger: log });
    try {
      const decoded = decodeAction(action.type === 'button' ? action.value : undefined);
      if (!decoded.ok || decoded.value.op !== OPS.warRoom) {
        log.warn({ userId, reason: decoded.ok ? 'op_mismatch' : decoded.reason }, 'a war room button did not decode');
        await surface.tell(cardOutOfDate());
        return;
      }
      const clickId = `interaction:${userId}:${action.action_ts}:${action.action_id}`;
      if (!(await firstDelivery(deps, clickId))) {
        log.info({ userId, alertId: decoded.value.id }, 'ignored a redelivered war room click');
        return;
      }
      const result = await openWarRoom({
        alertId: decoded.value.id,
        userId,
        place: surface.clicked,
        workspaceUrl: workspaceUrl(body),
      });
      log.info(
        {
          userId,
          alertId: decoded.value.id,
          outcome: result.ok ? (result.created ? 'created' : 'exists') : result.code,
          ms: Math.round(performance.now() - started),
        },
        'war room click handled',
      );
      await surface.tell(warRoomText(result, () => deps.access.describe()));
    } catch (err) {
      const ref = newRef();
      log.error({ ref, err, userId }, 'a war room click failed unexpectedly');
      await surface.tell(unexpectedError(ref));
    }
  });
}
