import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../../src/slack/text.ts';
import { renderTimelineNote, TIMELINE_NOTE_MAX_ENTRIES } from '../../../src/slack/views/timeline-note.ts';
import { validateBlocks } from '../../e2e/fakes/slack.ts';
import { assertSafeView, HOSTILE, LONG_DESCRIPTION, LONG_TITLE } from '../hostile.ts';
import { assertIndicatorIntact, INDICATORS, textsOf } from '../indicators.ts';
import { entry, fullTimeline, hostileTimeline, ID, URL_IN_COTOOL } from './fixtures.ts';

const LINK = `<${URL_IN_COTOOL}|Open in Cotool>`;
const ctx = { alertUrl: URL_IN_COTOOL };
const json = (v: unknown) => JSON.stringify(v);
/** Safe as a message, valid by Slack's block rules, the Cotool link the only token allowed. */
function assertSafeNote(view: ReturnType<typeof renderTimelineNote>): void {
  assertSafeView(view, { alertId: ID, allowed: [LINK] });
  expect(validateBlocks(view.blocks, 'message')).toEqual([]);
}

describe('timeline note', () => {
  it('tells every kind of entry in order, in the lookup’s words, comments quoted literally', () => {
    const entries = fullTimeline();
    const view = renderTimelineNote('COT-123', entries, ctx);
    assertSafeNote(view);
    const commented = entries.filter((e) => e.kind === 'comment' && e.bodyMarkdown?.trim()).length;
    expect(commented).toBeGreaterThan(0);
    expect(view.blocks).toHaveLength(entries.length + commented);
    expect(view.text).toBe(`COT-123: ${entries.length} updates in Cotool`);
    expect(textsOf(view)[0]?.text).toMatch(/^:new: Agent \*Identity Detection Agent\* raised the alert · <!date\^/);
    const at = view.blocks.findIndex((b) => json(b).includes(':speech_balloon:'));
    expect(json(view.blocks[at])).toMatch(/:speech_balloon: .* commented · <!date/);
    expect(view.blocks[at + 1]).toMatchObject({ type: 'rich_text', elements: [{ type: 'rich_text_quote' }] });
    // No link but Cotool's own, and none at all when nothing is cut.
    expect(json(view)).not.toContain(URL_IN_COTOOL);
  });

  it('one entry: a one-update fallback text', () => {
    const view = renderTimelineNote(
      'COT-9',
      [
        entry({
          kind: 'severity_change',
          actorType: 'human',
          actorUserName: 'Dana',
          metadata: { beforeSeverity: 'low', afterSeverity: 'critical' },
        }),
      ],
      ctx,
    );
    assertSafeNote(view);
    expect(view.text).toBe('COT-9: 1 update in Cotool');
    expect(textsOf(view)[0]?.text).toMatch(/^:warning: \*Dana\* changed severity \*.*Low\* → \*.*Critical\*/);
  });

  it('batches: at most the cap, then "+N more in Cotool" with Cotool’s link', () => {
    const many = Array.from({ length: 57 }, (_, i) =>
      entry({ kind: 'comment', actorType: 'human', actorUserName: `P${i}`, bodyMarkdown: `note ${i}` }),
    );
    const view = renderTimelineNote('COT-1', many, ctx);
    assertSafeNote(view);
    expect(view.blocks).toHaveLength(2 * TIMELINE_NOTE_MAX_ENTRIES + 1);
    expect(json(view.blocks[1])).toContain('note 0');
    expect(json(view.blocks.at(-2))).toContain(`note ${TIMELINE_NOTE_MAX_ENTRIES - 1}"`);
    expect(json(view.blocks.at(-1))).toContain(`+${57 - TIMELINE_NOTE_MAX_ENTRIES} more in Cotool · ${LINK}`);
    expect(view.text).toBe('COT-1: 57 updates in Cotool');
    // Without a (safe) link, the count alone.
    for (const alertUrl of [null, 'javascript:alert(1)', 'https://user:pw@evil.example/']) {
      const v = renderTimelineNote('COT-1', many, { alertUrl });
      expect(json(v.blocks.at(-1))).toContain(`+${57 - TIMELINE_NOTE_MAX_ENTRIES} more in Cotool"`);
      assertSafeView(v, { alertId: ID });
    }
  });

  it('long comments and reasons stay within Slack’s limits; the whole note within a text budget', () => {
    const long = [
      ...Array.from({ length: 30 }, () =>
        entry({ kind: 'comment', actorType: 'human', actorUserName: LONG_TITLE, bodyMarkdown: LONG_DESCRIPTION }),
      ),
      entry({ kind: 'status_change', beforeStatus: 'open', afterStatus: 'escalated', bodyMarkdown: LONG_DESCRIPTION }),
    ];
    const view = renderTimelineNote(LONG_TITLE, long, ctx);
    assertSafeNote(view);
    const shown = view.blocks.filter((b) => b.type === 'context').length - 1;
    expect(shown).toBeGreaterThan(0);
    expect(shown).toBeLessThan(TIMELINE_NOTE_MAX_ENTRIES);
    expect(json(view.blocks.at(-1))).toContain(`+${long.length - shown} more in Cotool`);
    expect(json(view).length).toBeLessThan(20_000);
    expect(view.text.length).toBeLessThanOrEqual(LIMITS.fallbackText);
  });

  it('a comment is shown literally: URLs and tokens in it are text, never links or mentions', () => {
    const words = 'see https://evil.example/login and <https://evil.example|cotool.ai> <!channel>';
    const view = renderTimelineNote('COT-1', [entry({ kind: 'comment', bodyMarkdown: words })], ctx);
    assertSafeNote(view);
    expect(view.blocks[1]).toEqual({
      type: 'rich_text',
      elements: [{ type: 'rich_text_quote', elements: [{ type: 'text', text: words }] }],
    });
  });
});

describe('hostile corpus', () => {
  it.each(HOSTILE.map((h, i) => [i, h] as const))('timeline note #%i is safe', (_, h) => {
    const view = renderTimelineNote(h, hostileTimeline(h), { alertUrl: URL_IN_COTOOL });
    assertSafeNote(view);
    // Names are plain text in mrkdwn: nobody is mentioned, whatever the entries hold (rich text is literal).
    const mrkdwnTexts = textsOf(view).filter((t) => t.kind === 'mrkdwn');
    expect(mrkdwnTexts.length).toBeGreaterThan(0);
  });
});

describe('indicators', () => {
  it('copy out of comments and reasons intact', () => {
    for (let i = 0; i < INDICATORS.length; i += 10) {
      const chunk = INDICATORS.slice(i, i + 10);
      const view = renderTimelineNote(
        'COT-1',
        [
          entry({ kind: 'comment', actorType: 'human', actorUserName: 'Dana', bodyMarkdown: chunk.join('\n') }),
          ...chunk.map((ind) =>
            entry({ kind: 'status_change', beforeStatus: 'open', afterStatus: 'in_progress', bodyMarkdown: ind }),
          ),
        ],
        ctx,
      );
      assertSafeNote(view);
      for (const ind of chunk) assertIndicatorIntact(view, ind, `note ${i}`, 2);
    }
  });
});
