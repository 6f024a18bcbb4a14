/**
 * The outbox items the bot writes, built in one place: their keys (which make coalescing and
 * exactly-once work), lanes and priorities. Lower priority values are sent first.
 */
import type { NewOutboxItem } from '../store/store.ts';

export const PRIORITY = {
  /** Escalation notices, and the cards of alerts that arrive escalated (the card carries the notice). */
  escalation: 0,
  critical: 1,
  /** A storm's digest: right after the critical cards. */
  digest: 2,
  high: 3,
  medium: 4,
  low: 5,
  none: 6,
  /** Thread notes (timeline entries): after every card. */
  note: 7,
} as const;

const SEVERITY_PRIORITY: Record<string, number> = {
  critical: PRIORITY.critical,
  high: PRIORITY.high,
  medium: PRIORITY.medium,
  low: PRIORITY.low,
};

export function cardPriority(severity: string | null, escalated: boolean): number {
  if (escalated) return PRIORITY.escalation;
  return (severity ? SEVERITY_PRIORITY[severity] : undefined) ?? PRIORITY.none;
}

export const outboxKey = {
  card: (alertId: string) => `card:${alertId}`,
  cardUpdate: (alertId: string) => `card_update:${alertId}`,
  escalation: (alertId: string, updatedAt: string) => `escalation:${alertId}:${updatedAt}`,
  digest: (stormId: string) => `digest:${stormId}`,
  digestUpdate: (stormId: string) => `digest_update:${stormId}`,
  note: (alertId: string, entryKey: string) => `note:${alertId}:${entryKey}`,
};

/** Re-render a storm's digest message (coalesced: one pending update per storm). */
export function digestUpdateItem(storm: { id: string; channel: string }, now: number): NewOutboxItem {
  return {
    key: outboxKey.digestUpdate(storm.id),
    kind: 'digest_update',
    lane: 'update',
    channel: storm.channel,
    alertId: null,
    priority: PRIORITY.digest,
    orderAt: now,
    payload: JSON.stringify({ stormId: storm.id }),
  };
}
