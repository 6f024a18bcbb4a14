/**
 * "Was this you?": the DM to the person an alert names, the answer modal, and the DM once answered
 * or timed out. Pure: (facts, question) → { text, blocks } / modal. Every alert value is untrusted:
 * the title and facts are escaped and shown as code spans where they hold formatting markers, the
 * description literally in a rich-text quote, so indicators come out intact.
 *
 *   👋 @ana from the security team asks: was this you?
 *   COT-1042 · Impossible travel: jane@acme.io                     🟠 High · seen 10:02
 *   Detection  Impossible travel       Source  okta
 *   │ Sign-in from 203.0.113.7 (NL) 40 min after one from the US.
 *   Please answer by 10:32. Your answer goes to the security team.
 *   [Yes, it was me] [No, it wasn't me]
 */
import type { ActionsBlock, KnownBlock, ModalView, SectionBlock } from '@slack/types';
import { ACTIONS, BLOCKS, INPUTS, NEXT_BLOCKS, VIEWS } from '../ids.ts';
import { encodeAnswerMeta, encodeQuestionRef } from '../payloads.ts';
import { literal, mrkdwn, oneLine, quote, safeUrl, slackDate } from '../text.ts';
import { type CardView, descriptionBlock } from './alert-card.ts';
import { isKnownSeverity, NO_SEVERITY_MARK, SEVERITY_LABEL, SEVERITY_MARK } from './labels.ts';
import { ANSWER_WORDS, type Answer } from './next-move-notes.ts';
import { context, md, nameOf, type Person, pt, section, when, who } from './next-move-parts.ts';
import { modalTitle, noticeBlock } from './triage-modal.ts';

export type QuestionFacts = {
  displayId: string;
  title: string;
  severity: string | null;
  /** ISO timestamp: when the alert was raised. */
  createdAt: string;
  /** Key facts, as the card shows them: our label, the alert's (untrusted) value. At most 8 shown. */
  facts?: readonly { label: string; value: string }[];
  description?: string | null;
  /** A link for the asked person, when the caller wants one (e.g. Cotool); http(s) only. */
  url?: string | null;
};

export type QuestionContext = {
  askedBy: Person;
  questionId: string;
  deadline: number;
  /** The analyst's own words to the person (optional), quoted under the greeting. */
  message?: string | null;
};

export const ANSWER_NOTE_MAX = 1_000;
const MAX_FACTS = 8;

function severityText(severity: string | null): string {
  if (severity && isKnownSeverity(severity)) return `${SEVERITY_MARK[severity]} ${SEVERITY_LABEL[severity]}`;
  const raw = oneLine(severity ?? '');
  return raw ? `${NO_SEVERITY_MARK} ${mrkdwn(raw, 40)}` : '';
}

/** The head, the alert's facts and its description: what every state of the DM shows. */
function factBlocks(f: QuestionFacts, head: string): KnownBlock[] {
  const id = mrkdwn(oneLine(f.displayId), 40) || 'Alert';
  const title = literal(oneLine(f.title) || 'Untitled alert', 300);
  const sev = severityText(f.severity);
  const summary = `*${id}* · ${title}\n${sev ? `${sev} · ` : ''}seen ${slackDate(f.createdAt)}`;
  const facts = (f.facts ?? [])
    .filter((x) => oneLine(x.value))
    .slice(0, MAX_FACTS)
    .map((x) => md(`*${mrkdwn(oneLine(x.label), 40)}*\n${literal(x.value, 500)}`));
  const factsBlock: SectionBlock = {
    type: 'section',
    block_id: NEXT_BLOCKS.dmFacts,
    text: md(summary),
    ...(facts.length ? { fields: facts } : {}),
  };
  const url = safeUrl(f.url);
  if (url) {
    factsBlock.accessory = { type: 'button', action_id: ACTIONS.openLink, text: pt('Open the alert'), url };
  }
  const description = descriptionBlock(NEXT_BLOCKS.dmDescription, f.description, { maxChars: 600, maxLines: 12 });
  return [section(NEXT_BLOCKS.dmHead, head), factsBlock, ...(description ? [description] : [])];
}

const plainId = (f: QuestionFacts) => mrkdwn(oneLine(f.displayId), 40) || 'an alert';

/** The question, with Yes and No (each opens the answer modal, where a note can be added). */
export function questionDm(f: QuestionFacts, q: QuestionContext): CardView {
  const words = q.message?.trim() ? `\n${quote(q.message, { maxChars: 500, maxLines: 8, max: 1_200 })}` : '';
  const head = `:wave: ${who(q.askedBy)} from the security team asks: *was this you?*${words}`;
  const actions: ActionsBlock = {
    type: 'actions',
    block_id: NEXT_BLOCKS.dmActions,
    elements: [
      {
        type: 'button',
        action_id: ACTIONS.answerYes,
        text: pt(ANSWER_WORDS.yes),
        style: 'primary',
        value: encodeQuestionRef({ v: 1, questionId: q.questionId }),
      },
      {
        type: 'button',
        action_id: ACTIONS.answerNo,
        text: pt(ANSWER_WORDS.no),
        style: 'danger',
        value: encodeQuestionRef({ v: 1, questionId: q.questionId }),
      },
    ],
  };
  return {
    text: `${nameOf(q.askedBy)} from the security team asks: was this you? (${plainId(f)})`,
    blocks: [
      ...factBlocks(f, head),
      context(NEXT_BLOCKS.dmContext, [
        `Please answer by ${when(q.deadline)}. Your answer (and note, if you add one) goes to the security team.`,
      ]),
      actions,
    ],
  };
}

/** The DM once answered: the answer, the note quoted, no buttons. */
export function answeredDm(f: QuestionFacts, q: QuestionContext, answer: Answer, note?: string | null): CardView {
  const head = `:wave: ${who(q.askedBy)} from the security team asked: *was this you?*`;
  const words = note?.trim() ? `\n${quote(note, { maxChars: ANSWER_NOTE_MAX, maxLines: 12, max: 2_500 })}` : '';
  return {
    text: `You answered “${ANSWER_WORDS[answer]}” about ${plainId(f)}. Thank you.`,
    blocks: [
      ...factBlocks(f, head),
      section(
        NEXT_BLOCKS.dmOutcome,
        `:white_check_mark: You answered *“${ANSWER_WORDS[answer]}”*, thank you. The security team has been told.${words}`,
      ),
    ],
  };
}

/** The DM once its time ran out: no buttons, and what to do instead. */
export function timedOutDm(f: QuestionFacts, q: QuestionContext): CardView {
  const head = `:wave: ${who(q.askedBy)} from the security team asked: *was this you?*`;
  return {
    text: `This question about ${plainId(f)} timed out.`,
    blocks: [
      ...factBlocks(f, head),
      section(
        NEXT_BLOCKS.dmOutcome,
        `:hourglass: This question timed out at ${when(q.deadline)}, so no answer can be recorded here any more. If it matters, tell the security team directly.`,
      ),
    ],
  };
}

/** The modal Yes / No opens: the answer chosen, an optional note, Send. */
export function answerModal(
  questionId: string,
  answer: Answer,
  opts: { displayId?: string | null; notice?: string; note?: string } = {},
): ModalView {
  const about = opts.displayId ? ` about *${mrkdwn(oneLine(opts.displayId), 40)}*` : '';
  const note = opts.note?.slice(0, ANSWER_NOTE_MAX);
  return {
    type: 'modal',
    callback_id: VIEWS.answerModal,
    title: modalTitle('Your answer', null),
    submit: pt('Send answer'),
    close: pt('Cancel'),
    private_metadata: encodeAnswerMeta({ v: 1, questionId, answer }),
    blocks: [
      ...noticeBlock(opts.notice),
      section(BLOCKS.answerSummary, `You are answering *“${ANSWER_WORDS[answer]}”*${about}.`),
      {
        type: 'input',
        block_id: BLOCKS.answerNote,
        optional: true,
        label: pt('Anything to add? (optional)'),
        hint: pt(
          answer === 'yes'
            ? 'E.g. where you were, or which device you used.'
            : 'E.g. whether you got an unexpected prompt or e-mail. The security team will follow up.',
        ),
        element: {
          type: 'plain_text_input',
          action_id: INPUTS.answerNote,
          multiline: true,
          max_length: ANSWER_NOTE_MAX,
          ...(note ? { initial_value: note } : {}),
        },
      },
    ],
  };
}

export type AnswerForm = { ok: true; note: string | null } | { ok: false; errors: Record<string, string> };

type Values = Record<string, Record<string, { value?: string | null }>> | undefined;

export function readAnswerForm(values: Values): AnswerForm {
  const note = (values?.[BLOCKS.answerNote]?.[INPUTS.answerNote]?.value ?? '').trim();
  if (note.length > ANSWER_NOTE_MAX) {
    return {
      ok: false,
      errors: { [BLOCKS.answerNote]: `At most ${ANSWER_NOTE_MAX.toLocaleString('en-US')} characters.` },
    };
  }
  return { ok: true, note: note || null };
}
