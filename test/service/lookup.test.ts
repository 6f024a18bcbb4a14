import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { Alert, AlertWithTimeline, ListAlertsParams } from '../../src/core/alert.ts';
import { CotoolError } from '../../src/cotool/errors.ts';
import type { CotoolClient } from '../../src/ports.ts';
import type { AccessDecision, AccessRefusal } from '../../src/service/access.ts';
import { createLookupService, EXPAND_TTL_MS, type LookupDeps } from '../../src/service/lookup.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { createHealth } from '../../src/telemetry/health.ts';
import { alert } from '../support/alerts.ts';

const ANA = { id: 'U0ANA', name: 'Ana', isRestricted: false, isUltraRestricted: false, isBot: false, deleted: false };
const RUN = '3f2b9c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f';

const httpError = (status: number, byId = true) =>
  new CotoolError({ kind: 'http', method: 'GET', path: '/api/alerts/x', status, byId });

function setup(o: { refuse?: AccessRefusal; alerts?: Alert[] } = {}) {
  const alerts = o.alerts ?? [];
  const withTimeline = (a: Alert): AlertWithTimeline => ({ ...a, timeline: [] });
  const cotool = {
    getAlert: vi.fn(async (ref: string) => {
      const a = alerts.find((x) => x.id === ref || x.displayId === ref);
      if (!a) throw httpError(404);
      return withTimeline(a);
    }),
    getAlertForRun: vi.fn(async (runId: string) => alerts.find((a) => a.originRunId === runId) ?? null),
    listAlerts: vi.fn(async (p: ListAlertsParams = {}) => {
      const hit = alerts.filter(
        (a) =>
          (!p.status?.length || p.status.includes(a.status)) &&
          (!p.severity?.length || p.severity.includes(a.severity ?? '')),
      );
      return {
        alerts: hit.slice(p.offset ?? 0, (p.offset ?? 0) + (p.limit ?? 100)),
        totalCount: hit.length,
        skipped: 0,
      };
    }),
  } satisfies Pick<CotoolClient, 'getAlert' | 'getAlertForRun' | 'listAlerts'>;
  const check = vi.fn(
    async (userId: string): Promise<AccessDecision> =>
      o.refuse ? { ok: false, reason: o.refuse } : { ok: true, user: { ...ANA, id: userId } },
  );
  let now = Date.parse('2026-11-23T12:00:00Z');
  const store = openSqliteStore(':memory:');
  const deps: LookupDeps = {
    cotool,
    access: { check },
    store,
    health: createHealth('socket'),
    logger: pino({ level: 'silent' }),
    clock: () => now,
  };
  return {
    cotool,
    check,
    store,
    service: createLookupService(deps),
    advance: (ms: number) => {
      now += ms;
    },
    calls: () =>
      cotool.getAlert.mock.calls.length + cotool.getAlertForRun.mock.calls.length + cotool.listAlerts.mock.calls.length,
  };
}

describe('lookup', () => {
  const a = alert({ displayId: 'COT-7' });

  it('finds the alert and what was last done to it from Slack', async () => {
    const t = setup({ alerts: [a] });
    const last = {
      by: { id: 'U0BO', name: 'Bo' },
      kind: 'status' as const,
      status: 'open',
      at: '2026-11-23T11:00:00Z',
    };
    await t.store.markSeen(a.id, a.displayId, a.status);
    await t.store.setLastAction(a.id, last);
    const r = await t.service.lookup('U0ANA', 'COT-7');
    expect(r).toMatchObject({ ok: true, alert: { id: a.id, timeline: [] }, lastAction: last, user: { id: 'U0ANA' } });
    expect(t.cotool.getAlert).toHaveBeenCalledWith('COT-7');
  });

  it.each(['guest', 'not_allowed', 'not_channel_member', 'unknown_user', 'lookup_failed'] as const)(
    'refuses (%s) without calling Cotool',
    async (reason) => {
      const t = setup({ refuse: reason, alerts: [a] });
      for (const r of [
        await t.service.lookup('U0G', 'COT-7'),
        await t.service.lookupRun('U0G', RUN),
        await t.service.list('U0G', { status: [], severity: [], source: [] }, 0),
        await t.service.home('U0G'),
        await t.service.unfurl('U0G', ['COT-7']),
        await t.service.expand('U0G', { channel: 'C1', threadTs: '1.2' }, ['COT-7']),
      ]) {
        expect(r).toEqual({ ok: false, code: 'forbidden', reason });
      }
      expect(t.calls()).toBe(0);
      // A refused poster claims nothing: once allowed, the id still expands.
      expect(await t.store.firstTime('expand:C1:1.2:COT-7', 0, EXPAND_TTL_MS)).toBe(true);
    },
  );

  it('maps Cotool failures: 404 and a 400 on the id are not found, others are upstream errors', async () => {
    const t = setup();
    t.cotool.getAlert.mockRejectedValueOnce(httpError(404));
    expect(await t.service.lookup('U0ANA', 'COT-999')).toEqual({ ok: false, code: 'not_found' });
    t.cotool.getAlert.mockRejectedValueOnce(httpError(400));
    expect(await t.service.lookup('U0ANA', 'COT-999')).toEqual({ ok: false, code: 'not_found' });
    const boom = httpError(500);
    t.cotool.getAlert.mockRejectedValueOnce(boom);
    expect(await t.service.lookup('U0ANA', 'COT-1')).toEqual({ ok: false, code: 'upstream_error', error: boom });
    const timeout = new CotoolError({ kind: 'timeout', method: 'GET', path: '/api/alerts/COT-1' });
    t.cotool.getAlert.mockRejectedValueOnce(timeout);
    expect(await t.service.lookup('U0ANA', 'COT-1')).toMatchObject({ code: 'upstream_error', error: timeout });
  });

  it('lets a bug through to the error boundary', async () => {
    const t = setup();
    t.cotool.getAlert.mockRejectedValueOnce(new TypeError('bug'));
    await expect(t.service.lookup('U0ANA', 'COT-1')).rejects.toThrow('bug');
  });
});

describe('lookupRun', () => {
  it('reads the run’s alert with its timeline, or says there is none', async () => {
    const a = alert({ originRunId: RUN });
    const t = setup({ alerts: [a] });
    expect(await t.service.lookupRun('U0ANA', RUN)).toMatchObject({ ok: true, found: { alert: { id: a.id } } });
    expect(t.cotool.getAlert).toHaveBeenCalledWith(a.id);
    expect(await t.service.lookupRun('U0ANA', '00000000-0000-4000-8000-000000000000')).toEqual({
      ok: true,
      found: null,
    });
  });

  it('shows the alert without a timeline when only the second read fails; not found when the run is unknown', async () => {
    const a = alert({ originRunId: RUN });
    const t = setup({ alerts: [a] });
    t.cotool.getAlert.mockRejectedValueOnce(httpError(503));
    expect(await t.service.lookupRun('U0ANA', RUN)).toMatchObject({
      ok: true,
      found: { alert: { id: a.id, timeline: [] } },
    });
    t.cotool.getAlertForRun.mockRejectedValueOnce(httpError(400));
    expect(await t.service.lookupRun('U0ANA', RUN)).toEqual({ ok: false, code: 'not_found' });
  });
});

describe('list', () => {
  it('asks Cotool for one page of ten with the filters, newest first within the page', async () => {
    const alerts = Array.from({ length: 23 }, (_, i) =>
      alert({
        status: 'escalated',
        severity: 'high',
        createdAt: new Date(Date.UTC(2026, 0, 1 + ((i * 7) % 23))).toISOString(),
      }),
    );
    const t = setup({ alerts });
    const r = await t.service.list(
      'U0ANA',
      { status: ['escalated'], severity: ['high'], source: ['jira'], q: 'okta' },
      10,
    );
    expect(t.cotool.listAlerts).toHaveBeenCalledWith({
      status: ['escalated'],
      severity: ['high'],
      source: ['jira'],
      q: 'okta',
      limit: 10,
      offset: 10,
    });
    if (!r.ok) throw new Error('expected a page');
    expect(r.totalCount).toBe(23);
    expect(r.alerts).toHaveLength(10);
    const dates = r.alerts.map((a) => a.createdAt);
    expect(dates).toEqual([...dates].sort().reverse());
  });

  it('reports a Cotool failure as an upstream error', async () => {
    const t = setup();
    t.cotool.listAlerts.mockRejectedValueOnce(httpError(500, false));
    expect(await t.service.list('U0ANA', { status: [], severity: [], source: [] }, 0)).toMatchObject({
      ok: false,
      code: 'upstream_error',
    });
  });
});

describe('home', () => {
  it('counts with seven concurrent calls and lists the newest escalated alerts', async () => {
    const alerts = [
      alert({ status: 'open', severity: 'low' }),
      alert({ status: 'open', severity: null }),
      alert({ status: 'in_progress', severity: 'high' }),
      alert({ status: 'escalated', severity: 'critical', createdAt: '2026-11-20T00:00:00Z' }),
      alert({ status: 'escalated', severity: 'critical', createdAt: '2026-11-22T00:00:00Z' }),
      alert({ status: 'closed_true_positive', severity: 'critical' }),
    ];
    const t = setup({ alerts });
    const r = await t.service.home('U0ANA');
    if (!r.ok) throw new Error('expected home data');
    expect(t.cotool.listAlerts).toHaveBeenCalledTimes(7);
    expect(r.byStatus).toEqual({ open: 2, in_progress: 1, escalated: 2 });
    expect(r.bySeverity).toEqual({ low: 1, medium: 0, high: 1, critical: 2 });
    expect(r.escalated?.alerts.map((x) => x.alert.createdAt)).toEqual(['2026-11-22T00:00:00Z', '2026-11-20T00:00:00Z']);
    expect(r.error).toBeNull();
    for (const [params] of t.cotool.listAlerts.mock.calls) {
      if (params?.status?.includes('escalated') && params.status.length === 1) expect(params.limit).toBe(50);
      else expect(params?.limit).toBe(1);
    }
  });

  it('keeps what it could read when some calls fail', async () => {
    const t = setup({ alerts: [alert({ status: 'open' })] });
    const err = httpError(502, false);
    t.cotool.listAlerts.mockRejectedValueOnce(err); // the open count
    const r = await t.service.home('U0ANA');
    if (!r.ok) throw new Error('expected home data');
    expect(r.byStatus.open).toBeNull();
    expect(r.byStatus.in_progress).toBe(0);
    expect(r.error).toBe(err);
  });
});

describe('unfurl and expand', () => {
  it('unfurls at most five distinct alerts, leaving out those that fail', async () => {
    const alerts = Array.from({ length: 7 }, (_, i) => alert({ displayId: `COT-${i + 1}` }));
    const t = setup({ alerts });
    t.cotool.getAlert.mockRejectedValueOnce(httpError(500));
    const r = await t.service.unfurl('U0ANA', [
      'COT-1',
      'COT-1',
      'COT-2',
      'COT-3',
      'COT-99',
      'COT-4',
      'COT-5',
      'COT-6',
    ]);
    if (!r.ok) throw new Error('expected alerts');
    expect(t.cotool.getAlert).toHaveBeenCalledTimes(5);
    expect([...r.alerts.keys()].sort()).toEqual(['COT-2', 'COT-3', 'COT-4']);
  });

  it('expands an alert at most once per thread (for 30 days), per alert', async () => {
    const t = setup({ alerts: [alert({ displayId: 'COT-1' }), alert({ displayId: 'COT-2' })] });
    const place = { channel: 'C1', threadTs: '100.1' };
    const ids = async (r: Awaited<ReturnType<typeof t.service.expand>>) =>
      r.ok ? r.alerts.map((a) => a.displayId) : r;
    expect(await ids(await t.service.expand('U0ANA', place, ['COT-1']))).toEqual(['COT-1']);
    expect(await ids(await t.service.expand('U0BO', place, ['COT-1', 'COT-2']))).toEqual(['COT-2']);
    expect(await ids(await t.service.expand('U0ANA', { ...place, threadTs: '200.1' }, ['COT-1']))).toEqual(['COT-1']);
    expect(await ids(await t.service.expand('U0ANA', place, ['COT-404']))).toEqual([]);
    t.advance(EXPAND_TTL_MS + 1);
    expect(await ids(await t.service.expand('U0ANA', place, ['COT-1']))).toEqual(['COT-1']);
  });
});
