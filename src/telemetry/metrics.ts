/**
 * What GET /metrics reports, in the Prometheus text format (version 0.0.4), through prom-client.
 *
 * `createRegistry()` wraps one prom-client `Registry` (one per bot, so tests can make many) with
 * bounded labels: each label passes through a bound declared with its metric (`oneOf(...)` maps
 * anything unexpected to "other"), so the number of series stays fixed whatever Slack or Cotool
 * send, and labels are always written in the order they were declared. `createMetrics()` defines
 * every metric the bot exports, in one place. Nothing here ever sees an alert id, a token or a key:
 * label values are names the bot chose, or channel ids from its own configuration (capped).
 */
import {
  collectDefaultMetrics,
  Counter as PromCounter,
  Gauge as PromGauge,
  Histogram as PromHistogram,
  Registry as PromRegistry,
} from 'prom-client';
import { COTOOL_ROUTES } from '../core/alert.ts';
import { AUTH_ERRORS, CHANNEL_ERRORS } from '../core/slack-errors.ts';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Maps a raw value to one of a fixed set of label values. */
export type LabelBound = (value: string) => string;

/** A bound allowing exactly `values`; anything else becomes `other`. */
export function oneOf(values: readonly string[]): LabelBound {
  const allowed = new Set(values);
  return (value) => (allowed.has(value) ? value : 'other');
}

/**
 * A bound for values the bot does not know in advance but that come from a small set (channel ids
 * from its configuration, Slack method names): a value must match `pattern`, and only the first
 * `max` distinct values are kept; anything else becomes `other`.
 */
export function capped(pattern: RegExp, max: number): LabelBound {
  const seen = new Set<string>();
  return (value) => {
    if (!pattern.test(value)) return 'other';
    if (seen.has(value)) return value;
    if (seen.size >= max) return 'other';
    seen.add(value);
    return value;
  };
}

type Spec<L extends string> = { name: string; help: string; labels?: Record<L, LabelBound> };
/** Labels first when the metric has any: `inc()` / `inc(2)`, or `inc({ outcome: 'ok' })` / `inc({ … }, 2)`. */
type Args<L extends string, Rest extends unknown[]> = [L] extends [never] ? Rest : [labels: Record<L, string>, ...Rest];

export type Counter<L extends string = never> = {
  /** Adds `by` (default 1); a negative or non-finite amount is ignored. */
  inc(...args: Args<L, [by?: number]>): void;
};
/** A non-finite value is ignored. */
export type Gauge<L extends string = never> = { set(...args: Args<L, [value: number]>): void };
/** A non-finite value is ignored. */
export type Histogram<L extends string = never> = { observe(...args: Args<L, [value: number]>): void };

export type Registry = ReturnType<typeof createRegistry>;

/** Splits `(labels?, number?)` call arguments. */
function split(args: unknown[]): { labels: Record<string, string>; n: number | undefined } {
  const [first, second] = args;
  if (typeof first === 'object' && first !== null) {
    return { labels: first as Record<string, string>, n: second as number | undefined };
  }
  return { labels: {}, n: first as number | undefined };
}

export function createRegistry() {
  const registry = new PromRegistry();

  function boundsOf(spec: Spec<string>): Array<[string, LabelBound]> {
    return Object.entries(spec.labels ?? {}) as Array<[string, LabelBound]>;
  }

  /** The label object in declaration order, every value through its bound. */
  function labelsFor(bounds: Array<[string, LabelBound]>, raw: Record<string, string>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, bound] of bounds) out[name] = bound(String(raw[name] ?? ''));
    return out;
  }

  function counter<L extends string = never>(spec: Spec<L>): Counter<L> {
    const bounds = boundsOf(spec);
    const c = new PromCounter({
      name: spec.name,
      help: spec.help,
      labelNames: bounds.map(([n]) => n),
      registers: [registry],
    });
    return {
      inc(...args) {
        const { labels, n = 1 } = split(args);
        if (!Number.isFinite(n) || n < 0) return;
        c.inc(labelsFor(bounds, labels), n);
      },
    };
  }

  function gauge<L extends string = never>(spec: Spec<L>): Gauge<L> {
    const bounds = boundsOf(spec);
    const g = new PromGauge({
      name: spec.name,
      help: spec.help,
      labelNames: bounds.map(([n]) => n),
      registers: [registry],
    });
    return {
      set(...args) {
        const { labels, n } = split(args);
        if (typeof n === 'number' && Number.isFinite(n)) g.set(labelsFor(bounds, labels), n);
      },
    };
  }

  function histogram<L extends string = never>(spec: Spec<L> & { buckets: readonly number[] }): Histogram<L> {
    const buckets = [...spec.buckets].sort((a, b) => a - b);
    if (buckets.length === 0 || buckets.some((b, i) => !Number.isFinite(b) || b === buckets[i - 1])) {
      throw new RangeError(`histogram ${spec.name} needs distinct finite buckets`);
    }
    const bounds = boundsOf(spec);
    const h = new PromHistogram({
      name: spec.name,
      help: spec.help,
      labelNames: bounds.map(([n]) => n),
      // prom-client counts into the first bucket that fits in the order given: sorted here.
      buckets,
      registers: [registry],
    });
    return {
      observe(...args) {
        const { labels, n } = split(args);
        if (typeof n === 'number' && Number.isFinite(n)) h.observe(labelsFor(bounds, labels), n);
      },
    };
  }

  /** The process and Node.js runtime metrics (CPU, memory, file descriptors, event loop lag, GC). */
  function withProcessMetrics(): void {
    collectDefaultMetrics({ register: registry });
  }

  /** The whole registry in the text format. */
  function render(): Promise<string> {
    return registry.metrics();
  }

  return { counter, gauge, histogram, withProcessMetrics, render };
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

/** Outbox item kinds, as the fallback counter's label. */
export const FALLBACK_KINDS = [
  'card',
  'card_update',
  'escalation',
  'digest',
  'digest_update',
  'reply',
  'thread_note',
  'other',
] as const;

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
export const COMMAND_KINDS = ['help', 'invalid', 'lookup', 'run', 'list', 'search', 'mutes'] as const;
export const COMMAND_OUTCOMES = ['ok', 'not_found', 'denied', 'error'] as const;
export const OUTBOX_LANES = ['post', 'update'] as const;
/** The tables the retention job prunes (see Store.prune). */
export const PRUNED_TABLES = [
  'outbox',
  'cards',
  'meta',
  'storm_members',
  'storms',
  'close_requests',
  'once_keys',
  'action_claims',
] as const;

/** Channels the bot posts to come from its configuration: a handful. More than this is a bug, not data. */
const MAX_CHANNELS = 50;
const CHANNEL_ID = /^[CG][A-Z0-9]{2,}$/;
/** Slack Web API method names (`chat.postMessage`); the bot calls a few dozen at most. */
const SLACK_METHOD = /^[a-z]+(\.[a-zA-Z]+)+$/;
const MAX_SLACK_METHODS = 40;

/** From 10 s to a day: a card worked in seconds, minutes, hours, or the next morning. */
export const TIME_TO_FIRST_ACTION_BUCKETS = [10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14_400, 28_800, 86_400];

/** One Cotool HTTP attempt, as the client reports it. */
export type CotoolRequestObservation = {
  method: string;
  route: string;
  status: number | 'timeout' | 'network';
  ms: number;
};

export type MetricsOptions = {
  /**
   * Add prom-client's process and runtime metrics. Only the bot's own registry does (it starts an
   * event-loop monitor and a GC observer); registries made by tests and tools stay light.
   */
  processMetrics?: boolean;
};

export type Metrics = ReturnType<typeof createMetrics>;

/** How a "was this you?" question went (src/service/ask-user.ts QuestionOutcome). */
export const QUESTION_OUTCOMES = ['asked', 'yes', 'no', 'timed_out', 'unreachable'] as const;

/**
 * The bot's registry. Callers that are not given one (tests, tools) make their own, which nobody
 * reads: a no-op in effect.
 */
export function createMetrics(options: MetricsOptions = {}) {
  const r = createRegistry();
  if (options.processMetrics) r.withProcessMetrics();
  const route = oneOf(COTOOL_ROUTES);
  const channel = capped(CHANNEL_ID, MAX_CHANNELS);
  const m = {
    polls: r.counter({
      name: 'cotool_slack_polls_total',
      help: 'Poll cycles, by outcome (failed: Cotool did not list the live alerts, or the store failed).',
      labels: { outcome: oneOf(['ok', 'failed']) },
    }),
    pollDuration: r.histogram({
      name: 'cotool_slack_poll_duration_seconds',
      help: "Duration of a poll cycle: Cotool listing, planning and store writes (Slack is the sender's).",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    }),
    pollChanges: r.counter({
      name: 'cotool_slack_poll_store_changes_total',
      help: 'Store changes poll cycles made (cards queued, edits and notices planned, alerts digested); 0 for a poll in which nothing changed.',
    }),
    pollCpu: r.counter({
      name: 'cotool_slack_poll_cpu_seconds_total',
      help: 'CPU time (user + system) of this process while poll cycles ran: listing, planning, store writes.',
    }),
    liveAlerts: r.gauge({
      name: 'cotool_slack_live_alerts',
      help: 'Live alerts (open, in progress, escalated) at the last successful poll.',
    }),
    lastSuccessfulPoll: r.gauge({
      name: 'cotool_slack_last_successful_poll_timestamp_seconds',
      help: 'Unix time of the last successful poll (0: none yet).',
    }),
    cardsPosted: r.counter({ name: 'cotool_slack_cards_posted_total', help: 'Alert cards posted (by the sender).' }),
    cardsUpdated: r.counter({
      name: 'cotool_slack_cards_updated_total',
      help: 'Alert cards updated by the sender (changes, escalations, final states, recovered cards).',
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
    fallbackMessages: r.counter({
      name: 'cotool_slack_fallback_messages_total',
      help: 'Messages Slack refused for good for their payload (invalid_blocks, msg_too_long …), by outbox item kind and what was sent instead (minimal: the minimal text version; none: nothing, the alert being shown without it).',
      labels: { kind: oneOf(FALLBACK_KINDS), fallback: oneOf(['minimal', 'none']) },
    }),
    slackOperatorProblems: r.counter({
      name: 'cotool_slack_operator_problems_total',
      help: 'Slack writes refused until an operator acts (not_in_channel, invalid_auth, missing_scope …), by error code; the items are kept and retried slowly.',
      labels: { code: slackErrorLabel },
    }),
    slackRateLimited: r.counter({
      name: 'cotool_slack_slack_rate_limited_total',
      help: 'Slack Web API answers of 429 (rate limited), by method.',
      labels: { method: capped(SLACK_METHOD, MAX_SLACK_METHODS) },
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
    outboxDepth: r.gauge({
      name: 'cotool_slack_outbox_depth',
      help: 'Slack messages waiting to be sent, by channel and lane (post: new cards and replies; update: card edits).',
      labels: { channel, lane: oneOf(OUTBOX_LANES) },
    }),
    leader: r.gauge({
      name: 'cotool_slack_leader',
      help: 'Whether this process holds the lease and is the one polling and sending (1) or is following (0).',
    }),
    timeToFirstAction: r.histogram({
      name: 'cotool_slack_time_to_first_action_seconds',
      help: 'Time from an alert card being posted to the first human action on the alert, in seconds.',
      buckets: TIME_TO_FIRST_ACTION_BUCKETS,
    }),
    stormActive: r.gauge({
      name: 'cotool_slack_storm_active',
      help: 'Whether a channel is in storm mode (1), where new alerts are folded into digests instead of cards.',
      labels: { channel },
    }),
    digestedAlerts: r.counter({
      name: 'cotool_slack_digested_alerts_total',
      help: 'Alerts shown in a digest message instead of a card of their own, by channel.',
      labels: { channel },
    }),
    mutesActive: r.gauge({
      name: 'cotool_slack_mutes_active',
      help: 'Mutes holding now (a detection muted in a channel: its new alerts get no card of their own), as the leader saw them at its last poll.',
    }),
    alertsMuted: r.counter({
      name: 'cotool_slack_alerts_muted_total',
      help: "New alerts held back by a mute of their detection: counted in the mute's quiet message, their ids listed in its thread.",
    }),
    prunedRows: r.counter({
      name: 'cotool_slack_pruned_rows_total',
      help: 'Rows deleted by the retention job (RETENTION_DAYS), by table.',
      labels: { table: oneOf(PRUNED_TABLES) },
    }),
    warRoomsOpened: r.counter({
      name: 'cotool_slack_war_rooms_opened_total',
      help: 'Incident channels opened from a card ("Open incident channel"): one per alert, ever.',
    }),
    remindersSent: r.counter({
      name: 'cotool_slack_reminders_sent_total',
      help: 'Reminders said in the thread of a critical or high alert nobody had acted on (at most two per card).',
    }),
    lastPrune: r.gauge({
      name: 'cotool_slack_last_prune_timestamp_seconds',
      help: 'When the retention job last finished a complete run (Unix time, seconds).',
    }),
    questions: r.counter({
      name: 'cotool_slack_questions_total',
      help: '"Was this you?" questions: asked, answered yes or no, timed out, or the person could not be reached.',
      labels: { outcome: oneOf(QUESTION_OUTCOMES) },
    }),
  };
  return {
    ...m,
    /** One poll cycle's result (the cards it queued are counted by the sender as it sends them). */
    observePoll(report: { ok: boolean; live: number; durationMs: number }, nowMs: number) {
      m.polls.inc({ outcome: report.ok ? 'ok' : 'failed' });
      m.pollDuration.observe(report.durationMs / 1000);
      if (!report.ok) return;
      m.liveAlerts.set(report.live);
      m.lastSuccessfulPoll.set(Math.floor(nowMs / 1000));
    },
    /** One Cotool HTTP attempt (the client's `onRequest` hook). */
    observeCotoolRequest(o: CotoolRequestObservation) {
      m.cotoolRequests.inc({ method: o.method, route: o.route, status: String(o.status) });
      m.cotoolRequestDuration.observe({ route: o.route }, o.ms / 1000);
    },
    /** Everything, in the Prometheus text format. */
    render: r.render,
  };
}
