/**
 * "Show alerts" from a storm digest: an ephemeral page of a group's alerts (ten a page), each with
 * its severity, status and title and a View button — the look-up list's own View action, so it
 * answers with the alert as `/cotool COT-…` would — and Previous / Next carrying the page. Pure.
 */
import type { ActionsBlock, Button, ContextBlock, KnownBlock, SectionBlock } from '@slack/types';
import type { StormMember } from '../../core/records.ts';
import { STORM_PAGE_SIZE, type StormAlertsPage } from '../../service/storm-alerts.ts';
import { encodeDigestButton } from '../digest-payloads.ts';
import { DIGEST_ACTIONS, DIGEST_BLOCKS, LOOKUP_ACTIONS } from '../ids.ts';
import { encodeView } from '../lookup-payloads.ts';
import { LIMITS, literal, mrkdwn, oneLine, plain } from '../text.ts';
import { alertMark, severityText, statusText } from './labels.ts';

const md = (text: string) => ({ type: 'mrkdwn' as const, text, verbatim: true });
const n = (x: number) => x.toLocaleString('en-US');

function row(m: StormMember, index: number): SectionBlock {
  const id = mrkdwn(oneLine(m.displayId), 40);
  const title = literal(oneLine(m.title) || 'Untitled alert', 200);
  const block: SectionBlock = {
    type: 'section',
    block_id: `${DIGEST_BLOCKS.listRow}${index}`,
    text: md(`${alertMark(m)} *${id}* ${title}\n${severityText(m.severity)} · ${statusText(m.status)}`),
  };
  try {
    const button: Button = {
      type: 'button',
      action_id: `${LOOKUP_ACTIONS.viewPrefix}${index}`,
      text: { type: 'plain_text', text: plain(`View ${oneLine(m.displayId)}`, LIMITS.buttonText), emoji: true },
      value: encodeView({ v: 1, k: 'view', id: m.alertId }),
    };
    block.accessory = button;
  } catch {
    // an id that cannot travel in a payload: the row stays, without its button
  }
  return block;
}

function navButton(page: StormAlertsPage, to: number, text: string, actionId: string): Button {
  return {
    type: 'button',
    action_id: actionId,
    text: { type: 'plain_text', text, emoji: true },
    value: encodeDigestButton({
      v: 1,
      k: 'show',
      s: page.stormId,
      ...(page.groupKey !== null ? { g: page.groupKey } : {}),
      p: to,
    }),
  };
}

export function renderStormAlerts(page: StormAlertsPage): { text: string; blocks: KnownBlock[] } {
  const name =
    page.groupKey === null
      ? '*All other detections*'
      : page.escalated
        ? ':rotating_light: *Escalated*'
        : literal(oneLine(page.groupName ?? '') || 'Unnamed detection', 150);
  const first = page.page * STORM_PAGE_SIZE + 1;
  const last = page.page * STORM_PAGE_SIZE + page.members.length;
  const count =
    page.total === 0
      ? 'no alerts'
      : `${n(page.total)} ${page.total === 1 ? 'alert' : 'alerts'} · ${n(page.live)} live · showing ${n(first)}–${n(last)}`;
  const header: SectionBlock = {
    type: 'section',
    block_id: DIGEST_BLOCKS.listHeader,
    text: md(`Storm digest — ${name} — ${count}`),
  };
  const rows = page.members.map(row);
  const nav: Button[] = [];
  try {
    if (page.page > 0) nav.push(navButton(page, page.page - 1, '← Previous', DIGEST_ACTIONS.pagePrev));
    if (page.page < page.pages - 1) nav.push(navButton(page, page.page + 1, 'Next →', DIGEST_ACTIONS.pageNext));
  } catch {
    nav.length = 0; // a key that cannot travel in a button: no paging (the digest's ids still say it all)
  }
  const navBlock: ActionsBlock[] = nav.length
    ? [{ type: 'actions', block_id: DIGEST_BLOCKS.listNav, elements: nav }]
    : [];
  const footer: ContextBlock = {
    type: 'context',
    block_id: DIGEST_BLOCKS.listFooter,
    elements: [
      md(
        `Page ${n(page.page + 1)} of ${n(page.pages)}. Live alerts first. Status as the bot last saw it; *View* shows the alert as it is now in Cotool.`,
      ),
    ],
  };
  const plainName = page.groupKey === null ? 'all other detections' : page.escalated ? 'escalated' : 'one detection';
  return {
    text: `Storm digest: ${count} (${plainName})`,
    blocks: [header, ...rows, ...navBlock, footer],
  };
}
