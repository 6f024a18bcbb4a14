/**
 * "Close all as false positive…" from a storm digest: closes every still-live alert of one group.
 *
 * Order: access (as for a single click) → the storm and the group's members from the store → a bulk
 * close of this group already done, or running, is not started again (the tally's state, and a
 * claim on `bulk:<storm>:<group>` that two submits race for) → for each live member, at most four
 * at a time, holding that alert's claim (so a click on its card cannot interleave):
 *   - GET the alert; no longer live → "already closed";
 *   - changed since the digest recorded it (updatedAt moved AND its status, severity or title
 *     differ) → "changed since": not closed, an analyst must look;
 *   - else POST `closed_false_positive` with a reason naming the analyst and the digest;
 *     `statusChanged: false` → "already closed"; a failure → "failed" with a short why. A timeout
 *     or 5xx is checked by re-reading the alert (the change may have gone through). The client
 *     already waits out Cotool's 429/503 `Retry-After` (three retries).
 * Nothing is skipped silently: every live member ends in exactly one of the four counts. The tally
 * is written to the store every ~10 alerts or 2 s, with the members' new status and a digest
 * redraw queued (the sender coalesces and paces redraws), and once more at the end.
 *
 * Headless: Cotool through a narrow Pick of its client, the store, the access policy. No Slack.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { digestUpdateItem } from '../core/outbox.ts';
import type { CotoolClient } from '../cotool/client.ts';
import { type CotoolError, classifyCotoolError, isCotoolError } from '../cotool/errors.ts';
import { type Alert, isLive, type KnownAlertStatus } from '../cotool/schemas.ts';
import type { Logger } from '../log.ts';
import {
  type BulkFailure,
  type BulkTally,
  liveMembers,
  membersOf,
  parseTallies,
  serializeTallies,
} from '../notify/digest.ts';
import type { Change, Store, Storm, StormMember } from '../store/store.ts';
import type { AccessPolicy, AccessRefusal } from './access.ts';
import { buildReason, cleanTyped, REASON_MAX } from './reason.ts';

export const BULK_STATUS: KnownAlertStatus = 'closed_false_positive';
/**
 * What the modal accepts. The fixed part of the reason (verb, name, Slack id, "in bulk from the
 * alert-storm digest (C…, https://….slack.com/archives/C…/p…)") is at most ~330 characters, so
 * words of this length always fit in Cotool's 2,000.
 */
export const BULK_WORDS_MAX = 1_600;
/** How long a bulk close holds its group if its process dies mid-run (then another may run it). */
export const BULK_CLAIM_TTL_MS = 60 * 60_000;
/** How long one alert's claim holds (as a single click's: a status write with its retries, then a re-read). */
const ALERT_CLAIM_TTL_MS = 180_000;

export type BulkCloseDeps = {
  cotool: Pick<CotoolClient, 'getAlert' | 'updateStatus'>;
  store: Pick<
    Store,
    'getStorm' | 'stormMembers' | 'stormMemberPage' | 'apply' | 'claimAction' | 'releaseAction' | 'setLastAction'
  >;
  access: Pick<AccessPolicy, 'check'>;
  logger: Logger;
  clock: () => number;
  /** Told after each alert closed (App Home refreshes on it). */
  onChanged?: (change: { alert: Alert; userId: string }) => void;
  /** Alerts worked on at once (default 4). */
  concurrency?: number;
  /** The tally is written after this many alerts (default 10)… */
  progressEvery?: number;
  /** …or this long after the last write (default 2 s). */
  progressMs?: number;
};

export type BulkCloseInput = {
  stormId: string;
  groupKey: string;
  userId: string;
  /** The analyst's reason (required by the modal). */
  words: string;
  /** The workspace's web address (`https://acme.slack.com/`) to link the digest message in the reason. */
  workspaceUrl?: string | null;
};

export type BulkCloseResult =
  | { ok: true; tally: BulkTally; groupName: string; wordsCut: boolean; keptChars: number }
  | { ok: false; code: 'denied'; reason: AccessRefusal }
  /** No such storm, or no such group in it. */
  | { ok: false; code: 'not_found' }
  /** This group was closed in bulk already, or is being closed now: `tally` says by whom and when. */
  | { ok: false; code: 'already'; tally: BulkTally; groupName: string }
  /** Another submit has just claimed this group and not yet recorded its tally. */
  | { ok: false; code: 'busy'; groupName: string }
  | { ok: false; code: 'nothing_live'; groupName: string };

type Outcome =
  | { kind: 'closed'; alert: Alert }
  | { kind: 'alreadyClosed'; status: string; updatedAt: string }
  | { kind: 'changedSince'; status: string; updatedAt: string }
  | { kind: 'failed'; why: string };

/** A short why for the tally; the full error is in the log. */
export function whyFailed(err: CotoolError): string {
  const s = err.status ?? 0;
  switch (classifyCotoolError(err)) {
    case 'forbidden':
      return err.missingPerms?.length
        ? `the API key lacks ${err.missingPerms.slice(0, 3).join(', ')} (403)`
        : 'Cotool refused the API key (403)';
    case 'unauthorized':
      return 'Cotool rejected the API key (401)';
    case 'not_found':
      return 'not found in Cotool (404)';
    case 'invalid':
      return `Cotool refused it${err.apiMessage ? `: ${err.apiMessage.slice(0, 160)}` : ''} (${s})`;
    case 'rate_limited':
      return 'Cotool kept rate-limiting (429)';
    case 'upstream':
      return `Cotool failed (HTTP ${s})`;
    case 'timeout':
      return 'Cotool did not answer (timeout)';
    case 'network':
      return `network error${err.code ? ` (${err.code})` : ''}`;
    case 'schema':
      return 'unexpected answer from Cotool';
  }
}

/** Whether an alert changed since the digest recorded it in a way an analyst should look at. */
export function changedInAWayThatMatters(member: StormMember, now: Alert): boolean {
  if (now.updatedAt === member.updatedAt) return false;
  return (
    now.status !== member.status || (now.severity ?? null) !== (member.severity ?? null) || now.title !== member.title
  );
}

const withoutTimeline = (a: Alert & { timeline?: unknown }): Alert => {
  const { timeline: _t, ...alert } = a;
  return alert;
};

/** "https://acme.slack.com/archives/C0…/p1795000000000100", or null without an address or ts. */
function messageLink(workspaceUrl: string | null | undefined, channel: string, ts: string | null): string | null {
  if (!workspaceUrl || !ts || !/^https:\/\/[a-z0-9-]{1,63}\.(?:enterprise\.)?slack\.com\/$/.test(workspaceUrl))
    return null;
  if (!/^[A-Z0-9]{2,32}$/.test(channel) || !/^\d{1,12}\.\d{1,9}$/.test(ts)) return null;
  return `${workspaceUrl}archives/${channel}/p${ts.replace('.', '')}`;
}

/** The reason every alert of the run carries: the analyst, the digest, then their words (cut to fit). */
export function bulkReason(
  actor: { id: string; name: string },
  digest: { channel: string; link: string | null },
  words: string,
): { reason: string; wordsCut: boolean; keptChars: number } {
  const head = buildReason(BULK_STATUS, actor).reason;
  const where = digest.link ? `${digest.channel}, ${digest.link}` : digest.channel;
  const fixed = `${head} in bulk from the alert-storm digest (${where})`;
  const said = cleanTyped(words);
  if (!said) return { reason: fixed, wordsCut: false, keptChars: 0 };
  const room = REASON_MAX - fixed.length - 2;
  if (said.length <= room) return { reason: `${fixed}: ${said}`, wordsCut: false, keptChars: said.length };
  const kept = `${Array.from(said.slice(0, Math.max(0, room - 1)).toWellFormed()).join('')}…`;
  return { reason: `${fixed}: ${kept}`, wordsCut: true, keptChars: kept.length - 1 };
}

export function createBulkClose(deps: BulkCloseDeps): (input: BulkCloseInput) => Promise<BulkCloseResult> {
  const log = deps.logger.child({ module: 'bulk-close' });
  const { store, cotool } = deps;
  const concurrency = Math.max(1, deps.concurrency ?? 4);
  const progressEvery = deps.progressEvery ?? 10;
  const progressMs = deps.progressMs ?? 2_000;
  /** Tally writes of one storm, one after the other (each rewrites the storm's tallies). */
  const writing = new Map<string, Promise<unknown>>();

  function serial<T>(stormId: string, fn: () => Promise<T>): Promise<T> {
    const before = writing.get(stormId) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const settled = run.catch(() => undefined);
    writing.set(stormId, settled);
    void settled.then(() => {
      if (writing.get(stormId) === settled) writing.delete(stormId);
    });
    return run;
  }

  /** Writes this group's tally (re-reading the others'), member statuses, and queues a digest redraw. */
  function writeTally(storm: Storm, groupKey: string, tally: BulkTally, statuses: Change['memberStatus']) {
    return serial(storm.id, async () => {
      const fresh = await store.getStorm(storm.id);
      const tallies = parseTallies(fresh?.tally ?? null);
      tallies.set(groupKey, tally);
      const change: Change = {
        storm: { op: 'tally', id: storm.id, tally: serializeTallies(tallies) },
        enqueue: [digestUpdateItem(storm, deps.clock())],
        ...(statuses?.length ? { memberStatus: statuses } : {}),
      };
      await store.apply([change]);
    });
  }

  return async (input) => {
    const decision = await deps.access.check(input.userId);
    if (!decision.ok) return { ok: false, code: 'denied', reason: decision.reason };
    const actor = { id: input.userId, name: decision.user.name };

    const storm = await store.getStorm(input.stormId);
    if (!storm) return { ok: false, code: 'not_found' };
    const members = membersOf(await store.stormMembers(storm.id), input.groupKey);
    const groupName = members[0]?.groupName ?? '';
    if (members.length === 0) return { ok: false, code: 'not_found' };

    const previous = parseTallies(storm.tally).get(input.groupKey);
    if (previous?.state === 'done') return { ok: false, code: 'already', tally: previous, groupName };
    const claimKey = `bulk:${storm.id}:${input.groupKey}`;
    const owner = randomUUID();
    if (!(await store.claimAction(claimKey, owner, BULK_CLAIM_TTL_MS))) {
      const now = parseTallies((await store.getStorm(storm.id))?.tally ?? null).get(input.groupKey);
      return now ? { ok: false, code: 'already', tally: now, groupName } : { ok: false, code: 'busy', groupName };
    }
    // From here the group is ours; a 'running' tally left behind is a run whose process died.
    try {
      const live = liveMembers(members);
      if (live.length === 0) return { ok: false, code: 'nothing_live', groupName };
      const reason = bulkReason(
        actor,
        { channel: storm.channel, link: messageLink(input.workspaceUrl, storm.channel, storm.ts) },
        input.words,
      );
      const tally: BulkTally = {
        state: 'running',
        by: actor,
        total: live.length,
        closed: 0,
        alreadyClosed: 0,
        changedSince: 0,
        failed: [],
        startedAt: deps.clock(),
        finishedAt: null,
      };
      log.info(
        { stormId: storm.id, groupKey: input.groupKey, userId: actor.id, live: live.length },
        'bulk close started',
      );
      await writeTally(storm, input.groupKey, { ...tally }, []);

      let pending: NonNullable<Change['memberStatus']> = [];
      let sinceFlush = 0;
      let lastFlush = deps.clock();
      const flush = async (final: boolean) => {
        const statuses = pending;
        pending = [];
        sinceFlush = 0;
        lastFlush = deps.clock();
        const snapshot: BulkTally = { ...tally, failed: [...tally.failed] };
        try {
          await writeTally(storm, input.groupKey, snapshot, statuses);
        } catch (err) {
          if (final) throw err;
          pending.push(...statuses); // written with the next one
          log.warn({ err, stormId: storm.id }, 'could not record bulk-close progress; continuing');
        }
      };

      const record = async (m: StormMember, o: Outcome) => {
        switch (o.kind) {
          case 'closed':
            tally.closed++;
            pending.push({
              stormId: storm.id,
              alertId: m.alertId,
              status: o.alert.status,
              updatedAt: o.alert.updatedAt,
            });
            break;
          case 'alreadyClosed':
            tally.alreadyClosed++;
            pending.push({ stormId: storm.id, alertId: m.alertId, status: o.status, updatedAt: o.updatedAt });
            break;
          case 'changedSince':
            tally.changedSince++;
            pending.push({ stormId: storm.id, alertId: m.alertId, status: o.status, updatedAt: o.updatedAt });
            break;
          case 'failed':
            tally.failed.push({ alertId: m.alertId, displayId: m.displayId, why: o.why } satisfies BulkFailure);
            break;
        }
        sinceFlush++;
        if (sinceFlush >= progressEvery || deps.clock() - lastFlush >= progressMs) await flush(false);
      };

      let next = 0;
      const worker = async () => {
        while (next < live.length) {
          const m = live[next++] as StormMember;
          const outcome = await closeOne(m, actor, reason.reason);
          await record(m, outcome);
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, live.length) }, worker));

      tally.state = 'done';
      tally.finishedAt = deps.clock();
      await flush(true);
      log.info(
        {
          stormId: storm.id,
          groupKey: input.groupKey,
          userId: actor.id,
          total: tally.total,
          closed: tally.closed,
          alreadyClosed: tally.alreadyClosed,
          changedSince: tally.changedSince,
          failed: tally.failed.length,
        },
        'bulk close done',
      );
      return { ok: true, tally, groupName, wordsCut: reason.wordsCut, keptChars: reason.keptChars };
    } finally {
      // The tally ('done') keeps the group from being closed twice; the claim only covered the run.
      await store.releaseAction(claimKey, owner);
    }
  };

  /** One member, holding its alert's claim. Never throws: an unexpected error is a failure with a ref. */
  async function closeOne(m: StormMember, actor: { id: string; name: string }, reason: string): Promise<Outcome> {
    const owner = randomUUID();
    try {
      if (!(await store.claimAction(m.alertId, owner, ALERT_CLAIM_TTL_MS))) {
        return { kind: 'failed', why: 'someone else was changing it at the same time' };
      }
    } catch (err) {
      return unexpected(m, err);
    }
    try {
      return await attempt(m, actor, reason);
    } catch (err) {
      return unexpected(m, err);
    } finally {
      await store.releaseAction(m.alertId, owner).catch(() => undefined);
    }
  }

  function unexpected(m: StormMember, err: unknown): Outcome {
    const ref = randomBytes(4).toString('hex');
    log.error({ ref, err, alertId: m.alertId }, 'bulk close: unexpected error on one alert');
    return { kind: 'failed', why: `unexpected error (ref ${ref})` };
  }

  function failed(m: StormMember, err: unknown, what: string): Outcome {
    if (!isCotoolError(err)) throw err;
    log.warn({ alertId: m.alertId, displayId: m.displayId, err: err.toLog() }, `bulk close: ${what} failed`);
    return { kind: 'failed', why: whyFailed(err) };
  }

  async function attempt(m: StormMember, actor: { id: string; name: string }, reason: string): Promise<Outcome> {
    let before: Alert;
    try {
      before = withoutTimeline(await cotool.getAlert(m.alertId));
    } catch (err) {
      return failed(m, err, 'reading the alert');
    }
    if (!isLive(before.status)) return { kind: 'alreadyClosed', status: before.status, updatedAt: before.updatedAt };
    if (changedInAWayThatMatters(m, before)) {
      log.info(
        {
          alertId: m.alertId,
          was: { status: m.status, severity: m.severity },
          now: { status: before.status, severity: before.severity },
        },
        'bulk close: alert changed since the digest; not closed',
      );
      return { kind: 'changedSince', status: before.status, updatedAt: before.updatedAt };
    }
    let after: Alert;
    try {
      const written = await cotool.updateStatus(before.id, BULK_STATUS, reason);
      if (!written.statusChanged) {
        return { kind: 'alreadyClosed', status: written.alert.status, updatedAt: written.alert.updatedAt };
      }
      after = { ...before, ...written.alert, status: BULK_STATUS };
    } catch (err) {
      if (!isCotoolError(err) || !err.mayHaveApplied()) return failed(m, err, 'closing');
      // The answer was lost, not necessarily the change: look before counting it.
      let now: Alert;
      try {
        now = withoutTimeline(await cotool.getAlert(before.id));
      } catch {
        return failed(m, err, 'closing (and re-reading)');
      }
      if (now.status !== BULK_STATUS) return failed(m, err, 'closing (re-read: not applied)');
      log.warn(
        { alertId: m.alertId, err: err.toLog() },
        'bulk close: the answer was lost but re-reading shows it closed',
      );
      after = now;
    }
    await store
      .setLastAction(before.id, {
        by: actor,
        kind: 'status',
        status: BULK_STATUS,
        at: new Date(deps.clock()).toISOString(),
      })
      .catch((err: unknown) => log.warn({ err, alertId: before.id }, 'could not remember who closed the alert'));
    deps.onChanged?.({ alert: after, userId: actor.id });
    return { kind: 'closed', alert: after };
  }
}

export type BulkClosePreview =
  | { ok: true; groupName: string; live: number; total: number }
  | Exclude<BulkCloseResult, { ok: true } | { code: 'busy' }>;

/**
 * What the close-all modal shows before anything is done: how many alerts of the group are still
 * live — or why there is nothing to do (access refused, closed in bulk already or being closed, none live).
 */
export function createBulkClosePreview(
  deps: Pick<BulkCloseDeps, 'store' | 'access' | 'clock'>,
): (input: Pick<BulkCloseInput, 'stormId' | 'groupKey' | 'userId'>) => Promise<BulkClosePreview> {
  return async (input) => {
    const decision = await deps.access.check(input.userId);
    if (!decision.ok) return { ok: false, code: 'denied', reason: decision.reason };
    const storm = await deps.store.getStorm(input.stormId);
    if (!storm) return { ok: false, code: 'not_found' };
    // Counted in the database: the preview holds no member.
    const group = await deps.store.stormMemberPage(storm.id, { groupKey: input.groupKey }, { offset: 0, limit: 0 });
    const groupName = group.groupName ?? '';
    if (group.total === 0) return { ok: false, code: 'not_found' };
    const tally = parseTallies(storm.tally).get(input.groupKey);
    // A 'running' tally older than the run's claim is a run whose process died: it may run again.
    const stale = tally?.state === 'running' && deps.clock() - tally.startedAt > BULK_CLAIM_TTL_MS;
    if (tally && !stale) return { ok: false, code: 'already', tally, groupName };
    const live = group.live;
    if (live === 0) return { ok: false, code: 'nothing_live', groupName };
    return { ok: true, groupName, live, total: group.total };
  };
}
