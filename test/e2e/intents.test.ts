/**
 * Every Slack write through the outbox, end to end (the real bot against the fakes): a four-eyes
 * request whose post is answered 500 after Slack stored it is posted once and stays approvable; a
 * request recorded by a process that died before posting it is posted once by the next; a status
 * change whose Cotool POST is slow (most of the click's claim) gets exactly one thread note; a
 * timeline note answered 500 after commit, then 429, tells no entry twice and skips none.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTIONS, FOUR_EYES_ACTIONS } from '../../src/slack/ids.ts';
import { BOB, createClicker, JANE, notes, statusPosts, textOf, valueFor } from './actions-helpers.ts';
import type { SlackMessage, SlackThread } from './fakes/slack.ts';
import { CHANNEL, eventually, type Stack, type StartedBot, startStack } from './harness.ts';

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
  for (const u of [JANE, BOB]) stack.slack.addUser(u);
});
afterEach(async () => {
  await stack.close();
});

const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));
const card = (ts: string) => stack.slack.messages(CHANNEL).find((m) => m.ts === ts) as SlackThread;
const cardOf = (displayId: string) =>
  stack.slack.messages(CHANNEL).find((m) => textOf(m.blocks).includes(displayId)) as SlackThread | undefined;
/** The four-eyes request messages in a card's thread. */
const requests = (ts: string): SlackMessage[] =>
  (card(ts).replies ?? []).filter((r) => textOf(r.blocks).includes('alert.four_eyes.request'));
const replies = (ts: string, eventType: string) =>
  (card(ts).replies ?? []).filter((r) => r.metadata?.event_type === eventType && r.bot_id === stack.slack.botId);

async function boot(bot: StartedBot, alert: Parameters<Stack['cotool']['addAlert']>[0] = {}) {
  const a = stack.cotool.addAlert(alert);
  await bot.poller.runOnce();
  const ts = ((await eventually(() => cardOf(a.displayId), 15_000)) as SlackThread).ts;
  return { a, ts };
}

describe('four-eyes requests through the outbox', () => {
  it('a 500 after Slack stored the request: one request message, still approvable', async () => {
    const bot = await stack.start('socket', { FOUR_EYES_SEVERITIES: 'critical' }, { unknownSettleMs: 50 });
    const { a, ts } = await boot(bot, { severity: 'critical' });
    const c = createClicker(stack, bot, 'socket');
    stack.slack.failAfterCommit('chat.postMessage', 1, 500);
    await c.click(JANE.id, ts, ACTIONS.closeFp, valueFor(card(ts), ACTIONS.closeFp));
    await eventually(() => requests(ts).length === 1, 15_000);
    await eventually(() => notes(stack).some((n) => n.includes('needs a second person')), 15_000);
    await bot.sender.whenIdle();
    await settle();
    expect(requests(ts)).toHaveLength(1);
    const id = String(requests(ts)[0]?.metadata?.event_payload?.request_id);
    await eventually(async () => (await bot.store.getCloseRequest(id))?.ts === requests(ts)[0]?.ts, 15_000);
    expect(await bot.store.getCloseRequest(id)).toMatchObject({ state: 'pending' });
    // A re-click while it waits points to it: no second message.
    await c.click(BOB.id, ts, ACTIONS.closeFp, valueFor(card(ts), ACTIONS.closeFp));
    await bot.sender.whenIdle();
    await settle();
    expect(requests(ts)).toHaveLength(1);
    // And it is approvable.
    const request = () => requests(ts)[0] as SlackMessage;
    await c.click(BOB.id, request().ts, FOUR_EYES_ACTIONS.approve, valueFor(request(), FOUR_EYES_ACTIONS.approve));
    await eventually(() => stack.cotool.getAlert(a.id)?.status === 'closed_false_positive', 15_000);
    await eventually(() => textOf(request()).includes('Approved by'), 15_000);
    expect(statusPosts(stack)).toHaveLength(1);
    expect(requests(ts)).toHaveLength(1);
  });

  it('a crash between recording the request and posting it: the next process posts it once', async () => {
    const bot = await stack.start('socket', { FOUR_EYES_SEVERITIES: 'critical' });
    const { ts } = await boot(bot, { severity: 'critical' });
    await bot.sender.stop(); // this process will never post again
    const c = createClicker(stack, bot, 'socket');
    await c.click(JANE.id, ts, ACTIONS.closeFp, valueFor(card(ts), ACTIONS.closeFp));
    await eventually(() => notes(stack).some((n) => n.includes('needs a second person')), 15_000);
    await eventually(async () => (await bot.store.listOutbox({ kind: 'close_request' })).length === 1, 15_000);
    await bot.stop();
    expect(requests(ts)).toHaveLength(0);
    const bot2 = await stack.start('socket', { FOUR_EYES_SEVERITIES: 'critical' });
    await bot2.sender.wake();
    await eventually(() => requests(ts).length === 1, 15_000);
    await bot2.settle();
    await settle();
    expect(requests(ts)).toHaveLength(1);
    expect(await bot2.store.listOutbox()).toEqual([]);
    const id = String(requests(ts)[0]?.metadata?.event_payload?.request_id);
    expect(await bot2.store.getCloseRequest(id)).toMatchObject({ state: 'pending', ts: requests(ts)[0]?.ts });
  });
});

describe('thread notes of changes from Slack', () => {
  it('a Cotool status POST that takes most of the click’s claim: exactly one thread note', async () => {
    // Short timings: a 1.2 s claim (its intent is held 1.4 s); Cotool answers after 0.9 s, three
    // times the share of the claim (1/3) that the first fixed 60 s grace allowed.
    const bot = await stack.start('socket', {}, { actionClaimTtlMs: 1_200, unknownSettleMs: 50 });
    const { a, ts } = await boot(bot);
    stack.cotool.setDelay(900, { method: 'POST' });
    const c = createClicker(stack, bot, 'socket');
    await c.click(JANE.id, ts, ACTIONS.closeFp, valueFor(card(ts), ACTIONS.closeFp));
    await eventually(() => stack.cotool.getAlert(a.id)?.status === 'closed_false_positive', 15_000);
    await eventually(() => replies(ts, 'cotool_note').length === 1, 15_000);
    await settle(2_000); // past the intent's grace: nothing more
    await bot.sender.whenIdle();
    expect(replies(ts, 'cotool_note')).toHaveLength(1);
    expect(String(replies(ts, 'cotool_note')[0]?.metadata?.event_payload?.key)).toContain(':intent:');
    expect(await bot.store.listOutbox({ kind: 'reply' })).toEqual([]);
  });
});

describe('timeline notes', () => {
  it('a note answered 500 after commit, then 429: no entry told twice, none skipped', async () => {
    const bot = await stack.start('socket', {}, { unknownSettleMs: 1_500 });
    const { a, ts } = await boot(bot, { severity: 'medium' });
    const comment = (words: string) => {
      stack.cotool.addTimelineEntry(a.id, {
        kind: 'comment',
        actorType: 'human',
        actorUserName: 'Dana Analyst',
        bodyMarkdown: words,
      });
      stack.cotool.updateAlert(a.id, {});
    };
    const timeline = () =>
      replies(ts, 'cotool_note').filter((r) => String(r.metadata?.event_payload?.key ?? '').includes(':timeline'));
    comment('entry-one');
    comment('entry-two');
    stack.slack.failAfterCommit('chat.postMessage', 1, 500);
    await bot.settle();
    // Stored by Slack, answered 500: the sender will look it up before sending again.
    await eventually(() => timeline().length === 1, 15_000);
    comment('entry-three');
    stack.slack.failNext('chat.postMessage', 1, { status: 429, retryAfter: 1 });
    await bot.settle();
    await eventually(() => timeline().length === 2, 15_000);
    await bot.settle();
    await settle();
    const told = textOf(timeline());
    for (const words of ['entry-one', 'entry-two', 'entry-three']) expect(told.split(words).length - 1).toBe(1);
    expect(timeline()).toHaveLength(2);
    expect(stack.slack.callsOf('chat.postMessage').some((c) => c.result.status === 429)).toBe(true);
  });
});
