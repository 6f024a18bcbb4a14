/**
 * What /healthz reports. The probe answers 200 while the process works: a Cotool or Slack outage
 * shows in the body but does not fail it, because restarting the bot would not fix either and a
 * restart loop would hide the real problem.
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
};

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
