/**
 * A card button whose click opens something or runs one use-case (Add note, Disagree, Ask the user,
 * Mute detection, Open incident channel): acknowledged first; its value decoded for the one op the
 * button carries (anything else: "this card is out of date", never a crash); Slack's redelivery of
 * the same click dropped; then `run`. An unexpected error is told with a reference that is also in
 * the log.
 */
import type { AllMiddlewareArgs, App, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { Logger } from '../../../log.ts';
import type { CardOp } from '../../ids.ts';
import { cardOutOfDate, newRef, unexpectedError } from '../../messages.ts';
import { type ActionPayload, decodeAction } from '../../payloads.ts';
import type { ListenerDeps } from '../deps.ts';
import { firstDelivery } from '../redelivery.ts';
import { type Surface, surfaceOf } from './surface.ts';

export type ClickArgs = SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs;

export type CardClick = { args: ClickArgs; userId: string; surface: Surface; value: ActionPayload; clickId: string };

export function onCardButton(
  app: App,
  deps: { store: Pick<ListenerDeps['store'], 'firstTime'>; clock: () => number },
  button: { actionId: string; op: CardOp; what: string; logger: Logger },
  run: (click: CardClick) => Promise<void>,
): void {
  const log = button.logger;
  app.action({ type: 'block_actions', action_id: button.actionId }, async (args: ClickArgs) => {
    const { ack, body, action, client, respond } = args;
    await ack();
    const userId = body.user.id;
    const surface = surfaceOf(body, { client, respond, logger: log });
    try {
      const decoded = decodeAction(action.type === 'button' ? action.value : undefined);
      if (!decoded.ok || decoded.value.op !== button.op) {
        const reason = decoded.ok ? 'op_mismatch' : decoded.reason;
        log.warn(
          { userId, actionId: button.actionId, reason },
          `a ${button.what} button carried a value that does not decode`,
        );
        await surface.tell(cardOutOfDate());
        return;
      }
      const clickId = `interaction:${userId}:${action.action_ts}:${action.action_id}`;
      if (!(await firstDelivery(deps, clickId))) {
        log.info({ userId, alertId: decoded.value.id, actionId: button.actionId }, 'ignored a redelivered click');
        return;
      }
      await run({ args, userId, surface, value: decoded.value, clickId });
    } catch (err) {
      const ref = newRef();
      log.error({ ref, err, userId, actionId: button.actionId }, `the ${button.what} button failed unexpectedly`);
      await surface.tell(unexpectedError(ref));
    }
  });
}
