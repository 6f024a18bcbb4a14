import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type AlertPageOf,
  type CotoolClient,
  type CotoolClientOptions,
  createCotoolClient,
  type RawAlertPage,
} from '../../src/cotool/client.ts';
import { CotoolError } from '../../src/cotool/errors.ts';
import { createLogger } from '../../src/log.ts';
import error400 from '../fixtures/cotool/error-400.json' with { type: 'json' };
import error401 from '../fixtures/cotool/error-401.json' with { type: 'json' };
import error403 from '../fixtures/cotool/error-403.json' with { type: 'json' };
import error404 from '../fixtures/cotool/error-404.json' with { type: 'json' };
import error500 from '../fixtures/cotool/error-500.json' with { type: 'json' };
import getAlertFixture from '../fixtures/cotool/get-alert.json' with { type: 'json' };
import getAlertForRunFixture from '../fixtures/cotool/get-alert-for-run.json' with { type: 'json' };
import listFixture from '../fixtures/cotool/list-alerts.json' with { type: 'json' };
import detailsFixture from '../fixtures/cotool/update-alert-details.json' with { type: 'json' };
import statusFixture from '../fixtures/cotool/update-alert-status.json' with { type: 'json' };

const BASE = 'https://cotool.test';
const KEY = 'ctk_live_7Hq2Zx9LmN4pR8sT1vW6yB3dF5gJ0kQe';

type Json = Record<string, unknown>;
type LogLine = Json & { level: number; msg: string };

const clone = <T>(value: T): T => structuredClone(value);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const [ALERT_A, ALERT_B, ALERT_C] = listFixture.alerts.map((a) => a as Json) as [Json, Json, Json];

/** A distinct alert built from the documented shape. */
function alertN(n: number, over: Json = {}): Json {
  const hex = n.toString(16).padStart(12, '0');
  return { ...clone(ALERT_A), id: `0c0ffee0-0000-4000-8000-${hex}`, displayId: `COT-${n}`, ...over };
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

/** A failure must read as one line and never carry the key. */
function expectClean(err: CotoolError): void {
  expect(err.message).not.toMatch(/[\r\n]/);
  expect(String(err)).not.toContain(KEY);
  expect(JSON.stringify(err.toLog())).not.toContain(KEY);
  expect(JSON.stringify(err)).not.toContain(KEY);
}

function warnings(logs: LogLine[]): LogLine[] {
  return logs.filter((l) => l.level === 40);
}

beforeAll(() => {
  nock.disableNetConnect();
});

afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending, 'every mocked request was made').toEqual([]);
});

afterAll(() => {
  nock.enableNetConnect();
});

describe('transport', () => {
  it('sends the bearer key, Accept and a cotool-slack User-Agent', async () => {
    nock(BASE, {
      reqheaders: {
        authorization: `Bearer ${KEY}`,
        accept: 'application/json',
        'user-agent': /^cotool-slack\/\d+\.\d+\.\d+/,
      },
    })
      .get('/api/alerts')
      .reply(200, listFixture);
    const { client } = makeClient();
    const page = await client.listAlerts();
    expect(page.alerts.map((a) => a.displayId)).toEqual(['COT-1042', 'COT-1041', 'COT-1038']);
    expect(page.totalCount).toBe(3);
    expect(page.skipped).toBe(0);
  });

  it('uses a given User-Agent', async () => {
    nock(BASE, { reqheaders: { 'user-agent': 'cotool-slack/test' } })
      .get('/api/alerts')
      .reply(200, listFixture);
    const { client } = makeClient({ userAgent: 'cotool-slack/test' });
    await client.listAlerts();
  });

  it.each([
    ['https://cotool.test', 'https://cotool.test', '/api/alerts/COT-1042'],
    ['https://cotool.test/', 'https://cotool.test', '/api/alerts/COT-1042'],
    ['https://gw.test/cotool', 'https://gw.test', '/cotool/api/alerts/COT-1042'],
    ['https://gw.test/cotool/', 'https://gw.test', '/cotool/api/alerts/COT-1042'],
  ])('base URL %s', async (baseUrl, origin, path) => {
    nock(origin).get(path).reply(200, getAlertFixture);
    const { client } = makeClient({ baseUrl });
    const alert = await client.getAlert('COT-1042');
    expect(alert.id).toBe('3f1c9a7e-2b64-4e0d-9c1a-7d8e5f6a2b10');
  });

  it('rejects a base URL with a query or credentials', () => {
    const { logs } = makeClient();
    const logger = createLogger('silent');
    expect(() => createCotoolClient({ baseUrl: 'https://x.test/?k=1', apiKey: KEY, logger })).toThrow(TypeError);
    expect(() => createCotoolClient({ baseUrl: 'https://u:p@x.test', apiKey: KEY, logger })).toThrow(TypeError);
    expect(() => createCotoolClient({ baseUrl: 'not a url', apiKey: KEY, logger })).toThrow(TypeError);
    expect(logs).toEqual([]);
  });

  it('rejects an API key that cannot go in a header, without echoing it', () => {
    const logger = createLogger('silent');
    const bad = `${KEY}\n`;
    let caught: unknown;
    try {
      createCotoolClient({ baseUrl: BASE, apiKey: bad, logger });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(TypeError);
    expect(String(caught)).not.toContain(KEY);
  });

  it('serializes list filters as comma-separated values', async () => {
    let seen: Json | undefined;
    nock(BASE)
      .get('/api/alerts')
      .query((q) => {
        seen = q;
        return true;
      })
      .reply(200, listFixture);
    const { client } = makeClient();
    await client.listAlerts({
      limit: 50,
      offset: 100,
      status: ['open', 'escalated'],
      severity: ['high', 'critical'],
      source: ['jira', 'cotool_detection'],
      assignedAgentId: '6b7c8d9e-0f1a-4b2c-9d3e-4f5a6b7c8d9e',
      detection: 'cotool:5e6f7a8b',
      q: 'okta impossible travel & more',
    });
    expect(seen).toEqual({
      limit: '50',
      offset: '100',
      status: 'open,escalated',
      severity: 'high,critical',
      source: 'jira,cotool_detection',
      assignedAgentId: '6b7c8d9e-0f1a-4b2c-9d3e-4f5a6b7c8d9e',
      detection: 'cotool:5e6f7a8b',
      q: 'okta impossible travel & more',
    });
  });

  it('omits empty lists and an empty q', async () => {
    let seen: Json | undefined;
    nock(BASE)
      .get('/api/alerts')
      .query((q) => {
        seen = q;
        return true;
      })
      .reply(200, listFixture);
    const { client } = makeClient();
    await client.listAlerts({ status: [], q: '' });
    expect(seen).toEqual({});
  });

  it('encodes ids as one path segment', async () => {
    nock(BASE).get('/api/alerts/a%2Fb%20c%3F%23').reply(200, getAlertFixture);
    nock(BASE).get('/api/alerts/for-run/run%2F1').reply(200, { alert: null });
    const { client } = makeClient();
    await client.getAlert('a/b c?#');
    expect(await client.getAlertForRun('run/1')).toBeNull();
  });

  it('refuses dot-segment ids before sending anything', async () => {
    const { client } = makeClient();
    await expect(client.getAlert('..')).rejects.toThrow(RangeError);
    await expect(client.updateStatus('.', 'open')).rejects.toThrow(RangeError);
    await expect(client.getAlert('')).rejects.toThrow(RangeError);
  });

  it('logs method, path, status and duration at debug, never the key or the query', async () => {
    nock(BASE).get('/api/alerts').query(true).reply(200, listFixture);
    const { client, logs } = makeClient();
    await client.listAlerts({ q: 'secret-search-term' });
    const done = logs.find((l) => l.msg === 'cotool response');
    expect(done).toMatchObject({ level: 20, method: 'GET', path: '/api/alerts', status: 200, attempts: 1 });
    expect(typeof done?.ms).toBe('number');
    const all = JSON.stringify(logs);
    expect(all).not.toContain(KEY);
    expect(all).not.toMatch(/bearer/i);
    expect(all).not.toContain('secret-search-term');
  });
});

/** Every page of the listing, read through the public page-by-page entry point. */
async function listAll(client: CotoolClient, params: Parameters<CotoolClient['listAlertPages']>[0] = {}, opts = {}) {
  const pages: AlertPageOf[] = [];
  for await (const page of client.listAlertPages(params, opts)) pages.push(page);
  return {
    pages,
    alerts: pages.flatMap((p) => p.alerts),
    skipped: pages.reduce((n, p) => n + p.skipped, 0),
    truncated: pages.at(-1)?.truncated,
  };
}

describe('listAlertPages', () => {
  it('pages by offset, hands overlapping pages over as they came and stops on a short page', async () => {
    const [a, b, c, d] = [alertN(1), alertN(2), alertN(3), alertN(4)];
    const scope = nock(BASE)
      .get('/api/alerts')
      .query({ limit: '2', offset: '0', status: 'open,escalated' })
      .reply(200, { alerts: [a, b], totalCount: 5 })
      // An alert closed between requests shifts the list: b shows up again (callers dedupe by id).
      .get('/api/alerts')
      .query({ limit: '2', offset: '2', status: 'open,escalated' })
      .reply(200, { alerts: [b, c], totalCount: 5 })
      .get('/api/alerts')
      .query({ limit: '2', offset: '4', status: 'open,escalated' })
      .reply(200, { alerts: [d], totalCount: 5 });
    const { client } = makeClient();
    const all = await listAll(client, { status: ['open', 'escalated'] }, { pageSize: 2 });
    expect(all.pages.map((p) => p.alerts.map((x) => x.displayId))).toEqual([
      ['COT-1', 'COT-2'],
      ['COT-2', 'COT-3'],
      ['COT-4'],
    ]);
    expect(all.pages.map((p) => [p.pages, p.last, p.truncated])).toEqual([
      [1, false, false],
      [2, false, false],
      [3, true, false],
    ]);
    expect(all.skipped).toBe(0);
    scope.done();
  });

  it('stops once totalCount items were seen, without asking for an empty page', async () => {
    nock(BASE)
      .get('/api/alerts')
      .query({ limit: '2', offset: '0' })
      .reply(200, { alerts: [alertN(1), alertN(2)], totalCount: 4 })
      .get('/api/alerts')
      .query({ limit: '2', offset: '2' })
      .reply(200, { alerts: [alertN(3), alertN(4)], totalCount: 4 });
    const { client } = makeClient();
    const all = await listAll(client, {}, { pageSize: 2 });
    expect(all.alerts).toHaveLength(4);
    expect(all.pages).toHaveLength(2);
    expect(all.pages.at(-1)).toMatchObject({ last: true, truncated: false });
  });

  it('asks for 200 per page by default and clamps larger sizes', async () => {
    nock(BASE).get('/api/alerts').query({ limit: '200', offset: '0' }).reply(200, listFixture);
    nock(BASE).get('/api/alerts').query({ limit: '200', offset: '0' }).reply(200, listFixture);
    const { client } = makeClient();
    expect((await listAll(client)).alerts).toHaveLength(3);
    expect((await listAll(client, {}, { pageSize: 5000 })).pages).toHaveLength(1);
  });

  it('throws when any page fails: no partial list', async () => {
    nock(BASE)
      .get('/api/alerts')
      .query({ limit: '2', offset: '0' })
      .reply(200, { alerts: [alertN(1), alertN(2)], totalCount: 6 })
      .get('/api/alerts')
      .query({ limit: '2', offset: '2' })
      .reply(500, error500);
    const { client } = makeClient({ retryLimit: 0 });
    const err = await failure(listAll(client, {}, { pageSize: 2 }));
    expect(err.kind).toBe('http');
    expect(err.status).toBe(500);
  });

  it('stops at maxPages with a warning and flags the list as truncated', async () => {
    nock(BASE)
      .get('/api/alerts')
      .query({ limit: '1', offset: '0' })
      .reply(200, { alerts: [alertN(1)], totalCount: 10 })
      .get('/api/alerts')
      .query({ limit: '1', offset: '1' })
      .reply(200, { alerts: [alertN(2)], totalCount: 10 });
    const { client, logs } = makeClient();
    const all = await listAll(client, {}, { pageSize: 1, maxPages: 2 });
    expect(all.pages.at(-1)).toMatchObject({ pages: 2, last: true, truncated: true });
    expect(all.alerts).toHaveLength(2);
    const warning = warnings(logs).find((l) => /maxPages/.test(l.msg));
    expect(warning).toMatchObject({ pages: 2, pageSize: 1, seen: 2, totalCount: 10 });
  });

  it('keeps paging without a totalCount until a short page, and notes the missing field once', async () => {
    nock(BASE)
      .get('/api/alerts')
      .query({ limit: '2', offset: '0' })
      .reply(200, { alerts: [alertN(1), alertN(2)] })
      .get('/api/alerts')
      .query({ limit: '2', offset: '2' })
      .reply(200, { alerts: [alertN(3)] });
    const { client, logs } = makeClient();
    const all = await listAll(client, {}, { pageSize: 2 });
    expect(all.alerts.map((x) => x.displayId)).toEqual(['COT-1', 'COT-2', 'COT-3']);
    const notes = warnings(logs).filter((l) => (l.drift as Json | undefined)?.path === 'GET /api/alerts totalCount');
    expect(notes).toHaveLength(1);
  });

  it('counts skipped items across pages', async () => {
    nock(BASE)
      .get('/api/alerts')
      .query({ limit: '2', offset: '0' })
      .reply(200, { alerts: [alertN(1), { id: 'broken-1' }], totalCount: 3 })
      .get('/api/alerts')
      .query({ limit: '2', offset: '2' })
      .reply(200, { alerts: [alertN(3)], totalCount: 3 });
    const { client } = makeClient();
    const all = await listAll(client, {}, { pageSize: 2 });
    expect(all.alerts.map((x) => x.displayId)).toEqual(['COT-1', 'COT-3']);
    expect(all.skipped).toBe(1);
  });
});

describe('listRawAlertPages', () => {
  it('peeks at each item (id, updatedAt, status, offset) and validates only on demand', async () => {
    nock(BASE)
      .get('/api/alerts')
      .query({ limit: '2', offset: '0' })
      .reply(200, { alerts: [alertN(1), { id: 'broken-1', status: 'open' }], totalCount: 3 })
      .get('/api/alerts')
      .query({ limit: '2', offset: '2' })
      .reply(200, { alerts: [alertN(3)], totalCount: 3 });
    const { client, logs } = makeClient();
    const pages: RawAlertPage[] = [];
    for await (const page of client.listRawAlertPages({}, { pageSize: 2 })) pages.push(page);
    const items = pages.flatMap((p) => p.items);
    expect(items.map((i) => [i.id, i.status, i.offset])).toEqual([
      [alertN(1).id, ALERT_A.status, 0],
      ['broken-1', 'open', 1],
      [alertN(3).id, ALERT_A.status, 2],
    ]);
    expect(items[0]?.updatedAt).toBe(alertN(1).updatedAt);
    // Nothing was validated yet, so nothing was skipped.
    expect(logs.some((l) => /skipping/.test(l.msg))).toBe(false);
    expect(items.map((i) => client.parseListedAlert(i)?.displayId ?? null)).toEqual(['COT-1', null, 'COT-3']);
    expect(warnings(logs).filter((l) => /skipping a Cotool alert/.test(l.msg))).toHaveLength(1);
    expect(pages.map((p) => p.last)).toEqual([false, true]);
  });
});

describe('retries', () => {
  it('waits for Retry-After on a 503 and then succeeds (GET)', async () => {
    let requests = 0;
    nock(BASE)
      .get('/api/alerts')
      .reply(() => {
        requests += 1;
        return [503, { error: 'Service unavailable' }, { 'Retry-After': '1' }];
      })
      .get('/api/alerts')
      .reply(() => {
        requests += 1;
        return [200, listFixture];
      });
    const { client } = makeClient();
    const started = performance.now();
    const page = await client.listAlerts();
    const elapsed = performance.now() - started;
    expect(page.alerts).toHaveLength(3);
    expect(requests).toBe(2);
    expect(elapsed).toBeGreaterThanOrEqual(950);
  });

  it('caps a long Retry-After at maxRetryAfterMs', async () => {
    nock(BASE).get('/api/alerts').reply(429, { error: 'Too many requests' }, { 'Retry-After': '120' });
    nock(BASE).get('/api/alerts').reply(200, listFixture);
    const { client } = makeClient({ maxRetryAfterMs: 20 });
    const started = performance.now();
    await client.listAlerts();
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('retries a 500 on GET', async () => {
    nock(BASE).get('/api/alerts/COT-1042').reply(500, error500);
    nock(BASE).get('/api/alerts/COT-1042').reply(200, getAlertFixture);
    const { client, logs } = makeClient();
    const alert = await client.getAlert('COT-1042');
    expect(alert.displayId).toBe('COT-1042');
    expect(logs.find((l) => l.msg === 'cotool request retry')).toMatchObject({ after: 'HTTP 500', retry: 1 });
  });

  it('gives up after retryLimit retries', async () => {
    let requests = 0;
    nock(BASE)
      .get('/api/alerts')
      .times(3)
      .reply(() => {
        requests += 1;
        return [502, 'Bad gateway'];
      });
    const { client } = makeClient({ retryLimit: 2 });
    const err = await failure(client.listAlerts());
    expect(requests).toBe(3);
    expect(err.status).toBe(502);
    expect(err.attempts).toBe(3);
    expect(err.message).toBe('Cotool GET /api/alerts failed: HTTP 502 Bad Gateway (after 3 attempts)');
  });

  it('retries a 502 on PATCH', async () => {
    nock(BASE).patch('/api/alerts/COT-1041').reply(502);
    nock(BASE).patch('/api/alerts/COT-1041').reply(200, detailsFixture);
    const { client } = makeClient();
    const result = await client.updateDetails('COT-1041', {
      title: 'SEC-311: OAuth consent to unsanctioned mail client',
    });
    expect(result.entries).toHaveLength(2);
  });

  it('does not retry a status change after a 500: exactly one request', async () => {
    let requests = 0;
    nock(BASE)
      .post('/api/alerts/COT-1041/status')
      .times(4)
      .reply(() => {
        requests += 1;
        return [500, error500];
      });
    const { client } = makeClient();
    const err = await failure(client.updateStatus('COT-1041', 'closed_false_positive', 'by @priya in Slack'));
    expect(requests).toBe(1);
    expect(err.status).toBe(500);
    expect(err.mayHaveApplied()).toBe(true);
    nock.cleanAll();
  });

  it('does not retry a status change after a timeout', async () => {
    let requests = 0;
    nock(BASE)
      .post('/api/alerts/COT-1041/status')
      .times(4)
      .reply(async () => {
        requests += 1;
        await sleep(300);
        return [200, statusFixture];
      });
    const { client } = makeClient({ timeoutMs: 50 });
    const err = await failure(client.updateStatus('COT-1041', 'closed_false_positive'));
    expect(err.kind).toBe('timeout');
    expect(requests).toBe(1);
    nock.cleanAll();
  });

  it('retries a status change refused with 429 (Retry-After) or 503', async () => {
    let requests = 0;
    const count =
      (status: number, body: unknown, headers: Record<string, string> = {}) =>
      () => {
        requests += 1;
        return [status, body, headers] as [number, unknown, Record<string, string>];
      };
    nock(BASE)
      .post('/api/alerts/COT-1041/status')
      .reply(count(429, { error: 'Too many requests' }, { 'Retry-After': '0' }))
      .post('/api/alerts/COT-1041/status')
      .reply(count(503, { error: 'Service unavailable' }))
      .post('/api/alerts/COT-1041/status')
      .reply(count(200, statusFixture));
    const { client } = makeClient();
    const result = await client.updateStatus('COT-1041', 'closed_false_positive');
    expect(requests).toBe(3);
    expect(result.statusChanged).toBe(true);
  });

  it('retries a status change when the connection was refused, not when it was reset', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:443'), { code: 'ECONNREFUSED' });
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    nock(BASE)
      .post('/api/alerts/COT-1041/status')
      .replyWithError(refused)
      .post('/api/alerts/COT-1041/status')
      .reply(200, statusFixture);
    const { client } = makeClient();
    await client.updateStatus('COT-1041', 'closed_false_positive');

    nock(BASE).post('/api/alerts/COT-1041/status').replyWithError(reset);
    const err = await failure(client.updateStatus('COT-1041', 'closed_false_positive'));
    expect(err).toMatchObject({ kind: 'network', code: 'ECONNRESET' });
    expect(err.mayHaveApplied()).toBe(true);
  });
});

describe('failures', () => {
  it('a slow answer is a timeout (nock delays the body)', async () => {
    nock(BASE).get('/api/alerts').delay(500).reply(200, listFixture);
    const { client } = makeClient({ timeoutMs: 50, retryLimit: 0 });
    const err = await failure(client.listAlerts());
    expect(err.kind).toBe('timeout');
    expect(err.isRetryable()).toBe(true);
    expect(err.message).toBe('Cotool GET /api/alerts failed: timed out after 50 ms');
    expectClean(err);
  });

  it('a GET that timed out waiting for the response is retried', async () => {
    nock(BASE)
      .get('/api/alerts')
      .reply(async () => {
        await sleep(300);
        return [200, listFixture];
      });
    nock(BASE).get('/api/alerts').reply(200, listFixture);
    const { client } = makeClient({ timeoutMs: 50 });
    expect((await client.listAlerts()).alerts).toHaveLength(3);
  });

  it('connection refused is a network error', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:443'), { code: 'ECONNREFUSED' });
    nock(BASE).get('/api/alerts').replyWithError(refused);
    const { client } = makeClient({ retryLimit: 0 });
    const err = await failure(client.listAlerts());
    expect(err).toMatchObject({ kind: 'network', code: 'ECONNREFUSED' });
    expect(err.message).toBe('Cotool GET /api/alerts failed: network error (ECONNREFUSED)');
    expect(err.mayHaveApplied()).toBe(false);
    expectClean(err);
  });

  describe('over real sockets', () => {
    let server: Server | undefined;
    beforeAll(() => nock.enableNetConnect('127.0.0.1'));
    afterAll(() => {
      server?.close();
      nock.disableNetConnect();
    });

    it('a refused connection and a reset one are network errors', async () => {
      // A port that was just free: nothing listens there.
      const probe = createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      const freePort = (probe.address() as AddressInfo).port;
      await new Promise<void>((resolve) => probe.close(() => resolve()));
      const refused = makeClient({ baseUrl: `http://127.0.0.1:${freePort}`, retryLimit: 0 }).client;
      const e1 = await failure(refused.listAlerts());
      expect(e1.kind).toBe('network');
      expect(e1.code).toBe('ECONNREFUSED');

      server = createServer((req) => req.socket.destroy());
      await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as AddressInfo).port;
      const reset = makeClient({ baseUrl: `http://127.0.0.1:${port}`, retryLimit: 0 }).client;
      const e2 = await failure(reset.getAlert('COT-1'));
      expect(e2.kind).toBe('network');
      expectClean(e2);
    });
  });

  it('401 is an auth failure', async () => {
    nock(BASE).get('/api/alerts').reply(401, error401);
    const { client } = makeClient();
    const err = await failure(client.listAlerts());
    expect(err).toMatchObject({ kind: 'http', status: 401, apiMessage: 'Unauthorized' });
    expect(err.isAuth()).toBe(true);
    expect(err.isRetryable()).toBe(false);
    expect(err.message).toBe('Cotool GET /api/alerts failed: HTTP 401 Unauthorized');
    expectClean(err);
  });

  it('403 carries missingPerms', async () => {
    nock(BASE).post('/api/alerts/COT-1041/status').reply(403, error403);
    const { client } = makeClient();
    const err = await failure(client.updateStatus('COT-1041', 'closed_true_positive', 'by @priya'));
    expect(err).toMatchObject({ kind: 'http', status: 403, missingPerms: ['alert.triage'], method: 'POST' });
    expect(err.isAuth()).toBe(true);
    expect(err.message).toBe(
      'Cotool POST /api/alerts/COT-1041/status failed: HTTP 403 Forbidden (missing alert.triage)',
    );
    expect(err.toLog()).toMatchObject({
      status: 403,
      missingPerms: ['alert.triage'],
      path: '/api/alerts/COT-1041/status',
    });
    expect(err.mayHaveApplied()).toBe(false);
    expectClean(err);
  });

  it('404 and a 400 on a GET by id are "not found"', async () => {
    nock(BASE).get('/api/alerts/COT-99999').reply(404, error404);
    nock(BASE).get('/api/alerts/not-an-id').reply(400, { error: 'Invalid alert id' });
    const { client } = makeClient();
    const e404 = await failure(client.getAlert('COT-99999'));
    expect(e404.isNotFound()).toBe(true);
    expect(e404.message).toBe('Cotool GET /api/alerts/COT-99999 failed: HTTP 404 Not Found: Alert not found');
    const e400 = await failure(client.getAlert('not-an-id'));
    expect(e400.isNotFound()).toBe(true);
  });

  it('400 with issues on a write is not "not found"', async () => {
    nock(BASE).post('/api/alerts/COT-1041/status').reply(400, error400);
    const { client } = makeClient();
    const err = await failure(client.updateStatus('COT-1041', 'closed_false_positive', 'x'.repeat(2001)));
    expect(err.isNotFound()).toBe(false);
    expect(err.issues).toHaveLength(1);
    expect(err.apiMessage).toBe('Invalid request body');
    expect(err.message).toContain('HTTP 400 Bad Request: Invalid request body (invalid reason: String must contain');
    expect(err.toLog()).toMatchObject({ issueCount: 1 });
    expectClean(err);
  });

  it('a non-JSON or empty error body still gives a clean error', async () => {
    nock(BASE)
      .get('/api/alerts')
      .reply(502, '<html>\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body>\n</html>', {
        'Content-Type': 'text/html',
      });
    nock(BASE).get('/api/alerts/COT-1').reply(500);
    const { client } = makeClient({ retryLimit: 0 });
    const e502 = await failure(client.listAlerts());
    expect(e502).toMatchObject({ kind: 'http', status: 502 });
    expect(e502.apiMessage).toBeUndefined();
    expect(e502.message).toBe('Cotool GET /api/alerts failed: HTTP 502 Bad Gateway');
    expect(e502.isRetryable()).toBe(true);
    const e500 = await failure(client.getAlert('COT-1'));
    expect(e500.message).toBe('Cotool GET /api/alerts/COT-1 failed: HTTP 500 Internal Server Error');
  });

  it('an error body that echoes the key is scrubbed', async () => {
    nock(BASE)
      .get('/api/alerts')
      .reply(401, { error: `Invalid API key ${KEY}\nrejected`, issues: [{ message: `token ${KEY}` }] });
    const { client, logs } = makeClient();
    const err = await failure(client.listAlerts());
    expect(err.apiMessage).toBe('Invalid API key [redacted] rejected');
    expectClean(err);
    expect(JSON.stringify(logs)).not.toContain(KEY);
  });

  it('an envelope that is not what the docs say is a schema error', async () => {
    nock(BASE)
      .get('/api/alerts')
      .reply(200, { alerts: { items: [] }, totalCount: 0 });
    nock(BASE).get('/api/alerts').reply(200, '<!doctype html><title>Cotool</title>', { 'Content-Type': 'text/html' });
    nock(BASE).get('/api/alerts').reply(200, '');
    const { client } = makeClient();
    const notArray = await failure(client.listAlerts());
    expect(notArray.kind).toBe('schema');
    expect(notArray.message).toMatch(/^Cotool GET \/api\/alerts failed: unexpected response: alerts: /);
    expect(notArray.isRetryable()).toBe(false);
    const html = await failure(client.listAlerts());
    expect(html.kind).toBe('schema');
    expect(html.message).toBe('Cotool GET /api/alerts failed: unexpected response: body is not JSON (text/html)');
    const empty = await failure(client.listAlerts());
    expect(empty.kind).toBe('schema');
  });
});

describe('tolerant reading', () => {
  it('skips a malformed alert, logs its ids and issue paths only, returns the rest', async () => {
    const broken = {
      id: 'ffffffff-0000-4000-8000-000000000001',
      displayId: 'COT-7',
      description: 'SENTINEL-BODY',
      status: 'open',
    };
    nock(BASE)
      .get('/api/alerts')
      .reply(200, { alerts: [ALERT_A, broken, ALERT_C], totalCount: 3 });
    const { client, logs } = makeClient();
    const page = await client.listAlerts();
    expect(page.alerts.map((a) => a.displayId)).toEqual(['COT-1042', 'COT-1038']);
    expect(page.skipped).toBe(1);
    expect(page.totalCount).toBe(3);
    const warn = warnings(logs).find((l) => /skipping a Cotool alert/.test(l.msg));
    expect(warn).toMatchObject({ id: broken.id, displayId: 'COT-7' });
    const paths = ((warn?.issues ?? []) as { path: string }[]).map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['title', 'createdAt', 'updatedAt']));
    expect(JSON.stringify(logs)).not.toContain('SENTINEL-BODY');
  });

  it('keeps an unknown status and an unknown field, logging each once', async () => {
    const snoozed = { ...clone(ALERT_B), status: 'snoozed', riskScore: 87 };
    nock(BASE)
      .get('/api/alerts')
      .times(2)
      .reply(200, { alerts: [snoozed], totalCount: 1 });
    const { client, logs } = makeClient();
    const first = await client.listAlerts();
    const second = await client.listAlerts();
    expect(first.alerts[0]?.status).toBe('snoozed');
    expect(second.alerts[0]?.status).toBe('snoozed');
    const drift = warnings(logs).map((l) => l.drift as { path: string; value?: string } | undefined);
    expect(drift.filter((d) => d?.path === 'alert.status')).toEqual([
      { kind: 'unknown_value', path: 'alert.status', value: 'snoozed' },
    ]);
    expect(drift.filter((d) => d?.path === 'alert.riskScore')).toEqual([
      { kind: 'unknown_field', path: 'alert.riskScore' },
    ]);
  });

  it('keeps an id that is UUID-shaped but not RFC 4122', async () => {
    const odd = { ...clone(ALERT_A), id: '12345678-1234-1234-1234-123456789012' };
    nock(BASE)
      .get('/api/alerts')
      .reply(200, { alerts: [odd], totalCount: 1 });
    const { client } = makeClient();
    const page = await client.listAlerts();
    expect(page.alerts[0]?.id).toBe('12345678-1234-1234-1234-123456789012');
    expect(page.skipped).toBe(0);
  });

  it('getAlert returns the timeline, skipping bad entries and keeping unknown kinds', async () => {
    const body = clone(getAlertFixture) as { alert: Json & { timeline: Json[] } };
    const [created, triage] = body.alert.timeline as [Json, Json];
    body.alert.timeline.push({ ...created, id: 'bad-entry', createdAt: undefined });
    body.alert.timeline.push({ ...triage, id: 'sla-entry', kind: 'sla_breach' });
    nock(BASE).get('/api/alerts/COT-1042').reply(200, body);
    const { client, logs } = makeClient();
    const alert = await client.getAlert('COT-1042');
    expect(alert.timeline.map((e) => e.kind)).toEqual([
      'created',
      'triage_run',
      'status_change',
      'comment',
      'sla_breach',
    ]);
    const escalation = alert.timeline.find((e) => e.kind === 'status_change');
    expect(escalation).toMatchObject({
      beforeStatus: 'in_progress',
      afterStatus: 'escalated',
      actorAgentName: 'Identity Triage',
    });
    const warns = warnings(logs);
    expect(warns.find((l) => /timeline entry/.test(l.msg))).toMatchObject({ id: 'bad-entry', alertId: alert.id });
    expect(warns.find((l) => (l.drift as { path?: string } | undefined)?.path === 'timeline.kind')).toMatchObject({
      drift: { value: 'sla_breach' },
    });
  });

  it('getAlert fails with a schema error when the alert itself is unusable', async () => {
    const body = clone(getAlertFixture) as { alert: Json };
    delete body.alert.displayId;
    nock(BASE).get('/api/alerts/COT-1042').reply(200, body);
    const { client } = makeClient();
    const err = await failure(client.getAlert('COT-1042'));
    expect(err.kind).toBe('schema');
    expect(err.message).toContain('alert: displayId');
    expect(err.isNotFound()).toBe(false);
  });

  it('getAlertForRun returns the alert, or null for {alert: null}', async () => {
    const runId = 'e4f5a6b7-c8d9-4e0f-9a1b-2c3d4e5f6a7b';
    nock(BASE).get(`/api/alerts/for-run/${runId}`).reply(200, getAlertForRunFixture);
    nock(BASE).get('/api/alerts/for-run/0a0a0a0a-0000-4000-8000-000000000000').reply(200, { alert: null });
    const { client } = makeClient();
    expect((await client.getAlertForRun(runId))?.displayId).toBe('COT-1042');
    expect(await client.getAlertForRun('0a0a0a0a-0000-4000-8000-000000000000')).toBeNull();
  });
});

describe('writes', () => {
  it('updateStatus reads the documented response, filling the status it just set', async () => {
    let sent: unknown;
    nock(BASE)
      .post('/api/alerts/COT-1041/status', (body) => {
        sent = body;
        return true;
      })
      .reply(200, statusFixture);
    const { client, logs } = makeClient();
    const result = await client.updateStatus(
      'COT-1041',
      'closed_false_positive',
      'Closed as false positive by @priya in Slack: app is the sanctioned CRM integration',
    );
    expect(sent).toEqual({
      status: 'closed_false_positive',
      reason: 'Closed as false positive by @priya in Slack: app is the sanctioned CRM integration',
    });
    expect(result.alertComplete).toBe(true);
    expect(result.alert).toMatchObject({
      id: '8a4e2d1b-6c3f-4a7e-b5d9-1e2f3a4b5c6d',
      status: 'closed_false_positive',
      severity: null,
    });
    expect(result.statusChanged).toBe(true);
    expect(result.entry).toMatchObject({ kind: 'status_change', actorType: null, actorUserName: 'Cotool Slack Bot' });
    expect(warnings(logs).some((l) => (l.drift as { path?: string } | undefined)?.path?.endsWith('alert.status'))).toBe(
      true,
    );
  });

  it('updateStatus omits an empty reason and reads "already set"', async () => {
    let sent: unknown;
    const body = clone(statusFixture) as Json;
    body.entry = null;
    body.statusChanged = false;
    nock(BASE)
      .post('/api/alerts/COT-1041/status', (b) => {
        sent = b;
        return true;
      })
      .reply(200, body);
    const { client } = makeClient();
    const result = await client.updateStatus('COT-1041', 'closed_false_positive', '');
    expect(sent).toEqual({ status: 'closed_false_positive' });
    expect(result).toMatchObject({ entry: null, statusChanged: false });
  });

  it('updateStatus fills placeholders when the alert is thin, and fails only without an id', async () => {
    const thin = { alert: { id: '8a4e2d1b-6c3f-4a7e-b5d9-1e2f3a4b5c6d' }, entry: null, statusChanged: true };
    nock(BASE).post('/api/alerts/COT-1041/status').reply(200, thin);
    nock(BASE)
      .post('/api/alerts/COT-1041/status')
      .reply(200, { alert: { title: 'no id' }, entry: null, statusChanged: true });
    const { client } = makeClient();
    const result = await client.updateStatus('COT-1041', 'escalated');
    expect(result.alertComplete).toBe(false);
    expect(result.alert).toMatchObject({ id: thin.alert.id, displayId: 'COT-1041', status: 'escalated' });
    const err = await failure(client.updateStatus('COT-1041', 'escalated'));
    expect(err.kind).toBe('schema');
    expect(err.message).toContain('the server accepted the request');
    expect(err.mayHaveApplied()).toBe(true);
  });

  it('updateDetails sends only the given fields, with description null as null', async () => {
    const bodies: unknown[] = [];
    nock(BASE)
      .patch('/api/alerts/COT-1041', (b) => {
        bodies.push(b);
        return true;
      })
      .times(2)
      .reply(200, detailsFixture);
    const { client } = makeClient();
    const result = await client.updateDetails('COT-1041', {
      title: 'SEC-311: OAuth consent to unsanctioned mail client',
      description: null,
    });
    await client.updateDetails('COT-1041', { description: null });
    expect(bodies).toEqual([
      { title: 'SEC-311: OAuth consent to unsanctioned mail client', description: null },
      { description: null },
    ]);
    expect(result.alertComplete).toBe(true);
    expect(result.alert).toMatchObject({
      title: 'SEC-311: OAuth consent to unsanctioned mail client',
      description: null,
    });
    expect(result.entries.map((e) => e.kind)).toEqual(['title_change', 'description_change']);
  });
});

describe('onRequest', () => {
  type Attempt = Parameters<NonNullable<CotoolClientOptions['onRequest']>>[0];
  const recording = () => {
    const attempts: Attempt[] = [];
    return { attempts, onRequest: (a: Attempt) => void attempts.push(a) };
  };
  const brief = (attempts: Attempt[]) => attempts.map(({ method, route, status }) => `${method} ${route} ${status}`);

  it('is told once per attempt, with the route template and never the id', async () => {
    nock(BASE).get('/api/alerts/COT-1042').reply(500, error500);
    nock(BASE).get('/api/alerts/COT-1042').reply(200, getAlertFixture);
    nock(BASE).get('/api/alerts/for-run/run-1').reply(200, getAlertForRunFixture);
    nock(BASE).post('/api/alerts/COT-1041/status').reply(200, statusFixture);
    nock(BASE).patch('/api/alerts/COT-1041').reply(200, detailsFixture);
    nock(BASE).get('/api/alerts').query(true).reply(200, listFixture);
    const r = recording();
    const { client } = makeClient({ onRequest: r.onRequest });
    await client.getAlert('COT-1042');
    await client.getAlertForRun('run-1');
    await client.updateStatus('COT-1041', 'closed_false_positive');
    await client.updateDetails('COT-1041', { title: 'SEC-311: OAuth consent to unsanctioned mail client' });
    await client.listAlerts({ status: ['open'] });
    expect(brief(r.attempts)).toEqual([
      'GET /api/alerts/:id 500',
      'GET /api/alerts/:id 200',
      'GET /api/alerts/for-run/:id 200',
      'POST /api/alerts/:id/status 200',
      'PATCH /api/alerts/:id 200',
      'GET /api/alerts 200',
    ]);
    expect(r.attempts.every((a) => a.ms >= 0)).toBe(true);
    expect(JSON.stringify(r.attempts)).not.toMatch(/COT-|run-1/);
  });

  it('reports an attempt without an answer as timeout or network, retried or final', async () => {
    nock(BASE)
      .get('/api/alerts')
      .reply(async () => {
        await sleep(300);
        return [200, listFixture];
      });
    nock(BASE).get('/api/alerts').reply(200, listFixture);
    const refused = () => Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:443'), { code: 'ECONNREFUSED' });
    nock(BASE).get('/api/alerts/COT-1').times(2).replyWithError(refused());
    const r = recording();
    const { client } = makeClient({ onRequest: r.onRequest, timeoutMs: 50, retryLimit: 1 });
    await client.listAlerts();
    // A refused connection must read as network even on a busy machine: a timeout long enough.
    const { client: patient } = makeClient({ onRequest: r.onRequest, timeoutMs: 2_000, retryLimit: 1 });
    const err = await failure(patient.getAlert('COT-1'));
    expect(err.kind).toBe('network');
    expect(brief(r.attempts)).toEqual([
      'GET /api/alerts timeout',
      'GET /api/alerts 200',
      'GET /api/alerts/:id network',
      'GET /api/alerts/:id network',
    ]);
  });

  it('a hook that throws does not fail the request', async () => {
    nock(BASE).get('/api/alerts').reply(200, listFixture);
    const { client } = makeClient({
      onRequest: () => {
        throw new Error('metrics broke');
      },
    });
    expect((await client.listAlerts()).alerts).toHaveLength(3);
  });
});
