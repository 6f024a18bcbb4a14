import { describe, expect, it } from 'vitest';
import {
  clearOperatorProblems,
  createHealth,
  type HealthState,
  healthBody,
  MAX_SLACK_PROBLEMS,
  noteSlackProblem,
  readiness,
} from '../../src/telemetry/health.ts';

const START = new Date('2026-11-23T12:00:00.000Z');
const at = (sec: number) => new Date(START.getTime() + sec * 1000);
const iso = (sec: number) => at(sec).toISOString();

const health = (o: Partial<HealthState> = {}): HealthState => ({ ...createHealth('http', START), ...o });
const failing = (h: HealthState, now: Date) =>
  readiness(h, now)
    .checks.filter((c) => !c.ok)
    .map((c) => c.name);

describe('createHealth', () => {
  it('defaults: store ok, lease unknown, 30 s polls; Slack connection tracked only in Socket Mode', () => {
    const http = createHealth('http', START);
    expect(http).toMatchObject({ storeOk: true, slackConnected: null, lease: 'unknown', pollIntervalMs: 30_000 });
    expect(http.startedAt).toBe(START.toISOString());
    expect(createHealth('socket', START).slackConnected).toBe(false);
  });

  it('/healthz stays liveness: the new fields do not change its body', () => {
    const body = healthBody(health({ storeOk: false, lease: 'unknown' }), at(1));
    expect(body.status).toBe('ok');
    expect(Object.keys(body)).not.toContain('storeOk');
  });
});

describe('readiness', () => {
  it('a follower with a working store is ready without polling', () => {
    const r = readiness(health({ lease: 'follower' }), at(3600));
    expect(r.ready).toBe(true);
    expect(r.checks.map((c) => c.name)).toEqual(['store', 'slack', 'lease']);
  });

  it('lease not known yet: not ready', () => {
    const r = readiness(health(), at(1));
    expect(r.ready).toBe(false);
    expect(r.checks.find((c) => c.name === 'lease')).toMatchObject({ ok: false });
  });

  it('store unreachable: not ready, whatever else holds', () => {
    expect(failing(health({ lease: 'follower', storeOk: false }), at(1))).toEqual(['store']);
  });

  it('Socket Mode: ready only while connected; HTTP mode has no connection to check', () => {
    const socket = (slackConnected: boolean) => ({
      ...createHealth('socket', START),
      lease: 'follower' as const,
      slackConnected,
    });
    expect(failing(socket(false), at(1))).toEqual(['slack']);
    expect(readiness(socket(true), at(1)).ready).toBe(true);
    expect(readiness(health({ lease: 'follower' }), at(1)).checks.find((c) => c.name === 'slack')).toMatchObject({
      ok: true,
    });
  });

  it('leader: ready while the last successful poll is at most 3 intervals old', () => {
    const leader = health({ lease: 'leader', pollIntervalMs: 30_000, lastSuccessfulPollAt: iso(1000) });
    expect(readiness(leader, at(1000 + 90)).ready).toBe(true);
    const late = readiness(leader, at(1000 + 91));
    expect(late.ready).toBe(false);
    expect(late.checks.find((c) => c.name === 'poll')?.detail).toMatch(/91 s ago \(more than 3 intervals of 30 s\)/);
  });

  it('the interval comes from the health state (a 5-minute schedule allows 15 minutes)', () => {
    const leader = health({ lease: 'leader', pollIntervalMs: 300_000, lastSuccessfulPollAt: iso(0) });
    expect(readiness(leader, at(900)).ready).toBe(true);
    expect(readiness(leader, at(901)).ready).toBe(false);
  });

  it('a leader that has not polled yet gets 3 intervals from its start', () => {
    const fresh = health({ lease: 'leader' });
    expect(readiness(fresh, at(89)).ready).toBe(true);
    expect(readiness(fresh, at(89)).checks.find((c) => c.name === 'poll')?.detail).toMatch(/no successful poll yet/);
    expect(failing(fresh, at(91))).toEqual(['poll']);
  });

  it('a follower does not need recent polls (it does not poll)', () => {
    const follower = health({ lease: 'follower', lastSuccessfulPollAt: iso(0) });
    expect(readiness(follower, at(86_400)).ready).toBe(true);
  });

  it('a nonsensical interval falls back to 30 s instead of making every poll stale', () => {
    const leader = health({ lease: 'leader', pollIntervalMs: 0, lastSuccessfulPollAt: iso(0) });
    expect(readiness(leader, at(60)).ready).toBe(true);
  });

  it('shutting down: not ready, so traffic drains first', () => {
    expect(failing(health({ lease: 'follower', stopping: true }), at(1))).toEqual(['stopping']);
  });

  it('every failing check says why', () => {
    const r = readiness(
      { ...createHealth('socket', START), storeOk: false, lease: 'leader', lastSuccessfulPollAt: iso(0) },
      at(600),
    );
    expect(r.ready).toBe(false);
    for (const c of r.checks) expect(c.detail.length).toBeGreaterThan(3);
    expect(r.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['store', 'slack', 'poll']);
  });
});

describe('Slack problems on /readyz', () => {
  const op = (channel: string, sec: number) =>
    ({ at: iso(sec), kind: 'operator', channel, code: 'not_in_channel', detail: 'invite the bot' }) as const;
  const fb = (sec: number) =>
    ({ at: iso(sec), kind: 'fallback', channel: 'C1', code: 'minimal card', detail: 'card sent as minimal' }) as const;

  it('listed, never failing readiness; an operator problem keeps its first time and ends when the channel works', () => {
    const h = health({ lease: 'follower' });
    expect(readiness(h, at(1))).not.toHaveProperty('slackProblems');
    noteSlackProblem(h, op('C1', 1), at(1));
    noteSlackProblem(h, op('C1', 31), at(31));
    noteSlackProblem(h, fb(40), at(40));
    const r = readiness(h, at(41));
    expect(r.ready).toBe(true);
    expect(r.slackProblems).toEqual([fb(40), op('C1', 1)]);
    expect(r.checks.find((c) => c.name === 'slack_writes')).toMatchObject({ ok: true });
    expect(r.checks.find((c) => c.name === 'slack_writes')?.detail).toContain(`C1: not_in_channel since ${iso(1)}`);
    clearOperatorProblems(h, 'C1');
    expect(readiness(h, at(42)).slackProblems).toEqual([fb(40)]);
    expect(readiness(h, at(42)).checks.map((c) => c.name)).toEqual(['store', 'slack', 'lease']);
  });

  it('bounded, and fallbacks older than an hour are forgotten', () => {
    const h = health();
    for (let i = 0; i < MAX_SLACK_PROBLEMS + 5; i++) noteSlackProblem(h, fb(i), at(i));
    expect(h.slackProblems).toHaveLength(MAX_SLACK_PROBLEMS);
    noteSlackProblem(h, op('C2', 4000), at(4000));
    expect(h.slackProblems).toEqual([op('C2', 4000)]);
  });
});
