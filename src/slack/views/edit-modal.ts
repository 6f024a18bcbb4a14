/**
 * The edit flow's views: the "Edit title & description…" modal, prefilled from the alert as it is
 * now, and the thread note the edit leaves under the card.
 *
 * A field is offered for editing only if the whole of it fits its input: a description longer than
 * a Slack input holds (3,000 characters; Cotool allows 50,000) is shown as a read-only excerpt with
 * its length, and only the title can be saved — a truncated copy is never offered, so it can never
 * be saved over the original. What the inputs were prefilled with is `editPrefill(alert)`; a field
 * submitted unchanged from it is not sent.
 */
import type { KnownBlock, ModalView } from '@slack/types';
import type { Alert } from '../../core/alert.ts';
import type { SlackView } from '../../ports.ts';
import { BLOCKS, INPUTS, VIEWS } from '../ids.ts';
import { FORM_ERRORS } from '../messages.ts';
import { encodeModalMeta, type ModalMeta } from '../payloads.ts';
import { LIMITS, mrkdwn, oneLine, quote } from '../text.ts';
import { type FormValues, modalTitle, noticeBlock, pt } from './triage-modal.ts';

export const EDIT_LIMITS = {
  /** Cotool's limit for a title. */
  title: 500,
  /** What a Slack plain_text_input holds. */
  description: LIMITS.inputInitialValue,
  /** Cotool's limit for a description. */
  descriptionApi: 50_000,
} as const;

export const EDIT_VERB = 'Edit';

// biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** Text as an input holds it: well-formed, `\n` line breaks, no control or direction-override characters. */
function forInput(s: string): string {
  return s
    .toWellFormed()
    .replace(/\r\n?|[\u0085\u2028\u2029]/g, '\n')
    .replace(CONTROLS, '');
}

export type EditPrefill = {
  /** null: the title does not fit the input (longer than Cotool now accepts); it is not editable here. */
  title: string | null;
  /** null: the description does not fit a Slack input; it is not editable here. */
  description: string | null;
  /** The description's length as stored in Cotool. */
  descriptionChars: number;
};

/** What the edit form's inputs start with. Deterministic: the submission is compared against it. */
export function editPrefill(alert: Alert): EditPrefill {
  const title = oneLine(forInput(alert.title));
  const description = forInput(alert.description ?? '');
  return {
    title: title.length <= EDIT_LIMITS.title ? title : null,
    description: description.length <= EDIT_LIMITS.description ? description : null,
    descriptionChars: (alert.description ?? '').length,
  };
}

/** Whether a submitted value is the prefilled one (line breaks and surrounding blanks aside). */
export function sameText(a: string | null | undefined, b: string | null | undefined): boolean {
  const norm = (s: string | null | undefined) => forInput(s ?? '').trim();
  return norm(a) === norm(b);
}

const section = (block_id: string, text: string): KnownBlock => ({
  type: 'section',
  block_id,
  text: { type: 'mrkdwn', text, verbatim: true },
});

export type EditModalOptions = {
  /** A note above the form (mrkdwn from src/slack/messages.ts), e.g. why it is shown again. */
  notice?: string;
};

export function renderEditModal(alert: Alert, meta: ModalMeta, opts: EditModalOptions = {}): ModalView {
  const prefill = editPrefill(alert);
  const { title, description } = prefill;
  const blocks: KnownBlock[] = [...noticeBlock(opts.notice)];
  if (prefill.title !== null) {
    blocks.push({
      type: 'input',
      block_id: BLOCKS.editTitle,
      label: pt('Title'),
      element: {
        type: 'plain_text_input',
        action_id: INPUTS.editTitle,
        max_length: EDIT_LIMITS.title,
        ...(title ? { initial_value: title } : {}),
      },
    });
  } else {
    const chars = oneLine(alert.title).length.toLocaleString('en-US');
    blocks.push(
      section(
        'alert.edit_modal.title_readonly',
        `*Title* — ${chars} characters, longer than Cotool accepts in an edit: change it in Cotool.\n${quote(alert.title, { maxChars: 300, maxLines: 3, max: 1_000 })}`,
      ),
    );
  }
  if (prefill.description !== null) {
    blocks.push({
      type: 'input',
      block_id: BLOCKS.editDescription,
      label: pt('Description'),
      optional: true,
      hint: pt('Markdown. Leave empty to clear the description.'),
      element: {
        type: 'plain_text_input',
        action_id: INPUTS.editDescription,
        multiline: true,
        max_length: EDIT_LIMITS.description,
        ...(description ? { initial_value: description } : {}),
      },
    });
  } else {
    const chars = prefill.descriptionChars.toLocaleString('en-US');
    const only = prefill.title !== null ? ' Only the title is saved from here.' : '';
    blocks.push(
      section(
        'alert.edit_modal.description_readonly',
        `*Description* — ${chars} characters, too long to edit in Slack: edit it in Cotool.${only}\n${quote(
          alert.description ?? '',
          { maxChars: 600, maxLines: 12, max: 2_000 },
        )}`,
      ),
    );
  }
  const editable = prefill.title !== null || prefill.description !== null;
  if (!editable) {
    blocks.push(section('alert.edit_modal.nothing', ':information_source: Nothing here can be edited in Slack.'));
  }
  return {
    type: 'modal',
    callback_id: VIEWS.editModal,
    title: modalTitle(EDIT_VERB, alert.displayId),
    ...(editable ? { submit: pt('Save') } : {}),
    close: pt('Cancel'),
    private_metadata: encodeModalMeta(meta),
    blocks,
  };
}

export type EditForm =
  | {
      ok: true;
      /** undefined: the form had no title input. */
      title: string | undefined;
      /** undefined: the form had no description input; '' clears the description. */
      description: string | undefined;
    }
  | { ok: false; errors: Record<string, string> };

export function readEditForm(values: FormValues | undefined): EditForm {
  const titleState = values?.[BLOCKS.editTitle]?.[INPUTS.editTitle];
  const descriptionState = values?.[BLOCKS.editDescription]?.[INPUTS.editDescription];
  const errors: Record<string, string> = {};
  let title: string | undefined;
  if (titleState) {
    title = oneLine(forInput(titleState.value ?? ''));
    if (!title) errors[BLOCKS.editTitle] = FORM_ERRORS.titleMissing;
    else if (title.length > EDIT_LIMITS.title) {
      errors[BLOCKS.editTitle] = FORM_ERRORS.titleTooLong(EDIT_LIMITS.title, title.length);
    }
  }
  let description: string | undefined;
  if (descriptionState) {
    description = forInput(descriptionState.value ?? '').trim();
    if (description.length > EDIT_LIMITS.descriptionApi) {
      errors[BLOCKS.editDescription] = FORM_ERRORS.descriptionTooLong(EDIT_LIMITS.descriptionApi);
    }
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, title, description };
}

export type EditReplyContext = {
  by: { id: string; name: string };
  /** The rename, when the title changed. */
  title?: { from: string; to: string } | null;
  descriptionChanged: boolean;
};

const SLACK_USER_ID = /^[UW][A-Z0-9]{2,20}$/;

/** "@jane renamed COT-1: “old” → “new”", "@jane edited the description of COT-1". */
export function renderEditReply(alert: Alert, ctx: EditReplyContext): SlackView {
  const actor = SLACK_USER_ID.test(ctx.by.id)
    ? `<@${ctx.by.id}>`
    : `*${mrkdwn(oneLine(ctx.by.name), 80) || 'someone'}*`;
  const id = mrkdwn(oneLine(alert.displayId), 32);
  const t = (s: string) => mrkdwn(oneLine(s) || '—', 300);
  const parts: string[] = [];
  if (ctx.title) parts.push(`renamed *${id}*: “${t(ctx.title.from)}” → “${t(ctx.title.to)}”`);
  if (ctx.descriptionChanged) parts.push(ctx.title ? 'edited its description' : `edited the description of *${id}*`);
  const line = `${actor} ${parts.join(' and ') || `edited *${id}*`}`;
  return {
    text: line.replace(/\*/g, ''),
    blocks: [
      { type: 'section', block_id: BLOCKS.reply, text: { type: 'mrkdwn', text: `:pencil2: ${line}`, verbatim: true } },
    ],
  };
}
