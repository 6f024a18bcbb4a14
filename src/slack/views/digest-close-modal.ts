/**
 * "Close all as false positive…" from a storm digest: a modal that says how many alerts of which
 * group will be closed and asks why (required). Slack's confirm dialog is not used: the modal is the
 * confirmation. `readCloseAllForm` checks a submission; its errors are shown inline. Pure.
 */
import type { KnownBlock, ModalView } from '@slack/types';
import { BULK_WORDS_MAX } from '../../service/bulk-close.ts';
import { type CloseAllMeta, encodeCloseAllMeta } from '../digest-payloads.ts';
import { DIGEST_BLOCKS, DIGEST_INPUTS, DIGEST_VIEWS } from '../ids.ts';
import { FORM_ERRORS, groupText } from '../messages.ts';
import { type FormValues, noticeModal, pt } from './triage-modal.ts';

export const CLOSE_ALL_VERB = 'Close all';

export type CloseAllForm = { groupKey: string; groupName: string; live: number; total: number };

const n = (x: number) => x.toLocaleString('en-US');

export function renderCloseAllModal(form: CloseAllForm, meta: CloseAllMeta): ModalView {
  const group = groupText(form.groupKey, form.groupName);
  const of = form.total === form.live ? '' : ` (of ${n(form.total)} in the group; the others are closed already)`;
  const alerts = form.live === 1 ? 'alert' : 'alerts';
  const blocks: KnownBlock[] = [
    {
      type: 'section',
      block_id: DIGEST_BLOCKS.closeSummary,
      text: {
        type: 'mrkdwn',
        verbatim: true,
        text: `This closes the *${n(form.live)} live ${alerts}* of ${group}${of} as *false positive* in Cotool, one by one.\nAn alert that changed since the digest was drawn (status, severity or title) is left open for someone to look at. Each alert's reason names you and this digest. The digest shows the progress and then the tally.`,
      },
    },
    {
      type: 'input',
      block_id: DIGEST_BLOCKS.closeReason,
      label: pt('Reason'),
      hint: pt(
        'Recorded on each alert after "Closed as false positive from Slack by (you) in bulk from the alert-storm digest (…)".',
      ),
      element: {
        type: 'plain_text_input',
        action_id: DIGEST_INPUTS.closeReason,
        multiline: true,
        max_length: BULK_WORDS_MAX,
        placeholder: pt('Why are these false positives?'),
      },
    },
  ];
  return {
    type: 'modal',
    callback_id: DIGEST_VIEWS.closeAll,
    title: pt(CLOSE_ALL_VERB),
    submit: pt(`Close ${n(form.live)} ${alerts}`.slice(0, 24)),
    close: pt('Cancel'),
    private_metadata: encodeCloseAllMeta(meta),
    blocks,
  };
}

/** What the modal shows until the group is read, and instead of the form when there is none. */
export const closeAllLoading = (): ModalView =>
  noticeModal(DIGEST_VIEWS.closeAll, CLOSE_ALL_VERB, null, ':hourglass_flowing_sand: Loading the group…');
export const closeAllNotice = (text: string): ModalView =>
  noticeModal(DIGEST_VIEWS.closeAll, CLOSE_ALL_VERB, null, text);

export type CloseAllSubmission = { ok: true; words: string } | { ok: false; errors: Record<string, string> };

export function readCloseAllForm(values: FormValues | undefined): CloseAllSubmission {
  const words = (values?.[DIGEST_BLOCKS.closeReason]?.[DIGEST_INPUTS.closeReason]?.value ?? '').trim();
  if (!words)
    return { ok: false, errors: { [DIGEST_BLOCKS.closeReason]: 'Write a reason: it is recorded on every alert.' } };
  if (words.length > BULK_WORDS_MAX)
    return { ok: false, errors: { [DIGEST_BLOCKS.closeReason]: FORM_ERRORS.reasonTooLong(BULK_WORDS_MAX) } };
  return { ok: true, words };
}
