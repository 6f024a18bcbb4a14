/**
 * The steps every change from Slack takes (a status change, an edit): who may act, one change per
 * alert at a time (its claim), read the alert, refuse a change drawn from an older version, hold the
 * change's thread note as an intent, write — re-reading when the answer is lost — then record who did
 * it and redraw the card through the outbox (card-sync.ts), and settle the note.
 */
import { randomUUID } from 'node:crypto';
import type { Alert, TimelineEntry } from '../core/alert.ts';
import { intentGraceMs, intentItem, type ReplyIntent } from '../core/outbox.ts';
import type { CardRecord, LastAction } from '../core/records.ts';
import { newRef } from '../core/text.ts';
import { isCotoolError } from '../cotool/errors.ts';
import type { Logger } from '../log.ts';
import type { SlackView, WriteMeta } from '../ports.ts';
import {
  type Actor,
  authorize,
  type CardSync,
  CLAIM_TTL_MS,
  cotoolFailure,
  fetchAlert,
  knownDisplayId,
  mergeWritten,
  noteThread,
  type Place,
  syncCard,
  type TriageDeps,
  type TriageFailure,
  whoSet,
  withClaim,
  withoutTimeline,
} from './card-sync.ts';

/** What every change from Slack names: the alert, the version it was drawn from, who, and where. */
export type ChangeInput = {
  /** The alert's id as carried in the button or form (UUID or display id). */
  alertId: string;
  /** The alert's `updatedAt` the card (or form) was drawn from. */
  expectedUpdatedAt: string;
  userId: string;
  /** The channel message the click came from, when it is one (it is redrawn too if it is not the stored card). */
  clicked?: Place | null;
  /**
   * The interaction's stable id (the redelivery key): names the change's intent and thread note, so
   * a redelivery or a retry never makes a second one. Absent: a fresh id.
   */
  clickId?: string | null;
};

/** What every change that went through answers with (each use-case adds its own fields). */
export type ChangeSuccess = {
  ok: true;
  alert: Alert;
  /** The card as it is now (for an ephemeral copy, e.g. a lookup answer). */
  view: SlackView;
  actor: Actor;
  /** The write's answer was lost; re-reading the alert showed the change had been made. */
  confirmedByReread: boolean;
  /** null: the alert has no channel card (or nothing was sent); false: Slack refused the update. */
  cardUpdated: boolean | null;
};

/** The alert as read while holding its claim, and who is changing it. */
export type ChangeStart = {
  actor: Actor;
  before: Alert;
  timeline: TimelineEntry[];
  record: CardRecord | null;
  clicked: Place | null;
};

/** A change from Slack as `runChange` runs it: what each use-case words and does differently. */
export type ChangeSteps<I extends ChangeInput, T> = {
  /** Names the change in log lines ("status change"). */
  what: string;
  /** A stale refusal names the status the card showed, when the stored card was drawn from the version the click expected. */
  staleBefore?: boolean;
  /** Logs the refusal of a change drawn from an older version of the alert. */
  logStale: (input: I, alert: Alert, actor: Actor) => void;
  /** The change itself, holding the alert's claim, on the alert as it was read. */
  change: (input: I, start: ChangeStart) => Promise<T>;
};

/**
 * How every change from Slack starts: access → claim the alert → read it → refuse, redrawing the
 * card, if it changed since the card (or form) was drawn. `steps.change` then runs holding the
 * claim, which is released after it.
 */
export async function runChange<I extends ChangeInput, T>(
  deps: TriageDeps,
  input: I,
  steps: ChangeSteps<I, T>,
): Promise<T | TriageFailure> {
  const auth = await authorize(deps, input.userId);
  if (!auth.ok) return auth;
  const actor = auth.actor;
  const displayId = await knownDisplayId(deps, input.alertId);

  return withClaim(deps, input.alertId, displayId, async (): Promise<T | TriageFailure> => {
    const got = await fetchAlert(deps, input.alertId, displayId, steps.what);
    if (!got.ok) return got;
    const { alert: before, timeline, record } = got;
    const clicked = input.clicked ?? null;

    if (before.updatedAt !== input.expectedUpdatedAt) {
      const sync = await syncCard(deps, before, { clicked });
      steps.logStale(input, before, actor);
      return {
        ok: false,
        code: 'stale',
        displayId: before.displayId,
        alert: before,
        view: sync.view,
        before: steps.staleBefore && record?.updatedAt === input.expectedUpdatedAt ? record.status : null,
        by: whoSet(before.status, record, timeline),
      };
    }
    return steps.change(input, { actor, before, timeline, record, clicked });
  });
}

export type Written<W> = { ok: true; written: W; confirmedByReread: boolean };

/**
 * Sends a write. A timeout or 5xx may have applied, so a lost answer is checked by re-reading the
 * alert: when `reread.applied(now)`, the write went through and `reread.answer(now)` stands for its
 * answer; otherwise the write's failure is reported. The re-read failing too: the outcome is unknown.
 */
export async function writeOrReread<W>(
  deps: TriageDeps,
  log: Logger,
  before: Alert,
  what: string,
  write: () => Promise<W>,
  reread: { applied: (now: Alert) => boolean; answer: (now: Alert) => W },
): Promise<Written<W> | TriageFailure> {
  try {
    return { ok: true, written: await write(), confirmedByReread: false };
  } catch (err) {
    if (!isCotoolError(err) || !err.mayHaveApplied()) return cotoolFailure(log, err, before.displayId, what);
    // The answer was lost, not necessarily the change: look before telling anyone anything.
    let now: Alert;
    try {
      now = withoutTimeline(await deps.cotool.getAlert(before.id));
    } catch (rereadErr) {
      if (!isCotoolError(rereadErr)) throw rereadErr;
      const ref = newRef();
      log.error(
        { ref, alertId: before.id, err: err.toLog(), reread: rereadErr.toLog() },
        `${what}: Cotool did not answer and the alert could not be re-read; outcome unknown`,
      );
      return { ok: false, code: 'unknown_outcome', displayId: before.displayId, ref };
    }
    if (!reread.applied(now)) {
      const failure = cotoolFailure(log, err, before.displayId, `${what} (re-read: not applied yet)`);
      return 'error' in failure ? { ...failure, mayStillApply: true } : failure;
    }
    log.warn({ alertId: before.id, err: err.toLog() }, `${what}: the answer was lost but re-reading shows it applied`);
    return { ok: true, written: reread.answer(now), confirmedByReread: true };
  }
}

/**
 * The alert after a write: its answer completed from the alert read before (`mergeWritten`, with
 * the fields the write `decided`), or re-read when the answer lacked required fields. `change` names
 * the write in the log line when that re-read fails.
 */
export async function afterWrite(
  deps: TriageDeps,
  log: Logger,
  before: Alert,
  written: { alert: Alert } & WriteMeta,
  decided: Partial<Alert>,
  change: string,
): Promise<Alert> {
  if (!written.alertComplete) {
    try {
      return withoutTimeline(await deps.cotool.getAlert(before.id));
    } catch (err) {
      log.warn({ alertId: before.id, err }, `could not re-read the alert after its ${change}; using the answer`);
    }
  }
  return mergeWritten(before, written.alert, decided);
}

/**
 * A change that went through: redraws the card from `after`, remembering who did it (`action`) and
 * when, and notes it in the card's thread (`reply`); then `logDone` logs it and `onChanged` is told.
 */
export async function finishChange(
  deps: TriageDeps,
  after: Alert,
  actor: Actor,
  opts: {
    clicked: Place | null;
    action: Pick<LastAction, 'kind' | 'status'>;
    reply: SlackView;
    logDone: () => void;
    /** The note intent this change's note replaces. */
    replaces?: string | null;
    /** "I'll take it": who now owns the alert's card. */
    owner?: Actor;
  },
): Promise<CardSync> {
  const at = new Date(deps.clock()).toISOString();
  const sync = await syncCard(deps, after, {
    clicked: opts.clicked,
    ...(opts.owner ? { owner: opts.owner } : {}),
    lastAction: { by: actor, ...opts.action, at },
    reply: opts.reply,
    replaces: opts.replaces ?? null,
  });
  opts.logDone();
  deps.onChanged?.({ alert: after, userId: actor.id });
  return sync;
}

/**
 * Before a change from Slack goes to Cotool: a held intent in the outbox, keyed by the click, so a
 * process that dies between Cotool's answer and queueing the card's thread note, or a Cotool that
 * answers after the grace, does not lose the note (the sender finishes the intent once the click's
 * claim has surely run out: it posts the note if the change was made). The key is returned even when
 * the store's answer was lost (the intent may be there): the note settles it by key either way.
 * Null when the alert has no card.
 */

export async function holdIntent(
  deps: TriageDeps,
  start: ChangeStart,
  clickId: string | null | undefined,
  intent: ReplyIntent,
): Promise<string | null> {
  const thread = noteThread(start.record, start.clicked);
  if (!thread) return null;
  const item = intentItem({
    clickId: clickId || randomUUID(),
    channel: thread.channel,
    threadTs: thread.ts,
    alertId: start.before.id,
    intent,
    now: deps.clock(),
    graceMs: intentGraceMs(deps.claimTtlMs ?? CLAIM_TTL_MS),
  });
  try {
    await deps.store.apply([{ enqueue: [item] }]);
  } catch (err) {
    deps.logger.warn({ alertId: start.before.id, err }, 'could not hold the thread note of a change (it may be held)');
  }
  return item.key;
}

/** The change was surely not made: its intent goes (unless the sender is finishing it: it will drop it). */
/** Whether a failed write's intent must stay (its outcome is unknown, or Cotool may still apply it). */
export function keepsIntent(f: TriageFailure): boolean {
  return f.code === 'unknown_outcome' || ('mayStillApply' in f && f.mayStillApply === true);
}

export async function dropIntent(deps: TriageDeps, key: string | null): Promise<void> {
  if (!key) return;
  await deps.store.apply([{ dequeue: [key] }]).catch(() => undefined);
}
