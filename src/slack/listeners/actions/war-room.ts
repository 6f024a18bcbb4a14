/**
 * "Open incident channel" on a card: acknowledged first, the value decoded (out of date → a note,
 * never a crash), Slack's redelivery of the same click dropped, then the use-case
 * (src/service/war-room.ts) — and the clicker told, privately, where the channel is or why there is none.
 */
import type { App, BlockAction } from '@slack/bolt';
import type { OpenWarRoom, OpenWarRoomResult } from '../../../service/war-room.ts';
import { ACTIONS, OPS } from '../../ids.ts';
import {
  accessRefused,
  cotoolFailed,
  warRoomBusy,
  warRoomFailed,
  warRoomOpened,
  warRoomRefused,
} from '../../messages.ts';
import type { ListenerDeps } from '../deps.ts';
import { onCardButton } from './card-button.ts';

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
  const logger = deps.logger.child({ module: 'war-room-action' });
  const button = { actionId: ACTIONS.warRoom, op: OPS.warRoom, what: 'war room', logger };
  onCardButton(app, deps, button, async ({ args, userId, surface, value }) => {
    const started = performance.now();
    const result = await openWarRoom({
      alertId: value.id,
      userId,
      place: surface.clicked,
      workspaceUrl: workspaceUrl(args.body),
    });
    logger.info(
      {
        userId,
        alertId: value.id,
        outcome: result.ok ? (result.created ? 'created' : 'exists') : result.code,
        ms: Math.round(performance.now() - started),
      },
      'war room click handled',
    );
    await surface.tell(warRoomText(result, () => deps.access.describe()));
  });
}
