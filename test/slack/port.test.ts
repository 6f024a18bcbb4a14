import { describe, expect, it } from 'vitest';
import { createSlackPort, FIND_MAX_PAGES } from '../../src/slack/port.ts';

/** A WebClient whose history and replies serve `pages` pages (each one message), then stop or not. */
function client(opts: { pages: number; endless?: boolean; hitOn?: number; fail?: unknown }) {
  let calls = 0;
  const read = async (args: { cursor?: string }) => {
    calls++;
    if (opts.fail) throw opts.fail;
    const page = args.cursor ? Number(args.cursor) : 0;
    const hit = page === opts.hitOn;
    const last = !opts.endless && page + 1 >= opts.pages;
    return {
      ok: true,
      messages: [
        {
          ts: `1795000000.${String(page).padStart(6, '0')}`,
          metadata: { event_type: 'cotool_alert', event_payload: { key: hit ? 'card:A' : `card:other-${page}` } },
        },
      ],
      response_metadata: { next_cursor: last ? '' : String(page + 1) },
    };
  };
  return {
    calls: () => calls,
    web: { conversations: { history: read, replies: read } } as never,
  };
}
const q = { channel: 'C1', eventType: 'cotool_alert', key: 'card:A', oldestMs: 0 };

describe('findMessage', () => {
  it('found on a later page; absent only after the last page was read', async () => {
    expect(await createSlackPort(client({ pages: 5, hitOn: 3 }).web).findMessage(q)).toEqual({
      found: '1795000000.000003',
    });
    const c = client({ pages: 5 });
    expect(await createSlackPort(c.web).findMessage(q)).toBe('absent');
    expect(c.calls()).toBe(5);
  });

  it('more pages than it may read: unknown, never "not there"', async () => {
    const c = client({ pages: 0, endless: true });
    expect(await createSlackPort(c.web).findMessage({ ...q, threadTs: '1795000000.000001' })).toBe('unknown');
    expect(c.calls()).toBe(FIND_MAX_PAGES);
    expect(FIND_MAX_PAGES).toBeGreaterThan(10);
  });

  it('a failed read throws (the caller classifies it)', async () => {
    const err = { code: 'slack_webapi_rate_limited_error', retryAfter: 3 };
    const port = createSlackPort(client({ pages: 1, fail: err }).web);
    await expect(port.findMessage(q)).rejects.toBe(err);
    expect(port.classify(err)).toMatchObject({ meaning: 'rate_limited', retryAfterSec: 3, outcomeUnknown: false });
    const internal = { code: 'slack_webapi_platform_error', data: { error: 'internal_error' } };
    expect(port.classify(internal)).toMatchObject({ meaning: 'maybe', outcomeUnknown: true, retryAfterSec: null });
  });
});
