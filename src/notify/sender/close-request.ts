/**
 * A four-eyes close request's message in the card's thread (close_request), and its redraw once
 * decided (close_request_update).
 */
import { closeRequestUpdateItem, type ItemOf, outboxKey } from '../../core/outbox.ts';
import type { Change } from '../../store/store.ts';
import type { Pacer } from '../pacer.ts';
import { EVENT_TYPES } from '../ports.ts';
import type { Outcome, Shared } from './shared.ts';

/**
 * A four-eyes request's message, in the card's thread (or the alert channel). Its ts is saved as
 * the item completes; after an unknown outcome it is looked for first (it may be visible, and
 * approvable, already). A request decided before its message could have been seen is not posted.
 */
export async function sendCloseRequest(s: Shared, item: ItemOf<'close_request'>, pacer: Pacer): Promise<Outcome> {
  const { store, slack, log, clock, complete, retry } = s;
  const { requestId } = item.data;
  const request = await store.getCloseRequest(requestId);
  if (!request || request.ts || !request.channel) return complete(item);
  const channel = request.channel;
  const saved = (ts: string): Change[] => [
    { closeRequestTs: { id: request.id, ts } },
    // Decided while its message's answer was in doubt: redraw it as it is now.
    ...(request.state !== 'pending'
      ? [{ enqueue: [closeRequestUpdateItem({ id: request.id, alertId: request.alertId, channel }, clock())] }]
      : []),
  ];
  if (item.unknown) {
    const found = await s.lookUp(item, pacer, {
      channel,
      eventType: EVENT_TYPES.closeRequest,
      key: item.key,
      ...(request.threadTs ? { threadTs: request.threadTs } : {}),
      oldestMs: request.createdAt - 120_000,
    });
    if ('outcome' in found) return found.outcome;
    if (found.ts) {
      log.info({ requestId }, 'found the four-eyes request an earlier attempt posted; not posting again');
      return complete(item, saved(found.ts));
    }
  }
  if (request.state !== 'pending') return complete(item);
  if (!s.deps.renderRequest) {
    log.error({ key: item.key }, 'no renderer for four-eyes requests; will retry');
    return retry(item, 30 * s.retryBaseMs, item.unknown);
  }
  const view = s.deps.renderRequest({ request, note: null, now: clock() });
  const sent = await s.write(item, pacer, 'chat.postMessage', () =>
    slack.post({
      ...view,
      channel,
      ...(request.threadTs ? { thread_ts: request.threadTs, reply_broadcast: false } : {}),
      metadata: {
        event_type: EVENT_TYPES.closeRequest,
        event_payload: { alert_id: request.alertId, request_id: request.id, key: item.key },
      },
    }),
  );
  if ('outcome' in sent) return sent.outcome;
  const place = sent.done;
  log.info({ requestId, alertId: request.alertId, ts: place.ts }, 'four eyes: close request posted');
  return complete(item, saved(place.ts));
}

/** A four-eyes request's message redrawn as the request is now (decided: no buttons). */
export async function sendCloseRequestUpdate(
  s: Shared,
  item: ItemOf<'close_request_update'>,
  pacer: Pacer,
): Promise<Outcome> {
  const { store, slack, clock, complete, retry } = s;
  const { requestId } = item.data;
  const request = await store.getCloseRequest(requestId);
  if (!request) return complete(item);
  if (!request.ts || !request.channel) {
    // Not posted yet: it is drawn as it is when it goes (no edit needed then).
    const key = outboxKey.closeRequest(requestId);
    const waiting = (await store.listOutbox({ kind: 'close_request' })).some((i) => i.key === key);
    return waiting ? retry(item, 2_000, false) : complete(item);
  }
  if (!s.deps.renderRequest) return complete(item);
  const view = s.deps.renderRequest({ request, note: null, now: clock() });
  const { channel, ts } = request;
  const r = await s.write(item, pacer, 'chat.update', () => slack.update({ ...view, channel, ts }));
  return 'outcome' in r ? r.outcome : complete(item);
}
