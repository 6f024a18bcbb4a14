/**
 * The card-click listener with realistic payloads and recording fakes (no Bolt, no network): it
 * acknowledges before anything else, refuses values that are not ours, ignores redeliveries, and
 * turns an unexpected failure into a note with a reference that is also in the log.
 */
import { describe, expect, it } from 'vitest';
import { ACTIONS } from '../../../src/slack/ids.ts';
import { clickHandler } from '../../../src/slack/listeners/actions/index.ts';
import { encodeAction } from '../../../src/slack/payloads.ts';
import { blockActionsPayload } from '../../e2e/fakes/payloads.ts';
import { CARD_TS, CHANNEL, JANE, triageHarness } from '../../service/fakes.ts';
import { listenerDeps } from './harness.ts';

type Obj = Record<string, unknown>;

async function setup() {
  const h = await triageHarness();
  const order: string[] = [];
  const told: Obj[] = [];
  const dms: Obj[] = [];
  /** Slack errors for the next chat.postEphemeral / chat.postMessage calls. */
  const refuse: { ephemeral: string[]; dm: string[] } = { ephemeral: [], dm: [] };
  const slackError = (error: string) =>
    Object.assign(new Error(`An API error occurred: ${error}`), {
      code: 'slack_webapi_platform_error',
      data: { error },
    });
  const deps = listenerDeps(h, {
    access: {
      check: async (id) => {
        order.push('access');
        return h.deps.access.check(id);
      },
    },
  });
  const handler = clickHandler(deps);
  const client = {
    chat: {
      postEphemeral: async (a: Obj) => {
        const e = refuse.ephemeral.shift();
        if (e) throw slackError(e);
        told.push(a);
      },
      postMessage: async (a: Obj) => {
        const e = refuse.dm.shift();
        if (e) throw slackError(e);
        dms.push(a);
      },
    },
    views: { open: async () => ({ view: { id: 'V1', hash: 'h' } }), update: async () => ({}) },
  };
  const click = (value: string, actionId: string = ACTIONS.closeFp, overrides: Obj = {}) => {
    const body = {
      ...blockActionsPayload({
        user: JANE.id,
        channel: CHANNEL,
        messageTs: CARD_TS,
        actionId,
        value,
        responseUrl: 'https://hooks.slack.test/actions/1',
      }),
      ...overrides,
    } as Obj;
    const action = (body.actions as Obj[])[0];
    return {
      body,
      run: () =>
        handler({
          ack: async () => void order.push('ack'),
          body,
          action,
          client,
          respond: async (m: Obj) => void told.push(m),
          context: {},
        } as never),
    };
  };
  const value = (op: 'close_fp' | 'escalate' = 'close_fp') =>
    encodeAction({ v: 1, op, id: h.alert.id, u: h.alert.updatedAt });
  /** A click from the App Home: no channel, no message, no response_url. */
  const homeClick = (v: string, actionId: string = ACTIONS.closeFp) =>
    click(v, actionId, {
      container: { type: 'view', view_id: 'V0HOME' },
      view: { id: 'V0HOME', type: 'home', blocks: [], callback_id: '', private_metadata: '', hash: '1.a' },
      response_url: undefined,
      channel: undefined,
      message: undefined,
    });
  return { h, order, told, dms, refuse, click, homeClick, value };
}

describe('card click listener', () => {
  it('acknowledges before checking access or calling Cotool', async () => {
    const { order, click, value, h } = await setup();
    await click(value()).run();
    expect(order[0]).toBe('ack');
    expect(order).toContain('access');
    expect(h.cotool.alert.status).toBe('closed_false_positive');
  });

  it.each([
    ['another app’s value', '{"type":"approve","request_id":"123"}'],
    ['a legacy string', 'close_fp:COT-1'],
    ['an old version', JSON.stringify({ v: 0, op: 'close_fp', id: 'x', u: 'y' })],
    ['a newer version', JSON.stringify({ v: 2, op: 'close_fp', id: 'x', u: 'y' })],
    ['a tampered op', JSON.stringify({ v: 1, op: 'delete', id: 'x', u: 'y' })],
    ['an extra field', JSON.stringify({ v: 1, op: 'close_fp', id: 'x', u: 'y', admin: true })],
    ['no value at all', undefined],
  ])('refuses %s as out of date: no Cotool call, a warning logged', async (_, v) => {
    const { told, click, h } = await setup();
    await click(v as string).run();
    expect(told).toHaveLength(1);
    expect(told[0]).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(String(told[0]?.text)).toContain('This card is out of date');
    expect(h.cotool.calls).toHaveLength(0);
    expect(h.logs.some((l) => l.includes('"level":40') && l.includes('does not decode'))).toBe(true);
  });

  it('refuses a valid value moved onto another button', async () => {
    const { told, click, value, h } = await setup();
    await click(value('escalate'), ACTIONS.closeTp).run();
    expect(String(told[0]?.text)).toContain('This card is out of date');
    expect(h.cotool.calls).toHaveLength(0);
  });

  it('ignores the redelivery of the same click', async () => {
    const { click, value, h } = await setup();
    const c = click(value());
    await c.run();
    await c.run();
    expect(h.cotool.count('updateStatus')).toBe(1);
    expect(h.cotool.count('getAlert')).toBe(1);
  });

  it('an unexpected failure → a note with a reference that is in the error log', async () => {
    const { told, click, value, h } = await setup();
    h.cotool.fail.get.push(new TypeError('boom'));
    await click(value()).run();
    const text = String(told[0]?.text);
    const ref = /ref `([0-9a-f]{8})`/.exec(text)?.[1];
    expect(text).toContain('Something went wrong on our side');
    expect(ref).toBeDefined();
    expect(h.logs.some((l) => l.includes('"level":50') && l.includes(`"ref":"${ref}"`))).toBe(true);
  });

  it('without a response_url (e.g. App Home), the note goes out through chat.postEphemeral', async () => {
    const { told, click } = await setup();
    const c = click('nope');
    c.body.response_url = '';
    await c.run();
    expect(told).toEqual([expect.objectContaining({ channel: CHANNEL, user: JANE.id })]);
  });

  it('from the App Home, the note goes to the user as a direct message (not into the alert channel)', async () => {
    const { told, dms, homeClick } = await setup();
    await homeClick('nope').run();
    expect(told).toEqual([]);
    expect(dms).toEqual([{ channel: JANE.id, text: expect.stringContaining('This card is out of date') }]);
  });

  it('from the App Home, a refusal (the alert is busy) reaches the user by direct message', async () => {
    const { dms, homeClick, value, h } = await setup();
    await h.store.claimAction(h.alert.id, 'someone-else', 60_000);
    await homeClick(value()).run();
    expect(dms).toEqual([{ channel: JANE.id, text: expect.stringContaining('already being changed') }]);
    expect(h.cotool.count('updateStatus')).toBe(0);
  });

  it('a direct message Slack refuses is logged at warn with the user id, never dropped silently', async () => {
    const { dms, refuse, homeClick, h } = await setup();
    refuse.dm.push('missing_scope');
    await homeClick('nope').run();
    expect(dms).toEqual([]);
    const warn = h.logs.find((l) => l.includes('"level":40') && l.includes('refused the direct message'));
    expect(warn).toContain(`"userId":"${JANE.id}"`);
    expect(warn).toContain('"slackError":"missing_scope"');
  });

  it('an ephemeral note Slack refuses (the user is not in the channel) is sent as a direct message', async () => {
    const { told, dms, refuse, click } = await setup();
    refuse.ephemeral.push('user_not_in_channel');
    const c = click('nope');
    c.body.response_url = '';
    await c.run();
    expect(told).toEqual([]);
    expect(dms).toEqual([{ channel: JANE.id, text: expect.stringContaining('This card is out of date') }]);
  });
});
