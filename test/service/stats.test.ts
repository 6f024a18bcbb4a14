import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/core/alert.ts';
import { createLogger } from '../../src/log.ts';
import type { AlertPageOf } from '../../src/ports.ts';
import { buildReport, createStatsService, median, STATS_PAGE_SIZE } from '../../src/service/stats.ts';
import { alert } from '../support/alerts.ts';

const NOW = Date.parse('2026-11-30T12:00:00.000Z');
const DAY = 86_400_000;
const at = (daysAgo: number) => new Date(NOW - daysAgo * DAY).toISOString();
const logger = createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() }));
const det = (id: string, name: string) => ({ id, agentId: null, name, kind: 'cotool' });

function make(n: number, over: (i: number) => Partial<Alert>): Alert[] {
  return Array.from({ length: n }, (_, i) =>
    alert({ id: `id-${i}`, displayId: `COT-${i}`, createdAt: at(1), ...over(i) }),
  );
}

/** A list endpoint over `alerts` (any order), recording calls, honouring maxPages like the client. */
function lister(alerts: Alert[]) {
  const calls: number[] = [];
  return {
    calls,
    async *listAlertPages(_p: unknown, o: { pageSize?: number; maxPages?: number } = {}): AsyncGenerator<AlertPageOf> {
      const size = o.pageSize ?? 200;
      const max = o.maxPages ?? 50;
      for (let page = 1, offset = 0; ; page++, offset += size) {
        calls.push(offset);
        const slice = alerts.slice(offset, offset + size);
        const done = offset + slice.length >= alerts.length;
        const truncated = !done && page >= max;
        yield { alerts: slice, skipped: 0, last: done || truncated, truncated, pages: page };
        if (done || truncated) return;
      }
    },
  };
}

describe('noise report', () => {
  it('per detection: volume, dispositions, FP rate over the closed, median time to first action; by volume', () => {
    const alerts = [
      ...make(4, (i) => ({
        id: `okta-${i}`,
        detection: det('d-okta', 'Okta push storm'),
        status: ['closed_false_positive', 'closed_false_positive', 'closed_true_positive_benign', 'open'][i] as string,
      })),
      ...make(2, (i) => ({
        id: `ssh-${i}`,
        detection: det('d-ssh', 'SSH brute force'),
        status: 'closed_true_positive',
      })),
      alert({
        id: 'mail-1',
        detection: null,
        source: { category: 'trigger', name: 'email', triggerType: 'email' },
        createdAt: at(2),
        status: 'escalated',
      }),
      alert({
        id: 'old',
        detection: det('d-okta', 'Okta push storm'),
        createdAt: at(8),
        status: 'closed_false_positive',
      }),
    ];
    const times = [
      { alertId: 'okta-0', postedAt: NOW - DAY, firstActionAt: NOW - DAY + 60_000 },
      { alertId: 'okta-1', postedAt: NOW - DAY, firstActionAt: NOW - DAY + 180_000 },
      { alertId: 'okta-2', postedAt: NOW - DAY, firstActionAt: NOW - DAY + 120_000 },
      { alertId: 'okta-3', postedAt: NOW - DAY, firstActionAt: null },
      { alertId: 'ssh-0', postedAt: NOW - DAY, firstActionAt: NOW - DAY + 3_600_000 },
    ];
    const r = buildReport(
      alerts,
      times,
      { days: 7, sinceMs: NOW - 7 * DAY, untilMs: NOW },
      { partial: false, pages: 1 },
    );
    expect(r).toMatchObject({ alerts: 7, falsePositive: 2, benign: 1, truePositive: 2, fpRate: 2 / 5 });
    expect(
      r.detections.map((d) => [d.name, d.alerts, d.falsePositive, d.benign, d.truePositive, d.live, d.acted]),
    ).toEqual([
      ['Okta push storm', 4, 2, 1, 0, 1, 3],
      ['SSH brute force', 2, 0, 0, 2, 0, 1],
      ['email', 1, 0, 0, 0, 1, 0],
    ]);
    expect(r.detections[0]).toMatchObject({ fpRate: 2 / 3, medianFirstActionMs: 120_000 });
    expect(r.detections[2]).toMatchObject({ noDetection: true, fpRate: null, medianFirstActionMs: null });
    expect(r.medianFirstActionMs).toBe(150_000);
  });

  it('median', () => {
    expect(median([])).toBeNull();
    expect(median([5])).toBe(5);
    expect(median([9, 1, 5])).toBe(5);
    expect(median([1, 2, 3, 10])).toBe(2.5);
  });

  it('10,000 alerts cost 50 list calls and nothing else from Cotool; a second ask within minutes costs none', async () => {
    const alerts = make(10_000, (i) => ({ id: `a${i}`, detection: det(`d${i % 30}`, `Detection ${i % 30}`) }));
    const cotool = lister(alerts);
    let now = NOW;
    const stats = createStatsService({ cotool, store: { cardTimes: async () => [] }, logger, clock: () => now });
    const [r1, r2] = await Promise.all([stats.report(7), stats.report(7)]);
    expect(cotool.calls).toHaveLength(Math.ceil(10_000 / STATS_PAGE_SIZE));
    expect(cotool.calls).toHaveLength(50);
    expect(r1).toBe(r2);
    expect(r1).toMatchObject({ alerts: 10_000, partial: false, pages: 50 });
    now += 60_000;
    await stats.report(7);
    expect(cotool.calls).toHaveLength(50);
    now += 10 * 60_000;
    await stats.report(7);
    expect(cotool.calls).toHaveLength(100);
  });

  it('stops at its page bound and says the report is partial', async () => {
    const cotool = lister(make(1_000, (i) => ({ id: `a${i}` })));
    const stats = createStatsService({
      cotool,
      store: { cardTimes: async () => [] },
      logger,
      clock: () => NOW,
      maxPages: 2,
    });
    const r = await stats.report(30);
    expect(cotool.calls).toHaveLength(2);
    expect(r).toMatchObject({ partial: true, alerts: 400, days: 30 });
  });

  it('a failed listing is not cached', async () => {
    let fail = true;
    const cotool = {
      async *listAlertPages(): AsyncGenerator<AlertPageOf> {
        if (fail) throw new Error('boom');
        yield { alerts: [], skipped: 0, last: true, truncated: false, pages: 1 };
      },
    };
    const stats = createStatsService({ cotool, store: { cardTimes: async () => [] }, logger, clock: () => NOW });
    await expect(stats.report(7)).rejects.toThrow('boom');
    fail = false;
    await expect(stats.report(7)).resolves.toMatchObject({ alerts: 0 });
  });
});
