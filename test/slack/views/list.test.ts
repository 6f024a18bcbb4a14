import { describe, expect, it } from 'vitest';
import type { Alert } from '../../../src/core/alert.ts';
import type { AlertQuery, ListPage } from '../../../src/service/lookup.ts';
import { LOOKUP_ACTIONS, LOOKUP_BLOCKS } from '../../../src/slack/ids.ts';
import {
  decodeListPage,
  decodeView,
  encodeListPage,
  encodeView,
  type ListPagePayload,
  MAX_OFFSET,
} from '../../../src/slack/lookup-payloads.ts';
import { describeQuery, renderList } from '../../../src/slack/views/list.ts';
import { alert } from '../../support/alerts.ts';
import { assertSafeView, HOSTILE } from '../hostile.ts';
import { hostileAlert } from './fixtures.ts';

const LIVE: AlertQuery = { status: ['open', 'in_progress', 'escalated'], severity: [], source: [] };
const page = (alerts: Alert[], o: Partial<ListPage> = {}): ListPage => ({
  ok: true,
  query: LIVE,
  offset: 0,
  alerts,
  totalCount: alerts.length,
  skipped: 0,
  ...o,
});
const json = (v: unknown) => JSON.stringify(v);
type Btn = { action_id: string; value: string; text: { text: string } };
const buttons = (blocks: unknown[]): Btn[] =>
  (blocks as Array<{ type: string; accessory?: Btn; elements?: Btn[] }>).flatMap((b) => [
    ...(b.accessory ? [b.accessory] : []),
    ...(b.type === 'actions' ? (b.elements ?? []) : []),
  ]);

/** Values on a list page: a row's "View" naming one of `ids`, or "More". */
const listValues = (ids: string[]) => (path: string, value: unknown) => {
  const view = decodeView(value);
  if (view.ok && ids.includes(view.value.id)) return;
  if (decodeListPage(value).ok) return;
  throw new Error(`${path}: value does not decode: ${String(value).slice(0, 100)}`);
};

describe('renderList', () => {
  const alerts = Array.from({ length: 10 }, (_, i) =>
    alert({
      id: `00000000-0000-4000-8000-0000000001${String(i).padStart(2, '0')}`,
      displayId: `COT-${100 + i}`,
      title: `Alert ${i}`,
      severity: i % 2 ? 'critical' : 'low',
      status: i === 3 ? 'closed_true_positive' : 'escalated',
    }),
  );

  it('snapshot: the first page of 23', () => {
    expect(renderList(page(alerts, { totalCount: 23 }))).toMatchSnapshot();
  });

  it('shows what was asked, how many match, ten rows with View, and More with the next offset', () => {
    const view = renderList(
      page(alerts, { totalCount: 23, query: { ...LIVE, severity: ['critical'], source: ['email'] } }),
    );
    expect(json(view.blocks[0])).toContain('*Live alerts* · Critical · email — 23 alerts · showing 1–10');
    const rows = view.blocks.filter((b) => b.block_id?.startsWith(LOOKUP_BLOCKS.listRow));
    expect(rows).toHaveLength(10);
    expect(json(rows[1])).toContain(':red_circle: *COT-101* Alert 1');
    expect(json(rows[3])).toContain(':white_check_mark: *COT-103*');
    const b = buttons(view.blocks);
    expect(b.map((x) => x.action_id)).toEqual([
      ...alerts.map((_, i) => `${LOOKUP_ACTIONS.viewPrefix}${i}`),
      LOOKUP_ACTIONS.more,
    ]);
    expect(decodeView(b[2]?.value)).toEqual({ ok: true, value: { v: 1, k: 'view', id: alerts[2]?.id } });
    expect(decodeListPage(b.at(-1)?.value)).toEqual({
      ok: true,
      value: { v: 1, k: 'page', st: LIVE.status, sv: ['critical'], so: ['email'], o: 10 },
    });
    expect(b.at(-1)?.text.text).toBe('More (10 of 13 left)');
    assertSafeView(view, { alertId: '', checkValue: listValues(alerts.map((a) => a.id)) });
  });

  it('has no More on the last page, and says when nothing matches', () => {
    const last = renderList(page(alerts.slice(0, 3), { totalCount: 23, offset: 20 }));
    expect(buttons(last.blocks).map((b) => b.action_id)).not.toContain(LOOKUP_ACTIONS.more);
    expect(json(last.blocks[0])).toContain('showing 21–23');
    const none = renderList(page([], { totalCount: 0 }));
    expect(json(none.blocks[0])).toContain('no alerts match');
    expect(json(none)).toContain('/cotool list all');
    const past = renderList(page([], { totalCount: 5, offset: 20 }));
    expect(json(past.blocks[0])).toContain('5 alerts; none left after 20');
  });

  it('describes searches and status sets', () => {
    expect(describeQuery({ query: { status: [], severity: [], source: [], q: 'okta <!here>' } })).toBe(
      '*Search* “okta &lt;!here&gt;”',
    );
    expect(describeQuery({ query: { status: [], severity: ['high', 'low'], source: ['cotool_detection'] } })).toBe(
      '*All alerts* · High or Low · detection',
    );
    expect(
      describeQuery({
        query: {
          status: ['closed_true_positive', 'closed_false_positive', 'closed_true_positive_benign'],
          severity: [],
          source: [],
        },
      }),
    ).toBe('*Closed alerts*');
    expect(describeQuery({ query: { status: ['open', 'escalated'], severity: [], source: [] } })).toBe(
      '*Open or Escalated alerts*',
    );
  });

  it('says when Cotool sent items that could not be read', () => {
    expect(json(renderList(page(alerts.slice(0, 2), { totalCount: 3, skipped: 1 })))).toContain(
      '1 alert Cotool sent could not be read',
    );
  });

  it.each(HOSTILE.map((h, i) => [i, h] as const))('hostile corpus #%i: rows and the search text are safe', (_, h) => {
    const rows = ['open', 'escalated', 'closed_false_positive', h].map((s, i) =>
      hostileAlert(h, s, `00000000-0000-4000-8000-00000000000${i}`),
    );
    const q = h.trim() ? h.slice(0, 500) : 'x';
    const view = renderList(page(rows, { totalCount: 9_999, query: { status: [], severity: [], source: [], q } }));
    assertSafeView(view, { alertId: '', checkValue: listValues(rows.map((r) => r.id)) });
  });
});

describe('list payloads', () => {
  const good: ListPagePayload = {
    v: 1,
    k: 'page',
    st: ['escalated'],
    sv: ['high'],
    so: ['jira'],
    q: 'okta "push" \\ é 👍',
    o: 20,
  };

  it('round-trip', () => {
    expect(decodeListPage(encodeListPage(good))).toEqual({ ok: true, value: good });
    const view = { v: 1, k: 'view', id: '8f14e45f-ceea-467a-9c1a-6c1f8b3d2e5a' } as const;
    expect(decodeView(encodeView(view))).toEqual({ ok: true, value: view });
  });

  it('never carries a broadcast word, even unseen, and decodes back to it', () => {
    const value = encodeListPage({ ...good, q: '@here look @channel' });
    expect(value).not.toContain('@');
    expect(decodeListPage(value)).toMatchObject({ ok: true, value: { q: '@here look @channel' } });
  });

  it('a page whose query cannot travel in a button has no More, and does not fail', () => {
    const at = renderList(
      page([alert()], { totalCount: 50, query: { status: [], severity: [], source: [], q: '@'.repeat(500) } }),
    );
    expect(buttons(at.blocks).map((b) => b.action_id)).not.toContain(LOOKUP_ACTIONS.more);
  });

  it('a 500-character search with quotes still fits a button value', () => {
    const q = '"\\'.repeat(250);
    expect(encodeListPage({ ...good, q }).length).toBeLessThanOrEqual(2_000);
  });

  it.each([
    ['not JSON', 'page 2'],
    ['array', '[]'],
    ['old version', JSON.stringify({ ...good, v: 0 })],
    ['unknown status', JSON.stringify({ ...good, st: ['deleted'] })],
    ['unknown field', JSON.stringify({ ...good, admin: true })],
    ['negative offset', JSON.stringify({ ...good, o: -10 })],
    ['huge offset', JSON.stringify({ ...good, o: MAX_OFFSET + 10 })],
    ['fractional offset', JSON.stringify({ ...good, o: 1.5 })],
    ['search too long', JSON.stringify({ ...good, q: 'a'.repeat(501) })],
    ['control character in search', JSON.stringify({ ...good, q: 'a\u0000b' })],
    ['a view value', JSON.stringify({ v: 1, k: 'view', id: 'x' })],
    ['too long', 'x'.repeat(2_001)],
    ['not a string', 42],
  ])('refuses a tampered page value: %s', (_, value) => {
    expect(decodeListPage(value).ok).toBe(false);
  });

  it.each([
    ['id with a quote', JSON.stringify({ v: 1, k: 'view', id: 'a"b' })],
    ['id too long', JSON.stringify({ v: 1, k: 'view', id: 'x'.repeat(65) })],
    ['empty id', JSON.stringify({ v: 1, k: 'view', id: '' })],
    ['page value', JSON.stringify(good)],
  ])('refuses a tampered view value: %s', (_, value) => {
    expect(decodeView(value).ok).toBe(false);
  });
});
