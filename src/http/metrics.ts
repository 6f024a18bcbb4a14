/**
 * What GET /metrics reports, in the Prometheus text format (version 0.0.4).
 *
 * A tiny registry (counters, gauges, histograms with fixed buckets, all with optional labels) and,
 * in `createMetrics()`, every metric the bot exports, defined in one place. Each label passes
 * through a bound declared with its metric (`oneOf(...)` maps anything unexpected to "other"), so
 * the number of series stays fixed whatever Slack or Cotool send. Nothing here ever sees an id, a
 * token or a key: label values are names the bot chose.
 */
import { COTOOL_ROUTES } from '../cotool/client.ts';
import { AUTH_ERRORS, CHANNEL_ERRORS } from '../slack/errors.ts';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Maps a raw value to one of a fixed set of label values. */
export type LabelBound = (value: string) => string;

/** A bound allowing exactly `values`; anything else becomes `other`. */
export function oneOf(values: readonly string[]): LabelBound {
  const allowed = new Set(values);
  return (value) => (allowed.has(value) ? value : 'other');
}

type Spec<L extends string> = { name: string; help: string; labels?: Record<L, LabelBound> };
/** Labels first when the metric has any: `inc()` / `inc(2)`, or `inc({ outcome: 'ok' })` / `inc({ … }, 2)`. */
type Args<L extends string, Rest extends unknown[]> = [L] extends [never] ? Rest : [labels: Record<L, string>, ...Rest];

export type Counter<L extends string = never> = {
  /** Adds `by` (default 1); a negative or non-finite amount is ignored. */
  inc(...args: Args<L, [by?: number]>): void;
};
export type Gauge<L extends string = never> = { set(...args: Args<L, [value: number]>): void };
export type Histogram<L extends string = never> = { observe(...args: Args<L, [value: number]>): void };

type Kind = 'counter' | 'gauge' | 'histogram';
/** One label set: its rendered `{…}` text and its numbers (a value, or per-bucket counts + sum + count). */
type Series = { labels: string; value: number; buckets: number[]; sum: number };
type Family = {
  name: string;
  help: string;
  kind: Kind;
  bounds: Array<[string, LabelBound]>;
  buckets: number[];
  series: Map<string, Series>;
};

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Label values: backslash, double quote and line feed escaped, as the text format requires. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Number.POSITIVE_INFINITY) return '+Inf';
  if (n === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(n);
}

export type Registry = ReturnType<typeof createRegistry>;

export function createRegistry() {
  const families: Family[] = [];

  function define(kind: Kind, spec: Spec<string>, buckets: number[] = []): Family {
    if (!METRIC_NAME.test(spec.name)) throw new RangeError(`invalid metric name: ${spec.name}`);
    if (families.some((f) => f.name === spec.name)) throw new RangeError(`metric defined twice: ${spec.name}`);
    const bounds = Object.entries(spec.labels ?? {}) as Array<[string, LabelBound]>;
    for (const [label] of bounds) {
      if (!LABEL_NAME.test(label) || label.startsWith('__') || (kind === 'histogram' && label === 'le')) {
        throw new RangeError(`invalid label name on ${spec.name}: ${label}`);
      }
    }
    const family: Family = { name: spec.name, help: spec.help, kind, bounds, buckets, series: new Map() };
    // A metric without labels is shown (at zero) from the start.
    if (bounds.length === 0) series(family, {});
    families.push(family);
    return family;
  }

  function series(family: Family, raw: Record<string, string>): Series {
    const text = family.bounds.map(([name, bound]) => `${name}="${escapeLabelValue(bound(String(raw[name] ?? '')))}"`);
    const labels = text.length > 0 ? `{${text.join(',')}}` : '';
    let s = family.series.get(labels);
    if (!s) {
      s = { labels, value: 0, buckets: family.buckets.map(() => 0), sum: 0 };
      family.series.set(labels, s);
    }
    return s;
  }

  /** Splits `(labels?, number?)` call arguments. */
  function split(args: unknown[]): { labels: Record<string, string>; n: number | undefined } {
    const [first, second] = args;
    if (typeof first === 'object' && first !== null) {
      return { labels: first as Record<string, string>, n: second as number | undefined };
    }
    return { labels: {}, n: first as number | undefined };
  }

  function counter<L extends string = never>(spec: Spec<L>): Counter<L> {
    const family = define('counter', spec);
    return {
      inc(...args) {
        const { labels, n = 1 } = split(args);
        if (!Number.isFinite(n) || n < 0) return;
        series(family, labels).value += n;
      },
    };
  }

  function gauge<L extends string = never>(spec: Spec<L>): Gauge<L> {
    const family = define('gauge', spec);
    return {
      set(...args) {
        const { labels, n } = split(args);
        if (typeof n === 'number') series(family, labels).value = n;
      },
    };
  }

  function histogram<L extends string = never>(spec: Spec<L> & { buckets: readonly number[] }): Histogram<L> {
    const buckets = [...spec.buckets].sort((a, b) => a - b);
    if (buckets.some((b, i) => !Number.isFinite(b) || b === buckets[i - 1])) {
      throw new RangeError(`histogram ${spec.name} needs distinct finite buckets`);
    }
    const family = define('histogram', spec, buckets);
    return {
      observe(...args) {
        const { labels, n } = split(args);
        if (typeof n !== 'number' || Number.isNaN(n)) return;
        const s = series(family, labels);
        const i = buckets.findIndex((upper) => n <= upper);
        if (i >= 0) s.buckets[i] = (s.buckets[i] ?? 0) + 1;
        s.value += 1;
        s.sum += n;
      },
    };
  }

  /** The whole registry in the text format, metrics in definition order. */
  function render(): string {
    const lines: string[] = [];
    for (const f of families) {
      lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.kind}`);
      for (const s of f.series.values()) {
        if (f.kind !== 'histogram') {
          lines.push(`${f.name}${s.labels} ${formatNumber(s.value)}`);
          continue;
        }
        const inner = s.labels.slice(1, -1);
        const withLe = (le: string) => `{${inner ? `${inner},` : ''}le="${le}"}`;
        let cumulative = 0;
        f.buckets.forEach((upper, i) => {
          cumulative += s.buckets[i] ?? 0;
          lines.push(`${f.name}_bucket${withLe(formatNumber(upper))} ${cumulative}`);
        });
        lines.push(
          `${f.name}_bucket${withLe('+Inf')} ${s.value}`,
          `${f.name}_sum${s.labels} ${formatNumber(s.sum)}`,
          `${f.name}_count${s.labels} ${s.value}`,
        );
      }
    }
    return `${lines.join('\n')}\n`;
  }

  return { counter, gauge, histogram, render };
}

// ---------------------------------------------------------------------------------------------
// The bot's metrics.

/** Slack error codes worth telling apart; any other code is counted as `other`. */
export const SLACK_ERROR_CODES = [
  ...CHANNEL_ERRORS,
  ...AUTH_ERRORS,
  'message_not_found',
  'cant_update_message',
  'msg_too_long',
  'invalid_blocks',
  'invalid_arguments',
  'ratelimited',
  'rate_limited',
  'request_error',
  'http_4xx',
  'http_5xx',
  'unknown',
] as const;
const slackCode = oneOf(SLACK_ERROR_CODES);
/** A `classifySlackError` code as a label: `http_503` → `http_5xx`, unknown codes → `other`. */
export function slackErrorLabel(code: string): string {
  const http = /^http_([45])\d\d$/.exec(code);
  return http ? `http_${http[1]}xx` : slackCode(code);
}

/** An HTTP status as a label (`200`, `503`), `timeout` or `network` when there was no answer. */
const httpStatus: LabelBound = (v) => (/^[1-5]\d\d$/.test(v) || v === 'timeout' || v === 'network' ? v : 'other');

export const TRIAGE_OPS = [
  'open',
  'in_progress',
  'escalated',
  'closed_false_positive',
  'closed_true_positive',
  'closed_true_positive_benign',
  'edit',
] as const;
export const TRIAGE_OUTCOMES = ['ok', 'noop', 'denied', 'busy', 'stale', 'refused', 'unknown', 'error'] as const;
export const COMMAND_KINDS = ['help', 'invalid', 'lookup', 'run', 'list', 'search'] as const;
export const COMMAND_OUTCOMES = ['ok', 'not_found', 'denied', 'error'] as const;

/** One Cotool HTTP attempt, as the client reports it. */
export type CotoolRequestObservation = {
  method: string;
  route: string;
  status: number | 'timeout' | 'network';
  ms: number;
};

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * The bot's registry. Callers that are not given one (tests, tools) make their own, which nobody
 * reads: a no-op in effect.
 */
export function createMetrics() {
  const r = createRegistry();
  const route = oneOf(COTOOL_ROUTES);
  const m = {
    polls: r.counter({
      name: 'cotool_slack_polls_total',
      help: 'Poll cycles, by outcome (failed: Cotool did not list the live alerts, or the store failed).',
      labels: { outcome: oneOf(['ok', 'failed']) },
    }),
    pollDuration: r.histogram({
      name: 'cotool_slack_poll_duration_seconds',
      help: 'Duration of a poll cycle, Cotool listing and Slack updates included.',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    }),
    liveAlerts: r.gauge({
      name: 'cotool_slack_live_alerts',
      help: 'Live alerts (open, in progress, escalated) at the last successful poll.',
    }),
    lastSuccessfulPoll: r.gauge({
      name: 'cotool_slack_last_successful_poll_timestamp_seconds',
      help: 'Unix time of the last successful poll (0: none yet).',
    }),
    cardsPosted: r.counter({ name: 'cotool_slack_cards_posted_total', help: 'Alert cards posted by the poller.' }),
    cardsUpdated: r.counter({
      name: 'cotool_slack_cards_updated_total',
      help: 'Alert cards updated by the poller (changes, escalations, final states, recovered cards).',
    }),
    escalationsAnnounced: r.counter({
      name: 'cotool_slack_escalations_announced_total',
      help: 'Escalation replies broadcast in a card thread.',
    }),
    slackErrors: r.counter({
      name: 'cotool_slack_slack_errors_total',
      help: 'Slack Web API calls on cards (post, update, history) that failed after retries, by error code.',
      labels: { code: slackErrorLabel },
    }),
    cotoolRequests: r.counter({
      name: 'cotool_slack_cotool_requests_total',
      help: 'Cotool API attempts (each retry counts), by method, route template and status.',
      labels: { method: oneOf(['GET', 'POST', 'PATCH']), route, status: httpStatus },
    }),
    cotoolRequestDuration: r.histogram({
      name: 'cotool_slack_cotool_request_duration_seconds',
      help: 'Duration of one Cotool API attempt, by route template.',
      labels: { route },
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
    triageActions: r.counter({
      name: 'cotool_slack_triage_actions_total',
      help: 'Changes asked from Slack (op: the status asked for, or edit), by outcome.',
      labels: { op: oneOf(TRIAGE_OPS), outcome: oneOf(TRIAGE_OUTCOMES) },
    }),
    commands: r.counter({
      name: 'cotool_slack_commands_total',
      help: '/cotool commands, by kind and outcome.',
      labels: { kind: oneOf(COMMAND_KINDS), outcome: oneOf(COMMAND_OUTCOMES) },
    }),
  };
  return {
    ...m,
    /** One poll cycle's result. */
    observePoll(
      report: { ok: boolean; live: number; posted: number; updated: number; durationMs: number },
      nowMs: number,
    ) {
      m.polls.inc({ outcome: report.ok ? 'ok' : 'failed' });
      m.pollDuration.observe(report.durationMs / 1000);
      if (!report.ok) return;
      m.liveAlerts.set(report.live);
      m.lastSuccessfulPoll.set(Math.floor(nowMs / 1000));
      m.cardsPosted.inc(report.posted);
      m.cardsUpdated.inc(report.updated);
    },
    /** One Cotool HTTP attempt (the client's `onRequest` hook). */
    observeCotoolRequest(o: CotoolRequestObservation) {
      m.cotoolRequests.inc({ method: o.method, route: o.route, status: String(o.status) });
      m.cotoolRequestDuration.observe({ route: o.route }, o.ms / 1000);
    },
    render: r.render,
  };
}
