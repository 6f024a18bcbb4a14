/**
 * Muting a noisy detection, end to end: the real bot against the fake Cotool and the fake Slack, in
 * Socket Mode and in HTTP mode. Mute from a card → the channel is told who muted what, until when
 * and why, and Cotool has a comment saying so; new alerts of that detection get no card — one quiet
 * message counts them and its thread lists every id — except critical ones; one that escalates later
 * gets its card and is tallied; Unmute (from `/cotool mutes`) ends it with the tally. Expiry is
 * announced once with two replicas running, and a restart keeps the mute.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTIONS, BLOCKS, INPUTS, VIEWS } from '../../src/slack/ids.ts';
import { createClicker, JANE, type Mode, textOf, valueFor } from './actions-helpers.ts';
import {
  eventCallback,
  formBody,
  selectValue,
  signedRequest,
  slashCommandPayload,
  type ViewStateValue,
} from './fakes/payloads.ts';
import type { SlackThread, SlackView } from './fakes/slack.ts';
import { CHANNEL, eventually, SIGNING_SECRET, type Stack, type StartedBot, startStack } from './harness.ts';

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
  stack.slack.addUser(JANE);
});
afterEach(async () => {
  await stack.close();
});

const DETECTION = { id: 'd-travel', agentId: null, name: 'Impossible travel', kind: 'cotool' };
type Obj = Record<string, unknown>;
const meta = (m: SlackThread) =>
  m.metadata as { event_type?: string; event_payload?: Record<string, string> } | undefined;
const top = () => stack.slack.messages(CHANNEL);
const cards = () => top().filter((m) => meta(m)?.event_type === 'cotool_alert');
const muteMessages = () => top().filter((m) => meta(m)?.event_type === 'cotool_mute');
const endMessages = () => top().filter((m) => meta(m)?.event_type === 'cotool_mute_end');
/** Every code span in the mute message's thread: the ids it lists. */
const listedIds = (m: SlackThread | undefined) =>
  (m?.replies ?? [])
    .filter((r) => (r.metadata as { event_type?: string } | undefined)?.event_type === 'cotool_mute_ids')
    .flatMap((r) => [...textOf(r.blocks).matchAll(/`([^`]+)`/g)].map((x) => x[1]));
const comments = () => stack.cotool.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/comments'));

const filledMuteModal = () =>
  eventually(() =>
    stack.slack.views().find((v) => v.callback_id === VIEWS.muteModal && textOf(v.blocks).includes('"type":"input')),
  ) as Promise<SlackView>;

/** Mutes the detection of the channel's first card, as Jane, from the card's button. */
async function muteFromCard(
  bot: StartedBot,
  mode: Mode,
  choice: { duration: '1h' | '4h' | '24h' | 'until'; untilSec?: number },
  reason = 'pentest this afternoon',
) {
  const c = createClicker(stack, bot, mode);
  const card = cards()[0];
  if (!card) throw new Error('no card');
  const ack = await c.click(JANE.id, card.ts, ACTIONS.mute, valueFor(card, ACTIONS.mute));
  expect(ack.ackMs).toBeLessThan(3_000);
  const modal = await filledMuteModal();
  const values: Record<string, Record<string, string | ViewStateValue>> = {
    [BLOCKS.muteDuration]: { [INPUTS.muteDuration]: selectValue(choice.duration) },
    [BLOCKS.muteUntil]: {
      [INPUTS.muteUntil]: { type: 'datetimepicker', selected_date_time: choice.untilSec ?? null },
    },
    [BLOCKS.muteReason]: { [INPUTS.muteReason]: reason },
  };
  await c.submit(JANE.id, modal, values);
  await eventually(() => textOf(stack.slack.view(modal.id)?.blocks).includes('Muted'));
  return modal;
}

/** `/cotool <text>` as Jane in the alert channel, either mode; resolves with the answer's body. */
async function command(bot: StartedBot, mode: Mode, text: string): Promise<Obj> {
  const responseUrl = stack.slack.responseUrl();
  const payload = slashCommandPayload({ text, user: JANE.id, channel: CHANNEL, responseUrl });
  if (mode === 'socket') await stack.slack.sendEnvelope('slash_commands', payload);
  else {
    const res = await signedRequest(`http://127.0.0.1:${bot.port}/slack/events`, {
      body: formBody(payload),
      contentType: 'application/x-www-form-urlencoded',
      signingSecret: SIGNING_SECRET,
    });
    expect(res.status).toBe(200);
  }
  const answer = await eventually(() =>
    stack.slack.responses(responseUrl).find((r) => r.body.replace_original === true && Array.isArray(r.body.blocks)),
  );
  if (!answer) throw new Error('no answer');
  return { ...answer.body, responseUrl };
}

/** An Events API event (the App Home opened), either mode. */
async function sendEvent(bot: StartedBot, mode: Mode, event: Obj): Promise<void> {
  const body = eventCallback(event);
  if (mode === 'socket') {
    await stack.slack.sendEnvelope('events_api', body);
    return;
  }
  const res = await signedRequest(`http://127.0.0.1:${bot.port}/slack/events`, {
    body: JSON.stringify(body),
    contentType: 'application/json',
    signingSecret: SIGNING_SECRET,
  });
  expect(res.status).toBe(200);
}

describe.each(['socket', 'http'] as const)('mute a noisy detection (%s mode)', (mode) => {
  it('mute from a card → announced with who, why and until, and a Cotool comment; 30 new alerts → no cards, one counter at 30, every id in its thread; a critical one breaks through; one escalating later gets its card and the tally; Unmute → the end with the tally', async () => {
    const first = stack.cotool.addAlert({ detection: DETECTION, severity: 'high', title: 'Travel: jane' });
    const bot = await stack.start(mode);
    await bot.settle();
    expect(cards()).toHaveLength(1);

    await muteFromCard(bot, mode, { duration: '4h' });
    await bot.settle();
    // The announcement: who, why, until; and the Cotool comment on the alert it was made from.
    expect(muteMessages()).toHaveLength(1);
    const announced = textOf(muteMessages()[0]?.blocks);
    expect(announced).toContain('<@U0JANE>');
    expect(announced).toContain('pentest this afternoon');
    expect(announced).toContain('Impossible travel');
    expect(announced).toMatch(/<!date\^\d+\^/); // until, in the reader's time zone
    expect(announced).toContain('0 alerts');
    const comment = comments().find((r) => r.path === `/api/alerts/${first.id}/comments`);
    expect(JSON.stringify(comment?.body)).toContain('muted from Slack by Jane Doe (<@U0JANE>)');
    expect(JSON.stringify(comment?.body)).toContain('for 4 hours');
    expect(JSON.stringify(comment?.body)).toContain('pentest this afternoon');

    // The App Home lists it, with Unmute.
    await sendEvent(bot, mode, { type: 'app_home_opened', user: JANE.id, channel: 'D0JANE', tab: 'home' });
    const home = await eventually(() =>
      stack.slack.views().find((v) => v.type === 'home' && v.published_for === JANE.id),
    );
    expect(textOf(home?.blocks)).toContain('Impossible travel');
    expect(textOf(home?.blocks)).toContain(ACTIONS.unmute);

    // 30 new alerts of that detection, and a critical one.
    const held = Array.from({ length: 30 }, (_, i) =>
      stack.cotool.addAlert({ detection: DETECTION, severity: i % 2 ? 'high' : 'medium' }),
    );
    const critical = stack.cotool.addAlert({ detection: DETECTION, severity: 'critical' });
    const other = stack.cotool.addAlert({ detection: { ...DETECTION, id: 'd-other', name: 'Other' } });
    const r = await bot.settle();
    expect(r.muted).toBe(30);
    expect(cards().map((m) => meta(m)?.event_payload?.alert_id)).toEqual([first.id, critical.id, other.id]);
    expect(muteMessages()).toHaveLength(1);
    expect(textOf(muteMessages()[0]?.blocks)).toContain('30 alerts');
    expect(listedIds(muteMessages()[0]).sort()).toEqual(held.map((a) => a.displayId).sort());
    const metrics = await (await fetch(`http://127.0.0.1:${bot.port}/metrics`)).text();
    expect(metrics).toMatch(/^cotool_slack_alerts_muted_total 30$/m);
    expect(metrics).toMatch(/^cotool_slack_mutes_active 1$/m);
    // A steady poll changes nothing.
    const calls = stack.slack.calls.length;
    await bot.settle();
    expect(stack.slack.calls.length).toBe(calls);

    // One of them escalates: its card, and the tally says so.
    const late = held[7];
    if (!late) throw new Error('no alert');
    stack.cotool.updateAlert(late.id, { status: 'escalated' }, { actor: { type: 'agent', name: 'Aria' } });
    await bot.settle();
    expect(cards().map((m) => meta(m)?.event_payload?.alert_id)).toContain(late.id);
    expect(textOf(muteMessages()[0]?.blocks)).toContain('1 escalated');

    // /cotool mutes lists it with Unmute; Unmute ends it and the channel is told the tally.
    const list = await command(bot, mode, 'mutes');
    expect(textOf(list.blocks)).toContain('Impossible travel');
    const unmute = ((list.blocks as Obj[]) ?? [])
      .map((b) => b.accessory as Obj | undefined)
      .find((a) => a?.action_id === ACTIONS.unmute);
    expect(unmute).toBeDefined();
    const c = createClicker(stack, bot, mode);
    const click = c.payload(JANE.id, '1795000001.000100', ACTIONS.unmute, String(unmute?.value));
    (click.container as Obj).is_ephemeral = true;
    click.response_url = String(list.responseUrl);
    await c.deliver(click);
    await eventually(() => endMessages().length === 1);
    await bot.settle();
    expect(endMessages()).toHaveLength(1);
    const ended = textOf(endMessages()[0]?.blocks);
    expect(ended).toContain('30 alerts');
    expect(ended).toContain('1 escalated');
    expect(ended).toContain('<@U0JANE>');
    // Unmuted: the next alert of that detection gets its card again.
    const after = stack.cotool.addAlert({ detection: DETECTION, severity: 'medium' });
    await bot.settle();
    expect(cards().map((m) => meta(m)?.event_payload?.alert_id)).toContain(after.id);
    expect(textOf(muteMessages()[0]?.blocks)).toContain('30 alerts'); // the counter stays as it ended
  });
});

describe('a mute across restarts and replicas', () => {
  it('the announcement is posted once after a 5xx Slack had committed; a restart keeps the mute; its expiry is announced once with two replicas running', async () => {
    stack.cotool.addAlert({ detection: DETECTION, severity: 'high' });
    const bot = await stack.start('socket', {}, { unknownSettleMs: 20 });
    await bot.settle();
    const untilSec = Math.ceil(Date.now() / 1000) + 6;
    // Slack stores the announcement but answers 500: it is looked up by its metadata, not posted again.
    stack.slack.failAfterCommit('chat.postMessage', 1, 500);
    await muteFromCard(bot, 'socket', { duration: 'until', untilSec });
    await bot.settle();
    await eventually(async () => !(await bot.store.listOutbox()).some((i) => i.kind.startsWith('mute')));
    expect(muteMessages()).toHaveLength(1);
    expect(stack.slack.callsOf('conversations.history').length).toBeGreaterThanOrEqual(1);
    await bot.stop();

    // Restarted (and a second replica beside it): the mute still holds.
    const one = await stack.start('socket', {}, { leaseTtlMs: 1_000 });
    const two = await stack.start('socket', {}, { leaseTtlMs: 1_000 });
    const quiet = stack.cotool.addAlert({ detection: DETECTION, severity: 'low' });
    await Promise.all([one.settle(), two.settle()]);
    expect(cards()).toHaveLength(1);
    expect(listedIds(muteMessages()[0])).toEqual([quiet.displayId]);

    // The time runs out: both replicas poll; one announcement.
    await new Promise((r) => setTimeout(r, Math.max(0, untilSec * 1000 - Date.now() + 200)));
    for (let i = 0; i < 3; i++) await Promise.all([one.settle(), two.settle()]);
    await eventually(() => endMessages().length === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(endMessages()).toHaveLength(1);
    expect(textOf(endMessages()[0]?.blocks)).toContain('1 alert');
    // No longer muted: the next alert gets its card.
    const loud = stack.cotool.addAlert({ detection: DETECTION, severity: 'low' });
    await Promise.all([one.settle(), two.settle()]);
    expect(cards().map((m) => meta(m)?.event_payload?.alert_id)).toContain(loud.id);
  });
});

describe('mute from a storm digest', () => {
  it('a digest group’s “Mute detection…” mutes that detection in the storm’s channel; its next alerts are held back, not folded into the digest', async () => {
    for (let i = 0; i < 12; i++) stack.cotool.addAlert({ detection: DETECTION, severity: 'low' });
    const bot = await stack.start('socket', { STORM_THRESHOLD: '5', STORM_CARDS: '0' });
    await bot.settle();
    const digest = top().find((m) => meta(m)?.event_type === 'cotool_digest');
    if (!digest) throw new Error('no digest');
    const c = createClicker(stack, bot, 'socket');
    const button = ((digest.blocks ?? []) as Obj[])
      .flatMap((b) => ((b.elements ?? []) as Obj[]).concat(b.accessory ? [b.accessory as Obj] : []))
      .find((e) => e.action_id === ACTIONS.digestMute);
    expect(button).toBeDefined();
    await c.click(JANE.id, digest.ts, ACTIONS.digestMute, String(button?.value));
    const modal = await filledMuteModal();
    await c.submit(JANE.id, modal, {
      [BLOCKS.muteDuration]: { [INPUTS.muteDuration]: selectValue('1h') },
      [BLOCKS.muteUntil]: { [INPUTS.muteUntil]: { type: 'datetimepicker', selected_date_time: null } },
      [BLOCKS.muteReason]: { [INPUTS.muteReason]: 'known noisy rule' },
    });
    await eventually(() => textOf(stack.slack.view(modal.id)?.blocks).includes('Muted'));
    await bot.settle();
    expect(muteMessages()).toHaveLength(1);
    expect(comments()).toHaveLength(1); // on one of the group's alerts
    const later = Array.from({ length: 3 }, () => stack.cotool.addAlert({ detection: DETECTION, severity: 'low' }));
    const r = await bot.settle();
    expect(r.muted).toBe(3);
    expect(listedIds(muteMessages()[0]).sort()).toEqual(later.map((a) => a.displayId).sort());
  });
});
