/**
 * Slack on a bad day, against the real bot: answers of `internal_error` / `fatal_error` after Slack
 * stored the message (maybe done: looked up, never sent twice), and an outage that refuses every
 * call for seconds (`service_unavailable`, then HTTP 503) — after which every alert has exactly one
 * card, and a card whose alert was closed meanwhile shows it closed. Short retry timings through
 * the bot's options (retryBaseMs 100: backoff capped at 3 s).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OutageAnswer, SlackThread } from './fakes/slack.ts';
import { CHANNEL, eventually, type Stack, startStack } from './harness.ts';

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
});
afterEach(async () => {
  await stack.close();
});

const meta = (m: { metadata?: unknown }) =>
  m.metadata as { event_type?: string; event_payload?: Record<string, string> } | undefined;
const cards = (): SlackThread[] => stack.slack.messages(CHANNEL).filter((m) => meta(m)?.event_type === 'cotool_alert');
const cardOf = (alertId: string) => cards().filter((c) => meta(c)?.event_payload?.alert_id === alertId);
const notices = (card: SlackThread | undefined) =>
  (card?.replies ?? []).filter((r) => meta(r)?.event_type === 'cotool_escalation');
const FAST = { retryBaseMs: 100, unknownSettleMs: 20 };

describe('Slack answers "maybe done" after storing the message', () => {
  it('internal_error / fatal_error after commit: one card each, one escalation notice', async () => {
    const alerts = [stack.cotool.addAlert(), stack.cotool.addAlert(), stack.cotool.addAlert()];
    stack.slack.failAfterCommit('chat.postMessage', 1, 'internal_error');
    stack.slack.failAfterCommit('chat.postMessage', 1, 'fatal_error');
    const bot = await stack.start('socket', {}, FAST);
    await bot.settle();
    await bot.settle();
    for (const a of alerts) expect(cardOf(a.id)).toHaveLength(1);
    expect(cards()).toHaveLength(3);
    expect(stack.slack.callsOf('chat.postMessage')).toHaveLength(3);
    expect(stack.slack.callsOf('conversations.history').length).toBeGreaterThanOrEqual(2);
    for (const a of alerts) expect((await bot.store.get(a.id))?.state).toBe('posted');

    const escalated = alerts[0] as (typeof alerts)[number];
    stack.cotool.updateAlert(escalated.id, { status: 'escalated' }, { actor: { type: 'agent', name: 'Aria' } });
    stack.slack.failAfterCommit('chat.postMessage', 1, 'fatal_error');
    await bot.settle();
    await bot.settle();
    expect(notices(cardOf(escalated.id)[0])).toHaveLength(1);
    expect(stack.slack.callsOf('chat.postMessage').filter((c) => c.args.thread_ts)).toHaveLength(1);

    const other = alerts[1] as (typeof alerts)[number];
    stack.cotool.updateAlert(other.id, { status: 'escalated' }, { actor: { type: 'agent', name: 'Aria' } });
    stack.slack.failAfterCommit('chat.postMessage', 1, 'internal_error');
    await bot.settle();
    await bot.settle();
    expect(notices(cardOf(other.id)[0])).toHaveLength(1);
    expect(await bot.store.listOutbox()).toEqual([]);
  });
});

describe('a Slack outage of several seconds', () => {
  for (const answer of ['service_unavailable', 503] as OutageAnswer[]) {
    it(`refused with ${answer}: nothing dropped; after recovery one card per alert, a closed alert's card closed`, async () => {
      const before = [stack.cotool.addAlert(), stack.cotool.addAlert()];
      const bot = await stack.start('http', {}, FAST);
      await bot.settle();
      expect(cards()).toHaveLength(2);

      stack.slack.outage(6_000, answer);
      const during = [stack.cotool.addAlert(), stack.cotool.addAlert(), stack.cotool.addAlert()];
      const closed = before[0] as (typeof before)[number];
      stack.cotool.updateAlert(closed.id, { status: 'closed_false_positive' });
      await bot.settle();
      // Polls go on while Slack refuses everything, for longer than the first release's five tries.
      while (stack.slack.inOutage) {
        expect(await bot.store.listOutbox()).not.toEqual([]);
        for (const a of during) expect((await bot.store.get(a.id))?.state).toBe('queued');
        await new Promise((r) => setTimeout(r, 500));
        await bot.poller.runOnce();
      }

      // Recovered: within the backoff cap (3 s here, 30 s by default) everything is out.
      const recovered = Date.now();
      await eventually(async () => (await bot.store.listOutbox()).length === 0, 15_000, 50);
      const tookMs = Date.now() - recovered;
      await bot.settle();
      for (const a of [...before, ...during]) expect(cardOf(a.id)).toHaveLength(1);
      expect(cards()).toHaveLength(5);
      const blocks = JSON.stringify(cardOf(closed.id)[0]?.blocks);
      expect(blocks).toContain('False positive');
      expect(blocks).not.toContain('alert.close_fp');
      expect(tookMs).toBeLessThan(15_000);
      expect(bot.logs.some((l) => l.includes('giving up'))).toBe(false);
    });
  }
});

describe('a replica that starts while Slack is down', () => {
  it.each(['socket', 'http'] as const)(
    '%s mode: waits for Slack instead of exiting, then cards every alert once',
    async (mode) => {
      const alerts = [stack.cotool.addAlert(), stack.cotool.addAlert()];
      stack.slack.outage(2_500, 'service_unavailable');
      const started = Date.now();
      const bot = await stack.start(mode, {}, FAST);
      // It could not have started before Slack answered again.
      expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
      await bot.settle();
      for (const a of alerts) expect(cardOf(a.id)).toHaveLength(1);
    },
  );
});
