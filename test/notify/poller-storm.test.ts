/**
 * One open storm per channel: when another process opened the channel's storm after this poll read
 * the active storms (a leader hand-over), opening a second one conflicts; the poller writes nothing of
 * that channel's plan and plans again, into the existing storm, at the next poll.
 */

import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/core/alert.ts';
import { createLogger } from '../../src/log.ts';
import { createPoller } from '../../src/notify/poller.ts';
import type { CotoolClient, RawAlertPage, Store } from '../../src/ports.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { createHealth } from '../../src/telemetry/health.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';
import { alert } from '../support/alerts.ts';

const CHANNEL = 'C0STORM';

function cotoolWith(alerts: Alert[]): Pick<CotoolClient, 'listRawAlertPages' | 'parseListedAlert'> {
  return {
    async *listRawAlertPages() {
      const page: RawAlertPage = {
        items: alerts.map((a, offset) => ({ id: a.id, updatedAt: a.updatedAt, status: a.status, raw: a, offset })),
        last: true,
        truncated: false,
        pages: 1,
      };
      yield page;
    },
    parseListedAlert: (item) => item.raw as Alert,
  };
}

function pollerOn(store: Store, alerts: Alert[]) {
  return createPoller({
    metrics: createMetrics(),
    store,
    cotool: cotoolWith(alerts),
    render: { fingerprint: (a) => `fp:${a.id}` },
    defaultChannel: CHANNEL,
    routes: [],
    policy: { minSeverity: null, sources: [], backlog: 'all', backlogMaxAgeMs: 10 * 365 * 86_400_000 },
    storm: { threshold: 3, cards: 0, quietMs: 600_000 },
    health: createHealth('socket'),
    logger: createLogger('silent'),
    clock: () => Date.parse('2026-11-23T10:05:00.000Z'),
  });
}

describe('poller: a storm opened by another process meanwhile', () => {
  it('writes nothing of the channel’s plan, then folds the alerts into the existing storm', async () => {
    const store = openSqliteStore(':memory:', () => Date.parse('2026-11-23T10:05:00.000Z'));
    const alerts = Array.from({ length: 6 }, () => alert({ severity: 'low' }));
    // Another leader opened the channel's storm after this poll read the active storms.
    await store.apply([{ storm: { op: 'open', id: 'theirs', channel: CHANNEL, at: 1_000 } }]);
    const blind = new Proxy(store, {
      get: (target, prop, receiver) => (prop === 'activeStorms' ? async () => [] : Reflect.get(target, prop, receiver)),
    });
    const first = await pollerOn(blind, alerts).runOnce();
    expect(first.ok).toBe(true);
    expect(first.conflicts).toBe(1);
    expect((await store.activeStorms()).map((s) => s.id)).toEqual(['theirs']);
    expect(await store.listOutbox()).toEqual([]); // no second digest, no card
    expect((await store.getMany(alerts.map((a) => a.id))).size).toBe(0); // planned again next poll

    const second = await pollerOn(store, alerts).runOnce();
    expect(second.ok).toBe(true);
    expect((await store.activeStorms()).map((s) => s.id)).toEqual(['theirs']);
    expect((await store.stormMembers('theirs')).map((m) => m.alertId).sort()).toEqual(alerts.map((a) => a.id).sort());
    expect((await store.listOutbox()).filter((i) => i.kind === 'card')).toEqual([]);
    await store.close();
  });
});
