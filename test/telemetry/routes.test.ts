/**
 * /readyz and /metrics on the real Bolt app (HTTP mode, in-process, Slack's Web API faked on
 * 127.0.0.1): readiness answers 200 or 503 with its checks while /healthz stays 200.
 */
import type { App } from '@slack/bolt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { createSlackApp } from '../../src/slack/app.ts';
import { createHealth, type HealthState } from '../../src/telemetry/health.ts';
import { createMetrics, type Metrics } from '../../src/telemetry/metrics.ts';
import { type FakeSlack, startFakeSlack } from '../e2e/fakes/slack.ts';
import { eventually, freePort } from '../e2e/harness.ts';

let slack: FakeSlack;
let app: App;
let port: number;
let health: HealthState;
let metrics: Metrics;

beforeEach(async () => {
  slack = await startFakeSlack();
  port = await freePort();
  const parsed = parseConfig({
    COTOOL_API_URL: 'http://127.0.0.1:9',
    COTOOL_API_KEY: 'test-cotool-key-0123456789',
    SLACK_BOT_TOKEN: slack.botToken,
    SLACK_SIGNING_SECRET: '8f3c0d2e9b7a41c6a5e2f1d0c9b8a7e6',
    SLACK_API_URL: slack.apiUrl,
    SLACK_ALERT_CHANNEL: 'C0ALERTS',
    PORT: String(port),
    LOG_LEVEL: 'silent',
  });
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  health = createHealth('http');
  metrics = createMetrics({ processMetrics: true });
  app = createSlackApp(parsed.config, createLogger('silent'), health, {}, metrics);
  await app.init();
  await app.start(port);
});

afterEach(async () => {
  await app.stop();
  await slack.close();
});

const get = (path: string, method = 'GET') => fetch(`http://127.0.0.1:${port}${path}`, { method });
type Body = { ready: boolean; checks: { name: string; ok: boolean; detail: string }[] };

describe('GET /readyz', () => {
  it('503 with the failing check while the lease is unknown; /healthz stays 200', async () => {
    const res = await get('/readyz');
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as Body;
    expect(body.ready).toBe(false);
    expect(body.checks).toContainEqual({
      name: 'lease',
      ok: false,
      detail: 'not known yet whether this process leads or follows',
    });
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/readyz', 'HEAD')).status).toBe(503);
  });

  it('200 for a leader that polled recently; 503 again when the store is lost or polls stop', async () => {
    health.lease = 'leader';
    health.lastSuccessfulPollAt = new Date().toISOString();
    const ready = await get('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      ready: true,
      checks: [
        { name: 'store', ok: true, detail: 'reachable' },
        { name: 'slack', ok: true, detail: 'HTTP mode (no connection to hold)' },
        { name: 'lease', ok: true, detail: 'leader' },
        { name: 'poll', ok: true, detail: expect.stringMatching(/^last successful poll \d+ s ago$/) },
      ],
    });

    health.storeOk = false;
    const lost = (await (await get('/readyz')).json()) as Body;
    expect(lost.ready).toBe(false);
    expect(lost.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['store']);

    health.storeOk = true;
    health.lastSuccessfulPollAt = new Date(Date.now() - 10 * 60_000).toISOString();
    const stale = await get('/readyz');
    expect(stale.status).toBe(503);
    expect(((await stale.json()) as Body).checks.find((c) => c.name === 'poll')?.ok).toBe(false);
    expect((await get('/healthz')).status).toBe(200);
  });

  it('a follower is ready without polling', async () => {
    health.lease = 'follower';
    expect((await get('/readyz')).status).toBe(200);
  });
});

describe('GET /metrics', () => {
  it('serves the registry with the process metrics, in the Prometheus text format', async () => {
    metrics.leader.set(1);
    const res = await get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(text).toMatch(/^cotool_slack_leader 1$/m);
    expect(text).toMatch(/^# TYPE process_cpu_user_seconds_total counter$/m);
    expect(text).toMatch(/^# TYPE nodejs_eventloop_lag_seconds gauge$/m);
    expect(text).not.toContain(slack.botToken);
  });
});

describe('GET /readyz in Socket Mode', () => {
  it('follows the connection to Slack: ready while it is open, not while it is lost, ready again once back', async () => {
    const socketPort = await freePort();
    const parsed = parseConfig({
      COTOOL_API_URL: 'http://127.0.0.1:9',
      COTOOL_API_KEY: 'test-cotool-key-0123456789',
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_APP_TOKEN: slack.appToken,
      SLACK_API_URL: slack.apiUrl,
      SLACK_ALERT_CHANNEL: 'C0ALERTS',
      PORT: String(socketPort),
      LOG_LEVEL: 'silent',
    });
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    const socketHealth = createHealth('socket');
    socketHealth.lease = 'follower';
    expect(socketHealth.slackConnected).toBe(false);
    const socketApp = createSlackApp(parsed.config, createLogger('silent'), socketHealth, {}, createMetrics());
    const readyz = async () => {
      const res = await fetch(`http://127.0.0.1:${socketPort}/readyz`);
      return { status: res.status, body: (await res.json()) as Body };
    };
    try {
      await socketApp.init();
      await socketApp.start();
      await slack.socketConnected();
      await eventually(() => socketHealth.slackConnected === true);
      expect(await readyz()).toMatchObject({
        status: 200,
        body: { checks: expect.arrayContaining([{ name: 'slack', ok: true, detail: 'Socket Mode connected' }]) },
      });

      // Record every change: the client may reconnect faster than a poll of the flag would notice.
      const changes: (boolean | null)[] = [];
      let connected = socketHealth.slackConnected;
      Object.defineProperty(socketHealth, 'slackConnected', {
        get: () => connected,
        set: (v: boolean | null) => {
          connected = v;
          changes.push(v);
        },
      });
      const connections = slack.socketConnections;
      slack.socketDrop();
      await eventually(() => changes.includes(false), 15_000);
      const lost = await readyz();
      if (socketHealth.slackConnected === false) {
        expect(lost.status).toBe(503);
        expect(lost.body.checks).toContainEqual({ name: 'slack', ok: false, detail: 'Socket Mode not connected' });
      }

      await slack.socketConnected({ nth: connections + 1, timeoutMs: 15_000 });
      await eventually(() => socketHealth.slackConnected === true, 15_000);
      expect((await readyz()).status).toBe(200);
    } finally {
      await socketApp.stop();
    }
  });
});
