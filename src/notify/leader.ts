/**
 * Leadership among replicas: exactly one process polls and sends at a time. A lease row in the store
 * is taken or renewed every `ttlMs / 3`; a leader that cannot renew (the database is gone, another
 * process holds it) stops sending at once, and a follower takes over within `ttlMs` plus one tick
 * of a leader that died.
 *
 * The lease's expiry is judged by the database's clock; this process's own deadline ("still the
 * leader until") by its monotonic clock, counted from when the renewal was SENT: a pause, a slow
 * answer or a wall-clock jump can only make it give up early, never late. Each taking of the lease
 * moves its token; the sender claims and completes under it (the fence), so a process that lost the
 * lease while paused cannot complete or write what it had claimed.
 */

import type { Fence } from '../core/records.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../ports.ts';
import type { HealthState } from '../telemetry/health.ts';
import type { Metrics } from '../telemetry/metrics.ts';

export const LEASE_NAME = 'poller';

export type LeadershipDeps = {
  store: Store;
  owner: string;
  ttlMs: number;
  health: HealthState;
  logger: Logger;
  metrics: Metrics;
  /** Monotonic milliseconds (default performance.now): local deadlines only, never the wall clock. */
  monotonic?: () => number;
  /** Told when this process becomes the leader (start polling and sending now). */
  onElected?: () => void;
};

export function createLeadership(deps: LeadershipDeps) {
  const { store, owner, ttlMs, health } = deps;
  const monotonic = deps.monotonic ?? (() => performance.now());
  const log = deps.logger.child({ module: 'leader' });
  // A renewal must land well before expiry: stop acting a third of the lease early.
  const margin = Math.floor(ttlMs / 3);
  let validUntil = 0;
  let token = 0;
  let leader = false;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;

  function set(now: boolean) {
    if (now === leader) return;
    leader = now;
    health.lease = now ? 'leader' : 'follower';
    deps.metrics.leader.set(now ? 1 : 0);
    log.info({ owner }, now ? 'this replica is now the leader: polling and sending' : 'this replica is a follower');
    if (now) deps.onElected?.();
  }

  async function tick(): Promise<boolean> {
    if (stopped) return false;
    const sentAt = monotonic();
    try {
      const grant = await store.tryLease(LEASE_NAME, owner, ttlMs);
      const held = grant.held;
      health.storeOk = true;
      if (held) {
        // The lease runs ttlMs from when the database read its clock, which is after sentAt.
        validUntil = sentAt + ttlMs - margin;
        token = grant.token;
      }
      set(held);
      if (!held && health.lease === 'unknown') health.lease = 'follower';
      return held;
    } catch (err) {
      health.storeOk = false;
      log.warn({ err }, 'could not renew the lease: the store is unreachable');
      set(false);
      return false;
    }
  }

  return {
    isLeader(): boolean {
      return leader && monotonic() < validUntil;
    },
    /** The lease and its token while this process is the leader, else null. */
    fence(): Fence | null {
      return leader && monotonic() < validUntil ? { lease: LEASE_NAME, token } : null;
    },
    tick,
    async start(): Promise<void> {
      await tick();
      timer = setInterval(() => void tick(), Math.max(200, Math.floor(ttlMs / 3)));
      timer.unref();
    },
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearInterval(timer);
      if (leader) await store.releaseLease(LEASE_NAME, owner).catch(() => undefined);
      leader = false;
      deps.metrics.leader.set(0);
    },
  };
}

export type Leadership = ReturnType<typeof createLeadership>;
