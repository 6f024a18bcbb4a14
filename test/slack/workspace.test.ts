import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSlackWorkspace } from '../../src/slack/workspace.ts';
import { type FakeSlack, startFakeSlack } from '../e2e/fakes/slack.ts';

const silent = { debug() {}, info() {}, warn() {}, error() {}, setLevel() {}, getLevel: () => 'error', setName() {} };

describe('the Slack workspace port', () => {
  let fake: FakeSlack;
  let ws: ReturnType<typeof createSlackWorkspace>;
  beforeAll(async () => {
    fake = await startFakeSlack();
    const client = new WebClient(fake.botToken, {
      slackApiUrl: fake.apiUrl,
      logger: silent as never,
      retryConfig: { retries: 0 },
    });
    ws = createSlackWorkspace(client);
    fake.addUser({ id: 'U0JANE', name: 'jane', real_name: 'Jane Doe', email: 'Jane@Acme.io' });
    fake.addUser({ id: 'U0GONE', name: 'gone', email: 'gone@acme.io', deleted: true });
    fake.addUser({ id: 'U0BOTTY', name: 'botty', email: 'botty@acme.io', is_bot: true });
    fake.addUser({ id: 'U0GUEST', name: 'guest', email: 'guest@acme.io', is_restricted: true });
    fake.setUsergroup('S0ONCALL', ['U0JANE', 'U0GUEST']);
  });
  afterAll(() => fake.close());

  it('finds people by e-mail (case-insensitively) and by id; nobody is null, not an error', async () => {
    expect(await ws.userByEmail('jane@acme.io')).toEqual({
      id: 'U0JANE',
      name: 'Jane Doe',
      deleted: false,
      isBot: false,
      isRestricted: false,
      isUltraRestricted: false,
    });
    expect(await ws.userByEmail('nobody@acme.io')).toBeNull();
    expect(await ws.user('U0GONE')).toMatchObject({ id: 'U0GONE', deleted: true });
    expect(await ws.user('U0BOTTY')).toMatchObject({ isBot: true });
    expect(await ws.user('U0GUEST')).toMatchObject({ isRestricted: true });
    expect(await ws.user('U0NOBODY')).toBeNull();
  });

  it("opens DMs; Slack's refusals are results with its code", async () => {
    const dm = await ws.openDm('U0JANE');
    expect(dm).toMatchObject({ ok: true, channel: expect.stringMatching(/^D/) });
    expect(await ws.openDm('U0BOTTY')).toEqual({ ok: false, code: 'cannot_dm_bot' });
    expect(await ws.openDm('U0GONE')).toEqual({ ok: false, code: 'user_disabled' });
  });

  it('creates channels, invites one by one (already there is fine), bookmarks, lists a group', async () => {
    const made = await ws.createChannel('inc-cot-7-test');
    if (!made.ok) throw new Error(made.code);
    expect(await ws.createChannel('inc-cot-7-test')).toEqual({ ok: false, code: 'name_taken' });
    fake.setChannelCreation(false);
    expect(await ws.createChannel('inc-cot-8-test')).toEqual({ ok: false, code: 'restricted_action' });
    fake.setChannelCreation(true);
    const members = await ws.groupMembers('S0ONCALL');
    expect(members).toEqual(['U0JANE', 'U0GUEST']);
    expect(await ws.invite(made.channel, ['U0JANE', 'U0JANE', 'U0GONE', 'U0GUEST'])).toEqual({
      refused: [{ id: 'U0GONE', code: 'user_is_deactivated' }],
    });
    expect(await ws.invite(made.channel, ['U0JANE'])).toEqual({ refused: [] });
    expect(fake.channelByName('inc-cot-7-test')?.members).toEqual([fake.botUserId, 'U0JANE', 'U0GUEST']);
    await ws.bookmark(made.channel, 'COT-7 in Cotool', 'https://app.cotool.ai/a/COT-7');
    expect(fake.bookmarks(made.channel)).toMatchObject([{ title: 'COT-7 in Cotool' }]);
    await expect(ws.bookmark(made.channel, 't', 'javascript:alert(1)')).rejects.toThrow(/invalid_link/);
  });
});
