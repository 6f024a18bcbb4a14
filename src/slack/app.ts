/**
 * The Bolt app: Socket Mode when an app token is configured, else HTTP on PORT at /slack/events
 * (Bolt verifies the signatures). /healthz, /readyz and /metrics are served on PORT in both modes. Bolt's
 * Web API client retries rate-limited calls after Retry-After and retries 5xx and network failures.
 */
import type { ServerResponse } from 'node:http';
import { App, type Logger as BoltLogger, type CustomRoute, LogLevel, SocketModeReceiver } from '@slack/bolt';
import { type RetryOptions, WebClient } from '@slack/web-api';
import type { Config } from '../config.ts';
import { type HealthState, healthBody, readiness } from '../http/health.ts';
import { METRICS_CONTENT_TYPE, type Metrics } from '../http/metrics.ts';
import type { Logger } from '../log.ts';
import { SENDER_SLACK_CLIENT } from '../notify/claim-budget.ts';
import { answerLost, outcomeUnknown } from './errors.ts';

const LEVELS: Record<string, LogLevel> = {
  trace: LogLevel.DEBUG,
  debug: LogLevel.DEBUG,
  info: LogLevel.INFO,
  warn: LogLevel.WARN,
  error: LogLevel.ERROR,
  fatal: LogLevel.ERROR,
  silent: LogLevel.ERROR,
};

/**
 * What Bolt and the Slack clients write is text (whole payloads at debug level), out of reach of
 * pino's path redaction: tokens, response URLs and trigger ids are cut out of it here.
 */
const SECRETS_IN_TEXT: readonly [RegExp, string][] = [
  [/xox[a-z]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+/g, '[redacted]'],
  [/https:\/\/hooks\.slack\.com\/[^\s"'\\]+/g, '[redacted]'],
  [/("?(?:response_url|trigger_id|token)"?\s*[:=]\s*)"[^"]*"/g, '$1"[redacted]"'],
];

export function scrubSlackText(text: string): string {
  let out = text;
  for (const [re, by] of SECRETS_IN_TEXT) out = out.replace(re, by);
  return out;
}

/** Bolt and its clients log through pino, scrubbed of secrets. */
export function boltLogger(logger: Logger, level: string): BoltLogger {
  const log = logger.child({ module: 'bolt' });
  let current = LEVELS[level] ?? LogLevel.INFO;
  const text = (msg: unknown[]) =>
    scrubSlackText(msg.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(' '));
  return {
    debug: (...msg) => log.debug(text(msg)),
    info: (...msg) => log.info(text(msg)),
    warn: (...msg) => log.warn(text(msg)),
    error: (...msg) => log.error(text(msg)),
    setLevel: (l) => {
      current = l;
    },
    getLevel: () => current,
    setName: () => undefined,
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(payload);
}

export type SlackAppOptions = {
  /** Overrides for the Web API client's retry policy (tests use short delays). */
  retryConfig?: { retries: number; factor?: number; minTimeout?: number; maxTimeout?: number; randomize?: boolean };
  /** Per-request timeout of the Web API client. */
  timeoutMs?: number;
};

function clientOptionsFor(config: Config, options: SlackAppOptions) {
  return {
    ...(config.slack.apiUrl ? { slackApiUrl: config.slack.apiUrl } : {}),
    retryConfig: options.retryConfig ?? {
      retries: 5,
      factor: 2,
      minTimeout: 1_000,
      maxTimeout: 20_000,
      randomize: true,
    },
    timeout: options.timeoutMs ?? 20_000,
  };
}

/**
 * The client that posts messages. Like Bolt's, it waits out rate limits (Retry-After) and retries
 * 5xx answers; unlike it, it never repeats a post whose answer was lost (timeout, dropped
 * connection): Slack may have posted it, and a repeat would be a second card. The caller finds out
 * from the channel instead (message metadata).
 */
export function createPostingClient(config: Config, logger: Logger, options: SlackAppOptions = {}): WebClient {
  const base = clientOptionsFor(config, options);
  return new WebClient(config.slack.botToken, {
    ...base,
    logger: boltLogger(logger, config.logLevel),
    // The Web API client hands retryConfig to p-retry, whose onFailedAttempt ends the retries by throwing.
    retryConfig: {
      ...base.retryConfig,
      onFailedAttempt: (err: Error) => {
        // A lost answer or a 5xx may follow a message Slack stored: never send it again blindly.
        if (answerLost(err) || outcomeUnknown(err)) throw err;
      },
    } as RetryOptions,
  });
}

/**
 * The sender's client: no retries of its own and 429s handed back at once. The sender paces each
 * channel, waits out Retry-After itself, and looks a post up before repeating it after a 5xx.
 */
export function createSenderClient(config: Config, logger: Logger, options: SlackAppOptions = {}): WebClient {
  const base = clientOptionsFor(config, options);
  return new WebClient(config.slack.botToken, {
    ...base,
    logger: boltLogger(logger, config.logLevel),
    // What the claim-stale floor is computed from (src/notify/claim-budget.ts).
    timeout: options.timeoutMs ?? SENDER_SLACK_CLIENT.timeoutMs,
    retryConfig: { retries: SENDER_SLACK_CLIENT.retries },
    rejectRateLimitedCalls: true,
  });
}

/** Socket Mode: `health.slackConnected` follows the connection to Slack (what /readyz reports). */
function trackSocketConnection(client: SocketModeReceiver['client'], health: HealthState): void {
  client.on('connected', () => {
    health.slackConnected = true;
  });
  for (const state of ['connecting', 'reconnecting', 'disconnecting', 'disconnected']) {
    client.on(state, () => {
      health.slackConnected = false;
    });
  }
}

export function createSlackApp(
  config: Config,
  logger: Logger,
  health: HealthState,
  options: SlackAppOptions,
  metrics: Pick<Metrics, 'render'>,
): App {
  const routes: CustomRoute[] = [
    {
      path: '/healthz',
      method: ['GET', 'HEAD'],
      handler: (_req, res) => json(res, 200, healthBody(health)),
    },
    {
      path: '/readyz',
      method: ['GET', 'HEAD'],
      handler: (_req, res) => {
        const r = readiness(health);
        json(res, r.ready ? 200 : 503, r);
      },
    },
    {
      path: '/metrics',
      method: ['GET', 'HEAD'],
      handler: async (_req, res) => {
        try {
          const text = await metrics.render();
          res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'cache-control': 'no-store' });
          res.end(text);
        } catch (err) {
          logger.warn({ err }, 'could not render /metrics');
          json(res, 500, { error: 'metrics unavailable' });
        }
      },
    },
  ];
  const clientOptions = clientOptionsFor(config, options);
  const common = {
    token: config.slack.botToken,
    logger: boltLogger(logger, config.logLevel),
    logLevel: LEVELS[config.logLevel] ?? LogLevel.INFO,
    clientOptions,
    customRoutes: routes,
    // The bot's own messages are never commands; Bolt drops them before any listener runs.
    ignoreSelf: true,
    // Bolt would otherwise call auth.test from the constructor with nobody awaiting it: a wrong token
    // would crash the process with a stack trace. startBot() verifies the token, then calls init().
    deferInitialization: true,
  };
  if (config.slack.mode === 'socket') {
    const receiver = new SocketModeReceiver({
      appToken: config.slack.appToken ?? '',
      logger: common.logger,
      logLevel: common.logLevel,
      // The Socket Mode client opens its connection through apps.connections.open: same API URL.
      installerOptions: { port: config.port, clientOptions },
      customRoutes: routes,
    });
    trackSocketConnection(receiver.client, health);
    return new App({ ...common, socketMode: true, receiver });
  }
  return new App({
    ...common,
    signingSecret: config.slack.signingSecret ?? undefined,
    endpoints: '/slack/events',
    port: config.port,
  });
}
