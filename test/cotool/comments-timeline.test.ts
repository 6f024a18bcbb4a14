/** The comment and timeline endpoints (add-alert-comment.md, get-alert-timeline.md), against nock. */
import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CotoolClientOptions, createCotoolClient } from '../../src/cotool/client.ts';
import { CotoolError } from '../../src/cotool/errors.ts';
import { createLogger } from '../../src/log.ts';
import getAlertFixture from '../fixtures/cotool/get-alert.json' with { type: 'json' };

const BASE = 'https://cotool.test';
const KEY = 'ctk_live_7Hq2Zx9LmN4pR8sT1vW6yB3dF5gJ0kQe';
type Json = Record<string, unknown>;
type LogLine = Json & { level: number; msg: string };

const TEMPLATE = getAlertFixture.alert.timeline[1] as Json;
const ALERT = '3f1c9a7e-2b64-4e0d-9c1a-7d8e5f6a2b10';

function entryN(n: number, over: Json = {}): Json {
  return {
    ...structuredClone(TEMPLATE),
    id: `11111111-2222-4333-8444-${String(n).padStart(12, '0')}`,
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
    kind: 'comment',
    bodyMarkdown: `entry ${n}`,
    ...over,
  };
}

function makeClient(over: Partial<CotoolClientOptions> = {}) {
  const logs: LogLine[] = [];
  const logger = createLogger('debug', { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  const client = createCotoolClient({
    baseUrl: BASE,
    apiKey: KEY,
    logger,
    timeoutMs: 2_000,
    backoffLimitMs: 1,
    ...over,
  });
  return { client, logs };
}

async function failure(promise: Promise<unknown>): Promise<CotoolError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(CotoolError);
    return err as CotoolError;
  }
  throw new Error('expected the call to fail');
}

beforeAll(() => {
  nock.disableNetConnect();
});

afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending, 'every mocked request was made').toEqual([]);
});

describe('addComment', () => {
  it('posts the body with the key and returns the new entry', async () => {
    const { client } = makeClient();
    const scope = nock(BASE, { reqheaders: { authorization: `Bearer ${KEY}` } })
      .post('/api/alerts/COT-12/comments', { bodyMarkdown: 'Note from Slack by Jane Doe (<@U0JANE>): checked' })
      .reply(200, { entry: entryN(1, { bodyMarkdown: 'Note from Slack by Jane Doe (<@U0JANE>): checked' }) });
    const entry = await client.addComment('COT-12', 'Note from Slack by Jane Doe (<@U0JANE>): checked');
    expect(entry.kind).toBe('comment');
    expect(entry.bodyMarkdown).toContain('Jane Doe');
    scope.done();
  });

  it('refuses an empty or oversized body without a request', async () => {
    const { client } = makeClient();
    await expect(client.addComment('COT-12', '')).rejects.toThrow(RangeError);
    await expect(client.addComment('COT-12', 'x'.repeat(20_001))).rejects.toThrow(RangeError);
  });

  it('is not repeated after a 500 or a timeout: the comment may have been written', async () => {
    const { client } = makeClient();
    nock(BASE).post('/api/alerts/COT-12/comments').reply(500, { error: 'boom' });
    const err = await failure(client.addComment('COT-12', 'hi'));
    expect(err.status).toBe(500);
    expect(err.attempts).toBe(1);
    expect(err.mayHaveApplied()).toBe(true);

    nock(BASE)
      .post('/api/alerts/COT-12/comments')
      .delay(3_000)
      .reply(200, { entry: entryN(2) });
    const slow = await failure(makeClient({ timeoutMs: 50 }).client.addComment('COT-12', 'hi'));
    expect(slow.kind).toBe('timeout');
    expect(slow.mayHaveApplied()).toBe(true);
  });

  it('is repeated after a 429 or 503 (the server did nothing), honouring Retry-After', async () => {
    const { client } = makeClient();
    nock(BASE)
      .post('/api/alerts/COT-12/comments')
      .reply(429, { error: 'slow down' }, { 'retry-after': '0' })
      .post('/api/alerts/COT-12/comments')
      .reply(503, { error: 'busy' }, { 'retry-after': '0' })
      .post('/api/alerts/COT-12/comments')
      .reply(200, { entry: entryN(3) });
    expect((await client.addComment('COT-12', 'hi')).id).toMatch(/3$/);
  });

  it('is repeated when the connection was refused (never reached the server)', async () => {
    const { client } = makeClient();
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:443'), { code: 'ECONNREFUSED' });
    nock(BASE)
      .post('/api/alerts/COT-12/comments')
      .replyWithError(refused)
      .post('/api/alerts/COT-12/comments')
      .reply(200, { entry: entryN(4) });
    expect((await client.addComment('COT-12', 'hi')).id).toMatch(/4$/);
  });

  it('reports 403 with the missing permission and 404 as not found', async () => {
    const { client } = makeClient();
    nock(BASE)
      .post('/api/alerts/COT-12/comments')
      .reply(403, { error: 'Forbidden', missingPerms: ['alert.comment'] })
      .post('/api/alerts/COT-99/comments')
      .reply(404, { error: 'Alert not found' });
    const forbidden = await failure(client.addComment('COT-12', 'hi'));
    expect(forbidden.missingPerms).toEqual(['alert.comment']);
    expect((await failure(client.addComment('COT-99', 'hi'))).isNotFound()).toBe(true);
  });

  it('a 200 without an entry is a schema error that says the server accepted the request', async () => {
    const { client } = makeClient();
    nock(BASE).post('/api/alerts/COT-12/comments').reply(200, { ok: true });
    const err = await failure(client.addComment('COT-12', 'hi'));
    expect(err.kind).toBe('schema');
    expect(err.mayHaveApplied()).toBe(true);
  });
});

describe('getTimeline and listTimeline', () => {
  it('reads one page with limit and offset; a bad entry is skipped, an unknown kind kept and logged once', async () => {
    const { client, logs } = makeClient();
    nock(BASE)
      .get(`/api/alerts/${ALERT}/timeline`)
      .query({ limit: '2', offset: '4' })
      .reply(200, {
        entries: [entryN(5, { kind: 'snoozed' }), { id: 7 }, entryN(6, { kind: 'snoozed' })],
        totalCount: 9,
      });
    const page = await client.getTimeline(ALERT, { limit: 2, offset: 4 });
    expect(page.entries.map((e) => e.kind)).toEqual(['snoozed', 'snoozed']);
    expect(page).toMatchObject({ totalCount: 9, skipped: 1, received: 3 });
    const drift = logs.filter((l) => l.level === 40 && JSON.stringify(l).includes('timeline.kind'));
    expect(drift).toHaveLength(1);
  });

  it('retries a read after a 500', async () => {
    const { client } = makeClient();
    nock(BASE)
      .get('/api/alerts/COT-1/timeline')
      .reply(500, { error: 'x' })
      .get('/api/alerts/COT-1/timeline')
      .reply(200, { entries: [], totalCount: 0 });
    expect((await client.getTimeline('COT-1')).entries).toEqual([]);
  });

  it('pages through the whole timeline, deduplicated by id and sorted oldest first', async () => {
    const { client } = makeClient();
    // Unordered pages that overlap (an entry moved between requests).
    nock(BASE)
      .get('/api/alerts/COT-1/timeline')
      .query({ limit: '3', offset: '0' })
      .reply(200, { entries: [entryN(5), entryN(1), entryN(3)], totalCount: 7 })
      .get('/api/alerts/COT-1/timeline')
      .query({ limit: '3', offset: '3' })
      .reply(200, { entries: [entryN(3), entryN(2), entryN(7)], totalCount: 7 })
      .get('/api/alerts/COT-1/timeline')
      .query({ limit: '3', offset: '6' })
      .reply(200, { entries: [entryN(4)], totalCount: 7 });
    const all = await client.listTimeline('COT-1', { pageSize: 3 });
    expect(all.entries.map((e) => e.bodyMarkdown)).toEqual([
      'entry 1',
      'entry 2',
      'entry 3',
      'entry 4',
      'entry 5',
      'entry 7',
    ]);
    expect(all).toMatchObject({ pages: 3, truncated: false, totalCount: 7 });
  });

  it('stops at maxPages and says the listing is partial', async () => {
    const { client } = makeClient();
    nock(BASE)
      .get('/api/alerts/COT-1/timeline')
      .query({ limit: '2', offset: '0' })
      .reply(200, { entries: [entryN(1), entryN(2)], totalCount: 100 })
      .get('/api/alerts/COT-1/timeline')
      .query({ limit: '2', offset: '2' })
      .reply(200, { entries: [entryN(3), entryN(4)], totalCount: 100 });
    const all = await client.listTimeline('COT-1', { pageSize: 2, maxPages: 2 });
    expect(all).toMatchObject({ pages: 2, truncated: true });
    expect(all.entries).toHaveLength(4);
  });

  it('a page that is not the documented envelope is a schema error; a 404 is not found', async () => {
    const { client } = makeClient();
    nock(BASE)
      .get('/api/alerts/COT-1/timeline')
      .reply(200, { items: [] })
      .get('/api/alerts/COT-404/timeline')
      .reply(404, { error: 'Alert not found' });
    expect((await failure(client.getTimeline('COT-1'))).kind).toBe('schema');
    expect((await failure(client.getTimeline('COT-404'))).isNotFound()).toBe(true);
  });
});
