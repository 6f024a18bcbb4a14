/**
 * STATS_POST_SCHEDULE: the 7-day noise report posted to the alert channel on a cron schedule (e.g.
 * Mondays at 09:00). Runs never overlap; each tick posts at most once across replicas (the tick is
 * claimed in the store first); a failure is logged and the next tick tries again. node-cron's own
 * messages go through pino (`cronLogger`), so nothing prints outside the log.
 */
import { createTask, type ScheduledTask } from 'node-cron';
import type { Logger } from '../log.ts';
import type { SlackPort, SlackView, Store } from '../ports.ts';
import { cronLogger } from '../schedule.ts';
import type { StatsReport, StatsService } from './stats.ts';

/** The weekly report's window. */
export const POSTED_WINDOW_DAYS = 7;
const TICK_TTL_MS = 8 * 24 * 60 * 60_000;

export type StatsPostDeps = {
  stats: StatsService;
  store: Pick<Store, 'firstTime'>;
  slack: Pick<SlackPort, 'post' | 'classify'>;
  channel: string;
  render: (report: StatsReport) => SlackView;
  logger: Logger;
  clock: () => number;
};

export type StatsPostOutcome = 'posted' | 'already_posted' | 'failed';

/** One tick: claim it, compute the report, post it. Never throws. */
export function createStatsPost(deps: StatsPostDeps): () => Promise<StatsPostOutcome> {
  const log = deps.logger.child({ module: 'stats-post' });
  return async () => {
    const now = deps.clock();
    const tick = new Date(now).toISOString().slice(0, 16);
    try {
      if (!(await deps.store.firstTime(`stats-post:${tick}`, now, TICK_TTL_MS))) return 'already_posted';
      const report = await deps.stats.report(POSTED_WINDOW_DAYS);
      const posted = await deps.slack.post({ ...deps.render(report), channel: deps.channel });
      log.info({ channel: deps.channel, ts: posted.ts, alerts: report.alerts }, 'noise report posted');
      return 'posted';
    } catch (err) {
      const f = deps.slack.classify(err, deps.channel);
      log.error(
        { err, slackError: f.code, hint: f.hint },
        'could not post the noise report; the next tick tries again',
      );
      return 'failed';
    }
  };
}

/** Schedules the post; the task to start and stop. */
export function scheduleStatsPost(deps: StatsPostDeps, expression: string): ScheduledTask {
  const cron = cronLogger(deps.logger);
  const run = createStatsPost(deps);
  const task = createTask(
    expression,
    async () => {
      await run();
    },
    { noOverlap: true, name: 'cotool-stats-post', logger: cron, suppressMissedWarning: true },
  );
  task.on('execution:overlap', () => deps.logger.debug('the noise report is still being posted; skipped a tick'));
  return task;
}
