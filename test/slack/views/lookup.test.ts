import { describe, expect, it } from 'vitest';
import { ALERT_STATUSES } from '../../../src/core/alert.ts';
import { latestVerdict } from '../../../src/core/verdict.ts';
import { ACTIONS, BLOCKS, LOOKUP_BLOCKS } from '../../../src/slack/ids.ts';
import { decodeAction } from '../../../src/slack/payloads.ts';
import { LIMITS } from '../../../src/slack/text.ts';
import { renderAlertCard } from '../../../src/slack/views/alert-card.ts';
import {
  escalationFrom,
  noAlertForRunAnswer,
  notFoundAnswer,
  progressText,
  renderLookup,
  renderSharedCard,
  runNotice,
} from '../../../src/slack/views/lookup.ts';
import { recentEntries, renderTimeline, timelineLine } from '../../../src/slack/views/timeline.ts';
import { assertSafeView, HOSTILE, LONG_DESCRIPTION, LONG_TITLE } from '../hostile.ts';
import { entry, fullTimeline, hostileAlert, hostileTimeline, ID, lookupAlert, URL_IN_COTOOL } from './fixtures.ts';

const ANA = { id: 'U0ANA', name: 'Ana Analyst' };
const ctx = { alertUrl: URL_IN_COTOOL, lastAction: null, closeOpensForm: false };
const json = (v: unknown) => JSON.stringify(v);
const actionIds = (blocks: unknown[]) =>
  (blocks as Array<{ type: string; elements?: Array<{ action_id?: string }> }>)
    .flatMap((b) => (b.type === 'actions' ? (b.elements ?? []) : []))
    .map((e) => e.action_id);

describe('renderLookup', () => {
  it('snapshot: an escalated alert with a full timeline', () => {
    expect(renderLookup(lookupAlert(), ctx)).toMatchSnapshot();
  });

  it('is the channel card with the same buttons, a longer description, the timeline and Share', () => {
    const a = lookupAlert({ status: 'open', description: `${'word '.repeat(400)}END` });
    const view = renderLookup(a, ctx);
    const card = renderAlertCard(a, {
      alertUrl: URL_IN_COTOOL,
      interactive: true,
      lastAction: null,
      verdict: latestVerdict(a.timeline),
    });
    // Same buttons (the look-up knows the triage verdict, so Disagree too), same values, plus Share.
    expect(actionIds(view.blocks)).toEqual([...actionIds(card.blocks), ACTIONS.share]);
    expect(actionIds(view.blocks)).toContain(ACTIONS.disagree);
    const cardActions = card.blocks.find((b) => b.block_id === BLOCKS.cardActions);
    expect(view.blocks).toContainEqual(cardActions);
    // The description is the long one, in place of the card's excerpt.
    const ids = view.blocks.map((b) => b.block_id);
    expect(ids).not.toContain(BLOCKS.cardDescription);
    expect(ids.indexOf(LOOKUP_BLOCKS.description)).toBe(
      card.blocks.findIndex((b) => b.block_id === BLOCKS.cardDescription),
    );
    expect(json(view)).toContain('END');
    expect(json(card)).not.toContain('END');
    expect(view.text).toBe(card.text);
  });

  it('carries a share payload naming the alert and its version', () => {
    const view = renderLookup(lookupAlert(), ctx);
    const share = view.blocks.find((b) => b.block_id === LOOKUP_BLOCKS.actions) as unknown as {
      elements: Array<{ value: string; text: { text: string } }>;
    };
    expect(share.elements[0]?.text.text).toBe('Share in channel');
    expect(decodeAction(share.elements[0]?.value)).toEqual({
      ok: true,
      value: { v: 1, op: 'share', id: ID, u: '2026-11-23T10:09:00.000Z' },
    });
  });

  it('shows who escalated and why, read off the timeline', () => {
    const a = lookupAlert();
    expect(escalationFrom(a)).toEqual({
      by: 'Aria',
      reason: 'Token replay from a TOR exit node.',
      at: '2026-11-23T10:03:00.000Z',
    });
    expect(json(renderLookup(a, ctx))).toContain(':rotating_light: *Escalated* by Aria');
    expect(escalationFrom(lookupAlert({ status: 'open' }))).toBeNull();
  });

  it('shows the last action taken from Slack, as the card does', () => {
    const view = renderLookup(lookupAlert({ status: 'closed_false_positive' }), {
      ...ctx,
      lastAction: { by: ANA, kind: 'status', status: 'closed_false_positive', at: '2026-11-23T10:09:00Z' },
    });
    expect(json(view)).toContain('Closed as false positive* by Ana Analyst');
  });

  it('puts a notice of our own above the card (a run)', () => {
    const view = renderLookup(lookupAlert(), { ...ctx, notice: runNotice('3f2b9c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f') });
    expect(view.blocks[0]?.block_id).toBe(LOOKUP_BLOCKS.notice);
    expect(json(view.blocks[0])).toContain('Alert raised by run `3f2b9c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f`');
  });

  it('with CLOSE_REASON_REQUIRED the close buttons open the form: no confirm dialog, as on the channel card', () => {
    const a = lookupAlert({ status: 'open' });
    const closeButtons = (blocks: unknown[]) =>
      (blocks as Array<{ type: string; elements?: Array<{ action_id?: string; confirm?: unknown }> }>)
        .flatMap((b) => (b.type === 'actions' ? (b.elements ?? []) : []))
        .filter((e) => [ACTIONS.closeFp, ACTIONS.closeBenign, ACTIONS.closeTp].includes(e.action_id as never));
    for (const view of [
      renderLookup(a, { ...ctx, closeOpensForm: true }),
      renderSharedCard(a, { ...ctx, closeOpensForm: true, sharedBy: 'U0ANA', at: '2026-11-23T11:00:00.000Z' }),
    ]) {
      expect(closeButtons(view.blocks)).toHaveLength(3);
      for (const b of closeButtons(view.blocks)) expect(b).not.toHaveProperty('confirm');
    }
    for (const b of closeButtons(renderLookup(a, ctx).blocks)) expect(b).toHaveProperty('confirm');
  });

  it('renders without Share when the id cannot travel in a payload, and without a timeline when there is none', () => {
    const view = renderLookup(lookupAlert({ id: 'x'.repeat(65), timeline: [] }), ctx);
    expect(actionIds(view.blocks)).not.toContain(ACTIONS.share);
    expect(view.blocks.map((b) => b.block_id)).not.toContain(LOOKUP_BLOCKS.timelineHeading);
  });
});

describe('timeline', () => {
  it('reads like people talk, newest first, one line per entry', () => {
    const lines = recentEntries(fullTimeline()).map(timelineLine);
    const strip = (l: string) => l.replace(/ · <!date[^>]+>$/, '');
    expect(lines.map(strip)).toEqual([
      'Someone recorded *snoozed*',
      'Cotool recorded an external update: “Jira SEC-42 moved to In Review”',
      '*Bo* commented: “Called the CFO, it was not them.”',
      '*Dana Analyst* edited the description',
      '*Dana Analyst* renamed the alert “Suspicious login” → “Token replay on CFO account”',
      '*Dana Analyst* changed severity *High* → *Critical*: “VIP account”',
      'Agent *Aria* changed status *Open* → *Escalated*: “Token replay from a TOR exit node.”',
      'Agent *Aria* ran triage: “Checked sign-in history.”',
      'Agent *Aria* took the alert',
      'Agent *Identity Detection Agent* raised the alert',
    ]);
    expect(lines[0]).toMatch(/ · <!date\^\d+\^\{date_short_pretty\} at \{time\}\|2026-11-23 10:09 UTC>$/);
  });

  it('shows at most 10 entries and says how many there are', () => {
    const many = Array.from({ length: 25 }, (_, i) =>
      entry({ kind: 'comment', bodyMarkdown: `c${i}`, createdAt: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString() }),
    );
    const blocks = renderTimeline(many);
    expect(blocks).toHaveLength(11);
    expect(json(blocks[0])).toContain('latest 10 of 25');
    expect(json(blocks[1])).toContain('c24');
    expect(json(blocks.at(-1))).toContain('c15');
  });

  it('names assignment, unassignment and people without names sensibly', () => {
    const human = entry({
      kind: 'assignment_change',
      actorType: 'human',
      actorUserName: 'Bo',
      actorAgentName: 'Aria',
      metadata: { assignedAgentId: 'x' },
    });
    expect(timelineLine(human)).toMatch(/^\*Bo\* assigned \*Aria\*/);
    const cleared = entry({
      kind: 'assignment_change',
      actorType: 'human',
      actorUserName: null,
      metadata: { assignedAgentId: null },
    });
    expect(timelineLine(cleared)).toMatch(/^Someone unassigned the alert/);
    expect(timelineLine(entry({ kind: 'created', actorType: 'agent' }))).toMatch(/^An agent raised the alert/);
  });
});

describe('short answers', () => {
  it('not found, no alert for a run, progress', () => {
    expect(notFoundAnswer('COT-999').text).toContain('COT-999 was not found in Cotool');
    expect(noAlertForRunAnswer('3f2b9c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f').text).toBe(
      ':grey_question: No alert is linked to run `3f2b9c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f`.',
    );
    expect(progressText('Looking up COT-1')).toBe(':hourglass_flowing_sand: Looking up COT-1…');
    for (const h of HOSTILE) {
      for (const view of [
        notFoundAnswer(h),
        noAlertForRunAnswer(h),
        { text: progressText(h), blocks: notFoundAnswer(h).blocks },
      ]) {
        assertSafeView(view, { alertId: ID });
      }
    }
  });
});

describe('renderSharedCard', () => {
  it('is the live card plus who shared it, with no message metadata', () => {
    const view = renderSharedCard(lookupAlert(), { ...ctx, sharedBy: 'U0ANA', at: '2026-11-23T11:00:00.000Z' });
    expect(view.blocks.at(-1)?.block_id).toBe(LOOKUP_BLOCKS.sharedBy);
    expect(json(view.blocks.at(-1))).toContain('Shared by <@U0ANA> from a /cotool look-up');
    expect(actionIds(view.blocks)).toContain(ACTIONS.closeTp);
    assertSafeView(view, { alertId: ID, allowed: ['<@U0ANA>'] });
    // A user id that is not one is never written as a mention.
    const odd = renderSharedCard(lookupAlert(), { ...ctx, sharedBy: '<!channel>', at: 'x' });
    assertSafeView(odd, { alertId: ID });
  });
});

describe('hostile corpus', () => {
  it.each(HOSTILE.map((h, i) => [i, h] as const))('lookup answer #%i is safe in every status', (_, h) => {
    for (const status of [...ALERT_STATUSES, h]) {
      const a = { ...hostileAlert(h, status), timeline: hostileTimeline(h) };
      const view = renderLookup(a, {
        alertUrl: h,
        lastAction: { by: { id: h, name: h }, kind: 'status', status, at: h },
        notice: runNotice(h),
        closeOpensForm: false,
      });
      assertSafeView(view, { alertId: ID });
      expect(view.blocks.length).toBeLessThanOrEqual(LIMITS.messageBlocks);
      assertSafeView(
        renderSharedCard(a, { alertUrl: h, lastAction: null, closeOpensForm: false, sharedBy: h, at: h }),
        { alertId: ID },
      );
    }
  });

  it('fits a 50,000-character description, a 10,000-character title and long timeline bodies', () => {
    const a = lookupAlert({
      title: LONG_TITLE,
      description: LONG_DESCRIPTION,
      timeline: fullTimeline().map((e) => ({ ...e, bodyMarkdown: LONG_DESCRIPTION, actorUserName: LONG_TITLE })),
    });
    const view = renderLookup(a, ctx);
    assertSafeView(view, { alertId: ID });
    expect(json(view).length).toBeLessThan(30_000);
  });
});
