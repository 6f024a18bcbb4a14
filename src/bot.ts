/**
 * Composition root: config → log → store → Cotool client → Slack app → poller, and shutdown.
 * `startBot()` is what `npm start` runs; tests start it in-process against local fakes.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { App } from '@slack/bolt';
import type { DestinationStream } from 'pino';
import { alertUrl, type Config } from './config.ts';
import { routeAlert } from './core/routes.ts';
import { classifySlackError } from './core/slack-errors.ts';
import { createCotoolClient } from './cotool/client.ts';
import { loadConfig } from './load-config.ts';
import { createLogger, type Logger } from './log.ts';
import { createLeadership, type Leadership } from './notify/leader.ts';
import { type CycleReport, createPoller, type Poller } from './notify/poller.ts';
import { createRetention, type Retention } from './notify/retention.ts';
import { createSender, type Sender } from './notify/sender/loop.ts';
import { signalling } from './notify/sender/signal.ts';
import type { Store } from './ports.ts';
import { cronIntervalMs, schedulePoller } from './schedule.ts';
import { createAccessPolicy } from './service/access.ts';
import { type AskUserService, createAskUser } from './service/ask-user.ts';
import { scheduleStatsPost } from './service/stats-post.ts';
import { createUseCases } from './service/use-cases.ts';
import { createOpenWarRoom } from './service/war-room.ts';
import { createPostingClient, createSenderClient, createSlackApp, type SlackAppOptions } from './slack/app.ts';
import { createSlackDirectory } from './slack/directory.ts';
import { registerAskUserListeners } from './slack/listeners/actions/ask-user.ts';
import { questionRenderer } from './slack/listeners/actions/ask-user-views.ts';
import type { ListenerEvents } from './slack/listeners/deps.ts';
import { threadReplySlack } from './slack/listeners/events/thread-sync.ts';
import { registerListeners } from './slack/listeners/index.ts';
import { createMuteRenderer } from './slack/mute-render.ts';
import { createSlackPort } from './slack/port.ts';
import { createCardRenderer } from './slack/render.ts';
import { renderCloseRequest } from './slack/views/four-eyes.ts';
import { answeredNote, askedNote, timedOutNote, warRoomOpenedNote } from './slack/views/next-move-notes.ts';
import { renderNoteReply } from './slack/views/note-modal.ts';
import { renderStats } from './slack/views/stats.ts';
import { createSlackWorkspace } from './slack/workspace.ts';
import { openStore, StartupError } from './store/open.ts';
import { createHealth, type HealthState } from './telemetry/health.ts';
import { createMetrics, type Metrics } from './telemetry/metrics.ts';

export type Bot = {
  config: Config;
  app: App;
  store: Store;
  poller: Poller;
  sender: Sender;
  leadership: Leadership;
  /** RETENTION_DAYS: the leader's pruning of rows of long-closed alerts. */
  retention: Retention;
  /** One poll, then wait until the sender has sent what it wrote (tests and benchmarks). */
  settle(timeoutMs?: number): Promise<Settled>;
  health: HealthState;
  metrics: Metrics;
  logger: Logger;
  /** Stops cleanly: no new poll, the in-flight one finished or abandoned safely, socket closed. */
  stop(): Promise<void>;
};

/** A poll cycle's report with what the sender did until it was idle again (cards posted and updated, …). */
export type Settled = CycleReport & { posted: number; updated: number; notices: number; failed: number };

export type BotOptions = {
  logDestination?: DestinationStream;
  slack?: SlackAppOptions;
  /** Start the cron schedule (default true); tests may drive `poller.runOnce()` themselves. */
  schedule?: boolean;
  /** A send claim older than this is taken over (after a look-up); default 60 s. */
  claimStaleMs?: number;
  /** The leader lease; default about one poll interval. */
  leaseTtlMs?: number;
  /** Reminders' wait in ms, overriding REMIND_AFTER_MINUTES (tests: a minute is the smallest setting). */
  remindAfterMs?: number;
  /** The sender's first retry delay after a failure (default 1 s). */
  retryBaseMs?: number;
  /** How long the sender waits before looking up a post whose answer was not definite (default 5 s). */
  unknownSettleMs?: number;
  /** How long a click's claim on an alert holds (default 180 s); a change's intent is held a little longer. */
  actionClaimTtlMs?: number;
  /** How often a complete poll marks records of gone alerts without a card final (default hourly). */
  quietCheckMs?: number;
  /** How long an asked person has to answer (default ASK_USER_TIMEOUT_MINUTES; tests use less than its 1-minute floor). */
  askUserTimeoutMs?: number;
};

export { StartupError };

export async function startBot(env: Record<string, string | undefined>, options: BotOptions = {}): Promise<Bot> {
  const parsed = loadConfig(env);
  if (!parsed.ok) throw new StartupError(`configuration: ${parsed.problems.join('; ')}`);
  const config = parsed.config;
  const logger = createLogger(config.logLevel, options.logDestination);
  const health = createHealth(config.slack.mode);
  const metrics = createMetrics({ processMetrics: true });
  const store = await openStore(config, logger);
  const owner = randomUUID();
  health.pollIntervalMs = cronIntervalMs(config.poll.schedule);
  const cotool = createCotoolClient({
    baseUrl: config.cotool.apiUrl,
    apiKey: config.cotool.apiKey,
    timeoutMs: config.cotool.timeoutMs,
    logger: logger.child({ module: 'cotool' }),
    onRequest: metrics.observeCotoolRequest,
  });
  const app = createSlackApp(config, logger, health, options.slack ?? {}, metrics);
  const render = createCardRenderer(config, { interactive: true });
  const countError = (err: unknown) => metrics.slackErrors.inc({ code: classifySlackError(err).code });
  const slack = createSlackPort(app.client, countError, createPostingClient(config, logger, options.slack));
  const senderClient = createSenderClient(config, logger, options.slack);
  const senderSlack = createSlackPort(senderClient, countError, senderClient);
  const access = createAccessPolicy({
    directory: createSlackDirectory(app.client),
    allowedUsers: config.slack.allowedUsers,
    allowedUsergroups: config.slack.allowedUsergroups,
    alertChannel: config.slack.alertChannel,
    logger,
  });
  // A lease a little over one poll interval: a dead leader's successor takes over within two.
  const leaseTtlMs =
    options.leaseTtlMs ?? config.tuning.leaseTtlMs ?? Math.min(60_000, Math.max(3_000, health.pollIntervalMs));
  let sender: Sender | null = null;
  let poller: Poller | null = null;
  let retention: Retention | null = null;
  let askUser: AskUserService | null = null;
  const leadership = createLeadership({
    store,
    owner,
    ttlMs: leaseTtlMs,
    health,
    logger,
    metrics,
    onElected: () => {
      void sender?.wake();
      if (options.schedule !== false) {
        void poller?.runOnce();
        retention?.elected();
      }
    },
  });
  retention = createRetention({
    store,
    retentionMs: config.retention.ms,
    isLeader: leadership.isLeader,
    logger,
    metrics,
  });
  const activeRetention = retention;
  sender = createSender({
    store,
    slack: senderSlack,
    render,
    cotool,
    health,
    logger,
    metrics,
    owner,
    pace: config.send,
    channels: config.channels,
    threadTimeline: config.thread.timeline,
    claimStaleMs: options.claimStaleMs ?? config.tuning.claimStaleMs ?? 60_000,
    isLeader: leadership.isLeader,
    fence: leadership.fence,
    ...(options.retryBaseMs !== undefined ? { retryBaseMs: options.retryBaseMs } : {}),
    ...(options.unknownSettleMs !== undefined ? { unknownSettleMs: options.unknownSettleMs } : {}),
    renderRequest: renderCloseRequest,
    renderMute: createMuteRenderer(config),
    renderQuestion: questionRenderer,
    onCardPosted: (e) => void askUser?.cardPosted(e),
  });
  const activeSender = sender;
  // One signal wakes the sender: every writer of outbox items (the poller, the use-cases) writes
  // them through this store, whose apply wakes it once they are committed.
  const writes = signalling(store, () => void activeSender.wake());
  poller = createPoller({
    store: writes,
    cotool,
    render,
    defaultChannel: config.slack.alertChannel,
    routes: config.routes,
    policy: {
      minSeverity: config.poll.minSeverity,
      sources: config.poll.sources,
      backlog: config.poll.backlog,
      backlogMaxAgeMs: config.poll.backlogMaxAgeMs,
      threadTimeline: config.thread.timeline,
      remindAfterMs: options.remindAfterMs ?? config.nextMove.remindAfterMs,
      oncall: config.nextMove.oncall,
    },
    storm: config.storm,
    health,
    logger,
    metrics,
    isLeader: leadership.isLeader,
    ...(options.quietCheckMs !== undefined ? { quietCheckMs: options.quietCheckMs } : {}),
    // Mutes whose time ran out are ended (and announced) by the leader at the start of each poll.
    eachCycle: () => useCases.mutes.endDueMutes(),
  });
  const activePoller = poller;

  const events: ListenerEvents = new EventEmitter();
  // Every use-case, built once; the listeners only call them.
  const useCases = createUseCases({
    cotool,
    store: writes,
    render,
    slack,
    access,
    health,
    logger,
    clock: Date.now,
    metrics,
    fourEyes: { severities: config.fourEyes.severities, alertChannel: config.slack.alertChannel },
    onChanged: (change) => {
      events.emit('alert-changed', change);
    },
    renderNoteReply,
    threadReplies: threadReplySlack(app.client, logger),
    ...(options.actionClaimTtlMs !== undefined ? { claimTtlMs: options.actionClaimTtlMs } : {}),
  });
  // Open incident channel (issue 14): built once, like the use-cases above.
  const openWarRoom = createOpenWarRoom({
    cotool,
    store: writes,
    workspace: createSlackWorkspace(app.client),
    slack,
    access,
    render,
    routes: config.routes,
    defaultChannel: config.slack.alertChannel,
    oncall: config.nextMove.oncall,
    alertUrl: (alert) => alertUrl(config.cotool, alert),
    renderOpenedNote: warRoomOpenedNote,
    logger,
    clock: Date.now,
    onOpened: () => metrics.warRoomsOpened.inc(),
  });
  registerListeners(app, {
    config,
    useCases,
    access,
    store,
    slack,
    logger,
    clock: Date.now,
    events,
    metrics,
    openWarRoom,
  });
  // "Was this you?": asking the person an alert names (the leader times unanswered questions out).
  let botUser: Promise<{ id: string; name: string } | null> | null = null;
  const asking = createAskUser({
    triage: {
      cotool,
      store: writes,
      render,
      slack,
      access,
      logger,
      clock: Date.now,
      onChanged: (change) => events.emit('alert-changed', change),
      onFirstAction: (seconds) => metrics.timeToFirstAction.observe(seconds),
      ...(options.actionClaimTtlMs !== undefined ? { claimTtlMs: options.actionClaimTtlMs } : {}),
    },
    cotool,
    workspace: createSlackWorkspace(app.client),
    views: { askedNote, answeredNote, timedOutNote },
    timeoutMs: options.askUserTimeoutMs ?? config.nextMove.askUserTimeoutMs,
    botUser: () =>
      (botUser ??= app.client.auth.test().then(
        (a) => (a.user_id ? { id: a.user_id, name: a.user ?? 'Cotool' } : null),
        () => (botUser = null),
      )),
    onOutcome: (outcome) => metrics.questions.inc({ outcome }),
    asksAutomatically: (alert) => routeAlert(alert, config.routes, config.slack.alertChannel).askUser,
  });
  askUser = asking;
  registerAskUserListeners(app, { askUser: asking, store: writes, access, logger, clock: Date.now });
  const timeOutQuestions = async () => {
    if (!leadership.isLeader()) return;
    await asking.timeOutQuestions().catch((err: unknown) => logger.warn({ err }, 'could not time questions out'));
  };
  app.error(async (err) => {
    logger.error({ err }, 'unhandled error in a Slack listener');
  });

  try {
    await verifySlack(app, config, logger);
    await startWhenSlackAnswers(app, config, logger);
  } catch (err) {
    await store.close();
    await app.stop().catch(() => undefined);
    throw err;
  }
  logger.info(
    { mode: config.slack.mode, port: config.port, channel: config.slack.alertChannel },
    'cotool-slack started',
  );

  await leadership.start();
  activeSender.start();
  void activeSender.wake();
  warnUnjoinedRoutes(app, config, logger);
  const task = options.schedule === false ? null : schedulePoller(activePoller, config.poll.schedule, logger);
  if (task) {
    await task.start();
    void activePoller.runOnce();
  }
  const statsSchedule = options.schedule === false ? null : config.stats.postSchedule;
  const statsTask = statsSchedule
    ? scheduleStatsPost(
        {
          stats: useCases.stats,
          store,
          slack,
          channel: config.slack.alertChannel,
          render: renderStats,
          logger,
          clock: Date.now,
        },
        statsSchedule,
      )
    : null;
  if (statsTask) await statsTask.start();
  // Hourly while leader (and once shortly after each election: see onElected).
  if (options.schedule !== false) activeRetention.start();
  // Unanswered questions past their deadline, once per poll interval while leader.
  const questionTimer =
    options.schedule === false ? null : setInterval(() => void timeOutQuestions(), health.pollIntervalMs);
  questionTimer?.unref();

  let stopped: Promise<void> | null = null;
  const stop = () => {
    stopped ??= (async () => {
      health.stopping = true;
      if (task) await task.stop();
      if (statsTask) await statsTask.stop();
      if (questionTimer) clearInterval(questionTimer);
      await activeRetention.stop();
      await activePoller.stop(5_000);
      await activeSender.stop(3_000);
      await leadership.stop();
      await app.stop().catch((err: unknown) => logger.warn({ err }, 'Slack connection did not close cleanly'));
      await store.close();
      logger.info('cotool-slack stopped');
    })();
    return stopped;
  };
  const settle = async (timeoutMs = 15_000): Promise<Settled> => {
    const before = { ...activeSender.stats };
    const report = await activePoller.runOnce();
    await timeOutQuestions();
    await activeSender.whenIdle(timeoutMs);
    const after = activeSender.stats;
    return {
      ...report,
      posted: after.posted - before.posted,
      updated: after.updated - before.updated,
      notices: after.notices - before.notices,
      failed: after.failed - before.failed,
    };
  };
  return {
    config,
    app,
    store,
    poller: activePoller,
    sender: activeSender,
    leadership,
    retention: activeRetention,
    health,
    metrics,
    logger,
    settle,
    stop,
  };
}

/**
 * Bolt's start (auth.test, and in Socket Mode the connection) tried again while Slack is down or
 * unreachable — a replica started during a Slack outage waits for Slack instead of exiting into a
 * restart loop whose back-off would outlast the outage. A wrong token still stops it at once.
 */
async function startWhenSlackAnswers(app: App, config: Config, logger: Logger): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await app.init();
      await app.start(config.port);
      return;
    } catch (err) {
      const f = classifySlackError((err as { original?: unknown } | null)?.original ?? err);
      if (f.authProblem || f.channelProblem || f.meaning === 'payload' || f.meaning === 'done') throw err;
      const waitMs = Math.min(10_000, 500 * 2 ** Math.min(attempt, 5));
      logger.warn({ slackError: f.code, retryInMs: waitMs }, 'Slack did not answer at start; trying again');
      await app.stop().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
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

/** At start, one clear line per routed channel the bot is not in (the alert channel is checked above). */
function warnUnjoinedRoutes(app: App, config: Config, logger: Logger): void {
  const routed = config.channels.filter((c) => c !== config.slack.alertChannel);
  for (const channel of routed) {
    app.client.conversations.info({ channel }).then(
      (info) => {
        if (info.channel && info.channel.is_member === false) {
          logger.warn(
            { channel },
            `the bot is not a member of ${channel} (a route sends cards there): invite it (/invite @Cotool)`,
          );
        }
      },
      (err: unknown) => {
        const f = classifySlackError(err, channel);
        logger.warn({ channel, slackError: f.code }, f.hint ?? `could not check routed channel ${channel}: ${f.code}`);
      },
    );
  }
}
