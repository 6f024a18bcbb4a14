/**
 * Planning under mutes: which new alerts of a poll are held back by a mute of their detection in
 * their channel, and what that writes — the alert's record (state `muted`, no card), the count in
 * the mute, a redraw of the mute's one quiet message, and the alert's id in an id-list reply in that
 * message's thread (so every id held back is findable in Slack). A muted alert that escalates later
 * gets its card and counts as escalated in the mute's tally. Pure: the caller's clock, no I/O.
 *
 * Every write here is one atomic `Change` per alert: the record insert conflicts when another
 * planner recorded the alert first, and the count conflicts when the mute ended meanwhile (an Unmute
 * won the race) — then nothing of it applies, and the next poll gives the alert its card.
 */
import type { Alert } from '../core/alert.ts';
import type { Change, NewOutboxItem } from '../core/records.ts';
import { type BreakThrough, type Mute, mutedBy } from './mutes.ts';
import { muteIdsItem, muteUpdateItem } from './outbox.ts';

/** A mute as planning reads it (the store's record has more): `muted` counts the alerts held back so far. */
export type PlanMute = Mute & { muted?: number };

/** At most this many ids in one id-list reply (about 1,500 characters of code spans). */
export const MUTE_IDS_PER_REPLY = 100;

type Muteable = Pick<Alert, 'status' | 'severity' | 'detection' | 'displayId' | 'updatedAt'>;

/**
 * The muting of one poll (or one page of it): decides per new alert, and keeps the id lists of what
 * it held back. Each held-back alert's change carries the id-list reply of its chunk with every id
 * of the chunk so far (same key: the last one applied holds them all, and a page's changes are
 * applied together), so an alert is never listed before it is counted.
 */
export function createMutePlanner(mutes: readonly PlanMute[], now: number) {
  const lists = new Map<string, { ids: string[]; from: number }>();
  const counted = new Map<string, number>();

  function listFor(mute: PlanMute, displayId: string): NewOutboxItem {
    let list = lists.get(mute.id);
    if (!list || list.ids.length >= MUTE_IDS_PER_REPLY) {
      const before = (mute.muted ?? 0) + (counted.get(mute.id) ?? 0);
      list = { ids: [], from: before + 1 };
      lists.set(mute.id, list);
    }
    list.ids.push(displayId);
    counted.set(mute.id, (counted.get(mute.id) ?? 0) + 1);
    return muteIdsItem(mute, list.ids, list.from, now);
  }

  return {
    /**
     * A new alert (no record) for `channel`, with the card key it would have: the change that holds
     * it back, or null when it gets its card (no mute holds, the mute has run out, or it breaks through).
     */
    hold(alert: Muteable, key: string, channel: string, breakThrough: BreakThrough): Change | null {
      const mute = mutedBy(alert, channel, mutes, now, breakThrough) as PlanMute | null;
      if (!mute) return null;
      return {
        card: {
          op: 'insert',
          alertId: key,
          displayId: alert.displayId,
          state: 'muted',
          channel,
          status: alert.status,
          updatedAt: alert.updatedAt,
          fingerprint: null,
          muteId: mute.id,
        },
        mute: { op: 'count', id: mute.id, alertId: key, displayId: alert.displayId },
        enqueue: [muteUpdateItem(mute, now), listFor(mute, alert.displayId)],
      };
    },

    /**
     * A held-back alert (record `muted`) that is escalated now: `card` when it gets its card (counted
     * as escalated with it: `escalatedParts`), `stay` with the change that counts it as escalated
     * while it stays held back (the route lets no escalated alert through and the mute still holds),
     * or `none` when nothing is to be done (it was escalated already when last seen).
     */
    escalated(
      alert: Muteable,
      record: {
        alertId: string;
        version: number;
        status: string | null;
        muteId: string | null;
        channel: string | null;
      },
      breakThrough: BreakThrough,
    ): { do: 'card' } | { do: 'stay'; change: Change } | { do: 'none' } {
      if (alert.status !== 'escalated' || record.status === 'escalated') return { do: 'none' };
      const mute = record.muteId ? mutes.find((m) => m.id === record.muteId) : undefined;
      const stillHeld =
        !breakThrough.escalated && mute !== undefined && mute.endedAt === null && now < mute.until && !!record.channel;
      if (!stillHeld || !mute) return { do: 'card' };
      return {
        do: 'stay',
        change: {
          card: {
            op: 'update',
            alertId: record.alertId,
            expectVersion: record.version,
            set: { status: alert.status, updatedAt: alert.updatedAt },
          },
          mute: { op: 'escalated', id: mute.id, alertId: record.alertId },
          enqueue: [muteUpdateItem(mute, now)],
        },
      };
    },
  };
}

export type MutePlanner = ReturnType<typeof createMutePlanner>;

/**
 * What a card change adds for an alert that was held back by mute `muteId` and gets its card now
 * (it escalated): the mute counts it as escalated, and its quiet message is redrawn.
 */
export function escalatedParts(
  muteId: string,
  channel: string,
  key: string,
  now: number,
): Pick<Change, 'mute'> & { enqueue: NewOutboxItem[] } {
  return {
    mute: { op: 'escalated', id: muteId, alertId: key },
    enqueue: [muteUpdateItem({ id: muteId, channel }, now)],
  };
}
