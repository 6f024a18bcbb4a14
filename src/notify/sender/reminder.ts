/**
 * Reminders: "nothing waits unseen". A critical or high alert's card comes with reminder 1, held for
 * the route's wait; when it is due, the reminder is said in the card's thread only if nobody has acted
 * on the alert since (no action from Slack, no owner, still open or escalated, still critical or high)
 * and the card is old enough (a card posted late — a storm — waits its full time). Reminder 2 is
 * queued with the first's completion, held the same wait; after it, silence. Each is an outbox row
 * keyed by card and number: sent once across restarts and replicas, looked up after a lost answer.
 */
import { type ItemOf, reminderItem } from '../../core/outbox.ts';
import { MAX_REMINDERS, REMINDED_SEVERITIES } from '../../core/reminders.ts';
import { EVENT_TYPES } from '../../ports.ts';
import type { Pacer } from '../pacer.ts';
import type { Outcome, Shared } from './shared.ts';

export async function sendReminder(s: Shared, item: ItemOf<'reminder'>, pacer: Pacer): Promise<Outcome> {
  const { store, render, log, clock, complete, retry, backoff, metrics } = s;
  const p = item.data;
  const key = item.cardKey ?? '';
  const rec = await store.get(key);
  // No card, someone acted or owns it, or this one was sent already: nothing to remind of.
  if (rec?.state !== 'posted' || !rec.ts || !rec.channel) return complete(item);
  if (rec.firstActionAt !== null || rec.owner !== null || rec.remindersSent >= p.n) return complete(item);
  const dueAt = (rec.postedAt ?? 0) + p.n * p.afterMs;
  if (clock() < dueAt) return retry(item, dueAt - clock(), item.unknown);
  const alert = await s.fetchAlert(p.alertId);
  if (alert === null) return retry(item, backoff(item.attempts), item.unknown);
  if (alert === 'gone') return complete(item);
  if (
    (alert.status !== 'open' && alert.status !== 'escalated') ||
    !REMINDED_SEVERITIES.includes(alert.severity ?? '')
  ) {
    return complete(item);
  }
  const next = p.n < MAX_REMINDERS ? [reminderItem(key, item.channel, { ...p, n: p.n + 1 }, clock())] : [];
  const done = [{ reminder: { cardKey: key, n: p.n }, enqueue: next }];
  if (item.unknown) {
    const found = await s.lookUp(item, pacer, {
      channel: rec.channel,
      eventType: EVENT_TYPES.note,
      key: item.key,
      threadTs: rec.ts,
      oldestMs: 0,
    });
    if ('outcome' in found) return found.outcome;
    if (found.ts) return complete(item, done);
  }
  const view = render.reminder({
    displayId: alert.displayId,
    severity: alert.severity,
    n: p.n,
    waitedMs: clock() - (rec.postedAt ?? clock()),
    oncall: p.oncall,
  });
  const refused = await s.postInThread(item, pacer, view, {
    channel: rec.channel,
    ts: rec.ts,
    broadcast: false,
    eventType: EVENT_TYPES.note,
    alertId: p.alertId,
    key: item.key,
  });
  if (refused) return refused;
  log.info({ alertId: p.alertId, displayId: alert.displayId, n: p.n }, 'reminder sent');
  metrics.remindersSent.inc();
  return complete(item, done);
}
