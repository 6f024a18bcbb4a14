import { describe, expect, it } from 'vitest';
import { createMetrics, createRegistry, escapeLabelValue, oneOf, slackErrorLabel } from '../../src/http/metrics.ts';

const lines = (text: string) => text.trimEnd().split('\n');
const samples = (text: string, name: string) => lines(text).filter((l) => l.startsWith(name) && !l.startsWith('#'));

describe('registry: text format', () => {
  it('writes HELP and TYPE for every metric, an unlabeled one at zero from the start', () => {
    const r = createRegistry();
    r.counter({ name: 'x_total', help: 'Things.\nWith a \\ in it.' });
    r.gauge({ name: 'y', help: 'A level.' });
    r.counter({ name: 'z_total', help: 'By kind.', labels: { kind: oneOf(['a']) } });
    expect(r.render()).toBe(
      [
        '# HELP x_total Things.\\nWith a \\\\ in it.',
        '# TYPE x_total counter',
        'x_total 0',
        '# HELP y A level.',
        '# TYPE y gauge',
        'y 0',
        '# HELP z_total By kind.',
        '# TYPE z_total counter',
        '',
      ].join('\n'),
    );
  });

  it('counts per label set, in a stable label order', () => {
    const r = createRegistry();
    const c = r.counter({
      name: 'req_total',
      help: 'Requests.',
      labels: { method: oneOf(['GET', 'POST']), status: String },
    });
    c.inc({ status: '200', method: 'GET' });
    c.inc({ method: 'GET', status: '200' }, 2);
    c.inc({ method: 'POST', status: '503' });
    c.inc({ method: 'POST', status: '503' }, -1);
    c.inc({ method: 'POST', status: '503' }, Number.NaN);
    expect(samples(r.render(), 'req_total')).toEqual([
      'req_total{method="GET",status="200"} 3',
      'req_total{method="POST",status="503"} 1',
    ]);
  });

  it('escapes backslash, double quote and line feed in label values', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    const r = createRegistry();
    r.counter({ name: 'odd_total', help: 'Odd.', labels: { v: String } }).inc({ v: 'say "hi"\\\n' });
    expect(samples(r.render(), 'odd_total')).toEqual(['odd_total{v="say \\"hi\\"\\\\\\n"} 1']);
  });

  it('gauges are set, not added', () => {
    const r = createRegistry();
    const g = r.gauge({ name: 'live', help: 'Live.' });
    g.set(5);
    g.set(3);
    expect(samples(r.render(), 'live')).toEqual(['live 3']);
  });

  it('histograms: cumulative buckets, +Inf, sum and count', () => {
    const r = createRegistry();
    const h = r.histogram({ name: 'd_seconds', help: 'Durations.', buckets: [1, 0.25, 0.5] });
    for (const v of [0.125, 0.25, 0.375, 2]) h.observe(v);
    expect(lines(r.render())).toEqual([
      '# HELP d_seconds Durations.',
      '# TYPE d_seconds histogram',
      'd_seconds_bucket{le="0.25"} 2',
      'd_seconds_bucket{le="0.5"} 3',
      'd_seconds_bucket{le="1"} 3',
      'd_seconds_bucket{le="+Inf"} 4',
      'd_seconds_sum 2.75',
      'd_seconds_count 4',
    ]);
  });

  it('histograms with labels put le last', () => {
    const r = createRegistry();
    const h = r.histogram({ name: 'h', help: 'H.', labels: { route: String }, buckets: [1] });
    h.observe({ route: '/a' }, 0.5);
    expect(samples(r.render(), 'h_')).toEqual([
      'h_bucket{route="/a",le="1"} 1',
      'h_bucket{route="/a",le="+Inf"} 1',
      'h_sum{route="/a"} 0.5',
      'h_count{route="/a"} 1',
    ]);
  });

  it('refuses bad names, duplicate metrics, le on a histogram and bad buckets', () => {
    const r = createRegistry();
    r.counter({ name: 'a_total', help: 'A.' });
    expect(() => r.counter({ name: 'a_total', help: 'A.' })).toThrow(RangeError);
    expect(() => r.counter({ name: 'bad-name', help: 'B.' })).toThrow(RangeError);
    expect(() => r.counter({ name: 'c', help: 'C.', labels: { 'bad-label': String } })).toThrow(RangeError);
    expect(() => r.histogram({ name: 'd', help: 'D.', labels: { le: String }, buckets: [1] })).toThrow(RangeError);
    expect(() => r.histogram({ name: 'e', help: 'E.', buckets: [1, 1] })).toThrow(RangeError);
  });
});

describe('the bot metrics', () => {
  it('defines every metric with HELP and TYPE', () => {
    const text = createMetrics().render();
    for (const [name, type] of [
      ['cotool_slack_polls_total', 'counter'],
      ['cotool_slack_poll_duration_seconds', 'histogram'],
      ['cotool_slack_live_alerts', 'gauge'],
      ['cotool_slack_last_successful_poll_timestamp_seconds', 'gauge'],
      ['cotool_slack_cards_posted_total', 'counter'],
      ['cotool_slack_cards_updated_total', 'counter'],
      ['cotool_slack_escalations_announced_total', 'counter'],
      ['cotool_slack_slack_errors_total', 'counter'],
      ['cotool_slack_cotool_requests_total', 'counter'],
      ['cotool_slack_cotool_request_duration_seconds', 'histogram'],
      ['cotool_slack_triage_actions_total', 'counter'],
      ['cotool_slack_commands_total', 'counter'],
    ]) {
      expect(text).toContain(`# HELP ${name} `);
      expect(text).toContain(`# TYPE ${name} ${type}\n`);
    }
  });

  it('a poll adds its cards and sets the gauges; a failed one only counts', () => {
    const m = createMetrics();
    m.observePoll({ ok: true, live: 7, posted: 2, updated: 1, durationMs: 120 }, 1_700_000_000_500);
    m.observePoll({ ok: false, live: 0, posted: 0, updated: 0, durationMs: 30 }, 1_700_000_060_000);
    const text = m.render();
    expect(samples(text, 'cotool_slack_polls_total')).toEqual([
      'cotool_slack_polls_total{outcome="ok"} 1',
      'cotool_slack_polls_total{outcome="failed"} 1',
    ]);
    expect(text).toContain('\ncotool_slack_cards_posted_total 2\n');
    expect(text).toContain('\ncotool_slack_cards_updated_total 1\n');
    expect(text).toContain('\ncotool_slack_live_alerts 7\n');
    expect(text).toContain('\ncotool_slack_last_successful_poll_timestamp_seconds 1700000000\n');
    expect(text).toContain('\ncotool_slack_poll_duration_seconds_bucket{le="0.05"} 1\n');
    expect(text).toContain('\ncotool_slack_poll_duration_seconds_bucket{le="0.25"} 2\n');
    expect(text).toContain('\ncotool_slack_poll_duration_seconds_count 2\n');
  });

  it('a Cotool attempt counts by method, route template and status, and times it in seconds', () => {
    const m = createMetrics();
    m.observeCotoolRequest({ method: 'GET', route: '/api/alerts/:id', status: 200, ms: 30 });
    m.observeCotoolRequest({ method: 'POST', route: '/api/alerts/:id/status', status: 'timeout', ms: 2000 });
    const text = m.render();
    expect(text).toContain('cotool_slack_cotool_requests_total{method="GET",route="/api/alerts/:id",status="200"} 1');
    expect(text).toContain(
      'cotool_slack_cotool_requests_total{method="POST",route="/api/alerts/:id/status",status="timeout"} 1',
    );
    expect(text).toContain('cotool_slack_cotool_request_duration_seconds_bucket{route="/api/alerts/:id",le="0.05"} 1');
    expect(text).toContain('cotool_slack_cotool_request_duration_seconds_sum{route="/api/alerts/:id/status"} 2');
  });

  it('label values are bounded: anything unexpected is "other", never the raw value', () => {
    const m = createMetrics();
    const raw = '3f1c9a7e-2b64-4e0d-9c1a-7d8e5f6a2b10';
    m.observeCotoolRequest({ method: 'DELETE', route: `/api/alerts/${raw}`, status: 999, ms: 1 });
    m.slackErrors.inc({ code: slackErrorLabel(`weird_${raw}`) });
    m.slackErrors.inc({ code: 'also "weird"\n' });
    m.triageActions.inc({ op: raw, outcome: 'exploded' });
    m.commands.inc({ kind: 'rm -rf', outcome: 'ok' });
    const text = m.render();
    expect(text).not.toContain(raw);
    expect(text).not.toContain('weird');
    expect(text).toContain('cotool_slack_cotool_requests_total{method="other",route="other",status="other"} 1');
    expect(text).toContain('cotool_slack_slack_errors_total{code="other"} 2');
    expect(text).toContain('cotool_slack_triage_actions_total{op="other",outcome="other"} 1');
    expect(text).toContain('cotool_slack_commands_total{kind="other",outcome="ok"} 1');
  });

  it('Slack error codes: known ones kept, HTTP statuses grouped by class', () => {
    expect(slackErrorLabel('not_in_channel')).toBe('not_in_channel');
    expect(slackErrorLabel('invalid_auth')).toBe('invalid_auth');
    expect(slackErrorLabel('rate_limited')).toBe('rate_limited');
    expect(slackErrorLabel('http_503')).toBe('http_5xx');
    expect(slackErrorLabel('http_404')).toBe('http_4xx');
    expect(slackErrorLabel('http_0')).toBe('other');
    expect(slackErrorLabel('something_new')).toBe('other');
  });
});
