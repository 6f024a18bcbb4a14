/**
 * "Open incident channel", end to end in Socket Mode and HTTP mode: the real bot against the fake
 * Cotool and the fake Slack (conversations.create / invite, bookmarks.add as strict as Slack's).
 * One channel per alert under double clicks, redeliveries and a second replica; its card kept in sync.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTIONS } from '../../src/slack/ids.ts';
import { BOB, createClicker, JANE, type Mode, notes, textOf, valueFor } from './actions-helpers.ts';
import { interactionBody, signedRequest } from './fakes/payloads.ts';
import { SLACK_TEST_IDS, type SlackThread } from './fakes/slack.ts';
import { CHANNEL, eventually, SIGNING_SECRET, type Stack, type StartedBot, startStack } from './harness.ts';

const ONCALL = { id: 'U0ONCALL', name: 'olly', real_name: 'Olly Oncall', display_name: 'Olly' };
const GROUPIE = { id: 'U0GROUP1', name: 'gina', real_name: 'Gina Group', display_name: 'Gina' };

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
  for (const u of [JANE, BOB, ONCALL, GROUPIE]) stack.slack.addUser(u);
  stack.slack.setUsergroup('S0SECOPS', [GROUPIE.id, JANE.id]);
});
afterEach(async () => {
  await stack.close();
});

const meta = (m: { metadata?: unknown }) =>
  m.metadata as { event_type?: string; event_payload?: Record<string, string> } | undefined;
const cardsIn = (channel: string): SlackThread[] =>
  stack.slack.messages(channel).filter((m) => meta(m)?.event_type === 'cotool_alert');
const created = () => stack.slack.callsOf('conversations.create').filter((c) => c.result.ok);
const comments = (alertId: string) =>
  (stack.cotool.getAlert(alertId)?.timeline ?? []).filter((e) => e.kind === 'comment').map((e) => e.bodyMarkdown);
/** The one channel the bot created. */
const roomId = () => stack.slack.channelByName(String(created()[0]?.args.name))?.id as string;
const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));

async function boot(mode: Mode, env: Record<string, string> = {}) {
  const a = stack.cotool.addAlert({ title: 'Impossible travel: jane@acme.io', severity: 'critical' });
  const bot = await stack.start(mode, { ESCALATION_MENTION: `${ONCALL.id},S0SECOPS,here`, ...env });
  await bot.settle();
  const card = () => {
    const c = cardsIn(CHANNEL)[0];
    if (!c) throw new Error('no card');
    return c;
  };
  return { a, bot, card, c: createClicker(stack, bot, mode) };
}

describe.each(['socket', 'http'] as const)('open a war room (%s mode)', (mode) => {
  it('click → one inc-cot-… channel: clicker and on-call invited, the card in it, a bookmark, a thread note, a Cotool comment', async () => {
    const { a, bot, card, c } = await boot(mode);
    const ack = await c.click(JANE.id, card().ts, ACTIONS.warRoom, valueFor(card(), ACTIONS.warRoom));
    expect(ack.ackMs).toBeLessThan(3_000);
    await eventually(() => notes(stack).some((n) => n.includes('Incident channel opened')));
    const name = `inc-${a.displayId.toLowerCase()}-impossible-travel-jane-acme-io`;
    const room = stack.slack.channelByName(name);
    expect(room).toBeDefined();
    const id = room?.id as string;
    expect(created()).toHaveLength(1);
    expect(notes(stack).join('\n')).toContain(`<#${id}>`);
    // The clicker, ESCALATION_MENTION's user and the members of its group (here is nobody).
    expect([...(room?.members ?? [])].sort()).toEqual([stack.slack.botUserId, JANE.id, ONCALL.id, GROUPIE.id].sort());
    expect(stack.slack.bookmarks(id)).toEqual([
      expect.objectContaining({
        title: `${a.displayId} in Cotool`,
        link: expect.stringContaining(`/alerts/${a.displayId}`),
      }),
    ]);
    // The card is posted in the war room, and the original card's thread links it.
    await eventually(() => cardsIn(id).length === 1);
    expect(meta(cardsIn(id)[0] as SlackThread)?.event_payload?.alert_id).toBe(a.id);
    await eventually(() => card().replies.some((r) => textOf(r).includes(`<#${id}>`)));
    expect(card().replies.filter((r) => textOf(r).includes(`<#${id}>`))).toHaveLength(1);
    expect(comments(a.id)).toEqual([
      `Note from Slack by Jane Doe (<@U0JANE>): Opened the incident channel #${name} (https://${SLACK_TEST_IDS.teamDomain}.slack.com/archives/${id}) for this alert.`,
    ]);
    expect((await bot.metrics.render()).match(/^cotool_slack_war_rooms_opened_total (\d+)/m)?.[1]).toBe('1');
    // A later poll leaves everything as it is.
    await bot.settle();
    expect(cardsIn(id)).toHaveLength(1);
    expect(created()).toHaveLength(1);
  });

  it('a double click and a redelivery → still one channel; the second click is pointed to it', async () => {
    const { card, c } = await boot(mode);
    const value = valueFor(card(), ACTIONS.warRoom);
    const payload = c.payload(JANE.id, card().ts, ACTIONS.warRoom, value);
    // Slack takes its time creating the channel: the clicks overlap.
    stack.slack.setDelay('conversations.create', 300);
    await Promise.all([c.deliver(payload), c.deliver(payload), c.click(BOB.id, card().ts, ACTIONS.warRoom, value)]);
    await eventually(() => notes(stack).length >= 2);
    await settle();
    expect(created()).toHaveLength(1);
    const id = { id: roomId() };
    const told = notes(stack).join('\n');
    expect(told).toMatch(/Incident channel opened/);
    expect(told).toMatch(/already open|being opened by someone else/);
    // Later clicks point to it and bring the clicker in.
    await c.click(BOB.id, card().ts, ACTIONS.warRoom, value);
    await eventually(() => notes(stack).some((n) => n.includes('already open') && n.includes(`<#${id.id}>`)));
    expect(stack.slack.channelByName(String(created()[0]?.args.name))?.members).toContain(BOB.id);
    expect(created()).toHaveLength(1);
    await eventually(() => cardsIn(id.id).length === 1);
  });

  it('a workspace that forbids channel creation → a clear message, nothing recorded', async () => {
    const { a, bot, card, c } = await boot(mode);
    stack.slack.setChannelCreation(false);
    await c.click(JANE.id, card().ts, ACTIONS.warRoom, valueFor(card(), ACTIONS.warRoom));
    await eventually(() => notes(stack).length === 1);
    expect(notes(stack)[0]).toContain('does not let the bot create channels');
    expect(await bot.store.getWarRoom(a.id)).toBeNull();
    expect(comments(a.id)).toEqual([]);
    expect(card().replies).toEqual([]);
  });

  it('a change in Cotool → the war room’s card is updated too', async () => {
    const { a, bot, card, c } = await boot(mode);
    await c.click(JANE.id, card().ts, ACTIONS.warRoom, valueFor(card(), ACTIONS.warRoom));
    await eventually(() => created().length === 1);
    const id = roomId();
    await eventually(() => cardsIn(id).length === 1);
    await bot.sender.whenIdle();
    stack.cotool.updateAlert(
      a.id,
      { title: 'Impossible travel: confirmed' },
      { actor: { type: 'human', name: 'Ana' } },
    );
    await bot.settle();
    await eventually(() => textOf(cardsIn(id)[0]?.blocks).includes('Impossible travel: confirmed'));
    expect(textOf(card().blocks)).toContain('Impossible travel: confirmed');
    expect(cardsIn(id)).toHaveLength(1);
  });
});

describe.each(['socket', 'http'] as const)('the war room’s card after a change made from Slack (%s mode)', (mode) => {
  it('escalated from the original card → the war room’s card shows it at the next poll, without paging again', async () => {
    const { bot, card, c } = await boot(mode);
    await c.click(JANE.id, card().ts, ACTIONS.warRoom, valueFor(card(), ACTIONS.warRoom));
    await eventually(() => created().length === 1);
    const id = roomId();
    await eventually(() => cardsIn(id).length === 1);
    // The Cotool comment moved the alert on: the next poll redraws both cards from it.
    await eventually(() => notes(stack).some((n) => n.includes('Incident channel opened')));
    await bot.settle();
    await c.click(JANE.id, card().ts, ACTIONS.escalate, valueFor(card(), ACTIONS.escalate));
    await eventually(() => textOf(card().blocks).includes('*Escalated* by Jane Doe'));
    await bot.settle();
    await eventually(() => textOf(cardsIn(id)[0]?.blocks).includes('*Escalated* by Jane Doe'));
    const notices = (t: SlackThread | undefined) =>
      (t?.replies ?? []).filter((r) => meta(r)?.event_type === 'cotool_escalation');
    expect(notices(cardsIn(id)[0])).toEqual([]);
    expect(notices(card())).toEqual([]);
  });
});

describe('a second replica', () => {
  /** A click delivered to one replica: its own HTTP port, or its own socket. */
  async function clickOn(bot: StartedBot, mode: Mode, payload: Record<string, unknown>, client: number) {
    if (mode === 'socket') return stack.slack.sendEnvelope('interactive', payload, { client, timeoutMs: 10_000 });
    return signedRequest(`http://127.0.0.1:${bot.port}/slack/events`, {
      body: interactionBody(payload),
      contentType: 'application/x-www-form-urlencoded',
      signingSecret: SIGNING_SECRET,
    });
  }

  it.each(['socket', 'http'] as const)(
    'two replicas on one database, a click on each at once → one channel (%s mode)',
    async (mode) => {
      const a = stack.cotool.addAlert({ title: 'Impossible travel' });
      const env = { ESCALATION_MENTION: ONCALL.id };
      const one = await stack.start(mode, env, { leaseTtlMs: 1_000 });
      const two = await stack.start(mode, env, { leaseTtlMs: 1_000 });
      const leader = one.leadership.isLeader() ? one : two;
      await leader.settle();
      const card = cardsIn(CHANNEL)[0] as SlackThread;
      const c = createClicker(stack, one, mode);
      const value = valueFor(card, ACTIONS.warRoom);
      // Slack takes its time creating the channel: the two replicas' clicks overlap.
      stack.slack.setDelay('conversations.create', 300);
      await Promise.all([
        clickOn(one, mode, c.payload(JANE.id, card.ts, ACTIONS.warRoom, value), 0),
        clickOn(two, mode, c.payload(BOB.id, card.ts, ACTIONS.warRoom, value), 1),
      ]);
      await eventually(() => notes(stack).length === 2);
      await settle();
      expect(created()).toHaveLength(1);
      expect(notes(stack).filter((n) => n.includes('Incident channel opened'))).toHaveLength(1);
      expect(comments(a.id)).toHaveLength(1);
      // A click later, on either replica, points to the same channel.
      await clickOn(two, mode, c.payload(BOB.id, card.ts, ACTIONS.warRoom, value), 1);
      await eventually(() => notes(stack).length === 3);
      expect(notes(stack)[2]).toContain('already open');
      expect(created()).toHaveLength(1);
      const id = roomId();
      await leader.sender.whenIdle();
      await eventually(() => cardsIn(id).length === 1);
    },
  );
});
