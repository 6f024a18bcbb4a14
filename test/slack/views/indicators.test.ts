/**
 * Indicators copy out intact: every email, domain, IP, URL, hash, path, registry key and command line
 * in an alert comes out of every view byte for byte (after Slack's entities are decoded), and the
 * views stay safe (the hostile checker passes on them too).
 */
import { describe, expect, it } from 'vitest';
import type { Alert, AlertWithTimeline } from '../../../src/core/alert.ts';
import { escapeMrkdwn, plain } from '../../../src/slack/text.ts';
import { renderAlertCard } from '../../../src/slack/views/alert-card.ts';
import { renderCloseModal } from '../../../src/slack/views/close-modal.ts';
import { renderList } from '../../../src/slack/views/list.ts';
import { renderLookup, renderSharedCard } from '../../../src/slack/views/lookup.ts';
import { renderCompactCard } from '../../../src/slack/views/unfurl.ts';
import { alert } from '../../support/alerts.ts';
import { assertSafeView } from '../hostile.ts';
import { assertIndicatorIntact, INDICATORS } from '../indicators.ts';
import { entry, ID, URL_IN_COTOOL } from './fixtures.ts';

function carrying(ind: string, status = 'escalated'): Alert {
  return alert({
    id: ID,
    displayId: 'COT-12',
    status,
    title: ind,
    description: `Seen on host WS-042:\n${ind}\nBlocked by EDR.`,
    detection: { id: null, agentId: null, name: ind, kind: 'cotool' },
  });
}

function withTimeline(a: Alert, ind: string): AlertWithTimeline {
  return {
    ...a,
    timeline: [
      entry({ kind: 'comment', actorType: 'human', actorUserName: 'Dana', bodyMarkdown: ind }),
      entry({ kind: 'status_change', actorType: 'agent', actorAgentName: 'Aria', afterStatus: 'escalated' }),
    ],
  };
}

const LOOKUP_CTX = { alertUrl: URL_IN_COTOOL, lastAction: null, closeOpensForm: false };
const cases = INDICATORS.map((ind, i) => [i, ind] as const);

describe('the text functions keep indicators', () => {
  it.each(cases)('#%i survives escaping and plain text', (_, ind) => {
    const decoded = escapeMrkdwn(ind).replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
    expect(decoded).toBe(ind);
    expect(plain(ind, 1_000)).toBe(ind);
  });

  it('still neutralises bare broadcast words and tokens', () => {
    expect(escapeMrkdwn('@here bob@heretic.io @channel.')).toBe('@\u2060here bob@heretic.io @\u2060channel.');
    expect(plain('<!here> <https://x|y> <in.txt <C:\\x', 100)).toBe('<\u2060!here> <\u2060https://x|y> <in.txt <C:\\x');
  });
});

describe('indicators copy out of every view intact', () => {
  it.each(cases)('card #%i: title, description and detection', (_, ind) => {
    for (const status of ['open', 'escalated', 'closed_false_positive']) {
      const view = renderAlertCard(carrying(ind, status), { alertUrl: URL_IN_COTOOL, interactive: true });
      assertIndicatorIntact(view, ind, `card (${status})`, 3);
      assertSafeView(view, { alertId: ID });
    }
  });

  it.each(cases)('lookup #%i: card, full description and timeline', (_, ind) => {
    const view = renderLookup(withTimeline(carrying(ind), ind), LOOKUP_CTX);
    assertIndicatorIntact(view, ind, 'lookup', 4);
    assertSafeView(view, {
      alertId: ID,
      checkValue: (path, v) => expect(typeof v, path).toBe('string'),
    });
  });

  it.each(cases)('shared card #%i', (_, ind) => {
    const view = renderSharedCard(withTimeline(carrying(ind), ind), {
      ...LOOKUP_CTX,
      sharedBy: 'U0ANA',
      at: '2026-11-23T10:00:00.000Z',
    });
    assertIndicatorIntact(view, ind, 'shared card', 3);
  });

  it.each(cases)('unfurl and expanded id #%i', (_, ind) => {
    const view = renderCompactCard(carrying(ind), { alertUrl: URL_IN_COTOOL });
    assertIndicatorIntact(view, ind, 'unfurl');
  });

  it.each(cases)('list row #%i', (_, ind) => {
    const view = renderList({
      ok: true,
      query: { status: ['open', 'in_progress', 'escalated'], severity: [], source: [] },
      offset: 0,
      alerts: [carrying(ind)],
      totalCount: 1,
      skipped: 0,
    });
    assertIndicatorIntact(view, ind, 'list');
  });

  it.each(cases)('close form #%i', (_, ind) => {
    const view = renderCloseModal(carrying(ind, 'open'), { v: 1, id: ID, u: '2026-11-23T10:00:00.000Z' });
    assertIndicatorIntact(view, ind, 'close form');
  });
});
