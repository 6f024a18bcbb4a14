import { describe, expect, it } from 'vitest';
import {
  decodeCloseAllMeta,
  decodeDigestButton,
  encodeCloseAllMeta,
  encodeDigestButton,
} from '../../src/slack/digest-payloads.ts';
import { LIMITS } from '../../src/slack/text.ts';

describe('digest button and modal codecs', () => {
  const longKey = Array.from(`name:${'👨‍👩‍👧‍👦@here<!channel>'.repeat(20)}`)
    .slice(0, 105)
    .join('');

  it('round-trips every shape, the longest key included, within Slack limits', () => {
    const shapes = [
      { v: 1, k: 'show', s: 'storm-C0ALERTS-1795000000', g: 'det-1', p: 0 },
      { v: 1, k: 'show', s: 'storm-1', p: 12 },
      { v: 1, k: 'close', s: 'storm-1', g: 'escalated' },
      { v: 1, k: 'close', s: 'x'.repeat(100), g: longKey },
    ] as const;
    for (const shape of shapes) {
      const value = encodeDigestButton(shape);
      expect(value.length).toBeLessThanOrEqual(LIMITS.buttonValue);
      expect(value).not.toMatch(/@here|<!|[^\x20-\x7e]/);
      expect(decodeDigestButton(value)).toEqual({ ok: true, value: shape });
    }
    const meta = { v: 1, s: 'storm-1', g: longKey, n: 60 } as const;
    expect(decodeCloseAllMeta(encodeCloseAllMeta(meta))).toEqual({ ok: true, value: meta });
  });

  it('refuses tampered, oversized, unversioned and old-version values', () => {
    const good = encodeDigestButton({ v: 1, k: 'show', s: 'storm-1', g: 'det-1', p: 0 });
    const bad: unknown[] = [
      undefined,
      42,
      '',
      'not json',
      '[1]',
      good.replace('"p":0', '"p":-1'),
      good.replace('"p":0', '"p":99999999'),
      good.replace('"k":"show"', '"k":"delete"'),
      good.replace('"v":1', '"v":2'),
      good.replace('"v":1,', ''),
      good.replace('}', ',"extra":true}'),
      good.replace('"s":"storm-1"', '"s":"storm \\"1"'),
      good.replace('"g":"det-1"', '"g":"det\\u202e1"'),
      good.replace('"g":"det-1"', `"g":"${'x'.repeat(201)}"`),
      `${good}${' '.repeat(LIMITS.buttonValue)}`,
    ];
    for (const value of bad) expect(decodeDigestButton(value).ok, String(value)).toBe(false);
    expect(decodeCloseAllMeta(good).ok).toBe(false);
    expect(decodeCloseAllMeta('{"v":1,"s":"storm-1","g":"det-1","n":-5}').ok).toBe(false);
  });

  it('refuses to encode what would not come back', () => {
    expect(() => encodeDigestButton({ v: 1, k: 'show', s: 'has space', p: 0 })).toThrow();
    expect(() => encodeCloseAllMeta({ v: 1, s: 'storm-1', g: 'x'.repeat(300), n: 1 })).toThrow();
  });
});
