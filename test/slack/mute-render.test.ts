/**
 * The mute messages as the sender posts them (the announcement and its quiet counter in one
 * message, the id lists, the end), over the hostile corpus: a detection name, a reason or a display
 * id can neither ping, nor link, nor break the message; the only mention is the muting person's.
 */
import { describe, expect, it } from 'vitest';
import type { Mute } from '../../src/core/records.ts';
import { createMuteRenderer } from '../../src/slack/mute-render.ts';
import { validateBlocks } from '../e2e/fakes/slack.ts';
import { assertSafeView, HOSTILE } from './hostile.ts';

const NOW = Date.parse('2026-12-06T10:00:00.000Z');
const HOUR = 3_600_000;
const mute = (o: Partial<Mute> = {}): Mute => ({
  id: 'm1',
  channel: 'C0ALERTS',
  detectionKey: 'id:d-1',
  detectionName: 'Impossible travel',
  by: { id: 'U0JANE', name: 'Jane Doe' },
  reason: 'pentest this afternoon',
  createdAt: NOW,
  until: NOW + 4 * HOUR,
  sourceAlertId: 'a1',
  endedAt: null,
  endedBy: null,
  muted: 212,
  escalated: 1,
  ts: '1.1',
  ...o,
});
const render = createMuteRenderer({ routes: [] });
const safe = (view: { text: string; blocks: unknown[] }, allowed: string[]) => {
  assertSafeView(view, { alertId: '', checkValue: () => undefined, allowed, actionIdScope: 'block' });
  expect(validateBlocks(view.blocks, 'message')).toEqual([]);
};

describe('mute messages', () => {
  it('one message: who muted what until when and why, then the quiet counter', () => {
    const v = render.message(mute());
    const text = JSON.stringify(v.blocks);
    expect(text).toContain('<@U0JANE>');
    expect(text).toContain('pentest this afternoon');
    expect(text).toContain('212 alerts');
    expect(text).toContain('1 escalated');
    safe(v, ['<@U0JANE>']);
  });

  it('the end, with the tally', () => {
    const text = JSON.stringify(render.ended(mute({ endedAt: NOW + 4 * HOUR })).blocks);
    expect(text).toContain('muted 4 h');
    expect(text).toContain('212 alerts');
  });

  it.each(HOSTILE.map((h, i) => [i, h] as const))(
    'hostile text #%i in the name, the reason and the ids is inert',
    (_i, h) => {
      const m = mute({ detectionName: h || 'x', reason: h || 'x', by: { id: 'not-an-id', name: h || 'x' } });
      safe(render.message(m), []);
      safe(render.ended({ ...m, endedAt: NOW + HOUR, endedBy: { id: 'not-an-id', name: h || 'x' } }), []);
      safe(render.ids(m, [h || 'x', 'COT-1'], 1), []);
    },
  );
});
