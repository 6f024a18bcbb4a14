/**
 * Escalation notices: a broadcast reply in the card's thread that pages on-call, naming who escalated
 * (from the alert's timeline). Never twice: always looked for in the thread first. An escalation
 * made from a card (the bot wrote it for a Slack user) pages nobody: its thread note says so.
 */

import type { Alert } from '../../core/alert.ts';
import { nameInReason } from '../../core/attribution.ts';
import type { ItemOf } from '../../core/outbox.ts';
import type { CotoolClient } from '../../ports.ts';
import { type EscalationWho, EVENT_TYPES } from '../../ports.ts';
import type { Pacer } from '../pacer.ts';
import type { Outcome, Shared } from './shared.ts';

export async function sendEscalation(s: Shared, item: ItemOf<'escalation'>, pacer: Pacer): Promise<Outcome> {
  const { store, render, log, complete, retry } = s;
  const rec = await store.get(item.cardKey ?? '');
  const payload = item.data;
  if (!rec || (rec.state !== 'posted' && rec.state !== 'queued')) return complete(item);
  // The notice is a reply to the card: wait for the card.
  if (rec.state === 'queued' || !rec.ts) return retry(item, 1_000, item.unknown);
  const thread = { channel: rec.channel ?? item.channel, ts: rec.ts };
  // Always looked for first, not only after an unknown outcome: a notice pages on-call, a thread is
  // short, and escalations are few — the one extra read is worth never paging twice.
  const found = await s.lookUp(item, pacer, {
    channel: thread.channel,
    eventType: EVENT_TYPES.escalation,
    key: item.key,
    threadTs: thread.ts,
    oldestMs: 0,
  });
  if ('outcome' in found) return found.outcome;
  if (found.ts) {
    log.info({ alertId: payload.alertId }, 'found the escalation notice an earlier attempt posted; not posting again');
    return complete(item);
  }
  const { fromSlack, ...who } = await escalationWho(s, payload.alert);
  if (fromSlack) {
    // Escalated from a card: its thread note says so, and on-call is not paged for it — also when
    // the replica that made it died before recording the change as its own (the planner then
    // could not tell).
    log.info({ alertId: payload.alertId }, 'escalated from Slack: on-call is not paged');
    return complete(item);
  }
  const view = render.escalationReply(payload.alert, { ...who, mention: payload.mention });
  const refused = await s.postInThread(item, pacer, view, {
    ...thread,
    broadcast: true,
    eventType: EVENT_TYPES.escalation,
    alertId: payload.alertId,
    key: item.key,
  });
  if (refused) return refused;
  s.metrics.escalationsAnnounced.inc();
  s.stats.notices++;
  log.info({ alertId: payload.alertId, displayId: payload.alert.displayId }, 'escalation announced');
  return complete(item);
}

/**
 * Who escalated, from the alert's timeline (best effort); `fromSlack`: the bot made it for an
 * analyst who clicked a card (the API key's user as actor, a reason naming the Slack user).
 */
async function escalationWho(s: Shared, alert: Alert): Promise<EscalationWho & { fromSlack: boolean }> {
  let full: Awaited<ReturnType<CotoolClient['getAlert']>>;
  try {
    full = await s.cotool.getAlert(alert.id);
  } catch (err) {
    s.log.warn({ alertId: alert.id, err }, 'could not read the timeline to name who escalated');
    return { by: null, reason: null, fromSlack: false };
  }
  const entry = full.timeline
    .filter((e) => e.kind === 'status_change' && e.afterStatus === 'escalated')
    .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))[0];
  if (!entry) return { by: null, reason: null, fromSlack: false };
  const metaReason = typeof entry.metadata.reason === 'string' ? entry.metadata.reason : null;
  const reason = entry.bodyMarkdown ?? metaReason;
  // The API key's user writes for Slack users; an agent's text naming someone is not believed.
  const named = entry.actorType === 'human' ? nameInReason(reason) : null;
  const by = named ?? entry.actorAgentName ?? entry.actorUserName ?? (entry.actorType === 'system' ? 'Cotool' : null);
  return { by, reason, fromSlack: named !== null };
}
