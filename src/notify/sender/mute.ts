/**
 * A mute's messages in its channel: its one message — the announcement of who muted what until
 * when and why, which is also the quiet counter of the alerts held back (mute_message, its ts saved
 * with the mute's 'posted' write) — redrawn from the mute's counts as alerts are held back and when
 * it ends (mute_update); the id lists of the alerts held back, replies in its thread (mute_ids); and
 * the announcement that it ended, with the tally (mute_message with `end`). Each post carries the
 * metadata it is found by again, and is looked for before it is sent again after an unknown outcome.
 */
import { type ItemOf, outboxKey } from '../../core/outbox.ts';
import type { Change } from '../../core/records.ts';
import { EVENT_TYPES, type MuteRenderer } from '../../ports.ts';
import type { Pacer } from '../pacer.ts';
import type { Outcome, Shared } from './shared.ts';

/** How long before its mute a message may have been posted (a look-up reads from there). */
const LOOKBACK_MS = 120_000;

function renderer(s: Shared): MuteRenderer {
  const r = s.deps.renderMute;
  if (!r) throw new Error('no renderer for mute messages');
  return r;
}

export async function sendMuteMessage(s: Shared, item: ItemOf<'mute_message'>, pacer: Pacer): Promise<Outcome> {
  const { store, slack, log, complete } = s;
  const { muteId, end } = item.data;
  const m = await store.getMute(muteId);
  if (!m) return complete(item);
  if (!end && m.ts) return complete(item);
  const eventType = end ? EVENT_TYPES.muteEnd : EVENT_TYPES.mute;
  const posted = (ts: string): Change[] => (end ? [] : [{ mute: { op: 'posted', id: m.id, ts } }]);
  if (item.unknown) {
    const found = await s.lookUp(item, pacer, {
      channel: m.channel,
      eventType,
      key: item.key,
      oldestMs: (end ? (m.endedAt ?? m.until) : m.createdAt) - LOOKBACK_MS,
    });
    if ('outcome' in found) return found.outcome;
    if (found.ts) {
      log.info({ muteId, end: end === true }, 'found the mute message an earlier attempt posted; not posting again');
      return complete(item, posted(found.ts));
    }
  }
  const view = end ? renderer(s).ended(m) : renderer(s).message(m);
  const sent = await s.write(item, pacer, 'chat.postMessage', () =>
    slack.post({
      ...view,
      channel: m.channel,
      metadata: { event_type: eventType, event_payload: { mute_id: m.id, key: item.key } },
    }),
  );
  if ('outcome' in sent) return sent.outcome;
  log.info({ muteId, channel: m.channel, ts: sent.done.ts }, end ? 'mute end announced' : 'mute announced');
  return complete(item, posted(sent.done.ts));
}

export async function sendMuteUpdate(s: Shared, item: ItemOf<'mute_update'>, pacer: Pacer): Promise<Outcome> {
  const { store, slack, complete, retry } = s;
  const m = await store.getMute(item.data.muteId);
  if (!m) return complete(item);
  if (!m.ts) {
    // Not out yet: it is drawn from the mute as it is when it goes (no edit needed then).
    const waiting = (await store.listOutbox({ kind: 'mute_message' })).some((i) => i.key === outboxKey.mute(m.id));
    return waiting ? retry(item, 2_000, false) : complete(item);
  }
  const ts = m.ts;
  const r = await s.write(item, pacer, 'chat.update', () =>
    slack.update({ ...renderer(s).message(m), channel: m.channel, ts }),
  );
  return 'outcome' in r ? r.outcome : complete(item);
}

export async function sendMuteIds(s: Shared, item: ItemOf<'mute_ids'>, pacer: Pacer): Promise<Outcome> {
  const { store, slack, log, complete, retry } = s;
  const p = item.data;
  const m = await store.getMute(p.muteId);
  if (!m) return complete(item);
  // Its thread is the mute's message: wait until that is out.
  if (!m.ts) return retry(item, 2_000, item.unknown);
  const thread = { channel: m.channel, ts: m.ts };
  if (item.unknown) {
    const found = await s.lookUp(item, pacer, {
      channel: thread.channel,
      eventType: EVENT_TYPES.muteIds,
      key: item.key,
      threadTs: thread.ts,
      oldestMs: 0,
    });
    if ('outcome' in found) return found.outcome;
    if (found.ts) {
      log.info({ muteId: m.id, key: item.key }, 'found the id list an earlier attempt posted; not posting again');
      return complete(item);
    }
  }
  const r = await s.write(item, pacer, 'chat.postMessage', () =>
    slack.post({
      ...renderer(s).ids(m, p.ids, p.from),
      channel: thread.channel,
      thread_ts: thread.ts,
      reply_broadcast: false,
      metadata: { event_type: EVENT_TYPES.muteIds, event_payload: { mute_id: m.id, key: item.key } },
    }),
  );
  return 'outcome' in r ? r.outcome : complete(item);
}
