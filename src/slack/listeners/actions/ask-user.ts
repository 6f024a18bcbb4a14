/**
 * "Was this you?" from Slack: the card's **Ask the user…** (the modal opened at once with the
 * click's trigger, then filled with the people the alert names), its submission (field errors for a
 * person who cannot be asked, acknowledged inside Slack's 3 s), and the asked person's **Yes** /
 * **No** in the DM (only theirs, once: the note modal) and its submission. Thin: decode, drop
 * redeliveries, call the use-case (src/service/ask-user.ts), map its result to words.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import type {
  AllMiddlewareArgs,
  App,
  BlockAction,
  SlackActionMiddlewareArgs,
  SlackViewMiddlewareArgs,
  ViewSubmitAction,
} from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { isLive } from '../../../core/alert.ts';
import { classifySlackError } from '../../../core/slack-errors.ts';
import type { Logger } from '../../../log.ts';
import type { Store } from '../../../ports.ts';
import type { AccessPolicy } from '../../../service/access.ts';
import type { AnswerResult, AskResult, AskUserService, PreparedAsk } from '../../../service/ask-user.ts';
import type { TriageFailure } from '../../../service/card-sync.ts';
import { ACTIONS, BLOCKS, OPS, VIEWS } from '../../ids.ts';
import {
  accessRefused,
  alertBusy,
  answerRefused,
  askRefused,
  askSent,
  cardOutOfDate,
  cotoolFailed,
  formNotOpened,
  newRef,
  outcomeUnknown,
  questionOutOfDate,
  staleCard,
  unexpectedError,
} from '../../messages.ts';
import { type AskMeta, decodeAnswerMeta, decodeAskMeta, decodeQuestionRef } from '../../payloads.ts';
import { mrkdwn, oneLine } from '../../text.ts';
import { askUserModal, readAskForm } from '../../views/ask-user-modal.ts';
import { answerModal, readAnswerForm } from '../../views/question-dm.ts';
import { loadingModal, noticeModal, workingModal } from '../../views/triage-modal.ts';
import { onCardButton } from './card-button.ts';
import { surfaceOf } from './surface.ts';

type ClickArgs = SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs;
type SubmitArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;
type View = Parameters<WebClient['views']['open']>[0]['view'];

export type AskUserListenerDeps = {
  askUser: AskUserService;
  /** Redelivery guards, and the stored card's display id for the modal's first frame. */
  store: Pick<Store, 'firstTime' | 'forgetFirstTime' | 'get'>;
  access: Pick<AccessPolicy, 'describe'>;
  logger: Logger;
  clock: () => number;
};

const ASK_VERB = 'Ask about';
const ANSWER_VERB = 'Your answer';
/** How long a delivered interaction is remembered, so that a redelivery does not act twice. */
const REDELIVERY_WINDOW_MS = 10 * 60_000;
/** The checks that answer inside the submission's ack get this long; slower ones answer in the modal. */
const ACK_BUDGET_MS = 2_000;

/** Field errors (plain text under the person picker) for a person who cannot be asked. */
export const ASK_FIELD_ERRORS = {
  no_person: 'Pick the person to ask.',
  not_found: 'That person is not in this Slack workspace: pick someone else.',
  deactivated: 'Their Slack account is deactivated, so they cannot be asked: pick someone else.',
  bot: 'That is a bot, not a person: pick someone else.',
  guest: 'That is a guest account; the bot does not send alert details to guests: pick someone else.',
  dm_closed: 'Slack will not let the bot send them a direct message (DMs closed): ask them another way.',
} as const;

export function registerAskUserListeners(app: App, deps: AskUserListenerDeps): void {
  const log = deps.logger.child({ module: 'ask-user-listeners' });
  const firstDelivery = (key: string) => deps.store.firstTime(key, deps.clock(), REDELIVERY_WINDOW_MS);

  /** The words for a refusal or failure of reading the alert. */
  function failureText(f: TriageFailure): string {
    switch (f.code) {
      case 'denied':
        return accessRefused(f.reason, deps.access.describe());
      case 'busy':
        return alertBusy(f.displayId);
      case 'stale':
        return staleCard(f.displayId, { now: f.alert.status, before: f.before, by: f.by });
      case 'unknown_outcome':
        return outcomeUnknown(f.displayId, f.ref);
      default:
        return cotoolFailed(f.error, f.ref, { alertRef: f.displayId });
    }
  }

  // ---- "Ask the user…" on the card: the modal at once, then who the alert names.
  onCardButton(
    app,
    deps,
    { actionId: ACTIONS.askUser, op: OPS.askUser, what: 'ask', logger: log },
    async ({ args, userId, surface, value: p }) => {
      const { body, client } = args;
      let displayId = (await deps.store.get(p.id))?.displayId ?? null;
      let viewId: string | undefined;
      try {
        const opened = await client.views.open({
          trigger_id: body.trigger_id,
          view: loadingModal(VIEWS.askUserModal, ASK_VERB, displayId) as View,
        });
        viewId = opened.view?.id;
      } catch (err) {
        log.warn({ userId, alertId: p.id, slackError: classifySlackError(err).code }, 'could not open the ask modal');
        await surface.tell(formNotOpened());
        return;
      }
      if (!viewId) return;
      const show = async (view: object) => {
        try {
          await client.views.update({ view_id: viewId, view: view as View });
        } catch (err) {
          log.warn(
            { userId, alertId: p.id, slackError: classifySlackError(err).code },
            'could not fill in the ask modal',
          );
        }
      };
      const found = await deps.askUser.candidates({
        alertId: p.id,
        expectedUpdatedAt: p.u,
        userId,
        clicked: surface.clicked,
      });
      if (!found.ok) return await show(noticeModal(VIEWS.askUserModal, ASK_VERB, displayId, failureText(found)));
      const { alert } = found;
      displayId = alert.displayId;
      if (!isLive(alert.status)) {
        const text = `:information_source: ${idText(alert.displayId)} is no longer open: there is nothing to ask about.`;
        return await show(noticeModal(VIEWS.askUserModal, ASK_VERB, displayId, text));
      }
      const meta: AskMeta = {
        v: 1,
        id: alert.id,
        u: alert.updatedAt,
        ...(found.place ? { c: found.place.channel, t: found.place.ts } : {}),
      };
      const pending = found.pending[0];
      const notice = pending
        ? askRefused('already_asked', {
            displayId: alert.displayId,
            person: { id: pending.askedUserId },
            askedBy: pending.askedBy,
            deadline: pending.deadline,
          })
        : undefined;
      log.info(
        { userId, alertId: alert.id, addresses: found.candidates.length, preselected: found.preselect !== null },
        'ask modal filled in',
      );
      await show(
        askUserModal(alert, {
          candidates: found.candidates,
          preselect: found.preselect,
          meta,
          ...(notice ? { notice } : {}),
        }),
      );
    },
  );
  // ---- The ask modal's submission: who can be asked is checked before the ack (field errors).
  app.view({ type: 'view_submission', callback_id: VIEWS.askUserModal }, async (args: SubmitArgs) => {
    const { ack, body, view, client } = args;
    const userId = body.user.id;
    const meta = decodeAskMeta(view.private_metadata);
    if (!meta.ok) {
      log.warn({ userId, reason: meta.reason }, 'an ask form carried metadata that does not decode');
      await ack({
        response_action: 'update',
        view: noticeModal(VIEWS.askUserModal, ASK_VERB, null, cardOutOfDate()) as View,
      });
      return;
    }
    const m = meta.value;
    const form = readAskForm(view.state.values);
    if (!form.ok) {
      await ack({ response_action: 'errors', errors: form.errors });
      return;
    }
    const submission = `submission:${view.id}:${view.hash}`;
    let displayId: string | null = null;
    let prepared: Awaited<ReturnType<AskUserService['prepareAsk']>> | 'slow';
    try {
      if (!(await firstDelivery(submission))) {
        await ack();
        return;
      }
      displayId = (await deps.store.get(m.id))?.displayId ?? null;
      const checking = deps.askUser.prepareAsk({ alertId: m.id, userId, targetUserId: form.userId });
      prepared = await Promise.race([checking, sleep(ACK_BUDGET_MS, 'slow' as const, { ref: false })]);
      if (prepared === 'slow') prepared = await ackThen(checking);
      else if (!prepared.ok && prepared.code in ASK_FIELD_ERRORS) {
        await ack({
          response_action: 'errors',
          errors: { [BLOCKS.askUserPerson]: ASK_FIELD_ERRORS[prepared.code as keyof typeof ASK_FIELD_ERRORS] },
        });
        log.info({ userId, alertId: m.id, code: prepared.code }, 'the person picked cannot be asked');
        // The analyst may pick someone else: the same view submitted again is a new delivery.
        await deps.store.forgetFirstTime(submission).catch(() => undefined);
        return;
      } else await ackWorking();
    } catch (err) {
      const ref = newRef();
      log.error({ ref, err, userId }, 'an ask form failed before it was acknowledged');
      await ack({
        response_action: 'update',
        view: noticeModal(VIEWS.askUserModal, ASK_VERB, null, unexpectedError(ref)) as View,
      }).catch(() => undefined);
      return;
    }

    async function ackWorking(): Promise<void> {
      const who = `<@${form.ok ? form.userId : ''}>`;
      await ack({
        response_action: 'update',
        view: workingModal(VIEWS.askUserModal, ASK_VERB, displayId, `Asking ${who}…`) as View,
      });
    }
    async function ackThen<T>(p: Promise<T>): Promise<T> {
      await ackWorking();
      return p;
    }

    const answer = async (text: string) => {
      try {
        await client.views.update({
          view_id: view.id,
          view: noticeModal(VIEWS.askUserModal, ASK_VERB, displayId, text) as View,
        });
        return;
      } catch (err) {
        log.info({ userId, slackError: classifySlackError(err).code }, 'ask modal gone; answering ephemerally instead');
      }
      if (!m.c) return;
      try {
        await client.chat.postEphemeral({ channel: m.c, user: userId, text });
      } catch (err) {
        log.warn({ userId, slackError: classifySlackError(err, m.c).code }, 'could not tell the ask outcome');
      }
    };
    try {
      const result: AskResult = !prepared.ok
        ? prepared
        : await deps.askUser.askPrepared(prepared as PreparedAsk, {
            alertId: m.id,
            message: form.message,
            place: m.c && m.t ? { channel: m.c, ts: m.t } : null,
          });
      log.info({ userId, alertId: m.id, outcome: result.ok ? 'asked' : result.code }, 'ask form handled');
      await answer(askText(result, displayId ?? m.id));
    } catch (err) {
      const ref = newRef();
      log.error({ ref, err, userId, alertId: m.id }, 'an ask failed unexpectedly');
      await answer(unexpectedError(ref));
    }
  });

  function askText(r: AskResult, displayId: string): string {
    if (r.ok) return askSent(r.question.displayId, { id: r.asked.id, name: r.asked.name }, r.question.deadline);
    switch (r.code) {
      case 'denied':
        return accessRefused(r.reason, deps.access.describe());
      case 'already_asked':
        return askRefused('already_asked', {
          displayId,
          person: { id: r.person.id, name: r.person.name },
          ...(r.question ? { askedBy: r.question.askedBy, deadline: r.question.deadline } : {}),
        });
      case 'no_person':
        return ASK_FIELD_ERRORS.no_person;
      case 'not_found':
      case 'deactivated':
      case 'bot':
      case 'guest':
      case 'dm_closed':
        return askRefused(r.code, {
          displayId,
          ...(r.person ? { person: { id: r.person.id, name: r.person.name } } : {}),
        });
      case 'slack_error':
        return unexpectedError(r.ref);
      case 'alert':
        return failureText(r.failure);
    }
  }

  // ---- Yes / No in the DM: only the person asked, once; the note modal opens at once.
  for (const [actionId, answer] of [
    [ACTIONS.answerYes, 'yes'],
    [ACTIONS.answerNo, 'no'],
  ] as const) {
    app.action({ type: 'block_actions', action_id: actionId }, async (args: ClickArgs) => {
      const { ack, body, action, client, respond } = args;
      await ack();
      const userId = body.user.id;
      const surface = surfaceOf(body, { client, respond, logger: log });
      try {
        const ref = decodeQuestionRef(action.type === 'button' ? action.value : undefined);
        if (!ref.ok) {
          log.warn({ userId, actionId, reason: ref.reason }, 'an answer button that does not decode');
          await surface.tell(questionOutOfDate());
          return;
        }
        if (!(await firstDelivery(`interaction:${userId}:${action.action_ts}:${action.action_id}`))) return;
        const check = await deps.askUser.answerable(ref.value.questionId, userId);
        if (!check.ok) {
          log.info({ userId, questionId: ref.value.questionId, code: check.code }, 'refused an answer button');
          await surface.tell(answerRefusedText(check));
          return;
        }
        try {
          await client.views.open({
            trigger_id: body.trigger_id,
            view: answerModal(check.question.id, answer, { displayId: check.question.displayId }) as View,
          });
        } catch (err) {
          log.warn({ userId, slackError: classifySlackError(err).code }, 'could not open the answer modal');
          await surface.tell(formNotOpened());
        }
      } catch (err) {
        const ref = newRef();
        log.error({ ref, err, userId, actionId }, 'an answer button failed unexpectedly');
        await surface.tell(unexpectedError(ref));
      }
    });
  }

  // ---- The answer modal's submission: recorded once, then the outcome in the modal.
  app.view({ type: 'view_submission', callback_id: VIEWS.answerModal }, async (args: SubmitArgs) => {
    const { ack, body, view, client } = args;
    const userId = body.user.id;
    const meta = decodeAnswerMeta(view.private_metadata);
    if (!meta.ok) {
      log.warn({ userId, reason: meta.reason }, 'an answer form carried metadata that does not decode');
      await ack({
        response_action: 'update',
        view: noticeModal(VIEWS.answerModal, ANSWER_VERB, null, questionOutOfDate()) as View,
      });
      return;
    }
    const form = readAnswerForm(view.state.values);
    if (!form.ok) {
      await ack({ response_action: 'errors', errors: form.errors });
      return;
    }
    try {
      if (!(await firstDelivery(`submission:${view.id}:${view.hash}`))) {
        await ack();
        return;
      }
    } catch (err) {
      const ref = newRef();
      log.error({ ref, err, userId }, 'an answer form failed before it was acknowledged');
      await ack({
        response_action: 'update',
        view: noticeModal(VIEWS.answerModal, ANSWER_VERB, null, unexpectedError(ref)) as View,
      });
      return;
    }
    await ack({
      response_action: 'update',
      view: workingModal(VIEWS.answerModal, ANSWER_VERB, null, 'Sending your answer to the security team…') as View,
    });
    const show = async (text: string) => {
      try {
        await client.views.update({
          view_id: view.id,
          view: noticeModal(VIEWS.answerModal, ANSWER_VERB, null, text) as View,
        });
      } catch (err) {
        log.info({ userId, slackError: classifySlackError(err).code }, 'answer modal gone; the DM shows the answer');
      }
    };
    try {
      const r = await deps.askUser.answerQuestion({
        questionId: meta.value.questionId,
        userId,
        answer: meta.value.answer,
        note: form.note,
      });
      log.info(
        { userId, questionId: meta.value.questionId, outcome: r.ok ? meta.value.answer : r.code },
        'answer handled',
      );
      await show(
        r.ok
          ? ':white_check_mark: Thank you: your answer was sent to the security team. This message in your DMs now shows it.'
          : answerRefusedText(r),
      );
    } catch (err) {
      const ref = newRef();
      log.error({ ref, err, userId }, 'an answer failed unexpectedly');
      await show(unexpectedError(ref));
    }
  });
}

function answerRefusedText(r: Exclude<AnswerResult, { ok: true }>): string {
  if (r.code === 'unknown_question') return questionOutOfDate();
  const state = r.question.state;
  return answerRefused(r.code, state === 'yes' || state === 'no' ? state : undefined);
}

const idText = (displayId: string) => `*${mrkdwn(oneLine(displayId), 40) || 'the alert'}*`;
