/**
 * Cutting text to a length without breaking it: on a grapheme boundary (never inside an emoji, a
 * flag or a combining sequence), ending with an ellipsis. Pure; Slack's views and the services share it.
 */

import { randomBytes } from 'node:crypto';

export const ELLIPSIS = '…';

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
/** A cut that would drop more than this many code units to respect a grapheme (e.g. 500 stacked
 * combining marks), or would leave nothing, falls back to the nearest code point boundary. */
const MAX_GRAPHEME_BACKOFF = 32;

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;

/** The largest index ≤ `limit` where `s` may be cut: a grapheme boundary, else a code point boundary. */
function cutIndex(s: string, limit: number): number {
  let end = 0;
  // Boundaries up to `limit` depend only on the text up to and including the code point at `limit`.
  for (const { index } of graphemes.segment(s.slice(0, limit + 2))) {
    if (index > limit) break;
    end = index;
  }
  if (end > 0 && limit - end <= MAX_GRAPHEME_BACKOFF) return end;
  end = isHighSurrogate(s.charCodeAt(limit - 1)) ? limit - 1 : limit;
  while (end > 0 && s[end - 1] === '\u200d') end--; // no dangling zero-width joiner before the ellipsis
  return end;
}

export function clip(s: string, max: number, adjust: (s: string, end: number) => number = (_, end) => end): string {
  if (s.length <= max) return s;
  if (max < 1) return '';
  return s.slice(0, adjust(s, cutIndex(s, max - 1))).trimEnd() + ELLIPSIS;
}

/** A short reference shown to the user and written to the log with the error. */
export function newRef(): string {
  return randomBytes(4).toString('hex');
}

/** Fits `s` into `max` UTF-16 code units, cutting on a grapheme boundary and appending `…` when cut. */
export function truncate(s: string, max: number): string {
  return clip(s, max);
}
