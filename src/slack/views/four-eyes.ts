/**
 * Four eyes: the request message in the card's thread, pending (with Approve / Reject) or decided
 * (the outcome, no buttons), and the words the people who click are told. Pure: (request, now) →
 * view. Names and words are untrusted: escaped, names on one line, words as a block quote.
 */
import type { KnownBlock, RichTextBlock } from '@slack/types';
import type { CloseRequest } from '../../core/records.ts';
import type { RequestView } from '../../ports.ts';
import type { ApprovalAsked } from '../../service/change-status.ts';
import type { DecisionFailure, Drift } from '../../service/four-eyes.ts';
import { encodeFourEyesButton } from '../four-eyes-payloads.ts';
import { FOUR_EYES_ACTIONS, FOUR_EYES_BLOCKS } from '../ids.ts';
import { mrkdwn, oneLine, richText, truncate } from '../text.ts';
import type { CardView } from './alert-card.ts';
import { CLOSED_AS, type ClosedStatus } from './labels.ts';

const name = (n: string) => `*${mrkdwn(oneLine(n), 80) || 'someone'}*`;
const idOf = (displayId: string) => `*${mrkdwn(oneLine(displayId), 40) || 'the alert'}*`;
const asWhat = (status: string) =>
  (CLOSED_AS as Record<string, string>)[status as ClosedStatus] ?? mrkdwn(oneLine(status), 40);

function when(ms: number): string {
  const s = Math.floor(ms / 1000);
  const fallback = `${new Date(s * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<!date^${s}^{date_short_pretty} at {time}|${fallback}>`;
}

const DRIFT_WORDS: Record<Drift, string> = {
  status: 'its status changed in Cotool since the request',
  severity: 'its severity changed in Cotool since the request',
  title: 'its title changed in Cotool since the request',
  changed: 'it changed in Cotool since the request',
  unverifiable: 'the bot could not confirm that nothing changed in Cotool since the request',
};

/** The line saying how a decided request ended. */
function outcomeLine(r: CloseRequest): string {
  const id = idOf(r.displayId);
  const by = r.decidedBy ? name(r.decidedBy.name) : 'someone';
  switch (r.state) {
    case 'pending':
      return '';
    case 'approved':
      return r.outcome === 'already'
        ? `:white_check_mark: Approved by ${by}: ${id} already was closed as ${asWhat(r.status)}.`
        : `:white_check_mark: Approved by ${by}: ${id} was closed as ${asWhat(r.status)}.`;
    case 'rejected':
      return r.outcome === 'withdrawn'
        ? `:leftwards_arrow_with_hook: Withdrawn by ${by}. Nothing was changed.`
        : `:no_entry_sign: Rejected by ${by}. Nothing was changed.`;
    case 'expired':
      return ':hourglass: Expired: nobody approved it within 24 hours. Nothing was changed.';
    case 'cancelled':
      if (r.outcome === 'not_posted')
        return ':warning: Withdrawn: the request could not be posted. Nothing was changed.';
      return `:warning: Cancelled: ${DRIFT_WORDS[(r.outcome ?? 'changed') as Drift] ?? DRIFT_WORDS.changed}. Nothing was changed; look at ${id} again.`;
    case 'failed':
      return `:warning: Approved by ${by}, but Cotool did not confirm the change: check ${id} in Cotool.`;
  }
}

/**
 * The requester's words as a quote in a `rich_text` block: shown literally (no formatting, mentions or
 * links), so an indicator in them copies out exactly, and the quote bar keeps them apart from our lines.
 */
function wordsBlock(words: string | null): RichTextBlock | null {
  if (!words?.trim()) return null;
  const lines = truncate(words.trim(), 2_000).split(/\r\n?|\n|[\u0085\u2028\u2029]/);
  const shown = lines.length > 20 ? [...lines.slice(0, 20), '…'] : lines;
  const body = richText(shown.map((l) => l.trimEnd()).join('\n'), 2_100) || '…';
  return {
    type: 'rich_text',
    block_id: FOUR_EYES_BLOCKS.words,
    elements: [{ type: 'rich_text_quote', elements: [{ type: 'text', text: body }] }],
  };
}

/** The request: who asks to close what as what, their words, and the buttons while it is pending. */
export function renderCloseRequest(v: RequestView): CardView {
  const r = v.request;
  const head = `:eyes: ${name(r.requester.name)} asks to close ${idOf(r.displayId)} as ${asWhat(r.status)}`;
  const blocks: KnownBlock[] = [
    {
      type: 'section',
      block_id: FOUR_EYES_BLOCKS.request,
      text: { type: 'mrkdwn', text: `${head}${r.words ? ':' : '.'}`, verbatim: true },
    },
  ];
  const words = wordsBlock(r.words);
  if (words) blocks.push(words);
  if (r.state === 'pending' && v.now < r.expiresAt) {
    blocks.push(
      {
        type: 'context',
        block_id: FOUR_EYES_BLOCKS.context,
        elements: [
          {
            type: 'mrkdwn',
            text: `A second person must approve: anyone who may act on alerts except ${name(r.requester.name)}. Expires ${when(r.expiresAt)}.`,
            verbatim: true,
          },
        ],
      },
      {
        type: 'actions',
        block_id: FOUR_EYES_BLOCKS.actions,
        elements: [
          {
            type: 'button',
            action_id: FOUR_EYES_ACTIONS.approve,
            style: 'primary',
            text: { type: 'plain_text', text: 'Approve', emoji: true },
            value: encodeFourEyesButton({ v: 1, op: 'approve', r: r.id }),
            confirm: {
              title: { type: 'plain_text', text: 'Approve this close?' },
              text: {
                type: 'plain_text',
                text: `The alert will be closed as ${asWhat(r.status)} in Cotool, naming you and the requester.`,
              },
              confirm: { type: 'plain_text', text: 'Approve' },
              deny: { type: 'plain_text', text: 'Cancel' },
            },
          },
          {
            type: 'button',
            action_id: FOUR_EYES_ACTIONS.reject,
            style: 'danger',
            text: { type: 'plain_text', text: 'Reject', emoji: true },
            value: encodeFourEyesButton({ v: 1, op: 'reject', r: r.id }),
          },
        ],
      },
    );
  } else {
    const line =
      r.state === 'pending'
        ? ':hourglass: Expired: nobody approved it within 24 hours. Nothing was changed.'
        : outcomeLine(r);
    blocks.push({
      type: 'context',
      block_id: FOUR_EYES_BLOCKS.context,
      elements: [{ type: 'mrkdwn', text: line, verbatim: true }],
    });
  }
  const plainHead = `${mrkdwn(oneLine(r.requester.name), 80) || 'someone'} asks to close ${mrkdwn(oneLine(r.displayId), 40)} as ${asWhat(r.status)}`;
  return { text: plainHead, blocks };
}

/** What the person who clicked a gated close is told. */
export function approvalAskedText(a: ApprovalAsked, displayId: string): string {
  const id = idOf(displayId);
  if (a.fresh) {
    return `:eyes: Closing ${id} as ${asWhat(a.status)} needs a second person. Your request is in the card's thread; nothing was changed in Cotool yet.`;
  }
  return `:eyes: ${name(a.requester.name)} already asked to close ${id} as ${asWhat(a.status)}: approve or reject that request in the card's thread. Nothing was changed.`;
}

/** What someone who clicked Approve or Reject is told when nothing happened. */
export function decisionFailedText(f: Exclude<DecisionFailure, { code: 'denied' | 'change_failed' }>): string {
  switch (f.code) {
    case 'unknown_request':
      return ':grey_question: The bot does not know this request (it may be from an older release). Nothing was done.';
    case 'own_request':
      return `:no_entry: You asked for this close, so someone else must approve it. Nothing was changed. (You can withdraw it with Reject.)`;
    case 'expired':
      return ':hourglass: This request expired (24 hours). Nothing was changed; close the alert again to ask anew.';
    case 'cancelled': {
      const why = DRIFT_WORDS[f.drift];
      return `:warning: ${why.charAt(0).toUpperCase()}${why.slice(1)}, so the request was cancelled and nothing was changed. Look at ${idOf(f.request.displayId)} again.`;
    }
    case 'decided':
      return `:information_source: This request was already decided: ${outcomeLine(f.request).replace(/^:[a-z_]+: /, '')}`;
  }
}
