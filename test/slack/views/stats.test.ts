import { describe, expect, it } from 'vitest';
import type { DetectionStats, StatsReport } from '../../../src/service/stats.ts';
import { STATS_BLOCKS } from '../../../src/slack/ids.ts';
import { duration, renderStats, STATS_MAX_ROWS } from '../../../src/slack/views/stats.ts';
import { validateBlocks } from '../../e2e/fakes/slack.ts';
import { assertSafeView, HOSTILE } from '../hostile.ts';
import { assertIndicatorIntact, INDICATORS } from '../indicators.ts';

const NOW = Date.parse('2026-11-30T12:00:00.000Z');
const row = (name: string, over: Partial<DetectionStats> = {}): DetectionStats => ({
  key: `k-${name}`,
  name,
  noDetection: false,
  alerts: 120,
  falsePositive: 80,
  benign: 10,
  truePositive: 5,
  live: 25,
  fpRate: 80 / 95,
  medianFirstActionMs: 12 * 60_000,
  acted: 30,
  ...over,
});
const report = (detections: DetectionStats[], over: Partial<StatsReport> = {}): StatsReport => ({
  days: 7,
  sinceMs: NOW - 7 * 86_400_000,
  untilMs: NOW,
  alerts: detections.reduce((n, d) => n + d.alerts, 0),
  falsePositive: 80,
  benign: 10,
  truePositive: 5,
  fpRate: 80 / 95,
  medianFirstActionMs: 600_000,
  detections,
  partial: false,
  pages: 1,
  ...over,
});
const noValues = (path: string) => {
  throw new Error(`${path}: the report has no buttons`);
};
const safe = (view: ReturnType<typeof renderStats>) => {
  assertSafeView(view, { alertId: 'none', checkValue: noValues });
  expect(validateBlocks(view.blocks, 'message')).toEqual([]);
};

describe('renderStats', () => {
  it('a row per detection: volume, dispositions, FP rate, median first action', () => {
    const view = renderStats(
      report([row('Okta push storm'), row('email', { noDetection: true, acted: 0, fpRate: null })]),
    );
    const text = JSON.stringify(view);
    expect(view.text).toBe('Noise report, last 7 days: 240 alerts, 80 closed as false positive (FP rate 84%)');
    expect(text).toContain('Noise report · last 7 days');
    expect(text).toContain('*1.* Okta push storm');
    expect(text).toContain('*120* alerts · false positive 80 · benign 10 · true positive 5 · open 25');
    expect(text).toContain('FP rate *84%* · first action in *12 min* (median of 30)');
    expect(text).toContain('_no detection_ · source email');
    expect(text).toContain('FP rate *—* · no action from Slack');
    safe(view);
  });

  it('limits: the top rows, then “…and N more”, within 50 blocks; partial and empty reports say so', () => {
    const many = Array.from({ length: 500 }, (_, i) => row(`Detection ${i}`, { alerts: 500 - i }));
    const view = renderStats(report(many, { partial: true, pages: 100 }));
    const rows = view.blocks.filter((b) => String((b as { block_id?: string }).block_id).startsWith(STATS_BLOCKS.row));
    expect(rows).toHaveLength(STATS_MAX_ROWS);
    expect(view.blocks.length).toBeLessThanOrEqual(50);
    expect(JSON.stringify(view)).toContain('…and 480 more detections or sources with');
    expect(JSON.stringify(view)).toContain('Cotool listed only the first 20,000 alerts');
    safe(view);
    const empty = renderStats(report([], { alerts: 0, falsePositive: 0, benign: 0, truePositive: 0, fpRate: null }));
    expect(JSON.stringify(empty)).toContain('No alerts were created in Cotool since');
    safe(empty);
  });

  it('durations', () => {
    expect([null, 4_000, 90_000, 3 * 3_600_000, 72 * 3_600_000].map(duration)).toEqual([
      '—',
      '4 s',
      '2 min',
      '3 h',
      '3 d',
    ]);
  });

  it.each(HOSTILE.map((h, i) => [i, h] as const))('hostile detection and source names #%i', (_, h) => {
    safe(renderStats(report([row(h), row(h, { key: 'x', noDetection: true })])));
  });

  it.each(INDICATORS.map((ind, i) => [i, ind] as const))(
    'indicator #%i as a detection name copies out intact',
    (_, ind) => {
      assertIndicatorIntact(renderStats(report([row(ind)])), ind, 'stats row');
    },
  );
});
