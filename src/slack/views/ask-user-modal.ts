/**
 * "Ask the user…": the modal that picks who to ask whether an alert was them. Pure:
 * (alert, candidates, meta) → modal. The person is pre-selected from the e-mail addresses the alert
 * names (src/core/ask-user.ts, looked up in Slack by the service); the addresses found are listed
 * verbatim as code spans (they copy out intact) with why each could not be picked, and the analyst
 * can pick anyone else. An optional message goes to the person with the question.
 *
 *   COT-1042 · Impossible travel: jane@acme.io
 *   Found in the alert: `jane@acme.io` · `old@acme.io` — deactivated in Slack
 *   Who should be asked?  [ @Jane Doe      ▾]
 *   Message (optional)    [                  ]
 */
import type { KnownBlock, ModalView } from '@slack/types';
import type { Alert } from '../../cotool/schemas.ts';
import { BLOCKS, INPUTS, VIEWS } from '../ids.ts';
import { addressText } from '../messages.ts';
import { type AskMeta, encodeAskMeta } from '../payloads.ts';
import { literal, mrkdwn, oneLine } from '../text.ts';
import { context, pt, SLACK_USER_ID, section } from './next-move-parts.ts';
import { modalTitle, noticeBlock } from './triage-modal.ts';

export type CandidateProblem = 'not_found' | 'deactivated' | 'bot' | 'guest';
export type Candidate = { email: string; userId: string | null; problem: CandidateProblem | null };

export const ASK_MESSAGE_MAX = 500;

const PROBLEM_WORDS: Record<CandidateProblem, string> = {
  not_found: 'not found in Slack',
  deactivated: 'deactivated in Slack',
  bot: 'a bot',
  guest: 'a guest account (not asked)',
};

export const ASK_ERRORS = {
  person: 'Pick the person to ask.',
  messageTooLong: `At most ${ASK_MESSAGE_MAX} characters.`,
} as const;

function candidateText(c: Candidate, preselect: string | null): string {
  const address = addressText(c.email);
  if (c.problem) return `${address} — ${PROBLEM_WORDS[c.problem]}`;
  if (c.userId && c.userId === preselect) return `${address} — pre-selected`;
  return address;
}

/** What the context line says about the addresses found, in one or more mrkdwn elements. */
function foundTexts(candidates: readonly Candidate[], preselect: string | null): string[] {
  if (candidates.length === 0) return [':mag: No e-mail address in this alert: pick the person.'];
  const usable = candidates.filter((c) => !c.problem && c.userId);
  const lead =
    usable.length > 1
      ? ':busts_in_silhouette: Several people are named in this alert; check the one selected:'
      : usable.length === 0
        ? ':grey_question: None of the addresses in this alert can be asked; pick the person:'
        : ':mag: Found in the alert:';
  return [lead, ...candidates.slice(0, 9).map((c) => candidateText(c, preselect))];
}

export function askUserModal(
  alert: Pick<Alert, 'displayId' | 'title'>,
  opts: {
    candidates: readonly Candidate[];
    preselect: string | null;
    meta: AskMeta;
    /** A note above the form (mrkdwn from src/slack/messages.ts), e.g. why it is shown again. */
    notice?: string;
    /** What the analyst had written, when the form is shown again. */
    message?: string;
  },
): ModalView {
  const id = mrkdwn(oneLine(alert.displayId), 40) || 'Alert';
  const title = literal(oneLine(alert.title) || 'Untitled alert', 300);
  const preselect = opts.preselect && SLACK_USER_ID.test(opts.preselect) ? opts.preselect : null;
  const message = opts.message?.slice(0, ASK_MESSAGE_MAX);
  const blocks: KnownBlock[] = [
    ...noticeBlock(opts.notice),
    section(BLOCKS.askUserSummary, `*${id}* · ${title}`),
    context(BLOCKS.askUserFound, foundTexts(opts.candidates, preselect)),
    {
      type: 'input',
      block_id: BLOCKS.askUserPerson,
      label: pt('Who should be asked?'),
      hint: pt('They get a direct message with what was seen and two buttons: Yes, it was me / No, it wasn’t me.'),
      element: {
        type: 'users_select',
        action_id: INPUTS.askUserPerson,
        placeholder: pt('Pick a person'),
        ...(preselect ? { initial_user: preselect } : {}),
      },
    },
    {
      type: 'input',
      block_id: BLOCKS.askUserMessage,
      optional: true,
      label: pt('Message (optional)'),
      hint: pt('Shown to them above the alert’s facts.'),
      element: {
        type: 'plain_text_input',
        action_id: INPUTS.askUserMessage,
        multiline: true,
        max_length: ASK_MESSAGE_MAX,
        ...(message ? { initial_value: message } : {}),
      },
    },
  ];
  return {
    type: 'modal',
    callback_id: VIEWS.askUserModal,
    title: modalTitle('Ask about', alert.displayId),
    submit: pt('Send question'),
    close: pt('Cancel'),
    private_metadata: encodeAskMeta(opts.meta),
    blocks,
  };
}

type Values = Record<string, Record<string, { value?: string | null; selected_user?: string | null }>> | undefined;

export type AskForm =
  | { ok: true; userId: string; message: string | null }
  | { ok: false; errors: Record<string, string> };

export function readAskForm(values: Values): AskForm {
  const userId = values?.[BLOCKS.askUserPerson]?.[INPUTS.askUserPerson]?.selected_user ?? '';
  const message = (values?.[BLOCKS.askUserMessage]?.[INPUTS.askUserMessage]?.value ?? '').trim();
  const errors: Record<string, string> = {};
  if (!SLACK_USER_ID.test(userId)) errors[BLOCKS.askUserPerson] = ASK_ERRORS.person;
  if (message.length > ASK_MESSAGE_MAX) errors[BLOCKS.askUserMessage] = ASK_ERRORS.messageTooLong;
  if (Object.keys(errors).length) return { ok: false, errors };
  return { ok: true, userId, message: message || null };
}
