/**
 * How a "was this you?" question is drawn for the sender (src/notify/sender/question.ts): its DM as
 * the question is now (asking with two buttons, answered, timed out: src/slack/views/question-dm.ts),
 * and the card-thread note when Slack refuses the DM. Pure.
 *
 *   🔕 Could not reach @jane about COT-1: Slack refused the direct message (messages_tab_disabled:
 *      they turned off messages from apps). Nothing was asked; reach them another way.
 */

import type { Question } from '../../../core/records.ts';
import type { QuestionRenderer, SlackView } from '../../../ports.ts';
import { NEXT_BLOCKS } from '../../ids.ts';
import { mrkdwn, oneLine } from '../../text.ts';
import { idOf, section, who } from '../../views/next-move-parts.ts';
import { answeredDm, questionDm, timedOutDm } from '../../views/question-dm.ts';

/** What each refusal means, in words (Slack's code is shown too, for whoever looks it up). */
const REFUSAL_WORDS: Record<string, string> = {
  messages_tab_disabled: 'they turned off messages from apps',
  cannot_dm_bot: 'that is a bot',
  user_disabled: 'their account is deactivated',
  account_inactive: 'their account is deactivated',
  user_not_found: 'Slack does not know them',
  user_not_visible: 'the bot cannot see them',
  is_archived: 'the conversation is archived',
  restricted_action: 'the workspace does not allow it',
};

export function unreachableNote(q: Pick<Question, 'askedUserId' | 'displayId'>, code: string): SlackView {
  const asked = { id: q.askedUserId, name: null };
  const safe = /^[a-z_]{1,60}$/.test(code) ? code : 'refused';
  const why = REFUSAL_WORDS[safe];
  const refusal = `\`${safe}\`${why ? `: ${why}` : ''}`;
  return {
    text: `Could not reach the person asked about ${mrkdwn(oneLine(q.displayId), 40) || 'the alert'}`,
    blocks: [
      section(
        NEXT_BLOCKS.note,
        `:no_bell: Could not reach ${who(asked)} about ${idOf(q.displayId)}: Slack refused the direct message (${refusal}). Nothing was asked; reach them another way.`,
      ),
    ],
  };
}

export const questionRenderer: QuestionRenderer = {
  dm(q, facts) {
    const ctx = { askedBy: q.askedBy, questionId: q.id, deadline: q.deadline };
    if (q.state === 'asked') return questionDm(facts, ctx);
    if (q.state === 'timed_out') return timedOutDm(facts, ctx);
    return answeredDm(facts, ctx, q.state, q.note);
  },
  unreachable: unreachableNote,
};
