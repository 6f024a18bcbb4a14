/**
 * Composition root: config → log → store → Cotool client → Slack app → poller, and shutdown.
 * `startBot()` is what `npm start` runs; tests start it in-process against local fakes.
 */
import { EventEmitter } from 'node:events';
import type { App } from '@slack/bolt';
import type { DestinationStream } from 'pino';
import { type Config, parseConfig } from './config.ts';
import { createCotoolClient } from './cotool/client.ts';
import { createHealth, type HealthState } from './http/health.ts';
import { createMetrics, type Metrics } from './http/metrics.ts';
import { createLogger, type Logger } from './log.ts';
import { createPoller, type Poller, schedulePoller } from './notify/poller.ts';
import { createAccessPolicy } from './service/access.ts';
import { createPostingClient, createSlackApp, type SlackAppOptions } from './slack/app.ts';
import { createSlackDirectory } from './slack/directory.ts';
import { classifySlackError } from './slack/errors.ts';
import type { ListenerEvents } from './slack/listeners/deps.ts';
import { registerListeners } from './slack/listeners/index.ts';
import { createSlackPort } from './slack/port.ts';
import { createCardRenderer } from './slack/render.ts';
import { openSqliteStore } from './store/sqlite.ts';
import type { Store } from './store/store.ts';

export type Bot = {
  config: Config;
  app: App;
  store: Store;
  poller: Poller;
  health: HealthState;
  metrics: Metrics;
  logger: Logger;
  /** Stops cleanly: no new poll, the in-flight one finished or abandoned safely, socket closed. */
  stop(): Promise<void>;
};

export type BotOptions = {
  logDestination?: DestinationStream;
  slack?: SlackAppOptions;
  /** Start the cron schedule (default true); tests may drive `poller.runOnce()` themselves. */
  schedule?: boolean;
  claimStaleMs?: number;
};

export class StartupError extends Error {}

export async function startBot(env: Record<string, string | undefined>, options: BotOptions = {}): Promise<Bot> {
  const parsed = parseConfig(env);
  if (!parsed.ok) throw new StartupError(`configuration: ${parsed.problems.join('; ')}`);
  const config = parsed.config;
  const logger = createLogger(config.logLevel, options.logDestination);
  const health = createHealth(config.slack.mode);
  const metrics = createMetrics({ processMetrics: true });
  const store = openSqliteStore(config.sqlitePath);
  const cotool = createCotoolClient({
    baseUrl: config.cotool.apiUrl,
    apiKey: config.cotool.apiKey,
    timeoutMs: config.cotool.timeoutMs,
    logger: logger.child({ module: 'cotool' }),
    onRequest: metrics.observeCotoolRequest,
  });
  const app = createSlackApp(config, logger, health, options.slack, metrics);
  const render = createCardRenderer(config, { interactive: true });
  const slack = createSlackPort(
    app.client,
    (err) => metrics.slackErrors.inc({ code: classifySlackError(err).code }),
    createPostingClient(config, logger, options.slack),
  );
  const access = createAccessPolicy({
    directory: createSlackDirectory(app.client),
    allowedUsers: config.slack.allowedUsers,
    allowedUsergroups: config.slack.allowedUsergroups,
    alertChannel: config.slack.alertChannel,
    logger,
  });
  const poller = createPoller({
    store,
    cotool,
    slack,
    render,
    channel: config.slack.alertChannel,
    policy: {
      minSeverity: config.poll.minSeverity,
      sources: config.poll.sources,
      backlog: config.poll.backlog,
      backlogMaxAgeMs: config.poll.backlogMaxAgeMs,
      claimStaleMs: options.claimStaleMs ?? 30_000,
    },
    health,
    logger,
    metrics,
  });

  const events: ListenerEvents = new EventEmitter();
  registerListeners(app, {
    config,
    cotool,
    store,
    render,
    slack,
    access,
    health,
    logger,
    clock: Date.now,
    events,
    metrics,
  });
  app.error(async (err) => {
    logger.error({ err }, 'unhandled error in a Slack listener');
  });

  try {
    await verifySlack(app, config, logger);
    await app.init();
    await app.start(config.port);
  } catch (err) {
    await store.close();
    await app.stop().catch(() => undefined);
    throw err;
  }
  logger.info(
    { mode: config.slack.mode, port: config.port, channel: config.slack.alertChannel },
    'cotool-slack started',
  );

  const task = options.schedule === false ? null : schedulePoller(poller, config.poll.schedule, logger);
  if (task) {
    await task.start();
    void poller.runOnce();
  }

  let stopped: Promise<void> | null = null;
  const stop = () => {
    stopped ??= (async () => {
      health.stopping = true;
      if (task) await task.stop();
      await poller.stop(7_000);
      await app.stop().catch((err: unknown) => logger.warn({ err }, 'Slack connection did not close cleanly'));
      await store.close();
      logger.info('cotool-slack stopped');
    })();
    return stopped;
  };
  return { config, app, store, poller, health, metrics, logger, stop };
}

/** A wrong token is a configuration error: say so in one line. Slack being unreachable is not. */
async function verifySlack(app: App, config: Config, logger: Logger): Promise<void> {
  try {
    const auth = await app.client.auth.test();
    logger.info({ team: auth.team, botUserId: auth.user_id }, 'Slack token verified');
  } catch (err) {
    const f = classifySlackError(err);
    if (f.authProblem) throw new StartupError(`SLACK_BOT_TOKEN: ${f.hint ?? f.code}`);
    logger.warn({ slackError: f.code }, 'could not verify the Slack token now; continuing');
    return;
  }
  try {
    const info = await app.client.conversations.info({ channel: config.slack.alertChannel });
    if (info.channel && info.channel.is_member === false && !info.channel.is_private) {
      logger.warn(
        { channel: config.slack.alertChannel },
        `the bot is not a member of ${config.slack.alertChannel}: invite it (/invite @Cotool) or cards cannot be posted`,
      );
    }
  } catch (err) {
    const f = classifySlackError(err, config.slack.alertChannel);
    logger.warn({ slackError: f.code }, f.hint ?? `could not check SLACK_ALERT_CHANNEL: ${f.code}`);
  }
}
