/**
 * Upgrading from the first release: a card it claimed but never confirmed (a crash, or a lost
 * answer, just before the upgrade) is looked up in the channel before anything is posted.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { writeV2 } from '../store/v2.ts';
import { CHANNEL, type Stack, startStack } from './harness.ts';

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
});
afterEach(async () => {
  await stack.close();
});

const cards = () =>
  stack.slack
    .messages(CHANNEL)
    .filter((m) => (m.metadata as { event_type?: string } | undefined)?.event_type === 'cotool_alert');

it('a claim left by the first release: the card it did post is adopted, the one it did not is posted once', async () => {
  const posted = stack.cotool.addAlert();
  const lost = stack.cotool.addAlert();
  const unsent = stack.cotool.addAlert();
  // The first release's card for `posted` (confirmed) and for `lost` (posted, never confirmed).
  const meta = (id: string) => ({ event_type: 'cotool_alert', event_payload: { alert_id: id, display_id: 'x' } });
  const own = { user: stack.slack.botUserId, bot_id: stack.slack.botId, text: 'card' };
  const postedTs = stack.slack.addMessage(CHANNEL, { ...own, metadata: meta(posted.id) });
  const lostTs = stack.slack.addMessage(CHANNEL, { ...own, metadata: meta(lost.id) });
  const now = Date.now();
  writeV2(stack.dbPath, [
    {
      alert_id: posted.id,
      state: 'posted',
      channel: CHANNEL,
      ts: postedTs,
      created_at: now - 60_000,
      changed_at: now - 60_000,
    },
    {
      alert_id: lost.id,
      state: 'claimed',
      claim_owner: 'old',
      claimed_at: now - 30_000,
      created_at: now - 30_000,
      changed_at: now - 30_000,
    },
    {
      alert_id: unsent.id,
      state: 'claimed',
      claim_owner: 'old',
      claimed_at: now - 20_000,
      created_at: now - 20_000,
      changed_at: now - 20_000,
    },
  ]);
  const bot = await stack.start('socket', {}, { unknownSettleMs: 20 });
  await bot.settle();
  await bot.settle();
  const byAlert = new Map(cards().map((c) => [String(c.metadata?.event_payload.alert_id), c.ts]));
  expect(byAlert.get(lost.id)).toBe(lostTs);
  expect(cards()).toHaveLength(3);
  expect(stack.slack.callsOf('chat.postMessage')).toHaveLength(1); // only the card that never went out
  expect((await bot.store.get(lost.id))?.ts).toBe(lostTs);
  expect((await bot.store.get(unsent.id))?.state).toBe('posted');
});
