/**
 * Storms against a Slack that enforces its rate limits: urgent alerts first, one digest for the
 * rest, no 429 storms, escalations ahead of the queue, and nothing lost or doubled by a restart.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SlackThread } from './fakes/slack.ts';
import { CHANNEL, eventually, type Stack, startStack } from './harness.ts';

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
  // Faster than Slack's 1/s so the suite stays quick; the pace logic is the same.
  stack.slack.setRateLimits({ postPerSecond: 10, postBurst: 4, updatesPerMinute: 600, updateBurst: 5 });
});
afterEach(async () => {
  await stack.close();
});

const PACED = { SLACK_POST_RATE: '10', SLACK_POST_BURST: '3', SLACK_UPDATE_RATE: '300' };
const top = (): SlackThread[] => stack.slack.messages(CHANNEL);
const meta = (m: SlackThread) =>
  m.metadata as { event_type?: string; event_payload?: Record<string, string> } | undefined;
const cards = () => top().filter((m) => meta(m)?.event_type === 'cotool_alert');
const digests = () => top().filter((m) => meta(m)?.event_type === 'cotool_digest');
const rateLimited = () => stack.slack.calls.filter((c) => c.result.status === 429).length;

describe('storms', () => {
  it('a 60-alert storm of one detection: the critical cards first, everything else in one digest', async () => {
    const detection = { id: 'd-brute', agentId: null, name: 'Brute force on VPN', kind: 'cotool' };
    const crit = [];
    for (let i = 0; i < 60; i++) {
      const a = stack.cotool.addAlert({
        detection,
        severity: i % 20 === 7 ? 'critical' : 'medium',
        title: `VPN brute force ${i}`,
      });
      if (a.severity === 'critical') crit.push(a);
    }
    const bot = await stack.start('socket', { ...PACED, STORM_CARDS: '5' });
    const r = await bot.settle(30_000);
    expect(r).toMatchObject({ ok: true, queued: 3, digested: 57 });
    const ids = cards().map((c) => meta(c)?.event_payload?.alert_id);
    expect(ids).toEqual(crit.map((a) => a.id)); // criticals only: no high ones; mediums never card in a storm
    expect(digests()).toHaveLength(1);
    const digestText = JSON.stringify(digests()[0]?.blocks);
    expect(digestText).toContain('Brute force on VPN');
    // Every alert is represented: a card or an id in the digest.
    const all = stack.cotool.alerts();
    const carded = new Set(ids);
    const shown = new Set<number>();
    for (const m of digestText.matchAll(/COT-(\d+)(?:\s*[–-]\s*(?:COT-)?(\d+))?/g)) {
      const from = Number(m[1]);
      for (let n = from; n <= Number(m[2] ?? from); n++) shown.add(n);
    }
    const missing = all.filter((a) => !carded.has(a.id) && !shown.has(Number(a.displayId.slice(4))));
    expect(missing.map((a) => a.displayId)).toEqual([]);
    expect(rateLimited()).toBe(0);
    // The storm grows: the digest is edited in place, not posted again.
    for (let i = 0; i < 10; i++) stack.cotool.addAlert({ detection, severity: 'low' });
    await bot.settle(10_000);
    expect(digests()).toHaveLength(1);
    expect(stack.slack.callsOf('chat.update').length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(digests()[0]?.blocks)).toContain('67 alerts'); // 57 + 10 folded in (the cards are not in the digest)
    // A steady poll changes nothing anywhere.
    const before = stack.slack.calls.length;
    await bot.settle();
    expect(stack.slack.calls.length).toBe(before);
  });

  it('every id of a storm reaches Slack one by one: id lists in the digest thread, each posted once, also after a 5xx after Slack stored it', async () => {
    const add = (n: number) =>
      Array.from({ length: n }, (_, i) =>
        stack.cotool.addAlert({
          severity: 'low',
          detection: { id: `d-${i % 4}`, agentId: null, name: `Detection ${i % 4}`, kind: 'cotool' },
        }),
      );
    const first = add(1500);
    // The digest and the first id list are stored by Slack, but answered with a 500.
    stack.slack.failAfterCommit('chat.postMessage', 2, 500);
    const bot = await stack.start('socket', PACED, { unknownSettleMs: 20 });
    await bot.settle(30_000);
    await bot.settle(10_000);
    const listed = () =>
      (digests()[0]?.replies ?? [])
        .filter((r) => (r.metadata as { event_type?: string } | undefined)?.event_type === 'cotool_digest_ids')
        .flatMap((r) => [...JSON.stringify(r.blocks).matchAll(/`([^`]+)`/g)].map((m) => m[1]));
    expect(cards()).toHaveLength(0);
    expect(digests()).toHaveLength(1);
    expect(digests()[0]?.replies).toHaveLength(2); // 1,500 ids: two replies, none doubled
    expect(listed().sort()).toEqual(first.map((a) => a.displayId).sort());
    expect(stack.slack.callsOf('conversations.replies').length).toBeGreaterThanOrEqual(1); // looked up, found
    // The storm grows: its new ids follow in a new reply; none is listed twice.
    const more = add(300);
    await bot.settle(10_000);
    expect(digests()).toHaveLength(1);
    expect(digests()[0]?.replies).toHaveLength(3);
    expect(listed()).toHaveLength(1800);
    expect(listed().sort()).toEqual([...first, ...more].map((a) => a.displayId).sort());
    expect(rateLimited()).toBe(0);
    expect(await bot.store.listOutbox()).toEqual([]);
  });

  it('an escalation mid-storm jumps the queue', async () => {
    const old = stack.cotool.addAlert({ severity: 'low', title: 'carded before the storm' });
    const bot = await stack.start('socket', {
      ...PACED,
      SLACK_POST_RATE: '2',
      SLACK_POST_BURST: '1',
      STORM_THRESHOLD: '1000',
    });
    await bot.settle();
    expect(cards()).toHaveLength(1);
    for (let i = 0; i < 40; i++) stack.cotool.addAlert({ severity: 'medium' });
    await bot.poller.runOnce(); // 40 cards queued at 2/s: 20 s of work
    stack.cotool.updateAlert(old.id, { status: 'escalated' }, { actor: { type: 'agent', name: 'Aria' } });
    const t0 = Date.now();
    await bot.poller.runOnce();
    await eventually(
      () => (top().find((m) => meta(m)?.event_payload?.alert_id === old.id)?.replies.length ?? 0) > 0,
      5_000,
    );
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(cards().length).toBeLessThan(41); // the notice did not wait for the backlog
  });

  it('a restart mid-storm loses nothing and posts no second card or digest', async () => {
    for (let i = 0; i < 30; i++) stack.cotool.addAlert({ severity: i < 8 ? 'high' : 'low' });
    const env = { ...PACED, SLACK_POST_RATE: '2', SLACK_POST_BURST: '1', STORM_CARDS: '8' };
    const bot = await stack.start('socket', env);
    await bot.poller.runOnce();
    await eventually(() => top().length >= 2, 5_000);
    await bot.stop();
    const bot2 = await stack.start('socket', env);
    await bot2.settle(30_000);
    const ids = cards().map((c) => meta(c)?.event_payload?.alert_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(8);
    expect(digests()).toHaveLength(1);
    expect((await bot2.store.listOutbox()).length).toBe(0);
  });

  it('a first start over a big backlog is a storm like any other', async () => {
    for (let i = 0; i < 300; i++)
      stack.cotool.addAlert({ severity: 'high', status: i % 3 === 0 ? 'escalated' : 'open' });
    const bot = await stack.start('socket', {
      ...PACED,
      SLACK_POST_RATE: '50',
      SLACK_POST_BURST: '20',
      BACKLOG: 'all',
    });
    stack.slack.setRateLimits(null);
    await bot.settle(30_000);
    const posts = stack.slack.callsOf('chat.postMessage').length;
    // 20 cards (escalated first), each with its notice, one digest, and one reply in its thread
    // listing the 280 ids it holds.
    expect(cards()).toHaveLength(20);
    expect(digests()).toHaveLength(1);
    expect(digests()[0]?.replies).toHaveLength(1);
    expect(posts).toBe(42);
  });

  it('Slack still says 429: the sender waits Retry-After and nothing is lost', async () => {
    for (let i = 0; i < 6; i++) stack.cotool.addAlert();
    const bot = await stack.start('socket', { SLACK_POST_RATE: '50', SLACK_POST_BURST: '50' });
    stack.slack.setRateLimits({ postPerSecond: 2, postBurst: 2 });
    await bot.settle(20_000);
    expect(cards()).toHaveLength(6);
    expect(bot.sender.stats.rateLimited).toBeGreaterThanOrEqual(1);
  });
});
