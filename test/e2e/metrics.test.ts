/**
 * The real bot against local fakes: GET /metrics on PORT shows what the bot did, in both modes, and
 * never a secret or an id.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTIONS } from '../../src/slack/ids.ts';
import { createClicker, GUEST, JANE, valueFor } from './actions-helpers.ts';
import { COTOOL_TEST_API_KEY } from './fakes/cotool.ts';
import { slashCommandPayload } from './fakes/payloads.ts';
import { CHANNEL, eventually, SIGNING_SECRET, type Stack, type StartedBot, startStack } from './harness.ts';

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
});
afterEach(async () => {
  await stack.close();
});

async function scrape(bot: StartedBot): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${bot.port}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

describe('GET /metrics', () => {
  it.each(['socket', 'http'] as const)('%s mode: a poll posting 2 cards shows in the counters', async (mode) => {
    const a = stack.cotool.addAlert({ severity: 'critical' });
    const b = stack.cotool.addAlert({ severity: 'high' });
    const bot = await stack.start(mode);
    expect(await bot.settle()).toMatchObject({ ok: true, posted: 2 });
    const body = await scrape(bot);

    expect(body).toMatch(/^cotool_slack_cards_posted_total 2$/m);
    expect(body).toMatch(/^cotool_slack_cotool_requests_total\{method="GET",route="\/api\/alerts",status="200"\} 1$/m);
    expect(body).toMatch(/^cotool_slack_polls_total\{outcome="ok"\} 1$/m);
    expect(body).toMatch(/^cotool_slack_live_alerts 2$/m);
    expect(body).toMatch(/^cotool_slack_poll_duration_seconds_count 1$/m);
    expect(body).toMatch(/^# TYPE cotool_slack_cotool_request_duration_seconds histogram$/m);

    const secrets = [COTOOL_TEST_API_KEY, stack.slack.botToken, stack.slack.appToken, SIGNING_SECRET];
    for (const secret of secrets) expect(body).not.toContain(secret);
    for (const id of [a.id, a.displayId, b.id, b.displayId]) expect(body).not.toContain(id);
  });

  it('counts each Cotool attempt (a 500 then a retry) and a Slack call that failed after its retries', async () => {
    stack.cotool.addAlert();
    stack.cotool.failNext(1, { status: 500, body: { error: 'boom' } }, { pathPrefix: '/api/alerts' });
    stack.slack.failNext('chat.postMessage', 4, { status: 500 }); // more than the client's retries
    const bot = await stack.start('socket');
    expect(await bot.settle()).toMatchObject({ ok: true, posted: 0, failed: 1 });
    const body = await scrape(bot);
    expect(body).toMatch(/^cotool_slack_cotool_requests_total\{method="GET",route="\/api\/alerts",status="500"\} 1$/m);
    expect(body).toMatch(/^cotool_slack_cotool_requests_total\{method="GET",route="\/api\/alerts",status="200"\} 1$/m);
    expect(body).toMatch(/^cotool_slack_slack_errors_total\{code="http_5xx"\} 1$/m);
    expect(body).toMatch(/^cotool_slack_cards_posted_total 0$/m);
  });

  it('counts triage clicks and /cotool commands by outcome', async () => {
    stack.slack.addUser(JANE);
    stack.slack.addUser(GUEST);
    const a = stack.cotool.addAlert();
    const bot = await stack.start('socket');
    await bot.settle();
    const card = () => stack.slack.messages(CHANNEL)[0];
    const c = createClicker(stack, bot, 'socket');
    const value = valueFor(card(), ACTIONS.closeFp);
    await c.click(GUEST.id, card()?.ts ?? '', ACTIONS.closeFp, value);
    await c.click(JANE.id, card()?.ts ?? '', ACTIONS.closeFp, value);
    const command = (text: string) =>
      stack.slack.sendEnvelope(
        'slash_commands',
        slashCommandPayload({ text, user: JANE.id, channel: CHANNEL, responseUrl: stack.slack.responseUrl() }),
      );
    await command('help');
    await command(a.displayId);
    await command('COT-999999');

    const expected = [
      'cotool_slack_triage_actions_total{op="closed_false_positive",outcome="denied"} 1',
      'cotool_slack_triage_actions_total{op="closed_false_positive",outcome="ok"} 1',
      'cotool_slack_commands_total{kind="help",outcome="ok"} 1',
      'cotool_slack_commands_total{kind="lookup",outcome="ok"} 1',
      'cotool_slack_commands_total{kind="lookup",outcome="not_found"} 1',
      'cotool_slack_cotool_requests_total{method="POST",route="/api/alerts/:id/status",status="200"} 1',
      // Jane's close was the first human action on the card, within seconds of its post.
      'cotool_slack_time_to_first_action_seconds_count 1',
      'cotool_slack_time_to_first_action_seconds_bucket{le="10"} 1',
      'cotool_slack_leader 1',
    ];
    // The handlers go on after the ack: wait until every line is there.
    const body = await eventually(async () => {
      const text = await scrape(bot);
      const lines = text.split('\n');
      return expected.every((l) => lines.includes(l)) ? text : null;
    });
    expect(body).not.toContain(a.id);
    expect(body).not.toContain(a.displayId);
  });
});
