/**
 * What /healthz and /readyz report.
 *
 * /healthz is liveness: it answers 200 while the process works. A Cotool or Slack outage shows in
 * the body but does not fail it, because restarting the bot would not fix either and a restart loop
 * would hide the real problem.
 *
 * /readyz is readiness (`readiness()`, pure): whether this replica should get traffic and be counted
 * as up — its store answers, its Socket Mode connection is open, it knows whether it leads, and, if
 * it leads, it has polled recently.
 */
export type HealthState = {
  mode: 'socket' | 'http';
  startedAt: string;
  lastPollAt: string | null;
  lastSuccessfulPollAt: string | null;
  lastPollDurationMs: number | null;
  liveAlerts: number | null;
  consecutiveFailures: number;
  lastError: { at: string; source: 'cotool' | 'slack' | 'internal'; message: string } | null;
  stopping: boolean;
  /** The store answered its last query (set false when it fails, true when it answers again). */
  storeOk: boolean;
  /** Socket Mode: whether the connection to Slack is open. Always null in HTTP mode. */
  slackConnected: boolean | null;
  /** Whether this process holds the polling lease (`leader`), follows another (`follower`), or cannot tell yet. */
  lease: 'leader' | 'follower' | 'unknown';
  /** The interval between polls, from POLL_SCHEDULE: what "polled recently" is measured in. */
  pollIntervalMs: number;
  /** Recent Slack problems of the sender (newest first, bounded): shown on /readyz. */
  slackProblems: SlackProblem[];
};

/**
 * A Slack problem the sender met: `operator` — Slack refuses every write to a channel until someone
 * acts (`not_in_channel`, `invalid_auth` …; the items are kept and retried slowly; cleared when a
 * write to the channel goes through again); `fallback` — a message Slack refused for its payload
 * was replaced by its minimal text version (kept for an hour, for the record).
 */
export type SlackProblem = {
  at: string;
  kind: 'operator' | 'fallback';
  channel: string;
  code: string;
  /** What happened, or what the operator should do. */
  detail: string;
};

/** How many Slack problems /readyz lists at most, and how long a fallback stays listed. */
export const MAX_SLACK_PROBLEMS = 20;
export const FALLBACK_LISTED_MS = 60 * 60_000;

/** Records a problem, newest first; an operator problem already listed keeps its first time. */
export function noteSlackProblem(h: HealthState, p: SlackProblem, now: Date = new Date()): void {
  const same = (q: SlackProblem) => q.kind === 'operator' && q.channel === p.channel && q.code === p.code;
  if (p.kind === 'operator' && h.slackProblems.some(same)) return;
  const keep = h.slackProblems.filter(
    (q) => !(q.kind === 'fallback' && now.getTime() - Date.parse(q.at) > FALLBACK_LISTED_MS),
  );
  h.slackProblems = [p, ...keep].slice(0, MAX_SLACK_PROBLEMS);
}

/** A write to `channel` went through: its operator problems are over. */
export function clearOperatorProblems(h: HealthState, channel: string): void {
  if (!h.slackProblems.some((q) => q.kind === 'operator' && q.channel === channel)) return;
  h.slackProblems = h.slackProblems.filter((q) => !(q.kind === 'operator' && q.channel === channel));
}

export const DEFAULT_POLL_INTERVAL_MS = 30_000;
/** A leader is behind when its last successful poll is older than this many poll intervals. */
export const POLL_STALE_INTERVALS = 3;

export function createHealth(mode: HealthState['mode'], now: Date = new Date()): HealthState {
  return {
    mode,
    startedAt: now.toISOString(),
    lastPollAt: null,
    lastSuccessfulPollAt: null,
    lastPollDurationMs: null,
    liveAlerts: null,
    consecutiveFailures: 0,
    lastError: null,
    stopping: false,
    storeOk: true,
    slackConnected: mode === 'socket' ? false : null,
    lease: 'unknown',
    pollIntervalMs: DEFAULT_POLL_INTERVAL_MS,
    slackProblems: [],
  };
}

export function healthBody(h: HealthState, now: Date = new Date()): Record<string, unknown> {
  const lagMs = h.lastSuccessfulPollAt ? now.getTime() - Date.parse(h.lastSuccessfulPollAt) : null;
  return {
    status: h.stopping ? 'stopping' : h.consecutiveFailures > 0 ? 'degraded' : 'ok',
    mode: h.mode,
    startedAt: h.startedAt,
    lastPollAt: h.lastPollAt,
    lastSuccessfulPollAt: h.lastSuccessfulPollAt,
    pollLagMs: lagMs,
    lastPollDurationMs: h.lastPollDurationMs,
    liveAlerts: h.liveAlerts,
    consecutiveFailures: h.consecutiveFailures,
    lastError: h.lastError,
  };
}

export type ReadinessCheck = {
  name: 'stopping' | 'store' | 'slack' | 'lease' | 'poll' | 'slack_writes';
  ok: boolean;
  detail: string;
};
/** `slackProblems`: listed when there are any (recent fallbacks, open operator problems). */
export type Readiness = { ready: boolean; checks: ReadinessCheck[]; slackProblems?: SlackProblem[] };

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;

/**
 * Whether this replica is ready, check by check. Ready when the store answers, Socket Mode (if
 * used) is connected, the lease is held or followed, and — for the leader — the last successful
 * poll is at most 3 poll intervals old. A leader that has not polled successfully yet gets 3
 * intervals from its start. A process that is shutting down is not ready.
 */
export function readiness(h: HealthState, now: Date = new Date()): Readiness {
  const checks: ReadinessCheck[] = [];
  if (h.stopping) checks.push({ name: 'stopping', ok: false, detail: 'shutting down' });
  checks.push(
    h.storeOk
      ? { name: 'store', ok: true, detail: 'reachable' }
      : { name: 'store', ok: false, detail: 'the store did not answer its last query' },
  );
  if (h.mode === 'socket') {
    checks.push(
      h.slackConnected === true
        ? { name: 'slack', ok: true, detail: 'Socket Mode connected' }
        : { name: 'slack', ok: false, detail: 'Socket Mode not connected' },
    );
  } else {
    checks.push({ name: 'slack', ok: true, detail: 'HTTP mode (no connection to hold)' });
  }
  if (h.lease === 'unknown') {
    checks.push({ name: 'lease', ok: false, detail: 'not known yet whether this process leads or follows' });
  } else {
    checks.push({ name: 'lease', ok: true, detail: h.lease === 'leader' ? 'leader' : 'following' });
  }
  if (h.lease === 'leader') checks.push(pollCheck(h, now));
  // Slack problems are reported, never failing: readiness decides whether this replica gets traffic
  // (Slack's requests in HTTP mode, the Service's endpoints). A channel the bot is not in, or a
  // revoked token, is the same for every replica — taking them out of service would stop every
  // button and command without fixing anything, and a restart cannot either. A fallback card is a
  // message that went out. Both are listed here, logged, and counted (the metrics alert on them).
  const problems = h.slackProblems ?? [];
  const operator = problems.filter((p) => p.kind === 'operator');
  if (operator.length > 0) {
    checks.push({
      name: 'slack_writes',
      ok: true,
      detail: operator.map((p) => `${p.channel}: ${p.code} since ${p.at}`).join('; '),
    });
  }
  const ready = checks.every((c) => c.ok);
  return problems.length > 0 ? { ready, checks, slackProblems: problems } : { ready, checks };
}

function pollCheck(h: HealthState, now: Date): ReadinessCheck {
  const interval =
    Number.isFinite(h.pollIntervalMs) && h.pollIntervalMs > 0 ? h.pollIntervalMs : DEFAULT_POLL_INTERVAL_MS;
  const limitMs = POLL_STALE_INTERVALS * interval;
  const nowMs = now.getTime();
  const last = h.lastSuccessfulPollAt ? Date.parse(h.lastSuccessfulPollAt) : Number.NaN;
  if (Number.isFinite(last)) {
    const age = nowMs - last;
    return age <= limitMs
      ? { name: 'poll', ok: true, detail: `last successful poll ${seconds(age)} ago` }
      : {
          name: 'poll',
          ok: false,
          detail: `last successful poll ${seconds(age)} ago (more than ${POLL_STALE_INTERVALS} intervals of ${seconds(interval)})`,
        };
  }
  const up = nowMs - Date.parse(h.startedAt);
  return up <= limitMs
    ? { name: 'poll', ok: true, detail: `no successful poll yet (started ${seconds(up)} ago)` }
    : { name: 'poll', ok: false, detail: `no successful poll since the start ${seconds(up)} ago` };
}
