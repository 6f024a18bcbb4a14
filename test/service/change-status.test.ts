import { describe, expect, it } from 'vitest';
import { CLAIM_TTL_MS } from '../../src/service/card-sync.ts';
import { createChangeStatus } from '../../src/service/change-status.ts';
import { CARD_TS, CHANNEL, httpError, JANE, json, timeoutError, triageHarness } from './fakes.ts';

const START = '2026-11-23T10:00:00.000Z';

async function run(h: Awaited<ReturnType<typeof triageHarness>>, extra: Record<string, unknown> = {}) {
  return createChangeStatus(h.deps)({
    alertId: h.alert.id,
    expectedUpdatedAt: START,
    status: 'closed_false_positive',
    userId: JANE.id,
    ...extra,
  });
}

describe('changeStatus: success', () => {
  it('POSTs once with a reason naming the analyst, redraws the card, notes it in the thread, remembers who', async () => {
    const h = await triageHarness();
    const r = await run(h);
    expect(r).toMatchObject({ ok: true, statusChanged: true, cardUpdated: true, confirmedByReread: false });
    expect(h.cotool.calls.filter((c) => c.method === 'updateStatus').map((c) => c.args)).toEqual([
      [h.alert.id, 'closed_false_positive', 'Closed as false positive from Slack by Jane Doe (<@U0JANE>)'],
    ]);
    expect(h.slack.updates).toHaveLength(1);
    expect(h.slack.updates[0]).toMatchObject({ channel: CHANNEL, ts: CARD_TS });
    const card = json(h.slack.updates[0]?.blocks);
    expect(card).toContain('*Closed as false positive* by Jane Doe');
    // The status answer lacks the hydrated agent name: the card must not flip to "Unassigned".
    expect(card).toContain('Aria');
    expect(await h.replies()).toHaveLength(1);
    expect((await h.replies())[0]).toMatchObject({ channel: CHANNEL, thread_ts: CARD_TS, reply_broadcast: false });
    expect(json((await h.replies())[0])).toContain('<@U0JANE> closed *');
    const record = await h.store.get(h.alert.id);
    expect(record?.lastAction).toMatchObject({ by: JANE, kind: 'status', status: 'closed_false_positive' });
    expect(record).toMatchObject({ status: 'closed_false_positive', updatedAt: h.cotool.alert.updatedAt, final: true });
    expect(h.changed).toEqual([
      { alert: expect.objectContaining({ status: 'closed_false_positive' }), userId: JANE.id },
    ]);
  });

  it('the new card carries the new updatedAt, so the next click on it is not stale', async () => {
    const h = await triageHarness();
    await run(h);
    const r = await run(h, { status: 'open', expectedUpdatedAt: h.cotool.alert.updatedAt });
    expect(r).toMatchObject({ ok: true, statusChanged: true });
    expect(h.cotool.alert.status).toBe('open');
    expect(json(h.slack.updates.at(-1))).toContain(h.cotool.alert.updatedAt);
  });

  it('appends the analyst’s words; words too long are cut to fit 2,000 characters and reported', async () => {
    const h = await triageHarness();
    const words = `Scanner from 10.0.0.7. ${'x'.repeat(2_500)}`;
    const r = await run(h, { words });
    const reason = String(h.cotool.calls.find((c) => c.method === 'updateStatus')?.args[2]);
    expect(
      reason.startsWith('Closed as false positive from Slack by Jane Doe (<@U0JANE>): Scanner from 10.0.0.7.'),
    ).toBe(true);
    expect(reason.length).toBeLessThanOrEqual(2_000);
    expect(reason.endsWith('…')).toBe(true);
    expect(r).toMatchObject({ ok: true, wordsCut: true });
  });

  it('works for an alert without a channel card (e.g. from a lookup): no card to update, no thread', async () => {
    const h = await triageHarness({}, { card: false });
    const r = await run(h);
    expect(r).toMatchObject({ ok: true, cardUpdated: null });
    expect(h.slack.updates).toHaveLength(0);
    expect(await h.replies()).toHaveLength(0);
    if (r.ok) expect(json(r.view)).toContain('by Jane Doe');
  });

  it('also redraws the clicked message when it is not the stored card', async () => {
    const h = await triageHarness();
    await run(h, { clicked: { channel: 'C0OTHER', ts: '1795000009.000001' } });
    expect(h.slack.updates.map((u) => `${u.channel}/${u.ts}`)).toEqual([
      `${CHANNEL}/${CARD_TS}`,
      'C0OTHER/1795000009.000001',
    ]);
  });

  it('Slack refusing the card redraw (429) still reports the change; the redraw waits in the outbox, nothing recorded as shown', async () => {
    const h = await triageHarness();
    h.slack.failUpdate.push(
      Object.assign(new Error('x'), { code: 'slack_webapi_platform_error', data: { error: 'ratelimited' } }),
    );
    const before = await h.store.get(h.alert.id);
    const r = await run(h);
    // The redraw was queued (the sender's to send): the use-case is done with it.
    expect(r).toMatchObject({ ok: true, statusChanged: true, cardUpdated: true });
    expect(h.slack.updates).toHaveLength(0);
    expect((await h.store.get(h.alert.id))?.fingerprint).toBe(before?.fingerprint);
    // Kept for a later attempt, on the interactive lane, not due before Slack's Retry-After.
    const [redraw] = await h.store.listOutbox({ kind: 'card_update' });
    expect(redraw).toMatchObject({ lane: 'interactive', state: 'pending', attempts: 1 });
  });
});

describe('changeStatus: nothing changes', () => {
  it('statusChanged false → ok, says who set it, no thread reply, no event', async () => {
    const h = await triageHarness({ status: 'closed_false_positive' });
    const r = await run(h);
    expect(r).toMatchObject({ ok: true, statusChanged: false });
    expect(await h.replies()).toHaveLength(0);
    expect(h.changed).toHaveLength(0);
  });

  it('a stale card → refused without a POST; says what changed and who; the card is redrawn', async () => {
    const h = await triageHarness();
    h.cotool.changeElsewhere({ status: 'closed_true_positive_benign' }, 'Ana');
    const r = await run(h);
    expect(r).toMatchObject({ ok: false, code: 'stale', by: 'Ana', before: 'open' });
    if (!r.ok && r.code === 'stale') expect(r.alert.status).toBe('closed_true_positive_benign');
    expect(h.cotool.count('updateStatus')).toBe(0);
    expect(json(h.slack.updates[0]?.blocks)).toContain('Closed · Benign');
    expect((await h.store.get(h.alert.id))?.updatedAt).toBe(h.cotool.alert.updatedAt);
  });

  it('a stale card whose alert already has the status asked for names who set it (from our reason)', async () => {
    const h = await triageHarness();
    await run(h);
    const second = await run(h, { userId: 'U0BOB' });
    expect(second).toMatchObject({ ok: false, code: 'stale', by: 'Jane Doe' });
    expect(h.cotool.count('updateStatus')).toBe(1);
  });

  it('busy: another change of the alert holds the claim → refused before any Cotool call', async () => {
    const h = await triageHarness();
    await h.store.claimAction(h.alert.id, 'someone-else', CLAIM_TTL_MS);
    const r = await run(h);
    expect(r).toMatchObject({ ok: false, code: 'busy', displayId: h.alert.displayId });
    expect(h.cotool.calls).toHaveLength(0);
  });

  it('two concurrent calls → one POST', async () => {
    const h = await triageHarness();
    const [a, b] = await Promise.all([run(h), run(h, { userId: 'U0BOB' })]);
    expect(h.cotool.count('updateStatus')).toBe(1);
    expect([a.ok, b.ok].filter(Boolean)).toHaveLength(1);
  });

  it('denied: the access policy refuses → no Cotool call, no claim left behind', async () => {
    const h = await triageHarness();
    h.deps.access = { check: async () => ({ ok: false, reason: 'guest' }) };
    expect(await run(h)).toEqual({ ok: false, code: 'denied', reason: 'guest' });
    expect(h.cotool.calls).toHaveLength(0);
    expect(await h.store.claimAction(h.alert.id, 'x', CLAIM_TTL_MS)).toBe(true);
  });
});

describe('changeStatus: Cotool failures', () => {
  it.each([
    ['403 missing alert.triage', httpError(403, { missingPerms: ['alert.triage'] }), 'forbidden'],
    ['400 validation', httpError(400, { apiMessage: 'Invalid request body' }), 'invalid'],
    ['404 on the POST', httpError(404), 'not_found'],
  ])('%s → %s, no re-read, claim released', async (_, err, code) => {
    const h = await triageHarness();
    h.cotool.fail.status.push(err);
    const r = await run(h);
    expect(r).toMatchObject({ ok: false, code, ref: expect.stringMatching(/^[0-9a-f]{8}$/) });
    expect(h.cotool.count('getAlert')).toBe(1);
    expect(h.cotool.alert.status).toBe('open');
    expect(await h.replies()).toHaveLength(0);
    if (!r.ok && 'ref' in r) expect(h.logs.some((l) => l.includes(r.ref))).toBe(true);
    expect(await run(h)).toMatchObject({ ok: true });
  });

  it('404 when reading the alert → not_found, and its card is marked gone', async () => {
    const h = await triageHarness();
    // Deleted: every read says 404 (the use-case's, then the sender's as it redraws the card).
    h.cotool.fail.get.push(httpError(404, {}, 'GET'), httpError(404, {}, 'GET'));
    expect(await run(h)).toMatchObject({ ok: false, code: 'not_found' });
    expect(h.cotool.count('updateStatus')).toBe(0);
    expect(json(h.slack.updates[0])).toContain('no longer exists in Cotool');
    expect((await h.store.get(h.alert.id))?.final).toBe(true);
  });

  it('500 on the POST and the re-read shows nothing changed → upstream ("nothing was changed")', async () => {
    const h = await triageHarness();
    h.cotool.fail.status.push(httpError(500));
    const r = await run(h);
    expect(r).toMatchObject({ ok: false, code: 'upstream' });
    expect(h.cotool.count('updateStatus')).toBe(1);
    expect(h.cotool.count('getAlert')).toBe(2);
  });

  it('timeout on the POST but the change went through → success, confirmed by re-reading, one POST', async () => {
    const h = await triageHarness();
    h.cotool.fail.status.push(timeoutError());
    h.cotool.applyDespiteFailure.status = true;
    const r = await run(h);
    expect(r).toMatchObject({ ok: true, statusChanged: true, confirmedByReread: true });
    expect(h.cotool.count('updateStatus')).toBe(1);
    expect(await h.replies()).toHaveLength(1);
    expect(json(h.slack.updates[0]?.blocks)).toContain('by Jane Doe');
  });

  it('timeout on the POST and the re-read fails too → unknown_outcome with a logged reference', async () => {
    const h = await triageHarness();
    h.cotool.fail.status.push(timeoutError());
    h.cotool.fail.get.push(null, timeoutError('GET'));
    const r = await run(h);
    expect(r).toMatchObject({ ok: false, code: 'unknown_outcome' });
    if (!r.ok && r.code === 'unknown_outcome') expect(h.logs.some((l) => l.includes(r.ref))).toBe(true);
  });

  it('an error that is not Cotool’s is not swallowed, and the claim is released', async () => {
    const h = await triageHarness();
    h.cotool.fail.status.push(new TypeError('bug'));
    await expect(run(h)).rejects.toThrow('bug');
    expect(await h.store.claimAction(h.alert.id, 'x', CLAIM_TTL_MS)).toBe(true);
  });
});

describe('changeStatus: what the poller learns from a Slack change', () => {
  it('the card redraw failed: the store still records the new status (the sender sends it again; the poller never re-announces)', async () => {
    const h = await triageHarness();
    h.slack.failUpdate.push(
      Object.assign(new Error('internal_error'), { code: 'slack_webapi_http_error', statusCode: 500 }),
    );
    const before = await h.store.get(h.alert.id);
    const r = await run(h, { status: 'escalated' });
    expect(r).toMatchObject({ ok: true, cardUpdated: true });
    const record = await h.store.get(h.alert.id);
    expect(record).toMatchObject({ status: 'escalated', updatedAt: h.cotool.alert.updatedAt });
    expect(record?.fingerprint).toBe(before?.fingerprint);
    // The redraw's outcome is unknown (a 5xx): kept, to be sent again by the sender.
    expect((await h.store.listOutbox({ kind: 'card_update' }))[0]).toMatchObject({ lane: 'interactive', attempts: 1 });
    expect(record?.lastAction).toMatchObject({ kind: 'status', status: 'escalated', by: JANE });
  });

  it('an alert without a card escalated from Slack is remembered as such, so it is carded without a page', async () => {
    const h = await triageHarness({}, { card: false });
    const r = await run(h, { status: 'escalated' });
    expect(r).toMatchObject({ ok: true, cardUpdated: null });
    expect(await h.store.get(h.alert.id)).toMatchObject({
      state: 'seen',
      status: 'escalated',
      lastAction: { kind: 'status', status: 'escalated', by: JANE },
    });
  });

  it('an alert without a card closed from Slack leaves no record (filters still apply to it later)', async () => {
    const h = await triageHarness({}, { card: false });
    await run(h);
    expect(await h.store.get(h.alert.id)).toBeNull();
  });
});
