import { describe, expect, it } from 'vitest';
import { CARD_OPS } from '../../src/slack/ids.ts';
import {
  type ActionPayload,
  decodeAction,
  decodeModalMeta,
  encodeAction,
  encodeModalMeta,
  type ModalMeta,
} from '../../src/slack/payloads.ts';
import { LIMITS } from '../../src/slack/text.ts';

const ID = '8f14e45f-ceea-467a-9c1a-6c1f8b3d2e5a';
const UPDATED = '2026-11-23T10:05:00.123456+00:00';

describe('action payloads', () => {
  it.each(CARD_OPS)('round-trips %s and fits an overflow option value', (op) => {
    const p: ActionPayload = { v: 1, op, id: ID, u: UPDATED };
    const s = encodeAction(p);
    expect(s.length).toBeLessThanOrEqual(LIMITS.overflowOptionValue);
    expect(decodeAction(s)).toEqual({ ok: true, value: p });
  });

  it('round-trips the card channel and ts', () => {
    const p: ActionPayload = { v: 1, op: 'close_fp', id: ID, u: UPDATED, c: 'C0123ABCDEF', t: '1732356300.123456' };
    expect(decodeAction(encodeAction(p))).toEqual({ ok: true, value: p });
  });

  it('fits 150 chars for the longest id and updatedAt the codec accepts', () => {
    const s = encodeAction({ v: 1, op: 'close_benign', id: 'x'.repeat(64), u: 'y'.repeat(40) });
    expect(s.length).toBeLessThanOrEqual(LIMITS.overflowOptionValue);
  });

  it('accepts opaque ids (no UUID check)', () => {
    for (const id of ['COT-123', '42', 'alert_01HF3ZQ', 'a'.repeat(64)]) {
      expect(decodeAction(encodeAction({ v: 1, op: 'edit', id, u: UPDATED })).ok).toBe(true);
    }
  });

  it('refuses to encode what it would refuse to decode', () => {
    expect(() => encodeAction({ v: 1, op: 'edit', id: '', u: UPDATED })).toThrow();
    expect(() => encodeAction({ v: 1, op: 'edit', id: 'x'.repeat(65), u: UPDATED })).toThrow();
    expect(() => encodeAction({ v: 1, op: 'nope' as 'edit', id: ID, u: UPDATED })).toThrow();
  });

  const valid = { v: 1, op: 'close_fp', id: ID, u: UPDATED };
  it.each([
    ['not JSON', 'close_fp:abc', 'malformed'],
    ['legacy string', `task-${ID}`, 'malformed'],
    ['empty', '', 'malformed'],
    ['JSON null', 'null', 'malformed'],
    ['JSON array', '[1,"close_fp"]', 'malformed'],
    ['JSON string', '"close_fp"', 'malformed'],
    ['JSON number', '1', 'malformed'],
    ['old version', JSON.stringify({ ...valid, v: 0 }), 'version'],
    ['new version', JSON.stringify({ ...valid, v: 2 }), 'version'],
    ['version as string', JSON.stringify({ ...valid, v: '1' }), 'version'],
    ['no version', JSON.stringify({ op: 'close_fp', id: ID, u: UPDATED }), 'malformed'],
    ['unknown op', JSON.stringify({ ...valid, op: 'delete' }), 'malformed'],
    ['op with the right prefix', JSON.stringify({ ...valid, op: 'close_fp ' }), 'malformed'],
    ['missing id', JSON.stringify({ v: 1, op: 'close_fp', u: UPDATED }), 'malformed'],
    ['empty id', JSON.stringify({ ...valid, id: '' }), 'malformed'],
    ['id too long', JSON.stringify({ ...valid, id: 'x'.repeat(65) }), 'malformed'],
    ['id with a space', JSON.stringify({ ...valid, id: 'a b' }), 'malformed'],
    ['id with a quote', JSON.stringify({ ...valid, id: 'a"b' }), 'malformed'],
    ['id as number', JSON.stringify({ ...valid, id: 123 }), 'malformed'],
    ['id as object', JSON.stringify({ ...valid, id: { $ne: null } }), 'malformed'],
    ['extra key', JSON.stringify({ ...valid, admin: true }), 'malformed'],
    ['bad channel', JSON.stringify({ ...valid, c: '<#C1>' }), 'malformed'],
    ['bad ts', JSON.stringify({ ...valid, t: 'now' }), 'malformed'],
    [
      '__proto__ key',
      `{"v":1,"op":"close_fp","id":"${ID}","u":"${UPDATED}","__proto__":{"polluted":true}}`,
      'malformed',
    ],
    [
      'constructor key',
      `{"v":1,"op":"close_fp","id":"${ID}","u":"${UPDATED}","constructor":{"prototype":{"polluted":true}}}`,
      'malformed',
    ],
    ['oversized', JSON.stringify({ ...valid, pad: 'x'.repeat(2_000) }), 'too_long'],
    ['a megabyte', 'x'.repeat(1_000_000), 'too_long'],
  ])('refuses %s', (_, input, reason) => {
    expect(decodeAction(input)).toEqual({ ok: false, reason });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses non-string input without throwing', () => {
    for (const input of [undefined, null, 42, {}, ['x']])
      expect(decodeAction(input)).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('modal metadata', () => {
  it('round-trips with and without the optional parts', () => {
    const full: ModalMeta = { v: 1, id: ID, u: UPDATED, c: 'C0123ABCDEF', t: '1732356300.123456', d: 'false_positive' };
    const bare: ModalMeta = { v: 1, id: ID, u: UPDATED };
    for (const m of [full, bare]) {
      const s = encodeModalMeta(m);
      expect(s.length).toBeLessThanOrEqual(LIMITS.privateMetadata);
      expect(decodeModalMeta(s)).toEqual({ ok: true, value: m });
    }
  });

  it.each([
    ['not JSON', '{', 'malformed'],
    ['new version', JSON.stringify({ v: 2, id: ID, u: UPDATED }), 'version'],
    ['unknown disposition', JSON.stringify({ v: 1, id: ID, u: UPDATED, d: 'maybe' }), 'malformed'],
    ['an action payload', JSON.stringify({ v: 1, op: 'edit', id: ID, u: UPDATED }), 'malformed'],
    ['oversized', 'x'.repeat(LIMITS.privateMetadata + 1), 'too_long'],
  ])('refuses %s', (_, input, reason) => {
    expect(decodeModalMeta(input)).toEqual({ ok: false, reason });
  });
});
