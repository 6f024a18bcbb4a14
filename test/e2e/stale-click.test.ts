import { afterEach, beforeEach, expect, it } from 'vitest';
import { ACTIONS } from '../../src/slack/ids.ts';
import { createClicker, JANE, statusPosts, valueFor } from './actions-helpers.ts';
import { CHANNEL, eventually, type Stack, startStack } from './harness.ts';

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
});
afterEach(async () => {
  await stack.close();
});

it('an escalation in Cotool is announced even when a stale click redrew the card first', async () => {
  stack.slack.addUser(JANE);
  const a = stack.cotool.addAlert({ status: 'open' });
  const bot = await stack.start('socket', { ESCALATION_MENTION: 'S0ONCALL' });
  await bot.settle();
  const card = () => stack.slack.messages(CHANNEL)[0];
  const stale = valueFor(card(), ACTIONS.closeFp);
  stack.cotool.updateAlert(
    a.id,
    { status: 'escalated' },
    { actor: { type: 'agent', name: 'Aria' }, reason: 'Token reuse' },
  );
  const c = createClicker(stack, bot, 'socket');
  await c.click(JANE.id, card()?.ts as string, ACTIONS.closeFp, stale);
  await eventually(() => JSON.stringify(card()?.blocks).includes('Escalated'), 5_000);
  await new Promise((r) => setTimeout(r, 300));
  await bot.settle();
  await bot.settle();
  expect(statusPosts(stack)).toHaveLength(0);
  expect(stack.slack.callsOf('chat.postMessage').filter((x) => x.args.reply_broadcast === true)).toHaveLength(1);
});
