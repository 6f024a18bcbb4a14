/**
 * The noise report (`/cotool stats [7d|30d]`, and the weekly post): per detection, by volume — alerts,
 * closed as false positive / benign / true positive, the false-positive rate, the median time from
 * card to first action. Pure: (report) → view. Detection and source names are untrusted: shown as
 * literals (copyable, no formatting), one line each. Within Slack's limits: the top `maxRows`
 * detections, then "…and N more".
 */
import type { KnownBlock } from '@slack/types';
import type { DetectionStats, StatsReport } from '../../service/stats.ts';
import { STATS_BLOCKS } from '../ids.ts';
import { literal, mrkdwn, oneLine, plain } from '../text.ts';
import type { CardView } from './alert-card.ts';

/** Rows shown before "…and N more" (a message holds 50 blocks; each row is one). */
export const STATS_MAX_ROWS = 20;

const count = (n: number) => n.toLocaleString('en-US');
const pct = (r: number | null) => (r === null ? '—' : `${Math.round(r * 100)}%`);

/** "45 s", "12 min", "3.5 h", "2.1 d". */
export function duration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms) || ms < 0) return '—';
  const s = ms / 1000;
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 48 * 3600) return `${(s / 3600).toFixed(1).replace(/\.0$/, '')} h`;
  return `${(s / 86_400).toFixed(1).replace(/\.0$/, '')} d`;
}

function date(ms: number): string {
  const s = Math.floor(ms / 1000);
  const fallback = new Date(s * 1000).toISOString().slice(0, 10);
  return `<!date^${s}^{date_short_pretty}|${fallback}>`;
}

function row(d: DetectionStats, rank: number): string {
  const name = d.noDetection
    ? `_no detection_ · source ${literal(oneLine(d.name), 80) || 'unknown'}`
    : literal(oneLine(d.name), 150) || 'Unnamed detection';
  const first =
    d.acted > 0
      ? `first action in *${duration(d.medianFirstActionMs)}* (median of ${count(d.acted)})`
      : 'no action from Slack';
  return [
    `*${rank}.* ${name}`,
    `*${count(d.alerts)}* alert${d.alerts === 1 ? '' : 's'} · false positive ${count(d.falsePositive)} · benign ${count(d.benign)} · true positive ${count(d.truePositive)} · open ${count(d.live)}`,
    `FP rate *${pct(d.fpRate)}* · ${first}`,
  ].join('\n');
}

export function renderStats(report: StatsReport, opts: { maxRows?: number } = {}): CardView {
  const max = Math.max(1, Math.min(opts.maxRows ?? STATS_MAX_ROWS, 40));
  const window = `last ${report.days} days`;
  const blocks: KnownBlock[] = [
    {
      type: 'header',
      block_id: STATS_BLOCKS.header,
      text: { type: 'plain_text', text: plain(`Noise report · ${window}`, 150) },
    },
  ];
  const summary =
    report.alerts === 0
      ? `No alerts were created in Cotool since ${date(report.sinceMs)}.`
      : [
          `*${count(report.alerts)}* alert${report.alerts === 1 ? '' : 's'} created since ${date(report.sinceMs)}, from ${count(report.detections.length)} detection${report.detections.length === 1 ? '' : 's'} or sources.`,
          `Closed as false positive *${count(report.falsePositive)}* · benign *${count(report.benign)}* · true positive *${count(report.truePositive)}* · FP rate *${pct(report.fpRate)}* · median time to first action *${duration(report.medianFirstActionMs)}*`,
        ].join('\n');
  blocks.push({
    type: 'section',
    block_id: STATS_BLOCKS.summary,
    text: { type: 'mrkdwn', text: summary, verbatim: true },
  });
  report.detections.slice(0, max).forEach((d, i) => {
    blocks.push({
      type: 'section',
      block_id: `${STATS_BLOCKS.row}${i}`,
      text: { type: 'mrkdwn', text: row(d, i + 1), verbatim: true },
    });
  });
  const rest = report.detections.length - max;
  if (rest > 0) {
    const alerts = report.detections.slice(max).reduce((n, d) => n + d.alerts, 0);
    blocks.push({
      type: 'context',
      block_id: STATS_BLOCKS.more,
      elements: [
        {
          type: 'mrkdwn',
          text: `…and ${count(rest)} more detection${rest === 1 ? '' : 's'} or sources with ${count(alerts)} alert${alerts === 1 ? '' : 's'} between them.`,
        },
      ],
    });
  }
  const notes = [
    'FP rate: false positives among the alerts closed. First action: from the card in Slack to the first click on it from Slack.',
    ...(report.partial
      ? [`:warning: Cotool listed only the first ${count(report.pages * 200)} alerts, so these counts are partial.`]
      : []),
  ];
  blocks.push({
    type: 'context',
    block_id: STATS_BLOCKS.footer,
    elements: notes.map((text) => ({ type: 'mrkdwn', text })),
  });
  const text = mrkdwn(
    `Noise report, ${window}: ${count(report.alerts)} alerts, ${count(report.falsePositive)} closed as false positive (FP rate ${pct(report.fpRate)})`,
    300,
  );
  return { text, blocks };
}
