/**
 * Configuration from the environment, validated once at start. `parseConfig(env, files)` is pure (the
 * files the environment names are read by src/load-config.ts): it returns the config or a list of
 * problems, each naming the variable and what is expected.
 */

import { validate as validateCron } from 'node-cron';
import { z } from 'zod';
import { SEVERITIES, SOURCE_NAMES } from './core/alert.ts';
import { claimStaleFloorMs, slackWriteMaxMs } from './core/claim-budget.ts';
import { allChannels, mentionMrkdwn, parseRoutes, type Route } from './core/routes.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const BACKLOG_MODES = ['recent', 'all', 'none'] as const;
export type BacklogMode = (typeof BACKLOG_MODES)[number];
export const THREAD_TIMELINE_MODES = ['all', 'comments', 'off'] as const;
export type ThreadTimelineMode = (typeof THREAD_TIMELINE_MODES)[number];

const DEFAULT_ALERT_URL_TEMPLATE = '{appUrl}/{organizationName}/alerts/{displayId}';
const TEMPLATE_KEYS = ['appUrl', 'organizationName', 'displayId', 'id'] as const;

const emptyToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const opt = <T extends z.ZodType>(schema: T) => z.preprocess(emptyToUndefined, schema.optional());

const httpUrl = (what: string) =>
  z
    .string()
    .trim()
    .refine((v) => {
      try {
        const u = new URL(v);
        return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password;
      } catch {
        return false;
      }
    }, `${what} must be an http(s) URL without credentials`)
    .transform((v) => v.replace(/\/+$/, ''));

const csv = <T extends z.ZodType<string>>(item: T) =>
  z.preprocess(
    (v) =>
      typeof v === 'string'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : v,
    z.array(item),
  );

const bool = z.preprocess(
  (v) => (typeof v === 'string' ? v.trim().toLowerCase() : v),
  z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes'),
);

const userId = z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'Slack user ids look like U0123ABCD');
const groupId = z.string().regex(/^S[A-Z0-9]{2,}$/, 'Slack user-group ids look like S0123ABCD');
const mention = z
  .string()
  .regex(/^([UW][A-Z0-9]{2,}|S[A-Z0-9]{2,}|here|channel)$/, 'a user id (U…), a user-group id (S…), here or channel');

const EnvSchema = z
  .object({
    COTOOL_API_URL: httpUrl('COTOOL_API_URL'),
    COTOOL_API_KEY: z.string().trim().min(8, 'the Cotool API key (Cotool → Settings → API keys)'),
    COTOOL_APP_URL: opt(httpUrl('COTOOL_APP_URL')),
    COTOOL_ALERT_URL_TEMPLATE: z
      .string()
      .default(DEFAULT_ALERT_URL_TEMPLATE)
      .refine(
        (t) => [...t.matchAll(/\{(\w+)\}/g)].every((m) => (TEMPLATE_KEYS as readonly string[]).includes(m[1] ?? '')),
        `placeholders are ${TEMPLATE_KEYS.map((k) => `{${k}}`).join(', ')}`,
      ),
    COTOOL_TIMEOUT_MS: z.coerce.number().int().min(500).max(120_000).default(10_000),
    SLACK_BOT_TOKEN: z
      .string()
      .trim()
      .regex(/^xoxb-/, 'a bot token starting with xoxb-'),
    SLACK_APP_TOKEN: opt(
      z
        .string()
        .trim()
        .regex(/^xapp-/, 'an app-level token starting with xapp- (Socket Mode)'),
    ),
    SLACK_SIGNING_SECRET: opt(z.string().trim().min(8, "the app's signing secret (Basic Information)")),
    SLACK_API_URL: opt(httpUrl('SLACK_API_URL').transform((v) => `${v}/`)),
    SLACK_ALERT_CHANNEL: z
      .string()
      .trim()
      .regex(/^[CG][A-Z0-9]{2,}$/, 'a channel id such as C0123ABCD (channel details → About)'),
    POLL_SCHEDULE: z
      .string()
      .trim()
      .default('*/30 * * * * *')
      .refine((v) => validateCron(v), 'a cron expression, e.g. "*/30 * * * * *" (every 30 s)'),
    DATABASE_URL: z
      .string()
      .trim()
      .default('sqlite:./data/cotool-slack.db')
      .refine((v) => parseDatabaseUrl(v) !== null, {
        message: 'sqlite:<path> or postgres://user:password@host:5432/database',
      }),
    PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
    LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
    SLACK_ALLOWED_USERS: csv(userId).default([]),
    SLACK_ALLOWED_USERGROUPS: csv(groupId).default([]),
    MIN_SEVERITY: opt(z.enum(SEVERITIES)),
    NOTIFY_SOURCES: csv(z.enum(SOURCE_NAMES)).default([]),
    ESCALATION_MENTION: csv(mention).default([]),
    BACKLOG: z.enum(BACKLOG_MODES).default('recent'),
    CLOSE_REASON_REQUIRED: bool.default(false),
    THREAD_TIMELINE: z.enum(THREAD_TIMELINE_MODES).default('all'),
    SYNC_THREAD_REPLIES: bool.default(false),
    FOUR_EYES_SEVERITIES: csv(z.enum(SEVERITIES)).default([]),
    STATS_POST_SCHEDULE: opt(
      z
        .string()
        .trim()
        .refine((v) => validateCron(v), 'a cron expression, e.g. "0 0 9 * * 1" (Mondays at 09:00)'),
    ),
    EXPAND_ALERT_IDS: bool.default(false),
    SLACK_POST_RATE: z.coerce.number().min(0.05).max(50).default(1),
    SLACK_POST_BURST: z.coerce.number().int().min(1).max(50).default(3),
    SLACK_UPDATE_RATE: z.coerce.number().min(1).max(600).default(45),
    STORM_THRESHOLD: z.coerce.number().int().min(1).max(100_000).default(20),
    STORM_CARDS: z.coerce.number().int().min(0).max(1000).default(20),
    STORM_QUIET_MINUTES: z.coerce
      .number()
      .min(0)
      .max(24 * 60)
      .default(5),
    COTOOL_SLACK_ROUTES: opt(z.string().trim()),
    COTOOL_SLACK_CLAIM_STALE_MS: opt(z.coerce.number().int().min(1_000).max(3_600_000)),
    COTOOL_SLACK_LEASE_TTL_MS: opt(z.coerce.number().int().min(1_000).max(600_000)),
    BACKLOG_MAX_AGE_MINUTES: z.coerce
      .number()
      .int()
      .min(0)
      .max(60 * 24 * 365)
      .default(60),
    RETENTION_DAYS: z.coerce.number().int('a whole number of days').min(1).max(3650).default(30),
    ASK_USER_TIMEOUT_MINUTES: z.coerce.number().int('a whole number of minutes').min(1).max(10_080).default(30),
    REMIND_AFTER_MINUTES: z.coerce
      .number()
      .int('a whole number of minutes (0: no reminders)')
      .min(0)
      .max(10_080)
      .default(15),
  })
  .superRefine((env, ctx) => {
    if (!env.SLACK_APP_TOKEN && !env.SLACK_SIGNING_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['SLACK_SIGNING_SECRET'],
        message: EXPECTED.SLACK_SIGNING_SECRET ?? '',
      });
    }
    const floor = claimStaleFloorMs();
    if (env.COTOOL_SLACK_CLAIM_STALE_MS !== undefined && env.COTOOL_SLACK_CLAIM_STALE_MS < floor) {
      ctx.addIssue({
        code: 'custom',
        path: ['COTOOL_SLACK_CLAIM_STALE_MS'],
        message: `at least ${floor} ms: a Slack write (${slackWriteMaxMs()} ms at most) must land before another sender may take its claim over`,
      });
    }
  });

/** What each required variable holds, for the one-line message when it is missing. */
const EXPECTED: Record<string, string> = {
  COTOOL_API_URL: 'the Cotool API base URL, e.g. https://app.cotool.ai',
  COTOOL_API_KEY: 'a Cotool API key (Cotool → Settings → API keys)',
  SLACK_BOT_TOKEN: 'the bot token, starting with xoxb- (OAuth & Permissions)',
  SLACK_ALERT_CHANNEL: 'the id of the channel cards are posted to, e.g. C0123ABCD',
  SLACK_SIGNING_SECRET: "the app's signing secret (required in HTTP mode; or set SLACK_APP_TOKEN for Socket Mode)",
};

export type Config = {
  cotool: { apiUrl: string; apiKey: string; appUrl: string; alertUrlTemplate: string; timeoutMs: number };
  slack: {
    mode: 'socket' | 'http';
    botToken: string;
    appToken: string | null;
    signingSecret: string | null;
    apiUrl: string | null;
    alertChannel: string;
    allowedUsers: string[];
    allowedUsergroups: string[];
    escalationMention: string | null;
    /** Every close goes through the reason modal. */
    closeReasonRequired: boolean;
    /** A bare COT-123 in a channel message gets a compact card in its thread. */
    expandAlertIds: boolean;
  };
  poll: {
    schedule: string;
    minSeverity: (typeof SEVERITIES)[number] | null;
    sources: string[];
    backlog: BacklogMode;
    backlogMaxAgeMs: number;
  };
  /** The card's thread: which Cotool timeline entries it shows; whether human replies become comments. */
  thread: { timeline: ThreadTimelineMode; syncReplies: boolean };
  /** Closing an alert of these severities as false positive or benign from Slack needs a second person. */
  fourEyes: { severities: string[] };
  /** When the noise report is posted to the alert channel (cron), or null. */
  stats: { postSchedule: string | null };
  /** Sending: per-channel pace of chat.postMessage, per-workspace pace of chat.update. */
  send: { postRatePerSec: number; postBurst: number; updatesPerMinute: number };
  storm: { threshold: number; cards: number; quietMs: number };
  /**
   * Operator tuning (null: the defaults): how old a send claim must be before another sender takes
   * it over (COTOOL_SLACK_CLAIM_STALE_MS, default 60 s), and the leader lease (COTOOL_SLACK_LEASE_TTL_MS,
   * default about one poll interval).
   */
  tuning: { claimStaleMs: number | null; leaseTtlMs: number | null };
  /** RETENTION_DAYS: rows of alerts closed longer ago are pruned (by the leader, hourly). */
  retention: { days: number; ms: number };
  /**
   * The next moves from a card: how long an asked person has to answer (ASK_USER_TIMEOUT_MINUTES),
   * how long a critical or high alert may wait for someone before a reminder (REMIND_AFTER_MINUTES,
   * 0: none; a route may set its own), and who reminders mention and war rooms invite by default
   * (ESCALATION_MENTION's ids).
   */
  nextMove: { askUserTimeoutMs: number; remindAfterMs: number; oncall: string[] };
  /** Ordered routing rules (COTOOL_SLACK_ROUTES); empty: everything to SLACK_ALERT_CHANNEL. */
  routes: Route[];
  /** Every channel the bot posts to: the alert channel and each routed channel. */
  channels: string[];
  /** Which store: SQLite (embedded default) or PostgreSQL (replicas). */
  database: DatabaseConfig;
  databaseUrl: string;
  /** The SQLite file ('' when `database.kind` is postgres). */
  sqlitePath: string;
  port: number;
  logLevel: (typeof LOG_LEVELS)[number];
  /** Values that must never appear in logs or messages. */
  secrets: string[];
};

export type DatabaseConfig = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/** `sqlite:<path>` or `postgres://…` / `postgresql://…` (with a host); null when it is neither. */
export function parseDatabaseUrl(url: string): DatabaseConfig | null {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    return path ? { kind: 'sqlite', path } : null;
  }
  if (!/^postgres(ql)?:\/\//.test(url)) return null;
  try {
    return new URL(url).hostname ? { kind: 'postgres', url } : null;
  } catch {
    return null;
  }
}

/** The database URL fit for a log line or an error message: its password (if any) shown as `***`. */
export function maskDatabaseUrl(url: string): string {
  return url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*:)[^/?#]*@/i, '$1***@')
    .replace(/([?&](?:ssl)?password=)[^&#]*/gi, '$1***');
}

/** The passwords a postgres URL carries, as written and decoded (kept out of logs and output). */
export function databaseSecrets(url: string): string[] {
  if (!/^postgres(ql)?:\/\//.test(url)) return [];
  try {
    const u = new URL(url);
    const raw = [u.password, u.searchParams.get('password') ?? '', u.searchParams.get('sslpassword') ?? ''];
    return [...new Set(raw.flatMap((p) => [p, safeDecode(p)]))].filter((p) => p.length > 0);
  } catch {
    return [];
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

/**
 * The files the environment names, already read by the caller (src/load-config.ts reads them): the
 * routes file's text, or why it could not be read.
 */
export type ConfigFiles = { routes?: { text: string } | { unreadable: string } };

export function parseConfig(env: Record<string, string | undefined>, files: ConfigFiles = {}): ConfigResult {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const byVar = new Map<string, string>();
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? 'environment');
      const value = env[name];
      const what =
        value === undefined || value.trim() === ''
          ? `${name} is missing: expected ${EXPECTED[name] ?? issue.message}`
          : `${name} is invalid: expected ${issue.message}`;
      if (!byVar.has(name)) byVar.set(name, what);
    }
    return { ok: false, problems: [...byVar.values()] };
  }
  const e = parsed.data;
  const apiOrigin = new URL(e.COTOOL_API_URL).origin;
  const database = parseDatabaseUrl(e.DATABASE_URL) as DatabaseConfig;
  let routes: Route[] = [];
  if (e.COTOOL_SLACK_ROUTES) {
    const file = files.routes;
    const loaded = !file
      ? { ok: false as const, problem: `${e.COTOOL_SLACK_ROUTES} was not read` }
      : 'unreadable' in file
        ? { ok: false as const, problem: `cannot read ${e.COTOOL_SLACK_ROUTES} (${file.unreadable})` }
        : parseRoutes(file.text, e.COTOOL_SLACK_ROUTES);
    if (!loaded.ok) return { ok: false, problems: [`COTOOL_SLACK_ROUTES is invalid: ${loaded.problem}`] };
    routes = loaded.routes;
  }
  const config: Config = {
    cotool: {
      apiUrl: e.COTOOL_API_URL,
      apiKey: e.COTOOL_API_KEY,
      appUrl: e.COTOOL_APP_URL ?? apiOrigin,
      alertUrlTemplate: e.COTOOL_ALERT_URL_TEMPLATE,
      timeoutMs: e.COTOOL_TIMEOUT_MS,
    },
    slack: {
      mode: e.SLACK_APP_TOKEN ? 'socket' : 'http',
      botToken: e.SLACK_BOT_TOKEN,
      appToken: e.SLACK_APP_TOKEN ?? null,
      signingSecret: e.SLACK_SIGNING_SECRET ?? null,
      apiUrl: e.SLACK_API_URL ?? null,
      alertChannel: e.SLACK_ALERT_CHANNEL,
      allowedUsers: e.SLACK_ALLOWED_USERS,
      allowedUsergroups: e.SLACK_ALLOWED_USERGROUPS,
      escalationMention: mentionMrkdwn(e.ESCALATION_MENTION),
      closeReasonRequired: e.CLOSE_REASON_REQUIRED,
      expandAlertIds: e.EXPAND_ALERT_IDS,
    },
    poll: {
      schedule: e.POLL_SCHEDULE,
      minSeverity: e.MIN_SEVERITY ?? null,
      sources: e.NOTIFY_SOURCES,
      backlog: e.BACKLOG,
      backlogMaxAgeMs: e.BACKLOG_MAX_AGE_MINUTES * 60_000,
    },
    thread: { timeline: e.THREAD_TIMELINE, syncReplies: e.SYNC_THREAD_REPLIES },
    fourEyes: { severities: e.FOUR_EYES_SEVERITIES },
    stats: { postSchedule: e.STATS_POST_SCHEDULE ?? null },
    send: { postRatePerSec: e.SLACK_POST_RATE, postBurst: e.SLACK_POST_BURST, updatesPerMinute: e.SLACK_UPDATE_RATE },
    storm: { threshold: e.STORM_THRESHOLD, cards: e.STORM_CARDS, quietMs: e.STORM_QUIET_MINUTES * 60_000 },
    tuning: { claimStaleMs: e.COTOOL_SLACK_CLAIM_STALE_MS ?? null, leaseTtlMs: e.COTOOL_SLACK_LEASE_TTL_MS ?? null },
    retention: { days: e.RETENTION_DAYS, ms: e.RETENTION_DAYS * 86_400_000 },
    nextMove: {
      askUserTimeoutMs: e.ASK_USER_TIMEOUT_MINUTES * 60_000,
      remindAfterMs: e.REMIND_AFTER_MINUTES * 60_000,
      oncall: e.ESCALATION_MENTION,
    },
    routes,
    channels: allChannels(routes, e.SLACK_ALERT_CHANNEL),
    database,
    databaseUrl: e.DATABASE_URL,
    sqlitePath: database.kind === 'sqlite' ? database.path : '',
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    secrets: [
      e.COTOOL_API_KEY,
      e.SLACK_BOT_TOKEN,
      e.SLACK_APP_TOKEN,
      e.SLACK_SIGNING_SECRET,
      ...databaseSecrets(e.DATABASE_URL),
    ].filter((s): s is string => typeof s === 'string' && s.length > 0),
  };
  return { ok: true, config };
}

/** The Cotool web link for an alert, from the configured template; null when it cannot be built. */
export function alertUrl(
  cotool: Pick<Config['cotool'], 'appUrl' | 'alertUrlTemplate'>,
  alert: { id: string; displayId: string; organizationName: string | null },
): string | null {
  if (cotool.alertUrlTemplate.includes('{organizationName}') && !alert.organizationName) return null;
  const values: Record<string, string> = {
    appUrl: cotool.appUrl,
    organizationName: encodeURIComponent(alert.organizationName ?? ''),
    displayId: encodeURIComponent(alert.displayId),
    id: encodeURIComponent(alert.id),
  };
  const url = cotool.alertUrlTemplate.replace(/\{(\w+)\}/g, (_, k: string) => values[k] ?? '');
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.toString() : null;
  } catch {
    return null;
  }
}
