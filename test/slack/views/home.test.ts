import { describe, expect, it } from 'vitest';
import { CotoolError } from '../../../src/cotool/errors.ts';
import type { Alert } from '../../../src/cotool/schemas.ts';
import { createHealth, type HealthState } from '../../../src/http/health.ts';
import type { HomeData } from '../../../src/service/lookup.ts';
import { ACTIONS, LOOKUP_ACTIONS } from '../../../src/slack/ids.ts';
import { accessRefused } from '../../../src/slack/messages.ts';
import { decodeAction, decodeMuteRef } from '../../../src/slack/payloads.ts';
import {
  HOME_MAX_ESCALATED,
  HOME_MAX_MUTES,
  humanDuration,
  renderErrorHome,
  renderHome,
  renderRefusedHome,
} from '../../../src/slack/views/home.ts';
import { linkToken } from '../../../src/slack/views/unfurl.ts';
import { validateView } from '../../e2e/fakes/slack.ts';
import { alert } from '../../support/alerts.ts';
import { assertSafeView, HOSTILE } from '../hostile.ts';
import { hostileAlert } from './fixtures.ts';

const NOW = Date.parse('2026-11-23T12:00:00.000Z');
const health = (o: Partial<HealthState> = {}): HealthState => ({
  ...createHealth('socket', new Date('2026-11-23T08:00:00.000Z')),
  lastPollAt: '2026-11-23T11:59:48.000Z',
  lastSuccessfulPollAt: '2026-11-23T11:59:48.000Z',
  lastPollDurationMs: 340,
  liveAlerts: 17,
  ...o,
});
const escalatedAlerts = (n: number, make: (i: number) => Partial<Alert> = () => ({})) =>
  Array.from({ length: n }, (_, i) =>
    alert({
      id: `00000000-0000-4000-8000-0000000002${String(i).padStart(2, '0')}`,
      displayId: `COT-${200 + i}`,
      status: 'escalated',
      ...make(i),
    }),
  );
const data = (o: Partial<HomeData> = {}, n = 2): HomeData => {
  const alerts = escalatedAlerts(n);
  return {
    ok: true,
    byStatus: { open: 12, in_progress: 3, escalated: n },
    bySeverity: { low: 2, medium: 5, high: 6, critical: 3 },
    escalated: { alerts: alerts.map((a) => ({ alert: a, lastAction: null })), totalCount: n },
    error: null,
    health: health(),
    now: NOW,
    ...o,
  };
};
const ctx = {
  alertUrl: (a: Alert) => `https://app.cotool.ai/acme/alerts/${a.displayId}`,
  appUrl: 'https://app.cotool.ai',
  closeOpensForm: false,
};
type Obj = Record<string, unknown>;
const json = (v: unknown) => JSON.stringify(v);
const OPEN_COTOOL = '<https://app.cotool.ai/|Open Cotool>';

/** Values on the home: a card button naming one of `ids`, or Refresh. */
const homeValues = (ids: string[]) => (path: string, value: unknown) => {
  if (value === 'refresh') return;
  const d = decodeAction(value);
  if (d.ok && ids.includes(d.value.id)) return;
  throw new Error(`${path}: value does not decode: ${String(value).slice(0, 100)}`);
};
const assertSafeHome = (view: { blocks: unknown[] }, ids: string[], allowed: string[] = [OPEN_COTOOL]) =>
  assertSafeView(
    { text: 'home', blocks: view.blocks },
    { alertId: '', maxBlocks: 100, actionIdScope: 'block', checkValue: homeValues(ids), allowed },
  );

describe('renderHome', () => {
  it('snapshot', () => {
    expect(renderHome(data(), ctx)).toMatchSnapshot();
  });

  it('counts by status and by severity, the escalated alerts with their buttons, and the bot health', () => {
    const d = data();
    const view = renderHome(d, ctx);
    const text = json(view);
    expect(view.type).toBe('home');
    expect(text).toContain('*Live alerts by status* — 17 in all');
    expect(text).toContain('*Open*\\n12');
    expect(text).toContain('*In progress*\\n3');
    expect(text).toContain('*Escalated*\\n2');
    expect(text).toContain('*Critical*\\n3');
    expect(text).toContain('*Low*\\n2');
    expect(text).toContain('*No severity*\\n1');
    expect(text).toContain('*Escalated — a human must look* (2)');
    expect(text).toContain('COT-200');
    expect(text).toContain('COT-201');
    const escalated = view.blocks.flatMap((b) => (b.type === 'actions' && 'elements' in b ? b.elements : [])) as Array<{
      action_id: string;
      value?: string;
    }>;
    const ids = escalated.map((e) => e.action_id);
    expect(ids.filter((i) => i === ACTIONS.closeTp)).toHaveLength(2); // each card keeps the card's own action ids
    expect(ids).toContain(LOOKUP_ACTIONS.homeRefresh);
    const closeTp = escalated.find((e) => e.action_id === ACTIONS.closeTp);
    expect(decodeAction(closeTp?.value)).toMatchObject({
      ok: true,
      value: { op: 'close_tp', id: d.escalated?.alerts[0]?.alert.id },
    });
    // Block ids stay unique on the surface.
    const blockIds = view.blocks.map((b) => b.block_id);
    expect(new Set(blockIds).size).toBe(blockIds.length);
    expect(text).toContain(':large_green_circle: Healthy');
    expect(text).toContain('*Lag*\\n12 s');
    expect(text).toContain('*Last poll took*\\n340 ms');
    expect(text).toContain(OPEN_COTOOL);
    assertSafeHome(view, d.escalated?.alerts.map((a) => a.alert.id) ?? []);
  });

  it('shows a Cotool failure with its reference and dashes, never a blank home', () => {
    const err = new CotoolError({ kind: 'timeout', method: 'GET', path: '/api/alerts' });
    const view = renderHome(
      data({ byStatus: { open: null, in_progress: 3, escalated: null }, escalated: null, error: err }),
      { ...ctx, errorText: ':warning: Cotool did not answer. Try again in a moment. (ref `abcd1234`)' },
    );
    const text = json(view);
    expect(text).toContain('*Open*\\n—');
    expect(text).toContain('— in all');
    expect(text).toContain('(ref `abcd1234`)');
    expect(text).toContain('could not be read from Cotool just now');
    assertSafeHome(view, []);
  });

  it('says when nothing is escalated, and when polls are failing', () => {
    const view = renderHome(
      data({
        escalated: { alerts: [], totalCount: 0 },
        health: health({
          consecutiveFailures: 3,
          lastSuccessfulPollAt: '2026-11-23T11:00:00.000Z',
          lastError: { at: '2026-11-23T11:59:00.000Z', source: 'cotool', message: 'HTTP 500 <!channel>' },
        }),
      }),
      ctx,
    );
    const text = json(view);
    expect(text).toContain('nothing is waiting for a human');
    expect(text).toContain(':red_circle: Degraded — 3 failed polls in a row');
    expect(text).toContain('*Lag*\\n60 min');
    expect(text).toContain('HTTP 500 &lt;!channel&gt;');
    const fresh = json(renderHome(data({ health: createHealth('http') }), ctx));
    expect(fresh).toContain('No poll has completed yet');
    expect(fresh).toContain('*Last successful poll*\\nnever');
  });

  it('shows at most 10 escalated cards within 100 blocks, and says how many more there are', () => {
    const alerts = escalatedAlerts(50);
    const view = renderHome(
      data({ escalated: { alerts: alerts.map((a) => ({ alert: a, lastAction: null })), totalCount: 73 } }),
      ctx,
    );
    expect(view.blocks.length).toBeLessThanOrEqual(100);
    const headers = view.blocks.filter((b) => b.type === 'header' && json(b).includes('COT-2'));
    expect(headers).toHaveLength(HOME_MAX_ESCALATED);
    expect(json(view)).toContain('63 more escalated alerts not shown');
    assertSafeHome(
      view,
      alerts.map((a) => a.id),
    );
  });

  it('with CLOSE_REASON_REQUIRED the cards’ close buttons open the form: no confirm dialog', () => {
    const closeButtons = (closeOpensForm: boolean) =>
      (renderHome(data(), { ...ctx, closeOpensForm }).blocks as Array<{ type: string; elements?: Obj[] }>)
        .flatMap((b) => (b.type === 'actions' ? (b.elements ?? []) : []))
        .filter((e) => [ACTIONS.closeFp, ACTIONS.closeBenign, ACTIONS.closeTp].includes(e.action_id as never));
    expect(closeButtons(true)).toHaveLength(6);
    for (const b of closeButtons(true)) expect(b).not.toHaveProperty('confirm');
    for (const b of closeButtons(false)) expect(b).toHaveProperty('confirm');
  });

  it('refused and error homes say why', () => {
    const refused = renderRefusedHome(accessRefused('guest', 'members of <#C0ALERTS> (guests excluded)'));
    expect(json(refused)).toContain('Guest accounts cannot see or change Cotool alerts');
    expect(json(refused)).not.toContain('COT-');
    expect(json(renderErrorHome(':warning: Something went wrong (ref `x`)'))).toContain('ref `x`');
  });

  it('humanises durations', () => {
    expect([0, 5_000, 119_000, 600_000, 7_200_000, 200_000_000].map(humanDuration)).toEqual([
      '0 s',
      '5 s',
      '119 s',
      '10 min',
      '2 h',
      '2 d',
    ]);
  });

  it.each(HOSTILE.map((h, i) => [i, h] as const))('hostile corpus #%i', (_, h) => {
    const alerts = Array.from({ length: 12 }, (_, i) =>
      hostileAlert(h, i % 2 ? 'escalated' : h, `00000000-0000-4000-8000-0000000003${String(i).padStart(2, '0')}`),
    );
    const view = renderHome(
      data({
        escalated: {
          alerts: alerts.map((a) => ({
            alert: a,
            lastAction: { by: { id: h, name: h }, kind: 'status', status: h, at: h },
          })),
          totalCount: 12,
        },
        health: health({ lastSuccessfulPollAt: h, startedAt: h, lastError: { at: h, source: 'cotool', message: h } }),
      }),
      { alertUrl: () => h, appUrl: h, errorText: null, closeOpensForm: false },
    );
    // The app URL is configuration: its link is ours (a URL that cannot be one is left out).
    const link = linkToken(h, 'Open Cotool');
    assertSafeHome(
      view,
      alerts.map((a) => a.id),
      link ? [link] : [],
    );
  });
});

describe('renderHome: muted detections', () => {
  const m = (i: number, over: Record<string, unknown> = {}) => ({
    id: `0b7e6f1c-2d3a-4b5c-8d9e-0f1a2b3c4d${String(i).padStart(2, '0')}`,
    channel: 'C0ALERTS',
    detectionName: `Noisy rule ${i}`,
    by: { id: 'U0ANA', name: 'Ana' },
    reason: 'tuning',
    createdAt: NOW - 60_000 * i,
    until: NOW + 3_600_000,
    endedAt: null,
    endedBy: null,
    muted: i,
    escalated: 0,
    ...over,
  });
  const muteValues = (ids: string[]) => (path: string, value: unknown) => {
    const d = decodeMuteRef(value);
    if (d.ok) return;
    homeValues(ids)(path, value);
  };

  it('lists the mutes holding now, each with Unmute, without crowding out the rest', () => {
    const d = data({}, HOME_MAX_ESCALATED);
    const view = renderHome(d, { ...ctx, mutes: Array.from({ length: 15 }, (_, i) => m(i)) });
    const ids = d.escalated?.alerts.map((a) => a.alert.id) ?? [];
    assertSafeView(
      { text: 'home', blocks: view.blocks },
      {
        alertId: '',
        maxBlocks: 100,
        actionIdScope: 'block',
        checkValue: muteValues(ids),
        allowed: [OPEN_COTOOL, '<#C0ALERTS>'],
      },
    );
    expect(validateView(view)).toEqual([]);
    const rows = view.blocks.filter((b) => b.block_id?.startsWith('home.mutes.mute.list.row.'));
    expect(rows).toHaveLength(HOME_MAX_MUTES);
    expect(json(view)).toContain('*Muted detections* — 15');
    expect(json(view)).toContain('+5 more not shown.');
    expect(json(view)).toContain(ACTIONS.unmute);
    expect(view.blocks.at(-1)?.block_id).toBe('home.actions');
  });

  it('says when nothing is muted; shows no section when not given', () => {
    expect(json(renderHome(data(), { ...ctx, mutes: [] }))).toContain('*Muted detections* — none.');
    expect(json(renderHome(data(), ctx))).not.toContain('Muted detections');
  });

  it.each(HOSTILE.map((h, i) => [i, h] as const))('hostile mute #%i', (_, h) => {
    const view = renderHome(data(), {
      ...ctx,
      mutes: [m(1, { detectionName: h, reason: h, by: { id: h, name: h }, channel: h })],
    });
    const ids = data().escalated?.alerts.map((a) => a.alert.id) ?? [];
    assertSafeView(
      { text: 'home', blocks: view.blocks },
      { alertId: '', maxBlocks: 100, actionIdScope: 'block', checkValue: muteValues(ids), allowed: [OPEN_COTOOL] },
    );
    expect(validateView(view)).toEqual([]);
  });
});
