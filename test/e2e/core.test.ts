/**
 * The real bot against local fakes of Cotool and Slack: every alert reaches Slack as one live card.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HOSTILE } from '../slack/hostile.ts';
import { CHANNEL, eventually, type Stack, startStack } from './harness.ts';

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
});
afterEach(async () => {
  await stack.close();
});

const cards = () => stack.slack.messages(CHANNEL);
const textOf = (o: unknown) => JSON.stringify(o);

describe('core: alerts become live cards', () => {
  it('a new alert → exactly one card, with metadata, no unfurls; a second poll posts nothing', async () => {
    const a = stack.cotool.addAlert({ title: 'Impossible travel for jane@acme.test', severity: 'critical' });
    const bot = await stack.start('socket');
    const r = await bot.settle();
    expect(r).toMatchObject({ ok: true, live: 1, posted: 1, failed: 0 });
    expect(cards()).toHaveLength(1);
    const card = cards()[0];
    expect(card?.metadata).toMatchObject({ event_type: 'cotool_alert', event_payload: { alert_id: a.id } });
    expect(card?.text).toContain(a.displayId);
    expect(textOf(card?.blocks)).toContain('Impossible travel for jane@acme.test');
    const post = stack.slack.callsOf('chat.postMessage')[0];
    expect(post?.args).toMatchObject({ unfurl_links: false, unfurl_media: false });
    await bot.settle();
    expect(cards()).toHaveLength(1);
    expect(stack.slack.callsOf('chat.update')).toHaveLength(0);
  });

  it('escalation → the card is updated and a broadcast thread reply names who escalated and mentions on-call', async () => {
    const a = stack.cotool.addAlert({ status: 'open' });
    const bot = await stack.start('socket', { ESCALATION_MENTION: 'S0ONCALL' });
    await bot.settle();
    stack.cotool.updateAlert(
      a.id,
      { status: 'escalated' },
      { actor: { type: 'agent', name: 'Aria' }, reason: 'Token reuse from a new ASN' },
    );
    await bot.settle();
    await bot.settle();
    const [card] = cards();
    expect(card?.replies).toHaveLength(1);
    const reply = card?.replies[0];
    const replyCall = stack.slack.callsOf('chat.postMessage').find((c) => c.args.thread_ts);
    expect(replyCall?.args).toMatchObject({ thread_ts: card?.ts, reply_broadcast: true });
    expect(textOf(reply)).toContain('Aria');
    expect(textOf(reply)).toContain('Token reuse from a new ASN');
    expect(textOf(reply)).toContain('<!subteam^S0ONCALL>');
    expect(stack.slack.callsOf('chat.update')).toHaveLength(1);
    expect(textOf(card?.blocks)).toMatch(/Escalated/);
  });

  it('closed in Cotool → the card shows the final status; later polls leave it alone', async () => {
    const a = stack.cotool.addAlert();
    const bot = await stack.start('socket');
    await bot.settle();
    stack.cotool.updateAlert(a.id, { status: 'closed_false_positive' }, { actor: { type: 'human', name: 'Jane' } });
    await bot.settle();
    expect(textOf(cards()[0]?.blocks)).toMatch(/False positive/i);
    const requests = stack.cotool.requests.length;
    await bot.settle();
    expect(stack.slack.callsOf('chat.update')).toHaveLength(1);
    // One list call per poll; no further GET by id for a final card.
    expect(stack.cotool.requests.length - requests).toBe(1);
  });

  it('edits the card in place only when the rendered card changes', async () => {
    const a = stack.cotool.addAlert({ title: 'Before' });
    const bot = await stack.start('socket');
    await bot.settle();
    await bot.settle();
    expect(stack.slack.callsOf('chat.update')).toHaveLength(0);
    // A change people cannot see still re-renders: the buttons carry the alert version they act on.
    stack.cotool.updateAlert(a.id, { dedupeKey: 'invisible-change' });
    await bot.settle();
    await bot.settle();
    expect(stack.slack.callsOf('chat.update')).toHaveLength(1);
    stack.cotool.updateAlert(a.id, { title: 'After', severity: 'low', assignedAgentName: 'Bo' });
    await bot.settle();
    await bot.settle();
    expect(stack.slack.callsOf('chat.update')).toHaveLength(2);
    expect(textOf(cards()[0]?.blocks)).toContain('After');
  });

  it('restart → no duplicate card; alerts created while down are carded; the backlog rule applies only once', async () => {
    stack.cotool.addAlert();
    const first = await stack.start('socket', { BACKLOG: 'recent' });
    await first.poller.runOnce();
    await first.stop();
    const old = stack.cotool.addAlert({ createdAt: '2025-01-01T00:00:00.000Z' });
    const second = await stack.start('socket', { BACKLOG: 'recent' });
    await second.poller.runOnce();
    await second.poller.runOnce();
    expect(cards()).toHaveLength(2);
    expect(cards().map((c) => c.metadata?.event_payload?.alert_id)).toContain(old.id);
  });

  it('first start with a backlog: escalated and recent alerts are carded, older ones recorded silently', async () => {
    const recent = stack.cotool.addAlert();
    stack.cotool.addAlert({ createdAt: '2025-01-01T00:00:00.000Z' });
    const oldEscalated = stack.cotool.addAlert({ createdAt: '2025-01-01T00:00:00.000Z', status: 'escalated' });
    const bot = await stack.start('socket', { BACKLOG: 'recent' });
    await bot.settle();
    const ids = cards().map((c) => c.metadata?.event_payload?.alert_id);
    expect(ids.sort()).toEqual([recent.id, oldEscalated.id].sort());
  });

  it('Cotool answers 500 for several polls → health says so (still 200), then recovery without duplicates', async () => {
    stack.cotool.addAlert();
    const bot = await stack.start('socket');
    await bot.settle();
    stack.cotool.failNext(100, { status: 500, body: { error: 'boom' } }, { pathPrefix: '/api/alerts' });
    for (let i = 0; i < 3; i++) expect((await bot.settle()).ok).toBe(false);
    const res = await fetch(`http://127.0.0.1:${bot.port}/healthz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 'degraded', mode: 'socket', consecutiveFailures: 3 });
    expect(JSON.stringify(body.lastError)).toMatch(/500/);
    stack.cotool.clearFailures();
    stack.cotool.addAlert();
    await bot.settle();
    expect(cards()).toHaveLength(2);
    expect(stack.slack.callsOf('chat.update')).toHaveLength(0);
    const after = (await (await fetch(`http://127.0.0.1:${bot.port}/healthz`)).json()) as Record<string, unknown>;
    expect(after).toMatchObject({ status: 'ok', consecutiveFailures: 0, liveAlerts: 2 });
  });

  it('Slack answers 429 → retried after Retry-After; every alert still gets exactly one card', async () => {
    const alerts = [stack.cotool.addAlert(), stack.cotool.addAlert(), stack.cotool.addAlert()];
    stack.slack.failNext('chat.postMessage', 2, { status: 429, retryAfter: 1 });
    const bot = await stack.start('socket');
    const started = Date.now();
    const r = await bot.settle();
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    // The sender waits out Retry-After itself (the Web API client does not retry behind its back).
    expect(r).toMatchObject({ posted: 3 });
    expect(bot.sender.stats.rateLimited).toBeGreaterThanOrEqual(1);
    const ids = cards().map((c) => c.metadata?.event_payload?.alert_id);
    expect(ids.sort()).toEqual(alerts.map((a) => a.id).sort());
    expect(stack.slack.callsOf('chat.postMessage').filter((c) => c.result.status === 429)).toHaveLength(2);
  });

  it('Slack answers 500/503 → looked up, then posted again; exactly one card per alert', async () => {
    const alerts = [stack.cotool.addAlert(), stack.cotool.addAlert()];
    stack.slack.failNext('chat.postMessage', 2, { status: 503 });
    const bot = await stack.start('socket', {}, { unknownSettleMs: 20 });
    const r = await bot.settle();
    expect(r).toMatchObject({ posted: 2, failed: 2 });
    expect(
      cards()
        .map((c) => c.metadata?.event_payload?.alert_id)
        .sort(),
    ).toEqual(alerts.map((a) => a.id).sort());
    expect(stack.slack.callsOf('chat.postMessage').filter((c) => c.result.status === 503)).toHaveLength(2);
  });

  it('Slack answers 5xx after storing the message → the card is found by its metadata, never posted twice', async () => {
    const a = stack.cotool.addAlert();
    stack.slack.failAfterCommit('chat.postMessage', 1, 500);
    const bot = await stack.start('socket', {}, { unknownSettleMs: 20 });
    const r = await bot.settle();
    expect(r).toMatchObject({ posted: 0, failed: 1 });
    expect(bot.health.lastError?.source).toBe('slack');
    expect(cards()).toHaveLength(1);
    expect(cards()[0]?.metadata?.event_payload?.alert_id).toBe(a.id);
    expect(stack.slack.callsOf('chat.postMessage')).toHaveLength(1);
    expect((await bot.store.get(a.id))?.state).toBe('posted');
    await bot.settle();
    expect(cards()).toHaveLength(1);
  });

  it('Slack keeps failing with 5xx → the card is posted once Slack recovers, once', async () => {
    stack.cotool.addAlert();
    stack.slack.failNext('chat.postMessage', 4, { status: 500 });
    const bot = await stack.start('socket', {}, { unknownSettleMs: 20 });
    await bot.settle();
    await bot.settle();
    expect(cards()).toHaveLength(1);
    expect(stack.slack.callsOf('chat.postMessage')).toHaveLength(5);
  });

  it('Slack posts the card but its answer is lost → never a second card: the card is found in the channel', async () => {
    const a = stack.cotool.addAlert();
    const bot = await stack.start(
      'socket',
      {},
      {
        slack: { retryConfig: { retries: 3, factor: 1, minTimeout: 50, maxTimeout: 200 }, timeoutMs: 300 },
        claimStaleMs: 200,
        unknownSettleMs: 500,
      },
    );
    stack.slack.setDelay('chat.postMessage', 600); // the fake posts after 600 ms; the bot gave up at 300
    expect(await bot.settle()).toMatchObject({ posted: 0, failed: 1 });
    stack.slack.setDelay('chat.postMessage', 0);
    await eventually(() => cards().length === 1);
    await new Promise((r) => setTimeout(r, 250)); // the claim goes stale
    await bot.settle();
    await bot.settle();
    expect(cards()).toHaveLength(1);
    expect(stack.slack.callsOf('chat.postMessage')).toHaveLength(1);
    expect(bot.logs.some((l) => l.includes('found the card an earlier attempt posted'))).toBe(true);
    expect(cards()[0]?.metadata?.event_payload?.alert_id).toBe(a.id);
  });

  it('bot not in the channel → one actionable log line, and the cards arrive once it is invited', async () => {
    stack.slack.addChannel(CHANNEL, { member: false });
    stack.cotool.addAlert();
    stack.cotool.addAlert();
    const bot = await stack.start('socket');
    await bot.settle();
    expect(cards()).toHaveLength(0);
    const hints = bot.logs.filter((l) => l.includes('"level":50') && l.includes('invite it there'));
    expect(hints).toHaveLength(1);
    stack.slack.addChannel(CHANNEL, { member: true });
    await bot.settle();
    expect(cards()).toHaveLength(2);
  });

  it('a malformed alert or an unknown status in a page is logged and skipped, never drops the others', async () => {
    stack.cotool.addAlert();
    stack.cotool.addRawAlert({ id: 'broken', title: 42 });
    const odd = stack.cotool.addAlert();
    const bot = await stack.start('socket');
    stack.cotool.updateAlert(odd.id, { severity: 'apocalyptic' as never });
    const r = await bot.settle();
    expect(r).toMatchObject({ ok: true, posted: 2, skippedMalformed: 1 });
    expect(bot.logs.some((l) => l.includes('apocalyptic'))).toBe(true);
  });

  it('hostile alert text cannot ping, mention, disguise a link or break the message', async () => {
    for (const s of HOSTILE.slice(0, 12)) stack.cotool.addAlert({ title: s.slice(0, 500) || 'x', description: s });
    stack.cotool.addAlert({ title: '<!channel> URGENT', description: 'x'.repeat(50_000) });
    const bot = await stack.start('socket');
    const r = await bot.settle();
    expect(r.failed).toBe(0);
    expect(cards()).toHaveLength(13);
    for (const c of cards()) {
      // Rich text is literal: its text elements are never parsed for mentions or links; only
      // explicit broadcast/user/link elements would be, and there must be none.
      const blocks = (c.blocks ?? []) as { type?: string }[];
      const rich = JSON.stringify(blocks.filter((b) => b.type === 'rich_text'));
      expect(rich).not.toMatch(/"type":"(broadcast|user|usergroup|channel|link)"/);
      const json = textOf({ text: c.text, blocks: blocks.filter((b) => b.type !== 'rich_text') });
      expect(json).not.toMatch(/<!(channel|here|everyone)|<@U|<#C|<!subteam|<https?:|<mailto:/);
    }
    // The fake validates Block Kit like Slack: no invalid_blocks, no msg_too_long.
    expect(stack.slack.calls.filter((c) => !c.result.ok)).toEqual([]);
  });

  it('secrets never reach the logs', async () => {
    stack.cotool.addAlert();
    const bot = await stack.start('socket');
    await bot.settle();
    stack.cotool.failNext(1, { status: 401, body: { error: 'Unauthorized' } });
    await bot.settle();
    const all = bot.logs.join('\n');
    expect(all.length).toBeGreaterThan(100);
    for (const secret of bot.config.secrets) expect(all).not.toContain(secret);
  });
});

describe('core: HTTP mode', () => {
  it('serves /healthz and /slack/events on PORT; requests must be signed', async () => {
    stack.cotool.addAlert();
    const bot = await stack.start('http');
    await bot.settle();
    expect(cards()).toHaveLength(1);
    const health = await fetch(`http://127.0.0.1:${bot.port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ mode: 'http', status: 'ok' });
    const { signedRequest } = await import('./fakes/payloads.ts');
    const body = JSON.stringify({ type: 'url_verification', challenge: 'abc123', token: 'x' });
    const url = `http://127.0.0.1:${bot.port}/slack/events`;
    const good = await signedRequest(url, {
      body,
      contentType: 'application/json',
      signingSecret: 'e2e-signing-secret-0123456789',
    });
    expect(good.status).toBe(200);
    expect(JSON.stringify(good.body)).toContain('abc123');
    const bad = await signedRequest(url, {
      body,
      contentType: 'application/json',
      signingSecret: 'wrong-secret-000000',
    });
    expect(bad.status).toBe(401);
  });
});

describe('core: the process (npm start)', () => {
  it('a missing variable → one clear line on stderr and exit 1', async () => {
    const env = await stack.env('socket');
    const { SLACK_BOT_TOKEN: _, ...rest } = env;
    const child = stack.spawn(rest);
    const exit = await child.exited;
    expect(exit.code).toBe(1);
    const lines = child.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/SLACK_BOT_TOKEN is missing/);
    expect(child.stderr()).not.toMatch(/at .*\.ts:\d+/); // no stack trace
  });

  it('a wrong bot token → one clear line and exit 1', async () => {
    const child = stack.spawn(await stack.env('socket', { SLACK_BOT_TOKEN: 'xoxb-wrong' }));
    const exit = await child.exited;
    expect(exit.code).toBe(1);
    expect(child.stderr().trim()).toMatch(/^cotool-slack: SLACK_BOT_TOKEN: Slack rejected the bot token/);
    expect(child.stderr()).not.toContain('xoxb-wrong');
  });

  it('starts on its schedule, posts cards, and stops cleanly on SIGTERM within 10 s', async () => {
    stack.cotool.addAlert();
    const env = await stack.env('socket', { POLL_SCHEDULE: '* * * * * *', LOG_LEVEL: 'info' });
    const child = stack.spawn(env);
    await eventually(() => cards().length === 1, 10_000);
    stack.cotool.addAlert();
    await eventually(() => cards().length === 2, 10_000);
    const health = await eventually(async () => (await fetch(`http://127.0.0.1:${env.PORT}/healthz`)).json(), 5_000);
    expect(health).toMatchObject({ status: 'ok', mode: 'socket' });
    const killedAt = Date.now();
    child.proc.kill('SIGTERM');
    const exit = await child.exited;
    expect(exit.code).toBe(0);
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    expect(child.stdout()).toContain('cotool-slack stopped');
    await eventually(() => stack.slack.socketClients === 0, 2_000);
    for (const secret of [env.COTOOL_API_KEY, env.SLACK_BOT_TOKEN, env.SLACK_APP_TOKEN]) {
      expect(child.stdout() + child.stderr()).not.toContain(secret as string);
    }
  });
});
