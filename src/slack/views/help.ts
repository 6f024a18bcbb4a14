/**
 * The short help of `/cotool`: what it does, with examples, and who may look alerts up. Shown for
 * `help`, an empty command and anything the parser did not understand (its message first). Pure.
 */
import type { KnownBlock } from '@slack/types';
import { FILTER_WORDS } from '../../core/command.ts';
import { LOOKUP_BLOCKS } from '../ids.ts';
import { mrkdwn } from '../text.ts';
import type { CardView } from './alert-card.ts';

export type HelpContext = {
  /** Who may look alerts up: the access policy's own sentence (trusted mrkdwn with mentions). */
  who: string;
  /** What was wrong with the command (plain text from the parser; escaped here). */
  problem?: string | null;
};

const md = (text: string) => ({ type: 'mrkdwn' as const, text, verbatim: true });

const USAGE = [
  '`/cotool COT-123` — look an alert up (also `cot-123`, its UUID, or a pasted Cotool link)',
  '`/cotool run &lt;run id&gt;` — the alert a Cotool run raised',
  '`/cotool list escalated critical` — live alerts by status, severity or source (10 a page)',
  '`/cotool search okta push` — alerts whose text matches',
  '`/cotool stats` (or `stats 30d`) — the noise report: per detection, volume, dispositions, false-positive rate, time to first action',
  '`/cotool mutes` — the detections muted now (who, why, until when, how many held back), each with *Unmute*',
  '`/cotool help` — this help',
].join('\n');

export function renderHelp(ctx: HelpContext): CardView {
  const problem = ctx.problem?.trim() ? `:warning: ${mrkdwn(ctx.problem, 1_200)}` : null;
  const filters =
    `List filters — statuses: ${FILTER_WORDS.status.join(', ')} (default: live); ` +
    `severities: ${FILTER_WORDS.severity.join(', ')}; sources: ${FILTER_WORDS.source.join(', ')}.`;
  const blocks: KnownBlock[] = [
    ...(problem ? [{ type: 'section' as const, block_id: LOOKUP_BLOCKS.notice, text: md(problem) }] : []),
    { type: 'section', block_id: LOOKUP_BLOCKS.help, text: md(`*Look up Cotool alerts*\n${USAGE}`) },
    {
      type: 'context',
      block_id: LOOKUP_BLOCKS.helpContext,
      elements: [md(filters), md(`Who can look alerts up: ${ctx.who}. Answers are visible only to you.`)],
    },
  ];
  const text = problem
    ? `${problem} — try /cotool help`
    : 'Look up Cotool alerts: /cotool COT-123, list, search, run, help';
  return { text, blocks };
}
