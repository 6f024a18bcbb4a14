/**
 * "I'll take it" and "nothing waits unseen", end to end in both modes: the click makes the alert in
 * progress in Cotool (the reason names the analyst), shows the owner on the card and says so in the
 * thread; a critical alert nobody acts on gets its reminders (two, once each, mentioning on-call);
 * one that is taken gets none.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTIONS } from '../../src/slack/ids.ts';
import { BOB, createClicker, GUEST, JANE, type Mode, statusPosts, textOf, valueFor } from './actions-helpers.ts';
import { CHANNEL, eventually, type Stack, startStack } from './harness.ts';

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
});
afterEach(async () => {
  await stack.close();
});

const REMIND_MS = 1_500;
const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));

async function boot(mode: Mode, alert: Parameters<Stack['cotool']['addAlert']>[0] = {}, remindAfterMs = REMIND_MS) {
  for (const u of [JANE, BOB, GUEST]) stack.slack.addUser(u);
  const a = stack.cotool.addAlert(alert);
  const bot = await stack.start(mode, { ESCALATION_MENTION: 'S0ONCALL' }, { remindAfterMs });
  await bot.settle();
  const card = () => {
    const c = stack.slack.messages(CHANNEL)[0];
    if (!c) throw new Error('no card');
    return c;
  };
  return { a, bot, card, c: createClicker(stack, bot, mode) };
}
const replies = () => stack.slack.messages(CHANNEL)[0]?.replies ?? [];
const replyTexts = () => replies().map((r) => textOf(r.blocks));

describe.each(['socket', 'http'] as const)("I'll take it, and reminders (%s mode)", (mode) => {
  it("I'll take it → in progress naming the analyst, the owner on the card, one note; a double click changes nothing more", async () => {
    const { a, card, c } = await boot(mode, { severity: 'medium' });
    expect(textOf(card().blocks)).toContain(ACTIONS.take);
    const value = valueFor(card(), ACTIONS.take);
    const ts = card().ts;
    const ack = await c.click(JANE.id, ts, ACTIONS.take, value);
    expect(ack.ackMs).toBeLessThan(3_000);
    await eventually(() => textOf(card().blocks).includes('<@U0JANE>') && replies().length === 1);
    // A second click on the same (old) value, and Slack redelivering the first: no second change.
    await c.click(JANE.id, ts, ACTIONS.take, value);
    await settle(500);
    const posts = statusPosts(stack);
    expect(posts).toHaveLength(1);
    expect(posts[0]?.body).toEqual({
      status: 'in_progress',
      reason: 'Marked in progress from Slack by Jane Doe (<@U0JANE>)',
    });
    expect(stack.cotool.getAlert(a.id)?.status).toBe('in_progress');
    const shown = textOf(card().blocks);
    expect(shown).toContain('Owner');
    // Owned: no more "I'll take it" on the card.
    expect(shown).not.toContain(ACTIONS.take);
    expect(replyTexts()).toEqual([expect.stringContaining('<@U0JANE> took *')]);
  });

  it('a guest is refused: nothing changes in Cotool, no owner', async () => {
    const { card, c } = await boot(mode);
    await c.click(GUEST.id, card().ts, ACTIONS.take, valueFor(card(), ACTIONS.take));
    await settle(600);
    expect(statusPosts(stack)).toHaveLength(0);
    expect(textOf(card().blocks)).not.toContain('<@U0GUEST>');
    expect(replies()).toHaveLength(0);
  });

  it('a critical alert nobody acts on: reminder 1, then 2, mentioning on-call, each once, then silence', async () => {
    const { bot } = await boot(mode, { severity: 'critical' });
    await eventually(() => replies().length >= 1, 10_000);
    expect(replyTexts()[0]).toContain('Reminder 1 of 2');
    expect(replyTexts()[0]).toContain('<!subteam^S0ONCALL>');
    await eventually(() => replies().length >= 2, 10_000);
    expect(replyTexts()[1]).toContain('Reminder 2 of 2');
    // Polls and time go on: no third reminder, no repeat.
    await bot.settle();
    await settle(REMIND_MS * 2);
    await bot.settle();
    expect(replies()).toHaveLength(2);
    const metrics = await (await fetch(`http://127.0.0.1:${bot.port}/metrics`)).text();
    expect(metrics).toMatch(/^cotool_slack_reminders_sent_total 2$/m);
  });

  it('a critical alert taken before the wait gets no reminder; a low one never does', async () => {
    const { card, c, bot } = await boot(mode, { severity: 'critical' }, 2_500);
    stack.cotool.addAlert({ severity: 'low' });
    await bot.settle();
    await c.click(BOB.id, card().ts, ACTIONS.take, valueFor(card(), ACTIONS.take));
    await eventually(() => replies().length === 1);
    await settle(3_500);
    await bot.settle();
    expect(replyTexts()).toEqual([expect.stringContaining('<@U0BOB> took *')]);
    const low = stack.slack.messages(CHANNEL)[1];
    expect(low?.replies ?? []).toHaveLength(0);
  });
});
