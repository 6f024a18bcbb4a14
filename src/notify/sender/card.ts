/**
 * Cards: a new alert's card (card), its redraws (card_update: the poller's on the update lane, a
 * click's on the interactive lane — one writer, one set of rules), and a copy of a card elsewhere
 * redrawn after a click (card_copy). A redraw drawn from an older version of the alert than the
 * record's is dropped as stale; what the card shows (its fingerprint) is recorded only after Slack
 * took it, compare-and-set on the record's version (a write meanwhile queues a redraw from Cotool).
 */

import { type Alert, isLive } from '../../core/alert.ts';
import { type CardPayload, cardUpdateItem, type ItemOf } from '../../core/outbox.ts';
import { statusToRecord } from '../../core/plan.ts';
import type { CardPatch, CardRecord, Change } from '../../core/records.ts';
import { alertIdOfKey } from '../../core/routes.ts';
import { EVENT_TYPES, type SlackView } from '../../ports.ts';
import type { Pacer } from '../pacer.ts';
import type { Fallback, Outcome, Shared } from './shared.ts';

type CardItem = ItemOf<'card'> | ItemOf<'card_update'>;

/** The alert a card item names: a card claimed by the first release carries no payload (its card key's alert). */
const alertIdOf = (item: CardItem): string => item.data.alertId ?? alertIdOfKey(item.cardKey ?? '');

export async function sendCard(s: Shared, item: ItemOf<'card'>, pacer: Pacer): Promise<Outcome> {
  const { store, slack, render, log, clock, stats, metrics, complete, retry, failed, fellBack, backoff } = s;
  const key = item.cardKey ?? '';
  const rec = await store.get(key);
  const alertId = alertIdOf(item);
  if (!rec) return complete(item);
  if (rec.state === 'posted') return updateCard(s, item, rec, pacer);
  if (rec.state !== 'queued') return complete(item);
  let alert: Alert | undefined = item.data.alert;
  const refreshed = item.data.refresh === true || !alert;
  if (refreshed) {
    const got = await s.fetchAlert(alertId);
    if (got === null) return retry(item, backoff(item.attempts), false);
    if (got === 'gone') {
      log.info({ alertId }, 'alert deleted in Cotool before its card was posted');
      return complete(item, [
        { card: { op: 'update', alertId: key, expectState: 'queued', set: { state: 'seen', final: true } } },
      ]);
    }
    alert = got;
  }
  const a = alert as Alert;
  const rendered = refreshed
    ? { status: a.status, updatedAt: a.updatedAt, fingerprint: render.fingerprint(a, rec), final: !isLive(a.status) }
    : {};
  const posted = (channel: string, ts: string): Change => ({
    card: {
      op: 'update',
      alertId: key,
      expectState: 'queued',
      set: { state: 'posted', channel, ts, postedAt: clock(), ...rendered },
    },
  });
  /** Once the card is recorded posted, whoever waits for it hears (a route that asks its user). */
  const announced = (outcome: Outcome, channel: string, ts: string): Outcome => {
    if (outcome === 'sent') s.deps.onCardPosted?.({ cardKey: key, alert: a, channel, ts });
    return outcome;
  };
  if (item.unknown) {
    let ts: string | null;
    try {
      const found = await slack.findMessage({
        channel: item.channel,
        eventType: EVENT_TYPES.card,
        key: item.key,
        alertId,
        oldestMs: item.createdAt - 120_000,
      });
      if (found === 'unknown') return s.lookUpUnfinished(item);
      ts = found === 'absent' ? null : found.found;
    } catch (err) {
      const f = slack.classify(err, item.channel);
      if (f.code !== 'missing_scope') return failed(item, err, pacer, 'conversations.history');
      // Without the history scope the card cannot be looked for: post rather than lose the alert.
      ts = null;
    }
    if (ts) {
      log.info({ alertId, ts }, 'found the card an earlier attempt posted; not posting again');
      // What it shows may be older than the alert: redraw it.
      const redraw = { ...cardUpdateItem(key, item.channel, alertId, a, clock()), priority: item.priority };
      return announced(await complete(item, [posted(item.channel, ts), { enqueue: [redraw] }]), item.channel, ts);
    }
  }
  const cardPost = async (view: SlackView, fallback?: Fallback, refusedWith?: string): Promise<Outcome> => {
    const sent = await s.write(
      item,
      pacer,
      'chat.postMessage',
      () =>
        slack.post({
          ...view,
          channel: item.channel,
          metadata: {
            event_type: EVENT_TYPES.card,
            event_payload: { alert_id: a.id, display_id: a.displayId, key: item.key },
          },
        }),
      fallback,
    );
    if ('outcome' in sent) return sent.outcome;
    const place = sent.done;
    log.info({ alertId: a.id, displayId: a.displayId, channel: place.channel, ts: place.ts }, 'card posted');
    stats.posted++;
    metrics.cardsPosted.inc();
    if (refusedWith) fellBack(item, refusedWith);
    // The minimal card carries the card's metadata: found again after a crash, updated later.
    return announced(await complete(item, [posted(place.channel, place.ts)]), place.channel, place.ts);
  };
  return cardPost(render.card(a, rec), (code) => cardPost(render.minimalCard(a), undefined, code));
}

export async function sendCardUpdate(s: Shared, item: ItemOf<'card_update'>, pacer: Pacer): Promise<Outcome> {
  const rec = await s.store.get(item.cardKey ?? '');
  if (!rec) return s.complete(item);
  return updateCard(s, item, rec, pacer);
}

async function updateCard(s: Shared, item: CardItem, rec: CardRecord, pacer: Pacer): Promise<Outcome> {
  const { slack, render, complete, retry, fellBack, backoff } = s;
  if (rec.state !== 'posted' || !rec.ts || !rec.channel) return complete(item);
  const payload = item.data;
  let alert = payload.alert ?? null;
  if (payload.refresh || !alert) {
    const got = await s.fetchAlert(alertIdOf(item));
    if (got === null) return retry(item, backoff(item.attempts), false);
    alert = got === 'gone' ? null : got;
  }
  if (alert && !payload.refresh) {
    // Drawn from an older version of the alert than the card's record (a click redrew, or recorded,
    // a newer one meanwhile): stale, nothing to do.
    const tNew = Date.parse(alert.updatedAt);
    const tRec = rec.updatedAt ? Date.parse(rec.updatedAt) : Number.NaN;
    if (!Number.isNaN(tNew) && !Number.isNaN(tRec) && tNew < tRec) return complete(item);
  }
  // No alert: it was deleted in Cotool, and the card says so.
  const view = alert ? render.card(alert, rec) : render.gone(rec);
  const set: CardPatch = alert
    ? {
        ...statusPatch(alert, rec),
        updatedAt: alert.updatedAt,
        fingerprint: render.fingerprint(alert, rec),
        final: !isLive(alert.status),
      }
    : { status: 'deleted', final: true };
  const channel = rec.channel;
  const ts = rec.ts;
  const updated = () => recordUpdate(s, item, rec, payload, set, channel);
  const cardUpdate = async (v: SlackView, fallback?: Fallback): Promise<Outcome | null> => {
    const r = await s.write(item, pacer, 'chat.update', () => slack.update({ ...v, channel, ts }), fallback);
    return 'outcome' in r ? r.outcome : null;
  };
  // Refused for its content: the minimal card (status, no buttons) — a closed alert shows closed.
  const minimal = alert
    ? async (code: string) => {
        const refused = await cardUpdate(render.minimalCard(alert));
        if (refused) return refused;
        fellBack(item, code);
        return updated();
      }
    : undefined;
  const refused = await cardUpdate(view, minimal);
  return refused ?? updated();
}

/** The status a redraw records (none for an escalation the poller has yet to announce: see statusToRecord). */
function statusPatch(alert: Alert, rec: CardRecord): CardPatch {
  const status = statusToRecord(alert, rec);
  return status === null ? {} : { status };
}

/** Records a card update that Slack took. */
async function recordUpdate(
  s: Shared,
  item: CardItem,
  rec: CardRecord,
  payload: CardPayload,
  set: CardPatch,
  channel: string,
): Promise<Outcome> {
  s.stats.updated++;
  s.metrics.cardsUpdated.inc();
  const now = await s.store.get(rec.alertId);
  const changes: Change[] = [{ card: { op: 'update', alertId: rec.alertId, expectVersion: rec.version, set } }];
  if (now && now.version !== rec.version && !payload.refresh) {
    // Someone (a click) wrote the card while this update was on its way and may have been drawn
    // over: redraw from Cotool's current state.
    const redraw = cardUpdateItem(rec.alertId, channel, alertIdOf(item), null, s.clock());
    changes.push({ enqueue: [{ ...redraw, lane: item.lane, priority: item.priority }] });
  }
  return s.complete(item, changes);
}

/** A copy of a card elsewhere (a routed copy, a lookup answer), redrawn as the click drew it. */
export async function sendCardCopy(s: Shared, item: ItemOf<'card_copy'>, pacer: Pacer): Promise<Outcome> {
  const r = await s.write(item, pacer, 'chat.update', () =>
    s.slack.update({ ...item.data.view, channel: item.channel, ts: item.data.ts }),
  );
  return 'outcome' in r ? r.outcome : s.complete(item);
}
