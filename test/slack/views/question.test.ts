/**
 * "Was this you?": the ask modal, the DM (asked, answered, timed out) and the answer modal. Valid
 * Block Kit, the hostile corpus in every field, indicators intact, buttons carrying the question.
 */
import type { ModalView } from '@slack/types';
import { describe, expect, it } from 'vitest';
import { ACTIONS, BLOCKS, INPUTS, VIEWS } from '../../../src/slack/ids.ts';
import { decodeAnswerMeta, decodeAskMeta, decodeQuestionRef, type ModalMeta } from '../../../src/slack/payloads.ts';
import { LIMITS } from '../../../src/slack/text.ts';
import { ASK_MESSAGE_MAX, askUserModal, readAskForm } from '../../../src/slack/views/ask-user-modal.ts';
import {
  ANSWER_NOTE_MAX,
  answeredDm,
  answerModal,
  type QuestionContext,
  type QuestionFacts,
  questionDm,
  readAnswerForm,
  timedOutDm,
} from '../../../src/slack/views/question-dm.ts';
import { validateBlocks, validateView } from '../../e2e/fakes/slack.ts';
import { assertSafeModalTexts, assertSafeView, HOSTILE } from '../hostile.ts';
import { assertIndicatorIntact, INDICATORS } from '../indicators.ts';

const QID = '0b7e6f1c-2d3a-4b5c-8d9e-0f1a2b3c4d5e';
const DEADLINE = Date.parse('2026-11-23T10:32:00.000Z');
const META: ModalMeta = { v: 1, id: 'a1', u: '2026-11-23T10:05:00.000Z', c: 'C0ALERTS', t: '1795000000.000100' };
const ANA = { id: 'U0ANA', name: 'Ana Analyst' };

const facts = (o: Partial<QuestionFacts> = {}): QuestionFacts => ({
  displayId: 'COT-1042',
  title: 'Impossible travel: jane@acme.io',
  severity: 'high',
  createdAt: '2026-11-23T10:02:00.000Z',
  facts: [
    { label: 'Detection', value: 'Impossible travel' },
    { label: 'Source IP', value: '203.0.113.7' },
  ],
  description: 'Sign-in from 203.0.113.7 (NL) 40 min after one from the US.',
  url: null,
  ...o,
});
const question = (o: Partial<QuestionContext> = {}): QuestionContext => ({
  askedBy: ANA,
  questionId: QID,
  deadline: DEADLINE,
  ...o,
});

const questionValue = (path: string, value: unknown) => {
  const d = decodeQuestionRef(value);
  if (!d.ok || d.value.questionId !== QID) throw new Error(`${path}: value does not round-trip`);
};
const safeMessage = (view: { text: string; blocks: unknown[] }, allowed: string[] = []) => {
  assertSafeView(view, { alertId: '', checkValue: questionValue, allowed });
  expect(validateBlocks(view.blocks, 'message')).toEqual([]);
};
const safeModal = (view: ModalView, allowed: string[] = []) => {
  expect(validateView(view)).toEqual([]);
  assertSafeModalTexts(view, { allowed });
};
const inputOf = (view: ModalView, blockId: string) =>
  (view.blocks.find((b) => b.block_id === blockId) as unknown as { element: Record<string, unknown> } | undefined)
    ?.element;
const actionIds = (view: { blocks: unknown[] }) => JSON.stringify(view.blocks).match(/"action_id":"[^"]+"/g) ?? [];

describe('question DM', () => {
  it('snapshot: what was seen, who asks, until when, Yes and No', () => {
    expect(questionDm(facts(), question({ message: 'Quick check, thanks!' }))).toMatchSnapshot();
  });

  it('Yes and No carry the question; the deadline is a date token; nothing else is clickable', () => {
    const view = questionDm(facts(), question());
    safeMessage(view, ['<@U0ANA>']);
    expect(actionIds(view)).toEqual([`"action_id":"${ACTIONS.answerYes}"`, `"action_id":"${ACTIONS.answerNo}"`]);
    const text = JSON.stringify(view);
    expect(text).toContain(`<!date^${DEADLINE / 1000}^{date_short_pretty} at {time}|2026-11-23 10:32 UTC>`);
    expect(text).toContain('<@U0ANA> from the security team asks: *was this you?*');
    expect(view.text).toBe('Ana Analyst from the security team asks: was this you? (COT-1042)');
  });

  it('links the alert only when given an http(s) URL', () => {
    const linked = questionDm(facts({ url: 'https://app.cotool.ai/acme/alerts/COT-1042' }), question());
    expect(JSON.stringify(linked)).toContain('"url":"https://app.cotool.ai/acme/alerts/COT-1042"');
    safeMessage(linked, ['<@U0ANA>']);
    expect(JSON.stringify(questionDm(facts({ url: 'javascript:alert(1)' }), question()))).not.toContain('"url"');
  });

  it('answered and timed out: the outcome, no buttons', () => {
    const yes = answeredDm(facts(), question(), 'yes', 'I was in Amsterdam');
    expect(actionIds(yes)).toEqual([]);
    expect(JSON.stringify(yes)).toContain('You answered *“Yes, it was me”*, thank you');
    expect(JSON.stringify(yes)).toContain('>I was in Amsterdam');
    expect(answeredDm(facts(), question(), 'no').text).toBe(
      'You answered “No, it wasn’t me” about COT-1042. Thank you.',
    );
    const late = timedOutDm(facts(), question());
    expect(actionIds(late)).toEqual([]);
    expect(JSON.stringify(late)).toContain('This question timed out');
    for (const v of [yes, late]) safeMessage(v, ['<@U0ANA>']);
  });

  it('at most 8 facts; 10,000-character values stay within their fields', () => {
    const big = facts({
      title: 't'.repeat(10_000),
      description: 'd'.repeat(50_000),
      facts: Array.from({ length: 20 }, (_, i) => ({ label: `L${i}`, value: 'v'.repeat(10_000) })),
    });
    const view = questionDm(big, question({ message: 'm'.repeat(10_000) }));
    safeMessage(view, ['<@U0ANA>']);
    const fields = (view.blocks[1] as { fields?: unknown[] }).fields ?? [];
    expect(fields).toHaveLength(8);
  });

  it.each(HOSTILE.map((h, i) => [i, h] as const))('hostile corpus #%i in every field', (_, h) => {
    const f = facts({
      displayId: h,
      title: h,
      severity: h,
      createdAt: h,
      facts: [{ label: h, value: h }],
      description: h,
      url: h,
    });
    const q = question({ askedBy: { id: h, name: h }, message: h });
    safeMessage(questionDm(f, q));
    safeMessage(answeredDm(f, q, 'no', h));
    safeMessage(timedOutDm(f, q));
  });

  it.each(INDICATORS.map((ind, i) => [i, ind] as const))('indicator #%i copies out intact', (_, ind) => {
    const view = questionDm(
      facts({ title: ind, description: ind, facts: [{ label: 'Indicator', value: ind }] }),
      question(),
    );
    assertIndicatorIntact(view, ind, 'question DM', 3);
  });
});

describe('answer modal', () => {
  it('carries the question and the answer; the note is optional', () => {
    const view = answerModal(QID, 'no', { displayId: 'COT-1042' });
    safeModal(view);
    expect(view.callback_id).toBe(VIEWS.answerModal);
    expect(decodeAnswerMeta(view.private_metadata)).toEqual({
      ok: true,
      value: { v: 1, questionId: QID, answer: 'no' },
    });
    expect(view.blocks.find((b) => b.block_id === BLOCKS.answerNote)).toMatchObject({ optional: true });
    expect(inputOf(view, BLOCKS.answerNote)).toMatchObject({
      action_id: INPUTS.answerNote,
      max_length: ANSWER_NOTE_MAX,
    });
    expect(JSON.stringify(view)).toContain('You are answering *“No, it wasn’t me”* about *COT-1042*.');
  });

  it('reads a note, or none; refuses one too long', () => {
    const values = (v: string | null) => ({ [BLOCKS.answerNote]: { [INPUTS.answerNote]: { value: v } } });
    expect(readAnswerForm(values('  at home  '))).toEqual({ ok: true, note: 'at home' });
    expect(readAnswerForm(values(null))).toEqual({ ok: true, note: null });
    expect(readAnswerForm(undefined)).toEqual({ ok: true, note: null });
    expect(readAnswerForm(values('x'.repeat(ANSWER_NOTE_MAX + 1)))).toMatchObject({ ok: false });
  });

  it.each(HOSTILE.map((h, i) => [i, h] as const))('hostile display id and notice #%i', (_, h) => {
    safeModal(answerModal(QID, 'yes', { displayId: h }));
  });
});

describe('ask-user modal', () => {
  const jane = { email: 'jane@acme.io', userId: 'U0JANE', problem: null };
  it('snapshot: the person pre-selected, the addresses found and why others cannot be asked', () => {
    const view = askUserModal(facts(), {
      candidates: [jane, { email: 'old@acme.io', userId: 'U0OLD', problem: 'deactivated' }],
      preselect: 'U0JANE',
      meta: META,
    });
    expect(view).toMatchSnapshot();
  });

  it('pre-selects the person, lists addresses as code spans, carries the card', () => {
    const view = askUserModal(facts(), {
      candidates: [
        jane,
        { email: 'ghost@acme.io', userId: null, problem: 'not_found' },
        { email: 'bot@acme.io', userId: 'U0BOT', problem: 'bot' },
        { email: 'guest@partner.io', userId: 'U0GST', problem: 'guest' },
      ],
      preselect: 'U0JANE',
      meta: META,
    });
    safeModal(view);
    expect(view.callback_id).toBe(VIEWS.askUserModal);
    expect(decodeAskMeta(view.private_metadata)).toEqual({ ok: true, value: META });
    expect(inputOf(view, BLOCKS.askUserPerson)).toMatchObject({
      type: 'users_select',
      action_id: INPUTS.askUserPerson,
      initial_user: 'U0JANE',
    });
    const text = JSON.stringify(view);
    expect(text).toContain('`jane@acme.io` — pre-selected');
    expect(text).toContain('`ghost@acme.io` — not found in Slack');
    expect(text).toContain('`bot@acme.io` — a bot');
    expect(text).toContain('`guest@partner.io` — a guest account (not asked)');
    expect(view.blocks.find((b) => b.block_id === BLOCKS.askUserMessage)).toMatchObject({ optional: true });
  });

  it('no address found: says so and pre-selects nobody; several: asks to check the one selected', () => {
    const none = askUserModal(facts(), { candidates: [], preselect: null, meta: META });
    expect(JSON.stringify(none)).toContain('No e-mail address in this alert: pick the person.');
    expect(inputOf(none, BLOCKS.askUserPerson)).not.toHaveProperty('initial_user');
    const two = askUserModal(facts(), {
      candidates: [jane, { email: 'bob@acme.io', userId: 'U0BOB', problem: null }],
      preselect: 'U0JANE',
      meta: META,
    });
    expect(JSON.stringify(two)).toContain('Several people are named in this alert');
    safeModal(none);
    safeModal(two);
  });

  it('a preselect that is not a Slack user id is dropped', () => {
    const view = askUserModal(facts(), { candidates: [jane], preselect: '<!channel>', meta: META });
    expect(inputOf(view, BLOCKS.askUserPerson)).not.toHaveProperty('initial_user');
  });

  it('reads the person and the message; refuses no person or a long message', () => {
    const values = (user: string | null, msg: string | null) => ({
      [BLOCKS.askUserPerson]: { [INPUTS.askUserPerson]: { selected_user: user } },
      [BLOCKS.askUserMessage]: { [INPUTS.askUserMessage]: { value: msg } },
    });
    expect(readAskForm(values('U0JANE', ' hi '))).toEqual({ ok: true, userId: 'U0JANE', message: 'hi' });
    expect(readAskForm(values('U0JANE', null))).toEqual({ ok: true, userId: 'U0JANE', message: null });
    expect(readAskForm(values(null, null))).toMatchObject({
      ok: false,
      errors: { [BLOCKS.askUserPerson]: expect.any(String) },
    });
    expect(readAskForm(values('<@U0X>', null))).toMatchObject({ ok: false });
    expect(readAskForm(values('U0JANE', 'm'.repeat(ASK_MESSAGE_MAX + 1)))).toMatchObject({
      ok: false,
      errors: { [BLOCKS.askUserMessage]: expect.any(String) },
    });
    expect(readAskForm(undefined)).toMatchObject({ ok: false });
  });

  it.each(HOSTILE.map((h, i) => [i, h] as const))('hostile corpus #%i in the alert and the addresses', (_, h) => {
    const view = askUserModal(
      { displayId: h, title: h },
      {
        candidates: [
          { email: h, userId: h, problem: null },
          { email: h, userId: null, problem: 'not_found' },
        ],
        preselect: h,
        meta: META,
      },
    );
    safeModal(view);
    expect(view.title.text.length).toBeLessThanOrEqual(LIMITS.modalTitle);
  });

  it.each(INDICATORS.filter((i) => i.includes('@')).map((ind, i) => [i, ind] as const))(
    'address indicator #%i copies out intact',
    (_, ind) => {
      const view = askUserModal(facts(), {
        candidates: [{ email: ind, userId: null, problem: 'not_found' }],
        preselect: null,
        meta: META,
      });
      assertIndicatorIntact(view, ind, 'addresses found');
    },
  );
});
