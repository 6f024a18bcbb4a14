/**
 * The text of a `/cotool` command → what the user asked for. Pure: no I/O, no Slack, no Cotool.
 *
 * Reading rules (the README lists them for users):
 * - Surrounding spaces are ignored; control, zero-width and bidi characters are dropped; any run of
 *   whitespace counts as one space. Text over 1000 characters is refused before anything else.
 * - Slack sends `&`, `<`, `>` typed by the user as entities and wraps links and mentions in
 *   `<…>` / `<…|label>`; a link token stands for its URL, a mention for its label (or nothing).
 * - An alert is named by `COT-123` in any case, with or without the dash (`cot 123`, `COT123`, a
 *   typographic dash), leading zeros dropped (`COT-0042` is `COT-42`); by its UUID (any 8-4-4-4-12
 *   hex, not only RFC 4122 versions); or by a link on the Cotool web app's host whose path (or
 *   query) names one of those. A bare number is not taken as an id: the answer suggests `COT-n`.
 * - `run <uuid>` (or a Cotool link holding one); `list [words…]` where each word is a status,
 *   severity or source (aliases below; commas work too; no status word means the live ones);
 *   `search <text>` with 1–500 characters; `stats [7d|30d]` (the noise report, 7 days by default);
 *   `mutes` (the detections muted now, each with Unmute);
 *   `help`, `?` or nothing for the help.
 * - Anything else is `invalid`, with a message that says what was wrong and what would work.
 *   Messages are plain text quoting at most 40 characters of the input; the view escapes them.
 */
import {
  ALERT_STATUSES,
  CLOSED_STATUSES,
  type KnownAlertStatus,
  type KnownSeverity,
  LIVE_STATUSES,
  SEVERITIES,
  SOURCE_NAMES,
} from './alert.ts';

export const MAX_COMMAND_CHARS = 1_000;
/** The list endpoint's limit on `q`. */
export const MAX_SEARCH_CHARS = 500;
export const MAX_PAGE = 1_000;
/** Display numbers beyond this many digits are not ids anyone typed on purpose. */
const MAX_ID_DIGITS = 12;

export type SourceName = (typeof SOURCE_NAMES)[number];
export type AlertFilter = { status: KnownAlertStatus[]; severity: KnownSeverity[]; source: SourceName[] };

export type Command =
  | { kind: 'lookup'; ref: string }
  | { kind: 'run'; runId: string }
  | ({ kind: 'list'; page: number } & AlertFilter)
  | { kind: 'search'; q: string }
  | { kind: 'stats'; days: StatsWindow }
  /** The mutes holding now, each with Unmute. */
  | { kind: 'mutes' }
  | { kind: 'help' }
  | { kind: 'invalid'; message: string };

/** The noise report's windows, in days. */
export const STATS_WINDOWS = [7, 30] as const;
export type StatsWindow = (typeof STATS_WINDOWS)[number];

export type ParseOptions = {
  /** The Cotool web app's base URL (COTOOL_APP_URL): links on its host are read for alert ids. */
  appUrl?: string | null;
};

// ---------------------------------------------------------------------------------------------
// Vocabulary

const STATUS_WORDS: Record<string, readonly KnownAlertStatus[]> = {
  open: ['open'],
  new: ['open'],
  in_progress: ['in_progress'],
  inprogress: ['in_progress'],
  progress: ['in_progress'],
  wip: ['in_progress'],
  triaging: ['in_progress'],
  escalated: ['escalated'],
  escalation: ['escalated'],
  esc: ['escalated'],
  live: LIVE_STATUSES,
  active: LIVE_STATUSES,
  unresolved: LIVE_STATUSES,
  closed: CLOSED_STATUSES,
  resolved: CLOSED_STATUSES,
  fp: ['closed_false_positive'],
  false_positive: ['closed_false_positive'],
  falsepositive: ['closed_false_positive'],
  closed_false_positive: ['closed_false_positive'],
  tp: ['closed_true_positive'],
  true_positive: ['closed_true_positive'],
  truepositive: ['closed_true_positive'],
  closed_true_positive: ['closed_true_positive'],
  benign: ['closed_true_positive_benign'],
  tpb: ['closed_true_positive_benign'],
  true_positive_benign: ['closed_true_positive_benign'],
  closed_benign: ['closed_true_positive_benign'],
  closed_true_positive_benign: ['closed_true_positive_benign'],
};
const ALL_WORDS = new Set(['all', 'any', 'everything']);
const SEVERITY_WORDS: Record<string, KnownSeverity> = {
  critical: 'critical',
  crit: 'critical',
  high: 'high',
  medium: 'medium',
  med: 'medium',
  low: 'low',
};
const SOURCE_WORDS: Record<string, SourceName> = {
  ...Object.fromEntries(SOURCE_NAMES.map((n) => [n, n])),
  detection: 'cotool_detection',
  detections: 'cotool_detection',
  cotool: 'cotool_detection',
  jira_automation: 'jira-automation',
  schedule: 'cron',
  scheduled: 'cron',
  h1: 'hackerone',
};
/** The words the help and the "not a filter" answer show (aliases left out). */
export const FILTER_WORDS = {
  status: ['live', 'open', 'in_progress', 'escalated', 'closed', 'fp', 'benign', 'tp', 'all'],
  severity: [...SEVERITIES],
  source: ['detection', ...SOURCE_NAMES.filter((n) => n !== 'cotool_detection')],
} as const;

const HELP_WORDS = new Set(['help', 'h', '?', '-h', '--help', 'usage']);
const LOOKUP_WORDS = new Set(['lookup', 'show', 'get', 'view', 'open']);
const RUN_WORDS = new Set(['run', 'runs']);
const LIST_WORDS = new Set(['list', 'ls']);
const SEARCH_WORDS = new Set(['search', 'find']);
const STATS_WORDS = new Set(['stats', 'stat', 'noise', 'report']);
const MUTES_WORDS = new Set(['mutes', 'muted', 'mute']);
const STATS_WINDOW_WORDS: Record<string, StatsWindow> = {
  '7d': 7,
  '7': 7,
  '7days': 7,
  week: 7,
  '1w': 7,
  '30d': 30,
  '30': 30,
  '30days': 30,
  month: 30,
};

// ---------------------------------------------------------------------------------------------
// Cleaning

// biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
const CONTROLS = /[\u0000-\u0008\u000e-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;
const DASHES = '-\u2010\u2011\u2012\u2013\u2014\u2212';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DISPLAY_ID = new RegExp(`^cot\\s*[${DASHES}]?\\s*(\\d+)$`, 'i');
const DISPLAY_PREFIX_ONLY = new RegExp(`^cot\\s*[${DASHES}]?$`, 'i');
/** `<…>` as Slack sends links and mentions: real angle brackets never come from typed text. */
const SLACK_TOKEN = /<([^<>]*)>/g;

/** Controls dropped, whitespace (line breaks included) collapsed, lone surrogates replaced. */
function clean(text: string): string {
  return text.toWellFormed().replace(CONTROLS, '').replace(/\s+/g, ' ').trim();
}

function decodeEntities(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Slack tokens replaced by what they stand for (a link by its URL, a mention by its label), entities decoded. */
function untoken(s: string): string {
  const plainText = s.replace(SLACK_TOKEN, (_, inner: string) => {
    const [target = '', label] = inner.split('|', 2);
    if (/^(?:https?|mailto):/i.test(target)) return target;
    return label ?? '';
  });
  return decodeEntities(plainText).replace(/\s+/g, ' ').trim();
}

/** At most `max` characters of user input, for quoting in a message. */
function echo(s: string, max = 40): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function displayId(digits: string): string | null {
  const n = digits.replace(/^0+(?=\d)/, '');
  return n.length > MAX_ID_DIGITS ? null : `COT-${n}`;
}

const hostOf = (appUrl: string | null | undefined): string | null => {
  if (!appUrl) return null;
  try {
    return new URL(appUrl).hostname.toLowerCase().replace(/\.$/, '');
  } catch {
    return null;
  }
};

// ---------------------------------------------------------------------------------------------
// Alert references

type RefResult = { ok: true; ref: string } | { ok: false; message: string };

/** The alert a Cotool web-app link names (`COT-n` or UUID), or null when it names none or is not on the app's host. */
export function alertRefFromUrl(url: string, appUrl: string | null | undefined): string | null {
  const host = hostOf(appUrl);
  let u: URL;
  try {
    u = new URL(decodeEntities(url));
  } catch {
    return null;
  }
  if (!host || (u.protocol !== 'https:' && u.protocol !== 'http:')) return null;
  if (u.hostname.toLowerCase().replace(/\.$/, '') !== host) return null;
  return refInUrl(u);
}

function refInUrl(u: URL): string | null {
  const segments = u.pathname
    .split('/')
    .filter(Boolean)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
  const asRef = (s: string): string | null => {
    const display = /^cot-(\d+)$/i.exec(s);
    if (display?.[1]) return displayId(display[1]);
    return UUID.test(s) ? s.toLowerCase() : null;
  };
  const afterAlerts = segments.findIndex((s) => s.toLowerCase() === 'alerts');
  const named = afterAlerts >= 0 ? asRef(segments[afterAlerts + 1] ?? '') : null;
  if (named) return named;
  for (const s of [...segments].reverse()) {
    const ref = asRef(s);
    if (ref) return ref;
  }
  for (const value of u.searchParams.values()) {
    const ref = asRef(value.trim());
    if (ref) return ref;
  }
  return null;
}

/** `COT-n`, a UUID or a Cotool link → the id to ask Cotool for; null when `s` does not look like any. */
function readAlertRef(s: string, appUrl: string | null | undefined): RefResult | null {
  const display = DISPLAY_ID.exec(s);
  if (display?.[1]) {
    const id = displayId(display[1]);
    return id
      ? { ok: true, ref: id }
      : { ok: false, message: `\`${echo(s)}\` is not an alert id: the number is too long.` };
  }
  if (DISPLAY_PREFIX_ONLY.test(s)) {
    return { ok: false, message: '`COT-` needs the alert number, e.g. `/cotool COT-123`.' };
  }
  if (UUID.test(s)) return { ok: true, ref: s.toLowerCase() };
  if (/^https?:\/\//i.test(s)) {
    const host = hostOf(appUrl);
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      return { ok: false, message: 'That link could not be read. Paste the alert link from Cotool, or its COT- id.' };
    }
    if (!host || u.hostname.toLowerCase().replace(/\.$/, '') !== host) {
      return {
        ok: false,
        message: `That link is not on Cotool${host ? ` (${host})` : ''}. Paste a Cotool alert link, or the alert's COT- id.`,
      };
    }
    const ref = refInUrl(u);
    return ref
      ? { ok: true, ref }
      : { ok: false, message: 'That Cotool link does not point to an alert. Paste the link of an alert page.' };
  }
  if (/^#?\d+$/.test(s)) {
    const id = displayId(s.replace('#', ''));
    return { ok: false, message: id ? `Did you mean \`/cotool ${id}\`?` : `\`${echo(s)}\` is not an alert id.` };
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Subcommands

function parseRun(rest: string, appUrl: string | null | undefined): Command {
  const arg = untoken(rest);
  if (!arg) return { kind: 'invalid', message: 'Which run? `/cotool run <run id>` — run ids are UUIDs.' };
  if (arg.includes(' ')) return { kind: 'invalid', message: 'One run at a time: `/cotool run <run id>`.' };
  if (UUID.test(arg)) return { kind: 'run', runId: arg.toLowerCase() };
  if (/^https?:\/\//i.test(arg)) {
    const host = hostOf(appUrl);
    try {
      const u = new URL(arg);
      if (host && u.hostname.toLowerCase().replace(/\.$/, '') === host) {
        const uuid = u.pathname
          .split('/')
          .reverse()
          .find((s) => UUID.test(s));
        if (uuid) return { kind: 'run', runId: uuid.toLowerCase() };
      }
    } catch {
      // falls through to the message below
    }
  }
  return {
    kind: 'invalid',
    message: `\`${echo(arg)}\` is not a run id: run ids are UUIDs like 3f2b9c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f.`,
  };
}

function parseList(rest: string): Command {
  const words = untoken(rest)
    .toLowerCase()
    .replace(/\bin[\s-]+progress\b/g, 'in_progress')
    .split(/[\s,]+/)
    .filter(Boolean);
  const status = new Set<KnownAlertStatus>();
  const severity = new Set<KnownSeverity>();
  const source = new Set<SourceName>();
  let all = false;
  let page = 1;
  for (let i = 0; i < words.length; i++) {
    const word = (words[i] ?? '').replace(/-/g, '_');
    const pageMatch = /^(?:page|p)[:=]?(\d*)$/.exec(word);
    if (pageMatch) {
      const digits = pageMatch[1] || (/^\d+$/.test(words[i + 1] ?? '') ? words[++i] : '');
      const n = Number(digits);
      if (!digits || !Number.isInteger(n) || n < 1 || n > MAX_PAGE) {
        return {
          kind: 'invalid',
          message: `Pages are numbered 1 to ${MAX_PAGE}, e.g. \`/cotool list escalated page 2\`.`,
        };
      }
      page = n;
      continue;
    }
    const statuses = Object.hasOwn(STATUS_WORDS, word) ? STATUS_WORDS[word] : undefined;
    const sev = Object.hasOwn(SEVERITY_WORDS, word) ? SEVERITY_WORDS[word] : undefined;
    const src = Object.hasOwn(SOURCE_WORDS, word) ? SOURCE_WORDS[word] : undefined;
    if (statuses) for (const s of statuses) status.add(s);
    else if (ALL_WORDS.has(word)) all = true;
    else if (sev) severity.add(sev);
    else if (src) source.add(src);
    else return { kind: 'invalid', message: notAFilter(words[i] ?? '') };
  }
  const ordered = <T extends string>(set: Set<T>, order: readonly T[]) => order.filter((v) => set.has(v));
  return {
    kind: 'list',
    status: all ? [] : status.size > 0 ? ordered(status, ALERT_STATUSES) : [...LIVE_STATUSES],
    severity: ordered(severity, [...SEVERITIES].reverse()),
    source: ordered(source, SOURCE_NAMES),
    page,
  };
}

function notAFilter(word: string): string {
  return (
    `\`${echo(word, 30)}\` is not a filter. Statuses: ${FILTER_WORDS.status.join(', ')}. ` +
    `Severities: ${FILTER_WORDS.severity.join(', ')}. Sources: ${FILTER_WORDS.source.join(', ')}.`
  );
}

function parseSearch(rest: string): Command {
  let q = untoken(rest);
  const quoted = /^(["'“‘])(.*)(["'”’])$/.exec(q);
  if (quoted?.[2] !== undefined) q = quoted[2].trim();
  if (!q) return { kind: 'invalid', message: 'What should I search for? e.g. `/cotool search okta push`.' };
  if (q.length > MAX_SEARCH_CHARS) {
    return {
      kind: 'invalid',
      message: `The search text is ${q.length} characters; Cotool takes at most ${MAX_SEARCH_CHARS}.`,
    };
  }
  return { kind: 'search', q };
}

function parseStats(rest: string): Command {
  const word = untoken(rest).toLowerCase().replace(/\s+/g, '');
  if (!word) return { kind: 'stats', days: 7 };
  const days = Object.hasOwn(STATS_WINDOW_WORDS, word) ? STATS_WINDOW_WORDS[word] : undefined;
  if (days) return { kind: 'stats', days };
  return {
    kind: 'invalid',
    message: `\`${echo(rest, 30)}\` is not a window for the noise report: say \`/cotool stats\` (7 days) or \`/cotool stats 30d\`.`,
  };
}

// ---------------------------------------------------------------------------------------------

export function parseCommand(text: unknown, opts: ParseOptions = {}): Command {
  const raw = typeof text === 'string' ? text.trim() : '';
  if (raw.length > MAX_COMMAND_CHARS) {
    return {
      kind: 'invalid',
      message: `That is ${raw.length} characters; /cotool reads at most ${MAX_COMMAND_CHARS}. Try an alert id, \`list\` or a shorter search.`,
    };
  }
  const cleaned = clean(raw);
  if (!cleaned) return { kind: 'help' };
  const space = cleaned.indexOf(' ');
  const first = (space < 0 ? cleaned : cleaned.slice(0, space)).toLowerCase();
  const rest = space < 0 ? '' : cleaned.slice(space + 1);

  if (HELP_WORDS.has(first)) return { kind: 'help' };
  if (RUN_WORDS.has(first)) return parseRun(rest, opts.appUrl);
  if (LIST_WORDS.has(first)) return parseList(rest);
  if (SEARCH_WORDS.has(first)) return parseSearch(rest);
  if (STATS_WORDS.has(first)) return parseStats(rest);
  if (MUTES_WORDS.has(first)) {
    return rest
      ? { kind: 'invalid', message: 'Say `/cotool mutes` alone: it lists every mute holding, each with Unmute.' }
      : { kind: 'mutes' };
  }

  const subject = untoken(LOOKUP_WORDS.has(first) && rest ? rest : cleaned);
  const ref = readAlertRef(subject, opts.appUrl);
  if (ref) return ref.ok ? { kind: 'lookup', ref: ref.ref } : { kind: 'invalid', message: ref.message };
  const parts = subject.split(' ');
  if (parts.length > 1 && parts.every((p) => readAlertRef(p, opts.appUrl)?.ok)) {
    return { kind: 'invalid', message: `One alert at a time, e.g. \`/cotool ${echo(parts[0] ?? '', 60)}\`.` };
  }
  if (Object.hasOwn(STATUS_WORDS, first.replace(/-/g, '_')) || Object.hasOwn(SEVERITY_WORDS, first)) {
    return { kind: 'invalid', message: `To list alerts, say \`/cotool list ${echo(subject, 60)}\`.` };
  }
  return {
    kind: 'invalid',
    message: subject ? `I did not understand \`${echo(subject)}\`.` : 'I did not understand that.',
  };
}

// ---------------------------------------------------------------------------------------------
// Bare ids in messages (EXPAND_ALERT_IDS)

/** Uppercase `COT-n` standing on its own: not inside a word, a path, a link or a mention. */
const BARE_ID = /(?<![\w/.#@:-])COT-(\d{1,12})(?![\w-])/g;

/**
 * The distinct display ids written bare in a message (at most `max`, in order of appearance).
 * Slack link and mention tokens and bare URLs are skipped, so a pasted Cotool link is left to unfurls.
 */
export function findBareAlertIds(text: unknown, max = 3): string[] {
  if (typeof text !== 'string' || max < 1) return [];
  const visible = text
    .slice(0, 40_000)
    .replace(SLACK_TOKEN, ' ')
    .replace(/\b(?:https?|ftp):\/\/\S+/gi, ' ');
  const out: string[] = [];
  for (const m of visible.matchAll(BARE_ID)) {
    const id = m[1] ? displayId(m[1]) : null;
    if (id && !out.includes(id)) out.push(id);
    if (out.length >= max) break;
  }
  return out;
}
