/**
 * The triage modals: valid Block Kit (checked by the fake Slack's own validator), every limit held,
 * untrusted text escaped wherever Slack renders it, payloads that round-trip, prefill and the
 * long-description case, and the form readers.
 */
import type { ModalView } from '@slack/types';
import { describe, expect, it } from 'vitest';
import { ALERT_STATUSES, type Alert } from '../../src/core/alert.ts';
import { REASON_WORDS_MAX } from '../../src/core/attribution.ts';
import { BLOCKS, INPUTS, VIEWS } from '../../src/slack/ids.ts';
import { decodeModalMeta, type ModalMeta } from '../../src/slack/payloads.ts';
import { LIMITS } from '../../src/slack/text.ts';
import { readCloseForm, renderCloseModal } from '../../src/slack/views/close-modal.ts';
import {
  EDIT_LIMITS,
  editPrefill,
  readEditForm,
  renderEditModal,
  renderEditReply,
} from '../../src/slack/views/edit-modal.ts';
import { loadingModal, noticeModal } from '../../src/slack/views/triage-modal.ts';
import { validateBlocks, validateView } from '../e2e/fakes/slack.ts';
import { alert } from '../support/alerts.ts';
import { BROADCAST_WORD, HOSTILE, LONG_DESCRIPTION, LONG_TITLE } from './hostile.ts';

const ID = '8f14e45f-ceea-467a-9c1a-6c1f8b3d2e5a';
const META: ModalMeta = { v: 1, id: ID, u: '2026-11-23T10:05:00.000Z', c: 'C0ALERTS', t: '1795000000.000100' };
const base = (o: Partial<Alert> = {}) => alert({ id: ID, displayId: 'COT-123', ...o });

type Obj = Record<string, unknown>;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/**
 * Every text Slack renders is safe: mrkdwn has no raw `<`, `>` (except quote markers) or bare `&`,
 * plain text opens no token, nothing carries control characters or lone surrogates. Input values
 * (`initial_value`) are the alert's own text for editing, never rendered as mrkdwn: they are
 * checked for control characters and length only.
 */
function assertSafeModal(view: ModalView): void {
  expect(validateView(view)).toEqual([]);
  expect(view.title.text.length).toBeLessThanOrEqual(LIMITS.modalTitle);
  const walk = (node: unknown, path: string): void => {
    if (Array.isArray(node)) {
      for (const [i, n] of node.entries()) walk(n, `${path}[${i}]`);
      return;
    }
    if (!node || typeof node !== 'object') {
      if (typeof node === 'string') {
        expect(CONTROL.test(node), `${path}: control character`).toBe(false);
        expect(node.isWellFormed(), `${path}: lone surrogate`).toBe(true);
      }
      return;
    }
    const o = node as Obj;
    if (o.type === 'mrkdwn' && typeof o.text === 'string') {
      const rest = o.text.replace(/<!date\^\d+\^[^|<>]+\|[^<>|]+>/g, '');
      expect(rest.includes('<'), `${path}: raw < in mrkdwn: ${rest.slice(0, 120)}`).toBe(false);
      expect(rest.replace(/(^|\n)>/g, '$1').includes('>'), `${path}: raw > in mrkdwn`).toBe(false);
      expect(/&(?!(?:amp|lt|gt);)/.test(rest), `${path}: bare & in mrkdwn`).toBe(false);
      expect(BROADCAST_WORD.test(rest), `${path}: broadcast word`).toBe(false);
    }
    if (o.type === 'plain_text' && typeof o.text === 'string') {
      expect(/<(?:[!@#]|https?:|mailto:)/i.test(o.text), `${path}: token opener in plain text`).toBe(false);
      expect(BROADCAST_WORD.test(o.text), `${path}: broadcast word`).toBe(false);
    }
    for (const [k, v] of Object.entries(o)) walk(v, `${path}.${k}`);
  };
  walk(view.blocks, 'blocks');
  walk(view.title, 'title');
  if (view.private_metadata) expect(decodeModalMeta(view.private_metadata).ok).toBe(true);
}

const inputs = (view: ModalView) =>
  view.blocks.filter((b) => b.type === 'input') as unknown as Array<{ block_id: string; element: Obj }>;
const inputOf = (view: ModalView, blockId: string) => inputs(view).find((b) => b.block_id === blockId)?.element;

describe('reason modal', () => {
  it.each(ALERT_STATUSES.filter((s) => !s.startsWith('closed')))('is valid for a %s alert', (status) => {
    const view = renderCloseModal(base({ status }), META);
    assertSafeModal(view);
    expect(view.callback_id).toBe(VIEWS.closeModal);
    expect(decodeModalMeta(view.private_metadata)).toEqual({ ok: true, value: META });
    expect(view.title.text).toBe('Close COT-123');
    const reason = inputOf(view, BLOCKS.closeReason);
    expect(reason).toMatchObject({ action_id: INPUTS.closeReason, multiline: true, max_length: REASON_WORDS_MAX });
    expect(inputOf(view, BLOCKS.closeDisposition)).not.toHaveProperty('initial_option');
  });

  it('preselects the disposition carried in its metadata', () => {
    const view = renderCloseModal(base(), { ...META, d: 'true_positive_benign' });
    expect(inputOf(view, BLOCKS.closeDisposition)?.initial_option).toMatchObject({ value: 'true_positive_benign' });
  });

  it('shown again: the note above, what the analyst wrote prefilled', () => {
    const view = renderCloseModal(base(), META, { notice: ':warning: changed', words: 'my words' });
    assertSafeModal(view);
    expect(view.blocks[0]).toMatchObject({ type: 'section', text: { text: ':warning: changed' } });
    expect(inputOf(view, BLOCKS.closeReason)?.initial_value).toBe('my words');
  });

  it.each(HOSTILE.map((h, i) => [i, h]))('hostile title #%i cannot ping, link or break it', (_, h) => {
    assertSafeModal(renderCloseModal(base({ title: h, displayId: h.slice(0, 64) || 'COT-1' }), META));
  });

  it.each([
    [
      'valid',
      'false_positive',
      ' Known scanner ',
      { ok: true, status: 'closed_false_positive', words: 'Known scanner' },
    ],
    ['benign', 'true_positive_benign', 'x', { ok: true, status: 'closed_true_positive_benign' }],
    ['no disposition', undefined, 'x', { ok: false, errors: { [BLOCKS.closeDisposition]: expect.any(String) } }],
    ['foreign disposition', 'delete_alert', 'x', { ok: false }],
    ['blank reason', 'true_positive', ' \n ', { ok: false, errors: { [BLOCKS.closeReason]: expect.any(String) } }],
    ['reason too long', 'true_positive', 'r'.repeat(REASON_WORDS_MAX + 1), { ok: false }],
  ])('reads a submission: %s', (_, d, words, expected) => {
    const values = {
      [BLOCKS.closeDisposition]: { [INPUTS.closeDisposition]: { selected_option: d ? { value: d } : null } },
      [BLOCKS.closeReason]: { [INPUTS.closeReason]: { value: words } },
    };
    expect(readCloseForm(values)).toMatchObject(expected);
  });

  it('reads nothing from an empty submission without throwing', () => {
    expect(readCloseForm(undefined)).toMatchObject({ ok: false });
  });
});

describe('edit modal', () => {
  it('is prefilled with the current title and description, verbatim', () => {
    const a = base({ title: 'Suspicious <login> & "stuff"', description: 'Line 1\nLine 2 <!here>' });
    const view = renderEditModal(a, META);
    assertSafeModal(view);
    expect(view.callback_id).toBe(VIEWS.editModal);
    expect(view.submit?.text).toBe('Save');
    expect(inputOf(view, BLOCKS.editTitle)).toMatchObject({
      action_id: INPUTS.editTitle,
      max_length: EDIT_LIMITS.title,
      initial_value: 'Suspicious <login> & "stuff"',
    });
    expect(inputOf(view, BLOCKS.editDescription)).toMatchObject({
      action_id: INPUTS.editDescription,
      multiline: true,
      max_length: 3_000,
      initial_value: 'Line 1\nLine 2 <!here>',
    });
  });

  it('a null description gives an empty optional input', () => {
    const view = renderEditModal(base({ description: null }), META);
    expect(inputOf(view, BLOCKS.editDescription)).not.toHaveProperty('initial_value');
  });

  it('a description over 3,000 characters is not offered truncated: read-only excerpt with its length', () => {
    const view = renderEditModal(base({ description: LONG_DESCRIPTION }), META);
    assertSafeModal(view);
    expect(inputOf(view, BLOCKS.editDescription)).toBeUndefined();
    const text = JSON.stringify(view.blocks);
    expect(text).toContain(`${LONG_DESCRIPTION.length.toLocaleString('en-US')} characters, too long to edit in Slack`);
    expect(text).toContain('Only the title is saved from here');
    expect(view.submit?.text).toBe('Save');
  });

  it('exactly 3,000 characters is still editable, whole', () => {
    const d = 'd'.repeat(3_000);
    expect(inputOf(renderEditModal(base({ description: d }), META), BLOCKS.editDescription)?.initial_value).toBe(d);
  });

  it('a title longer than Cotool accepts is read-only too; with nothing editable there is no Save', () => {
    const view = renderEditModal(base({ title: LONG_TITLE, description: LONG_DESCRIPTION }), META);
    assertSafeModal(view);
    expect(inputs(view)).toHaveLength(0);
    expect(view.submit).toBeUndefined();
  });

  it.each(HOSTILE.map((h, i) => [i, h]))('hostile title and description #%i', (_, h) => {
    const view = renderEditModal(base({ title: h, description: h }), META);
    assertSafeModal(view);
    const prefill = editPrefill(base({ title: h, description: h }));
    for (const b of inputs(view)) {
      const v = b.element.initial_value;
      if (typeof v === 'string') expect([prefill.title, prefill.description]).toContain(v);
    }
  });

  it.each([
    ['both', 'T', 'D', { ok: true, title: 'T', description: 'D' }],
    ['title trimmed to one line', '  A\nB  ', 'D', { ok: true, title: 'A B' }],
    ['empty title', '   ', 'D', { ok: false, errors: { [BLOCKS.editTitle]: expect.any(String) } }],
    [
      'title too long',
      't'.repeat(501),
      'D',
      { ok: false, errors: { [BLOCKS.editTitle]: expect.stringContaining('501') } },
    ],
    ['null description', 'T', null, { ok: true, description: '' }],
  ])('reads a submission: %s', (_, title, description, expected) => {
    const values = {
      [BLOCKS.editTitle]: { [INPUTS.editTitle]: { value: title } },
      [BLOCKS.editDescription]: { [INPUTS.editDescription]: { value: description } },
    };
    expect(readEditForm(values)).toMatchObject(expected);
  });

  it('a form without a description input reads no description (so none is sent)', () => {
    expect(readEditForm({ [BLOCKS.editTitle]: { [INPUTS.editTitle]: { value: 'T' } } })).toEqual({
      ok: true,
      title: 'T',
      description: undefined,
    });
  });
});

describe('edit thread note', () => {
  it.each(HOSTILE.slice(0, 30).map((h, i) => [i, h]))('escapes hostile titles #%i', (_, h) => {
    const view = renderEditReply(base({ displayId: 'COT-9' }), {
      by: { id: 'U0JANE', name: 'Jane' },
      title: { from: h, to: `${h} v2` },
      descriptionChanged: true,
    });
    expect(validateBlocks(view.blocks, 'message')).toEqual([]);
    const text = JSON.stringify(view).replaceAll('<@U0JANE>', '');
    expect(text).not.toMatch(/<!|<@|<#|<https?:|<mailto:/);
  });

  it('mentions the analyst and says what changed', () => {
    const view = renderEditReply(base({ displayId: 'COT-9' }), {
      by: { id: 'U0JANE', name: 'Jane' },
      title: null,
      descriptionChanged: true,
    });
    expect(JSON.stringify(view.blocks)).toContain('<@U0JANE> edited the description of *COT-9*');
  });
});

describe('modal frames', () => {
  it.each(HOSTILE.slice(0, 30).map((h, i) => [i, h]))('loading and notice views hold hostile ids #%i', (_, h) => {
    assertSafeModal(loadingModal(VIEWS.editModal, 'Edit', h));
    assertSafeModal(noticeModal(VIEWS.closeModal, 'Close', h, ':warning: escaped text &lt;x&gt;'));
  });

  it('a notice longer than a section holds is clipped, not refused', () => {
    assertSafeModal(noticeModal(VIEWS.closeModal, 'Close', 'COT-1', 'a'.repeat(10_000)));
  });
});
