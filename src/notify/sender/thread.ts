/**
 * Quiet replies in a card's thread: what is new in the alert's Cotool timeline (thread_note), and
 * what a change made from Slack says there (reply) — or, for a change whose note never came (its
 * process died, Cotool answered late), its held intent, told only if the change was made.
 */
import type { ItemOf, ReplyIntent } from '../../core/outbox.ts';
import type { Change } from '../../core/records.ts';
import { isCotoolNotFound } from '../../cotool/errors.ts';
import type { CotoolClient } from '../../ports.ts';
import { EVENT_TYPES, type SlackView } from '../../ports.ts';
import type { Pacer } from '../pacer.ts';
import {
  cursorMetaKey,
  decodeCursor,
  encodeCursor,
  entriesAfter,
  entriesToTell,
  isAfter,
  sendingMetaKey,
  startCursor,
  type TimelineCursor,
} from '../timeline-relay.ts';
import { type Outcome, type Shared, TIMELINE_MAX_PAGES } from './shared.ts';

/**
 * New timeline entries of a posted card's alert, told in one quiet reply in its thread. The cursor
 * (the last entry told) is saved in the transaction that completes the item; before posting, the
 * note's last entry is noted, so that after a lost answer the note is looked for under its key —
 * and once found there, the cursor is saved at once (a later attempt may fail again before its
 * completion), so no entry is told twice and none is skipped.
 */
export async function sendThreadNote(s: Shared, item: ItemOf<'thread_note'>, pacer: Pacer): Promise<Outcome> {
  const { store, render, cotool, log, clock, complete, retry, backoff } = s;
  const cardKey = item.cardKey ?? '';
  const payload = item.data;
  const mode = s.deps.threadTimeline ?? 'all';
  const rec = await store.get(cardKey);
  if (mode === 'off' || !rec || rec.state !== 'posted' || !rec.ts || !rec.channel) return complete(item);
  const thread = { channel: rec.channel, ts: rec.ts };
  let cursor =
    decodeCursor(await store.getMeta(cursorMetaKey(cardKey))) ?? startCursor(rec.postedAt, payload.since, clock());
  let timeline: Awaited<ReturnType<CotoolClient['listTimeline']>>;
  try {
    timeline = await cotool.listTimeline(payload.alertId, { pageSize: 200, maxPages: TIMELINE_MAX_PAGES });
  } catch (err) {
    if (isCotoolNotFound(err)) return complete(item);
    log.warn({ alertId: payload.alertId, err }, 'could not read the alert timeline from Cotool; will retry');
    return retry(item, backoff(item.attempts), item.unknown);
  }
  let fresh = entriesAfter(timeline.entries, cursor);
  if (item.unknown) {
    // An earlier attempt may have posted a note ending at `sending`: adopt it, tell only what follows.
    const sending = decodeCursor(await store.getMeta(sendingMetaKey(cardKey)));
    if (sending && isAfter(sending, cursor)) {
      const found = await s.lookUp(item, pacer, {
        channel: thread.channel,
        eventType: EVENT_TYPES.note,
        key: `${item.key}:${sending.id}`,
        threadTs: thread.ts,
        oldestMs: 0,
      });
      if ('outcome' in found) return found.outcome;
      if (found.ts) {
        log.info({ alertId: payload.alertId }, 'found the thread note an earlier attempt posted; not again');
        cursor = sending;
        fresh = entriesAfter(fresh, cursor);
        // Saved now, not only with this item's completion: should this attempt fail too (a 429, a
        // crash), the next one starts after what is surely in the thread, and does not tell it again.
        await store.apply([{ meta: [{ key: cursorMetaKey(cardKey), value: encodeCursor(cursor) }] }]);
      }
    }
  }
  const last = fresh.at(-1);
  if (!last) return complete(item, [{ meta: [{ key: cursorMetaKey(cardKey), value: encodeCursor(cursor) }] }]);
  const told: TimelineCursor = { id: last.id, createdAt: last.createdAt };
  const advance: Change = { meta: [{ key: cursorMetaKey(cardKey), value: encodeCursor(told) }] };
  const tell = entriesToTell(fresh, { mode, timeline: timeline.entries, lastAction: rec.lastAction });
  if (tell.length === 0) return complete(item, [advance]);
  await store.setMeta(sendingMetaKey(cardKey), encodeCursor(told));
  const view = render.timelineNote(
    { id: payload.alertId, displayId: rec.displayId, organizationName: payload.organizationName },
    tell,
  );
  const refused = await s.postInThread(item, pacer, view, {
    ...thread,
    broadcast: false,
    eventType: EVENT_TYPES.note,
    alertId: payload.alertId,
    key: `${item.key}:${last.id}`,
  });
  if (refused) return refused;
  s.stats.notices++;
  log.info(
    { alertId: payload.alertId, displayId: rec.displayId, entries: tell.length },
    'timeline told in the card thread',
  );
  return complete(item, [advance]);
}

/** A quiet reply in a card's thread; looked for there before it is sent again. */
export async function sendReply(s: Shared, item: ItemOf<'reply'>, pacer: Pacer): Promise<Outcome> {
  const { log, complete, retry, backoff } = s;
  const p = item.data;
  if (item.unknown) {
    const found = await s.lookUp(item, pacer, {
      channel: item.channel,
      eventType: EVENT_TYPES.note,
      key: item.key,
      threadTs: p.threadTs,
      oldestMs: 0,
    });
    if ('outcome' in found) return found.outcome;
    if (found.ts) return complete(item);
  }
  let view = p.view;
  if (p.intent) {
    // An intent whose change never settled it (its process died, or Cotool answered after the
    // click's claim ran out): tell the change only if it was made.
    const told = await intentOutcome(s, p.alertId, p.intent, p.view);
    if (told === 'retry') return retry(item, backoff(item.attempts), item.unknown);
    if (told === null) return complete(item);
    log.info({ alertId: p.alertId, key: item.key }, 'telling a change from Slack whose note was never queued');
    view = told;
  }
  if (!view) return complete(item);
  const refused = await s.postInThread(item, pacer, view, {
    channel: item.channel,
    ts: p.threadTs,
    broadcast: false,
    eventType: EVENT_TYPES.note,
    alertId: p.alertId,
    key: item.key,
  });
  return refused ?? complete(item);
}

/**
 * Whether an intent's change was made, read from Cotool: the note to tell, null when it was not
 * made (or the alert is gone), 'retry' when Cotool could not be read.
 */
async function intentOutcome(
  s: Shared,
  alertId: string,
  intent: ReplyIntent,
  view: SlackView | undefined,
): Promise<SlackView | null | 'retry'> {
  if (intent.kind === 'note') {
    let listing: Awaited<ReturnType<CotoolClient['listTimeline']>>;
    try {
      listing = await s.cotool.listTimeline(alertId, { pageSize: 200, maxPages: TIMELINE_MAX_PAGES });
    } catch (err) {
      if (isCotoolNotFound(err)) return null;
      s.log.warn({ alertId, err }, 'could not read the alert timeline from Cotool; will retry');
      return 'retry';
    }
    const saved = listing.entries.some((e) => e.kind === 'comment' && e.bodyMarkdown === intent.body);
    if (!saved && listing.truncated) s.log.warn({ alertId }, 'a note not found in a partial timeline is not told');
    return saved && view ? view : null;
  }
  const got = await s.fetchAlert(alertId);
  if (got === null) return 'retry';
  if (got === 'gone' || got.updatedAt === intent.beforeUpdatedAt) return null;
  if (intent.kind === 'edit') {
    if (intent.title && got.title !== intent.title.to) return null;
    if (intent.description !== undefined && (got.description ?? null) !== intent.description) return null;
    return s.render.editReply(got, {
      by: intent.by,
      title: intent.title ? { from: intent.title.from, to: got.title } : null,
      descriptionChanged: intent.description !== undefined,
    });
  }
  if (got.status !== intent.status) return null;
  return s.render.statusReply(got, { by: intent.by, status: intent.status, reason: intent.reason });
}
