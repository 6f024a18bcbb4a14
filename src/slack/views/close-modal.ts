/**
 * The "Close with reason…" modal: how to close (false positive, benign, true positive) and why, in
 * the analyst's words. Also what the one-click close buttons open when CLOSE_REASON_REQUIRED=true,
 * with their disposition chosen. `readCloseForm` checks a submission; its errors are shown inline.
 */
import type { KnownBlock, ModalView, PlainTextOption } from '@slack/types';
import { CLOSE_CHOICES, statusOfDisposition } from '../../core/verdict.ts';
import type { Alert, KnownAlertStatus } from '../../cotool/schemas.ts';
import { REASON_WORDS_MAX } from '../../service/reason.ts';
import { BLOCKS, INPUTS, VIEWS } from '../ids.ts';
import { FORM_ERRORS, statusName } from '../messages.ts';
import { type Disposition, encodeModalMeta, type ModalMeta } from '../payloads.ts';
import { literal, mrkdwn, oneLine } from '../text.ts';
import { type FormValues, modalTitle, noticeBlock, pt } from './triage-modal.ts';

const CHOICES: readonly { d: Disposition; label: string }[] = CLOSE_CHOICES;

export const CLOSE_VERB = 'Close';

export type CloseModalOptions = {
  /** A note above the form (mrkdwn from src/slack/messages.ts), e.g. why it is shown again. */
  notice?: string;
  /** What the analyst had written, when the form is shown again. */
  words?: string;
};

export function renderCloseModal(alert: Alert, meta: ModalMeta, opts: CloseModalOptions = {}): ModalView {
  const options: PlainTextOption[] = CHOICES.map((c) => ({ text: pt(c.label), value: c.d }));
  const initial = options.find((o) => o.value === meta.d);
  const id = mrkdwn(oneLine(alert.displayId), 40);
  const title = literal(oneLine(alert.title) || 'Untitled alert', 300);
  const words = opts.words?.slice(0, REASON_WORDS_MAX);
  const blocks: KnownBlock[] = [
    ...noticeBlock(opts.notice),
    {
      type: 'section',
      block_id: 'alert.close_modal.summary',
      text: { type: 'mrkdwn', text: `*${id}* · ${title}\nStatus: ${statusName(alert.status)}`, verbatim: true },
    },
    {
      type: 'input',
      block_id: BLOCKS.closeDisposition,
      label: pt('Close as'),
      element: {
        type: 'static_select',
        action_id: INPUTS.closeDisposition,
        placeholder: pt('Choose a disposition'),
        options,
        ...(initial ? { initial_option: initial } : {}),
      },
    },
    {
      type: 'input',
      block_id: BLOCKS.closeReason,
      label: pt('Reason'),
      hint: pt('Recorded in Cotool after your name: "Closed as false positive from Slack by (you): …"'),
      element: {
        type: 'plain_text_input',
        action_id: INPUTS.closeReason,
        multiline: true,
        max_length: REASON_WORDS_MAX,
        placeholder: pt('What did you find?'),
        ...(words ? { initial_value: words } : {}),
      },
    },
  ];
  return {
    type: 'modal',
    callback_id: VIEWS.closeModal,
    title: modalTitle(CLOSE_VERB, alert.displayId),
    submit: pt('Close alert'),
    close: pt('Cancel'),
    private_metadata: encodeModalMeta(meta),
    blocks,
  };
}

export type CloseForm =
  | { ok: true; disposition: Disposition; status: KnownAlertStatus; words: string }
  | { ok: false; errors: Record<string, string> };

/** The submitted disposition and reason, or inline errors keyed by block id. */
export function readCloseForm(values: FormValues | undefined): CloseForm {
  const chosen = values?.[BLOCKS.closeDisposition]?.[INPUTS.closeDisposition]?.selected_option?.value;
  const words = (values?.[BLOCKS.closeReason]?.[INPUTS.closeReason]?.value ?? '').trim();
  const errors: Record<string, string> = {};
  const choice = CHOICES.find((c) => c.d === chosen);
  if (!choice) errors[BLOCKS.closeDisposition] = FORM_ERRORS.dispositionMissing;
  if (!words) errors[BLOCKS.closeReason] = FORM_ERRORS.reasonMissing;
  else if (words.length > REASON_WORDS_MAX) errors[BLOCKS.closeReason] = FORM_ERRORS.reasonTooLong(REASON_WORDS_MAX);
  if (!choice || Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, disposition: choice.d, status: statusOfDisposition(choice.d), words };
}
