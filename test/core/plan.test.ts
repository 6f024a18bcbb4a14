import { describe, expect, it } from 'vitest';
import { type PlanInput, type PlanPolicy, plan } from '../../src/core/plan.ts';
import type { Alert } from '../../src/cotool/schemas.ts';
import type { CardRecord } from '../../src/store/store.ts';
import { alert } from '../support/alerts.ts';

const NOW = Date.parse('2026-11-23T12:00:00.000Z');
const policy: PlanPolicy = {
  minSeverity: null,
  sources: [],
  backlog: 'recent',
  backlogMaxAgeMs: 3_600_000,
  claimStaleMs: 30_000,
};
// The "rendered card" in these tests: what is visible of the alert.
const fingerprint = (a: Alert) => `${a.status}|${a.severity}|${a.title}|${a.description}|${a.assignedAgentName}`;

function posted(a: Alert, extra: Partial<CardRecord> = {}): CardRecord {
  return {
    alertId: a.id,
    displayId: a.displayId,
    state: 'posted',
    channel: 'C1',
    ts: '1.1',
    status: a.status,
    updatedAt: a.updatedAt,
    fingerprint: fingerprint(a),
    final: false,
    claimedAt: null,
    claimOwner: null,
    lastAction: null,
    ...extra,
  };
}

function run(live: Alert[], records: CardRecord[] = [], over: Partial<PlanInput> = {}) {
  return plan({
    records: new Map(records.map((r) => [r.alertId, r])),
    live,
    firstRun: false,
    complete: true,
    now: NOW,
    policy,
    fingerprint,
    ...over,
  });
}
const types = (p: ReturnType<typeof run>) => p.actions.map((a) => a.type);

describe('plan', () => {
  it('posts one card per new alert, once even if the listing repeats it', () => {
    const a = alert();
    const p = run([a, a, alert()]);
    expect(types(p)).toEqual(['post', 'post']);
    expect(p.actions[0]).toMatchObject({ type: 'post', escalated: false, reason: 'new' });
  });

  it('does nothing for a posted card whose rendering did not change', () => {
    const a = alert();
    expect(run([a], [posted(a)]).actions).toEqual([]);
  });

  it('updates a card whose visible fields changed, in any of status/severity/title/description/assignee', () => {
    const a = alert();
    for (const change of [
      { status: 'in_progress' },
      { severity: 'critical' },
      { title: 'New title' },
      { description: 'more' },
      { assignedAgentName: 'Bo' },
    ] as Partial<Alert>[]) {
      const p = run([{ ...a, ...change }], [posted(a)]);
      expect(p.actions).toMatchObject([{ type: 'update', render: true }]);
    }
  });

  it('notes a changed updatedAt without re-rendering when nothing visible changed', () => {
    const a = alert();
    const p = run([{ ...a, updatedAt: '2026-11-23T11:00:00.000Z' }], [posted(a)]);
    expect(p.actions).toMatchObject([{ type: 'update', render: false }]);
  });

  it('escalates a posted card when the alert becomes escalated, not again while it stays escalated', () => {
    const a = alert();
    const esc = { ...a, status: 'escalated' };
    expect(types(run([esc], [posted(a)]))).toEqual(['escalate']);
    expect(types(run([esc], [posted(esc)]))).toEqual([]);
  });

  it('re-announces an escalation whose reply was not confirmed', () => {
    const esc = alert({ status: 'escalated' });
    expect(types(run([esc], [posted(esc, { status: 'pending_escalation' })]))).toEqual(['escalate']);
  });

  it('a listing older than the card (a change made from Slack during the poll) does not roll the card back', () => {
    const a = alert({ updatedAt: '2026-11-23T10:00:00.000Z' });
    const card = posted({ ...a, status: 'escalated', updatedAt: '2026-11-23T10:05:00.000Z' });
    const p = run([a], [card]);
    expect(p.actions).toEqual([]);
    expect(p.skipped).toEqual([{ alertId: a.id, why: 'stale_listing' }]);
  });

  it('refreshes cards whose alert left the live set, but not final ones', () => {
    const gone = alert();
    const closedBefore = alert({ status: 'closed_false_positive' });
    const p = run([], [posted(gone), posted(closedBefore, { final: true })]);
    expect(p.actions).toMatchObject([{ type: 'refresh', record: { alertId: gone.id } }]);
  });

  it('never reads a partial listing as "the alert disappeared"', () => {
    const gone = alert();
    expect(run([], [posted(gone)], { complete: false }).actions).toEqual([]);
  });

  it('updates a final card when its alert is live again (reopened)', () => {
    const closed = alert({ status: 'closed_false_positive' });
    const reopened = { ...closed, status: 'open' };
    expect(run([reopened], [posted(closed, { final: true })]).actions).toMatchObject([
      { type: 'update', render: true },
    ]);
  });

  describe('first start', () => {
    const recent = alert({ createdAt: '2026-11-23T11:30:00.000Z' });
    const old = alert({ createdAt: '2026-11-20T11:30:00.000Z' });
    const oldEscalated = alert({ createdAt: '2026-11-20T11:30:00.000Z', status: 'escalated' });

    it('recent (default): cards escalated and recent alerts, records the rest as seen', () => {
      const p = run([recent, old, oldEscalated], [], { firstRun: true });
      expect(p.actions.map((a) => [a.type, 'alert' in a ? a.alert?.id : null])).toEqual([
        ['post', recent.id],
        ['seen', old.id],
        ['post', oldEscalated.id],
      ]);
      expect(p.actions[2]).toMatchObject({ escalated: true, reason: 'escalated' });
    });
    it('all: cards everything', () => {
      expect(types(run([recent, old], [], { firstRun: true, policy: { ...policy, backlog: 'all' } }))).toEqual([
        'post',
        'post',
      ]);
    });
    it('none: records everything but escalations as seen', () => {
      expect(
        types(run([recent, old, oldEscalated], [], { firstRun: true, policy: { ...policy, backlog: 'none' } })),
      ).toEqual(['seen', 'seen', 'post']);
    });
    it('an unparseable createdAt counts as recent rather than dropping the alert', () => {
      expect(types(run([alert({ createdAt: 'yesterday-ish' })], [], { firstRun: true }))).toEqual(['post']);
    });
    it('after the first run, old alerts are new alerts (created while the bot was down)', () => {
      expect(types(run([old]))).toEqual(['post']);
    });
  });

  it('a seen alert gets a card only when it escalates', () => {
    const a = alert();
    const seen: CardRecord = { ...posted(a), state: 'seen', channel: null, ts: null, fingerprint: null };
    expect(types(run([{ ...a, severity: 'critical' }], [seen]))).toEqual([]);
    expect(run([{ ...a, status: 'escalated' }], [seen]).actions).toMatchObject([
      { type: 'post', escalated: true, reason: 'escalated' },
    ]);
  });

  describe('filters', () => {
    const low = alert({ severity: 'low' });
    const nullSev = alert({ severity: null });
    const crit = alert({ severity: 'critical' });
    const email = alert({ source: { category: 'trigger', name: 'email', triggerType: 'email' } });
    const strict = { ...policy, minSeverity: 'high' as const };

    it('MIN_SEVERITY skips lower and unknown severities for new alerts', () => {
      const p = run([low, nullSev, crit], [], { policy: strict });
      expect(p.actions.map((a) => a.type === 'post' && a.alert.id)).toEqual([crit.id]);
      expect(p.skipped.map((s) => s.why)).toEqual(['filtered', 'filtered']);
    });
    it('escalations are carded whatever the filters say', () => {
      expect(types(run([{ ...low, status: 'escalated' }], [], { policy: strict }))).toEqual(['post']);
    });
    it('a filtered alert is carded once it passes (severity raised)', () => {
      expect(types(run([{ ...low, severity: 'critical' }], [], { policy: strict }))).toEqual(['post']);
    });
    it('NOTIFY_SOURCES keeps only listed sources', () => {
      const p = run([email, crit], [], { policy: { ...policy, sources: ['email'] } });
      expect(p.actions.map((a) => a.type === 'post' && a.alert.id)).toEqual([email.id]);
    });
  });

  describe('claims', () => {
    const a = alert();
    const claim = (at: number): CardRecord => ({
      ...posted(a),
      state: 'claimed',
      ts: null,
      channel: null,
      fingerprint: null,
      claimedAt: at,
      claimOwner: 'other',
    });
    it('leaves a fresh claim alone (another poll is posting it)', () => {
      const p = run([a], [claim(NOW - 1_000)]);
      expect(p.actions).toEqual([]);
      expect(p.skipped).toEqual([{ alertId: a.id, why: 'claimed' }]);
    });
    it('recovers a stale claim (a crash between claim and confirm)', () => {
      expect(run([a], [claim(NOW - 60_000)]).actions).toMatchObject([{ type: 'recover', alert: { id: a.id } }]);
    });
    it('recovers a stale claim of an alert that is no longer live, without an alert', () => {
      expect(run([], [claim(NOW - 60_000)]).actions).toMatchObject([{ type: 'recover', alert: null }]);
    });
  });

  it('does not depend on the order of the listing', () => {
    const live = Array.from({ length: 20 }, (_, i) => alert({ status: i % 3 === 0 ? 'escalated' : 'open' }));
    const records = live.slice(0, 10).map((a) => posted({ ...a, status: 'open' }));
    const forward = run(live, records);
    const backward = run([...live].reverse(), records);
    const key = (p: ReturnType<typeof run>) =>
      p.actions.map((a) => `${a.type}:${'alert' in a ? a.alert?.id : a.record.alertId}`).sort();
    expect(key(backward)).toEqual(key(forward));
  });
});
