/**
 * The frames the triage modals share: a title sized for Slack's 24 characters, the "Loading…" view
 * a modal opens with (within the 3 s of its trigger, before any slow call), and a notice view that
 * shows an outcome or a refusal in place of the form. Pure functions of their inputs.
 */
import type { KnownBlock, ModalView, PlainTextElement } from '@slack/types';
import { clipMrkdwn, LIMITS, oneLine, plain } from '../text.ts';

export type FormValues = Record<
  string,
  Record<string, { value?: string | null; selected_option?: { value: string } | null }>
>;

export const pt = (text: string): PlainTextElement => ({ type: 'plain_text', text, emoji: true });

/** "Close COT-123", "Edit COT-123": the verb plus as much of the display id as fits. */
export function modalTitle(verb: string, displayId: string | null): PlainTextElement {
  const id = displayId ? oneLine(displayId) : '';
  return pt(plain(id ? `${verb} ${id}` : verb, LIMITS.modalTitle));
}

/** What a modal shows while the alert is read. No inputs, so nothing to submit yet. */
export function loadingModal(callbackId: string, verb: string, displayId: string | null): ModalView {
  const what = displayId ? plain(oneLine(displayId), 40) : 'the alert';
  return {
    type: 'modal',
    callback_id: callbackId,
    title: modalTitle(verb, displayId),
    close: pt('Cancel'),
    blocks: [{ type: 'section', block_id: 'triage.loading', text: { type: 'plain_text', text: `Loading ${what}…` } }],
  };
}

/**
 * A modal that only says something (`text` is mrkdwn built by src/slack/messages.ts, already
 * escaped): a refusal, an error, or the outcome of a submitted form.
 */
export function noticeModal(callbackId: string, verb: string, displayId: string | null, text: string): ModalView {
  const blocks: KnownBlock[] = [
    {
      type: 'section',
      block_id: 'triage.notice',
      text: { type: 'mrkdwn', text: clipMrkdwn(text, LIMITS.sectionText), verbatim: true },
    },
  ];
  return { type: 'modal', callback_id: callbackId, title: modalTitle(verb, displayId), close: pt('Close'), blocks };
}

/** What a submitted form shows while the change is made (the answer replaces it). */
export function workingModal(callbackId: string, verb: string, displayId: string | null, doing: string): ModalView {
  return noticeModal(callbackId, verb, displayId, `:hourglass_flowing_sand: ${doing}`);
}

/** A note above a form (mrkdwn from src/slack/messages.ts); none when there is nothing to say. */
export function noticeBlock(notice: string | undefined): KnownBlock[] {
  if (!notice?.trim()) return [];
  return [
    {
      type: 'section',
      block_id: 'triage.form_notice',
      text: { type: 'mrkdwn', text: clipMrkdwn(notice, LIMITS.sectionText), verbatim: true },
    },
  ];
}
