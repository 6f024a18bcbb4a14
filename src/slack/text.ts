/**
 * Untrusted text → Slack text. Every alert field (title, description, names, refs) is written by
 * whoever raised the alert — for phishing alerts, by the attacker — so every view passes every such
 * string through `mrkdwn()` or `plain()` here, sized for the field it lands in.
 *
 * What the escaping guarantees, and why:
 * - `&`, `<`, `>` become entities (Slack's own rule), so no `<!channel>`, `<@U…>`, `<#C…>`,
 *   `<!subteam^…>` or `<url|label>` can be written by an alert: mentions and disguised links need `<`.
 * - The bare words `@channel`, `@here`, `@everyone` (and the legacy `@group`) get an invisible word
 *   joiner after the `@`: they do not ping today (we never post with `link_names`), and they will not
 *   if a future surface or option starts parsing bare words. Only the whole word counts: an `@` inside
 *   an address (`bob@heretic.io`, `x@groupon.com`) or a word continuing past it (`@heretic`) is left
 *   alone, so indicators copied out of a card are byte for byte what the alert holds.
 * - C0/C1 control characters (except tab and newline) and bidi embedding/override/isolate controls
 *   are removed: the former can break the payload or terminals that echo it, the latter can flip the
 *   visual order of whatever follows on the line (our own labels included). Natural right-to-left
 *   text needs neither and is kept as is.
 * - Mrkdwn emphasis (`*`, `_`, `~`, backticks) is deliberately NOT altered: analysts copy indicators
 *   (hashes, paths, snake_case names) out of cards, and invisible characters inside them would
 *   corrupt the copy. Formatting cannot leave its own text object, so the remaining structure risk
 *   is a multi-line value faking lines of our own (e.g. "✅ Closed as false positive"): views put
 *   single-line values through `oneLine()` and show multi-line ones only as a block quote (`quote()`).
 * - Views set `verbatim: true` on mrkdwn objects so Slack does not linkify channel names or bare
 *   URLs inside alert text: a phishing URL in a description is shown, never one click away.
 */
import { clip, ELLIPSIS, truncate } from '../core/text.ts';

/** Slack's published limits (UTF-16 code units, which is what Slack counts). */
export const LIMITS = {
  /** Slack truncates `text` beyond this. */
  messageText: 40_000,
  /** What we allow our own notification fallback `text` to use. */
  fallbackText: 3_000,
  messageBlocks: 50,
  surfaceBlocks: 100,
  sectionText: 3_000,
  sectionField: 2_000,
  sectionFields: 10,
  header: 150,
  contextElements: 10,
  contextText: 3_000,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2_000,
  url: 3_000,
  actionId: 255,
  blockId: 255,
  callbackId: 255,
  overflowOptionText: 75,
  overflowOptionValue: 150,
  overflowOptionsMin: 2,
  overflowOptionsMax: 5,
  optionText: 75,
  optionValue: 150,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  modalTitle: 24,
  privateMetadata: 3_000,
  inputInitialValue: 3_000,
} as const;

/** U+2060 WORD JOINER: invisible, no line break, not a control character. */
const JOINER = '\u2060';

const LINE_BREAKS = /\r\n?|[\u0085\u2028\u2029]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
/**
 * A broadcast word: `@` not preceded by what can end an address's local part (so not inside
 * `ops@channelpartner.net`), followed by the keyword and then by no further letter, digit or `_`.
 */
const BROADCASTS = /(?<![\p{L}\p{N}\p{M}_.+%'-])@(?=(?:channel|here|everyone|group)(?![\p{L}\p{N}\p{M}_]))/giu;
/**
 * In plain text, `<` directly before what would open a Slack token: `<!`, `<@`, `<#`, or a URL scheme
 * of two or more characters (`<https:`, `<mailto:`). A shell redirect (`<in.txt`, `< file`) or a
 * drive letter (`<C:\x`) is not a token and is left alone.
 */
const TOKEN_OPENERS = /<(?=[!@#]|[a-z][a-z0-9+.-]+:)/giu;
/** A mrkdwn emphasis marker where it could open formatting: at the start of a word, before a non-space. */
const EMPHASIS_OPENER = /(?:^|[^\p{L}\p{N}])[*_~`](?=\S)/u;
const ENTITY = { '&': '&amp;', '<': '&lt;', '>': '&gt;' } as const;

/** Line breaks normalised to `\n`, lone surrogates replaced, control and bidi-override characters removed. */
function sanitize(s: string): string {
  return s.toWellFormed().replace(LINE_BREAKS, '\n').replace(CONTROLS, '');
}

function neutraliseBroadcasts(s: string): string {
  return s.replace(BROADCASTS, `@${JOINER}`);
}

/** The one escaping function for untrusted text inside mrkdwn. Not length-bounded: see `mrkdwn()`. */
export function escapeMrkdwn(s: string): string {
  return neutraliseBroadcasts(sanitize(s).replace(/[&<>]/g, (c) => ENTITY[c as keyof typeof ENTITY]));
}

/** Collapses all whitespace (line breaks included) to single spaces, for values that must stay on one line. */
export function oneLine(s: string): string {
  return s.replace(/[\s\u0085]+/g, ' ').trim(); // U+0085 (NEL) is not in \s but becomes a line break
}

// ---------------------------------------------------------------------------------------------
// Truncation

// The cut itself (grapheme-aware, with an ellipsis) lives in src/core/text.ts: services use it too.
export { truncate };

/** Moves a cut back to before an entity it would split (`&am|p;`). Every `&` in escaped text opens one. */
function keepEntities(s: string, end: number): number {
  const amp = s.lastIndexOf('&', end - 1);
  return amp >= 0 && !s.slice(amp, end).includes(';') ? amp : end;
}

/** Fits already-escaped mrkdwn into `max` without splitting an entity. */
export function clipMrkdwn(escaped: string, max: number): string {
  return clip(escaped, max, keepEntities);
}

/** Untrusted text for a mrkdwn object: escaped, then fitted into `max` (measured after escaping). */
export function mrkdwn(s: string, max: number): string {
  return clipMrkdwn(escapeMrkdwn(s), max);
}

/** Untrusted text for a plain_text object (headers, buttons, options, confirm dialogs, inputs). */
export function plain(s: string, max: number): string {
  return truncate(neutraliseBroadcasts(sanitize(s)).replace(TOKEN_OPENERS, `<${JOINER}`), max);
}

/**
 * A single-line untrusted value in mrkdwn whose characters must all survive (titles, detection
 * names: analysts copy indicators out of them). Slack applies `*bold*`, `_italic_`, `~strike~` and
 * `` `code` `` only where a marker opens a word, so such a value is shown as a code span, where no
 * formatting applies; anything else (snake_case, `C:\x\*`) is left as escaped text. A value that
 * itself holds a backtick cannot be a code span and is shown escaped.
 */
export function literal(s: string, max: number): string {
  const one = oneLine(s);
  if (!EMPHASIS_OPENER.test(one) || one.includes('`') || max < 3) return mrkdwn(one, max);
  return `\`${mrkdwn(one, max - 2)}\``;
}

/**
 * Untrusted text for a `rich_text` text element. Slack shows those literally — no mrkdwn, no
 * entities, no mentions or links (those are elements of their own) — so nothing is escaped: the text
 * is exactly what the alert holds, made well-formed, without control characters, broadcast words
 * neutralised, and fitted into `max`.
 */
export function richText(s: string, max: number): string {
  return truncate(neutraliseBroadcasts(sanitize(s)), max);
}

/**
 * Untrusted multi-line text as a mrkdwn block quote: at most `maxChars` of the source and `maxLines`
 * lines, every line prefixed with `>`, so nothing in it can pass for a line of our own.
 */
export function quote(s: string, opts: { maxChars: number; maxLines: number; max: number }): string {
  const lines = escapeMrkdwn(truncate(s.trim(), opts.maxChars)).split('\n');
  const shown = lines.length > opts.maxLines ? [...lines.slice(0, opts.maxLines), ELLIPSIS] : lines;
  return clipMrkdwn(shown.map((line) => `>${line.trimEnd()}`).join('\n'), opts.max);
}

// ---------------------------------------------------------------------------------------------
// URLs and dates

/** The URL if it is an absolute http(s) URL without credentials that fits Slack's url fields; else null. */
export function safeUrl(s: string | null | undefined): string | null {
  if (!s || s.length > LIMITS.url) return null;
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  if (url.username || url.password) return null;
  return url.href.length <= LIMITS.url ? url.href : null;
}

/** A date, or a date-time with an explicit offset (a bare local time would depend on the host's zone). */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2}))?$/i;

/**
 * A Slack date token that each reader sees in their own time zone, with a UTC fallback for clients
 * that cannot render it; `format` uses Slack's `{date_short_pretty}`-style tokens. A value that is
 * not an ISO timestamp is shown as (escaped) text.
 */
export function slackDate(iso: string, format = '{date_short_pretty} at {time}'): string {
  const ms = ISO_DATE.test(iso) ? Date.parse(iso) : Number.NaN;
  if (!Number.isFinite(ms)) return mrkdwn(oneLine(iso), 64);
  const fallback = `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<!date^${Math.floor(ms / 1000)}^${format}|${fallback}>`;
}
