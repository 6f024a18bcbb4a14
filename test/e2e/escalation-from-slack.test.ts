/**
 * An escalation made from a card must never page on-call — also when the replica that made it died
 * between Cotool taking the change and recording that the change was its own (a SIGKILL right after
 * the status POST): the next poll sees "became escalated" with no last action in the store.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildReason } from '../../src/core/attribution.ts';
import { JANE } from './actions-helpers.ts';
import { CHANNEL, type Stack, startStack } from './harness.ts';

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
});
afterEach(async () => {
  await stack.close();
});

describe('escalated from Slack by a replica that then died', () => {
  it('the poll that finds it escalated redraws the card and does not page on-call', async () => {
    const a = stack.cotool.addAlert({ status: 'open' });
    const bot = await stack.start('socket', { ESCALATION_MENTION: 'S0ONCALL' });
    await bot.settle();
    // What the click's POST wrote in Cotool (the API key's user, the reason naming the analyst)…
    stack.cotool.updateAlert(
      a.id,
      { status: 'escalated' },
      { actor: { type: 'human', name: 'Cotool API' }, reason: buildReason('escalated', JANE).reason },
    );
    // …and nothing more: the replica was killed before it recorded the change as its own.
    await bot.settle();
    await bot.settle();
    const [card] = stack.slack.messages(CHANNEL);
    expect(JSON.stringify(card?.blocks)).toMatch(/Escalated/);
    expect(stack.slack.callsOf('chat.postMessage').filter((x) => x.args.reply_broadcast === true)).toHaveLength(0);
    expect(card?.replies.filter((r) => r.metadata?.event_type === 'cotool_escalation')).toHaveLength(0);
  });
});
