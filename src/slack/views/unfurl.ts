/**
 * The compact card: a link unfurl and the thread reply for a bare `COT-123`. One line naming the
 * alert and one of facts (status, severity, assigned agent, created), with no buttons — it is seen
 * by everyone in the channel and is not kept up to date. Pure.
 */
import type { ContextBlock, KnownBlock, SectionBlock } from '@slack/types';
import type { Alert } from '../../core/alert.ts';
import { LOOKUP_BLOCKS } from '../ids.ts';
import { literal, mrkdwn, oneLine, safeUrl, slackDate } from '../text.ts';
import type { CardView } from './alert-card.ts';
import { alertMark, severityText, statusText } from './labels.ts';

export type CompactContext = {
  /** A link to the alert in Cotool, added as "Open in Cotool" (left out of unfurls: the link is right there). */
  alertUrl?: string | null;
  /** Added to the block ids, so several compact cards in one message (unfurls) keep them unique. */
  key?: string;
};

const md = (text: string) => ({ type: 'mrkdwn' as const, text, verbatim: true });

/** `<url|label>` for one of our own URLs; null when the URL could not be written as a token safely. */
export function linkToken(url: string | null | undefined, label: string): string | null {
  const safe = safeUrl(url);
  if (!safe || /[\s|<>]/.test(safe)) return null;
  return `<${safe}|${label}>`;
}

export function renderCompactCard(alert: Alert, ctx: CompactContext = {}): CardView {
  const id = mrkdwn(oneLine(alert.displayId), 32);
  const title = literal(oneLine(alert.title) || 'Untitled alert', 300);
  const agent = oneLine(alert.assignedAgentName ?? '');
  const facts = [
    statusText(alert.status),
    severityText(alert.severity),
    agent ? `Agent: ${literal(agent, 80)}` : 'Unassigned',
    `created ${slackDate(alert.createdAt)}`,
  ].join(' · ');
  const link = linkToken(ctx.alertUrl, 'Open in Cotool');
  const head: SectionBlock = {
    type: 'section',
    block_id: `${LOOKUP_BLOCKS.compact}${ctx.key ? `.${ctx.key}` : ''}`,
    text: md(`${alertMark(alert)} *${id}* ${title}`),
  };
  const context: ContextBlock = {
    type: 'context',
    block_id: `${LOOKUP_BLOCKS.compactContext}${ctx.key ? `.${ctx.key}` : ''}`,
    elements: [md(facts), ...(link ? [md(link)] : [])],
  };
  const blocks: KnownBlock[] = [head, context];
  return {
    text: `${id}: ${mrkdwn(oneLine(alert.title) || 'Untitled alert', 200)} (${statusText(alert.status)})`,
    blocks,
  };
}
