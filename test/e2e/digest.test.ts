/**
 * The storm digest's buttons, end to end: the real bot (in-process) against the fake Cotool and the
 * fake Slack, in Socket Mode and in HTTP mode. The storm is set up directly in the bot's store (its
 * members and posted digest), as the poller would leave it; what counts is what reaches Cotool, what
 * the store records and what the clicking analyst sees.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Alert, isLive } from '../../src/core/alert.ts';
import { digestOf, groupOf, parseTallies } from '../../src/core/digest.ts';
import type { StormMember } from '../../src/core/records.ts';
import { decodeDigestButton } from '../../src/slack/digest-payloads.ts';
import { DIGEST_ACTIONS, DIGEST_BLOCKS, DIGEST_INPUTS, DIGEST_VIEWS } from '../../src/slack/ids.ts';
import { renderDigest } from '../../src/slack/views/digest.ts';
import { BOB, createClicker, GUEST, JANE, type Mode, notes, statusPosts, textOf } from './actions-helpers.ts';
import type { SlackMessage, SlackView } from './fakes/slack.ts';
import { CHANNEL, eventually, type Stack, startStack } from './harness.ts';

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
});
afterEach(async () => {
  await stack.close();
});

const STORM = 'storm-C0ALERTS-e2e';
const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));

type Obj = Record<string, unknown>;
/** The value of the button `actionId` in the group block `digest.group.<index>.*` (or any block). */
function buttonValue(msg: SlackMessage | undefined, actionId: string, blockPrefix?: string): string {
  for (const b of (msg?.blocks ?? []) as Obj[]) {
    if (blockPrefix && !String(b.block_id).startsWith(blockPrefix)) continue;
    const els = [...((b.elements ?? []) as Obj[]), ...(b.accessory ? [b.accessory as Obj] : [])];
    for (const e of els) if (e.action_id === actionId && typeof e.value === 'string') return e.value;
  }
  throw new Error(`no ${actionId} button`);
}

async function boot(mode: Mode) {
  stack.slack.addUser(JANE);
  stack.slack.addUser(BOB);
  stack.slack.addUser(GUEST);
  // One detection fires 12 times (one already closed in Cotool meanwhile), another twice.
  const det = { id: 'det-okta', agentId: null, name: 'Okta push <!channel> spam', kind: 'cotool' };
  const noisy = Array.from({ length: 12 }, () => stack.cotool.addAlert({ detection: det, severity: 'medium' }));
  const quiet = Array.from({ length: 2 }, () => stack.cotool.addAlert({}));
  const bot = await stack.start(mode);
  const member = (a: (typeof noisy)[number]): StormMember => {
    const g = groupOf(a as unknown as Alert);
    return {
      stormId: STORM,
      alertId: a.id,
      displayId: a.displayId,
      groupKey: g.key,
      groupName: g.name,
      severity: a.severity,
      status: a.status,
      title: a.title,
      createdAt: a.createdAt,
      updatedAt: a.updatedAt,
    };
  };
  const members = [...noisy, ...quiet].map(member);
  const now = Date.now();
  await bot.store.apply([{ storm: { op: 'open', id: STORM, channel: CHANNEL, at: now }, members }]);
  const storm = await bot.store.getStorm(STORM);
  if (!storm) throw new Error('no storm');
  const view = renderDigest(storm, digestOf(members), new Map(), { now });
  const ts = stack.slack.addMessage(CHANNEL, {
    text: view.text,
    blocks: view.blocks as Obj[],
    user: stack.slack.botUserId,
    bot_id: stack.slack.botId,
  });
  await bot.store.apply([{ storm: { op: 'posted', id: STORM, ts } }]);
  const digest = () => stack.slack.message(CHANNEL, ts);
  return { bot, ts, noisy, quiet, digest, c: createClicker(stack, bot, mode) };
}

/** The close-all modal once filled in with the form. */
const filledView = () =>
  eventually(() =>
    stack.slack
      .views()
      .find((v) => v.callback_id === DIGEST_VIEWS.closeAll && textOf(v.blocks).includes('"type":"input"')),
  ) as Promise<SlackView>;
const ephemeralAnswers = () => stack.slack.responses().map((r) => r.body);

describe.each(['socket', 'http'] as const)('storm digest buttons (%s mode)', (mode) => {
  it('Show alerts answers with a paged ephemeral list with View buttons; Next replaces it', async () => {
    const { ts, digest, c } = await boot(mode);
    const ack = await c.click(JANE.id, ts, DIGEST_ACTIONS.showAlerts, buttonValue(digest(), DIGEST_ACTIONS.showAlerts));
    expect(ack.ackMs).toBeLessThan(3_000);
    const first = (await eventually(() =>
      ephemeralAnswers().find((b) => textOf(b.blocks).includes('lookup.view.')),
    )) as Obj;
    expect(first.response_type).toBe('ephemeral');
    expect(first.replace_original).toBe(false);
    const text = textOf(first.blocks);
    expect(text).toContain('12 alerts · 12 live · showing 1–10');
    expect(text).toContain('Okta push &lt;!channel&gt; spam');
    expect((text.match(/lookup\.view\.\d/g) ?? []).length).toBe(10);
    // Next: the page travels in the button and comes back checked.
    const next = (first.blocks as Obj[])
      .flatMap((b) => (b.elements ?? []) as Obj[])
      .find((e) => e.action_id === DIGEST_ACTIONS.pageNext);
    expect(decodeDigestButton(next?.value)).toMatchObject({ ok: true, value: { p: 1 } });
    await c.click(JANE.id, ts, DIGEST_ACTIONS.pageNext, String(next?.value));
    const second = (await eventually(() =>
      ephemeralAnswers().find((b) => textOf(b.blocks).includes('showing 11–12')),
    )) as Obj;
    expect(second.replace_original).toBe(true);
    // View on a row opens the alert as /cotool COT-… would.
    const view = (first.blocks as Obj[]).find((b) => b.block_id === `${DIGEST_BLOCKS.listRow}0`)?.accessory as Obj;
    await c.click(JANE.id, ts, String(view.action_id), String(view.value));
    await eventually(() => ephemeralAnswers().some((b) => textOf(b.blocks).includes('lookup.timeline')));
    expect(stack.slack.calls.filter((x) => !x.result.ok)).toEqual([]);
  });

  it('Close all → modal with the count → reason → one POST per live alert naming the analyst; the tally is stored', async () => {
    const { bot, ts, noisy, digest, c } = await boot(mode);
    // One alert of the group was closed in Cotool meanwhile, another raised to critical: neither is posted.
    const [closedMeanwhile, raised] = noisy;
    stack.cotool.updateAlert(closedMeanwhile?.id as string, { status: 'closed_true_positive_benign' });
    stack.cotool.updateAlert(raised?.id as string, { severity: 'critical' });
    const value = buttonValue(digest(), DIGEST_ACTIONS.closeAll, `${DIGEST_BLOCKS.group}0`);
    const ack = await c.click(JANE.id, ts, DIGEST_ACTIONS.closeAll, value);
    expect(ack.ackMs).toBeLessThan(3_000);
    const form = await filledView();
    expect(textOf(form.blocks)).toContain('*12 live alerts* of *Okta push &lt;!channel&gt; spam*');
    await c.submit(JANE.id, form, {
      [DIGEST_BLOCKS.closeReason]: { [DIGEST_INPUTS.closeReason]: 'Okta test tenant noise' },
    });
    await eventually(() => textOf(stack.slack.view(form.id)?.blocks).includes('The digest shows the tally'), 15_000);
    const posts = statusPosts(stack);
    expect(posts).toHaveLength(10);
    expect(new Set(posts.map((p) => p.path)).size).toBe(10);
    for (const p of posts) {
      expect(p.body).toMatchObject({ status: 'closed_false_positive' });
      expect(String((p.body as Obj).reason)).toMatch(
        /^Closed as false positive from Slack by Jane Doe \(<@U0JANE>\) in bulk from the alert-storm digest \(C0ALERTS, https:\/\/acme\.slack\.com\/archives\/C0ALERTS\/p\d+\): Okta test tenant noise$/,
      );
    }
    expect(
      posts.some((p) => p.path.includes(closedMeanwhile?.id as string) || p.path.includes(raised?.id as string)),
    ).toBe(false);
    const tally = parseTallies((await bot.store.getStorm(STORM))?.tally).get('det-okta');
    expect(tally).toMatchObject({
      state: 'done',
      by: { id: JANE.id, name: 'Jane Doe' },
      total: 12,
      closed: 10,
      alreadyClosed: 1,
      changedSince: 1,
      failed: [],
    });
    const members = await bot.store.stormMembers(STORM);
    expect(members.filter((m) => m.groupKey === 'det-okta' && isLive(m.status))).toHaveLength(1);
    expect(textOf(stack.slack.view(form.id)?.blocks)).toContain(
      'Closed 10 · already closed 1 · changed since 1 · failed 0',
    );
    // A second analyst is told it was done, by whom; nothing more reaches Cotool.
    await c.click(BOB.id, ts, DIGEST_ACTIONS.closeAll, value);
    await eventually(() =>
      stack.slack.views().some((v) => textOf(v.blocks).includes('was already closed as false positive by Jane Doe')),
    );
    await settle();
    expect(statusPosts(stack)).toHaveLength(10);
  });

  it('two submits of the form (two analysts) run it once', async () => {
    const { ts, digest, c } = await boot(mode);
    const value = buttonValue(digest(), DIGEST_ACTIONS.closeAll, `${DIGEST_BLOCKS.group}0`);
    await c.click(JANE.id, ts, DIGEST_ACTIONS.closeAll, value);
    const janeForm = await filledView();
    await c.click(BOB.id, ts, DIGEST_ACTIONS.closeAll, value);
    const bobForm = (await eventually(() =>
      stack.slack
        .views()
        .find(
          (v) =>
            v.id !== janeForm.id &&
            v.callback_id === DIGEST_VIEWS.closeAll &&
            textOf(v.blocks).includes('"type":"input"'),
        ),
    )) as SlackView;
    const values = { [DIGEST_BLOCKS.closeReason]: { [DIGEST_INPUTS.closeReason]: 'noise' } };
    await Promise.all([c.submit(JANE.id, janeForm, values), c.submit(BOB.id, bobForm, values)]);
    await eventually(() => statusPosts(stack).length === 12, 15_000);
    await eventually(() =>
      [janeForm.id, bobForm.id].every((id) => !textOf(stack.slack.view(id)?.blocks).includes('Closing up to')),
    );
    await settle();
    expect(statusPosts(stack)).toHaveLength(12);
    const outcomes = [janeForm.id, bobForm.id].map((id) => textOf(stack.slack.view(id)?.blocks));
    expect(outcomes.filter((t) => t.includes('The digest shows the tally'))).toHaveLength(1);
    expect(
      outcomes.filter((t) =>
        /was already closed as false positive by|is already being closed|being closed by someone else/.test(t),
      ),
    ).toHaveLength(1);
  });

  it('a guest is refused: the modal says why and Cotool is not called', async () => {
    const { ts, digest, c } = await boot(mode);
    const before = stack.cotool.requests.length;
    await c.click(GUEST.id, ts, DIGEST_ACTIONS.closeAll, buttonValue(digest(), DIGEST_ACTIONS.closeAll));
    await eventually(() => stack.slack.views().some((v) => textOf(v.blocks).includes('Guest accounts cannot')));
    await c.click(GUEST.id, ts, DIGEST_ACTIONS.showAlerts, buttonValue(digest(), DIGEST_ACTIONS.showAlerts));
    await eventually(() => notes(stack).some((t) => t.includes('Guest accounts cannot')));
    expect(stack.cotool.requests.length).toBe(before);
  });

  it('a tampered button value is refused as out of date', async () => {
    const { ts, c } = await boot(mode);
    await c.click(JANE.id, ts, DIGEST_ACTIONS.closeAll, '{"v":1,"k":"close","s":"storm 1","g":"x"}');
    await eventually(() => notes(stack).some((t) => t.includes('This digest button is out of date')));
    expect(stack.slack.views()).toEqual([]);
  });
});
