import { describe, expect, it } from 'vitest';
import type { CotoolClient } from '../../src/cotool/client.ts';
import type { TimelineEntry } from '../../src/cotool/schemas.ts';
import { createChangeStatus } from '../../src/service/change-status.ts';
import {
  buildApprovedReason,
  createFourEyes,
  createFourEyesGate,
  driftOf,
  REQUEST_TTL_MS,
} from '../../src/service/four-eyes.ts';
import { FOUR_EYES_ACTIONS } from '../../src/slack/ids.ts';
import { CARD_TS, CHANNEL, drainOutbox, httpError, JANE, json, triageHarness, user } from './fakes.ts';

const START = '2026-11-23T10:00:00.000Z';
const SAM = { id: 'U0SAM', name: 'Sam Roe' };
const ANA = { id: 'U0ANA', name: 'Ana' };

async function setup(severity = 'critical') {
  const h = await triageHarness({ severity });
  h.access.policy.check = async (id: string) => ({
    ok: true,
    user: user(id, id === SAM.id ? SAM.name : id === ANA.id ? ANA.name : id === JANE.id ? JANE.name : id),
  });
  const extra: TimelineEntry[] = [];
  const base = h.cotool.client;
  const cotool = {
    ...base,
    async getAlert(id: string) {
      const a = await base.getAlert(id);
      return { ...a, timeline: [...a.timeline, ...extra] };
    },
    async listTimeline(id: string) {
      const a = await cotool.getAlert(id);
      return { entries: a.timeline, totalCount: a.timeline.length, skipped: 0, pages: 1, truncated: false };
    },
  } as Pick<CotoolClient, 'getAlert' | 'listTimeline'>;
  const gate = createFourEyesGate({
    store: h.store,
    logger: h.deps.logger,
    clock: h.deps.clock,
    severities: ['critical'],
    alertChannel: CHANNEL,
  });
  const change = createChangeStatus(h.deps, { fourEyes: gate });
  const fourEyes = createFourEyes({
    cotool,
    store: h.store,
    access: h.access.policy,
    logger: h.deps.logger,
    clock: h.deps.clock,
    changeStatus: change,
  });
  /** The request's message and its redraws go through the outbox: the sender posts them. */
  const drain = () => drainOutbox(h);
  const click = async (
    userId = JANE.id,
    status: 'closed_false_positive' | 'closed_true_positive_benign' = 'closed_false_positive',
    words?: string,
  ) => {
    const r = await change({
      alertId: h.alert.id,
      expectedUpdatedAt: h.cotool.alert.updatedAt,
      status,
      userId,
      words: words ?? null,
    });
    await drain();
    return r;
  };
  /** A comment added in Cotool: updatedAt moves, a comment entry appears. */
  const comment = () => {
    h.cotool.changeElsewhere({});
    extra.push({
      id: `c${extra.length}`,
      alertId: h.alert.id,
      organizationId: null,
      createdAt: h.cotool.alert.updatedAt,
      actorType: 'human',
      actorUserId: null,
      actorAgentId: null,
      actorRunId: null,
      actorUserName: 'Cotool API',
      actorUserImageUrl: null,
      actorAgentName: null,
      kind: 'comment',
      bodyMarkdown: 'Reply in Slack by Bob (<@U0BOB>): looking',
      beforeStatus: null,
      afterStatus: null,
      metadata: {},
    });
  };
  const statusCalls = () => h.cotool.calls.filter((c) => c.method === 'updateStatus');
  const requestId = async () => (await h.store.pendingCloseRequest(h.alert.id))?.id as string;
  return { h, gate, fourEyes, click, comment, statusCalls, requestId, drain };
}

describe('four eyes: the first click', () => {
  it('changes nothing in Cotool and posts one request in the card’s thread, with Approve and Reject', async () => {
    const { h, click, statusCalls, requestId } = await setup();
    const r = await click(JANE.id, 'closed_false_positive', 'Known scanner');
    expect(r).toMatchObject({ ok: true, statusChanged: false, approval: { fresh: true, requester: JANE } });
    expect(statusCalls()).toEqual([]);
    expect(h.slack.posts).toHaveLength(1);
    expect(h.slack.posts[0]).toMatchObject({ channel: CHANNEL, thread_ts: CARD_TS, reply_broadcast: false });
    const text = json(h.slack.posts[0]);
    expect(text).toContain('*Jane Doe* asks to close *COT-');
    expect(text).toContain('as false positive');
    expect(text).toContain('Known scanner');
    expect(text).toContain(FOUR_EYES_ACTIONS.approve);
    expect(text).toContain(FOUR_EYES_ACTIONS.reject);
    const stored = await h.store.getCloseRequest(await requestId());
    expect(stored).toMatchObject({ state: 'pending', requester: JANE, ts: expect.any(String), threadTs: CARD_TS });
    expect(h.slack.updates).toEqual([]); // the card is not touched
  });

  it('a second close while a request waits adds nothing and names who asked', async () => {
    const { h, click } = await setup();
    await click(JANE.id);
    const r = await click(SAM.id, 'closed_true_positive_benign');
    expect(r).toMatchObject({ ok: true, approval: { fresh: false, requester: JANE, status: 'closed_false_positive' } });
    expect(h.slack.posts).toHaveLength(1);
  });

  it('other severities, and closes as true positive, are not gated', async () => {
    const high = await setup('high');
    expect(await high.click(JANE.id)).toMatchObject({ ok: true, statusChanged: true });
    const crit = await setup();
    const tp = await createChangeStatus(crit.h.deps, { fourEyes: crit.gate })({
      alertId: crit.h.alert.id,
      expectedUpdatedAt: START,
      status: 'closed_true_positive',
      userId: JANE.id,
    });
    expect(tp).toMatchObject({ ok: true, statusChanged: true });
  });
});

describe('four eyes: approval', () => {
  it('a second person’s approval makes exactly one change naming both; the request shows the outcome', async () => {
    const { h, fourEyes, click, statusCalls, requestId, drain } = await setup();
    await click(JANE.id, 'closed_false_positive', 'Known scanner');
    const id = await requestId();
    const r = await fourEyes.approve(id, SAM.id);
    expect(r).toMatchObject({
      ok: true,
      change: { statusChanged: true },
      request: { state: 'approved', decidedBy: SAM },
    });
    expect(statusCalls().map((c) => c.args[2])).toEqual([
      'Closed as false positive from Slack by Jane Doe (<@U0JANE>), approved by Sam Roe (<@U0SAM>): Known scanner',
    ]);
    expect(h.cotool.alert.status).toBe('closed_false_positive');
    await drain();
    const redrawn = h.slack.updates.find((u) => u.ts !== CARD_TS);
    expect(json(redrawn)).toContain('Approved by *Sam Roe*');
    expect(json(redrawn)).not.toContain(FOUR_EYES_ACTIONS.approve);
    await drain();
    expect(json(h.slack.updates.find((u) => u.ts === CARD_TS))).toContain('Closed as false positive');
    // A later approval is told it was decided, and changes nothing.
    expect(await fourEyes.approve(id, ANA.id)).toMatchObject({ ok: false, code: 'decided' });
    expect(statusCalls()).toHaveLength(1);
  });

  it('the requester cannot approve their own request', async () => {
    const { fourEyes, click, statusCalls, requestId } = await setup();
    await click(JANE.id);
    expect(await fourEyes.approve(await requestId(), JANE.id)).toMatchObject({ ok: false, code: 'own_request' });
    expect(statusCalls()).toEqual([]);
  });

  it('two approvals at once make one change', async () => {
    const { fourEyes, click, statusCalls, requestId } = await setup();
    await click(JANE.id);
    const id = await requestId();
    const results = await Promise.all([fourEyes.approve(id, SAM.id), fourEyes.approve(id, ANA.id)]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(statusCalls()).toHaveLength(1);
  });

  it('a change in Cotool meanwhile (severity) cancels it; nothing changes', async () => {
    const { h, fourEyes, click, statusCalls, requestId, drain } = await setup();
    await click(JANE.id);
    const id = await requestId();
    h.cotool.changeElsewhere({ severity: 'high' });
    expect(await fourEyes.approve(id, SAM.id)).toMatchObject({ ok: false, code: 'cancelled', drift: 'severity' });
    expect(statusCalls()).toEqual([]);
    expect(await h.store.getCloseRequest(id)).toMatchObject({ state: 'cancelled' });
    await drain();
    expect(json(h.slack.updates.at(-1))).toContain('Cancelled: its severity changed');
  });

  it('a change that moved updatedAt without a comment cancels it; a comment does not', async () => {
    const a = await setup();
    await a.click(JANE.id);
    a.comment();
    expect(await a.fourEyes.approve(await a.requestId(), SAM.id)).toMatchObject({ ok: true });
    expect(a.statusCalls()).toHaveLength(1);

    const b = await setup();
    await b.click(JANE.id);
    const id = await b.requestId();
    b.h.cotool.changeElsewhere({ description: 'edited in Cotool' });
    expect(await b.fourEyes.approve(id, SAM.id)).toMatchObject({ ok: false, code: 'cancelled' });
    expect(b.statusCalls()).toEqual([]);
  });

  it('expires after 24 hours', async () => {
    const { h, fourEyes, click, statusCalls, requestId, drain } = await setup();
    await click(JANE.id);
    const id = await requestId();
    h.advance(REQUEST_TTL_MS);
    expect(await fourEyes.approve(id, SAM.id)).toMatchObject({ ok: false, code: 'expired' });
    expect(statusCalls()).toEqual([]);
    await drain();
    expect(json(h.slack.updates.at(-1))).toContain('Expired');
    // A new click asks anew.
    expect(await click(JANE.id)).toMatchObject({ approval: { fresh: true } });
  });

  it('Reject closes it (the requester withdraws); an approval after that changes nothing', async () => {
    const { h, fourEyes, click, statusCalls, requestId, drain } = await setup();
    await click(JANE.id);
    const id = await requestId();
    expect(await fourEyes.reject(id, SAM.id)).toMatchObject({
      ok: true,
      withdrawn: false,
      request: { state: 'rejected' },
    });
    await drain();
    expect(json(h.slack.updates.at(-1))).toContain('Rejected by *Sam Roe*');
    expect(await fourEyes.approve(id, ANA.id)).toMatchObject({ ok: false, code: 'decided' });
    expect(statusCalls()).toEqual([]);
    await click(JANE.id);
    expect(await fourEyes.reject(await requestId(), JANE.id)).toMatchObject({ ok: true, withdrawn: true });
  });

  it('a refused approver changes nothing', async () => {
    const { h, fourEyes, click, statusCalls, requestId } = await setup();
    await click(JANE.id);
    h.access.policy.check = async () => ({ ok: false, reason: 'guest' });
    expect(await fourEyes.approve(await requestId(), SAM.id)).toMatchObject({ ok: false, code: 'denied' });
    expect(statusCalls()).toEqual([]);
  });

  it('a Cotool refusal hands the request back for another approval', async () => {
    const { h, fourEyes, click, statusCalls, requestId } = await setup();
    await click(JANE.id);
    const id = await requestId();
    h.cotool.fail.status.push(httpError(400, { apiMessage: 'nope' }));
    expect(await fourEyes.approve(id, SAM.id)).toMatchObject({ ok: false, code: 'change_failed' });
    expect(await h.store.getCloseRequest(id)).toMatchObject({ state: 'pending', decidedBy: null });
    expect(await fourEyes.approve(id, SAM.id)).toMatchObject({ ok: true });
    expect(statusCalls()).toHaveLength(2);
    expect(h.cotool.alert.status).toBe('closed_false_positive');
  });
});

describe('four eyes: pieces', () => {
  it('the approved reason names both and fits 2,000 characters', () => {
    const r = buildApprovedReason('closed_true_positive_benign', JANE, SAM, 'x'.repeat(2_500));
    expect(
      r.reason.startsWith('Closed as benign from Slack by Jane Doe (<@U0JANE>), approved by Sam Roe (<@U0SAM>): x'),
    ).toBe(true);
    expect(r.reason.length).toBeLessThanOrEqual(2_000);
    expect(r.wordsCut).toBe(true);
    expect(buildApprovedReason('closed_false_positive', JANE, { id: 'bad', name: '<@U1> (x)' }).reason).toBe(
      'Closed as false positive from Slack by Jane Doe (<@U0JANE>), approved by @U1 x',
    );
  });

  it('drift: status, severity, title, or a non-comment entry since; comments only are fine', () => {
    const basis = { status: 'open', severity: 'critical', title: 't', updatedAt: '2026-11-23T10:00:00.000Z' };
    const alert = { status: 'open', severity: 'critical', title: 't', updatedAt: basis.updatedAt } as never;
    const at = (kind: string, createdAt: string) => ({ kind, createdAt }) as TimelineEntry;
    const none = { entries: [], complete: true };
    expect(driftOf(basis, alert, none)).toBeNull();
    expect(driftOf(basis, { ...(alert as object), status: 'escalated' } as never, none)).toBe('status');
    expect(driftOf(basis, { ...(alert as object), severity: 'high' } as never, none)).toBe('severity');
    expect(driftOf(basis, { ...(alert as object), title: 'u' } as never, none)).toBe('title');
    const moved = { ...(alert as object), updatedAt: '2026-11-23T10:05:00.000Z' } as never;
    const later = '2026-11-23T10:05:00.000Z';
    expect(driftOf(basis, moved, { entries: [at('comment', later)], complete: true })).toBeNull();
    expect(
      driftOf(basis, moved, { entries: [at('comment', later), at('assignment_change', later)], complete: true }),
    ).toBe('changed');
    expect(driftOf(basis, moved, { entries: [], complete: true })).toBe('unverifiable');
    expect(driftOf(basis, moved, { entries: [at('comment', later)], complete: false })).toBe('unverifiable');
  });
});
