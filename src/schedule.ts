/**
 * Scheduling: node-cron with its messages through pino, the interval of a cron expression, and the
 * poll's schedule (never two runs at once).
 */
import { createTask, type ScheduledTask, setLogger } from 'node-cron';
import type { Logger } from './log.ts';

/** node-cron's own messages go through pino (JSON), never to the console. */
export function cronLogger(logger: Logger) {
  const log = logger.child({ module: 'cron' });
  const text = (m: string | Error) => (m instanceof Error ? m.message : m);
  return {
    info: (m: string) => log.debug(m),
    warn: (m: string) => log.debug(m),
    error: (m: string | Error, err?: Error) => log.error({ err: err ?? (m instanceof Error ? m : undefined) }, text(m)),
    debug: (m: string | Error) => log.debug(text(m)),
  };
}

/** The time between two runs of a cron expression (for readiness and the lease), in ms. */
export function cronIntervalMs(expression: string): number {
  const probe = createTask(expression, () => undefined, { name: 'cotool-interval-probe' });
  try {
    const [a, b] = probe.getNextRuns(2);
    return a && b ? Math.max(1_000, b.getTime() - a.getTime()) : 30_000;
  } finally {
    void probe.destroy();
  }
}

/** Runs the poller on a cron schedule without overlapping runs; returns the task to stop. */
export function schedulePoller(
  poller: { runOnce(): Promise<unknown> },
  expression: string,
  logger: Logger,
): ScheduledTask {
  const cron = cronLogger(logger);
  setLogger(cron);
  const task = createTask(
    expression,
    async () => {
      await poller.runOnce();
    },
    { noOverlap: true, name: 'cotool-poll', logger: cron, suppressMissedWarning: true },
  );
  task.on('execution:overlap', () => logger.debug('previous poll still running; skipped a tick'));
  task.on('execution:missed', () => logger.debug('a poll tick was missed'));
  task.on('execution:failed', (ctx) => logger.error({ err: ctx.execution?.error }, 'poll crashed'));
  return task;
}
