/**
 * /readyz and /metrics on the real Slack app (HTTP mode, in-process, against the local fakes):
 * readiness answers 200 or 503 with its checks; /healthz stays 200 meanwhile.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../e2e/harness.ts';

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
});
afterEach(async () => {
  await stack.close();
});

const get = (port: number, path: string) => fetch(`http://127.0.0.1:${port}${path}`);

describe('GET /readyz', () => {
  it('503 with the failing checks until the replica knows its role; then 200; /healthz is 200 throughout', async () => {
    const bot = await stack.start('http');

    const before = await get(bot.port, '/readyz');
    expect(before.status).toBe(503);
    expect(before.headers.get('content-type')).toBe('application/json');
    expect(before.headers.get('cache-control')).toBe('no-store');
    const body = (await before.json()) as { ready: boolean; checks: { name: string; ok: boolean; detail: string }[] };
    expect(body.ready).toBe(false);
    expect(body.checks).toContainEqual(expect.objectContaining({ name: 'lease', ok: false }));
    expect((await get(bot.port, '/healthz')).status).toBe(200);

    bot.health.lease = 'leader';
    bot.health.lastSuccessfulPollAt = new Date().toISOString();
    const ready = await get(bot.port, '/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      ready: true,
      checks: [
        { name: 'store', ok: true },
        { name: 'slack', ok: true },
        { name: 'lease', ok: true, detail: 'leader' },
        { name: 'poll', ok: true },
      ],
    });

    bot.health.storeOk = false;
    const lost = await get(bot.port, '/readyz');
    expect(lost.status).toBe(503);
    expect(await lost.json()).toMatchObject({
      ready: false,
      checks: expect.arrayContaining([expect.objectContaining({ name: 'store', ok: false })]),
    });
    expect((await get(bot.port, '/healthz')).status).toBe(200);

    const head = await fetch(`http://127.0.0.1:${bot.port}/readyz`, { method: 'HEAD' });
    expect(head.status).toBe(503);
  });
});

describe('GET /metrics', () => {
  it('serves the bot registry with the process metrics, in the Prometheus text format', async () => {
    const bot = await stack.start('http');
    bot.metrics.leader.set(1);
    const res = await get(bot.port, '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(text).toMatch(/^cotool_slack_leader 1$/m);
    expect(text).toMatch(/^# TYPE process_cpu_user_seconds_total counter$/m);
    expect(text).toMatch(/^# TYPE nodejs_eventloop_lag_seconds gauge$/m);
    for (const secret of [stack.slack.botToken, stack.cotool.apiKey]) expect(text).not.toContain(secret);
  });
});
