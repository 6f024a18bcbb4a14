/**
 * Routing: which channels an alert's card goes to. An optional routes file (YAML or JSON) holds
 * ordered rules; the first rule that matches wins, and the default channel takes the rest.
 * Parsing is validated with zod; an error names the rule (its place in the file, counted from 1, and
 * its name and channels when it has them) and the field.
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { type BreakThrough, DEFAULT_BREAK_THROUGH } from '../core/mutes.ts';
import type { Alert } from './alert.ts';
import { SEVERITIES } from './alert.ts';

const channelId = z.string().regex(/^[CG][A-Z0-9]{2,}$/, 'a channel id such as C0123ABCD');
const mentionId = z
  .string()
  .regex(/^([UW][A-Z0-9]{2,}|S[A-Z0-9]{2,}|here|channel)$/, 'a user id (U…), a user-group id (S…), here or channel');
const oneOrMany = <T extends z.ZodType>(item: T) =>
  z.union([item, z.array(item).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]) as z.infer<T>[]);
const text = z.string().trim().min(1).max(200);

const SeverityMatch = z.union(
  [
    oneOrMany(z.enum(SEVERITIES)).transform((list) => ({ in: list as string[] })),
    z
      .strictObject({ min: z.enum(SEVERITIES) })
      .transform((m) => ({ in: SEVERITIES.slice(SEVERITIES.indexOf(m.min)) as string[] })),
  ],
  { error: `a severity (${SEVERITIES.join(', ')}), a list of them, or { min: <severity> }` },
);

const MatchSchema = z.strictObject({
  severity: SeverityMatch.optional(),
  /** Source names (`bugcrowd`, `hackerone`, `cotool_detection` …). */
  source: oneOrMany(text).optional(),
  /** Detection names or ids. */
  detection: oneOrMany(text).optional(),
  status: oneOrMany(text).optional(),
});

const RuleSchema = z.strictObject({
  name: text.optional(),
  match: MatchSchema.default({}),
  channels: oneOrMany(channelId),
  /** Who escalation notices in these channels mention (instead of ESCALATION_MENTION). */
  mention: oneOrMany(mentionId).optional(),
  /** New cards in a backlog above this turn the channel's sending into a storm (digest). */
  storm_threshold: z.number().int().min(1).max(100_000).optional(),
  /** Ask the person an alert names ("Was this you?") as soon as its card is posted. */
  ask_user: z.boolean().optional(),
  /** Reminders for critical and high alerts nobody acted on (0: none; default REMIND_AFTER_MINUTES). */
  remind_after_minutes: z.number().int().min(0).max(10_080).optional(),
  /** Who reminders mention and war rooms invite (default: `mention`, then ESCALATION_MENTION). */
  oncall: oneOrMany(mentionId).optional(),
  /** Which alerts of a muted detection still get their card (default: both). */
  mute_break_through: z
    .strictObject({ escalated: z.boolean().optional(), critical: z.boolean().optional() })
    .optional(),
});

/** A list of rules, or `{ routes: [...] }`. */
const RoutesSchema = z.preprocess(
  (doc) =>
    doc && typeof doc === 'object' && !Array.isArray(doc) && 'routes' in doc
      ? (doc as { routes: unknown }).routes
      : doc,
  z.array(RuleSchema, { error: 'a list of rules, or { routes: [...] }' }),
);

export type Route = {
  name: string | null;
  match: { severity?: string[]; source?: string[]; detection?: string[]; status?: string[] };
  channels: string[];
  /** Trusted mrkdwn built from validated ids, or null (use the default). */
  mention: string | null;
  stormThreshold: number | null;
  askUser: boolean;
  /** Reminder wait in ms (0: none), or null (the default). */
  remindAfterMs: number | null;
  /** The on-call ids (validated: U…/W…, S…, here, channel), or null (the default). */
  oncall: string[] | null;
  breakThrough: BreakThrough;
};

/** Where an alert goes: the first channel holds its primary card. */
export type Destination = {
  channels: string[];
  mention: string | null;
  stormThreshold: number | null;
  rule: number | null;
  askUser: boolean;
  remindAfterMs: number | null;
  oncall: string[] | null;
  breakThrough: BreakThrough;
};

/** `<@U…>` / `<!subteam^S…>` / `<!here>` built from validated ids: trusted mrkdwn. */
export function mentionMrkdwn(ids: readonly string[]): string | null {
  if (ids.length === 0) return null;
  return ids
    .map((id) => {
      if (id === 'here' || id === 'channel') return `<!${id}>`;
      return id.startsWith('S') ? `<!subteam^${id}>` : `<@${id}>`;
    })
    .join(' ');
}

export type RoutesResult = { ok: true; routes: Route[] } | { ok: false; problem: string };

/** A value from the file as an error shows it: one line, at most 40 characters. */
function shown(value: string): string {
  const line = value.replace(/\s+/g, ' ').trim();
  return line.length > 40 ? `${line.slice(0, 39)}…` : line;
}

/**
 * How an error names a rule: "rule 2", counted from 1 as people count the rules in the file, with its
 * name and channels when it has them ('rule 2 ("bug bounties", C0APPSEC)').
 */
function ruleLabel(doc: unknown, index: number): string {
  const rules =
    doc && typeof doc === 'object' && !Array.isArray(doc) && 'routes' in doc
      ? (doc as { routes: unknown }).routes
      : doc;
  const rule: unknown = Array.isArray(rules) ? rules[index] : undefined;
  const parts: string[] = [];
  if (rule && typeof rule === 'object') {
    const { name, channels } = rule as { name?: unknown; channels?: unknown };
    if (typeof name === 'string' && name.trim() !== '') parts.push(JSON.stringify(shown(name)));
    const list = (Array.isArray(channels) ? channels : [channels]).filter(
      (c): c is string => typeof c === 'string' && c.trim() !== '',
    );
    if (list.length > 0) parts.push(shown(list.join(', ')));
  }
  return `rule ${index + 1}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
}

/** Parses a routes document (already read); errors name the rule and the field. */
export function parseRoutes(source: string, fileName = 'routes'): RoutesResult {
  let doc: unknown;
  try {
    doc = fileName.endsWith('.json') ? JSON.parse(source) : parseYaml(source);
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return { ok: false, problem: `cannot parse ${fileName}: ${msg}` };
  }
  const parsed = RoutesSchema.safeParse(doc ?? []);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue?.path ?? [];
    const where =
      typeof at[0] === 'number'
        ? `${ruleLabel(doc, at[0])}${at.length > 1 ? ` field ${at.slice(1).join('.')}` : ''}`
        : 'the top level (a list of rules, or {routes: [...]})';
    return { ok: false, problem: `${where}: ${issue?.message ?? 'invalid'}` };
  }
  return {
    ok: true,
    routes: parsed.data.map((r) => ({
      name: r.name ?? null,
      match: {
        ...(r.match.severity ? { severity: r.match.severity.in } : {}),
        ...(r.match.source ? { source: r.match.source.map((s) => s.toLowerCase()) } : {}),
        ...(r.match.detection ? { detection: r.match.detection.map((s) => s.toLowerCase()) } : {}),
        ...(r.match.status ? { status: r.match.status.map((s) => s.toLowerCase()) } : {}),
      },
      channels: [...new Set(r.channels)],
      mention: r.mention ? mentionMrkdwn(r.mention) : null,
      stormThreshold: r.storm_threshold ?? null,
      askUser: r.ask_user ?? false,
      remindAfterMs: r.remind_after_minutes === undefined ? null : r.remind_after_minutes * 60_000,
      oncall: r.oncall ?? (r.mention ? r.mention : null),
      breakThrough: {
        escalated: r.mute_break_through?.escalated ?? DEFAULT_BREAK_THROUGH.escalated,
        critical: r.mute_break_through?.critical ?? DEFAULT_BREAK_THROUGH.critical,
      },
    })),
  };
}

function matches(route: Route, alert: Alert): boolean {
  const m = route.match;
  if (m.severity && !m.severity.includes(alert.severity ?? '')) return false;
  if (m.source && !m.source.includes((alert.source?.name ?? '').toLowerCase())) return false;
  if (m.detection) {
    const d = alert.detection;
    const names = [d?.name, d?.id].filter((x): x is string => typeof x === 'string').map((x) => x.toLowerCase());
    if (!names.some((n) => m.detection?.includes(n))) return false;
  }
  if (m.status && !m.status.includes(alert.status.toLowerCase())) return false;
  return true;
}

/** The first rule that matches wins; the default channel takes the rest. */
export function routeAlert(alert: Alert, routes: readonly Route[], defaultChannel: string): Destination {
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i] as Route;
    if (matches(r, alert))
      return {
        channels: r.channels,
        mention: r.mention,
        stormThreshold: r.stormThreshold,
        rule: i,
        askUser: r.askUser,
        remindAfterMs: r.remindAfterMs,
        oncall: r.oncall,
        breakThrough: r.breakThrough,
      };
  }
  return {
    channels: [defaultChannel],
    mention: null,
    stormThreshold: null,
    rule: null,
    askUser: false,
    remindAfterMs: null,
    oncall: null,
    breakThrough: DEFAULT_BREAK_THROUGH,
  };
}

/** Every channel the bot may post to. */
export function allChannels(routes: readonly Route[], defaultChannel: string): string[] {
  return [...new Set([defaultChannel, ...routes.flatMap((r) => r.channels)])];
}

/**
 * The store key of an alert's card in a channel: the alert id for its first (primary) channel, and
 * `alertId` + U+001F + `channel` for each further one (alert ids are opaque: the separator is a
 * control character no id has).
 */
const MIRROR_SEPARATOR = '\u001f';
export function cardKey(alertId: string, channel: string, primary: boolean): string {
  return primary ? alertId : `${alertId}${MIRROR_SEPARATOR}${channel}`;
}

export function alertIdOfKey(key: string): string {
  const i = key.lastIndexOf(MIRROR_SEPARATOR);
  return i === -1 ? key : key.slice(0, i);
}
