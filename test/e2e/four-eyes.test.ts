/**
 * Four eyes end to end, in Socket Mode and HTTP mode (FOUR_EYES_SEVERITIES=critical): the requester's
 * click alone changes nothing in Cotool and posts a request in the card's thread; the requester's own
 * approval is refused; a second person's approval makes exactly one status change naming both; two
 * approvals at once still make one; the reason modal is gated too; a change in Cotool cancels it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTIONS, BLOCKS, FOUR_EYES_ACTIONS, INPUTS, VIEWS } from '../../src/slack/ids.ts';
import { BOB, createClicker, JANE, type Mode, notes, statusPosts, textOf, valueFor } from './actions-helpers.ts';
import { selectValue } from './fakes/payloads.ts';
import type { SlackMessage, SlackThread, SlackView } from './fakes/slack.ts';
import { CHANNEL, eventually, type Stack, startStack } from './harness.ts';

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
});
afterEach(async () => {
  await stack.close();
});

const SAM = { id: 'U0SAM', name: 'sam', real_name: 'Sam Roe', display_name: 'Sam Roe' };
const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));

async function boot(mode: Mode, alert: Parameters<Stack['cotool']['addAlert']>[0] = {}) {
  for (const u of [JANE, BOB, SAM]) stack.slack.addUser(u);
  const a = stack.cotool.addAlert({ severity: 'critical', ...alert });
  const bot = await stack.start(mode, { FOUR_EYES_SEVERITIES: 'critical' });
  await bot.poller.runOnce();
  // The sender posts the card after the poll has written it to the outbox.
  const first = (await eventually(
    () => stack.slack.messages(CHANNEL).find((m) => textOf(m.blocks).includes(a.displayId)),
    10_000,
  )) as SlackThread;
  const card = () => stack.slack.messages(CHANNEL).find((m) => m.ts === first.ts) as SlackThread;
  /** The request message in the card's thread (the one with the four-eyes blocks). */
  const request = () =>
    card().replies.find((r) => textOf(r.blocks).includes('alert.four_eyes.request')) as SlackMessage;
  return { a, bot, card, request, c: createClicker(stack, bot, mode) };
}

describe.each(['socket', 'http'] as const)('four eyes (%s mode)', (mode) => {
  it('the requester alone changes nothing; their own approval is refused; a second person’s approval makes one change naming both', async () => {
    const { a, card, request, c } = await boot(mode);
    await c.click(JANE.id, card().ts, ACTIONS.closeFp, valueFor(card(), ACTIONS.closeFp));
    await eventually(() => request());
    await eventually(() => notes(stack).some((n) => n.includes('needs a second person')));
    expect(statusPosts(stack)).toEqual([]);
    expect(stack.cotool.getAlert(a.id)?.status).toBe('open');
    expect(textOf(request())).toContain(`*Jane Doe* asks to close *${a.displayId}* as false positive`);
    expect(request().reply_broadcast).not.toBe(true);

    // The requester cannot approve.
    await c.click(JANE.id, request().ts, FOUR_EYES_ACTIONS.approve, valueFor(request(), FOUR_EYES_ACTIONS.approve));
    await eventually(() => notes(stack).some((n) => n.includes('someone else must approve')));
    await settle();
    expect(statusPosts(stack)).toEqual([]);

    // A second person approves: exactly one status change, naming both.
    const approve = valueFor(request(), FOUR_EYES_ACTIONS.approve);
    await Promise.all([
      c.click(SAM.id, request().ts, FOUR_EYES_ACTIONS.approve, approve),
      c.click(BOB.id, request().ts, FOUR_EYES_ACTIONS.approve, approve),
    ]);
    await eventually(() => stack.cotool.getAlert(a.id)?.status === 'closed_false_positive');
    await eventually(() => textOf(request()).includes('Approved by'));
    await settle(500);
    const posts = statusPosts(stack);
    expect(posts).toHaveLength(1);
    const reason = String((posts[0]?.body as { reason?: string } | undefined)?.reason);
    expect(reason).toMatch(
      /^Closed as false positive from Slack by Jane Doe \(<@U0JANE>\), approved by (Sam Roe \(<@U0SAM>\)|Bob \(<@U0BOB>\))$/,
    );
    expect(textOf(request())).not.toContain(FOUR_EYES_ACTIONS.approve);
    await eventually(() => textOf(card().blocks).includes('Closed as false positive'));
  });

  it('the reason modal is gated too; a change in Cotool meanwhile cancels the request', async () => {
    const { a, card, request, c } = await boot(mode);
    await c.click(JANE.id, card().ts, ACTIONS.more, valueFor(card(), ACTIONS.more, 'close_reason'), { overflow: true });
    const view = (await eventually(() =>
      stack.slack.views().find((v) => v.callback_id === VIEWS.closeModal && textOf(v.blocks).includes('"type":"input')),
    )) as SlackView;
    await c.submit(JANE.id, view, {
      [BLOCKS.closeDisposition]: { [INPUTS.closeDisposition]: selectValue('true_positive_benign') },
      [BLOCKS.closeReason]: { [INPUTS.closeReason]: 'Known internal scanner' },
    });
    await eventually(() => textOf(stack.slack.view(view.id)?.blocks).includes('needs a second person'));
    await eventually(() => request());
    expect(textOf(request())).toContain('as benign');
    expect(textOf(request())).toContain('Known internal scanner');
    expect(statusPosts(stack)).toEqual([]);

    stack.cotool.updateAlert(a.id, { severity: 'high' }, { actor: { type: 'human', name: 'Ana' } });
    await c.click(SAM.id, request().ts, FOUR_EYES_ACTIONS.approve, valueFor(request(), FOUR_EYES_ACTIONS.approve));
    await eventually(() => textOf(request()).includes('Cancelled'));
    await eventually(() => notes(stack, SAM.id).some((n) => n.includes('severity changed')));
    await settle();
    expect(statusPosts(stack)).toEqual([]);
    expect(stack.cotool.getAlert(a.id)?.status).toBe('open');
  });

  it('Reject closes the request without a change', async () => {
    const { card, request, c } = await boot(mode);
    await c.click(JANE.id, card().ts, ACTIONS.closeBenign, valueFor(card(), ACTIONS.closeBenign));
    await eventually(() => request());
    await c.click(BOB.id, request().ts, FOUR_EYES_ACTIONS.reject, valueFor(request(), FOUR_EYES_ACTIONS.reject));
    await eventually(() => textOf(request()).includes('Rejected by'));
    expect(textOf(request())).not.toContain(FOUR_EYES_ACTIONS.approve);
    await settle();
    expect(statusPosts(stack)).toEqual([]);
  });
});
