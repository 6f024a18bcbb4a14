/**
 * A storm's messages: its digest (digest), redrawn as the storm grows (digest_update), and the
 * id-list replies in its thread that list every member's id once (digest_ids, queued as the digest
 * item completes, with the mark of how far members are listed).
 */
import {
  decodeIdListMark,
  digestIdsItem,
  encodeIdListMark,
  type ItemOf,
  idListMetaKey,
  outboxKey,
} from '../../core/outbox.ts';
import type { Change, NewOutboxItem, Storm } from '../../store/store.ts';
import { DIGEST_LIMITS } from '../digest.ts';
import type { Pacer } from '../pacer.ts';
import { EVENT_TYPES, type SlackView } from '../ports.ts';
import type { Fallback, Outcome, Shared } from './shared.ts';

/** Storm members' ids read per page when queueing id-list replies. */
const ID_PAGE = 2_000;

export async function sendDigest(s: Shared, item: ItemOf<'digest'>, pacer: Pacer): Promise<Outcome> {
  const { store, slack, render, log, clock, complete } = s;
  const { stormId } = item.data;
  const storm = await store.getStorm(stormId);
  if (!storm || storm.ts) return complete(item);
  if (item.unknown) {
    const found = await s.lookUp(item, pacer, {
      channel: storm.channel,
      eventType: EVENT_TYPES.digest,
      key: item.key,
      oldestMs: storm.startedAt - 120_000,
    });
    if ('outcome' in found) return found.outcome;
    const ts = found.ts;
    if (ts) return complete(item, [{ storm: { op: 'posted', id: stormId, ts } }, ...(await idListChanges(s, storm))]);
  }
  const digestPost = async (view: SlackView, fallback?: Fallback, refusedWith?: string): Promise<Outcome> => {
    const sent = await s.write(
      item,
      pacer,
      'chat.postMessage',
      () =>
        slack.post({
          ...view,
          channel: storm.channel,
          metadata: { event_type: EVENT_TYPES.digest, event_payload: { storm_id: stormId, key: item.key } },
        }),
      fallback,
    );
    if ('outcome' in sent) return sent.outcome;
    const place = sent.done;
    log.info({ stormId, channel: storm.channel, ts: place.ts }, 'storm digest posted');
    s.stats.digests++;
    if (refusedWith) s.fellBack(item, refusedWith);
    return complete(item, [{ storm: { op: 'posted', id: stormId, ts: place.ts } }, ...(await idListChanges(s, storm))]);
  };
  const view = render.digest(storm, await store.stormDigest(stormId, DIGEST_LIMITS), clock());
  return digestPost(view, async (code) => digestPost(await minimalDigest(s, storm), undefined, code));
}

export async function sendDigestUpdate(s: Shared, item: ItemOf<'digest_update'>, pacer: Pacer): Promise<Outcome> {
  const { store, slack, render, clock, complete, retry } = s;
  const { stormId } = item.data;
  const storm = await store.getStorm(stormId);
  if (!storm) return complete(item);
  if (!storm.ts) {
    // The digest is not out yet (it is drawn from the store when it goes: no edit needed then).
    const waiting = (await store.listOutbox({ kind: 'digest' })).some((i) => i.key === outboxKey.digest(stormId));
    return waiting ? retry(item, 2_000, false) : complete(item);
  }
  const ts = storm.ts;
  const digestUpdate = async (view: SlackView, fallback?: Fallback, refusedWith?: string): Promise<Outcome> => {
    const r = await s.write(
      item,
      pacer,
      'chat.update',
      () => slack.update({ ...view, channel: storm.channel, ts }),
      fallback,
    );
    if ('outcome' in r) return r.outcome;
    if (refusedWith) s.fellBack(item, refusedWith);
    return complete(item, await idListChanges(s, storm));
  };
  const view = render.digest(storm, await store.stormDigest(stormId, DIGEST_LIMITS), clock());
  return digestUpdate(view, async (code) => digestUpdate(await minimalDigest(s, storm), undefined, code));
}

/**
 * An id-list reply in a digest's thread (drawn when it was queued). Looked for there by its key
 * before it is sent again, so each is posted once.
 */
export async function sendDigestIds(s: Shared, item: ItemOf<'digest_ids'>, pacer: Pacer): Promise<Outcome> {
  const { store, slack, log, complete, retry } = s;
  const p = item.data;
  const storm = await store.getStorm(p.stormId);
  if (!storm) return complete(item);
  if (!storm.ts) return retry(item, 2_000, item.unknown); // queued with the digest's ts: not expected
  const thread = { channel: storm.channel, ts: storm.ts };
  if (item.unknown) {
    const found = await s.lookUp(item, pacer, {
      channel: thread.channel,
      eventType: EVENT_TYPES.digestIds,
      key: item.key,
      threadTs: thread.ts,
      oldestMs: 0,
    });
    if ('outcome' in found) return found.outcome;
    if (found.ts) {
      log.info({ stormId: p.stormId, n: p.n }, 'found the id list an earlier attempt posted; not posting again');
      return complete(item);
    }
  }
  const r = await s.write(item, pacer, 'chat.postMessage', () =>
    slack.post({
      ...p.view,
      channel: thread.channel,
      thread_ts: thread.ts,
      reply_broadcast: false,
      metadata: { event_type: EVENT_TYPES.digestIds, event_payload: { storm_id: p.stormId, key: item.key } },
    }),
  );
  return 'outcome' in r ? r.outcome : complete(item);
}

/**
 * Id-list replies for the storm's members not listed yet (every id, one by one, in the digest's
 * thread), and the new mark: queued with the digest item that is completing, so each member is
 * listed once. Read page by page; a storm of any size holds only the replies' text.
 */
async function idListChanges(s: Shared, storm: { id: string; channel: string }): Promise<Change[]> {
  const { store, render } = s;
  const key = idListMetaKey(storm.id);
  const mark = decodeIdListMark(await store.getMeta(key));
  const items: NewOutboxItem[] = [];
  let buf: { seq: number; displayId: string }[] = [];
  let after = mark.seq;
  let more = true;
  let { listed, chunks } = mark;
  let seq = mark.seq;
  const now = s.clock();
  for (;;) {
    const ids = buf.map((x) => x.displayId);
    const fit = ids.length ? render.idListFits(ids) : 0;
    if (more && fit >= buf.length) {
      // Everything read so far fits in one reply: read on (the buffer stays within a reply's size).
      const page = await store.stormIdsAfter(storm.id, after, ID_PAGE);
      more = page.length === ID_PAGE;
      buf = buf.concat(page);
      after = page.at(-1)?.seq ?? after;
      continue;
    }
    if (buf.length === 0) break;
    const part = ids.slice(0, fit);
    items.push(digestIdsItem(storm, chunks, render.idList(part, listed + 1), now));
    seq = buf[fit - 1]?.seq ?? seq;
    buf = buf.slice(fit);
    listed += part.length;
    chunks++;
  }
  if (items.length === 0) return [];
  return [{ enqueue: items, meta: [{ key, value: encodeIdListMark({ seq, listed, chunks }) }] }];
}

/** The storm's minimal digest (when Slack refuses the full one for its content). */
async function minimalDigest(s: Shared, storm: Storm): Promise<SlackView> {
  // Bounded: the count from the aggregate, the first ids (every id is in the digest's thread too).
  const { total } = await s.store.stormDigest(storm.id, { groups: 0, examples: 0, spans: 0 });
  const ids = await s.store.stormIdsAfter(storm.id, 0, 500);
  return s.render.minimalDigest(
    storm,
    total,
    ids.map((m) => m.displayId),
  );
}
