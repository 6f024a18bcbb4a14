/**
 * The alert's story, end to end, in Socket Mode and HTTP mode: "Add note" saves one comment naming
 * the analyst (a refused user saves none); with SYNC_THREAD_REPLIES a person's reply in the card's
 * thread becomes one comment — also when Slack delivers the event twice — and a bot's reply none;
 * indicators copy out of a posted card intact; `/cotool stats` answers. The real bot against the fake
 * Cotool and the fake Slack; what counts is what reaches Cotool and what Slack shows.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTIONS, BLOCKS, INPUTS, VIEWS } from '../../src/slack/ids.ts';
import { assertIndicatorIntact, INDICATORS } from '../slack/indicators.ts';
import { BOB, createClicker, GUEST, JANE, type Mode, notes, textOf, valueFor } from './actions-helpers.ts';
import { eventCallback, formBody, signedRequest, slackTs, slashCommandPayload } from './fakes/payloads.ts';
import type { SlackThread, SlackView } from './fakes/slack.ts';
import { CHANNEL, eventually, SIGNING_SECRET, type Stack, type StartedBot, startStack } from './harness.ts';

type Obj = Record<string, unknown>;

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
});
afterEach(async () => {
  await stack.close();
});

const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));
const comments = () => stack.cotool.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/comments'));
const bodies = () => comments().map((r) => String((r.body as { bodyMarkdown?: unknown }).bodyMarkdown));

/** Starts the bot, polls once and waits for the card: the sender posts it after runOnce resolves. */
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
  await bot.poller.runOnce();
  const card = (await eventually(
    () => stack.slack.messages(CHANNEL).find((m) => textOf(m.blocks).includes(a.displayId)),
    10_000,
  )) as SlackThread;
  return {
    a,
    bot,
    card: () => stack.slack.messages(CHANNEL).find((m) => m.ts === card.ts) as SlackThread,
    c: createClicker(stack, bot, mode),
  };
}

function eventSender(bot: StartedBot, mode: Mode) {
  return async (event: Obj, opts: { eventId?: string; retry?: number } = {}) => {
    const body = eventCallback(event, opts.eventId ? { eventId: opts.eventId } : {});
    if (mode === 'socket') {
      return stack.slack.sendEnvelope(
        'events_api',
        body,
        opts.retry ? { retryAttempt: opts.retry, retryReason: 'timeout' } : {},
      );
    }
    const res = await signedRequest(`http://127.0.0.1:${bot.port}/slack/events`, {
      body: JSON.stringify(body),
      contentType: 'application/json',
      signingSecret: SIGNING_SECRET,
      ...(opts.retry
        ? { headers: { 'x-slack-retry-num': String(opts.retry), 'x-slack-retry-reason': 'http_timeout' } }
        : {}),
    });
    expect(res.status).toBe(200);
    return res;
  };
}

/** A reply in the card's thread, stored in the fake Slack and shaped as Slack's message event. */
function threadReply(cardTs: string, o: { user?: string; text: string; bot?: boolean; subtype?: string }): Obj {
  const ts = stack.slack.addMessage(CHANNEL, {
    thread_ts: cardTs,
    text: o.text,
    ...(o.bot ? { bot_id: 'B0OTHER', user: 'U0OTHERBOT', subtype: 'bot_message' } : { user: o.user ?? JANE.id }),
  });
  return {
    type: 'message',
    channel: CHANNEL,
    channel_type: 'channel',
    ts,
    thread_ts: cardTs,
    text: o.text,
    ...(o.bot ? { bot_id: 'B0OTHER', subtype: 'bot_message', username: 'Other bot' } : { user: o.user ?? JANE.id }),
    ...(o.subtype ? { subtype: o.subtype } : {}),
  };
}

const filledView = (callbackId: string) =>
  eventually(() =>
    stack.slack.views().find((v) => v.callback_id === callbackId && textOf(v.blocks).includes('"type":"input')),
  ) as Promise<SlackView>;

describe.each(['socket', 'http'] as const)('notes and thread replies (%s mode)', (mode) => {
  it('Add note saves one comment naming the analyst and notes it quietly in the thread; a refused user saves none', async () => {
    const { a, card, c } = await boot(mode);
    await c.click(JANE.id, card().ts, ACTIONS.addNote, valueFor(card(), ACTIONS.addNote));
    const view = await filledView(VIEWS.noteModal);
    const ack = await c.submit(JANE.id, view, {
      [BLOCKS.noteText]: { [INPUTS.noteText]: 'Checked the VPN logs <!channel>' },
    });
    expect(ack.body).toMatchObject({ response_action: 'update' });
    await eventually(() => comments().length === 1);
    expect(comments()[0]?.path).toBe(`/api/alerts/${a.id}/comments`);
    expect(bodies()).toEqual(['Note from Slack by Jane Doe (<@U0JANE>): Checked the VPN logs <!channel>']);
    await eventually(() => (card().replies ?? []).length === 1);
    expect(card().replies[0]).toMatchObject({ thread_ts: card().ts });
    expect(textOf(card().replies[0])).toContain('&lt;!channel&gt;');

    // A guest: the form says why, and Cotool gets nothing.
    await c.click(GUEST.id, card().ts, ACTIONS.addNote, valueFor(card(), ACTIONS.addNote));
    await eventually(() =>
      stack.slack
        .views()
        .some((v) => v.callback_id === VIEWS.noteModal && textOf(v.blocks).includes('Guest accounts cannot')),
    );
    await settle();
    expect(comments()).toHaveLength(1);
  });

  it('SYNC_THREAD_REPLIES: a person’s reply becomes one comment (also when Slack delivers it twice), marked ✅; bots’ replies and edits none', async () => {
    const { a, bot, card } = await boot(mode, { SYNC_THREAD_REPLIES: 'true' });
    const send = eventSender(bot, mode);
    const reply = threadReply(card().ts, {
      text: 'Asked <@U0BOB> — see <https://wiki.example/runbook?a=1&amp;b=2|the runbook>, host 203.0.113.7',
    });
    await send(reply, { eventId: 'Ev0REPLY1' });
    await send(reply, { eventId: 'Ev0REPLY1', retry: 1 });
    await eventually(() => comments().length === 1);
    await eventually(() => textOf(stack.slack.message(CHANNEL, String(reply.ts))).includes('white_check_mark'));
    expect(comments()[0]?.path).toBe(`/api/alerts/${a.id}/comments`);
    expect(bodies()).toEqual([
      'Reply in Slack by Jane Doe (<@U0JANE>): Asked @Bob — see the runbook (https://wiki.example/runbook?a=1&b=2), host 203.0.113.7',
    ]);
    // A bot's reply, an edit and a deletion are left alone.
    await send(threadReply(card().ts, { text: 'automated note', bot: true }));
    await send({
      type: 'message',
      subtype: 'message_changed',
      channel: CHANNEL,
      channel_type: 'channel',
      ts: slackTs(),
      message: { type: 'message', user: JANE.id, text: 'edited', ts: reply.ts, thread_ts: card().ts },
      previous_message: { type: 'message', user: JANE.id, text: 'x', ts: reply.ts, thread_ts: card().ts },
    });
    await send({
      type: 'message',
      subtype: 'message_deleted',
      channel: CHANNEL,
      channel_type: 'channel',
      ts: slackTs(),
      deleted_ts: reply.ts,
    });
    // A reply outside any card's thread is not the bot's business.
    const other = stack.slack.addMessage(CHANNEL, { text: 'lunch?', user: BOB.id });
    await send(threadReply(other, { text: 'yes', user: BOB.id }));
    await settle(500);
    expect(comments()).toHaveLength(1);
    // The synced reply is not echoed back into the thread by the bot.
    expect(card().replies.filter((r) => r.bot_id === stack.slack.botId)).toEqual([]);
  });

  it('SYNC_THREAD_REPLIES: a refused person’s reply is not saved; they are told privately with a reference', async () => {
    const { card, bot } = await boot(mode, { SYNC_THREAD_REPLIES: 'true' });
    await eventSender(bot, mode)(threadReply(card().ts, { user: GUEST.id, text: 'closing this' }));
    await eventually(() => notes(stack, GUEST.id).length === 1);
    expect(notes(stack, GUEST.id)[0]).toMatch(/Guest accounts cannot.*not saved to Cotool\. \(ref `[0-9a-f]{8}`\)/);
    await settle();
    expect(comments()).toEqual([]);
  });

  it('indicators in alerts copy out of the posted cards intact', async () => {
    // The card shows the first lines of a description: ten indicators a card.
    const chunks: string[][] = [];
    for (let i = 0; i < INDICATORS.length; i += 10) chunks.push(INDICATORS.slice(i, i + 10));
    for (const [i, chunk] of chunks.entries()) {
      stack.cotool.addAlert({ title: `${chunk[0]} seen on host ${i}`, description: chunk.join('\n') });
    }
    const { card } = await boot(mode, {}, { title: 'bob@heretic.io signed in from 203.0.113.7' });
    assertIndicatorIntact(card(), 'bob@heretic.io', 'card title');
    const cards = (await eventually(() => {
      const all = stack.slack.messages(CHANNEL);
      return all.length === chunks.length + 1 ? all : null;
    }, 10_000)) as SlackThread[];
    for (const [i, chunk] of chunks.entries()) {
      const posted = cards.find((m) => textOf(m.blocks).includes(`seen on host ${i}`));
      for (const ind of chunk) assertIndicatorIntact(posted, ind, `card ${i} description`);
    }
  });

  it('/cotool stats answers with the noise report; a refused user gets why', async () => {
    const { bot } = await boot(
      mode,
      {},
      { detection: { id: 'd-okta', agentId: null, name: 'Okta push storm', kind: 'cotool' } },
    );
    stack.cotool.addAlert({
      detection: { id: 'd-okta', agentId: null, name: 'Okta push storm', kind: 'cotool' },
      status: 'closed_false_positive',
    });
    const ask = async (text: string, user: string) => {
      const responseUrl = stack.slack.responseUrl();
      const payload = slashCommandPayload({ text, user, channel: CHANNEL, responseUrl });
      if (mode === 'socket') await stack.slack.sendEnvelope('slash_commands', payload);
      else {
        const res = await signedRequest(`http://127.0.0.1:${bot.port}/slack/events`, {
          body: formBody(payload),
          contentType: 'application/x-www-form-urlencoded',
          signingSecret: SIGNING_SECRET,
        });
        expect(res.status).toBe(200);
      }
      return (await eventually(() =>
        stack.slack.responses(responseUrl).find((r) => r.body.replace_original === true),
      )) as { body: Obj };
    };
    const answer = await ask('stats', JANE.id);
    const text = textOf(answer.body);
    expect(text).toContain('Noise report · last 7 days');
    expect(text).toContain('Okta push storm');
    expect(text).toContain('*2* alerts · false positive 1 · benign 0 · true positive 0 · open 1');
    expect(textOf((await ask('stats 30d', JANE.id)).body)).toContain('last 30 days');
    expect(textOf((await ask('stats', GUEST.id)).body)).toContain('Guest accounts cannot');
  });
});
