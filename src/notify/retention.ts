/**
 * Retention: rows of alerts closed longer ago than RETENTION_DAYS are deleted, so the database stops
 * growing with the alerts it has ever seen. Only the leader prunes, hourly and once shortly after it
 * is elected; runs never overlap; each step deletes in bounded batches (one short statement each,
 * with a pause between) so that the poller and the sender are never held up for long.
 *
 * What may go is decided by the store (Store.prune): never a record with an outbox item, a card
 * that is not final, a record not in Slack yet, or an open storm.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { PruneKind, PruneTable } from '../core/records.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../ports.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { cursorMetaKey, sendingMetaKey } from './timeline-relay.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * The steps of one run, in order: stuck outbox items first (they hold records back), then records
 * and their meta keys, the war rooms of records gone, storm members before their storms, mute members
 * before their mutes.
 */
export const PRUNE_STEPS: readonly PruneKind[] = [
  'outbox',
  'cards',
  'war_rooms',
  'storm_members',
  'storms',
  'mute_members',
  'mutes',
  'close_requests',
  'questions',
  'once_keys',
  'action_claims',
];

/** An action claim (sized in minutes) this old was abandoned by a process that died holding it. */
export const ABANDONED_CLAIM_MS = DAY;

/** The meta keys kept per card (timeline cursors), as prefixes of the card's key. */
export const CARD_META_PREFIXES: readonly string[] = [cursorMetaKey(''), sendingMetaKey('')];

export type RetentionDeps = {
  store: Pick<Store, 'prune'>;
  /** RETENTION_DAYS in ms. */
  retentionMs: number;
  /** Only the leader prunes; checked before every batch. */
  isLeader: () => boolean;
  logger: Logger;
  metrics: Pick<Metrics, 'prunedRows' | 'lastPrune'>;
  clock?: () => number;
  /** Rows per statement (default 1,000). */
  batchSize?: number;
  /** Pause between two batches (default 50 ms). */
  pauseMs?: number;
  /** How often the leader runs it (default hourly). */
  everyMs?: number;
  /** How long after becoming leader the first run starts (default 1 minute: the first poll goes first). */
  firstDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
};

export type PruneRun = {
  /** False when the run stopped early: leadership lost, the job stopping, or a store error. */
  complete: boolean;
  rows: Partial<Record<PruneTable, number>>;
  batches: number;
};

export function createRetention(deps: RetentionDeps) {
  const clock = deps.clock ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => delay(ms, undefined, { ref: false }));
  const limit = deps.batchSize ?? 1_000;
  const pauseMs = deps.pauseMs ?? 50;
  const everyMs = deps.everyMs ?? HOUR;
  const firstDelayMs = deps.firstDelayMs ?? 60_000;
  const log = deps.logger.child({ module: 'retention' });
  let running: Promise<PruneRun> | null = null;
  let stopping = false;
  let interval: NodeJS.Timeout | null = null;
  let soon: NodeJS.Timeout | null = null;

  /** The time before which a row of this kind goes, at `now`. */
  function cutOf(kind: PruneKind, now: number): number {
    if (kind === 'once_keys') return now;
    if (kind === 'action_claims') return now - ABANDONED_CLAIM_MS;
    return now - deps.retentionMs;
  }

  async function prune(): Promise<PruneRun> {
    const out: PruneRun = { complete: false, rows: {}, batches: 0 };
    const started = clock();
    try {
      for (const kind of PRUNE_STEPS) {
        for (;;) {
          if (stopping || !deps.isLeader()) {
            log.info({ rows: out.rows }, 'retention run stopped early: no longer the leader, or stopping');
            return out;
          }
          const r = await deps.store.prune({
            kind,
            before: cutOf(kind, clock()),
            limit,
            metaPrefixes: CARD_META_PREFIXES,
          });
          out.batches++;
          for (const [table, n] of Object.entries(r.tables) as [PruneTable, number][]) {
            if (n <= 0) continue;
            out.rows[table] = (out.rows[table] ?? 0) + n;
            deps.metrics.prunedRows.inc({ table }, n);
          }
          if (r.deleted < limit) break;
          await sleep(pauseMs);
        }
      }
    } catch (err) {
      log.warn({ err, rows: out.rows }, 'retention run failed: the store did not answer; next run retries');
      return out;
    }
    out.complete = true;
    deps.metrics.lastPrune.set(clock() / 1000);
    const total = Object.values(out.rows).reduce((a, b) => a + b, 0);
    const summary = { rows: out.rows, batches: out.batches, ms: clock() - started };
    if (total > 0) log.info(summary, 'retention: pruned rows of alerts closed longer ago than RETENTION_DAYS');
    else log.debug(summary, 'retention: nothing to prune');
    return out;
  }

  const job = {
    /** One run now (the leader only); a call while one runs shares it. */
    run(): Promise<PruneRun> {
      if (stopping || !deps.isLeader()) return Promise.resolve({ complete: false, rows: {}, batches: 0 });
      running ??= prune().finally(() => {
        running = null;
      });
      return running;
    },
    /** Runs every `everyMs` while leader. */
    start(): void {
      if (interval) return;
      interval = setInterval(() => void job.run(), everyMs);
      interval.unref();
    },
    /** Just elected: one run shortly (the poll goes first), then the hourly ones. */
    elected(): void {
      if (soon || stopping) return;
      soon = setTimeout(() => {
        soon = null;
        void job.run();
      }, firstDelayMs);
      soon.unref();
    },
    /** No new run; waits for the one in flight (it stops at its next batch). */
    async stop(): Promise<void> {
      stopping = true;
      if (interval) clearInterval(interval);
      if (soon) clearTimeout(soon);
      interval = null;
      soon = null;
      if (running) await running;
    },
  };
  return job;
}

export type Retention = ReturnType<typeof createRetention>;
