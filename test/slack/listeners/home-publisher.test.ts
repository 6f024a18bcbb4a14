/**
 * The App Home publisher with a recording client and a stub look-up service: it publishes on open,
 * refreshes after the person's own change only if they have the tab, at most once per interval
 * (a change during the quiet period is published when it ends), and never leaves the home blank.
 */
import type { WebClient } from '@slack/web-api';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config.ts';
import { CotoolError } from '../../../src/cotool/errors.ts';
import type { HomeData, LookupService } from '../../../src/service/lookup.ts';
import { createHomePublisher } from '../../../src/slack/listeners/events/home.ts';
import { createHealth } from '../../../src/telemetry/health.ts';

const parsed = parseConfig({
  COTOOL_API_URL: 'https://app.cotool.ai',
  COTOOL_API_KEY: 'test-cotool-key-0123456789',
  SLACK_BOT_TOKEN: 'xoxb-test',
  SLACK_APP_TOKEN: 'xapp-test',
  SLACK_ALERT_CHANNEL: 'C0ALERTS',
});
if (!parsed.ok) throw new Error(parsed.problems.join('; '));
const config = parsed.config;

const homeData = (o: Partial<HomeData> = {}): HomeData => ({
  ok: true,
  byStatus: { open: 1, in_progress: 0, escalated: 0 },
  bySeverity: { low: 1, medium: 0, high: 0, critical: 0 },
  escalated: { alerts: [], totalCount: 0 },
  error: null,
  health: createHealth('socket'),
  now: Date.now(),
  ...o,
});

function setup(home: LookupService['home'] = async () => homeData(), publishError?: Error) {
  const published: Array<{ user_id: string; view: { blocks: unknown[] }; at: number }> = [];
  const client = {
    views: {
      publish: async (args: { user_id: string; view: { blocks: unknown[] } }) => {
        if (publishError) throw publishError;
        published.push({ ...args, at: Date.now() });
        return { ok: true };
      },
    },
  } as unknown as WebClient;
  const lookups = { home } as LookupService;
  const logs: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void logs.push(s) });
  const access = {
    check: async () => ({ ok: false as const, reason: 'guest' as const }),
    user: async () => null,
    describe: () => 'members of <#C0ALERTS>',
  };
  const publisher = createHomePublisher(client, { config, access, logger }, lookups, { minIntervalMs: 200 });
  return { publisher, published, logs };
}
const text = (v: unknown) => JSON.stringify(v);

describe('App Home publisher', () => {
  it('publishes when opened; a change by someone who never opened it publishes nothing', async () => {
    const t = setup();
    t.publisher.changed('U0BO');
    t.publisher.opened('U0ANA');
    await t.publisher.idle();
    expect(t.published.map((p) => p.user_id)).toEqual(['U0ANA']);
    expect(text(t.published[0]?.view)).toContain('*Live alerts by status*');
  });

  it('refreshes after the person’s change, at most once per interval, the last change included', async () => {
    let calls = 0;
    const t = setup(async () => homeData({ byStatus: { open: ++calls, in_progress: 0, escalated: 0 } }));
    t.publisher.opened('U0ANA');
    await t.publisher.idle();
    for (let i = 0; i < 5; i++) t.publisher.changed('U0ANA');
    await t.publisher.idle();
    expect(t.published).toHaveLength(2);
    const gap = (t.published[1]?.at ?? 0) - (t.published[0]?.at ?? 0);
    expect(gap).toBeGreaterThanOrEqual(150);
    expect(text(t.published[1]?.view)).toContain('*Open*\\n2');
  });

  it('a refused person gets a home that says why', async () => {
    const t = setup(async () => ({ ok: false, code: 'forbidden', reason: 'not_channel_member' }));
    t.publisher.opened('U0X');
    await t.publisher.idle();
    expect(text(t.published[0]?.view)).toContain('Only members of <#C0ALERTS> can see or change Cotool alerts');
  });

  it('a Cotool failure shows with a reference that is in the log; a bug shows a reference too', async () => {
    const err = new CotoolError({ kind: 'http', method: 'GET', path: '/api/alerts', status: 503 });
    const t = setup(async () => homeData({ error: err, byStatus: { open: null, in_progress: null, escalated: null } }));
    t.publisher.opened('U0ANA');
    await t.publisher.idle();
    const ref = /ref `([0-9a-f]{8})`/.exec(text(t.published[0]?.view))?.[1];
    expect(ref).toBeDefined();
    expect(t.logs.some((l) => l.includes(String(ref)) && l.includes('"status":503'))).toBe(true);

    const b = setup(async () => {
      throw new TypeError('bug');
    });
    b.publisher.opened('U0ANA');
    await b.publisher.idle();
    const bugRef = /ref `([0-9a-f]{8})`/.exec(text(b.published[0]?.view))?.[1];
    expect(text(b.published[0]?.view)).toContain('Something went wrong on our side');
    expect(b.logs.some((l) => l.includes(String(bugRef)) && l.includes('bug'))).toBe(true);
  });

  it('Slack refusing the view is logged, not thrown', async () => {
    const t = setup(
      undefined,
      Object.assign(new Error('x'), { code: 'slack_webapi_platform_error', data: { error: 'invalid_arguments' } }),
    );
    t.publisher.opened('U0ANA');
    await t.publisher.idle();
    expect(t.logs.some((l) => l.includes('invalid_arguments'))).toBe(true);
  });
});
