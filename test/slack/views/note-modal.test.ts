import { describe, expect, it } from 'vitest';
import { ALERT_STATUSES } from '../../../src/core/alert.ts';
import { NOTE_WORDS_MAX } from '../../../src/core/attribution.ts';
import { latestVerdict } from '../../../src/core/verdict.ts';
import { BLOCKS, INPUTS, VIEWS } from '../../../src/slack/ids.ts';
import { decodeModalMeta } from '../../../src/slack/payloads.ts';
import { LIMITS } from '../../../src/slack/text.ts';
import { renderAlertCard } from '../../../src/slack/views/alert-card.ts';
import { readNoteForm, renderNoteModal, renderNoteReply } from '../../../src/slack/views/note-modal.ts';
import { validateView } from '../../e2e/fakes/slack.ts';
import { assertSafeView, HOSTILE } from '../hostile.ts';
import { assertIndicatorIntact, INDICATORS } from '../indicators.ts';
import { entry, hostileAlert, hostileTimeline, ID, lookupAlert, URL_IN_COTOOL } from './fixtures.ts';

const META = { v: 1 as const, id: ID, u: '2026-11-23T10:00:00.000Z', c: 'C0ALERTS', t: '1700000000.000100' };
const JANE = { id: 'U0JANE', name: 'Jane Doe' };
/** A modal's blocks checked like a message (the hostile checker), plus Slack's own view rules. */
function assertSafeModal(view: ReturnType<typeof renderNoteModal>): void {
  expect(validateView(view)).toEqual([]);
  expect(view.title.text.length).toBeLessThanOrEqual(LIMITS.modalTitle);
  const blocks = view.blocks.filter((b) => b.type !== 'input');
  assertSafeView(
    { text: 'modal', blocks: [...blocks, { type: 'header', text: view.title }] },
    { alertId: ID, maxBlocks: 100 },
  );
  expect(decodeModalMeta(view.private_metadata).ok).toBe(true);
}

describe('latestVerdict', () => {
  it('is the newest triage run: agent, outcome, first line of its summary', () => {
    const timeline = [
      entry({ kind: 'triage_run', createdAt: '2026-11-23T10:00:00Z', actorAgentName: 'Old', bodyMarkdown: 'old' }),
      entry({
        kind: 'triage_run',
        createdAt: '2026-11-23T11:00:00Z',
        actorType: 'agent',
        actorAgentName: 'Aria',
        bodyMarkdown: '\n  Token replay from TOR.  \nMore detail.',
        metadata: { outcome: 'escalate' },
      }),
      entry({ kind: 'comment', createdAt: '2026-11-23T12:00:00Z', bodyMarkdown: 'later comment' }),
    ];
    expect(latestVerdict(timeline)).toEqual({
      agent: 'Aria',
      outcome: 'escalate',
      summary: 'Token replay from TOR.',
      at: '2026-11-23T11:00:00Z',
    });
    expect(latestVerdict([entry({ kind: 'comment' })])).toBeNull();
  });

  it('shows on the card with Disagree only when known', () => {
    const a = lookupAlert();
    const verdict = latestVerdict(a.timeline);
    const card = JSON.stringify(renderAlertCard(a, { alertUrl: URL_IN_COTOOL, interactive: true, verdict }));
    expect(card).toContain(':robot_face: Triaged by *Aria*: Checked sign-in history.');
    expect(card).toContain('alert.disagree');
    expect(JSON.stringify(renderAlertCard(a, { alertUrl: URL_IN_COTOOL, interactive: true }))).not.toContain(
      'alert.disagree',
    );
  });

  it.each(HOSTILE.map((h, i) => [i, h] as const))('hostile verdict on the card #%i', (_, h) => {
    const verdict = latestVerdict(hostileTimeline(h));
    for (const status of [...ALERT_STATUSES, h]) {
      assertSafeView(
        renderAlertCard(hostileAlert(h, status), { alertUrl: URL_IN_COTOOL, interactive: true, verdict }),
        {
          alertId: ID,
        },
      );
    }
  });
});

describe('note and disagree modals', () => {
  it('note: the alert, one multi-line input, the metadata; disagree names the verdict', () => {
    const a = lookupAlert();
    const note = renderNoteModal('note', a, META);
    expect(note.callback_id).toBe(VIEWS.noteModal);
    expect(note.title.text).toBe('Note on COT-123');
    const input = note.blocks.find((b) => b.block_id === BLOCKS.noteText) as unknown as {
      element: { action_id: string; multiline: boolean; max_length: number };
    };
    expect(input.element).toMatchObject({ action_id: INPUTS.noteText, multiline: true, max_length: NOTE_WORDS_MAX });
    expect(decodeModalMeta(note.private_metadata)).toEqual({ ok: true, value: META });
    const disagree = renderNoteModal('disagree', a, META, { verdict: latestVerdict(a.timeline), words: 'was me' });
    expect(disagree.callback_id).toBe(VIEWS.disagreeModal);
    expect(JSON.stringify(disagree)).toContain('Latest verdict: *Aria*');
    expect(JSON.stringify(disagree)).toContain('"initial_value":"was me"');
    assertSafeModal(note);
    assertSafeModal(disagree);
  });

  it('reads the form: empty and too long are inline errors', () => {
    const form = (value: string) => ({ [BLOCKS.noteText]: { [INPUTS.noteText]: { value } } });
    expect(readNoteForm(form('  checked  '))).toEqual({ ok: true, words: 'checked' });
    expect(readNoteForm(form('   '))).toMatchObject({ ok: false, errors: { [BLOCKS.noteText]: expect.any(String) } });
    expect(readNoteForm(form('x'.repeat(NOTE_WORDS_MAX + 1))).ok).toBe(false);
    expect(readNoteForm(undefined).ok).toBe(false);
  });

  it.each(HOSTILE.map((h, i) => [i, h] as const))('hostile corpus #%i through both modals and the reply', (_, h) => {
    const a = hostileAlert(h, 'open');
    const verdict = latestVerdict(hostileTimeline(h));
    assertSafeModal(renderNoteModal('note', a, META, { words: h.slice(0, NOTE_WORDS_MAX) }));
    assertSafeModal(renderNoteModal('disagree', a, META, { verdict }));
    for (const kind of ['note', 'disagree', 'reply'] as const) {
      assertSafeView(renderNoteReply({ displayId: h, kind, actor: { id: h, name: h }, words: h }), {
        alertId: ID,
        allowed: [],
      });
      assertSafeView(renderNoteReply({ displayId: 'COT-1', kind, actor: JANE, words: h }), {
        alertId: ID,
        allowed: ['<@U0JANE>'],
      });
    }
  });

  it.each(INDICATORS.map((ind, i) => [i, ind] as const))('indicator #%i copies out of the modals intact', (_, ind) => {
    const a = { ...lookupAlert(), title: ind };
    const timeline = [entry({ kind: 'triage_run', actorAgentName: 'Aria', bodyMarkdown: ind })];
    assertIndicatorIntact(renderNoteModal('note', a, META), ind, 'note modal');
    assertIndicatorIntact(
      renderNoteModal('disagree', a, META, { verdict: latestVerdict(timeline) }),
      ind,
      'disagree',
      2,
    );
    assertIndicatorIntact(
      renderAlertCard(a, { alertUrl: URL_IN_COTOOL, interactive: true, verdict: latestVerdict(timeline) }),
      ind,
      'card verdict',
      2,
    );
  });
});
