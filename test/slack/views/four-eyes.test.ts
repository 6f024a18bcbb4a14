import { describe, expect, it } from 'vitest';
import type { CloseRequest, CloseRequestState } from '../../../src/core/records.ts';
import { decodeFourEyesButton, encodeFourEyesButton } from '../../../src/slack/four-eyes-payloads.ts';
import { FOUR_EYES_ACTIONS } from '../../../src/slack/ids.ts';
import { approvalAskedText, decisionFailedText, renderCloseRequest } from '../../../src/slack/views/four-eyes.ts';
import { validateBlocks } from '../../e2e/fakes/slack.ts';
import { assertSafeView, HOSTILE } from '../hostile.ts';
import { assertIndicatorIntact, INDICATORS } from '../indicators.ts';

const RID = '0b7e6f1c-2d3a-4b5c-8d9e-0f1a2b3c4d5e';
const NOW = Date.parse('2026-11-23T12:00:00.000Z');

const request = (over: Partial<CloseRequest> = {}): CloseRequest => ({
  id: RID,
  alertId: 'a1',
  displayId: 'COT-12',
  status: 'closed_false_positive',
  words: 'Known internal scanner',
  requester: { id: 'U0JANE', name: 'Jane Doe' },
  basis: '{}',
  channel: 'C0ALERTS',
  threadTs: '1.1',
  createdAt: NOW,
  expiresAt: NOW + 86_400_000,
  ts: '1.2',
  state: 'pending',
  decidedBy: null,
  decidedAt: null,
  outcome: null,
  ...over,
});

const checkValue = (path: string, value: unknown) => {
  const d = decodeFourEyesButton(value);
  if (!d.ok || d.value.r !== RID) throw new Error(`${path}: value does not round-trip`);
};
const safe = (view: ReturnType<typeof renderCloseRequest>) => {
  assertSafeView(view, { alertId: 'a1', checkValue });
  expect(validateBlocks(view.blocks, 'message')).toEqual([]);
};
const STATES: [CloseRequestState, string | null][] = [
  ['pending', null],
  ['approved', 'closed'],
  ['approved', 'already'],
  ['rejected', 'rejected'],
  ['rejected', 'withdrawn'],
  ['expired', null],
  ['cancelled', 'severity'],
  ['cancelled', 'not_posted'],
  ['failed', 'unknown'],
];

describe('four-eyes request message', () => {
  it('pending: who asks to close what as what, the words quoted, Approve and Reject carrying the request', () => {
    const v = renderCloseRequest({ request: request(), now: NOW });
    const text = JSON.stringify(v);
    expect(v.text).toBe('Jane Doe asks to close COT-12 as false positive');
    expect(text).toContain(':eyes: *Jane Doe* asks to close *COT-12* as false positive:"');
    expect(text).toContain('"type":"rich_text_quote","elements":[{"type":"text","text":"Known internal scanner"}]');
    expect(text).toContain(FOUR_EYES_ACTIONS.approve);
    expect(text).toContain(FOUR_EYES_ACTIONS.reject);
    expect(text).toContain('except *Jane Doe*');
    safe(v);
  });

  it('decided: the outcome and no buttons; a pending one past its expiry shows as expired', () => {
    const sam = { id: 'U0SAM', name: 'Sam Roe' };
    for (const [state, outcome] of STATES.slice(1)) {
      const v = renderCloseRequest({ request: request({ state, outcome, decidedBy: sam, decidedAt: NOW }), now: NOW });
      expect(JSON.stringify(v)).not.toContain(FOUR_EYES_ACTIONS.approve);
      safe(v);
    }
    expect(
      JSON.stringify(
        renderCloseRequest({ request: request({ state: 'approved', outcome: 'closed', decidedBy: sam }), now: NOW }),
      ),
    ).toContain('Approved by *Sam Roe*: *COT-12* was closed as false positive');
    const late = renderCloseRequest({ request: request(), now: NOW + 86_400_000 });
    expect(JSON.stringify(late)).toContain('Expired');
    expect(JSON.stringify(late)).not.toContain(FOUR_EYES_ACTIONS.approve);
  });

  it.each(HOSTILE.map((h, i) => [i, h] as const))('hostile corpus #%i in names, ids, words and outcomes', (_, h) => {
    for (const [state, outcome] of STATES) {
      const r = request({
        displayId: h,
        words: h,
        requester: { id: h, name: h },
        decidedBy: { id: h, name: h },
        state,
        outcome,
        status: state === 'failed' ? h : 'closed_true_positive_benign',
      });
      safe(renderCloseRequest({ request: r, now: NOW }));
    }
    const notes = [
      approvalAskedText({ requestId: RID, fresh: true, requester: { id: h, name: h }, status: h, place: null }, h),
      approvalAskedText({ requestId: RID, fresh: false, requester: { id: h, name: h }, status: h, place: null }, h),
      decisionFailedText({
        ok: false,
        code: 'decided',
        request: request({ state: 'rejected', decidedBy: { id: h, name: h } }),
      }),
      decisionFailedText({ ok: false, code: 'cancelled', request: request({ displayId: h }), drift: 'title' }),
    ];
    for (const n of notes) {
      assertSafeView({ text: n, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: n } }] }, { alertId: 'a1' });
    }
  });

  it.each(INDICATORS.map((ind, i) => [i, ind] as const))('indicator #%i in the words copies out intact', (_, ind) => {
    assertIndicatorIntact(renderCloseRequest({ request: request({ words: ind }), now: NOW }), ind, 'request words');
  });

  it('limits: a 20,000-character reason and 500-character names stay within Slack’s fields', () => {
    const big = request({
      words: 'w'.repeat(20_000),
      requester: { id: 'U1', name: 'n'.repeat(500) },
      displayId: 'd'.repeat(500),
    });
    safe(renderCloseRequest({ request: big, now: NOW }));
  });

  it('button values round-trip; tampered, other-version and oversized values are refused', () => {
    const value = encodeFourEyesButton({ v: 1, op: 'approve', r: RID });
    expect(decodeFourEyesButton(value)).toEqual({ ok: true, value: { v: 1, op: 'approve', r: RID } });
    expect(decodeFourEyesButton(value.replace('approve', 'delete')).ok).toBe(false);
    expect(decodeFourEyesButton(value.replace(RID, 'x')).ok).toBe(false);
    expect(decodeFourEyesButton(value.replace('"v":1', '"v":2'))).toEqual({ ok: false, reason: 'version' });
    expect(decodeFourEyesButton(`${value}${' '.repeat(200)}`)).toEqual({ ok: false, reason: 'too_long' });
    expect(decodeFourEyesButton(undefined).ok).toBe(false);
    expect(() => encodeFourEyesButton({ v: 1, op: 'approve', r: 'not-a-uuid' })).toThrow();
  });
});
