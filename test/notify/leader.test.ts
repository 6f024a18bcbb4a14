import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LeaseGrant } from '../../src/core/records.ts';
import { createLogger } from '../../src/log.ts';
import { createLeadership, LEASE_NAME } from '../../src/notify/leader.ts';
import type { Store } from '../../src/ports.ts';
import { createHealth } from '../../src/telemetry/health.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';

/** A store whose tryLease answers what the test says, after the test moves the monotonic clock. */
function harness(answer: (call: number) => LeaseGrant, elapseDuringCall = 0) {
  let mono = 1_000;
  const calls: { name: string; owner: string; ttlMs: number }[] = [];
  const store = {
    async tryLease(name: string, owner: string, ttlMs: number) {
      calls.push({ name, owner, ttlMs });
      mono += elapseDuringCall; // the answer takes this long (a slow database, a pause)
      return answer(calls.length);
    },
    async releaseLease() {},
  } as unknown as Store;
  const leadership = createLeadership({
    metrics: createMetrics(),
    store,
    owner: 'me',
    ttlMs: 9_000,
    health: createHealth('socket'),
    logger: createLogger('silent'),
    monotonic: () => mono,
  });
  return { leadership, calls, advance: (ms: number) => (mono += ms) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('leadership', () => {
  it('passes a duration, never a time; the fence carries the lease token', async () => {
    const h = harness(() => ({ held: true, token: 7 }));
    expect(await h.leadership.tick()).toBe(true);
    expect(h.calls).toEqual([{ name: LEASE_NAME, owner: 'me', ttlMs: 9_000 }]);
    expect(h.leadership.isLeader()).toBe(true);
    expect(h.leadership.fence()).toEqual({ lease: LEASE_NAME, token: 7 });
  });

  it('valid until ttl − a third from when the renewal was SENT, on the monotonic clock', async () => {
    const h = harness(() => ({ held: true, token: 1 }));
    await h.leadership.tick(); // sent at 1 000: valid until 1 000 + 9 000 − 3 000 = 7 000
    h.advance(5_999);
    expect(h.leadership.isLeader()).toBe(true);
    h.advance(1);
    expect(h.leadership.isLeader()).toBe(false);
    expect(h.leadership.fence()).toBeNull();
  });

  it('a slow answer (or a pause while waiting) shortens the lead, never extends it', async () => {
    const h = harness(() => ({ held: true, token: 1 }), 6_500);
    await h.leadership.tick(); // sent at 1 000, answered at 7 500: already past 7 000
    expect(h.leadership.isLeader()).toBe(false);
    expect(h.leadership.fence()).toBeNull();
  });

  it('a wall-clock jump changes nothing: only the monotonic clock counts', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-12-06T00:00:00Z'));
    const h = harness(() => ({ held: true, token: 3 }));
    await h.leadership.tick();
    vi.setSystemTime(new Date('2026-12-06T01:00:00Z')); // an hour ahead
    expect(h.leadership.isLeader()).toBe(true);
    vi.setSystemTime(new Date('2026-12-05T23:00:00Z')); // an hour back
    h.advance(6_001);
    expect(h.leadership.isLeader()).toBe(false);
  });

  it('a lost lease stops the lead at once, and a new token is taken up', async () => {
    const grants: LeaseGrant[] = [
      { held: true, token: 1 },
      { held: false, token: 2 },
      { held: true, token: 3 },
    ];
    const h = harness((n) => grants[n - 1] as LeaseGrant);
    await h.leadership.tick();
    expect(h.leadership.fence()).toEqual({ lease: LEASE_NAME, token: 1 });
    await h.leadership.tick();
    expect(h.leadership.isLeader()).toBe(false);
    expect(h.leadership.fence()).toBeNull();
    await h.leadership.tick();
    expect(h.leadership.fence()).toEqual({ lease: LEASE_NAME, token: 3 });
  });
});
