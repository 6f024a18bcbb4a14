/**
 * Changes made from Slack hold an intent keyed by the click before Cotool is asked, settled by their
 * thread note; the sender finishes an intent whose change never settled it (status, edit, note) only
 * when the change was made. Four-eyes requests are recorded with their message's outbox item, and
 * the sender posts that message exactly once. The real sender drains the outbox (drainOutbox).
 */
import { describe, expect, it } from 'vitest';
import { INTENT_GRACE_MS, intentGraceMs, intentItem, intentKey } from '../../src/core/outbox.ts';
import type { CotoolClient } from '../../src/cotool/client.ts';
import type { TimelineEntry } from '../../src/cotool/schemas.ts';
import { CLAIM_TTL_MS } from '../../src/service/card-sync.ts';
import { createChangeStatus } from '../../src/service/change-status.ts';
import { createEditDetails } from '../../src/service/edit-details.ts';
import { createFourEyes, createFourEyesGate } from '../../src/service/four-eyes.ts';
import { renderNoteReply } from '../../src/slack/views/note-modal.ts';
import type { Change, Store } from '../../src/store/store.ts';
import {
  CARD_TS,
  CHANNEL,
  drainOutbox,
  type Harness,
  httpError,
  JANE,
  json,
  timeoutError,
  triageHarness,
  user,
} from './fakes.ts';

const CLICK = 'interaction:U0JANE:1795000000.123456:alert.close_fp';
const SAM = { id: 'U0SAM', name: 'Sam Roe' };

/** A store whose next `apply` matching `which` commits, and then its answer is lost (it throws). */
function losingAnswers(store: Store, which: (changes: readonly Change[]) => boolean): Store {
  let armed = true;
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'apply') {
        return async (changes: readonly Change[]) => {
          const result = await target.apply(changes);
          if (armed && which(changes)) {
            armed = false;
            throw new Error('connection reset after COMMIT');
          }
          return result;
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

const threadNotes = (h: Harness) => h.slack.posts.filter((p) => p.thread_ts === CARD_TS);

describe('intents: grace and keys', () => {
  it('the grace is longer than the click’s claim, derived from it', () => {
    expect(INTENT_GRACE_MS).toBeGreaterThan(CLAIM_TTL_MS);
    expect(intentGraceMs(1_000)).toBeGreaterThan(1_000);
    expect(intentGraceMs(CLAIM_TTL_MS)).toBe(INTENT_GRACE_MS);
  });
});

describe('intents: a status change from Slack', () => {
  it('holds an intent named by the click before Cotool is asked; its note settles it (due at once, same key)', async () => {
    const h = await triageHarness();
    const key = intentKey(h.alert.id, CLICK);
    const start = h.deps.clock();
    let heldDuringWrite: unknown;
    const base = h.cotool.client;
    const change = createChangeStatus({
      ...h.deps,
      cotool: {
        ...base,
        async updateStatus(...args) {
          heldDuringWrite = (await h.store.listOutbox({ kind: 'reply' })).map((i) => [i.key, i.notBefore]);
          return base.updateStatus(...args);
        },
      },
    });
    const r = await change({
      alertId: h.alert.id,
      expectedUpdatedAt: h.alert.updatedAt,
      status: 'closed_false_positive',
      userId: JANE.id,
      clickId: CLICK,
    });
    expect(r).toMatchObject({ ok: true, statusChanged: true });
    expect(heldDuringWrite).toEqual([[key, start + INTENT_GRACE_MS]]);
    const items = await h.store.listOutbox({ kind: 'reply' });
    expect(items.map((i) => [i.key, i.notBefore])).toEqual([[key, 0]]);
    expect(JSON.parse(items[0]?.payload ?? '{}')).not.toHaveProperty('intent');
    await drainOutbox(h);
    expect(threadNotes(h)).toHaveLength(1);
    expect(json(threadNotes(h)[0])).toContain('false positive');
  });

  it('the intent’s commit answer lost: one note, not two (the note settles the intent by its key)', async () => {
    const h = await triageHarness();
    const store = losingAnswers(h.store, (c) => c.some((x) => x.enqueue?.some((i) => i.key.includes(':intent:'))));
    const change = createChangeStatus({ ...h.deps, store });
    const r = await change({
      alertId: h.alert.id,
      expectedUpdatedAt: h.alert.updatedAt,
      status: 'closed_false_positive',
      userId: JANE.id,
      clickId: CLICK,
    });
    expect(r).toMatchObject({ ok: true, statusChanged: true });
    expect((await h.store.listOutbox({ kind: 'reply' })).map((i) => i.key)).toEqual([intentKey(h.alert.id, CLICK)]);
    await drainOutbox(h);
    h.advance(INTENT_GRACE_MS + 1);
    await drainOutbox(h);
    expect(threadNotes(h)).toHaveLength(1);
    expect(await h.store.listOutbox()).toEqual([]);
  });

  it('a Cotool that answers after the old 60 s grace (within the claim): exactly one note', async () => {
    const h = await triageHarness();
    const base = h.cotool.client;
    const change = createChangeStatus({
      ...h.deps,
      cotool: {
        ...base,
        async updateStatus(...args) {
          // Two minutes pass before Cotool acts; the sender runs meanwhile.
          h.advance(120_000);
          await drainOutbox(h);
          return base.updateStatus(...args);
        },
      },
    });
    const r = await change({
      alertId: h.alert.id,
      expectedUpdatedAt: h.alert.updatedAt,
      status: 'closed_false_positive',
      userId: JANE.id,
      clickId: CLICK,
    });
    expect(r).toMatchObject({ ok: true, statusChanged: true });
    await drainOutbox(h);
    h.advance(INTENT_GRACE_MS);
    await drainOutbox(h);
    expect(threadNotes(h)).toHaveLength(1);
  });

  it('a definite refusal drops the intent; an unknown outcome keeps it, and the sender tells the change if it was made', async () => {
    const refused = await triageHarness();
    refused.cotool.fail.status.push(httpError(400));
    await createChangeStatus(refused.deps)({
      alertId: refused.alert.id,
      expectedUpdatedAt: refused.alert.updatedAt,
      status: 'closed_false_positive',
      userId: JANE.id,
      clickId: CLICK,
    });
    expect(await refused.store.listOutbox()).toEqual([]);

    const h = await triageHarness();
    h.cotool.applyDespiteFailure.status = true;
    h.cotool.fail.status.push(timeoutError());
    h.cotool.fail.get.push(null, httpError(503)); // the read before goes; the re-read after the lost answer fails
    const r = await createChangeStatus(h.deps)({
      alertId: h.alert.id,
      expectedUpdatedAt: h.alert.updatedAt,
      status: 'closed_false_positive',
      userId: JANE.id,
      clickId: CLICK,
    });
    expect(r).toMatchObject({ ok: false, code: 'unknown_outcome' });
    expect((await h.store.listOutbox()).map((i) => i.key)).toEqual([intentKey(h.alert.id, CLICK)]);
    h.advance(INTENT_GRACE_MS + 1);
    await drainOutbox(h);
    expect(threadNotes(h)).toHaveLength(1);
    expect(json(threadNotes(h)[0])).toContain('false positive');
  });
});

describe('intents: a change Cotool makes after the bot gave up waiting', () => {
  it('a timeout whose re-read shows nothing yet keeps the intent; the late change is told once, an absent one never', async () => {
    for (const late of [true, false]) {
      const h = await triageHarness();
      h.cotool.fail.status.push(timeoutError());
      const r = await createChangeStatus(h.deps)({
        alertId: h.alert.id,
        expectedUpdatedAt: h.alert.updatedAt,
        status: 'closed_false_positive',
        userId: JANE.id,
        clickId: CLICK,
      });
      expect(r).toMatchObject({ ok: false, code: 'upstream', mayStillApply: true });
      expect((await h.store.listOutbox()).map((i) => i.key)).toEqual([intentKey(h.alert.id, CLICK)]);
      // Cotool carries the change out seconds later (a late commit), or never.
      if (late) await h.cotool.client.updateStatus(h.alert.id, 'closed_false_positive', 'late');
      h.advance(INTENT_GRACE_MS + 1);
      await drainOutbox(h);
      expect(threadNotes(h)).toHaveLength(late ? 1 : 0);
      expect(await h.store.listOutbox()).toEqual([]);
    }
  });
});

describe('intents: a card Slack has but the store has not recorded yet', () => {
  it('a click on it (its sender died between Slack’s answer and recording it) still gets its note, in that card’s thread', async () => {
    const h = await triageHarness({}, { card: false });
    // The sender posted the card, Slack stored it, and the process died before recording it.
    await h.store.apply([
      {
        card: {
          op: 'insert',
          alertId: h.alert.id,
          displayId: h.alert.displayId,
          state: 'queued',
          channel: CHANNEL,
          status: h.alert.status,
          updatedAt: h.alert.updatedAt,
          fingerprint: null,
        },
      },
    ]);
    const clicked = { channel: CHANNEL, ts: '1796000000.000100' };
    const r = await createChangeStatus(h.deps)({
      alertId: h.alert.id,
      expectedUpdatedAt: h.alert.updatedAt,
      status: 'closed_false_positive',
      userId: JANE.id,
      clickId: CLICK,
      clicked,
    });
    expect(r).toMatchObject({ ok: true, statusChanged: true });
    const [note] = await h.store.listOutbox({ kind: 'reply' });
    expect(note?.key).toBe(intentKey(h.alert.id, CLICK));
    expect(JSON.parse(note?.payload ?? '{}')).toMatchObject({ threadTs: clicked.ts, view: {} });
    // A click from another channel's message (a shared copy) is not taken for the card.
    const other = await triageHarness({}, { card: false });
    await other.store.apply([
      {
        card: {
          op: 'insert',
          alertId: other.alert.id,
          displayId: other.alert.displayId,
          state: 'queued',
          channel: CHANNEL,
          status: other.alert.status,
          updatedAt: other.alert.updatedAt,
          fingerprint: null,
        },
      },
    ]);
    await createChangeStatus(other.deps)({
      alertId: other.alert.id,
      expectedUpdatedAt: other.alert.updatedAt,
      status: 'closed_false_positive',
      userId: JANE.id,
      clickId: CLICK,
      clicked: { channel: 'C0ELSEWHERE', ts: '1796000000.000200' },
    });
    expect(await other.store.listOutbox({ kind: 'reply' })).toEqual([]);
  });
});

describe('intents: an edit from Slack', () => {
  it('holds an intent before the PATCH, settled by the edit’s note', async () => {
    const h = await triageHarness();
    const edit = createEditDetails(h.deps);
    const r = await edit({
      alertId: h.alert.id,
      expectedUpdatedAt: h.alert.updatedAt,
      userId: JANE.id,
      title: 'A better title',
      clickId: 'submission:V1:h1',
    });
    expect(r).toMatchObject({ ok: true, changed: ['title'] });
    const items = await h.store.listOutbox({ kind: 'reply' });
    expect(items.map((i) => [i.key, i.notBefore])).toEqual([[intentKey(h.alert.id, 'submission:V1:h1'), 0]]);
    await drainOutbox(h);
    expect(threadNotes(h)).toHaveLength(1);
    expect(json(threadNotes(h)[0])).toContain('A better title');
  });

  it('the sender finishes an edit intent: told when the title is what was asked and moved since; dropped otherwise', async () => {
    for (const made of [true, false]) {
      const h = await triageHarness();
      const now = h.deps.clock();
      await h.store.apply([
        {
          enqueue: [
            intentItem({
              clickId: 'submission:V2:h2',
              channel: CHANNEL,
              threadTs: CARD_TS,
              alertId: h.alert.id,
              intent: {
                kind: 'edit',
                by: JANE,
                title: { from: h.alert.title, to: 'Renamed from Slack' },
                beforeUpdatedAt: h.alert.updatedAt,
              },
              now,
            }),
          ],
        },
      ]);
      h.cotool.changeElsewhere(made ? { title: 'Renamed from Slack' } : { title: 'Renamed by someone else' });
      await drainOutbox(h);
      expect(h.slack.posts).toEqual([]); // held: its grace is not over
      h.advance(INTENT_GRACE_MS);
      await drainOutbox(h);
      expect(threadNotes(h)).toHaveLength(made ? 1 : 0);
      if (made) expect(json(threadNotes(h)[0])).toContain('Renamed from Slack');
      expect(await h.store.listOutbox()).toEqual([]);
    }
  });
});

describe('intents: a note from Slack', () => {
  it('the sender finishes a note intent: told when the comment is in the timeline; dropped otherwise', async () => {
    for (const saved of [true, false]) {
      const h = await triageHarness();
      const body = 'Note from Slack by Jane Doe (<@U0JANE>): travel confirmed';
      const view = renderNoteReply({
        displayId: h.alert.displayId,
        kind: 'note',
        actor: JANE,
        words: 'travel confirmed',
      });
      await h.store.apply([
        {
          enqueue: [
            intentItem({
              clickId: 'submission:V3:h3',
              channel: CHANNEL,
              threadTs: CARD_TS,
              alertId: h.alert.id,
              intent: { kind: 'note', body },
              view,
              now: h.deps.clock(),
            }),
          ],
        },
      ]);
      const comment = {
        id: 'c1',
        alertId: h.alert.id,
        organizationId: null,
        createdAt: '2026-11-23T12:00:01.000Z',
        actorType: 'human',
        actorUserId: null,
        actorAgentId: null,
        actorRunId: null,
        actorUserName: 'Cotool API',
        actorUserImageUrl: null,
        actorAgentName: null,
        kind: 'comment',
        bodyMarkdown: saved ? body : 'Note from Slack by Jane Doe (<@U0JANE>): something else',
        beforeStatus: null,
        afterStatus: null,
        metadata: {},
      } as TimelineEntry;
      h.advance(INTENT_GRACE_MS);
      await drainOutbox(h, { extraTimeline: () => [comment] });
      expect(threadNotes(h)).toHaveLength(saved ? 1 : 0);
      if (saved) expect(json(threadNotes(h)[0])).toContain('travel confirmed');
      expect(await h.store.listOutbox()).toEqual([]);
    }
  });
});

// ---------------------------------------------------------------------------------------------

async function fourEyesSetup(opts: { store?: (s: Store) => Store } = {}) {
  const h = await triageHarness({ severity: 'critical' });
  h.access.policy.check = async (id: string) => ({
    ok: true,
    user: user(id, id === SAM.id ? SAM.name : id === JANE.id ? JANE.name : id),
  });
  const store = opts.store ? opts.store(h.store) : h.store;
  const base = h.cotool.client;
  const cotool = {
    ...base,
    async listTimeline(id: string) {
      const a = await base.getAlert(id);
      return { entries: a.timeline, totalCount: a.timeline.length, skipped: 0, pages: 1, truncated: false };
    },
  } as Pick<CotoolClient, 'getAlert' | 'listTimeline' | 'updateStatus' | 'updateDetails'>;
  /** One process: its gate, its status change. */
  const process = () => {
    const gate = createFourEyesGate({
      store,
      logger: h.deps.logger,
      clock: h.deps.clock,
      severities: ['critical'],
      alertChannel: CHANNEL,
    });
    const change = createChangeStatus({ ...h.deps, store, cotool }, { fourEyes: gate });
    const fourEyes = createFourEyes({
      cotool,
      store,
      access: h.access.policy,
      logger: h.deps.logger,
      clock: h.deps.clock,
      changeStatus: change,
    });
    const click = (userId = JANE.id) =>
      change({
        alertId: h.alert.id,
        expectedUpdatedAt: h.cotool.alert.updatedAt,
        status: 'closed_false_positive',
        userId,
        words: 'Known scanner',
      });
    return { fourEyes, click };
  };
  const requests = () => h.slack.posts.filter((p) => json(p).includes('alert.four_eyes.request'));
  return { h, process, requests };
}

describe('four eyes through the outbox', () => {
  it('the request is recorded with its message’s item in one transaction; the sender posts it and saves its ts', async () => {
    const { h, process, requests } = await fourEyesSetup();
    const r = await process().click();
    expect(r).toMatchObject({ ok: true, approval: { fresh: true, place: { channel: CHANNEL, ts: CARD_TS } } });
    expect(h.slack.posts).toEqual([]); // not posted by the click itself
    const pending = await h.store.pendingCloseRequest(h.alert.id);
    expect((await h.store.listOutbox({ kind: 'close_request' })).map((i) => i.key)).toEqual([
      `close_request:${pending?.id}`,
    ]);
    await drainOutbox(h);
    expect(requests()).toHaveLength(1);
    expect(requests()[0]).toMatchObject({
      channel: CHANNEL,
      thread_ts: CARD_TS,
      metadata: { event_type: 'cotool_close_request', event_payload: { request_id: pending?.id } },
    });
    expect(await h.store.getCloseRequest(pending?.id as string)).toMatchObject({
      state: 'pending',
      ts: expect.any(String),
    });
  });

  it('a 5xx after Slack stored the request: not cancelled, found again, posted once, still approvable', async () => {
    const { h, process, requests } = await fourEyesSetup();
    const gate = process();
    await gate.click();
    const post = h.slack.port.post;
    let stored: string | null = null;
    h.slack.port.post = async (m) => {
      const placed = await post(m);
      stored = placed.ts;
      h.slack.port.post = post;
      throw Object.assign(new Error('An HTTP protocol error occurred: statusCode = 500'), {
        code: 'slack_webapi_http_error',
        statusCode: 500,
      });
    };
    await drainOutbox(h, { findMessage: async () => null }).catch(() => undefined);
    // The item waits to look the message up (unknown outcome); the request stays pending.
    const id = (await h.store.pendingCloseRequest(h.alert.id))?.id as string;
    expect(await h.store.getCloseRequest(id)).toMatchObject({ state: 'pending', ts: null });
    // A re-click meanwhile points to the first request and posts nothing.
    expect(await process().click(SAM.id)).toMatchObject({ ok: true, approval: { fresh: false, requestId: id } });
    h.advance(10_000);
    await drainOutbox(h, { findMessage: async (q) => (q.key === `close_request:${id}` ? stored : null) });
    expect(requests()).toHaveLength(1);
    expect(await h.store.getCloseRequest(id)).toMatchObject({ state: 'pending', ts: stored });
    expect(await gate.fourEyes.approve(id, SAM.id)).toMatchObject({ ok: true, request: { state: 'approved' } });
    await drainOutbox(h);
    expect(h.slack.updates.some((u) => u.ts === stored && json(u).includes('Approved by'))).toBe(true);
  });

  it('a crash between recording the request and posting it: the next process posts it once', async () => {
    const { h, process, requests } = await fourEyesSetup();
    await process().click(); // the process dies before its sender ran
    // The next process: a second close points to the waiting request, and its sender posts it once.
    expect(await process().click(SAM.id)).toMatchObject({ ok: true, approval: { fresh: false, requester: JANE } });
    await drainOutbox(h);
    await drainOutbox(h);
    expect(requests()).toHaveLength(1);
    expect(await h.store.listOutbox()).toEqual([]);
  });

  it('the store’s answer lost while recording the request: it is found as ours, and posted once', async () => {
    const { h, process, requests } = await fourEyesSetup({
      store: (s) => losingAnswers(s, (c) => c.some((x) => x.closeRequest)),
    });
    expect(await process().click()).toMatchObject({ ok: true, approval: { fresh: true } });
    await drainOutbox(h);
    expect(requests()).toHaveLength(1);
  });

  it('a request whose message was dropped unsent does not block the alert: the next close asks anew', async () => {
    const { h, process, requests } = await fourEyesSetup();
    await process().click();
    const first = (await h.store.pendingCloseRequest(h.alert.id))?.id as string;
    // The sender gave up on its message (Slack refused it for good): the item is gone, no ts.
    const { token } = await h.store.tryLease('test-x', 'x', 600_000);
    const fence = { lease: 'test-x', token };
    const item = await h.store.claimNext({ lane: 'post', owner: 'x', staleMs: 60_000, fence });
    expect(item?.key).toBe(`close_request:${first}`);
    await h.store.completeOutbox(item?.key as string, 'x', fence, item?.rev ?? 0);
    expect(await process().click(SAM.id)).toMatchObject({ ok: true, approval: { fresh: true, requester: SAM } });
    expect(await h.store.getCloseRequest(first)).toMatchObject({ state: 'cancelled', outcome: 'not_posted' });
    await drainOutbox(h);
    expect(requests()).toHaveLength(1);
    // A request whose message is queued, or posted, is not withdrawn.
    expect(await process().click(JANE.id)).toMatchObject({ ok: true, approval: { fresh: false, requester: SAM } });
  });
});
