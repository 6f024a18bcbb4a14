/**
 * A page of `/cotool list` or `/cotool search`: what was asked and how many match (Cotool's
 * `totalCount`), at most ten rows (severity mark, id, title, status, created) each with a "View"
 * button that answers with the alert's look-up, and "More" while pages remain. Pure.
 */
import type { ActionsBlock, Button, ContextBlock, KnownBlock, SectionBlock } from '@slack/types';
import { type Alert, CLOSED_STATUSES, type KnownAlertStatus, LIVE_STATUSES } from '../../core/alert.ts';
import type { ListPage } from '../../service/lookup.ts';
import { LIST_PAGE_SIZE } from '../../service/lookup.ts';
import { LOOKUP_ACTIONS, LOOKUP_BLOCKS } from '../ids.ts';
import { encodeListPage, encodeView, MAX_OFFSET } from '../lookup-payloads.ts';
import { LIMITS, literal, mrkdwn, oneLine, plain, slackDate } from '../text.ts';
import type { CardView } from './alert-card.ts';
import { alertMark, SEVERITY_LABEL, STATUS_LABEL, severityText, statusText } from './labels.ts';

const TITLE_MAX = 200;
const SOURCE_LABEL: Record<string, string> = { cotool_detection: 'detection', cron: 'schedule' };

const md = (text: string) => ({ type: 'mrkdwn' as const, text, verbatim: true });
const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));

/** "Live", "Escalated or open", "Closed", "All"… for the statuses filtered on. */
function statusesLabel(status: readonly KnownAlertStatus[]): string {
  if (status.length === 0) return 'All';
  if (same(status, LIVE_STATUSES)) return 'Live';
  if (same(status, CLOSED_STATUSES)) return 'Closed';
  return status.map((s) => STATUS_LABEL[s]).join(' or ');
}

/** What was asked, in mrkdwn: "*Live alerts* · Critical or High · jira", or "*Search* “okta”". */
export function describeQuery(page: Pick<ListPage, 'query'>): string {
  const { query } = page;
  if (query.q) return `*Search* “${mrkdwn(oneLine(query.q), 200)}”`;
  const parts = [
    `*${statusesLabel(query.status)} alerts*`,
    query.severity.length ? query.severity.map((s) => SEVERITY_LABEL[s]).join(' or ') : null,
    query.source.length ? query.source.map((s) => SOURCE_LABEL[s] ?? s).join(' or ') : null,
  ];
  return parts.filter(Boolean).join(' · ');
}

function row(alert: Alert, index: number): SectionBlock {
  const id = mrkdwn(oneLine(alert.displayId), 32);
  const title = literal(oneLine(alert.title) || 'Untitled alert', TITLE_MAX);
  const line2 = [statusText(alert.status), severityText(alert.severity), `created ${slackDate(alert.createdAt)}`];
  const block: SectionBlock = {
    type: 'section',
    block_id: `${LOOKUP_BLOCKS.listRow}${index}`,
    text: md(`${alertMark(alert)} *${id}* ${title}\n${line2.join(' · ')}`),
  };
  let value: string | null = null;
  try {
    value = encodeView({ v: 1, k: 'view', id: alert.id });
  } catch {
    value = null; // an id that cannot travel in a payload: the row stays, without its button
  }
  if (value) {
    const button: Button = {
      type: 'button',
      action_id: `${LOOKUP_ACTIONS.viewPrefix}${index}`,
      text: { type: 'plain_text', text: plain(`View ${oneLine(alert.displayId)}`, LIMITS.buttonText), emoji: true },
      value,
    };
    block.accessory = button;
  }
  return block;
}

function moreBlock(page: ListPage): ActionsBlock | null {
  const next = page.offset + LIST_PAGE_SIZE;
  if (next >= page.totalCount || next > MAX_OFFSET) return null;
  const { status, severity, source, q } = page.query;
  let value: string;
  try {
    value = encodeListPage({ v: 1, k: 'page', st: status, sv: severity, so: source, ...(q ? { q } : {}), o: next });
  } catch {
    return null; // a query that cannot travel in a button (too long once encoded): no "More"
  }
  const left = page.totalCount - next;
  return {
    type: 'actions',
    block_id: LOOKUP_BLOCKS.listMore,
    elements: [
      {
        type: 'button',
        action_id: LOOKUP_ACTIONS.more,
        text: { type: 'plain_text', text: `More (${Math.min(left, LIST_PAGE_SIZE)} of ${left} left)`, emoji: true },
        value,
      },
    ],
  };
}

export function renderList(page: ListPage): CardView {
  const what = describeQuery(page);
  const total = page.totalCount;
  const first = page.offset + 1;
  const last = page.offset + page.alerts.length;
  const count =
    total === 0 || page.alerts.length === 0
      ? page.offset > 0 && total > 0
        ? `${total} ${total === 1 ? 'alert' : 'alerts'}; none left after ${page.offset}`
        : 'no alerts match'
      : `${total} ${total === 1 ? 'alert' : 'alerts'} · showing ${first}–${last}`;
  const header: SectionBlock = { type: 'section', block_id: LOOKUP_BLOCKS.listHeader, text: md(`${what} — ${count}`) };
  const rows = page.alerts.slice(0, LIST_PAGE_SIZE).map(row);
  const notes = [
    page.skipped > 0
      ? `:warning: ${page.skipped} alert${page.skipped === 1 ? '' : 's'} Cotool sent could not be read.`
      : null,
    total > 0 ? 'Each page is sorted newest first.' : 'Try `/cotool list all`, or fewer filters.',
  ].filter((n): n is string => n !== null);
  const footer: ContextBlock = { type: 'context', block_id: LOOKUP_BLOCKS.listFooter, elements: notes.map(md) };
  const more = moreBlock(page);
  const blocks: KnownBlock[] = [header, ...rows, ...(more ? [more] : []), footer];
  const plainWhat = page.query.q ? 'Search results' : 'Alert list';
  return { text: `${plainWhat}: ${count}`, blocks };
}
