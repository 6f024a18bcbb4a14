/**
 * The next moves' codecs (issue 14): every shape round-trips; tampered, oversized, old-version and
 * unversioned values are refused without throwing; encodings are plain ASCII (no `<`, `@`, `&`).
 */
import { describe, expect, it } from 'vitest';
import {
  type AnswerMeta,
  type DecodeResult,
  decodeAnswerMeta,
  decodeAskMeta,
  decodeDigestMute,
  decodeMuteMeta,
  decodeMuteRef,
  decodeQuestionRef,
  encodeAnswerMeta,
  encodeAskMeta,
  encodeDigestMute,
  encodeMuteMeta,
  encodeMuteRef,
  encodeQuestionRef,
  MUTE_KEY_MAX,
  MUTE_NAME_MAX,
  type MuteMeta,
  muteKeyFits,
  muteName,
} from '../../src/slack/payloads.ts';
import { LIMITS } from '../../src/slack/text.ts';
import { HOSTILE } from './hostile.ts';

const QID = '0b7e6f1c-2d3a-4b5c-8d9e-0f1a2b3c4d5e';
const META: MuteMeta = {
  v: 1,
  alertId: '8f14e45f-ceea-467a-9c1a-6c1f8b3d2e5a',
  channel: 'C0ALERTS',
  detectionKey: 'id:det-42',
  detectionName: 'Impossible travel',
  stormId: null,
};

type Codec<T> = { name: string; encode: (v: T) => string; decode: (s: unknown) => DecodeResult<T>; sample: T };
const codecs = [
  { name: 'QuestionRef', encode: encodeQuestionRef, decode: decodeQuestionRef, sample: { v: 1, questionId: QID } },
  {
    name: 'AnswerMeta',
    encode: encodeAnswerMeta,
    decode: decodeAnswerMeta,
    sample: { v: 1, questionId: QID, answer: 'no' } as AnswerMeta,
  },
  { name: 'MuteMeta', encode: encodeMuteMeta, decode: decodeMuteMeta, sample: META },
  { name: 'MuteRef', encode: encodeMuteRef, decode: decodeMuteRef, sample: { v: 1, muteId: QID } },
  {
    name: 'DigestMute',
    encode: encodeDigestMute,
    decode: decodeDigestMute,
    sample: { v: 1, s: 'storm-1', g: 'det-42' },
  },
  {
    name: 'AskMeta',
    encode: encodeAskMeta,
    decode: decodeAskMeta,
    sample: { v: 1, id: 'a1', u: '2026-11-23T10:05:00.000Z', c: 'C0ALERTS', t: '1795000000.000100' },
  },
] as unknown as Codec<Record<string, unknown>>[];

describe.each(codecs)('$name', ({ encode, decode, sample }) => {
  it('round-trips', () => {
    expect(decode(encode(sample))).toEqual({ ok: true, value: sample });
  });

  it('refuses an old or future version, an unversioned value, extra keys and garbage — without throwing', () => {
    const json = encode(sample);
    const raw = JSON.parse(json) as Record<string, unknown>;
    expect(decode(JSON.stringify({ ...raw, v: 0 }))).toEqual({ ok: false, reason: 'version' });
    expect(decode(JSON.stringify({ ...raw, v: 2 }))).toEqual({ ok: false, reason: 'version' });
    const { v: _, ...unversioned } = raw;
    expect(decode(JSON.stringify(unversioned))).toMatchObject({ ok: false });
    expect(decode(JSON.stringify({ ...raw, admin: true }))).toEqual({ ok: false, reason: 'malformed' });
    for (const bad of [undefined, null, 42, '', 'x', '[]', '{', json.slice(0, -1), '"str"', '{"v":1}']) {
      expect(decode(bad).ok).toBe(false);
    }
    expect(decode(`${json}${' '.repeat(4_000)}`)).toEqual({ ok: false, reason: 'too_long' });
  });

  it('refuses every field swapped for a hostile string', () => {
    const json = encode(sample);
    const raw = JSON.parse(json) as Record<string, unknown>;
    for (const key of Object.keys(raw).filter((k) => k !== 'v')) {
      for (const h of ['', '"', 'a"b', 'a\\b', '\u0000', 'x'.repeat(3_000), 42, null, ['x']]) {
        const tampered = decode(JSON.stringify({ ...raw, [key]: h }));
        // A hostile value is refused, except where the field legitimately holds free text (or null).
        const free = ['detectionKey', 'detectionName', 'g'].includes(key);
        const nullable = h === null && ['alertId', 'stormId'].includes(key);
        if (tampered.ok) expect({ key, h, free: free || nullable }).toMatchObject({ free: true });
      }
    }
  });

  it('encodes to plain ASCII: no token opener, broadcast or entity even unseen', () => {
    expect(encode(sample)).toMatch(/^[\x20-\x7e]+$/);
  });
});

describe('specific refusals', () => {
  it('answers are yes or no', () => {
    expect(decodeAnswerMeta(JSON.stringify({ v: 1, questionId: QID, answer: 'maybe' })).ok).toBe(false);
    expect(() => encodeAnswerMeta({ v: 1, questionId: QID, answer: 'maybe' as 'yes' })).toThrow();
  });

  it('a mute names a real channel id, a name of at most 100 characters and no control characters', () => {
    const raw = JSON.parse(encodeMuteMeta(META)) as Record<string, unknown>;
    expect(decodeMuteMeta(JSON.stringify({ ...raw, channel: '#general' })).ok).toBe(false);
    expect(decodeMuteMeta(JSON.stringify({ ...raw, detectionName: 'n'.repeat(MUTE_NAME_MAX + 1) })).ok).toBe(false);
    expect(decodeMuteMeta(JSON.stringify({ ...raw, detectionName: 'a\u202eb' })).ok).toBe(false);
    expect(decodeMuteMeta(JSON.stringify({ ...raw, detectionKey: 'k'.repeat(MUTE_KEY_MAX + 1) })).ok).toBe(false);
    expect(decodeMuteMeta(JSON.stringify({ ...raw, alertId: undefined })).ok).toBe(false);
    expect(decodeMuteMeta(encodeMuteMeta({ ...META, alertId: null, stormId: 'storm-1' })).ok).toBe(true);
  });

  it('the longest mute metadata fits private_metadata, even all non-ASCII', () => {
    const worst: MuteMeta = {
      ...META,
      alertId: 'a'.repeat(64),
      detectionKey: `name:${'😀'.repeat((MUTE_KEY_MAX - 5) / 2)}`.slice(0, MUTE_KEY_MAX),
      detectionName: '😀'.repeat(MUTE_NAME_MAX / 2),
      stormId: 's'.repeat(100),
    };
    const s = encodeMuteMeta(worst);
    expect(s.length).toBeLessThanOrEqual(LIMITS.privateMetadata);
    expect(decodeMuteMeta(s)).toEqual({ ok: true, value: worst });
  });

  it.each(HOSTILE.map((h, i) => [i, h] as const))('muteName makes hostile name #%i carriable', (_, h) => {
    const name = muteName(h);
    const s = encodeMuteMeta({ ...META, detectionName: name, detectionKey: `name:${h}`.slice(0, MUTE_KEY_MAX) });
    expect(s).toMatch(/^[\x20-\x7e]+$/);
    expect(decodeMuteMeta(s)).toMatchObject({ ok: true, value: { detectionName: name } });
  });

  it('a detection key longer than a modal can carry is not offered', () => {
    expect(muteKeyFits('id:x')).toBe(true);
    expect(muteKeyFits(null)).toBe(false);
    expect(muteKeyFits(`name:${'n'.repeat(MUTE_KEY_MAX)}`)).toBe(false);
  });
});
