import { describe, expect, it } from 'vitest';
import {
  capped,
  createMetrics,
  createRegistry,
  METRICS_CONTENT_TYPE,
  oneOf,
  slackErrorLabel,
  TIME_TO_FIRST_ACTION_BUCKETS,
} from '../../src/http/metrics.ts';

const lines = (text: string) => text.trimEnd().split('\n');
const samples = (text: string, name: string) => lines(text).filter((l) => l.startsWith(name) && !l.startsWith('#'));

describe('registry: text format (prom-client)', () => {
  it('writes HELP and TYPE for every metric, an unlabeled one at zero from the start', async () => {
    const r = createRegistry();
    r.counter({ name: 'x_total', help: 'Things.\nWith a \\ in it.' });
    r.gauge({ name: 'y', help: 'A level.' });
    r.counter({ name: 'z_total', help: 'By kind.', labels: { kind: oneOf(['a']) } });
    expect(lines(await r.render()).filter((l) => l !== '')).toEqual([
      '# HELP x_total Things.\\nWith a \\\\ in it.',
      '# TYPE x_total counter',
      'x_total 0',
      '# HELP y A level.',
      '# TYPE y gauge',
      'y 0',
      '# HELP z_total By kind.',
      '# TYPE z_total counter',
    ]);
    expect(METRICS_CONTENT_TYPE).toBe('text/plain; version=0.0.4; charset=utf-8');
  });

  it('counts per label set, labels in declaration order whatever the call order', async () => {
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
    c.inc({ method: 'POST', status: '503' }, Number.POSITIVE_INFINITY);
    expect(samples(await r.render(), 'req_total')).toEqual([
      'req_total{method="GET",status="200"} 3',
      'req_total{method="POST",status="503"} 1',
    ]);
  });

  it('escapes backslash, double quote and line feed in label values', async () => {
    const r = createRegistry();
    r.counter({ name: 'odd_total', help: 'Odd.', labels: { v: String } }).inc({ v: 'say "hi"\\\n' });
    expect(samples(await r.render(), 'odd_total')).toEqual(['odd_total{v="say \\"hi\\"\\\\\\n"} 1']);
  });

  it('gauges are set, not added; a non-finite value is ignored', async () => {
    const r = createRegistry();
    const g = r.gauge({ name: 'live', help: 'Live.' });
    g.set(5);
    g.set(3);
    g.set(Number.NaN);
    expect(samples(await r.render(), 'live')).toEqual(['live 3']);
  });

  it('histograms: buckets sorted and cumulative, +Inf, sum and count', async () => {
    const r = createRegistry();
    const h = r.histogram({ name: 'd_seconds', help: 'Durations.', buckets: [1, 0.25, 0.5] });
    for (const v of [0.125, 0.25, 0.375, 2]) h.observe(v);
    h.observe(Number.NaN);
    expect(lines(await r.render())).toEqual([
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

  it('histograms with labels', async () => {
    const r = createRegistry();
    const h = r.histogram({ name: 'h', help: 'H.', labels: { route: String }, buckets: [1] });
    h.observe({ route: '/a' }, 0.5);
    expect(samples(await r.render(), 'h_')).toEqual([
      'h_bucket{le="1",route="/a"} 1',
      'h_bucket{le="+Inf",route="/a"} 1',
      'h_sum{route="/a"} 0.5',
      'h_count{route="/a"} 1',
    ]);
  });

  it('refuses bad names, duplicate metrics, le on a histogram and bad buckets', () => {
    const r = createRegistry();
    r.counter({ name: 'a_total', help: 'A.' });
    expect(() => r.counter({ name: 'a_total', help: 'A.' })).toThrow();
    expect(() => r.counter({ name: 'bad-name', help: 'B.' })).toThrow();
    expect(() => r.counter({ name: 'c', help: 'C.', labels: { 'bad-label': String } })).toThrow();
    expect(() => r.histogram({ name: 'd', help: 'D.', labels: { le: String }, buckets: [1] })).toThrow();
    expect(() => r.histogram({ name: 'e', help: 'E.', buckets: [1, 1] })).toThrow(RangeError);
    expect(() => r.histogram({ name: 'f', help: 'F.', buckets: [] })).toThrow(RangeError);
  });

  it('registries are independent: two bots in one process do not share counts', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.cardsPosted.inc();
    expect(await a.render()).toContain('\ncotool_slack_cards_posted_total 1\n');
    expect(await b.render()).toContain('\ncotool_slack_cards_posted_total 0\n');
  });
});

describe('label bounds', () => {
  it('capped: values must match, and only the first N distinct ones are kept', () => {
    const b = capped(/^C[A-Z0-9]+$/, 2);
    expect(b('C1')).toBe('C1');
    expect(b('C2')).toBe('C2');
    expect(b('C1')).toBe('C1');
    expect(b('C3')).toBe('other');
    expect(b('not a channel')).toBe('other');
  });
});

describe('the bot metrics', () => {
  it('defines every metric with HELP and TYPE', async () => {
    const text = await createMetrics().render();
    for (const [name, type] of [
      ['cotool_slack_polls_total', 'counter'],
      ['cotool_slack_poll_duration_seconds', 'histogram'],
      ['cotool_slack_live_alerts', 'gauge'],
      ['cotool_slack_last_successful_poll_timestamp_seconds', 'gauge'],
      ['cotool_slack_cards_posted_total', 'counter'],
      ['cotool_slack_cards_updated_total', 'counter'],
      ['cotool_slack_escalations_announced_total', 'counter'],
      ['cotool_slack_slack_errors_total', 'counter'],
      ['cotool_slack_slack_rate_limited_total', 'counter'],
      ['cotool_slack_fallback_messages_total', 'counter'],
      ['cotool_slack_operator_problems_total', 'counter'],
      ['cotool_slack_cotool_requests_total', 'counter'],
      ['cotool_slack_cotool_request_duration_seconds', 'histogram'],
      ['cotool_slack_triage_actions_total', 'counter'],
      ['cotool_slack_commands_total', 'counter'],
      ['cotool_slack_outbox_depth', 'gauge'],
      ['cotool_slack_leader', 'gauge'],
      ['cotool_slack_time_to_first_action_seconds', 'histogram'],
      ['cotool_slack_storm_active', 'gauge'],
      ['cotool_slack_digested_alerts_total', 'counter'],
    ]) {
      expect(text).toContain(`# HELP ${name} `);
      expect(text).toContain(`# TYPE ${name} ${type}\n`);
    }
  });

  it('process metrics only when asked for (the bot asks; tests and tools do not)', async () => {
    expect(await createMetrics().render()).not.toContain('process_cpu_user_seconds_total');
    const text = await createMetrics({ processMetrics: true }).render();
    expect(text).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(text).toContain('# TYPE process_resident_memory_bytes gauge');
    expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
    expect(text).toContain('# TYPE nodejs_heap_size_used_bytes gauge');
  });

  it('a poll sets the gauges; a failed one only counts; cards are counted by the sender, not the poll', async () => {
    const m = createMetrics();
    m.observePoll({ ok: true, live: 7, durationMs: 120 }, 1_700_000_000_500);
    m.observePoll({ ok: false, live: 0, durationMs: 30 }, 1_700_000_060_000);
    const text = await m.render();
    expect(samples(text, 'cotool_slack_polls_total')).toEqual([
      'cotool_slack_polls_total{outcome="ok"} 1',
      'cotool_slack_polls_total{outcome="failed"} 1',
    ]);
    expect(text).toContain('\ncotool_slack_cards_posted_total 0\n');
    expect(text).toContain('\ncotool_slack_cards_updated_total 0\n');
    expect(text).toContain('\ncotool_slack_live_alerts 7\n');
    expect(text).toContain('\ncotool_slack_last_successful_poll_timestamp_seconds 1700000000\n');
    expect(text).toContain('\ncotool_slack_poll_duration_seconds_bucket{le="0.05"} 1\n');
    expect(text).toContain('\ncotool_slack_poll_duration_seconds_bucket{le="0.25"} 2\n');
    expect(text).toContain('\ncotool_slack_poll_duration_seconds_count 2\n');
  });

  it('a Cotool attempt counts by method, route template and status, and times it in seconds', async () => {
    const m = createMetrics();
    m.observeCotoolRequest({ method: 'GET', route: '/api/alerts/:id', status: 200, ms: 30 });
    m.observeCotoolRequest({ method: 'POST', route: '/api/alerts/:id/status', status: 'timeout', ms: 2000 });
    const text = await m.render();
    expect(text).toContain('cotool_slack_cotool_requests_total{method="GET",route="/api/alerts/:id",status="200"} 1');
    expect(text).toContain(
      'cotool_slack_cotool_requests_total{method="POST",route="/api/alerts/:id/status",status="timeout"} 1',
    );
    expect(text).toContain('cotool_slack_cotool_request_duration_seconds_bucket{le="0.05",route="/api/alerts/:id"} 1');
    expect(text).toContain('cotool_slack_cotool_request_duration_seconds_sum{route="/api/alerts/:id/status"} 2');
  });

  it('outbox depth per channel and lane, leader, 429s, storms and digests, as the sender calls them', async () => {
    const m = createMetrics();
    m.outboxDepth.set({ channel: 'C0ALERTS', lane: 'post' }, 12);
    m.outboxDepth.set({ channel: 'C0ALERTS', lane: 'update' }, 3);
    m.outboxDepth.set({ channel: 'C0ALERTS', lane: 'post' }, 4);
    m.leader.set(1);
    m.slackRateLimited.inc({ method: 'chat.postMessage' });
    m.slackRateLimited.inc({ method: 'chat.postMessage' });
    m.slackRateLimited.inc({ method: 'chat.update' });
    m.stormActive.set({ channel: 'C0ALERTS' }, 1);
    m.digestedAlerts.inc({ channel: 'C0ALERTS' }, 40);
    const text = await m.render();
    expect(samples(text, 'cotool_slack_outbox_depth')).toEqual([
      'cotool_slack_outbox_depth{channel="C0ALERTS",lane="post"} 4',
      'cotool_slack_outbox_depth{channel="C0ALERTS",lane="update"} 3',
    ]);
    expect(text).toContain('\ncotool_slack_leader 1\n');
    expect(samples(text, 'cotool_slack_slack_rate_limited_total')).toEqual([
      'cotool_slack_slack_rate_limited_total{method="chat.postMessage"} 2',
      'cotool_slack_slack_rate_limited_total{method="chat.update"} 1',
    ]);
    expect(text).toContain('\ncotool_slack_storm_active{channel="C0ALERTS"} 1\n');
    expect(text).toContain('\ncotool_slack_digested_alerts_total{channel="C0ALERTS"} 40\n');
  });

  it('time to first action: seconds, buckets from 10 s to a day', async () => {
    expect(TIME_TO_FIRST_ACTION_BUCKETS[0]).toBe(10);
    expect(TIME_TO_FIRST_ACTION_BUCKETS.at(-1)).toBe(86_400);
    const m = createMetrics();
    m.timeToFirstAction.observe(42);
    m.timeToFirstAction.observe(5 * 3600);
    const text = await m.render();
    expect(text).toContain('\ncotool_slack_time_to_first_action_seconds_bucket{le="10"} 0\n');
    expect(text).toContain('\ncotool_slack_time_to_first_action_seconds_bucket{le="60"} 1\n');
    expect(text).toContain('\ncotool_slack_time_to_first_action_seconds_bucket{le="28800"} 2\n');
    expect(text).toContain('\ncotool_slack_time_to_first_action_seconds_sum 18042\n');
    expect(text).toContain('\ncotool_slack_time_to_first_action_seconds_count 2\n');
  });

  it('label values are bounded: anything unexpected is "other", never the raw value', async () => {
    const m = createMetrics();
    const raw = '3f1c9a7e-2b64-4e0d-9c1a-7d8e5f6a2b10';
    m.observeCotoolRequest({ method: 'DELETE', route: `/api/alerts/${raw}`, status: 999, ms: 1 });
    m.slackErrors.inc({ code: slackErrorLabel(`weird_${raw}`) });
    m.slackErrors.inc({ code: 'also "weird"\n' });
    m.triageActions.inc({ op: raw, outcome: 'exploded' });
    m.commands.inc({ kind: 'rm -rf', outcome: 'ok' });
    m.outboxDepth.set({ channel: raw, lane: 'sideways' }, 1);
    m.slackRateLimited.inc({ method: `chat.postMessage?token=xoxb-${raw}` });
    m.digestedAlerts.inc({ channel: `D${raw}` });
    for (let i = 0; i < 60; i++) m.stormActive.set({ channel: `C${String(i).padStart(4, '0')}` }, 1);
    const text = await m.render();
    expect(text).not.toContain(raw);
    expect(text).not.toContain('weird');
    expect(text).not.toContain('xoxb');
    expect(text).toContain('cotool_slack_cotool_requests_total{method="other",route="other",status="other"} 1');
    expect(text).toContain('cotool_slack_slack_errors_total{code="other"} 2');
    expect(text).toContain('cotool_slack_triage_actions_total{op="other",outcome="other"} 1');
    expect(text).toContain('cotool_slack_commands_total{kind="other",outcome="ok"} 1');
    expect(text).toContain('cotool_slack_outbox_depth{channel="other",lane="other"} 1');
    expect(text).toContain('cotool_slack_slack_rate_limited_total{method="other"} 1');
    expect(text).toContain('cotool_slack_digested_alerts_total{channel="other"} 1');
    // At most 50 channels get a series of their own; the rest share "other".
    expect(samples(text, 'cotool_slack_storm_active').length).toBeLessThanOrEqual(51);
    expect(text).toContain('cotool_slack_storm_active{channel="other"} 1');
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
