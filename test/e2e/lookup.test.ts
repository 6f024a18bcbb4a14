/**
 * Look-ups end to end: the real bot, in Socket Mode and in HTTP mode, against the fakes of Cotool and
 * Slack — /cotool (lookup, run, list, search, help, bad input, refusals, Share, paging), link unfurls,
 * bare ids expanded in threads, and the App Home.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ACTIONS, LOOKUP_ACTIONS } from '../../src/slack/ids.ts';
import { HOSTILE } from '../slack/hostile.ts';
import type { CotoolAlert } from './fakes/cotool.ts';
import {
  blockActionsPayload,
  eventCallback,
  formBody,
  interactionBody,
  signedRequest,
  slackTs,
  slashCommandPayload,
} from './fakes/payloads.ts';
import { CHANNEL, eventually, SIGNING_SECRET, type Stack, type StartedBot, startStack } from './harness.ts';

const APP_URL = 'https://app.cotool.ai';
const ANA = 'U0ANA';
const GUEST = 'U0GUEST';
const OTHER_CHANNEL = 'C0NOTMEMBER';
/** A Slack Connect channel (shared with another organisation) the bot is in. */
const PARTNER_CHANNEL = 'C0PARTNER';

type Obj = Record<string, unknown>;
type Button = { action_id: string; value?: string; url?: string };
const json = (v: unknown) => JSON.stringify(v);
/** `eventually`, typed as the value it waited for. */
const waitFor = <T>(check: () => T | null | undefined | false, timeoutMs?: number): Promise<T> =>
  eventually(check, timeoutMs) as Promise<T>;

function buttonsOf(blocks: unknown): Button[] {
  const list = Array.isArray(blocks)
    ? (blocks as Array<{ type: string; accessory?: Button; elements?: Button[] }>)
    : [];
  return list.flatMap((b) => [
    ...(b.accessory ? [b.accessory] : []),
    ...(b.type === 'actions' ? (b.elements ?? []) : []),
  ]);
}

describe.each(['socket', 'http'] as const)('look-ups in %s mode', (mode) => {
  let stack: Stack;
  let bot: StartedBot;

  beforeAll(async () => {
    stack = await startStack();
    stack.slack.addUser({ id: ANA, real_name: 'Ana Analyst' });
    stack.slack.addUser({ id: 'U0BO', real_name: 'Bo' });
    stack.slack.addUser({ id: 'U0CAROL', real_name: 'Carol' });
    stack.slack.addUser({ id: GUEST, real_name: 'Gus Guest', is_restricted: true });
    stack.slack.addChannel(OTHER_CHANNEL, { member: false, name: 'random' });
    stack.slack.addChannel(PARTNER_CHANNEL, { member: true, name: 'acme-partner', externallyShared: true });
    bot = await stack.start(mode, { COTOOL_APP_URL: APP_URL, EXPAND_ALERT_IDS: 'true', COTOOL_TIMEOUT_MS: '10000' });
  });
  afterAll(async () => {
    await stack.close();
  });
  beforeEach(() => {
    stack.cotool.clearFailures();
    stack.cotool.clearRequests();
    stack.slack.clear();
  });

  const events = `/slack/events`;
  const url = () => `http://127.0.0.1:${bot.port}${events}`;

  /** Sends `/cotool <text>`; resolves with the ack's payload and how long the ack took. */
  async function command(text: string, o: { user?: string; channel?: string } = {}) {
    const responseUrl = stack.slack.responseUrl();
    const payload = slashCommandPayload({ text, user: o.user ?? ANA, channel: o.channel ?? CHANNEL, responseUrl });
    const sentAt = Date.now();
    if (mode === 'socket') {
      const ack = await stack.slack.sendEnvelope('slash_commands', payload);
      return { ack: ack.payload as Obj | undefined, ackMs: ack.ackedAfterMs, responseUrl, sentAt };
    }
    const res = await signedRequest(url(), {
      body: formBody(payload),
      contentType: 'application/x-www-form-urlencoded',
      signingSecret: SIGNING_SECRET,
    });
    expect(res.status).toBe(200);
    return { ack: (res.body || undefined) as Obj | undefined, ackMs: res.ms, responseUrl, sentAt };
  }

  /** The `n`th message posted to a response URL (1-based), once it has arrived. */
  async function response(responseUrl: string, n = 1, timeoutMs = 5_000) {
    const all = await waitFor(() => {
      const r = stack.slack.responses(responseUrl);
      return r.length >= n ? r : null;
    }, timeoutMs);
    return all[n - 1] as { body: Obj; at: number };
  }

  async function sendEvent(event: Obj, extra: Obj = {}) {
    const body = { ...eventCallback(event), ...extra };
    if (mode === 'socket') return stack.slack.sendEnvelope('events_api', body);
    const res = await signedRequest(url(), {
      body: JSON.stringify(body),
      contentType: 'application/json',
      signingSecret: SIGNING_SECRET,
    });
    expect(res.status).toBe(200);
    return res;
  }

  async function click(payload: Obj) {
    if (mode === 'socket') return stack.slack.sendEnvelope('interactive', payload);
    const res = await signedRequest(url(), {
      body: interactionBody(payload),
      contentType: 'application/x-www-form-urlencoded',
      signingSecret: SIGNING_SECRET,
    });
    expect(res.status).toBe(200);
    return res;
  }

  /** A click on a button of an ephemeral answer (as Slack sends it). */
  function ephemeralClick(button: Button, o: { user?: string; channel?: string; responseUrl?: string } = {}) {
    const p = blockActionsPayload({
      user: o.user ?? ANA,
      channel: o.channel ?? CHANNEL,
      messageTs: slackTs(),
      actionId: button.action_id,
      ...(button.value !== undefined ? { value: button.value } : {}),
      responseUrl: o.responseUrl ?? stack.slack.responseUrl(),
    });
    p.container = { type: 'message', message_ts: slackTs(), channel_id: o.channel ?? CHANNEL, is_ephemeral: true };
    return p;
  }

  const alertGets = () => stack.cotool.requests.filter((r) => r.path.startsWith('/api/alerts')).length;

  // -------------------------------------------------------------------------------------------
  describe('/cotool <alert>', () => {
    let a: CotoolAlert;
    beforeAll(() => {
      a = stack.cotool.addAlert({ title: 'Impossible travel for jane@acme.test', severity: 'critical' });
      stack.cotool.updateAlert(
        a.id,
        { status: 'escalated' },
        { actor: { type: 'agent', name: 'Aria' }, reason: 'Token replay' },
      );
      stack.cotool.addTimelineEntry(a.id, {
        kind: 'comment',
        actorType: 'human',
        actorUserName: 'Bo',
        bodyMarkdown: 'On it.',
      });
    });

    it.each([
      ['display id', () => a.displayId, () => a.displayId],
      ['lower-case display id with spaces', () => `  ${a.displayId.toLowerCase()}  `, () => a.displayId],
      ['uuid in upper case', () => a.id.toUpperCase(), () => a.id],
      [
        'pasted Cotool link',
        () => `<${APP_URL}/acme/alerts/${a.displayId}|${APP_URL}/acme/alerts/${a.displayId}>`,
        () => a.displayId,
      ],
    ])('by %s → "Looking up…" at once, then the card, description, timeline and Share', async (_, text, ref) => {
      const { ack, ackMs, responseUrl } = await command(text());
      expect(ackMs).toBeLessThan(3_000);
      expect(ack).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining(`Looking up ${ref()}`) });
      const { body } = await response(responseUrl);
      expect(body).toMatchObject({ response_type: 'ephemeral', replace_original: true });
      const blocks = json(body.blocks);
      expect(blocks).toContain('Impossible travel for jane@acme.test');
      expect(blocks).toContain('*Recent activity*');
      expect(blocks).toContain('Agent *Aria* changed status *Open* → *Escalated*: “Token replay”');
      expect(blocks).toContain('*Bo* commented: “On it.”');
      const ids = buttonsOf(body.blocks).map((b) => b.action_id);
      expect(ids).toEqual(
        expect.arrayContaining([ACTIONS.closeFp, ACTIONS.closeTp, ACTIONS.more, ACTIONS.share, ACTIONS.openLink]),
      );
      const open = buttonsOf(body.blocks).find((b) => b.action_id === ACTIONS.openLink);
      expect(open?.url).toBe(`${APP_URL}/acme/alerts/${a.displayId}`);
      expect(stack.cotool.requests.map((r) => r.path)).toEqual([`/api/alerts/${ref()}`]);
    });

    it('unknown alert → "COT-999999 was not found", through the response URL', async () => {
      const { responseUrl } = await command('COT-999999');
      const { body } = await response(responseUrl);
      expect(String(body.text)).toContain('COT-999999 was not found in Cotool');
    });

    it('a guest is refused, and Cotool is never called', async () => {
      const { responseUrl } = await command(a.displayId, { user: GUEST });
      const { body } = await response(responseUrl);
      expect(String(body.text)).toContain('Guest accounts cannot see or change Cotool alerts');
      expect(alertGets()).toBe(0);
    });

    it('Cotool failing → a short answer with a reference that is also in the log', async () => {
      stack.cotool.failNext(10, { status: 500, body: { error: 'boom' } }, { pathPrefix: '/api/alerts' });
      const { responseUrl } = await command(a.displayId);
      const { body } = await response(responseUrl, 1, 15_000);
      const ref = /\(ref `([0-9a-f]{8})`\)/.exec(String(body.text))?.[1];
      expect(String(body.text)).toContain('Cotool did not answer');
      expect(ref).toBeDefined();
      expect(bot.logs.some((l) => l.includes(String(ref)))).toBe(true);
    });

    it('Share in channel posts the card where the command was run, saying who shared it', async () => {
      const { responseUrl } = await command(a.displayId);
      const { body } = await response(responseUrl);
      const share = buttonsOf(body.blocks).find((b) => b.action_id === ACTIONS.share) as Button;
      const ack = await click(ephemeralClick(share));
      if ('ackedAfterMs' in ack) expect(ack.ackedAfterMs).toBeLessThan(3_000);
      const posted = await waitFor(() =>
        stack.slack.messages(CHANNEL).find((m) => json(m.blocks).includes('Shared by')),
      );
      expect(json(posted.blocks)).toContain(`Shared by <@${ANA}>`);
      expect(json(posted.blocks)).toContain('Impossible travel for jane@acme.test');
      expect(buttonsOf(posted.blocks).map((b) => b.action_id)).toContain(ACTIONS.closeTp);
      expect(posted.metadata).toBeUndefined(); // never mistaken for the alert's live card
      // A second click a moment later posts nothing more.
      await click(ephemeralClick(share));
      await new Promise((r) => setTimeout(r, 300));
      expect(stack.slack.messages(CHANNEL).filter((m) => json(m.blocks).includes('Shared by'))).toHaveLength(1);
    });

    it('Share in a channel the bot is not in → a hint to invite it; a guest clicking is refused', async () => {
      const { responseUrl } = await command(a.displayId, { channel: OTHER_CHANNEL });
      const { body } = await response(responseUrl);
      const share = buttonsOf(body.blocks).find((b) => b.action_id === ACTIONS.share) as Button;
      const clickUrl = stack.slack.responseUrl();
      await click(ephemeralClick(share, { channel: OTHER_CHANNEL, responseUrl: clickUrl }));
      const note = await response(clickUrl);
      expect(String(note.body.text)).toContain('Invite me first');
      const guestUrl = stack.slack.responseUrl();
      await click(ephemeralClick(share, { user: GUEST, responseUrl: guestUrl }));
      expect(String((await response(guestUrl)).body.text)).toContain('Guest accounts cannot');
      expect(stack.slack.messages(CHANNEL)).toHaveLength(0);
    });

    it('Share in a channel shared with another organisation (Slack Connect) is refused, nothing posted', async () => {
      const { responseUrl } = await command(a.displayId, { channel: PARTNER_CHANNEL });
      const { body } = await response(responseUrl);
      const share = buttonsOf(body.blocks).find((b) => b.action_id === ACTIONS.share) as Button;
      const clickUrl = stack.slack.responseUrl();
      await click(ephemeralClick(share, { channel: PARTNER_CHANNEL, responseUrl: clickUrl }));
      const note = await response(clickUrl);
      expect(String(note.body.text)).toContain('Alerts are not shared into channels shared with other organisations');
      expect(stack.slack.messages(PARTNER_CHANNEL)).toHaveLength(0);
      expect(stack.slack.callsOf('chat.postMessage')).toHaveLength(0);
    });

    it('Share when Slack cannot say whether the channel is shared → refused (fail closed), with a reference', async () => {
      const { responseUrl } = await command(a.displayId);
      const { body } = await response(responseUrl);
      const share = buttonsOf(body.blocks).find((b) => b.action_id === ACTIONS.share) as Button;
      stack.slack.failNext('conversations.info', 1, { error: 'internal_error' });
      const clickUrl = stack.slack.responseUrl();
      await click(ephemeralClick(share, { responseUrl: clickUrl }));
      const text = String((await response(clickUrl)).body.text);
      expect(text).toContain('I could not check whether this conversation is shared with another organisation');
      expect(text).toContain('/invite @Cotool');
      const ref = /\(ref `([0-9a-f]{8})`\)/.exec(text)?.[1];
      expect(ref).toBeDefined();
      expect(bot.logs.some((l) => l.includes(`"ref":"${ref}"`) && l.includes('internal_error'))).toBe(true);
      expect(stack.slack.messages(CHANNEL)).toHaveLength(0);
      // A conversation Slack does not show the bot (a private channel it is not in): the invite hint.
      stack.slack.failNext('conversations.info', 1, { error: 'channel_not_found' });
      const hiddenUrl = stack.slack.responseUrl();
      await click(ephemeralClick(share, { responseUrl: hiddenUrl }));
      expect(String((await response(hiddenUrl)).body.text)).toContain('Invite me first');
      expect(stack.slack.messages(CHANNEL)).toHaveLength(0);
    });

    it('a tampered Share value is refused politely', async () => {
      const clickUrl = stack.slack.responseUrl();
      await click(
        ephemeralClick({ action_id: ACTIONS.share, value: '{"v":1,"op":"share","id":"x"}' }, { responseUrl: clickUrl }),
      );
      expect(String((await response(clickUrl)).body.text)).toContain('out of date');
      expect(stack.slack.messages(CHANNEL)).toHaveLength(0);
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('/cotool run, help and bad input', () => {
    it('run → the alert it raised; a run without one → "no alert is linked"', async () => {
      const runId = '3f2b9c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f';
      const a = stack.cotool.addAlert({ originRunId: runId, title: 'Raised by a run' });
      const first = await command(`run ${runId}`);
      const { body } = await response(first.responseUrl);
      expect(json(body.blocks)).toContain(`Alert raised by run \`${runId}\``);
      expect(json(body.blocks)).toContain(a.displayId);
      const none = await command('run 00000000-0000-4000-8000-000000000000');
      expect(String((await response(none.responseUrl)).body.text)).toContain(
        'No alert is linked to run `00000000-0000-4000-8000-000000000000`',
      );
    });

    it.each([
      ['help', 'help', ''],
      ['empty', '', ''],
      ['gibberish', 'bananas', 'I did not understand `bananas`'],
      ['COT-', 'COT-', 'needs the alert number'],
      ['list bogus', 'list bogus', '`bogus` is not a filter'],
      ['empty search', 'search', 'What should I search for?'],
      ['10,000 characters', 'x'.repeat(10_000), '10000 characters'],
      ['control characters', '\u0000\u0007COT-\u001b', 'needs the alert number'],
      ['mrkdwn injection', '<!channel> *bold* <https://evil.example|ok>', 'I did not understand'],
    ])('%s → help in the ack, no Cotool call', async (_, text, problem) => {
      const { ack, ackMs } = await command(text);
      expect(ackMs).toBeLessThan(3_000);
      expect(ack).toMatchObject({ response_type: 'ephemeral' });
      const shown = json(ack);
      expect(shown).toContain('/cotool COT-123');
      expect(shown).toContain(problem);
      expect(shown).not.toMatch(/<!channel>|<https:\/\/evil/);
      expect(alertGets()).toBe(0);
    });

    it('hostile search text is sent as text and echoed escaped', async () => {
      for (const h of HOSTILE.slice(0, 20)) {
        const { ack, responseUrl } = await command(`search ${h}`);
        // Text that is nothing once Slack's tokens are read (`<!channel>`) is answered with help at once.
        const shown = String(ack?.text).includes('Searching') ? (await response(responseUrl)).body : ack;
        // The only token allowed is our own: the alert channel in "who can look alerts up".
        expect(json(shown).replaceAll(`<#${CHANNEL}>`, '')).not.toMatch(
          /<!(channel|here|everyone)|<@U|<#C|<!subteam|<https?:|<mailto:/,
        );
      }
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('/cotool list and search', () => {
    let escalated: CotoolAlert[];
    beforeAll(() => {
      escalated = Array.from({ length: 23 }, (_, i) =>
        stack.cotool.addAlert({
          status: 'escalated',
          severity: 'medium',
          title: `Listed alert ${i}`,
          source: { category: 'detection', name: 'cotool_detection', triggerType: null },
        }),
      );
      stack.cotool.addAlert({ title: 'Okta push fatigue on the CFO', severity: 'low' });
    });

    it('list escalated medium → ten rows with totalCount, More pages through the rest', async () => {
      const { responseUrl } = await command('list escalated medium');
      const { body } = await response(responseUrl);
      expect(json(body.blocks)).toContain('*Escalated alerts* · Medium — 23 alerts · showing 1–10');
      const listCall = stack.cotool.requests.find((r) => r.path === '/api/alerts');
      expect(listCall?.query).toMatchObject({ status: 'escalated', severity: 'medium', limit: '10', offset: '0' });
      let buttons = buttonsOf(body.blocks);
      expect(buttons.filter((b) => b.action_id.startsWith(LOOKUP_ACTIONS.viewPrefix))).toHaveLength(10);
      const seen = new Set<string>();
      for (const [page, rows] of [
        [2, 10],
        [3, 3],
      ] as const) {
        const more = buttons.find((b) => b.action_id === LOOKUP_ACTIONS.more) as Button;
        const moreUrl = stack.slack.responseUrl();
        await click(ephemeralClick(more, { responseUrl: moreUrl }));
        const next = await response(moreUrl);
        expect(next.body).toMatchObject({ replace_original: true });
        expect(json(next.body.blocks)).toContain(`showing ${(page - 1) * 10 + 1}–${(page - 1) * 10 + rows}`);
        buttons = buttonsOf(next.body.blocks);
        for (const b of buttons) if (b.action_id.startsWith(LOOKUP_ACTIONS.viewPrefix)) seen.add(String(b.value));
      }
      expect(buttons.find((b) => b.action_id === LOOKUP_ACTIONS.more)).toBeUndefined();
      expect(seen.size).toBe(13);
      expect(escalated).toHaveLength(23);
    });

    it('a row’s View answers with that alert’s look-up; a tampered More is refused', async () => {
      const { responseUrl } = await command('list escalated');
      const { body } = await response(responseUrl);
      const view = buttonsOf(body.blocks).find((b) => b.action_id === `${LOOKUP_ACTIONS.viewPrefix}0`) as Button;
      const viewUrl = stack.slack.responseUrl();
      await click(ephemeralClick(view, { responseUrl: viewUrl }));
      const answer = await response(viewUrl);
      expect(answer.body).toMatchObject({ replace_original: false });
      expect(json(answer.body.blocks)).toContain('*Recent activity*');
      const badUrl = stack.slack.responseUrl();
      await click(
        ephemeralClick(
          { action_id: LOOKUP_ACTIONS.more, value: '{"v":1,"k":"page","st":["escalated"],"sv":[],"so":[],"o":-5}' },
          { responseUrl: badUrl },
        ),
      );
      expect(String((await response(badUrl)).body.text)).toContain('This list is out of date');
    });

    it('search okta → the matching alert, with Cotool’s q', async () => {
      const { responseUrl } = await command('search Okta push');
      const { body } = await response(responseUrl);
      expect(json(body.blocks)).toContain('*Search* “Okta push” — 1 alert · showing 1–1');
      expect(json(body.blocks)).toContain('Okta push fatigue on the CFO');
      expect(stack.cotool.requests.find((r) => r.path === '/api/alerts')?.query).toMatchObject({ q: 'Okta push' });
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('unfurls and bare ids', () => {
    let a: CotoolAlert;
    let b: CotoolAlert;
    beforeAll(() => {
      a = stack.cotool.addAlert({ title: 'Unfurled <!channel> alert', severity: 'high' });
      b = stack.cotool.addAlert({ title: 'Second alert' });
    });
    const linkEvent = (user: string, links: string[], o: Obj = {}) => ({
      type: 'link_shared',
      channel: CHANNEL,
      is_bot_user_member: true,
      user,
      message_ts: slackTs(),
      unfurl_id: `${CHANNEL}.${slackTs()}.abc`,
      source: 'conversations_history',
      links: links.map((u) => ({ domain: 'app.cotool.ai', url: u })),
      ...o,
    });

    it('link_shared → chat.unfurl with a compact card per alert link, and nothing for other links', async () => {
      const la = `${APP_URL}/acme/alerts/${a.displayId}`;
      const lb = `${APP_URL}/acme/alerts/${b.id}`;
      const ev = linkEvent(ANA, [la, lb, `${APP_URL}/acme/settings`]);
      await sendEvent(ev);
      const call = await waitFor(() => stack.slack.callsOf('chat.unfurl')[0]);
      expect(call.result).toEqual({ ok: true });
      expect(call.args).toMatchObject({ channel: CHANNEL, ts: ev.message_ts });
      const unfurls = call.args.unfurls as Record<string, { blocks: unknown[] }>;
      expect(Object.keys(unfurls).sort()).toEqual([la, lb].sort());
      expect(json(unfurls[la])).toContain('Unfurled &lt;!channel&gt; alert');
      expect(buttonsOf(unfurls[la]?.blocks)).toEqual([]);
    });

    it('a link in the composer is unfurled by unfurl_id', async () => {
      const ev = linkEvent(ANA, [`${APP_URL}/acme/alerts/${a.displayId}`], {
        channel: 'COMPOSER',
        message_ts: 'x',
        source: 'composer',
      });
      await sendEvent(ev);
      const call = await waitFor(() => stack.slack.callsOf('chat.unfurl')[0]);
      expect(call.args).toMatchObject({ unfurl_id: ev.unfurl_id, source: 'composer' });
      expect(call.result.ok).toBe(true);
    });

    it('no unfurl for a guest (told why, privately) or in a channel shared with another organisation', async () => {
      await sendEvent(linkEvent(GUEST, [`${APP_URL}/acme/alerts/${a.displayId}`]));
      const note = await waitFor(() => stack.slack.ephemerals(CHANNEL).find((e) => e.user === GUEST));
      expect(note.text).toContain('No preview for your Cotool link');
      await sendEvent(linkEvent(ANA, [`${APP_URL}/acme/alerts/${a.displayId}`]), { is_ext_shared_channel: true });
      await new Promise((r) => setTimeout(r, 300));
      expect(stack.slack.callsOf('chat.unfurl')).toHaveLength(0);
      expect(alertGets()).toBe(0);
    });

    it('EXPAND_ALERT_IDS: a bare id gets a compact card in the thread, once per alert per thread', async () => {
      const text = `is ${a.displayId} the same as ${b.displayId}? see ${APP_URL}/acme/alerts/COT-1`;
      const ts = stack.slack.addMessage(CHANNEL, { user: ANA, text });
      const message = (o: Obj) => ({ type: 'message', channel: CHANNEL, channel_type: 'channel', user: ANA, ...o });
      await sendEvent(message({ text, ts }));
      await waitFor(() => (stack.slack.messages(CHANNEL)[0]?.replies.length ?? 0) >= 2);
      const replies = () => stack.slack.messages(CHANNEL)[0]?.replies ?? [];
      expect(replies().map((r) => r.text)).toEqual([
        expect.stringContaining(a.displayId),
        expect.stringContaining(b.displayId),
      ]);
      expect(json(replies()[0]?.blocks)).toContain('Open in Cotool');
      // The same ids again in the thread, an edit, and a bot's message: nothing more.
      const again = stack.slack.addMessage(CHANNEL, { user: 'U0BO', text: `${a.displayId} again`, thread_ts: ts });
      await sendEvent(message({ user: 'U0BO', text: `${a.displayId} again`, ts: again, thread_ts: ts }));
      await sendEvent(message({ subtype: 'message_changed', text: `${a.displayId}`, ts: slackTs() }));
      await sendEvent(message({ bot_id: 'B0OTHER', text: `${a.displayId}`, ts: slackTs() }));
      await new Promise((r) => setTimeout(r, 400));
      expect(replies().filter((r) => r.user === stack.slack.botUserId)).toHaveLength(2);
      // In a channel shared with another organisation: nothing.
      const extTs = stack.slack.addMessage(CHANNEL, { user: ANA, text: a.displayId });
      await sendEvent(message({ text: a.displayId, ts: extTs }), { is_ext_shared_channel: true });
      // A guest's bare id: no card, a private note.
      const guestTs = stack.slack.addMessage(CHANNEL, { user: GUEST, text: a.displayId });
      await sendEvent(message({ user: GUEST, text: a.displayId, ts: guestTs }));
      await waitFor(() => stack.slack.ephemerals(CHANNEL).find((e) => e.user === GUEST));
      expect(stack.slack.messages(CHANNEL).find((m) => m.ts === guestTs)?.replies ?? []).toHaveLength(0);
      expect(stack.slack.messages(CHANNEL).find((m) => m.ts === extTs)?.replies ?? []).toHaveLength(0);
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('App Home', () => {
    const opened = (user: string) => ({ type: 'app_home_opened', user, channel: `D${user.slice(1)}`, tab: 'home' });
    const homeOf = (user: string) => stack.slack.views().find((v) => v.type === 'home' && v.published_for === user);

    it('app_home_opened → views.publish with counts, the escalated alerts with buttons, and health', async () => {
      await bot.settle();
      stack.cotool.clearRequests();
      const esc = stack.cotool.addAlert({ status: 'escalated', severity: 'critical', title: 'Needs a human now' });
      await sendEvent(opened(ANA));
      const home = await waitFor(() => homeOf(ANA));
      const text = json(home.blocks);
      const live = stack.cotool.alerts().filter((x) => ['open', 'in_progress', 'escalated'].includes(x.status));
      const count = (s: string) => live.filter((x) => x.status === s).length;
      expect(text).toContain(`*Open*\\n${count('open')}`);
      expect(text).toContain(`*Escalated*\\n${count('escalated')}`);
      expect(text).toContain(`— ${live.length} in all`);
      expect(text).toContain(`*Critical*\\n${live.filter((x) => x.severity === 'critical').length}`);
      expect(text).toContain('Needs a human now');
      expect(text).toContain('*Bot health* — :large_green_circle: Healthy');
      expect(buttonsOf(home.blocks).map((x) => x.action_id)).toEqual(
        expect.arrayContaining([ACTIONS.closeTp, LOOKUP_ACTIONS.homeRefresh]),
      );
      expect(stack.cotool.requests.filter((r) => r.path === '/api/alerts')).toHaveLength(7);
      expect(esc.status).toBe('escalated');
      // Opening the tab again a moment later does not hammer Cotool.
      stack.cotool.clearRequests();
      await sendEvent(opened(ANA));
      await sendEvent({ type: 'app_home_opened', user: ANA, channel: 'D0ANA', tab: 'messages' });
      await new Promise((r) => setTimeout(r, 300));
      expect(stack.cotool.requests.length).toBeLessThanOrEqual(7);
    });

    it('a guest gets a home that says why, and no alert data', async () => {
      await sendEvent(opened(GUEST));
      const home = await waitFor(() => homeOf(GUEST));
      expect(json(home.blocks)).toContain('Guest accounts cannot see or change Cotool alerts');
      expect(json(home.blocks)).not.toContain('COT-');
      expect(alertGets()).toBe(0);
    });

    it('Cotool failing → the home shows the error with a reference, never blank', async () => {
      stack.cotool.failNext(100, { status: 500, body: { error: 'down' } }, { pathPrefix: '/api/alerts' });
      await sendEvent(opened('U0CAROL'));
      const home = await waitFor(() => homeOf('U0CAROL'), 15_000);
      const text = json(home.blocks);
      expect(text).toMatch(/Cotool did not answer\. Try again in a moment\. \(ref `[0-9a-f]{8}`\)/);
      expect(text).toContain('*Open*\\n—');
      expect(text).toContain('*Bot health*');
    });
  });

  // -------------------------------------------------------------------------------------------
  it('with Cotool taking 2 s: the ack comes at once and the answer ~2 s later through the response URL', async () => {
    const a = stack.cotool.addAlert({ title: 'Slow Cotool' });
    stack.cotool.setDelay(2_000, { pathPrefix: '/api/alerts' });
    const { ackMs, responseUrl, sentAt } = await command(a.displayId);
    expect(ackMs).toBeLessThan(3_000);
    expect(ackMs).toBeLessThan(500);
    const answer = await response(responseUrl, 1, 10_000);
    expect(answer.at - sentAt).toBeGreaterThanOrEqual(1_900);
    expect(answer.at - sentAt).toBeLessThan(4_000);
    expect(json(answer.body.blocks)).toContain('Slow Cotool');
  });
});

// The refresh path does not depend on the transport, and it waits out the 5 s quiet period: one mode.
describe('App Home refresh after a change (socket mode)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
    stack.slack.addUser({ id: 'U0BO', real_name: 'Bo' });
    await stack.start('socket', { COTOOL_APP_URL: APP_URL });
  });
  afterAll(async () => {
    await stack.close();
  });
  const homeOf = (user: string) => stack.slack.views().find((v) => v.type === 'home' && v.published_for === user);
  const sendEvent = (event: Obj) => stack.slack.sendEnvelope('events_api', eventCallback(event));
  const opened = (user: string) => ({ type: 'app_home_opened', user, channel: `D${user.slice(1)}`, tab: 'home' });
  const click = (payload: Obj) => stack.slack.sendEnvelope('interactive', payload);

  it('after the person closes an alert from their home, the home is refreshed without it', async () => {
    const esc = stack.cotool.addAlert({ status: 'escalated', title: 'Close me from the home' });
    await sendEvent(opened('U0BO'));
    const home = await waitFor(() =>
      json(homeOf('U0BO')?.blocks).includes('Close me from the home') ? homeOf('U0BO') : null,
    );
    const close = buttonsOf(home.blocks).find(
      (b) => b.action_id === ACTIONS.closeFp && b.value?.includes(esc.id),
    ) as Button;
    const payload = blockActionsPayload({
      user: 'U0BO',
      channel: CHANNEL,
      messageTs: slackTs(),
      actionId: close.action_id,
      ...(close.value !== undefined ? { value: close.value } : {}),
      responseUrl: '',
    });
    for (const key of ['channel', 'message', 'response_url']) delete payload[key];
    payload.container = { type: 'view', view_id: home.id };
    payload.view = { id: home.id, type: 'home', blocks: home.blocks, hash: home.hash };
    await click(payload);
    await waitFor(() => stack.cotool.getAlert(esc.id)?.status === 'closed_false_positive', 5_000);
    await waitFor(() => !json(homeOf('U0BO')?.blocks).includes('Close me from the home'), 8_000);
  });
});
