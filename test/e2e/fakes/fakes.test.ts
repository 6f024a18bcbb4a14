/**
 * Tests of the fake Cotool API and fake Slack, driven by plain fetch and by the real Slack clients
 * (WebClient, SocketModeClient), so the fakes speak what those clients speak.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isValidSlackRequest } from '@slack/bolt';
import { SocketModeClient } from '@slack/socket-mode';
import { type Logger, LogLevel, WebClient } from '@slack/web-api';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { AlertSchema, TimelineEntrySchema } from '../../../src/core/alert.ts';
import { type FakeCotool, makeAlert, startFakeCotool } from './cotool.ts';
import {
  blockActionsPayload,
  eventCallback,
  formBody,
  interactionBody,
  signedRequest,
  slashCommandPayload,
  viewSubmissionPayload,
} from './payloads.ts';
import { type FakeSlack, startFakeSlack } from './slack.ts';

const silent: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  setLevel: () => undefined,
  getLevel: () => LogLevel.ERROR,
  setName: () => undefined,
};

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read freely in assertions
type Json = Record<string, any>;

// ---------------------------------------------------------------------------------------------

describe('fake Cotool API', () => {
  let fake: FakeCotool;
  const call = async (path: string, init: RequestInit & { key?: string | null } = {}) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (init.key !== null) headers.authorization = `Bearer ${init.key ?? fake.apiKey}`;
    const res = await fetch(fake.url + path, { ...init, headers });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const post = (path: string, body: unknown, method = 'POST') => call(path, { method, body: JSON.stringify(body) });

  beforeAll(async () => {
    fake = await startFakeCotool({ actorName: 'Slack bot key' });
  });
  afterAll(() => fake.close());
  afterEach(() => {
    fake.clearFailures();
    fake.clearRawAlerts();
    fake.setOrder('shuffled');
    for (const a of fake.alerts()) fake.removeAlert(a.id);
  });

  it('rejects a missing or wrong API key with 401', async () => {
    expect(await call('/api/alerts', { key: null })).toEqual({ status: 401, body: { error: 'Unauthorized' } });
    expect((await call('/api/alerts', { key: 'nope' })).status).toBe(401);
  });

  it('lists full alerts that the bot schema parses, with filters and pagination', async () => {
    const a = fake.addAlert({ severity: 'critical', title: 'Okta admin MFA reset' });
    const b = fake.addAlert({ status: 'escalated', severity: 'low' });
    const c = fake.addAlert({
      status: 'closed_false_positive',
      source: { category: 'trigger', name: 'jira', triggerType: 'jira' },
      externalRef: 'SEC-42',
    });
    const all = await call('/api/alerts');
    expect(all.status).toBe(200);
    expect(all.body.totalCount).toBe(3);
    for (const raw of all.body.alerts) {
      expect(Object.keys(raw)).toHaveLength(29);
      expect(AlertSchema.safeParse(raw).success).toBe(true);
    }
    const closed = all.body.alerts.find((x: Json) => x.id === c.id);
    expect(closed).toMatchObject({
      derivedDisposition: 'false_positive',
      triggerSource: 'jira',
      createdBy: 'trigger',
      detection: null,
    });
    expect(closed.resolvedAt).toBeTypeOf('string');

    const ids = async (qs: string) => (await call(`/api/alerts?${qs}`)).body.alerts.map((x: Json) => x.id).sort();
    expect(await ids('status=open,escalated')).toEqual([a.id, b.id].sort());
    expect(await ids('severity=critical')).toEqual([a.id]);
    expect(await ids('source=jira')).toEqual([c.id]);
    expect(await ids('q=OKTA%20admin')).toEqual([a.id]);
    expect(await ids('q=sec-42')).toEqual([c.id]);

    const p1 = await call('/api/alerts?limit=2&offset=0');
    const p2 = await call('/api/alerts?limit=2&offset=2');
    expect(p1.body.alerts).toHaveLength(2);
    expect(p2.body).toMatchObject({ totalCount: 3 });
    expect(new Set([...p1.body.alerts, ...p2.body.alerts].map((x: Json) => x.id)).size).toBe(3);
  });

  it('validates list parameters with 400 {error, issues}', async () => {
    for (const qs of [
      'limit=0',
      'limit=201',
      'limit=abc',
      'offset=-1',
      'status=snoozed',
      `q=${'x'.repeat(501)}`,
      'q=',
    ]) {
      const r = await call(`/api/alerts?${qs}`);
      expect(r.status, qs).toBe(400);
      expect(r.body.error).toBeTypeOf('string');
      expect(r.body.issues.length, qs).toBeGreaterThan(0);
    }
  });

  it('does not list newest first by default; setOrder makes it so', async () => {
    for (let i = 0; i < 12; i++) fake.addAlert();
    const newestFirst = fake
      .alerts()
      .map((a) => a.id)
      .reverse();
    const once = (await call('/api/alerts')).body.alerts.map((x: Json) => x.id);
    const again = (await call('/api/alerts')).body.alerts.map((x: Json) => x.id);
    expect(once).not.toEqual(newestFirst);
    expect(again).toEqual(once); // stable, so paging is consistent
    fake.setOrder('created_desc');
    expect((await call('/api/alerts')).body.alerts.map((x: Json) => x.id)).toEqual(newestFirst);
  });

  it('gets an alert by UUID or display id, with its timeline; 404 and 400 otherwise', async () => {
    const a = fake.addAlert();
    const byId = await call(`/api/alerts/${a.id}`);
    const byDisplay = await call(`/api/alerts/${a.displayId}`);
    expect(byId.body).toEqual(byDisplay.body);
    expect(byId.body.alert.timeline).toHaveLength(1);
    expect(byId.body.alert.timeline[0]).toMatchObject({ kind: 'created', actorType: 'agent', alertId: a.id });
    expect(TimelineEntrySchema.safeParse(byId.body.alert.timeline[0]).success).toBe(true);
    expect(await call('/api/alerts/COT-999999')).toEqual({ status: 404, body: { error: 'Alert not found' } });
    expect((await call(`/api/alerts/${crypto.randomUUID()}`)).status).toBe(404);
    expect((await call(`/api/alerts/${a.displayId.toLowerCase()}`)).status).toBe(400);
    fake.removeAlert(a.id);
    expect((await call(`/api/alerts/${a.id}`)).status).toBe(404);
  });

  it('finds the alert for a run by origin or triage run', async () => {
    const runA = crypto.randomUUID();
    const runB = crypto.randomUUID();
    const a = fake.addAlert({ originRunId: runA });
    const b = fake.addAlert({ triageRunId: runB });
    expect((await call(`/api/alerts/for-run/${runA}`)).body.alert.id).toBe(a.id);
    expect((await call(`/api/alerts/for-run/${runB}`)).body.alert.id).toBe(b.id);
    expect((await call(`/api/alerts/for-run/${crypto.randomUUID()}`)).body).toEqual({ alert: null });
  });

  it('changes status as the API key user, without hydrated extras in the response', async () => {
    const a = fake.addAlert();
    const r = await post(`/api/alerts/${a.displayId}/status`, {
      status: 'closed_true_positive_benign',
      reason: 'Closed by <@U1> in Slack',
    });
    expect(r.status).toBe(200);
    expect(r.body.statusChanged).toBe(true);
    expect(r.body.alert).not.toHaveProperty('derivedDisposition');
    expect(r.body.alert).not.toHaveProperty('triggerSource');
    expect(r.body.alert.status).toBe('closed_true_positive_benign');
    expect(r.body.entry).toMatchObject({
      kind: 'status_change',
      actorType: 'human',
      actorUserName: 'Slack bot key',
      beforeStatus: 'open',
      afterStatus: 'closed_true_positive_benign',
      bodyMarkdown: 'Closed by <@U1> in Slack',
    });
    const same = await post(`/api/alerts/${a.id}/status`, { status: 'closed_true_positive_benign' });
    expect(same.body).toMatchObject({ entry: null, statusChanged: false });
    const got = (await call(`/api/alerts/${a.id}`)).body.alert;
    expect(got).toMatchObject({ derivedDisposition: 'true_positive_benign' });
    expect(got.resolvedAt).toBe(got.updatedAt);
    expect(got.timeline.map((e: Json) => e.kind)).toEqual(['created', 'status_change']);

    expect((await post(`/api/alerts/${a.id}/status`, { status: 'snoozed' })).status).toBe(400);
    expect((await post(`/api/alerts/${a.id}/status`, { status: 'open', reason: '' })).status).toBe(400);
    expect(
      (await post(`/api/alerts/${a.id}/status`, { status: 'open', reason: 'x'.repeat(2001) })).body.issues,
    ).toHaveLength(1);
    expect((await post('/api/alerts/COT-424242/status', { status: 'open' })).status).toBe(404);
  });

  it('edits title and description with PATCH', async () => {
    const a = fake.addAlert();
    const r = await post(`/api/alerts/${a.id}`, { title: 'New title', description: null }, 'PATCH');
    expect(r.status).toBe(200);
    expect(r.body.alert).toMatchObject({ title: 'New title', description: null });
    expect(r.body.alert).not.toHaveProperty('originAgentName');
    expect(r.body.entries.map((e: Json) => e.kind)).toEqual(['title_change', 'description_change']);
    expect(r.body.entries[0].metadata).toEqual({ beforeTitle: a.title, afterTitle: 'New title' });
    expect((await post(`/api/alerts/${a.id}`, { title: '' }, 'PATCH')).status).toBe(400);
    expect((await post(`/api/alerts/${a.id}`, { description: 'x'.repeat(50_001) }, 'PATCH')).status).toBe(400);
  });

  it('updateAlert bumps updatedAt strictly and appends entries of the right kinds', () => {
    const a = fake.addAlert();
    const r1 = fake.updateAlert(a.id, { status: 'in_progress', severity: 'critical' });
    const r2 = fake.updateAlert(
      a.id,
      { status: 'escalated', assignedAgentId: null },
      { actor: { type: 'human', name: 'Dana' }, reason: 'needs eyes' },
    );
    expect(r1.alert.updatedAt > a.updatedAt).toBe(true);
    expect(r2.alert.updatedAt > r1.alert.updatedAt).toBe(true);
    expect(r1.alert.firstTriagedAt).toBe(r1.alert.updatedAt);
    expect(r1.entries.map((e) => e.kind)).toEqual(['status_change', 'severity_change']);
    expect(r1.entries[0]).toMatchObject({ actorType: 'agent', actorAgentName: 'Tier 1 Response Agent' });
    expect(r2.entries.map((e) => e.kind)).toEqual(['status_change', 'assignment_change']);
    expect(r2.entries[0]).toMatchObject({
      actorType: 'human',
      actorUserName: 'Dana',
      metadata: { reason: 'needs eyes' },
    });
    expect(fake.getAlert(a.displayId)?.timeline).toHaveLength(5);
    expect(makeAlert({ status: 'closed_false_positive' }).derivedDisposition).toBe('false_positive');
  });

  it('injects failures: status, reset, hang, delay, 403; records requests', async () => {
    fake.addAlert();
    fake.clearRequests();
    fake.failNext(
      1,
      { status: 503, body: { error: 'Service unavailable' }, headers: { 'retry-after': '1' } },
      { pathPrefix: '/api/alerts' },
    );
    const r = await fetch(`${fake.url}/api/alerts`, { headers: { authorization: `Bearer ${fake.apiKey}` } });
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('1');
    expect((await call('/api/alerts')).status).toBe(200);

    fake.failNext(1, 'reset', { method: 'GET' });
    await expect(call('/api/alerts')).rejects.toThrow();
    fake.failNext(1, 'hang');
    await expect(call('/api/alerts', { signal: AbortSignal.timeout(150) })).rejects.toThrow();

    fake.setDelay(120, { method: 'GET', pathPrefix: '/api/alerts' });
    const t0 = performance.now();
    await call('/api/alerts');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(110);
    fake.setDelay(0, { method: 'GET', pathPrefix: '/api/alerts' });

    fake.setForbidden(['alert.triage'], { method: 'POST' });
    const denied = await post(`/api/alerts/${fake.alerts()[0]?.id}/status`, { status: 'escalated' });
    expect(denied).toEqual({ status: 403, body: { error: 'Forbidden', missingPerms: ['alert.triage'] } });
    expect((await call('/api/alerts')).status).toBe(200);

    expect(fake.count('GET', '/api/alerts')).toBe(6);
    expect(fake.count('POST')).toBe(1);
    expect(fake.requests.at(-2)).toMatchObject({ method: 'POST', body: { status: 'escalated' } });
  });

  it('records injected faults; a late answer is carried out although the client gave up', async () => {
    const a = fake.addAlert();
    fake.clearRequests();
    fake.failNext(1, { status: 429, headers: { 'retry-after': '2' } }, { method: 'POST' });
    const limited = await post(`/api/alerts/${a.id}/status`, { status: 'in_progress' });
    expect(limited.status).toBe(429);
    expect(fake.getAlert(a.id)?.status).toBe('open');

    fake.failNext(1, { lateMs: 300 }, { method: 'POST' });
    const late = call(`/api/alerts/${a.id}/status`, {
      method: 'POST',
      body: JSON.stringify({ status: 'closed_false_positive' }),
      signal: AbortSignal.timeout(100),
    });
    await expect(late).rejects.toThrow();
    expect(fake.getAlert(a.id)?.status).toBe('open');
    for (let i = 0; i < 250 && fake.getAlert(a.id)?.status === 'open'; i++) await new Promise((r) => setTimeout(r, 20));
    expect(fake.getAlert(a.id)?.status).toBe('closed_false_positive');

    expect((await call('/api/alerts')).status).toBe(200);
    expect(fake.requests.map((r) => r.fault ?? null)).toEqual(['status 429', 'late', null]);
  });

  it('returns raw alerts verbatim in list pages', async () => {
    fake.addAlert();
    const weird = {
      id: 'not-a-uuid',
      displayId: 'COT-77777',
      title: 'odd',
      status: 'snoozed',
      createdAt: 'x',
      updatedAt: 'y',
      brandNew: 1,
    };
    fake.addRawAlert(weird);
    fake.addRawAlert({ title: 'no id at all' });
    const page = await call('/api/alerts?status=open');
    expect(page.body.totalCount).toBe(3);
    expect(page.body.alerts).toContainEqual(weird);
    expect((await call('/api/alerts/COT-77777')).body.alert).toEqual(weird);
  });
});

// ---------------------------------------------------------------------------------------------

describe('fake Slack Web API with the real WebClient', () => {
  let fake: FakeSlack;
  let client: WebClient;
  const quickRetry = { retries: 2, factor: 1, minTimeout: 10, maxTimeout: 10 };
  const errorOf = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (e) {
      return (e as { data?: Json }).data;
    }
    throw new Error('expected the call to fail');
  };

  beforeAll(async () => {
    fake = await startFakeSlack();
    client = new WebClient(fake.botToken, { slackApiUrl: fake.apiUrl, logger: silent, retryConfig: quickRetry });
  });
  afterAll(() => fake.close());
  afterEach(() => fake.clear());

  it('auth.test and token checks', async () => {
    expect(await client.auth.test()).toMatchObject({
      ok: true,
      user_id: fake.botUserId,
      bot_id: fake.botId,
      team_id: fake.teamId,
    });
    const bad = new WebClient('xoxb-wrong', { slackApiUrl: fake.apiUrl, logger: silent, retryConfig: quickRetry });
    expect(await errorOf(bad.auth.test())).toMatchObject({ ok: false, error: 'invalid_auth' });
    expect(await errorOf(client.apps.connections.open({}))).toMatchObject({ error: 'not_allowed_token_type' });
    expect(await errorOf(client.apiCall('chat.frobnicate'))).toMatchObject({ error: 'unknown_method' });
  });

  it('posts, updates and reads back messages with metadata and threads', async () => {
    const blocks = [
      { type: 'header', text: { type: 'plain_text', text: 'COT-1 · Impossible travel' } },
      {
        type: 'actions',
        block_id: 'triage',
        elements: [
          { type: 'button', action_id: 'close_fp', text: { type: 'plain_text', text: 'Close FP' }, value: 'COT-1' },
        ],
      },
    ];
    const metadata = { event_type: 'cotool_alert', event_payload: { alertId: 'a-1', displayId: 'COT-1' } };
    const posted = await client.chat.postMessage({
      channel: 'C0ALERTS',
      text: 'COT-1',
      blocks,
      metadata,
      unfurl_links: false,
    });
    expect(posted.ts).toMatch(/^\d{10}\.\d{6}$/);
    const call = fake.callsOf('chat.postMessage')[0];
    expect(call?.args).toMatchObject({ channel: 'C0ALERTS', metadata, unfurl_links: false });
    expect(call?.args.blocks).toEqual(blocks);
    expect(call?.args).not.toHaveProperty('token');

    const ts = posted.ts as string;
    const reply = await client.chat.postMessage({ channel: 'C0ALERTS', thread_ts: ts, text: 'status changed' });
    expect(String(reply.ts) > ts).toBe(true);
    await client.chat.update({ channel: 'C0ALERTS', ts, text: 'COT-1 closed', blocks: [blocks[0] as never] });

    const plain = await client.conversations.history({ channel: 'C0ALERTS' });
    expect(plain.messages).toHaveLength(1);
    expect(plain.messages?.[0]).not.toHaveProperty('metadata');
    const full = await client.conversations.history({ channel: 'C0ALERTS', include_all_metadata: true, oldest: '0' });
    expect(full.messages?.[0]).toMatchObject({
      ts,
      text: 'COT-1 closed',
      metadata,
      reply_count: 1,
      bot_id: fake.botId,
    });
    expect(full.messages?.[0]?.edited).toBeDefined();
    expect((await client.conversations.history({ channel: 'C0ALERTS', oldest: ts })).messages).toHaveLength(0);

    const thread = await client.conversations.replies({ channel: 'C0ALERTS', ts });
    expect(thread.messages?.map((m) => m.text)).toEqual(['COT-1 closed', 'status changed']);
    expect(fake.messages('C0ALERTS')[0]?.replies).toHaveLength(1);

    const link = await client.chat.getPermalink({ channel: 'C0ALERTS', message_ts: ts });
    expect(link.permalink).toBe(`https://acme.slack.com/archives/C0ALERTS/p${ts.replace('.', '')}`);
    expect(await errorOf(client.chat.update({ channel: 'C0ALERTS', ts: '1.000001', text: 'x' }))).toMatchObject({
      error: 'message_not_found',
    });
  });

  it('pages history newest first with a cursor', async () => {
    for (let i = 0; i < 5; i++) await client.chat.postMessage({ channel: 'C0ALERTS', text: `m${i}` });
    const first = await client.conversations.history({ channel: 'C0ALERTS', limit: 3 });
    expect(first.messages?.map((m) => m.text)).toEqual(['m4', 'm3', 'm2']);
    expect(first.has_more).toBe(true);
    const next = await client.conversations.history({
      channel: 'C0ALERTS',
      limit: 3,
      cursor: first.response_metadata?.next_cursor,
    });
    expect(next.messages?.map((m) => m.text)).toEqual(['m1', 'm0']);
    expect(next.has_more).toBe(false);
  });

  it('refuses channels the bot is not in, and messages without content', async () => {
    fake.addChannel('C0OTHER', { member: false, name: 'other' });
    expect(await errorOf(client.chat.postMessage({ channel: 'C0OTHER', text: 'hi' }))).toMatchObject({
      error: 'not_in_channel',
    });
    expect(await errorOf(client.chat.postMessage({ channel: 'C0NOPE', text: 'hi' }))).toMatchObject({
      error: 'channel_not_found',
    });
    expect(await errorOf(client.chat.postMessage({ channel: 'C0ALERTS', text: '' }))).toMatchObject({
      error: 'no_text',
    });
    expect(await errorOf(client.chat.postMessage({ channel: 'C0ALERTS', text: 'x'.repeat(40_001) }))).toMatchObject({
      error: 'msg_too_long',
    });
  });

  it('rejects invalid Block Kit like Slack does', async () => {
    const button = (id: string, text = 'Go') => ({ type: 'button', action_id: id, text: { type: 'plain_text', text } });
    const cases: Array<[unknown[], RegExp]> = [
      [
        [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }],
        /less than 151.*\/blocks\/0\/text\/text/,
      ],
      [[{ type: 'section', text: { type: 'mrkdwn', text: 's'.repeat(3001) } }], /less than 3001/],
      [[{ type: 'section', text: { text: 'no type' } }], /\/blocks\/0\/text\/type/],
      [
        [{ type: 'section', fields: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'f' })) }],
        /no more than 10 items/,
      ],
      [[{ type: 'actions', elements: [button('a'), button('a')] }], /duplicate action_id/],
      [[{ type: 'actions', elements: [button('a', 'b'.repeat(76))] }], /less than 76/],
      [
        [{ type: 'context', elements: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'c' })) }],
        /no more than 10 items/,
      ],
      [
        [
          {
            type: 'actions',
            elements: [
              {
                type: 'overflow',
                action_id: 'o',
                options: [{ text: { type: 'plain_text', text: 'one' }, value: 'v' }],
              },
            ],
          },
        ],
        /at least 2 items/,
      ],
      [Array.from({ length: 51 }, () => ({ type: 'divider' })), /no more than 50 items.*\/blocks\]/],
    ];
    for (const [blocks, pattern] of cases) {
      const data = await errorOf(client.chat.postMessage({ channel: 'C0ALERTS', text: 't', blocks: blocks as never }));
      expect(data?.error).toBe('invalid_blocks');
      expect(data?.response_metadata?.messages?.join('\n')).toMatch(pattern);
    }
    expect(fake.messages('C0ALERTS')).toHaveLength(0);
  });

  it('retries a rate-limited call after Retry-After', async () => {
    fake.failNext('chat.postMessage', 1, { status: 429, retryAfter: 1 });
    const started = Date.now();
    const r = await client.chat.postMessage({ channel: 'C0ALERTS', text: 'after the limit' });
    expect(r.ok).toBe(true);
    const [first, second] = fake.callsOf('chat.postMessage');
    expect(first?.result).toEqual({ ok: false, status: 429 });
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(1000);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(fake.messages('C0ALERTS')).toHaveLength(1);

    fake.failNext('chat.postMessage', 1, { error: 'fatal_error' });
    expect(await errorOf(client.chat.postMessage({ channel: 'C0ALERTS', text: 'x' }))).toMatchObject({
      error: 'fatal_error',
    });
  });

  it('answers internal_error / fatal_error after storing a message, and refuses everything during an outage', async () => {
    const noRetry = new WebClient(fake.botToken, {
      slackApiUrl: fake.apiUrl,
      logger: silent,
      retryConfig: { retries: 0 },
    });
    fake.failAfterCommit('chat.postMessage', 1, 'internal_error');
    fake.failAfterCommit('chat.postMessage', 1, 'fatal_error');
    expect(await errorOf(noRetry.chat.postMessage({ channel: 'C0ALERTS', text: 'one' }))).toMatchObject({
      error: 'internal_error',
    });
    expect(await errorOf(noRetry.chat.postMessage({ channel: 'C0ALERTS', text: 'two' }))).toMatchObject({
      error: 'fatal_error',
    });
    // Both were stored although Slack said no.
    expect(fake.messages('C0ALERTS').map((m) => m.text)).toEqual(['one', 'two']);

    fake.outage(60_000, 'service_unavailable');
    expect(fake.inOutage).toBe(true);
    expect(await errorOf(noRetry.chat.postMessage({ channel: 'C0ALERTS', text: 'lost' }))).toMatchObject({
      error: 'service_unavailable',
    });
    fake.outage(60_000);
    await expect(noRetry.chat.update({ channel: 'C0ALERTS', ts: '1.0', text: 'x' })).rejects.toMatchObject({
      code: 'slack_webapi_http_error',
      statusCode: 503,
    });
    fake.outage(0);
    expect(fake.inOutage).toBe(false);
    expect(fake.messages('C0ALERTS').map((m) => m.text)).toEqual(['one', 'two']);
    expect((await noRetry.chat.postMessage({ channel: 'C0ALERTS', text: 'after' })).ok).toBe(true);
    // Each injected answer says so on the recorded call.
    expect(fake.callsOf('chat.postMessage').map((c) => c.injected ?? null)).toEqual([
      'after_commit',
      'after_commit',
      'outage',
      null,
    ]);
    expect(fake.callsOf('chat.update').map((c) => c.injected)).toEqual(['outage']);
  });

  it('looks users up by e-mail, opens DMs, creates channels, invites and bookmarks — as strictly as Slack', async () => {
    // A workspace of its own: the users added here would change the default channel's members.
    const fake = await startFakeSlack();
    onTestFinished(() => fake.close());
    const client = new WebClient(fake.botToken, { slackApiUrl: fake.apiUrl, logger: silent, retryConfig: quickRetry });
    fake.addUser({ id: 'U0JANE', name: 'jane', real_name: 'Jane Doe', email: 'Jane@Acme.io' });
    fake.addUser({ id: 'U0GONE', name: 'gone', email: 'gone@acme.io', deleted: true });
    fake.addUser({ id: 'U0QUIET', name: 'quiet', email: 'quiet@acme.io', dmsClosed: true });
    fake.addUser({ id: 'U0BOTTY', name: 'botty', email: 'botty@acme.io', is_bot: true });
    expect((await client.users.lookupByEmail({ email: 'jane@acme.io' })).user).toMatchObject({
      id: 'U0JANE',
      profile: { email: 'Jane@Acme.io' },
    });
    expect(await errorOf(client.users.lookupByEmail({ email: 'nobody@acme.io' }))).toMatchObject({
      error: 'users_not_found',
    });
    // DMs: a bot, a deactivated user and an unknown id are refused; closed DMs refuse the message.
    const dm = await client.conversations.open({ users: 'U0JANE' });
    const dmId = String(dm.channel?.id);
    expect(dmId).toMatch(/^D/);
    await client.chat.postMessage({ channel: dmId, text: 'Was this you?' });
    expect(fake.messages(dmId).map((m) => m.text)).toEqual(['Was this you?']);
    expect(await errorOf(client.conversations.open({ users: 'U0BOTTY' }))).toMatchObject({ error: 'cannot_dm_bot' });
    expect(await errorOf(client.conversations.open({ users: 'U0GONE' }))).toMatchObject({ error: 'user_disabled' });
    expect(await errorOf(client.conversations.open({ users: 'U0NOBODY' }))).toMatchObject({ error: 'user_not_found' });
    const quiet = String((await client.conversations.open({ users: 'U0QUIET' })).channel?.id);
    expect(await errorOf(client.chat.postMessage({ channel: quiet, text: 'x' }))).toMatchObject({
      error: 'messages_tab_disabled',
    });

    // Channels: names are checked and unique; the bot is a member of what it creates.
    const created = await client.conversations.create({ name: 'inc-cot-1042-impossible-travel' });
    const id = String(created.channel?.id);
    expect(created.channel).toMatchObject({ name: 'inc-cot-1042-impossible-travel', is_member: true });
    expect(fake.channelByName('inc-cot-1042-impossible-travel')).toMatchObject({ id, members: [fake.botUserId] });
    expect(await errorOf(client.conversations.create({ name: 'inc-cot-1042-impossible-travel' }))).toMatchObject({
      error: 'name_taken',
    });
    expect(await errorOf(client.conversations.create({ name: 'Inc COT' }))).toMatchObject({ error: 'invalid_name' });
    expect(await errorOf(client.conversations.create({ name: 'inc#1' }))).toMatchObject({
      error: 'invalid_name_specials',
    });
    expect(await errorOf(client.conversations.create({ name: 'x'.repeat(81) }))).toMatchObject({
      error: 'invalid_name_maxlength',
    });
    fake.setChannelCreation(false);
    expect(await errorOf(client.conversations.create({ name: 'inc-other' }))).toMatchObject({
      error: 'restricted_action',
    });
    fake.setChannelCreation(true);

    await client.conversations.invite({ channel: id, users: 'U0JANE' });
    expect(fake.channelByName('inc-cot-1042-impossible-travel')?.members).toEqual([fake.botUserId, 'U0JANE']);
    expect(await errorOf(client.conversations.invite({ channel: id, users: 'U0JANE' }))).toMatchObject({
      error: 'already_in_channel',
    });
    expect(await errorOf(client.conversations.invite({ channel: id, users: fake.botUserId }))).toMatchObject({
      error: 'cant_invite_self',
    });
    expect(await errorOf(client.conversations.invite({ channel: id, users: 'U0NOBODY' }))).toMatchObject({
      error: 'user_not_found',
    });

    await client.bookmarks.add({
      channel_id: id,
      title: 'COT-1042 in Cotool',
      type: 'link',
      link: 'https://app.cotool.ai/x',
    });
    expect(fake.bookmarks(id)).toMatchObject([{ title: 'COT-1042 in Cotool', link: 'https://app.cotool.ai/x' }]);
    expect(
      await errorOf(client.bookmarks.add({ channel_id: id, title: 't', type: 'link', link: 'javascript:alert(1)' })),
    ).toMatchObject({ error: 'invalid_link' });
  });

  it('serves users, members, usergroups and ephemeral messages', async () => {
    fake.addUser({ id: 'U0DANA', name: 'dana', real_name: 'Dana Scully', display_name: 'dana', is_restricted: true });
    fake.setUsergroup('S0SECOPS', ['U0DANA']);
    expect((await client.users.info({ user: 'U0DANA' })).user).toMatchObject({
      id: 'U0DANA',
      is_restricted: true,
      profile: { display_name: 'dana' },
    });
    expect(await errorOf(client.users.info({ user: 'U0NOBODY' }))).toMatchObject({ error: 'user_not_found' });
    expect((await client.usergroups.users.list({ usergroup: 'S0SECOPS' })).users).toEqual(['U0DANA']);
    expect((await client.conversations.members({ channel: 'C0ALERTS' })).members).toEqual([fake.botUserId, 'U0DANA']);
    expect((await client.conversations.info({ channel: 'C0ALERTS' })).channel).toMatchObject({
      name: 'alerts',
      is_member: true,
      is_shared: false,
      is_ext_shared: false,
    });
    fake.addChannel('C0PARTNER', { name: 'acme-partner', externallyShared: true });
    expect((await client.conversations.info({ channel: 'C0PARTNER' })).channel).toMatchObject({
      is_shared: true,
      is_ext_shared: true,
    });
    await client.chat.postEphemeral({ channel: 'C0ALERTS', user: 'U0DANA', text: 'only you' });
    expect(fake.ephemerals('C0ALERTS')).toMatchObject([{ user: 'U0DANA', text: 'only you' }]);
    fake.setMembers('C0ALERTS', [fake.botUserId]);
    expect(await errorOf(client.chat.postEphemeral({ channel: 'C0ALERTS', user: 'U0DANA', text: 'x' }))).toMatchObject({
      error: 'user_not_in_channel',
    });
    fake.setMembers('C0ALERTS', null);
  });

  it('opens and updates views, checking triggers and view limits', async () => {
    const modal = {
      type: 'modal' as const,
      callback_id: 'edit_alert',
      title: { type: 'plain_text' as const, text: 'Edit COT-1' },
      submit: { type: 'plain_text' as const, text: 'Save' },
      private_metadata: JSON.stringify({ alertId: 'a-1' }),
      blocks: [
        {
          type: 'input',
          block_id: 'title',
          label: { type: 'plain_text', text: 'Title' },
          element: { type: 'plain_text_input', action_id: 'v', initial_value: 'abc', max_length: 500 },
        },
      ],
    };
    const opened = await client.views.open({ trigger_id: '123.456.abc', view: modal as never });
    expect(opened.view).toMatchObject({
      callback_id: 'edit_alert',
      private_metadata: modal.private_metadata,
      type: 'modal',
    });
    const id = opened.view?.id as string;
    await client.views.update({
      view_id: id,
      hash: opened.view?.hash,
      view: { ...modal, title: { type: 'plain_text', text: 'Saved' } } as never,
    });
    expect(fake.view(id)?.title).toEqual({ type: 'plain_text', text: 'Saved' });
    expect(await errorOf(client.views.update({ view_id: id, hash: 'stale', view: modal as never }))).toMatchObject({
      error: 'hash_conflict',
    });
    expect(await errorOf(client.views.open({ trigger_id: 'expired-1', view: modal as never }))).toMatchObject({
      error: 'expired_trigger_id',
    });
    expect(await errorOf(client.views.open({ trigger_id: '123.456.abc', view: modal as never }))).toMatchObject({
      error: 'exchanged_trigger_id',
    });
    const tooLong = await errorOf(
      client.views.open({
        trigger_id: 't2',
        view: { ...modal, title: { type: 'plain_text', text: 'x'.repeat(25) } } as never,
      }),
    );
    expect(tooLong).toMatchObject({ error: 'invalid_arguments' });
    expect(tooLong?.response_metadata?.messages?.[0]).toMatch(/\/view\/title\/text/);
    const badInit = {
      ...modal,
      blocks: [
        {
          ...modal.blocks[0],
          element: { type: 'plain_text_input', action_id: 'v', initial_value: 'abcdef', max_length: 5 },
        },
      ],
    };
    expect(await errorOf(client.views.open({ trigger_id: 't3', view: badInit as never }))).toMatchObject({
      error: 'invalid_arguments',
    });
    const home = await client.views.publish({
      user_id: 'U0DANA',
      view: { type: 'home', blocks: [{ type: 'divider' }] },
    });
    expect(home.view?.type).toBe('home');
  });

  it('shows broadcast replies in history; serves unfurls, views.push, JSON bodies and 5xx retries', async () => {
    const parent = await client.chat.postMessage({ channel: 'alerts', text: 'card' });
    await client.chat.postMessage({
      channel: 'C0ALERTS',
      thread_ts: parent.ts as string,
      text: 'escalated!',
      reply_broadcast: true,
    });
    const history = await client.conversations.history({ channel: 'C0ALERTS' });
    expect(history.messages?.map((m) => m.subtype ?? 'top')).toEqual(['thread_broadcast', 'top']);
    expect(
      await errorOf(client.chat.postMessage({ channel: 'C0ALERTS', thread_ts: '1.000002', text: 'x' })),
    ).toMatchObject({ error: 'thread_not_found' });

    const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
    const link = 'https://app.cotool.ai/acme/alerts/COT-1';
    await client.chat.unfurl({
      channel: 'C0ALERTS',
      ts: parent.ts as string,
      unfurls: { [link]: { blocks: [section('COT-1')] } } as never,
    });
    const badUnfurl = client.chat.unfurl({
      channel: 'C0ALERTS',
      ts: parent.ts as string,
      unfurls: { [link]: { blocks: [section('')] } } as never,
    });
    expect(await errorOf(badUnfurl)).toMatchObject({ error: 'invalid_blocks' });

    const pushed = await client.views.push({
      trigger_id: 'push-1',
      view: { type: 'modal', title: { type: 'plain_text', text: 'Details' }, blocks: [section('hi')] as never },
    });
    expect(fake.view(pushed.view?.id as string)).toBeDefined();

    const res = await fetch(`${fake.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fake.botToken}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ channel: 'C0ALERTS', text: 'json', blocks: [section('json body')] }),
    });
    expect(await res.json()).toMatchObject({ ok: true, message: { text: 'json' } });

    fake.failNext('auth.test', 1, { status: 503 });
    expect((await client.auth.test()).ok).toBe(true);
    expect(fake.callsOf('auth.test').map((c) => c.result.status ?? 200)).toEqual([503, 200]);
  });

  it('records response URL posts and applies replace_original', async () => {
    const posted = await client.chat.postMessage({ channel: 'C0ALERTS', text: 'card' });
    const url = fake.responseUrl({ channel: 'C0ALERTS', ts: posted.ts as string });
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ replace_original: true, text: 'replaced' }),
    });
    expect(res.status).toBe(200);
    expect(fake.responses(url)).toMatchObject([{ body: { replace_original: true, text: 'replaced' } }]);
    expect(fake.message('C0ALERTS', posted.ts as string)?.text).toBe('replaced');
    const bad = await fetch(url, {
      method: 'POST',
      body: JSON.stringify({ text: 't', blocks: [{ type: 'header', text: { type: 'mrkdwn', text: 'x' } }] }),
    });
    expect(bad.status).toBe(400);
  });
});

// ---------------------------------------------------------------------------------------------

describe('fake Slack Socket Mode with the real SocketModeClient', () => {
  it('connects via apps.connections.open, delivers envelopes, takes acks and reconnects', async () => {
    const fake = await startFakeSlack({ pingIntervalMs: 100 });
    const client = new SocketModeClient({
      appToken: fake.appToken,
      clientOptions: { slackApiUrl: fake.apiUrl },
      logger: silent,
      clientPingTimeout: 400,
    });
    const seen: string[] = [];
    client.on('slack_event', async ({ ack, type, body }) => {
      seen.push(type);
      if (type === 'slash_commands') await ack({ text: `you said ${body.text}` });
      else await ack();
    });
    try {
      await client.start();
      await fake.socketConnected();
      expect(fake.socketClients).toBe(1);
      expect(fake.callsOf('apps.connections.open')).toHaveLength(1);

      const cmd = slashCommandPayload({
        text: 'COT-12',
        user: 'U0DANA',
        channel: 'C0ALERTS',
        responseUrl: fake.responseUrl(),
      });
      const ack = await fake.sendEnvelope('slash_commands', cmd);
      expect(ack.payload).toEqual({ text: 'you said COT-12' });
      expect(ack.ackedAfterMs).toBeLessThan(1000);

      const action = blockActionsPayload({
        user: 'U0DANA',
        channel: 'C0ALERTS',
        messageTs: '1700000000.000100',
        actionId: 'close_fp',
        value: 'COT-12',
        responseUrl: fake.responseUrl(),
      });
      expect((await fake.sendEnvelope('interactive', action)).payload).toEqual({});
      await fake.sendEnvelope(
        'events_api',
        eventCallback({ type: 'app_home_opened', user: 'U0DANA', channel: 'D0DANA', tab: 'home' }),
      );
      expect(seen).toEqual(['slash_commands', 'interactive', 'events_api']);

      fake.socketDisconnect('refresh_requested');
      await fake.socketConnected({ nth: 2, timeoutMs: 3000 });
      expect(fake.callsOf('apps.connections.open')).toHaveLength(2);
      expect((await fake.sendEnvelope('interactive', action)).envelope_id).toBeTypeOf('string');
    } finally {
      await client.disconnect();
      await fake.close();
    }
  });

  it('rejects sendEnvelope when nobody acks in time', async () => {
    const fake = await startFakeSlack();
    try {
      await expect(fake.sendEnvelope('events_api', eventCallback({ type: 'x' }))).rejects.toThrow(
        /no socket mode client/,
      );
      await expect(fake.socketConnected({ timeoutMs: 50 })).rejects.toThrow();
    } finally {
      await fake.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('payload builders', () => {
  it('signs requests the way Bolt verifies them', async () => {
    const secret = 'fake-signing-secret';
    const seen: Array<{ body: string; headers: http.IncomingHttpHeaders }> = [];
    const server = http.createServer(async (req, res) => {
      let body = '';
      for await (const c of req) body += c;
      seen.push({ body, headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
    try {
      const view = viewSubmissionPayload({
        user: 'U0DANA',
        callbackId: 'edit_alert',
        privateMetadata: '{}',
        values: { title: { v: 'New' } },
      });
      const r = await signedRequest(url, {
        body: interactionBody(view),
        contentType: 'application/x-www-form-urlencoded',
        signingSecret: secret,
      });
      expect(r).toMatchObject({ status: 200, body: { ok: true } });
      await signedRequest(url, {
        body: formBody({ command: '/cotool', text: 'list' }),
        contentType: 'application/x-www-form-urlencoded',
        signingSecret: secret,
        timestamp: 1,
      });
      const verify = (i: number) => {
        const s = seen[i] ?? { body: '', headers: {} };
        return isValidSlackRequest({
          signingSecret: secret,
          body: s.body,
          headers: {
            'x-slack-signature': String(s.headers['x-slack-signature']),
            'x-slack-request-timestamp': Number(s.headers['x-slack-request-timestamp']),
          },
        });
      };
      expect(verify(0)).toBe(true);
      expect(verify(1)).toBe(false); // too old
      const parsed = JSON.parse(new URLSearchParams(seen[0]?.body).get('payload') ?? '{}');
      expect(parsed.view.state.values.title.v).toEqual({ type: 'plain_text_input', value: 'New' });
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
