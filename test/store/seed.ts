/** Test helpers: put records into a store the way the poller and sender would leave them. */
import type { CardRecord } from '../../src/core/records.ts';
import type { Store } from '../../src/ports.ts';

export type Posted = {
  alertId: string;
  displayId: string;
  channel: string;
  ts: string;
  status: string;
  updatedAt: string;
  fingerprint: string;
  final?: boolean;
  postedAt?: number;
};

/** A card the sender has posted. */
export async function seedPostedCard(store: Store, p: Posted): Promise<CardRecord> {
  await store.apply([
    {
      card: {
        op: 'insert',
        alertId: p.alertId,
        displayId: p.displayId,
        state: 'queued',
        channel: p.channel,
        status: p.status,
        updatedAt: p.updatedAt,
        fingerprint: p.fingerprint,
      },
    },
    {
      card: {
        op: 'update',
        alertId: p.alertId,
        expectState: 'queued',
        set: { state: 'posted', ts: p.ts, postedAt: p.postedAt ?? 1, final: p.final ?? false },
      },
    },
  ]);
  return (await store.get(p.alertId)) as CardRecord;
}
