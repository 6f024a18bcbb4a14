/**
 * "Was this you?" end to end, in Socket Mode and in HTTP mode: the real bot against the fake Cotool
 * and the fake Slack (users.lookupByEmail, conversations.open, DMs that may be closed). An analyst
 * (Bob) asks the person an identity alert names (Jane) from the card; Jane answers in her DM; the
 * card's thread, Cotool's timeline and the alert's status show it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTIONS, BLOCKS, INPUTS, VIEWS } from '../../src/slack/ids.ts';
import { HOSTILE } from '../slack/hostile.ts';
import { createClicker, type Mode, notes, statusPosts, textOf, valueFor } from './actions-helpers.ts';
import { textValue } from './fakes/payloads.ts';
import type { SlackMessage, SlackUser, SlackView } from './fakes/slack.ts';
import { CHANNEL, eventually, type Stack, startStack } from './harness.ts';

const ANALYST = { id: 'U0BOB', name: 'bob', real_name: 'Bob Roe', display_name: 'Bob' };
const JANE: SlackUser = {
  id: 'U0JANE',
  name: 'jane',
  real_name: 'Jane Doe',
  display_name: 'Jane Doe',
  email: 'jane@acme.io',
};
const DM = 'D0JANE';
const TITLE = 'Impossible travel: jane@acme.io signed in from Lisbon and Osaka *within* 10 min';

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
});
afterEach(async () => {
  await stack.close();
});

type Boot = {
  title?: string;
  description?: string;
  jane?: Partial<SlackUser>;
  env?: Record<string, string>;
  timeoutMs?: number;
};

async function boot(mode: Mode, o: Boot = {}) {
  stack.slack.addUser(ANALYST);
  stack.slack.addUser({ ...JANE, ...o.jane });
  const a = stack.cotool.addAlert({
    title: o.title ?? TITLE,
    description: o.description ?? 'Sign-in from 203.0.113.7 (`*.ps1` dropped as <in.txt>) & 198.51.100.2',
    severity: 'high',
  });
  const bot = await stack.start(mode, o.env ?? {}, o.timeoutMs ? { askUserTimeoutMs: o.timeoutMs } : {});
  await bot.settle();
  const card = () => {
    const c = stack.slack.messages(CHANNEL)[0];
    if (!c) throw new Error('no card');
    return c;
  };
  return { a, bot, card, c: createClicker(stack, bot, mode) };
}

type Booted = Awaited<ReturnType<typeof boot>>;

const askModal = () =>
  eventually(() =>
    stack.slack
      .views()
      .find((v) => v.callback_id === VIEWS.askUserModal && textOf(v.blocks).includes('"type":"input"')),
  ) as Promise<SlackView>;
const dms = () => stack.slack.messages(DM);
const replies = () => stack.slack.messages(CHANNEL)[0]?.replies ?? [];
const comments = () =>
  stack.cotool.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/comments')).map((r) => textOf(r.body));
const person = (userId: string) => ({ type: 'users_select', selected_user: userId });

function element(msg: SlackMessage | undefined, actionId: string): Record<string, unknown> | undefined {
  for (const b of (msg?.blocks ?? []) as { elements?: Record<string, unknown>[] }[]) {
    for (const e of b.elements ?? []) if (e.action_id === actionId) return e;
  }
  return undefined;
}

/** Bob clicks Ask the user…, and the modal is filled in. */
async function openAsk(b: Booted): Promise<SlackView> {
  const ack = await b.c.click(ANALYST.id, b.card().ts, ACTIONS.askUser, valueFor(b.card(), ACTIONS.askUser));
  expect(ack.ackMs).toBeLessThan(3_000);
  return askModal();
}

/** Bob asks Jane (pre-selected) with a message; the DM is posted. */
async function askJane(b: Booted, message = 'Was this you, from Lisbon?') {
  const view = await openAsk(b);
  const ack = await b.c.submit(ANALYST.id, view, {
    [BLOCKS.askUserPerson]: { [INPUTS.askUserPerson]: person(JANE.id) },
    [BLOCKS.askUserMessage]: { [INPUTS.askUserMessage]: textValue(message) },
  });
  expect(ack.ackMs).toBeLessThan(3_000);
  return { view, ack };
}

/** A click in Jane's DM (or someone else's click on her DM's button). */
function dmClick(b: Booted, user: string, actionId: string) {
  const dm = dms()[0];
  if (!dm) throw new Error('no DM');
  const value = String(element(dm, actionId)?.value);
  return b.c.deliver(b.c.payload(user, dm.ts, actionId, value, { channel: DM }));
}

const answerModal = () =>
  eventually(() => stack.slack.views().find((v) => v.callback_id === VIEWS.answerModal)) as Promise<SlackView>;

describe.each(['socket', 'http'] as const)('was this you? (%s mode)', (mode) => {
  it('Ask → Jane pre-selected → DM with the alert intact and two buttons → No with a note → thread, Cotool comment, escalated naming the answer and the asker', async () => {
    const b = await boot(mode);
    const view = await openAsk(b);
    expect(textOf(view.blocks)).toContain('"initial_user":"U0JANE"');
    expect(textOf(view.blocks)).toContain('jane@acme.io');
    await b.c.submit(ANALYST.id, view, {
      [BLOCKS.askUserPerson]: { [INPUTS.askUserPerson]: person(JANE.id) },
      [BLOCKS.askUserMessage]: { [INPUTS.askUserMessage]: textValue('Was this you, from Lisbon?') },
    });
    await eventually(() => dms().length === 1);
    const dm = dms()[0] as SlackMessage;
    const dmText = textOf(dm.blocks);
    // The title escaped (its * stays literal, not bold), indicators intact, Bob's words, two buttons.
    expect(dmText).toContain('jane@acme.io');
    expect(dmText).toContain('203.0.113.7');
    expect(dmText).toContain('`*.ps1` dropped as <in.txt>');
    expect(dmText).toContain('Was this you, from Lisbon?');
    expect(element(dm, ACTIONS.answerYes)).toBeDefined();
    expect(element(dm, ACTIONS.answerNo)).toBeDefined();
    await eventually(() => replies().some((r) => textOf(r).includes('asked <@U0JANE>')));
    expect(comments().some((c) => c.includes('Asked Jane Doe (<@U0JANE>) in Slack'))).toBe(true);

    // Jane: No, with a note.
    await dmClick(b, JANE.id, ACTIONS.answerNo);
    const modal = await answerModal();
    await b.c.submit(JANE.id, modal, {
      [BLOCKS.answerNote]: { [INPUTS.answerNote]: textValue('I was asleep <!channel>') },
    });
    await eventually(() => stack.cotool.getAlert(b.a.id)?.status === 'escalated');
    const posts = statusPosts(stack);
    expect(posts).toHaveLength(1);
    expect(textOf(posts[0]?.body)).toContain(
      'Escalated from Slack by Jane Doe (<@U0JANE>): answered “No, it wasn’t me” when Bob (<@U0BOB>) asked whether this was them',
    );
    await eventually(() => replies().some((r) => textOf(r).includes('answered *“No, it wasn’t me”*')));
    const answered = replies().find((r) => textOf(r).includes('answered *“No, it wasn’t me”*'));
    expect(textOf(answered)).toContain('I was asleep &lt;!channel&gt;');
    expect(comments().some((c) => c.includes('Note from Slack by Jane Doe (<@U0JANE>): Answered “No'))).toBe(true);
    // The DM is redrawn without buttons; the card shows the escalation.
    await eventually(() => !element(dms()[0], ACTIONS.answerNo));
    await eventually(() => textOf(stack.slack.messages(CHANNEL)[0]?.blocks).includes('Escalated'));
  });

  it('only Jane may answer, once: Bob is refused on her button, her second click is refused', async () => {
    const b = await boot(mode);
    await askJane(b);
    await eventually(() => dms().length === 1);
    const dm = dms()[0] as SlackMessage;
    const noValue = String(element(dm, ACTIONS.answerNo)?.value);
    await dmClick(b, ANALYST.id, ACTIONS.answerYes);
    await eventually(() => notes(stack).some((n) => n.includes('put to someone else')));
    expect(stack.slack.views().filter((v) => v.callback_id === VIEWS.answerModal)).toHaveLength(0);

    await dmClick(b, JANE.id, ACTIONS.answerYes);
    const modal = await answerModal();
    await b.c.submit(JANE.id, modal, { [BLOCKS.answerNote]: { [INPUTS.answerNote]: textValue('') } });
    await eventually(() => replies().some((r) => textOf(r).includes('answered *“Yes, it was me”*')));
    // Her second click (a No, on the DM as first drawn) is refused, and changes nothing.
    await b.c.deliver(b.c.payload(JANE.id, dm.ts, ACTIONS.answerNo, noValue, { channel: DM }));
    await eventually(() => notes(stack).some((n) => n.includes('You already answered')));
    expect(stack.slack.views().filter((v) => v.callback_id === VIEWS.answerModal)).toHaveLength(1);
    expect(statusPosts(stack)).toHaveLength(0);
    expect(replies().filter((r) => textOf(r).includes('answered *“'))).toHaveLength(1);
  });

  it('a double submit of the ask modal sends one DM, and a second ask says she was already asked', async () => {
    const b = await boot(mode);
    const view = await openAsk(b);
    const values = { [BLOCKS.askUserPerson]: { [INPUTS.askUserPerson]: person(JANE.id) } };
    await Promise.all([b.c.submit(ANALYST.id, view, values), b.c.submit(ANALYST.id, view, values)]);
    await eventually(() => dms().length === 1);
    // A fresh modal, the same person: refused (Jane has a question waiting).
    const again = await b.c.click(ANALYST.id, b.card().ts, ACTIONS.askUser, valueFor(b.card(), ACTIONS.askUser));
    expect(again.ackMs).toBeLessThan(3_000);
    const second = (await eventually(() =>
      stack.slack
        .views()
        .find(
          (v) =>
            v.callback_id === VIEWS.askUserModal && v.id !== view.id && textOf(v.blocks).includes('"type":"input"'),
        ),
    )) as SlackView;
    expect(textOf(second.blocks)).toContain('already asked');
    await b.c.submit(ANALYST.id, second, values);
    await eventually(() => textOf(stack.slack.view(second.id)?.blocks).includes('already asked'));
    await new Promise((r) => setTimeout(r, 300));
    expect(dms()).toHaveLength(1);
    expect(replies().filter((r) => textOf(r).includes('asked <@U0JANE>'))).toHaveLength(1);
  });

  it('no answer within the timeout: one thread note, and the DM loses its buttons', async () => {
    const b = await boot(mode, { timeoutMs: 400 });
    await askJane(b);
    await eventually(() => dms().length === 1);
    const dm = dms()[0] as SlackMessage;
    const yes = String(element(dm, ACTIONS.answerYes)?.value);
    await new Promise((r) => setTimeout(r, 500));
    await b.bot.settle();
    await b.bot.settle();
    await eventually(() => replies().some((r) => textOf(r).includes('did not answer')));
    expect(replies().filter((r) => textOf(r).includes('did not answer'))).toHaveLength(1);
    await eventually(() => !element(dms()[0], ACTIONS.answerYes));
    // A click on the DM as first drawn: the question timed out.
    await b.c.deliver(b.c.payload(JANE.id, dm.ts, ACTIONS.answerYes, yes, { channel: DM }));
    await eventually(() => notes(stack).some((n) => n.includes('timed out')));
    expect(stack.slack.views().filter((v) => v.callback_id === VIEWS.answerModal)).toHaveLength(0);
  });

  it('an alert naming nobody, or several people: the modal says so and pre-selects nobody', async () => {
    const b = await boot(mode, { title: 'Brute force on the VPN', description: 'no address here' });
    const none = await openAsk(b);
    expect(textOf(none.blocks)).toContain('No e-mail address in this alert');
    expect(textOf(none.blocks)).not.toContain('initial_user');
    stack.slack.addUser({ id: 'U0SAM', name: 'sam', real_name: 'Sam', email: 'sam@acme.io' });
    stack.cotool.updateAlert(b.a.id, { title: 'Shared account: jane@acme.io and sam@acme.io' });
    await b.bot.settle();
    await eventually(() => textOf(b.card().blocks).includes('Shared account'));
    await b.c.click(ANALYST.id, b.card().ts, ACTIONS.askUser, valueFor(b.card(), ACTIONS.askUser));
    const several = (await eventually(() =>
      stack.slack
        .views()
        .find(
          (v) =>
            v.id !== none.id && v.callback_id === VIEWS.askUserModal && textOf(v.blocks).includes('"type":"input"'),
        ),
    )) as SlackView;
    expect(textOf(several.blocks)).toContain('Several people are named');
    expect(textOf(several.blocks)).not.toContain('initial_user');
  });

  it('a person who cannot be asked is a field error in the modal; DMs closed → the analyst is told', async () => {
    const b = await boot(mode, { jane: { dmsClosed: true } });
    stack.slack.addUser({ id: 'U0GUEST', name: 'gus', real_name: 'Gus Guest', is_restricted: true, email: 'gus@x.io' });
    stack.slack.addUser({ id: 'U0GONE', name: 'gone', real_name: 'Gone', deleted: true });
    const view = await openAsk(b);
    for (const [id, words] of [
      ['U0GUEST', 'guest account'],
      ['U0GONE', 'deactivated'],
    ] as const) {
      const ack = await b.c.submit(ANALYST.id, view, {
        [BLOCKS.askUserPerson]: { [INPUTS.askUserPerson]: person(id) },
      });
      expect(ack.body).toMatchObject({ response_action: 'errors' });
      expect(textOf(ack.body)).toContain(words);
    }
    // Jane's DMs are closed: Slack refuses the DM when it is posted; the card's thread says so.
    await b.c.submit(ANALYST.id, view, { [BLOCKS.askUserPerson]: { [INPUTS.askUserPerson]: person(JANE.id) } });
    await eventually(() => replies().some((r) => textOf(r).includes('Could not reach <@U0JANE>')));
    expect(textOf(replies())).toContain('messages_tab_disabled');
    expect(dms()).toHaveLength(0);
    expect(replies().filter((r) => textOf(r).includes('did not answer'))).toHaveLength(0);
  });
});

describe('was this you? asked by a route (ask_user: true)', () => {
  it('asks the one person an alert names as soon as its card is posted, once; an alert naming two people is not asked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cotool-routes-'));
    const routes = join(dir, 'routes.json');
    writeFileSync(routes, JSON.stringify([{ match: { severity: 'high' }, channels: [CHANNEL], ask_user: true }]));
    stack.slack.addUser(ANALYST);
    stack.slack.addUser({ ...JANE });
    stack.slack.addUser({ id: 'U0SAM', name: 'sam', real_name: 'Sam', email: 'sam@acme.io' });
    const one = stack.cotool.addAlert({ title: TITLE, severity: 'high' });
    stack.cotool.addAlert({ title: 'Shared account: jane@acme.io and sam@acme.io', severity: 'high' });
    const bot = await stack.start('socket', { COTOOL_SLACK_ROUTES: routes });
    await bot.settle();
    await eventually(() => dms().length === 1);
    expect(textOf(dms()[0]?.blocks)).toContain('Impossible travel');
    const card = stack.slack.messages(CHANNEL).find((m) => textOf(m.blocks).includes(one.displayId));
    await eventually(() => (card?.replies ?? []).some((r) => textOf(r).includes('asked <@U0JANE>')));
    // Polled again (and restarted): not asked twice.
    await bot.settle();
    await bot.stop();
    const again = await stack.start('socket', { COTOOL_SLACK_ROUTES: routes });
    await again.settle();
    await new Promise((r) => setTimeout(r, 300));
    expect(dms()).toHaveLength(1);
    expect(stack.slack.messages('D0SAM')).toHaveLength(0);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('was this you? with hostile alert text', () => {
  it('the hostile corpus in the title and description goes through the DM inert: no mention, no disguised link', async () => {
    const hostile = HOSTILE.slice(0, 20).join(' ');
    const b = await boot('socket', { title: `jane@acme.io ${hostile}`.slice(0, 2_000), description: hostile });
    const { view } = await askJane(b, '<!here> <https://evil.example|Cotool> <@U0BOB>');
    // The ask modal shows the title inert too (its address list as code spans).
    expect(textOf(view.blocks).replace(/<!date\^[^>]+>/g, '')).not.toMatch(
      /<!(channel|here|everyone)|<@[UW]|<#C|<!subteam|<https?:|<mailto:/,
    );
    await eventually(() => dms().length === 1);
    const dm = dms()[0] as SlackMessage;
    const blocks = (dm.blocks ?? []) as { type?: string }[];
    const rich = textOf(blocks.filter((x) => x.type === 'rich_text'));
    expect(rich).not.toMatch(/"type":"(broadcast|user|usergroup|channel|link)"/);
    const json = textOf({ text: dm.text, blocks: blocks.filter((x) => x.type !== 'rich_text') });
    // Bob's own mention is the only one (the asker), drawn from his id, never from the text.
    expect(json.replaceAll('<@U0BOB>', '').replace(/<!date\^[^>]+>/g, '')).not.toMatch(
      /<!(channel|here|everyone)|<@[UW]|<#C|<!subteam|<https?:|<mailto:/,
    );
    expect(stack.slack.calls.filter((c) => !c.result.ok && c.method !== 'users.lookupByEmail')).toEqual([]);
  });
});
