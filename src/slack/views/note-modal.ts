/**
 * The "Add note…" and "Disagree…" modals, and the thread reply that confirms a saved note. Pure:
 * (alert, meta, options) → view. The analyst's words go to Cotool as a comment naming them
 * (src/service/notes.ts); `readNoteForm` checks a submission, its error shown inline.
 */
import type { KnownBlock, ModalView } from '@slack/types';
import type { Verdict } from '../../core/verdict.ts';
import type { Alert } from '../../cotool/schemas.ts';
import type { Actor } from '../../service/card-sync.ts';
import { NOTE_WORDS_MAX, type NoteKind } from '../../service/notes.ts';
import { BLOCKS, INPUTS, VIEWS } from '../ids.ts';
import { encodeModalMeta, type ModalMeta } from '../payloads.ts';
import { LIMITS, literal, mrkdwn, oneLine, quote } from '../text.ts';
import type { CardView } from './alert-card.ts';
import { type FormValues, modalTitle, noticeBlock, pt } from './triage-modal.ts';

export const NOTE_VERB = 'Note on';
export const DISAGREE_VERB = 'Disagree on';
const SLACK_USER_ID = /^[UW][A-Z0-9]{2,20}$/;

export const NOTE_ERRORS = {
  missing: 'Write something (or press Cancel).',
  tooLong: `At most ${NOTE_WORDS_MAX.toLocaleString('en-US')} characters.`,
} as const;

export type NoteModalOptions = {
  /** A note above the form (mrkdwn from src/slack/messages.ts), e.g. why it is shown again. */
  notice?: string;
  /** What the analyst had written, when the form is shown again. */
  words?: string;
  /** The verdict being disagreed with (disagree form). */
  verdict?: Verdict | null;
};

/** The verdict in one line of mrkdwn: "*Aria*: escalate — first line of summary". */
function verdictLine(v: Verdict): string {
  const agent = v.agent ? `*${literal(v.agent, 80)}*` : 'The triage agent';
  const outcome = v.outcome ? `: ${mrkdwn(oneLine(v.outcome).replace(/_/g, ' '), 60)}` : '';
  const summary = v.summary ? ` — ${literal(v.summary, 300)}` : '';
  return `${agent}${outcome}${summary}`;
}

export function renderNoteModal(
  kind: Exclude<NoteKind, 'reply'>,
  alert: Alert,
  meta: ModalMeta,
  opts: NoteModalOptions = {},
): ModalView {
  const id = mrkdwn(oneLine(alert.displayId), 40);
  const title = literal(oneLine(alert.title) || 'Untitled alert', 300);
  const verdict = kind === 'disagree' && opts.verdict ? `\nLatest verdict: ${verdictLine(opts.verdict)}` : '';
  const words = opts.words?.slice(0, NOTE_WORDS_MAX);
  const head = kind === 'note' ? 'Note from Slack' : 'Disagreement with the triage verdict from Slack';
  const blocks: KnownBlock[] = [
    ...noticeBlock(opts.notice),
    {
      type: 'section',
      block_id: BLOCKS.noteSummary,
      text: { type: 'mrkdwn', text: `*${id}* · ${title}${verdict}`, verbatim: true },
    },
    {
      type: 'input',
      block_id: BLOCKS.noteText,
      label: pt(kind === 'note' ? 'Note' : 'Why do you disagree?'),
      hint: pt(`Saved in Cotool as a comment: "${head} by (you): …", and noted in the card's thread.`),
      element: {
        type: 'plain_text_input',
        action_id: INPUTS.noteText,
        multiline: true,
        max_length: NOTE_WORDS_MAX,
        placeholder: pt(kind === 'note' ? 'What did you find or do?' : 'What should the verdict have been, and why?'),
        ...(words ? { initial_value: words } : {}),
      },
    },
  ];
  return {
    type: 'modal',
    callback_id: kind === 'note' ? VIEWS.noteModal : VIEWS.disagreeModal,
    title: modalTitle(kind === 'note' ? NOTE_VERB : DISAGREE_VERB, alert.displayId),
    submit: pt(kind === 'note' ? 'Save note' : 'Send feedback'),
    close: pt('Cancel'),
    private_metadata: encodeModalMeta(meta),
    blocks,
  };
}

export type NoteForm = { ok: true; words: string } | { ok: false; errors: Record<string, string> };

export function readNoteForm(values: FormValues | undefined): NoteForm {
  const words = (values?.[BLOCKS.noteText]?.[INPUTS.noteText]?.value ?? '').trim();
  if (!words) return { ok: false, errors: { [BLOCKS.noteText]: NOTE_ERRORS.missing } };
  if (words.length > NOTE_WORDS_MAX) return { ok: false, errors: { [BLOCKS.noteText]: NOTE_ERRORS.tooLong } };
  return { ok: true, words };
}

/** The quiet thread reply confirming a note: ":memo: @jane added a note to COT-12 in Cotool:" and the words quoted. */
export function renderNoteReply(note: { displayId: string; kind: NoteKind; actor: Actor; words: string }): CardView {
  const who = SLACK_USER_ID.test(note.actor.id) ? `<@${note.actor.id}>` : `*${mrkdwn(oneLine(note.actor.name), 80)}*`;
  const id = `*${mrkdwn(oneLine(note.displayId), 40)}*`;
  const what =
    note.kind === 'disagree'
      ? `:thinking_face: ${who} disagreed with the triage verdict on ${id} (saved in Cotool)`
      : `:memo: ${who} added a note to ${id} in Cotool`;
  const words = quote(note.words, { maxChars: 2_000, maxLines: 20, max: LIMITS.sectionText - 300 });
  return {
    text: `${what.replace(/^:\w+: /, '')}`,
    blocks: [
      { type: 'section', block_id: BLOCKS.reply, text: { type: 'mrkdwn', text: `${what}:\n${words}`, verbatim: true } },
    ],
  };
}
