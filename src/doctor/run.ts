/**
 * `npm run doctor`: every check in order — configuration, Slack (token, scopes, channels, Socket
 * Mode or HTTP), Cotool (reachable, permissions), store — and the secrets to keep out of the report.
 */
import type { Config } from '../config.ts';
import { createCotoolClient } from '../cotool/client.ts';
import { loadConfig } from '../load-config.ts';
import { createLogger } from '../log.ts';
import { type CheckResult, fail, ok, warn } from './checklist.ts';
import { type CotoolCheckPort, checkCotool } from './cotool.ts';
import { readManifestScopes, type ScopesResult } from './manifest.ts';
import {
  checkBotToken,
  checkChannels,
  checkSigningSecret,
  checkSocketMode,
  createSlackDoctorPort,
  type SlackDoctorPort,
} from './slack.ts';
import { checkStore, databaseSecrets } from './store.ts';

/** Variables whose values are secrets, whatever the configuration makes of them. */
export const SECRET_VARS = ['SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_SIGNING_SECRET', 'COTOOL_API_KEY'] as const;

export type DoctorDeps = {
  slack?: (config: Config) => SlackDoctorPort;
  cotool?: (config: Config) => CotoolCheckPort;
  manifest?: () => Promise<ScopesResult>;
};

export type DoctorRun = { results: CheckResult[]; secrets: string[] };

/** Every channel the bot posts to: the alert channel and each routed channel, once each. */
export function channelsOf(config: Config): string[] {
  const c = config as Config & { channels?: string[]; routes?: { channels: string[] }[] };
  const routed = Array.isArray(c.channels) ? c.channels : (c.routes ?? []).flatMap((r) => r.channels);
  return [...new Set([config.slack.alertChannel, ...routed])];
}

export function secretsOf(env: Record<string, string | undefined>): string[] {
  const raw = SECRET_VARS.map((name) => env[name] ?? '');
  const trimmed = raw.map((v) => v.trim());
  return [...new Set([...raw, ...trimmed, ...databaseSecrets(env.DATABASE_URL?.trim() ?? '')])].filter((s) => s !== '');
}

function describe(config: Config): string {
  const mode = config.slack.mode === 'socket' ? 'Socket Mode' : `HTTP mode on port ${config.port}`;
  const n = channelsOf(config).length;
  const store = config.databaseUrl.startsWith('sqlite:') ? 'SQLite' : 'PostgreSQL';
  return `valid: ${mode}, ${n} channel${n === 1 ? '' : 's'}, ${store} store`;
}

export async function runDoctor(env: Record<string, string | undefined>, deps: DoctorDeps = {}): Promise<DoctorRun> {
  const secrets = secretsOf(env);
  const parsed = loadConfig(env);
  if (!parsed.ok) {
    const results = parsed.problems.map((problem) =>
      fail('configuration', problem, 'set it in .env (see .env.example) or in the environment'),
    );
    results.push(warn('other checks', 'not run: they need a valid configuration'));
    return { results, secrets };
  }
  const config = parsed.config;
  for (const s of config.secrets) secrets.push(s);

  const slackPort =
    deps.slack?.(config) ??
    createSlackDoctorPort({
      botToken: config.slack.botToken,
      appToken: config.slack.appToken,
      apiUrl: config.slack.apiUrl,
    });
  const cotoolPort =
    deps.cotool?.(config) ??
    createCotoolClient({
      baseUrl: config.cotool.apiUrl,
      apiKey: config.cotool.apiKey,
      timeoutMs: config.cotool.timeoutMs,
      retryLimit: 1,
      backoffLimitMs: 1_000,
      maxRetryAfterMs: 2_000,
      logger: createLogger('silent'),
    });
  const manifest = deps.manifest ?? (() => readManifestScopes());

  const slack = async (): Promise<CheckResult[]> => {
    const token = await checkBotToken(slackPort, await manifest());
    const channels = channelsOf(config);
    const membership = token.valid
      ? await checkChannels(slackPort, channels, token.botName)
      : [warn('channels', `${channels.join(', ')} not checked: they need a valid bot token`)];
    const mode =
      config.slack.mode === 'socket' && config.slack.appToken
        ? await checkSocketMode(slackPort, config.slack.appToken)
        : checkSigningSecret(config.slack.signingSecret);
    return [...token.results, ...membership, mode];
  };

  const [slackResults, cotoolResults, storeResult] = await Promise.all([
    slack(),
    checkCotool(cotoolPort, config.cotool.apiUrl),
    checkStore(config.databaseUrl),
  ]);
  return { results: [ok('configuration', describe(config)), ...slackResults, ...cotoolResults, storeResult], secrets };
}
