/**
 * Approve / Reject on a four-eyes close request (FOUR_EYES_SEVERITIES). Acknowledged first, the value
 * decoded (out of date → a note, never a crash), Slack's redelivery dropped, then the use-case
 * (src/service/four-eyes.ts) decides; the request message is redrawn there, and the person who
 * clicked is told privately when there is more to say (refused, their own request, expired,
 * cancelled, a failure with a reference).
 */
import type { AllMiddlewareArgs, App, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { ApproveResult, RejectResult } from '../../../service/four-eyes.ts';
import { decodeFourEyesButton } from '../../four-eyes-payloads.ts';
import { FOUR_EYES_ACTIONS } from '../../ids.ts';
import { accessRefused, cardOutOfDate, newRef, unexpectedError } from '../../messages.ts';
import { decisionFailedText } from '../../views/four-eyes.ts';
import type { ListenerDeps } from '../deps.ts';
import { firstDelivery } from '../redelivery.ts';
import { failureText, statusNotes } from './change-answers.ts';
import { surfaceOf } from './surface.ts';

type ClickArgs = SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs;

export function registerFourEyesActions(app: App, deps: ListenerDeps): void {
  const fourEyes = deps.useCases.fourEyes;
  const log = deps.logger.child({ module: 'four-eyes-actions' });
  for (const [op, actionId] of [
    ['approve', FOUR_EYES_ACTIONS.approve],
    ['reject', FOUR_EYES_ACTIONS.reject],
  ] as const) {
    app.action(
      { type: 'block_actions', action_id: actionId },
      async ({ ack, body, action, client, respond }: ClickArgs) => {
        await ack();
        const userId = body.user.id;
        const surface = surfaceOf(body, { client, respond, logger: log });
        try {
          const decoded = decodeFourEyesButton(action.type === 'button' ? action.value : undefined);
          if (!decoded.ok || decoded.value.op !== op || !fourEyes) {
            log.warn(
              { userId, actionId, enabled: !!fourEyes },
              'a four-eyes button that does not decode (or four eyes is off)',
            );
            await surface.tell(cardOutOfDate());
            return;
          }
          const clickId = `interaction:${userId}:${action.action_ts}:${actionId}`;
          if (!(await firstDelivery(deps, clickId))) return;
          const requestId = decoded.value.r;
          const result =
            op === 'approve'
              ? await fourEyes.approve(requestId, userId, clickId)
              : await fourEyes.reject(requestId, userId);
          log.info({ userId, requestId, op, outcome: result.ok ? 'ok' : result.code }, 'four-eyes click handled');
          const text = answer(result, deps.access.describe());
          if (text) await surface.tell(text);
        } catch (err) {
          const ref = newRef();
          log.error({ ref, err, userId, actionId }, 'a four-eyes click failed unexpectedly');
          await surface.tell(unexpectedError(ref));
        }
      },
    );
  }
}

/** The private note for the person who clicked; '' when the redrawn request says it all. */
function answer(result: ApproveResult | RejectResult, who: string): string {
  if (result.ok) {
    if ('change' in result) return statusNotes(result.change);
    return '';
  }
  switch (result.code) {
    case 'denied':
      return accessRefused(result.reason, who);
    case 'change_failed':
      return failureText(result.failure, who, result.request.status);
    default:
      return decisionFailedText(result);
  }
}
