import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import type { OutgoingMessage } from '../../src/ports.ts';
import type { StatsReport } from '../../src/service/stats.ts';
import { createStatsPost, scheduleStatsPost } from '../../src/service/stats-post.ts';
import { renderStats } from '../../src/slack/views/stats.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { fakeSlack } from './fakes.ts';

const NOW = Date.parse('2026-11-30T09:00:00.000Z');
const report: StatsReport = {
  days: 7,
  sinceMs: NOW - 7 * 86_400_000,
  untilMs: NOW,
  alerts: 0,
  falsePositive: 0,
  benign: 0,
  truePositive: 0,
  fpRate: null,
  medianFirstActionMs: null,
  detections: [],
  partial: false,
  pages: 1,
};

function setup() {
  const lines: string[] = [];
  const logger = createLogger(
    'debug',
    new Writable({
      write(c, _e, cb) {
        lines.push(String(c));
        cb();
      },
    }),
  );
  const slack = fakeSlack();
  const store = openSqliteStore(':memory:');
  let fail = false;
  const asked: number[] = [];
  const deps = {
    stats: {
      report: async (days: number) => {
        asked.push(days);
        if (fail) throw new Error('cotool down');
        return report;
      },
    },
    store,
    slack: slack.port,
    channel: 'C0ALERTS',
    render: renderStats,
    logger,
    clock: () => NOW,
  };
  return { deps, slack, asked, lines, store, failNext: () => (fail = true), recover: () => (fail = false) };
}

describe('the weekly noise report', () => {
  it('posts the 7-day report to the alert channel, once per tick across replicas', async () => {
    const t = setup();
    const a = createStatsPost(t.deps);
    const b = createStatsPost(t.deps); // another replica on the same store
    expect(await Promise.all([a(), b()])).toEqual(expect.arrayContaining(['posted', 'already_posted']));
    expect(t.slack.posts).toHaveLength(1);
    expect(t.slack.posts[0] as OutgoingMessage).toMatchObject({
      channel: 'C0ALERTS',
      text: expect.stringContaining('Noise report, last 7 days'),
    });
    expect(t.asked).toEqual([7]);
  });

  it('a failure is logged, not thrown', async () => {
    const t = setup();
    t.failNext();
    expect(await createStatsPost(t.deps)()).toBe('failed');
    expect(t.lines.some((l) => l.includes('could not post the noise report'))).toBe(true);
    expect(t.slack.posts).toEqual([]);
  });

  it('schedules a task that does not start by itself', async () => {
    const t = setup();
    const task = scheduleStatsPost(t.deps, '0 0 9 * * 1');
    expect(task.getStatus()).not.toBe('running');
    await task.destroy();
  });
});
