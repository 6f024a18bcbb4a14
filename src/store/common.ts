/**
 * What both engines share: the card patch columns, how a batch of changes is applied, and every
 * Store method whose statements take the same positional values (`$1`, `$2` … in both; sqlite.ts
 * reads them as `?1`, `?2`). The steps of a transaction are a generator of statements, so one
 * description runs synchronously on SQLite and asynchronously on PostgreSQL.
 */
import type { ApplyResult, CardPatch, CardState, Change, OutboxItem, PruneKind, WarRoom } from '../core/records.ts';
import type { Store } from '../ports.ts';
import {
  digestGroup,
  idSpans,
  muteParams,
  num,
  questionParams,
  type Row,
  requestParams,
  str,
  toCloseRequest,
  toItem,
  toMember,
  toMute,
  toQuestion,
  toRecord,
  toStorm,
  toWarRoom,
  warRoomParams,
} from './rows.ts';

/** One statement and its values; answered with its rows and how many rows it wrote or returned. */
export type Step = { sql: string; values: readonly unknown[] };
export type Done = { rows: Row[]; count: number };
export type Steps<T> = Generator<Step, T, Done>;

/** Runs steps to the end, feeding each statement's outcome back (and its error, if it throws). */
export function driveSync<T>(steps: Steps<T>, exec: (s: Step) => Done): T {
  let r = steps.next();
  while (!r.done) {
    let out: Done;
    try {
      out = exec(r.value);
    } catch (err) {
      r = steps.throw(err);
      continue;
    }
    r = steps.next(out);
  }
  return r.value;
}

export async function drive<T>(steps: Steps<T>, exec: (s: Step) => Promise<Done>): Promise<T> {
  let r = steps.next();
  while (!r.done) {
    let out: Done;
    try {
      out = await exec(r.value);
    } catch (err) {
      r = steps.throw(err);
      continue;
    }
    r = steps.next(out);
  }
  return r.value;
}

function* exec(sql: string, values: readonly unknown[] = []): Steps<Done> {
  return yield { sql, values };
}
const count = function* (sql: string, values: readonly unknown[] = []): Steps<number> {
  return (yield* exec(sql, values)).count;
};
const rows = function* (sql: string, values: readonly unknown[] = []): Steps<Row[]> {
  return (yield* exec(sql, values)).rows;
};

/** The statements both engines write alike (`$n` read as `?n` by SQLite). */
/** Statuses still live (src/core/alert.ts LIVE_STATUSES), for SQL. */
export const LIVE_SQL = "('open', 'in_progress', 'escalated')";

export const SHARED_SQL = {
  once: `INSERT INTO once_keys (key, expires_at) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE once_keys.expires_at < $3`,
  setMeta: 'INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value',
  get: 'SELECT * FROM cards WHERE alert_id = $1',
  byMessage: "SELECT * FROM cards WHERE channel = $1 AND ts = $2 AND state = 'posted'",
  seen: `INSERT INTO cards (alert_id, display_id, state, status, created_at, changed_at)
         VALUES ($1, $2, 'seen', $3, $4, $4) ON CONFLICT (alert_id) DO NOTHING`,
  render: `UPDATE cards SET status = $1, updated_at = $2, fingerprint = $3, final = $4, version = version + 1,
                  changed_at = $5
           WHERE alert_id = $6`,
  cardTimes: 'SELECT alert_id, posted_at, first_action_at FROM cards WHERE posted_at IS NOT NULL AND posted_at >= $1',
  insertCard: `INSERT INTO cards (alert_id, display_id, state, channel, status, updated_at, fingerprint, storm_id,
                                  created_at, changed_at, mute_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10) ON CONFLICT (alert_id) DO NOTHING`,
  stormOpen:
    'INSERT INTO storms (id, channel, started_at, last_added_at) VALUES ($1, $2, $3, $3) ON CONFLICT DO NOTHING',
  stormExists: 'SELECT 1 FROM storms WHERE id = $1',
  stormEnd: 'UPDATE storms SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL',
  stormPosted: 'UPDATE storms SET ts = $1 WHERE id = $2',
  stormTally: 'UPDATE storms SET tally = $1 WHERE id = $2',
  member: `INSERT INTO storm_members (storm_id, alert_id, display_id, group_key, group_name, severity, status, title,
                                      created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (storm_id, alert_id) DO NOTHING`,
  memberStatus: 'UPDATE storm_members SET status = $1, updated_at = $2 WHERE storm_id = $3 AND alert_id = $4',
  deleteItem: 'DELETE FROM outbox WHERE key = $1',
  getStorm: 'SELECT * FROM storms WHERE id = $1',
  members: 'SELECT * FROM storm_members WHERE storm_id = $1 ORDER BY seq',
  digestTotals: `SELECT COUNT(*) AS total, COUNT(*) FILTER (WHERE status IN ${LIVE_SQL}) AS live,
                        COUNT(DISTINCT group_key) AS groups
                 FROM storm_members WHERE storm_id = $1`,
  groupName: 'SELECT group_name FROM storm_members WHERE storm_id = $1 AND group_key = $2 ORDER BY seq LIMIT 1',
  idsAfter: 'SELECT seq, display_id FROM storm_members WHERE storm_id = $1 AND seq > $2 ORDER BY seq LIMIT $3',
  leaseToken: 'SELECT token FROM leases WHERE name = $1',
  releaseAction: 'DELETE FROM action_claims WHERE alert_id = $1 AND owner = $2',
  pruneOnce: 'DELETE FROM once_keys WHERE expires_at < $1',
  forgetOnce: 'DELETE FROM once_keys WHERE key = $1',
  expireRequests: `UPDATE close_requests SET state = 'expired', decided_at = $1
                   WHERE alert_id = $2 AND state = 'pending' AND expires_at <= $1`,
  addRequest: `INSERT INTO close_requests (id, alert_id, display_id, status, words, requester_id, requester_name,
                                           basis, channel, thread_ts, state, created_at, expires_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11, $12) ON CONFLICT DO NOTHING`,
  getRequest: 'SELECT * FROM close_requests WHERE id = $1',
  pendingRequest: "SELECT * FROM close_requests WHERE alert_id = $1 AND state = 'pending'",
  requestTs: 'UPDATE close_requests SET ts = $1 WHERE id = $2',
  moveRequest: `UPDATE close_requests SET state = $1, decided_by_id = $2, decided_by_name = $3, decided_at = $4,
                       outcome = COALESCE($5, outcome)
                WHERE id = $6 AND state = $7`,
  getMeta: 'SELECT value FROM meta WHERE key = $1',
  // ---- the next move
  ask: `INSERT INTO questions (id, alert_id, display_id, channel, thread_ts, asked_by_id, asked_by_name,
                               asked_user_id, asked_at, deadline)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
  answer: `UPDATE questions SET state = $1, note = $2, answered_at = $3
           WHERE id = $4 AND state = 'asked' AND asked_user_id = $5`,
  timeout: "UPDATE questions SET state = 'timed_out', answered_at = $1 WHERE id = $2 AND state = 'asked'",
  questionDm: 'UPDATE questions SET dm_channel = $1, dm_ts = $2 WHERE id = $3',
  getQuestion: 'SELECT * FROM questions WHERE id = $1',
  muteCreate: `INSERT INTO mutes (id, channel, detection_key, detection_name, by_id, by_name, reason, created_at,
                                  until_at, source_alert_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
  muteEnd: 'UPDATE mutes SET ended_at = $1, ended_by_id = $2, ended_by_name = $3 WHERE id = $4 AND ended_at IS NULL',
  muteCounted: 'UPDATE mutes SET muted = muted + 1 WHERE id = $1',
  muteEscalated: 'UPDATE mutes SET escalated = escalated + 1 WHERE id = $1',
  mutePosted: 'UPDATE mutes SET ts = $1 WHERE id = $2',
  getMute: 'SELECT * FROM mutes WHERE id = $1',
  warRoom: `INSERT INTO war_rooms (alert_id, channel, name, by_id, by_name, at) VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (alert_id) DO NOTHING`,
  getWarRoom: 'SELECT * FROM war_rooms WHERE alert_id = $1',
  reminder: 'UPDATE cards SET reminders_sent = $1 WHERE alert_id = $2 AND reminders_sent = $1 - 1',
};

/** The statements each engine writes in its own dialect (with the same values). */
export type EngineSql = Record<
  | 'unfinishedIds'
  | 'lastAction'
  | 'enqueue'
  | 'dequeue'
  | 'settle'
  | 'stormGrow'
  | 'touch'
  | 'ownedRev'
  | 'requeue'
  | 'retry'
  | 'depth'
  | 'listOutbox'
  | 'activeStorms'
  | 'digestGroups'
  | 'groupExamples'
  | 'groupIslands'
  | 'groupOtherIds'
  | 'pageCount'
  | 'page'
  | 'lease'
  | 'releaseLease'
  | 'claimAction'
  | 'quietIds'
  | 'pruneMeta'
  | 'questionsOf'
  | 'dueQuestions'
  | 'muteMember'
  | 'memberEscalated'
  | 'activeMutes'
  | 'dueMuteEnds'
  | 'muteMembersAfter'
  | 'warRoomsOf',
  string
>;

/**
 * One bounded DELETE per kind ($1: before, $2: limit); see PruneKind for the rules. `contains(a, b)`:
 * b occurs in a; `lock`: how the rows picked are locked (PostgreSQL), or nothing (SQLite).
 */
export function pruneSql(
  contains: (a: string, b: string) => string,
  lock: (of?: string) => string,
): Record<PruneKind, string> {
  // Storms and mutes: the members of an ended one no outbox item names, then the ended one once memberless.
  const unnamed = `NOT EXISTS (SELECT 1 FROM outbox AS o WHERE ${contains('o.key', 'p.id')} > 0)`;
  const endedMembers = (parent: string, members: string, fk: string) =>
    `DELETE FROM ${members} WHERE (${fk}, alert_id) IN (
       SELECT m.${fk}, m.alert_id FROM ${parent} AS p JOIN ${members} AS m ON m.${fk} = p.id
       WHERE p.ended_at IS NOT NULL AND p.ended_at < $1 AND ${unnamed}
       LIMIT $2)`;
  const endedParents = (parent: string, members: string, fk: string) =>
    `DELETE FROM ${parent} WHERE id IN (
       SELECT p.id FROM ${parent} AS p
       WHERE p.ended_at IS NOT NULL AND p.ended_at < $1 AND ${unnamed}
         AND NOT EXISTS (SELECT 1 FROM ${members} AS m WHERE m.${fk} = p.id)
       ORDER BY p.ended_at LIMIT $2
       ${lock()})`;
  return {
    outbox: `DELETE FROM outbox WHERE key IN (
             SELECT o.key FROM outbox AS o LEFT JOIN cards AS c ON c.alert_id = o.alert_id
             WHERE o.state = 'pending' AND o.attempts > 0 AND o.created_at < $1
               AND ((c.alert_id IS NOT NULL AND c.final AND c.changed_at < $1)
                 OR (o.alert_id IS NULL AND EXISTS (
                       SELECT 1 FROM storms AS s
                       WHERE s.ended_at IS NOT NULL AND s.ended_at < $1 AND ${contains('o.key', 's.id')} > 0)))
             ORDER BY o.created_at LIMIT $2
             ${lock('o')})`,
    cards: `DELETE FROM cards WHERE alert_id IN (
            SELECT c.alert_id FROM cards AS c
            WHERE c.final AND c.changed_at < $1
              AND NOT EXISTS (SELECT 1 FROM outbox AS o WHERE o.alert_id = c.alert_id)
              AND NOT EXISTS (SELECT 1 FROM close_requests AS r WHERE r.alert_id = c.alert_id AND r.state = 'pending')
              AND NOT EXISTS (SELECT 1 FROM questions AS qu WHERE qu.alert_id = c.alert_id AND qu.state = 'asked')
              AND NOT EXISTS (SELECT 1 FROM action_claims AS a WHERE a.alert_id = c.alert_id)
            ORDER BY c.changed_at LIMIT $2
            ${lock()})
          RETURNING alert_id`,
    storm_members: endedMembers('storms', 'storm_members', 'storm_id'),
    storms: endedParents('storms', 'storm_members', 'storm_id'),
    close_requests: `DELETE FROM close_requests WHERE id IN (
                     SELECT r.id FROM close_requests AS r
                     WHERE ((r.state <> 'pending' AND COALESCE(r.decided_at, r.expires_at) < $1)
                         OR (r.state = 'pending' AND r.expires_at < $1))
                       AND NOT EXISTS (SELECT 1 FROM outbox AS o WHERE o.alert_id = r.alert_id)
                     LIMIT $2
                     ${lock()})`,
    once_keys: `DELETE FROM once_keys WHERE key IN (
                SELECT key FROM once_keys WHERE expires_at < $1 ORDER BY expires_at LIMIT $2 ${lock()})`,
    action_claims: `DELETE FROM action_claims WHERE alert_id IN (
                    SELECT alert_id FROM action_claims WHERE claimed_at < $1 LIMIT $2 ${lock()})`,
    questions: `DELETE FROM questions WHERE id IN (
                SELECT qu.id FROM questions AS qu
                WHERE qu.state <> 'asked' AND qu.answered_at < $1
                  AND NOT EXISTS (SELECT 1 FROM outbox AS o WHERE o.alert_id = qu.alert_id)
                ORDER BY qu.answered_at LIMIT $2
                ${lock()})`,
    mute_members: endedMembers('mutes', 'mute_members', 'mute_id'),
    mutes: endedParents('mutes', 'mute_members', 'mute_id'),
    war_rooms: `DELETE FROM war_rooms WHERE alert_id IN (
                SELECT w.alert_id FROM war_rooms AS w
                WHERE w.at < $1 AND NOT EXISTS (SELECT 1 FROM cards AS c WHERE c.alert_id = w.alert_id)
                LIMIT $2
                ${lock()})`,
  };
}

type Sql = typeof SHARED_SQL & EngineSql;

/** One engine: its statements, how it runs one of them, and how it runs steps in a transaction. */
export type Engine = {
  sql: EngineSql;
  /** One bounded DELETE per kind ($1: before, $2: limit); see PruneKind for the rules. */
  prune: Record<PruneKind, string>;
  /** How many ids one `= ANY` (or `json_each`) statement takes. */
  chunk: number;
  query(sql: string, values?: readonly unknown[]): Promise<Done>;
  /** Runs the steps in one transaction (`make` again when the engine retries it). */
  tx<T>(make: () => Steps<T>): Promise<T>;
  clock: () => number;
};

/** Column names of the patchable card fields, and how each value is stored (one value per column). */
const PATCH_COLUMNS: { [K in keyof CardPatch]-?: [string[], (v: CardPatch[K]) => unknown[]] } = {
  state: [['state'], (v) => [v]],
  channel: [['channel'], (v) => [v ?? null]],
  ts: [['ts'], (v) => [v ?? null]],
  status: [['status'], (v) => [v ?? null]],
  updatedAt: [['updated_at'], (v) => [v ?? null]],
  fingerprint: [['fingerprint'], (v) => [v ?? null]],
  final: [['final'], (v) => [Boolean(v)]],
  stormId: [['storm_id'], (v) => [v ?? null]],
  lastAction: [['last_action'], (v) => [v ? JSON.stringify(v) : null]],
  postedAt: [['posted_at'], (v) => [v ?? null]],
  muteId: [['mute_id'], (v) => [v ?? null]],
  owner: [['owner_id', 'owner_name'], (v) => [v?.id ?? null, v?.name ?? null]],
  remindersSent: [['reminders_sent'], (v) => [v ?? 0]],
};

class Conflict extends Error {}

/** A statement that must write exactly one row, else the change conflicts. */
function* one(sql: string, values: readonly unknown[]): Steps<void> {
  if ((yield* count(sql, values)) !== 1) throw new Conflict();
}

/** Applies one change inside the caller's transaction; throws Conflict to roll it back. */
function* applyOne(S: Sql, ch: Change, t: number): Steps<void> {
  const w = ch.card;
  if (w?.op === 'insert') {
    const { alertId, displayId, state, channel, status, updatedAt, fingerprint } = w;
    yield* one(S.insertCard, [
      ...[alertId, displayId, state, channel, status, updatedAt, fingerprint, w.stormId ?? null],
      ...[t, w.muteId ?? null],
    ]);
  } else if (w?.op === 'update') {
    const keys = (Object.keys(w.set) as (keyof CardPatch)[]).filter((k) => w.set[k] !== undefined);
    const values = keys.flatMap((k) => (PATCH_COLUMNS[k][1] as (v: unknown) => unknown[])(w.set[k]));
    if (w.expectVersion === undefined && w.expectState === undefined) {
      throw new Error('a card update needs expectVersion or expectState');
    }
    const params: unknown[] = [...values, t, w.alertId];
    const sets = keys.flatMap((k) => PATCH_COLUMNS[k][0]).map((col, i) => `${col} = $${i + 1}`);
    sets.push('version = version + 1', `changed_at = $${values.length + 1}`);
    const where = [`alert_id = $${params.length}`];
    if (w.expectVersion !== undefined) where.push(`version = $${params.push(w.expectVersion)}`);
    if (w.expectState !== undefined) where.push(`state = $${params.push(w.expectState)}`);
    yield* one(`UPDATE cards SET ${sets.join(', ')} WHERE ${where.join(' AND ')}`, params);
  }
  for (const key of ch.dequeue ?? []) yield* one(S.dequeue, [key]);
  if (ch.closeRequest) {
    const r = ch.closeRequest;
    yield* count(S.expireRequests, [r.createdAt, r.alertId]);
    yield* one(S.addRequest, requestParams(r));
  }
  yield* nextMoveChecks(S, ch);
  if (ch.closeRequestTs) yield* count(S.requestTs, [ch.closeRequestTs.ts, ch.closeRequestTs.id]);
  const s = ch.storm;
  if (s?.op === 'open') {
    // An existing id is a no-op; a second open storm in the channel (another leader's, during a
    // hand-over) conflicts.
    if ((yield* count(S.stormOpen, [s.id, s.channel, s.at])) !== 1) yield* one(S.stormExists, [s.id]);
  } else if (s?.op === 'grow') yield* count(S.stormGrow, [s.at, s.cards, s.id]);
  else if (s?.op === 'end') yield* count(S.stormEnd, [s.at, s.id]);
  else if (s?.op === 'posted') yield* count(S.stormPosted, [s.ts, s.id]);
  else if (s?.op === 'tally') yield* count(S.stormTally, [s.tally, s.id]);
  for (const m of ch.members ?? []) {
    const { stormId, alertId, displayId, groupKey, groupName, severity, status, title, createdAt, updatedAt } = m;
    yield* count(S.member, [
      stormId,
      alertId,
      displayId,
      groupKey,
      groupName,
      severity,
      status,
      title,
      createdAt,
      updatedAt,
    ]);
  }
  for (const m of ch.memberStatus ?? []) yield* count(S.memberStatus, [m.status, m.updatedAt, m.stormId, m.alertId]);
  yield* nextMoveWrites(S, ch);
  for (const m of ch.meta ?? []) yield* count(S.setMeta, [m.key, m.value]);
  for (const i of ch.enqueue ?? []) {
    const { key, kind, lane, channel, cardKey, priority, orderAt, payload } = i;
    const values = [key, kind, lane, channel, cardKey, priority, orderAt, payload, t, i.notBefore ?? 0];
    yield* count(S.enqueue, [...values, i.holdMs ?? null]);
  }
  for (const i of ch.settle ?? []) {
    const { key, kind, lane, channel, cardKey, priority, orderAt, payload } = i;
    yield* count(S.settle, [key, kind, lane, channel, cardKey, priority, orderAt, payload, t, i.notBefore ?? 0]);
  }
}

/**
 * The parts of a change for questions, mutes, war rooms and reminders that can conflict: each writes
 * nothing when it does (a mute's count writes its tally only after its member went in), and they come
 * before any write of the change that cannot conflict (see applyAll).
 */
function* nextMoveChecks(S: Sql, ch: Change): Steps<void> {
  const qw = ch.question;
  if (qw?.op === 'ask') yield* one(S.ask, questionParams(qw.q));
  else if (qw?.op === 'answer') yield* one(S.answer, [qw.answer, qw.note, qw.at, qw.id, qw.userId]);
  else if (qw?.op === 'timeout') yield* one(S.timeout, [qw.at, qw.id]);
  const m = ch.mute;
  if (m?.op === 'create') yield* one(S.muteCreate, muteParams(m.m));
  else if (m?.op === 'end') yield* one(S.muteEnd, [m.at, m.by?.id ?? null, m.by?.name ?? null, m.id]);
  else if (m?.op === 'count') {
    yield* one(S.muteMember, [m.id, m.alertId, m.displayId]);
    yield* count(S.muteCounted, [m.id]);
  }
  if (ch.warRoom) yield* one(S.warRoom, warRoomParams(ch.warRoom));
  if (ch.reminder) yield* one(S.reminder, [ch.reminder.n, ch.reminder.cardKey]);
}

/** The next move's writes that never conflict: a question's DM, a member escalated, a mute's message. */
function* nextMoveWrites(S: Sql, ch: Change): Steps<void> {
  const qw = ch.question;
  if (qw?.op === 'dm') yield* count(S.questionDm, [qw.channel, qw.ts, qw.id]);
  const m = ch.mute;
  if (m?.op === 'escalated') {
    if ((yield* count(S.memberEscalated, [m.id, m.alertId])) === 1) yield* count(S.muteEscalated, [m.id]);
  } else if (m?.op === 'posted') yield* count(S.mutePosted, [m.ts, m.id]);
}

/** How many steps of a change can conflict. */
function conflictSteps(ch: Change): number {
  const q = ch.question?.op;
  const m = ch.mute?.op;
  return (
    (ch.card ? 1 : 0) +
    (ch.dequeue?.length ?? 0) +
    (ch.closeRequest ? 1 : 0) +
    (ch.storm?.op === 'open' ? 1 : 0) +
    (q === 'ask' || q === 'answer' || q === 'timeout' ? 1 : 0) +
    (m === 'create' || m === 'end' || m === 'count' ? 1 : 0) +
    (ch.warRoom ? 1 : 0) +
    (ch.reminder ? 1 : 0)
  );
}

/**
 * Each change is atomic: a conflict undoes that change alone. The steps that can conflict come first
 * in applyOne and write nothing when they conflict, so a change needs a savepoint only when a
 * conflict could follow another conflict-capable step that already wrote (e.g. a card write and a
 * dequeue, or two dequeues). Any other error aborts the whole batch.
 */
export function* applyAll(S: Sql, changes: readonly Change[], t: number): Steps<ApplyResult> {
  let applied = 0;
  let conflicts = 0;
  for (const ch of changes) {
    const savepoint = conflictSteps(ch) >= 2;
    if (savepoint) yield* exec('SAVEPOINT change');
    try {
      yield* applyOne(S, ch, t);
      if (savepoint) yield* exec('RELEASE SAVEPOINT change');
      applied++;
    } catch (err) {
      if (!(err instanceof Conflict)) throw err;
      if (savepoint) {
        yield* exec('ROLLBACK TO SAVEPOINT change');
        yield* exec('RELEASE SAVEPOINT change');
      }
      conflicts++;
    }
  }
  return { applied, conflicts };
}

/** The Store methods both engines run alike; each engine adds the few it runs its own way. */
export function sharedStore(e: Engine): Omit<Store, 'getMany' | 'peekMany' | 'claimNext' | 'ping' | 'close'> {
  const S: Sql = { ...SHARED_SQL, ...e.sql };
  const all = async (sql: string, values: readonly unknown[] = []) => (await e.query(sql, values)).rows;
  const first = async (sql: string, values: readonly unknown[]) => (await all(sql, values))[0];
  const affected = async (sql: string, values: readonly unknown[]) => (await e.query(sql, values)).count;
  let onceWrites = 0;
  return {
    async get(alertId) {
      const r = await first(S.get, [alertId]);
      return r ? toRecord(r) : null;
    },
    async getByMessage(channel, ts) {
      const r = await first(S.byMessage, [channel, ts]);
      return r ? toRecord(r) : null;
    },
    async listUnfinishedIds() {
      return (await all(S.unfinishedIds)).map((r) => String(r.alert_id));
    },
    async markSeen(alertId, displayId, status) {
      await affected(S.seen, [alertId, displayId, status, e.clock()]);
    },
    async saveRender(alertId, r) {
      await affected(S.render, [r.status, r.updatedAt, r.fingerprint, r.final, e.clock(), alertId]);
    },
    async setLastAction(alertId, action) {
      await affected(S.lastAction, [action ? JSON.stringify(action) : null, action !== null, e.clock(), alertId]);
    },
    async cardTimes(sinceMs) {
      return (await all(S.cardTimes, [sinceMs])).map((r) => ({
        alertId: String(r.alert_id),
        postedAt: Number(r.posted_at),
        firstActionAt: num(r.first_action_at),
      }));
    },
    async apply(changes) {
      if (changes.length === 0) return { applied: 0, conflicts: 0 };
      const t = e.clock();
      return e.tx(() => applyAll(S, changes, t));
    },
    async touchClaim(key, owner, fence) {
      return (await affected(S.touch, [owner, fence.lease, fence.token, key])) === 1;
    },
    async completeOutbox(key, owner, fence, rev, changes = []) {
      const t = e.clock();
      return e.tx(function* () {
        const [row] = yield* rows(S.ownedRev, [owner, fence.lease, fence.token, key]);
        if (!row) return false;
        yield* applyAll(S, changes, t);
        yield* count(Number(row.rev) === rev ? S.deleteItem : S.requeue, [key]);
        return true;
      });
    },
    async retryOutbox(key, owner, fence, afterMs, unknown) {
      const params = [owner, fence.lease, fence.token, key, Math.max(0, Math.round(afterMs)), unknown];
      return (await affected(S.retry, params)) === 1;
    },
    async outboxDepth() {
      return (await all(S.depth)).map((r) => ({
        channel: String(r.channel),
        lane: String(r.lane) as OutboxItem['lane'],
        count: Number(r.n),
      }));
    },
    async listOutbox(filter = {}) {
      return (await all(S.listOutbox, [filter.channel ?? null, filter.kind ?? null])).map(toItem);
    },
    async activeStorms() {
      return (await all(S.activeStorms)).map(toStorm);
    },
    async getStorm(id) {
      const r = await first(S.getStorm, [id]);
      return r ? toStorm(r) : null;
    },
    async stormMembers(stormId) {
      return (await all(S.members, [stormId])).map(toMember);
    },
    async stormDigest(stormId, limits) {
      const totals = await first(S.digestTotals, [stormId]);
      const groups = [];
      for (const r of await all(S.digestGroups, [stormId, limits.groups])) {
        const key = String(r.key);
        const name = await first(S.groupName, [stormId, key]);
        const examples = (await all(S.groupExamples, [stormId, key, limits.examples])).map((x) => String(x.title));
        const islands = await all(S.groupIslands, [stormId, key, limits.spans]);
        const others = (await all(S.groupOtherIds, [stormId, key, limits.spans])).map((o) => String(o.id));
        groups.push(digestGroup(r, String(name?.group_name ?? ''), examples, idSpans(islands, others, limits.spans)));
      }
      const total = Number(totals?.total ?? 0);
      const live = Number(totals?.live ?? 0);
      const groupCount = Number(totals?.groups ?? 0);
      return {
        total,
        live,
        groupCount,
        groups,
        other: {
          groups: groupCount - groups.length,
          count: total - groups.reduce((n, g) => n + g.count, 0),
          live: live - groups.reduce((n, g) => n + g.live, 0),
        },
      };
    },
    async stormMemberPage(stormId, which, page) {
      const one = 'groupKey' in which;
      const keys = 'groupKey' in which ? [which.groupKey] : [...which.exceptGroups];
      const c = await first(S.pageCount, [stormId, one, keys]);
      const members = (await all(S.page, [stormId, one, keys, page.limit, page.offset])).map(toMember);
      return { total: Number(c?.total ?? 0), live: Number(c?.live ?? 0), groupName: str(c?.group_name), members };
    },
    async stormIdsAfter(stormId, afterSeq, limit) {
      return (await all(S.idsAfter, [stormId, afterSeq, limit])).map((r) => ({
        seq: Number(r.seq),
        displayId: String(r.display_id),
      }));
    },
    async tryLease(name, owner, ttlMs) {
      const row = await first(S.lease, [name, owner, Math.round(ttlMs)]);
      if (row) return { held: true, token: Number(row.token) };
      const cur = await first(S.leaseToken, [name]);
      return { held: false, token: cur ? Number(cur.token) : 0 };
    },
    async releaseLease(name, owner) {
      await affected(S.releaseLease, [name, owner]);
    },
    async claimAction(alertId, owner, ttlMs) {
      return (await affected(S.claimAction, [alertId, owner, Math.round(ttlMs)])) === 1;
    },
    async releaseAction(alertId, owner) {
      await affected(S.releaseAction, [alertId, owner]);
    },
    async firstTime(key, now, ttlMs) {
      if (++onceWrites % 500 === 0) await affected(S.pruneOnce, [now]);
      return (await affected(S.once, [key, now + ttlMs, now])) === 1;
    },
    async forgetFirstTime(key) {
      await affected(S.forgetOnce, [key]);
    },
    async addCloseRequest(r, now) {
      return e.tx(function* () {
        yield* count(S.expireRequests, [now, r.alertId]);
        return (yield* count(S.addRequest, requestParams(r))) === 1;
      });
    },
    async getCloseRequest(id) {
      const r = await first(S.getRequest, [id]);
      return r ? toCloseRequest(r) : null;
    },
    async pendingCloseRequest(alertId) {
      const r = await first(S.pendingRequest, [alertId]);
      return r ? toCloseRequest(r) : null;
    },
    async setCloseRequestTs(id, ts) {
      await affected(S.requestTs, [ts, id]);
    },
    async moveCloseRequest(id, from, to, d) {
      const values = [to, d.by?.id ?? null, d.by?.name ?? null, d.at, d.outcome ?? null, id, from];
      return (await affected(S.moveRequest, values)) === 1;
    },
    async getQuestion(id) {
      const r = await first(S.getQuestion, [id]);
      return r ? toQuestion(r) : null;
    },
    async questionsOf(alertId) {
      return (await all(S.questionsOf, [alertId])).map(toQuestion);
    },
    async dueQuestions(limit) {
      return (await all(S.dueQuestions, [limit])).map(toQuestion);
    },
    async getMute(id) {
      const r = await first(S.getMute, [id]);
      return r ? toMute(r) : null;
    },
    async activeMutes() {
      return (await all(S.activeMutes)).map(toMute);
    },
    async dueMuteEnds(limit) {
      return (await all(S.dueMuteEnds, [limit])).map(toMute);
    },
    async muteMembersAfter(muteId, afterDisplayId, limit) {
      return (await all(S.muteMembersAfter, [muteId, afterDisplayId, limit])).map((r) => ({
        alertId: String(r.alert_id),
        displayId: String(r.display_id),
      }));
    },
    async getWarRoom(alertId) {
      const r = await first(S.getWarRoom, [alertId]);
      return r ? toWarRoom(r) : null;
    },
    async warRoomsOf(alertIds) {
      const out = new Map<string, WarRoom>();
      for (let i = 0; i < alertIds.length; i += e.chunk) {
        for (const r of await all(S.warRoomsOf, [alertIds.slice(i, i + e.chunk)])) {
          const w = toWarRoom(r);
          out.set(w.alertId, w);
        }
      }
      return out;
    },
    async prune({ kind, before, limit, metaPrefixes = [] }) {
      if (kind !== 'cards') {
        const deleted = await affected(e.prune[kind], [before, limit]);
        return { deleted, tables: { [kind]: deleted } };
      }
      return e.tx(function* () {
        const ids = (yield* rows(e.prune.cards, [before, limit])).map((r) => String(r.alert_id));
        const meta =
          ids.length > 0 && metaPrefixes.length > 0 ? yield* count(S.pruneMeta, [[...metaPrefixes], ids]) : 0;
        return { deleted: ids.length, tables: { cards: ids.length, meta } };
      });
    },
    async listQuietIds() {
      return (await all(S.quietIds)).map((r) => ({
        alertId: String(r.alert_id),
        state: String(r.state) as CardState,
      }));
    },
    async getMeta(key) {
      const r = await first(S.getMeta, [key]);
      return r ? String(r.value) : null;
    },
    async setMeta(key, value) {
      await affected(S.setMeta, [key, value]);
    },
  };
}
