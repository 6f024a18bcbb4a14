/**
 * The holes a careful read of the first exactly-once protocol found, each with the test that failed
 * before the outbox: 5xx after Slack stored the message (see core.test.ts), a lost escalation notice,
 * the poller racing a click, and two processes on one database.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { outboxKey, PRIORITY, statusIntentItem } from '../../src/core/outbox.ts';
import { createClicker, JANE, valueFor } from './actions-helpers.ts';
import type { SlackThread } from './fakes/slack.ts';
import { CHANNEL, eventually, type Stack, startStack } from './harness.ts';

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
  stack.slack.addUser(JANE);
});
afterEach(async () => {
  await stack.close();
});

const meta = (m: { metadata?: unknown }) =>
  m.metadata as { event_type?: string; event_payload?: Record<string, string> } | undefined;
const cards = (): SlackThread[] => stack.slack.messages(CHANNEL).filter((m) => meta(m)?.event_type === 'cotool_alert');
const notices = (card: SlackThread | undefined) =>
  (card?.replies ?? []).filter((r) => meta(r)?.event_type === 'cotool_escalation');

describe('exactly once', () => {
  it('an escalation notice whose answer was a 5xx after Slack stored it is found in the thread, not sent twice', async () => {
    const a = stack.cotool.addAlert();
    const bot = await stack.start('socket', {}, { unknownSettleMs: 20 });
    await bot.settle();
    stack.cotool.updateAlert(a.id, { status: 'escalated' }, { actor: { type: 'agent', name: 'Aria' } });
    stack.slack.failAfterCommit('chat.postMessage', 1, 502);
    await bot.settle();
    await bot.settle();
    expect(notices(cards()[0])).toHaveLength(1);
    expect(stack.slack.callsOf('chat.postMessage').filter((c) => c.args.thread_ts)).toHaveLength(1);
    expect(stack.slack.callsOf('conversations.replies').length).toBeGreaterThanOrEqual(1);
  });

  it('a crash between sending a notice and recording it: the next process finds it and does not page again', async () => {
    const a = stack.cotool.addAlert();
    const bot = await stack.start('socket', {}, { claimStaleMs: 100 });
    await bot.settle();
    stack.cotool.updateAlert(a.id, { status: 'escalated' }, { actor: { type: 'agent', name: 'Aria' } });
    // The notice is posted, then the process dies before the row is completed: leave a claimed row.
    stack.slack.setDelay('chat.postMessage', 400);
    await bot.poller.runOnce();
    await eventually(async () => (await bot.store.listOutbox({ kind: 'escalation' }))[0]?.state === 'claimed');
    await bot.stop(); // abandons the send in flight; the fake stores the reply after its delay
    stack.slack.setDelay('chat.postMessage', 0);
    await eventually(() => notices(cards()[0]).length === 1);
    await new Promise((r) => setTimeout(r, 150)); // the claim goes stale
    const bot2 = await stack.start('socket', {}, { claimStaleMs: 100 });
    await bot2.settle();
    expect(notices(cards()[0])).toHaveLength(1);
    expect(await bot2.store.listOutbox()).toEqual([]);
  });

  it('the poller racing a click: an update planned before the click never rolls the card back', async () => {
    const a = stack.cotool.addAlert();
    const bot = await stack.start('socket');
    await bot.settle();
    const card = cards()[0] as SlackThread;
    const stale = stack.cotool.alerts().find((x) => x.id === a.id);
    // The analyst closes the alert from the card...
    const clicker = createClicker(stack, bot, 'socket');
    await clicker.click(JANE.id, card.ts, 'alert.close_fp', valueFor(card, 'alert.close_fp'));
    await eventually(() => JSON.stringify(cards()[0]?.blocks).includes('False positive'));
    // ...while an update the poller planned from the open alert was still queued.
    await bot.store.apply([
      {
        enqueue: [
          {
            key: outboxKey.cardUpdate(a.id),
            kind: 'card_update',
            lane: 'update',
            channel: CHANNEL,
            cardKey: a.id,
            priority: PRIORITY.escalation,
            orderAt: Date.now(),
            payload: JSON.stringify({ alertId: a.id, alert: stale }),
          },
        ],
      },
    ]);
    await bot.sender.wake();
    await bot.sender.whenIdle();
    expect(JSON.stringify(cards()[0]?.blocks)).toContain('False positive');
    expect(JSON.stringify(cards()[0]?.blocks)).not.toContain('alert.close_fp');
    // And the next poll (Cotool now says closed) leaves it closed.
    await bot.settle();
    expect(JSON.stringify(cards()[0]?.blocks)).toContain('False positive');
  });

  it('two processes on one database: one polls and sends; the other takes over when it is gone', async () => {
    for (let i = 0; i < 3; i++) stack.cotool.addAlert();
    const one = await stack.start('socket', {}, { leaseTtlMs: 1_000 });
    const two = await stack.start('socket', {}, { leaseTtlMs: 1_000 });
    expect([one.leadership.isLeader(), two.leadership.isLeader()].filter(Boolean)).toHaveLength(1);
    const [leader, follower] = one.leadership.isLeader() ? [one, two] : [two, one];
    expect((await follower.settle()).follower).toBe(true);
    await leader.settle();
    await follower.settle();
    expect(cards()).toHaveLength(3);
    await leader.stop();
    stack.cotool.addAlert();
    await eventually(() => follower.leadership.isLeader(), 5_000);
    await follower.settle();
    expect(cards()).toHaveLength(4);
    expect(new Set(cards().map((c) => meta(c)?.event_payload?.alert_id)).size).toBe(4);
  });
});

describe('the thread note of a change made from Slack', () => {
  it('a process that died between Cotool’s answer and queueing the note: the held intent tells the change', async () => {
    stack.slack.addUser(JANE);
    const a = stack.cotool.addAlert();
    const b = stack.cotool.addAlert();
    const bot = await stack.start('socket');
    await bot.settle();
    const card = (id: string) => cards().find((c) => meta(c)?.event_payload?.alert_id === id) as SlackThread;
    const intent = (alertId: string, threadTs: string, beforeUpdatedAt: string) => ({
      ...statusIntentItem({
        id: `crash-${alertId}`,
        channel: CHANNEL,
        threadTs,
        alertId,
        intent: {
          status: 'closed_false_positive',
          by: { id: JANE.id, name: 'Jane Doe' },
          reason: 'noise',
          beforeUpdatedAt,
        },
        now: Date.now(),
        graceMs: 0, // its grace period is over
      }),
    });
    const updatedAtOf = (id: string) => stack.cotool.alerts().find((x) => x.id === id)?.updatedAt ?? '';
    // `a` was closed in Cotool (the POST went through); `b`'s POST never reached Cotool.
    const aBefore = updatedAtOf(a.id);
    stack.cotool.updateAlert(a.id, { status: 'closed_false_positive' }, { actor: { type: 'human', name: 'Jane Doe' } });
    await bot.store.apply([
      { enqueue: [intent(a.id, card(a.id).ts, aBefore), intent(b.id, card(b.id).ts, updatedAtOf(b.id))] },
    ]);
    await bot.sender.wake();
    await bot.sender.whenIdle();
    const notes = (t: SlackThread) => t.replies.filter((r) => meta(r)?.event_type === 'cotool_note');
    expect(notes(card(a.id))).toHaveLength(1);
    expect(JSON.stringify(notes(card(a.id))[0]?.blocks ?? notes(card(a.id))[0]?.text)).toContain('closed');
    expect(notes(card(b.id))).toHaveLength(0);
    expect(await bot.store.listOutbox({ kind: 'reply' })).toEqual([]);
  });

  it('when all goes well the change’s own note replaces its intent: one note', async () => {
    stack.slack.addUser(JANE);
    stack.cotool.addAlert();
    const bot = await stack.start('socket');
    await bot.settle();
    const card = cards()[0] as SlackThread;
    const clicker = createClicker(stack, bot, 'socket');
    await clicker.click(JANE.id, card.ts, 'alert.close_fp', valueFor(card, 'alert.close_fp'));
    await eventually(() => (cards()[0]?.replies.length ?? 0) > 0);
    await bot.sender.whenIdle();
    expect(cards()[0]?.replies.filter((r) => meta(r)?.event_type === 'cotool_note')).toHaveLength(1);
    expect(await bot.store.listOutbox({ kind: 'reply' })).toEqual([]);
  });
});
