/**
 * Retention with the real bot: what the poller does with records of alerts that left the live set,
 * and with an alert that comes back after its rows were pruned.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CARD_META_PREFIXES, PRUNE_STEPS } from '../../src/notify/retention.ts';
import type { Store } from '../../src/ports.ts';
import { CHANNEL, type Stack, startStack } from './harness.ts';

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
});
afterEach(async () => {
  await stack.close();
});

const cards = () => stack.slack.messages(CHANNEL);

/** Every step of a retention run with the cut in the future: as if RETENTION_DAYS had passed. */
async function pruneEverythingPast(store: Store): Promise<void> {
  const before = Date.now() + 1;
  for (const kind of PRUNE_STEPS) {
    if (kind === 'action_claims' || kind === 'once_keys') continue;
    while ((await store.prune({ kind, before, limit: 1_000, metaPrefixes: CARD_META_PREFIXES })).deleted === 1_000);
  }
}

describe('retention: records of closed alerts', () => {
  it('a record without a card is marked final when its alert leaves the live set, and unmarked when it comes back', async () => {
    const old = stack.cotool.addAlert({ title: 'Backlog alert', severity: 'high' });
    const bot = await stack.start('socket', { BACKLOG: 'none' }, { quietCheckMs: 0 });
    await bot.settle();
    expect(await bot.store.get(old.id)).toMatchObject({ state: 'seen', final: false });
    expect(cards()).toHaveLength(0);

    stack.cotool.updateAlert(old.id, { status: 'closed_false_positive' });
    await bot.settle();
    expect(await bot.store.get(old.id)).toMatchObject({ state: 'seen', final: true });

    // Reopened within the retention: followed again (so never pruned while live), still without a card.
    stack.cotool.updateAlert(old.id, { status: 'open' });
    await bot.settle();
    expect(await bot.store.get(old.id)).toMatchObject({ state: 'seen', final: false });
    await pruneEverythingPast(bot.store);
    expect(await bot.store.get(old.id)).not.toBeNull();
    await bot.settle();
    expect(cards()).toHaveLength(0);
  });

  it('a card closed longer ago than the retention is pruned; reopened later, its alert gets a new card', async () => {
    const bot = await stack.start('socket', {}, { quietCheckMs: 0 });
    await bot.settle();
    const a = stack.cotool.addAlert({ title: 'Impossible travel', severity: 'high' });
    await bot.settle();
    expect(cards()).toHaveLength(1);
    stack.cotool.updateAlert(a.id, { status: 'closed_true_positive' });
    await bot.settle();
    await bot.settle();
    expect(await bot.store.get(a.id)).toMatchObject({ state: 'posted', final: true });

    await pruneEverythingPast(bot.store);
    expect(await bot.store.get(a.id)).toBeNull();
    // Closed and pruned: the poller never lists it again, nothing is sent.
    await bot.settle();
    expect(cards()).toHaveLength(1);
    expect(await bot.store.get(a.id)).toBeNull();

    // Reopened after the retention: a new alert to the bot, with a card of its own.
    stack.cotool.updateAlert(a.id, { status: 'open' });
    await bot.settle();
    expect(cards()).toHaveLength(2);
    expect(await bot.store.get(a.id)).toMatchObject({ state: 'posted', final: false });
    expect(cards()[1]?.text).toContain(a.displayId);
  });
});
