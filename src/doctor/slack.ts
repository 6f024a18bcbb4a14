/**
 * The doctor's Slack checks: the bot token (auth.test) and its scopes against the manifest, the
 * bot's membership of every channel it posts to, and the Socket Mode app token or the HTTP-mode
 * signing secret. Slack is reached through a narrow port, so the checks read as plain functions.
 */
import { LogLevel, type Logger as SlackLogger, WebClient } from '@slack/web-api';
import { classifySlackError } from '../core/slack-errors.ts';
import { type CheckResult, fail, ok, warn } from './checklist.ts';
import { missingScopes, type ScopesResult } from './manifest.ts';

export type AuthInfo = { team: string | null; teamId: string | null; user: string | null; scopes: string[] | null };
export type ChannelInfo = {
  name: string | null;
  isMember: boolean;
  isPrivate: boolean;
  isArchived: boolean;
  isExtShared: boolean;
};

/** What the doctor asks Slack. Methods reject with the Web API client's errors. */
export type SlackDoctorPort = {
  authTest(): Promise<AuthInfo>;
  channelInfo(channel: string): Promise<ChannelInfo>;
  /** apps.connections.open with the app-level token: hands out a Socket Mode URL, opens nothing. */
  openConnection(): Promise<void>;
};

const quiet: SlackLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  setLevel: () => undefined,
  getLevel: () => LogLevel.ERROR,
  setName: () => undefined,
};

export function createSlackDoctorPort(opts: {
  botToken: string;
  appToken: string | null;
  apiUrl: string | null;
  timeoutMs?: number;
}): SlackDoctorPort {
  const options = {
    ...(opts.apiUrl ? { slackApiUrl: opts.apiUrl } : {}),
    logger: quiet,
    logLevel: LogLevel.ERROR,
    timeout: opts.timeoutMs ?? 10_000,
    // One quick retry for a 5xx or a dropped connection; a rate limit is reported, not waited out.
    retryConfig: { retries: 1, minTimeout: 300, maxTimeout: 1_000 },
    rejectRateLimitedCalls: true,
  };
  const bot = new WebClient(opts.botToken, options);
  const app = opts.appToken ? new WebClient(opts.appToken, options) : null;
  return {
    async authTest() {
      const r = await bot.auth.test();
      return {
        team: r.team ?? null,
        teamId: r.team_id ?? null,
        user: r.user ?? null,
        scopes: r.response_metadata?.scopes ?? null,
      };
    },
    async channelInfo(channel) {
      const r = await bot.conversations.info({ channel });
      const c = r.channel ?? {};
      return {
        name: c.name ?? null,
        isMember: c.is_member === true,
        isPrivate: c.is_private === true,
        isArchived: c.is_archived === true,
        isExtShared: c.is_ext_shared === true,
      };
    },
    async openConnection() {
      if (!app) throw new Error('no app-level token');
      await app.apps.connections.open();
    },
  };
}

/** A Web API failure as a code and a phrase that follows "Slack …": `answered invalid_auth`, `did not answer (ECONNREFUSED)`. */
export function slackErrorText(err: unknown): { code: string; text: string } {
  const f = classifySlackError(err);
  if (f.code === 'request_error') {
    const original = (err as { original?: { name?: string; cause?: { code?: string }; code?: string } }).original;
    if (original?.name === 'TimeoutError' || original?.name === 'AbortError') {
      return { code: 'timeout', text: 'did not answer in time' };
    }
    const cause = original?.cause?.code ?? original?.code;
    return { code: 'request_error', text: `did not answer${cause ? ` (${cause})` : ''}` };
  }
  if (f.code === 'rate_limited') return { code: f.code, text: 'rate-limited the call' };
  if (f.code.startsWith('http_')) return { code: f.code, text: `answered HTTP ${f.code.slice(5)}` };
  if (f.code === 'unknown')
    return { code: 'unknown', text: `failed: ${err instanceof Error ? err.message : String(err)}` };
  return { code: f.code, text: `answered ${f.code}` };
}

const APP_SETTINGS = 'https://api.slack.com/apps';
const NETWORK_FIX = 'check the network or proxy (and SLACK_API_URL, if set), then run the doctor again';

export type TokenCheck = { results: CheckResult[]; valid: boolean; botName: string | null };

/** `auth.test` with the bot token, then its scopes against the manifest's. */
export async function checkBotToken(slack: SlackDoctorPort, manifest: ScopesResult): Promise<TokenCheck> {
  let auth: AuthInfo;
  try {
    auth = await slack.authTest();
  } catch (err) {
    const e = slackErrorText(err);
    const result = classifySlackError(err).authProblem
      ? fail(
          'Slack bot token',
          `Slack rejected SLACK_BOT_TOKEN (${e.code})`,
          `copy the Bot User OAuth Token (xoxb-…) from ${APP_SETTINGS} → your app → OAuth & Permissions into SLACK_BOT_TOKEN; if the app was uninstalled, install it again`,
        )
      : fail('Slack bot token', `could not be checked: Slack ${e.text}`, NETWORK_FIX);
    return { results: [result], valid: false, botName: null };
  }
  const who = `${auth.user ? `bot @${auth.user}` : 'the bot'} in ${auth.team ?? 'the workspace'}${auth.teamId ? ` (${auth.teamId})` : ''}`;
  const results: CheckResult[] = [ok('Slack bot token', `valid: ${who}`)];
  if (!manifest.ok) {
    results.push(warn('Slack scopes', `not compared: ${manifest.problem}`, 'run the doctor from the app directory'));
  } else if (auth.scopes === null) {
    results.push(warn('Slack scopes', 'Slack did not say which scopes the token has (no x-oauth-scopes header)'));
  } else {
    const missing = missingScopes(manifest.scopes, auth.scopes);
    results.push(
      missing.length === 0
        ? ok('Slack scopes', `all ${manifest.scopes.length} bot scopes of manifest.yml granted`)
        : fail(
            'Slack scopes',
            `the token lacks ${missing.join(', ')} (manifest.yml asks for ${missing.length === 1 ? 'it' : 'them'})`,
            `add the missing scopes under OAuth & Permissions → Bot Token Scopes (or update the app from manifest.yml), then reinstall the app to the workspace`,
          ),
    );
  }
  return { results, valid: true, botName: auth.user };
}

/** The bot is a member of each channel it posts to. */
export async function checkChannels(
  slack: SlackDoctorPort,
  channels: readonly string[],
  botName: string | null,
): Promise<CheckResult[]> {
  const invite = `/invite @${botName ?? 'Cotool'}`;
  const results: CheckResult[] = [];
  for (const id of channels) {
    const name = `channel ${id}`;
    let info: ChannelInfo;
    try {
      info = await slack.channelInfo(id);
    } catch (err) {
      const e = slackErrorText(err);
      if (e.code === 'channel_not_found') {
        results.push(
          fail(
            name,
            'not found: no such channel, or a private channel the bot is not in',
            `check the id (channel name → About → at the bottom); for a private channel, ${invite} in it first`,
          ),
        );
      } else if (e.code === 'missing_scope') {
        results.push(
          fail(name, 'cannot be checked: the token lacks channels:read / groups:read', 'add the scopes and reinstall'),
        );
      } else {
        results.push(fail(name, `cannot be checked: Slack ${e.text}`, NETWORK_FIX));
      }
      continue;
    }
    const label = info.name ? `#${info.name}` : id;
    if (info.isArchived) {
      results.push(fail(name, `${label} is archived`, 'unarchive it, or send its alerts to another channel'));
    } else if (!info.isMember) {
      results.push(fail(name, `${label}: the bot is not a member`, `${invite} in ${label}`));
    } else if (info.isExtShared) {
      results.push(
        warn(
          name,
          `${label}: the bot is a member; the channel is shared with another organisation (Slack Connect), which sees every card`,
        ),
      );
    } else {
      results.push(ok(name, `${label}: the bot is a member`));
    }
  }
  return results;
}

/** Socket Mode: the app-level token is well-formed and Slack hands out a connection with it. */
export async function checkSocketMode(slack: SlackDoctorPort, appToken: string): Promise<CheckResult> {
  const name = 'Socket Mode';
  const tokenFix = `generate an app-level token with connections:write (${APP_SETTINGS} → your app → Basic Information → App-Level Tokens) and set SLACK_APP_TOKEN to it; turn on Socket Mode in the app settings`;
  if (!/^xapp-[A-Za-z0-9-]+$/.test(appToken)) {
    return fail(name, 'SLACK_APP_TOKEN is not well-formed (xapp- followed by letters, digits and dashes)', tokenFix);
  }
  try {
    await slack.openConnection();
    return ok(name, 'the app-level token opens a connection (apps.connections.open)');
  } catch (err) {
    const e = slackErrorText(err);
    switch (e.code) {
      case 'invalid_auth':
      case 'not_authed':
      case 'token_revoked':
        return fail(name, `Slack rejected SLACK_APP_TOKEN (${e.code})`, tokenFix);
      case 'not_allowed_token_type':
        return fail(name, 'SLACK_APP_TOKEN is not an app-level token', tokenFix);
      case 'missing_scope':
        return fail(name, 'the app-level token lacks connections:write', tokenFix);
      default:
        return fail(name, `could not open a connection: Slack ${e.text}`, NETWORK_FIX);
    }
  }
}

/** HTTP mode: Slack's signing secrets are 32 hexadecimal characters. */
export function checkSigningSecret(secret: string | null): CheckResult {
  const name = 'HTTP mode';
  const fix = `copy the Signing Secret (not the Client Secret) from ${APP_SETTINGS} → your app → Basic Information → App Credentials into SLACK_SIGNING_SECRET, or set SLACK_APP_TOKEN for Socket Mode`;
  if (!secret) return fail(name, 'SLACK_SIGNING_SECRET is not set', fix);
  if (!/^[0-9a-f]{32}$/.test(secret)) {
    return fail(name, `SLACK_SIGNING_SECRET is not well-formed (Slack's are 32 hexadecimal characters)`, fix);
  }
  return ok(name, 'SLACK_SIGNING_SECRET is well-formed (requests to /slack/events are verified with it)');
}
