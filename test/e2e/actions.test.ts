/**
 * Triage from the card, end to end: the real bot (in-process) against the fake Cotool and the fake
 * Slack, in Socket Mode and in HTTP mode. Clicks and modal submissions are delivered the way Slack
 * delivers them; what counts is what reaches Cotool and what Slack ends up showing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTIONS, BLOCKS, INPUTS, VIEWS } from '../../src/slack/ids.ts';
import {
  BOB,
  createClicker,
  GUEST,
  JANE,
  type Mode,
  notes,
  patches,
  statusPosts,
  textOf,
  valueFor,
} from './actions-helpers.ts';
import { eventCallback, selectValue, slashCommandPayload } from './fakes/payloads.ts';
import type { SlackView } from './fakes/slack.ts';
import { CHANNEL, eventually, type Stack, startStack } from './harness.ts';

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
});
afterEach(async () => {
  await stack.close();
});

const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));

async function boot(
  mode: Mode,
  env: Record<string, string> = {},
  alert: Parameters<Stack['cotool']['addAlert']>[0] = {},
) {
  stack.slack.addUser(JANE);
  stack.slack.addUser(BOB);
  stack.slack.addUser(GUEST);
  const a = stack.cotool.addAlert(alert);
  const bot = await stack.start(mode, env);
  await bot.settle();
  const card = () => {
    const c = stack.slack.messages(CHANNEL)[0];
    if (!c) throw new Error('no card');
    return c;
  };
  return { a, bot, card, c: createClicker(stack, bot, mode) };
}

const cardText = () => textOf(stack.slack.messages(CHANNEL)[0]?.blocks);
const replies = () => stack.slack.messages(CHANNEL)[0]?.replies ?? [];
/** The modal with this callback id once the bot has filled it in (it opens as "Loading…"). */
const filledView = (callbackId: string) =>
  eventually(() =>
    stack.slack.views().find((v) => v.callback_id === callbackId && textOf(v.blocks).includes('"type":"input')),
  ) as Promise<SlackView>;
const viewText = (id: string) => textOf(stack.slack.view(id)?.blocks);

describe.each(['socket', 'http'] as const)('triage from the card (%s mode)', (mode) => {
  it('close as false positive → one POST naming the analyst → card closed by them, one quiet thread reply', async () => {
    const { a, card, c, bot } = await boot(mode);
    const ack = await c.click(JANE.id, card().ts, ACTIONS.closeFp, valueFor(card(), ACTIONS.closeFp));
    expect(ack.ackMs).toBeLessThan(3_000);
    await eventually(() => cardText().includes('Closed as false positive* by Jane Doe'));
    await eventually(() => replies().length === 1);
    await settle();
    const posts = statusPosts(stack);
    expect(posts).toHaveLength(1);
    expect(posts[0]?.path).toBe(`/api/alerts/${a.id}/status`);
    expect(posts[0]?.body).toEqual({
      status: 'closed_false_positive',
      reason: 'Closed as false positive from Slack by Jane Doe (<@U0JANE>)',
    });
    expect(stack.cotool.getAlert(a.id)?.status).toBe('closed_false_positive');
    // The card now offers only Reopen, carrying the new version of the alert.
    expect(cardText()).toContain(ACTIONS.reopen);
    expect(cardText()).not.toContain(ACTIONS.closeFp);
    const reply = stack.slack.callsOf('chat.postMessage').find((x) => x.args.thread_ts);
    expect(reply?.args).toMatchObject({ thread_ts: card().ts, reply_broadcast: false });
    expect(textOf(replies()[0])).toContain('<@U0JANE> closed *COT-');
    expect(textOf(replies()[0])).not.toMatch(/<!(channel|here|everyone)|subteam/);
    // Nothing else to say: the card and the thread say it.
    expect(notes(stack)).toEqual([]);
    expect(stack.slack.calls.filter((x) => !x.result.ok)).toEqual([]);
    // A later poll keeps "by Jane Doe" and does not redo the update.
    const updates = stack.slack.callsOf('chat.update').length;
    await bot.settle();
    expect(stack.slack.callsOf('chat.update').length).toBe(updates);
    expect(cardText()).toContain('by Jane Doe');
  });

  it('two analysts clicking at once → one POST; the other is told why nothing happened', async () => {
    const { card, c } = await boot(mode);
    const value = valueFor(card(), ACTIONS.closeFp);
    const ts = card().ts;
    await Promise.all([c.click(JANE.id, ts, ACTIONS.closeFp, value), c.click(BOB.id, ts, ACTIONS.closeFp, value)]);
    await eventually(() => cardText().includes('Closed as false positive'));
    await eventually(() => notes(stack).length === 1);
    await settle();
    expect(statusPosts(stack)).toHaveLength(1);
    expect(notes(stack)[0]).toMatch(/already being changed by someone else|already closed as false positive/);
    expect(replies()).toHaveLength(1);
  });

  it('the same interaction delivered twice → one POST', async () => {
    const { card, c } = await boot(mode);
    const payload = c.payload(JANE.id, card().ts, ACTIONS.closeFp, valueFor(card(), ACTIONS.closeFp));
    await c.deliver(payload);
    await c.deliver(payload);
    await eventually(() => cardText().includes('Closed as false positive'));
    await settle();
    expect(statusPosts(stack)).toHaveLength(1);
    expect(replies()).toHaveLength(1);
  });

  it('a guest and someone outside the channel are refused with a reason, and Cotool is not called', async () => {
    const { card, c, bot } = await boot(mode);
    stack.slack.setMembers(CHANNEL, [stack.slack.botUserId, JANE.id, GUEST.id]);
    const before = stack.cotool.requests.length;
    await c.click(GUEST.id, card().ts, ACTIONS.closeFp, valueFor(card(), ACTIONS.closeFp));
    await c.click(BOB.id, card().ts, ACTIONS.escalate, valueFor(card(), ACTIONS.escalate));
    await eventually(() => notes(stack).length === 2);
    const told = notes(stack).join('\n');
    expect(told).toContain('Guest accounts cannot see or change Cotool alerts');
    expect(told).toContain(`Only members of <#${CHANNEL}>`);
    expect(stack.cotool.requests.length).toBe(before);
    expect(bot.logs.some((l) => l.includes('"userId":"U0GUEST"') && l.includes('refused'))).toBe(true);
    expect(bot.logs.some((l) => l.includes('"userId":"U0BOB"') && l.includes('refused'))).toBe(true);
    expect(cardText()).toContain(ACTIONS.closeFp);
  });

  it('a stale card is refused, says what changed, and is redrawn', async () => {
    const { a, card, c } = await boot(mode);
    const oldValue = valueFor(card(), ACTIONS.closeFp);
    stack.cotool.updateAlert(
      a.id,
      { status: 'closed_true_positive_benign' },
      { actor: { type: 'human', name: 'Ana' } },
    );
    await c.click(JANE.id, card().ts, ACTIONS.closeFp, oldValue);
    await eventually(() => notes(stack).length === 1);
    expect(notes(stack)[0]).toContain('was closed as benign by Ana since this card was drawn');
    expect(notes(stack)[0]).toContain('nothing was changed');
    expect(statusPosts(stack)).toHaveLength(0);
    await eventually(() => cardText().includes('Closed · Benign'));
    expect(stack.cotool.getAlert(a.id)?.status).toBe('closed_true_positive_benign');
  });

  it('reason modal: inline errors, then a close with the analyst’s words; the modal shows the outcome', async () => {
    const { a, card, c } = await boot(mode);
    await c.click(JANE.id, card().ts, ACTIONS.more, valueFor(card(), ACTIONS.more, 'close_reason'), { overflow: true });
    const view = await filledView(VIEWS.closeModal);
    const blank = await c.submit(JANE.id, view, {
      [BLOCKS.closeDisposition]: { [INPUTS.closeDisposition]: selectValue('true_positive_benign') },
      [BLOCKS.closeReason]: { [INPUTS.closeReason]: '   ' },
    });
    expect(blank.ackMs).toBeLessThan(3_000);
    expect(blank.body).toMatchObject({
      response_action: 'errors',
      errors: { [BLOCKS.closeReason]: expect.any(String) },
    });
    const ok = await c.submit(JANE.id, view, {
      [BLOCKS.closeDisposition]: { [INPUTS.closeDisposition]: selectValue('true_positive_benign') },
      [BLOCKS.closeReason]: { [INPUTS.closeReason]: 'Known internal scanner <!channel>' },
    });
    expect(ok.body).toMatchObject({ response_action: 'update' });
    await eventually(() => viewText(view.id).includes('closed as benign'));
    expect(statusPosts(stack).map((p) => p.body)).toEqual([
      {
        status: 'closed_true_positive_benign',
        reason: 'Closed as benign from Slack by Jane Doe (<@U0JANE>): Known internal scanner <!channel>',
      },
    ]);
    expect(stack.cotool.getAlert(a.id)?.status).toBe('closed_true_positive_benign');
    await eventually(() => cardText().includes('Closed as benign* by Jane Doe'));
    await eventually(() => replies().length === 1);
    // The analyst's words are quoted in the thread, escaped.
    expect(textOf(replies()[0])).toContain('Known internal scanner &lt;!channel&gt;');
  });

  it('Cotool 403 (missing alert.triage), 404 and 500 → the right note; nothing changes', async () => {
    const { a, card, c, bot } = await boot(mode);
    stack.cotool.setForbidden(['alert.triage'], { method: 'POST' });
    await c.click(JANE.id, card().ts, ACTIONS.closeFp, valueFor(card(), ACTIONS.closeFp));
    await eventually(() => notes(stack).length === 1);
    expect(notes(stack)[0]).toContain('The Cotool API key lacks `alert.triage`');
    stack.cotool.clearFailures();

    stack.cotool.failNext(1, { status: 500, body: { error: 'boom' } }, { method: 'POST' });
    await c.click(JANE.id, card().ts, ACTIONS.closeFp, valueFor(card(), ACTIONS.closeFp));
    await eventually(() => notes(stack).length === 2);
    const failed = notes(stack)[1] ?? '';
    expect(failed).toContain('Cotool did not answer — nothing was changed');
    const ref = /ref `([0-9a-f]{8})`/.exec(failed)?.[1];
    expect(ref).toBeDefined();
    expect(bot.logs.some((l) => l.includes(`"ref":"${ref}"`))).toBe(true);
    expect(statusPosts(stack)).toHaveLength(2); // one each, never retried
    expect(stack.cotool.getAlert(a.id)?.status).toBe('open');

    stack.cotool.removeAlert(a.id);
    await c.click(JANE.id, card().ts, ACTIONS.closeFp, valueFor(card(), ACTIONS.closeFp));
    await eventually(() => notes(stack).length === 3);
    expect(notes(stack)[2]).toMatch(/COT-\d+ was not found in Cotool/);
    await eventually(() => cardText().includes('no longer exists in Cotool'));
    expect(statusPosts(stack)).toHaveLength(2);
  });

  it('acknowledges within 3 s while Cotool takes 5 s to answer', async () => {
    const { card, c } = await boot(mode, { COTOOL_TIMEOUT_MS: '10000' });
    stack.cotool.setDelay(5_000, { method: 'POST' });
    const started = Date.now();
    const ack = await c.click(JANE.id, card().ts, ACTIONS.closeFp, valueFor(card(), ACTIONS.closeFp));
    expect(ack.ackMs).toBeLessThan(3_000);
    expect(Date.now() - started).toBeLessThan(3_000);
    await eventually(() => cardText().includes('Closed as false positive'), 15_000);
    expect(statusPosts(stack)).toHaveLength(1);
  });
});

describe('triage from the card: more flows (Socket Mode)', () => {
  it('a second click on the old card after the first went through → "already closed … by Jane", one POST', async () => {
    const { card, c } = await boot('socket');
    const value = valueFor(card(), ACTIONS.closeFp);
    const ts = card().ts;
    await c.click(JANE.id, ts, ACTIONS.closeFp, value);
    await eventually(() => replies().length === 1);
    await c.click(BOB.id, ts, ACTIONS.closeFp, value);
    await eventually(() => notes(stack).length === 1);
    expect(notes(stack)[0]).toContain('is already closed as false positive by Jane Doe');
    expect(statusPosts(stack)).toHaveLength(1);
    expect(replies()).toHaveLength(1);
  });

  it('escalate, mark in progress (overflow), reopen: each one POST with the analyst named; no broadcast', async () => {
    const { a, card, c, bot } = await boot('socket');
    await c.click(JANE.id, card().ts, ACTIONS.escalate, valueFor(card(), ACTIONS.escalate));
    await eventually(() => cardText().includes('*Escalated* by Jane Doe'));
    expect(cardText()).not.toContain(ACTIONS.escalate);
    await c.click(BOB.id, card().ts, ACTIONS.more, valueFor(card(), ACTIONS.more, 'in_progress'), { overflow: true });
    await eventually(() => stack.cotool.getAlert(a.id)?.status === 'in_progress');
    await eventually(() => cardText().includes('Marked in progress by Bob'));
    await c.click(JANE.id, card().ts, ACTIONS.closeTp, valueFor(card(), ACTIONS.closeTp));
    await eventually(() => cardText().includes(ACTIONS.reopen));
    await c.click(JANE.id, card().ts, ACTIONS.reopen, valueFor(card(), ACTIONS.reopen));
    await eventually(() => stack.cotool.getAlert(a.id)?.status === 'open');
    await eventually(() => cardText().includes(ACTIONS.closeFp));
    expect(statusPosts(stack).map((p) => (p.body as { reason: string }).reason)).toEqual([
      'Escalated from Slack by Jane Doe (<@U0JANE>)',
      'Marked in progress from Slack by Bob (<@U0BOB>)',
      'Closed as true positive from Slack by Jane Doe (<@U0JANE>)',
      'Reopened from Slack by Jane Doe (<@U0JANE>)',
    ]);
    await eventually(() => replies().length === 4);
    // The poller neither re-announces the escalation nor redraws what the click already drew.
    const updates = stack.slack.callsOf('chat.update').length;
    await bot.settle();
    expect(stack.slack.callsOf('chat.update').length).toBe(updates);
    expect(stack.slack.callsOf('chat.postMessage').filter((x) => x.args.reply_broadcast === true)).toHaveLength(0);
  });

  it('SLACK_ALLOWED_USERS / SLACK_ALLOWED_USERGROUPS decide who may act', async () => {
    stack.slack.setUsergroup('S0SOC', [BOB.id]);
    const { card, c } = await boot('socket', { SLACK_ALLOWED_USERS: 'U0NOBODY', SLACK_ALLOWED_USERGROUPS: 'S0SOC' });
    await c.click(JANE.id, card().ts, ACTIONS.closeFp, valueFor(card(), ACTIONS.closeFp));
    await eventually(() => notes(stack).length === 1);
    expect(notes(stack)[0]).toContain('You are not allowed to see or change Cotool alerts');
    expect(notes(stack)[0]).toContain('<!subteam^S0SOC>');
    expect(statusPosts(stack)).toHaveLength(0);
    await c.click(BOB.id, card().ts, ACTIONS.closeFp, valueFor(card(), ACTIONS.closeFp));
    await eventually(() => cardText().includes('Closed as false positive* by Bob'));
    expect(statusPosts(stack)).toHaveLength(1);
  });

  it('CLOSE_REASON_REQUIRED=true: a close button opens the reason modal with its disposition chosen', async () => {
    const { card, c } = await boot('socket', { CLOSE_REASON_REQUIRED: 'true' });
    await c.click(JANE.id, card().ts, ACTIONS.closeFp, valueFor(card(), ACTIONS.closeFp));
    const view = await filledView(VIEWS.closeModal);
    expect(textOf(view.blocks)).toContain('"initial_option":{"text":{"type":"plain_text","text":"False positive"');
    await settle();
    expect(statusPosts(stack)).toHaveLength(0);
    // Escalating needs no reason.
    await c.click(JANE.id, card().ts, ACTIONS.escalate, valueFor(card(), ACTIONS.escalate));
    await eventually(() => statusPosts(stack).length === 1);
  });

  it('CLOSE_REASON_REQUIRED=true: close buttons of a /cotool answer and of the App Home open the form, no confirm', async () => {
    const { a } = await boot('socket', { CLOSE_REASON_REQUIRED: 'true' }, { status: 'escalated' });
    const closeButtons = (blocks: unknown) =>
      ((blocks ?? []) as Array<{ type: string; elements?: Array<Record<string, unknown>> }>)
        .flatMap((b) => (b.type === 'actions' ? (b.elements ?? []) : []))
        .filter((e) => [ACTIONS.closeFp, ACTIONS.closeBenign, ACTIONS.closeTp].includes(e.action_id as never));
    // The channel card, the /cotool answer and the App Home all agree.
    expect(closeButtons(stack.slack.messages(CHANNEL)[0]?.blocks)).toHaveLength(3);
    const responseUrl = stack.slack.responseUrl();
    await stack.slack.sendEnvelope(
      'slash_commands',
      slashCommandPayload({ text: a.displayId, user: JANE.id, channel: CHANNEL, responseUrl }),
    );
    const answer = await eventually(() => stack.slack.responses(responseUrl)[0]);
    await stack.slack.sendEnvelope(
      'events_api',
      eventCallback({ type: 'app_home_opened', user: JANE.id, channel: 'D0JANE', tab: 'home' }),
    );
    const home = await eventually(() =>
      stack.slack.views().find((v) => v.type === 'home' && v.published_for === JANE.id),
    );
    for (const blocks of [stack.slack.messages(CHANNEL)[0]?.blocks, answer?.body.blocks, home?.blocks]) {
      expect(closeButtons(blocks)).toHaveLength(3);
      for (const b of closeButtons(blocks)) expect(b).not.toHaveProperty('confirm');
    }
  });

  it('edit modal: prefilled; only the changed title is sent; the thread says old → new', async () => {
    const { a, card, c } = await boot('socket', {}, { title: 'Old <b>title</b>', description: 'Keep me' });
    await c.click(JANE.id, card().ts, ACTIONS.more, valueFor(card(), ACTIONS.more, 'edit'), { overflow: true });
    const view = await filledView(VIEWS.editModal);
    expect(textOf(view.blocks)).toContain('"initial_value":"Old <b>title</b>"');
    expect(textOf(view.blocks)).toContain('"initial_value":"Keep me"');
    const bad = await c.submit(JANE.id, view, {
      [BLOCKS.editTitle]: { [INPUTS.editTitle]: '  ' },
      [BLOCKS.editDescription]: { [INPUTS.editDescription]: 'Keep me' },
    });
    expect(bad.body).toMatchObject({ response_action: 'errors', errors: { [BLOCKS.editTitle]: expect.any(String) } });
    await c.submit(JANE.id, view, {
      [BLOCKS.editTitle]: { [INPUTS.editTitle]: 'New title' },
      [BLOCKS.editDescription]: { [INPUTS.editDescription]: 'Keep me' },
    });
    await eventually(() => viewText(view.id).includes('Saved the title'));
    expect(patches(stack).map((p) => p.body)).toEqual([{ title: 'New title' }]);
    expect(stack.cotool.getAlert(a.id)?.description).toBe('Keep me');
    await eventually(() => cardText().includes('New title'));
    await eventually(() => replies().length === 1);
    expect(textOf(replies()[0])).toContain('renamed *COT-');
    expect(textOf(replies()[0])).toContain('“Old &lt;b&gt;title&lt;/b&gt;” → “New title”');
    expect(cardText()).toContain('Edited by Jane Doe');
  });

  it('edit modal: a description over 3,000 characters is shown read-only and never sent', async () => {
    const long = `${'Indicator list. '.repeat(400)}END`;
    const { a, card, c } = await boot('socket', {}, { description: long });
    await c.click(JANE.id, card().ts, ACTIONS.more, valueFor(card(), ACTIONS.more, 'edit'), { overflow: true });
    const view = await filledView(VIEWS.editModal);
    expect(textOf(view.blocks)).not.toContain(INPUTS.editDescription);
    expect(textOf(view.blocks)).toContain(
      `${long.length.toLocaleString('en-US')} characters, too long to edit in Slack`,
    );
    await c.submit(JANE.id, view, { [BLOCKS.editTitle]: { [INPUTS.editTitle]: 'Renamed' } });
    await eventually(() => patches(stack).length === 1);
    expect(patches(stack)[0]?.body).toEqual({ title: 'Renamed' });
    await eventually(() => viewText(view.id).includes('Saved the title'));
    expect(stack.cotool.getAlert(a.id)?.description).toBe(long);
  });

  it('edit modal: changing only the description sends only the description', async () => {
    const { a, card, c } = await boot('socket', {}, { description: 'Before' });
    await c.click(JANE.id, card().ts, ACTIONS.more, valueFor(card(), ACTIONS.more, 'edit'), { overflow: true });
    const view = await filledView(VIEWS.editModal);
    const title = stack.cotool.getAlert(a.id)?.title ?? '';
    await c.submit(JANE.id, view, {
      [BLOCKS.editTitle]: { [INPUTS.editTitle]: title },
      [BLOCKS.editDescription]: { [INPUTS.editDescription]: 'After: *confirmed* benign' },
    });
    await eventually(() => replies().length === 1);
    expect(patches(stack).map((p) => p.body)).toEqual([{ description: 'After: *confirmed* benign' }]);
    expect(textOf(replies()[0])).toContain('edited the description of *COT-');
  });

  it('a form submitted after the alert changed is shown again with what was typed; nothing is sent', async () => {
    const { a, card, c } = await boot('socket');
    await c.click(JANE.id, card().ts, ACTIONS.more, valueFor(card(), ACTIONS.more, 'close_reason'), { overflow: true });
    const view = await filledView(VIEWS.closeModal);
    stack.cotool.updateAlert(a.id, { status: 'escalated' }, { actor: { type: 'agent', name: 'Aria' } });
    await c.submit(JANE.id, view, {
      [BLOCKS.closeDisposition]: { [INPUTS.closeDisposition]: selectValue('false_positive') },
      [BLOCKS.closeReason]: { [INPUTS.closeReason]: 'Benign scanner' },
    });
    await eventually(() => viewText(view.id).includes('changed since you opened this form'));
    expect(viewText(view.id)).toContain('"initial_value":"Benign scanner"');
    expect(viewText(view.id)).toContain('it is now Escalated by Aria');
    expect(statusPosts(stack)).toHaveLength(0);
  });

  it('a value that does not decode → "out of date", no Cotool call, no crash', async () => {
    const { card, c, bot } = await boot('socket');
    const before = stack.cotool.requests.length;
    await c.click(JANE.id, card().ts, ACTIONS.closeFp, `task-${'x'.repeat(20)}`);
    // A valid value moved to another button is refused the same way.
    await c.click(JANE.id, card().ts, ACTIONS.closeTp, valueFor(card(), ACTIONS.closeFp));
    await eventually(() => notes(stack).length === 2);
    for (const n of notes(stack)) expect(n).toContain('This card is out of date');
    expect(stack.cotool.requests.length).toBe(before);
    expect(bot.logs.some((l) => l.includes('"level":40') && l.includes('does not decode'))).toBe(true);
  });

  it('a click on an ephemeral copy of the card (a lookup answer) redraws it and the channel card', async () => {
    const { card, c } = await boot('socket');
    const payload = c.payload(JANE.id, '1795000000.000100', ACTIONS.closeFp, valueFor(card(), ACTIONS.closeFp));
    Object.assign(payload, {
      container: { type: 'message', message_ts: '1795000000.000100', channel_id: CHANNEL, is_ephemeral: true },
      response_url: stack.slack.responseUrl(),
    });
    await c.deliver(payload);
    await eventually(() => cardText().includes('Closed as false positive* by Jane Doe'));
    const redrawn = await eventually(() => stack.slack.responses().find((r) => r.body.replace_original === true));
    expect(textOf(redrawn?.body.blocks)).toContain('Closed as false positive');
  });

  /** A click on a card shown in the App Home: no channel, no message, no response_url. */
  const homeClick = (
    c: ReturnType<typeof createClicker>,
    user: string,
    ts: string,
    actionId: string,
    value: string,
  ) => {
    const payload = c.payload(user, ts, actionId, value);
    for (const k of ['channel', 'message', 'response_url']) delete payload[k];
    Object.assign(payload, {
      container: { type: 'view', view_id: 'V0HOME' },
      view: { id: 'V0HOME', type: 'home', blocks: [], callback_id: '', private_metadata: '', hash: '1.a' },
    });
    return c.deliver(payload);
  };
  /** What the app said to a user in their direct messages with it. */
  const dmsTo = (user: string) => stack.slack.messages(`D${user.slice(1)}`).map((m) => m.text);

  it('a click from the App Home updates the channel card and answers by direct message', async () => {
    const { card, c } = await boot('socket');
    await homeClick(c, JANE.id, card().ts, ACTIONS.escalate, valueFor(card(), ACTIONS.escalate));
    await eventually(() => cardText().includes('*Escalated* by Jane Doe'));
    await eventually(() => dmsTo(JANE.id).length === 1);
    const [dm] = dmsTo(JANE.id);
    expect(dm).toContain('escalated');
    expect(stack.slack.ephemerals(CHANNEL)).toEqual([]);
  });

  it('App Home: someone allowed by SLACK_ALLOWED_USERS but not in the alert channel still hears "stale"', async () => {
    const { a, card, c, bot } = await boot('socket', { SLACK_ALLOWED_USERS: BOB.id });
    stack.slack.setMembers(CHANNEL, [stack.slack.botUserId, JANE.id]);
    const stale = valueFor(card(), ACTIONS.escalate);
    stack.cotool.updateAlert(a.id, { status: 'in_progress' }, { actor: { type: 'agent', name: 'Aria' } });
    await homeClick(c, BOB.id, card().ts, ACTIONS.escalate, stale);
    await eventually(() => dmsTo(BOB.id).length === 1);
    const [dm] = dmsTo(BOB.id);
    expect(dm).toContain('since this card was drawn, so nothing was changed');
    expect(statusPosts(stack)).toHaveLength(0);
    expect(bot.logs.some((l) => l.includes('"level":40') && l.includes('could not tell the user'))).toBe(false);
  });
});
