/**
 * The card's buttons and overflow menu. Every click is acknowledged first (Slack's 3 s), then:
 * decode the value (a value that does not decode, or whose op does not match its button, is "out of
 * date" — never a crash), drop Slack's redelivery of the same click, and either run the status change
 * or open a modal. The use-cases do the rest; this file only maps their results to a note.
 */
import type { AllMiddlewareArgs, App, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { OP_DISPOSITION } from '../../../core/verdict.ts';
import { ACTIONS, type ActionId, type CardOp, OP_STATUS, OPS } from '../../ids.ts';
import { cardOutOfDate, newRef, unexpectedError } from '../../messages.ts';
import { type Disposition, decodeAction } from '../../payloads.ts';
import type { ListenerDeps } from '../deps.ts';
import { firstDelivery } from '../redelivery.ts';
import { failureText, statusNotes, statusText } from './change-answers.ts';
import { registerDigestActions } from './digest.ts';
import { openForm } from './open-form.ts';
import { surfaceOf } from './surface.ts';

type ClickArgs = SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs;

/** Which ops each element may carry: a value moved to another button is refused. */
const OPS_OF: Partial<Record<ActionId, readonly CardOp[]>> = {
  [ACTIONS.closeFp]: [OPS.closeFp],
  [ACTIONS.closeBenign]: [OPS.closeBenign],
  [ACTIONS.closeTp]: [OPS.closeTp],
  [ACTIONS.escalate]: [OPS.escalate],
  [ACTIONS.reopen]: [OPS.reopen],
  [ACTIONS.more]: [OPS.inProgress, OPS.closeReason, OPS.edit],
  [ACTIONS.take]: [OPS.take],
};

const STATUS_OPS = Object.keys(OP_STATUS) as (keyof typeof OP_STATUS)[];
const isStatusOp = (op: CardOp): op is keyof typeof OP_STATUS => (STATUS_OPS as string[]).includes(op);

const DISPOSITION_OF: Partial<Record<CardOp, Disposition>> = OP_DISPOSITION;

export function registerActions(app: App, deps: ListenerDeps): void {
  const onClick = clickHandler(deps);
  registerDigestActions(app, deps);
  for (const actionId of Object.keys(OPS_OF)) app.action({ type: 'block_actions', action_id: actionId }, onClick);
  // Link buttons open their URL in the browser, but Slack still sends the click: acknowledge it.
  for (const actionId of [ACTIONS.openLink, ACTIONS.externalLink]) {
    app.action({ type: 'block_actions', action_id: actionId }, async ({ ack }) => {
      await ack();
    });
  }
}

function clickedValue(action: BlockAction['actions'][number]): string | undefined {
  if (action.type === 'button') return action.value;
  if (action.type === 'overflow' || action.type === 'static_select') return action.selected_option?.value;
  return undefined;
}

export function clickHandler(deps: ListenerDeps) {
  const log = deps.logger.child({ module: 'card-actions' });

  return async ({ ack, body, action, client, respond, context }: ClickArgs): Promise<void> => {
    await ack();
    const started = performance.now();
    const userId = body.user.id;
    const surface = surfaceOf(body, { client, respond, logger: log });
    try {
      const decoded = decodeAction(clickedValue(action));
      const allowed = OPS_OF[action.action_id as ActionId] ?? [];
      if (!decoded.ok || !allowed.includes(decoded.value.op)) {
        log.warn(
          { userId, actionId: action.action_id, reason: decoded.ok ? 'op_mismatch' : decoded.reason },
          'a card click carried a value that does not decode; told the user the card is out of date',
        );
        await surface.tell(cardOutOfDate());
        return;
      }
      const p = decoded.value;
      const retry = typeof context.retryNum === 'number' && context.retryNum > 0 ? context.retryNum : undefined;
      const clickId = `interaction:${userId}:${action.action_ts}:${action.action_id}`;
      if (!(await firstDelivery(deps, clickId))) {
        log.info({ userId, alertId: p.id, op: p.op, retry }, 'ignored a redelivered click');
        return;
      }
      const tools = { deps, client, triggerId: body.trigger_id, userId, surface, logger: log };
      if (p.op === OPS.closeReason) return await openForm('close', p, tools);
      if (p.op === OPS.edit) return await openForm('edit', p, tools);
      // I'll take it: in progress in Cotool, and the clicker the card's owner.
      const take = p.op === OPS.take;
      if (!take && !isStatusOp(p.op)) {
        await surface.tell(cardOutOfDate());
        return;
      }
      const status = take ? 'in_progress' : OP_STATUS[p.op as keyof typeof OP_STATUS];
      const disposition = DISPOSITION_OF[p.op];
      if (disposition && deps.config.slack.closeReasonRequired) {
        return await openForm('close', p, { ...tools, disposition });
      }
      const result = await deps.useCases.changeStatus({
        alertId: p.id,
        expectedUpdatedAt: p.u,
        status,
        userId,
        clicked: surface.clicked,
        clickId,
        ...(take ? { take: true } : {}),
      });
      log.info(
        {
          userId,
          alertId: p.id,
          op: p.op,
          outcome: result.ok ? (result.statusChanged ? 'changed' : 'already') : result.code,
          surface: surface.kind,
          ms: Math.round(performance.now() - started),
        },
        'card click handled',
      );
      if (!result.ok) {
        if (result.code === 'stale') await surface.show(result.view);
        await surface.tell(failureText(result, deps.access.describe(), status));
        return;
      }
      await surface.show(result.view);
      // On a channel card the card and its thread say what happened; elsewhere, say it.
      const onCard = surface.kind === 'message' || surface.kind === 'ephemeral';
      const text = onCard ? statusNotes(result) : statusText(result);
      if (text) await surface.tell(text);
    } catch (err) {
      const ref = newRef();
      log.error({ ref, err, userId, actionId: action.action_id }, 'a card click failed unexpectedly');
      await surface.tell(unexpectedError(ref));
    }
  };
}
