/**
 * The mute modal's submission with realistic payloads and recording fakes (no Bolt, no network):
 * the time and the reason are checked inline in the ack; a valid form is acknowledged with a working
 * view, the mute made and announced through the outbox, and the outcome shown; a second mute of the
 * same detection there is told it is muted already; Slack's redelivery does nothing twice.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { TimelineEntry } from '../../../src/core/alert.ts';
import type { UseCaseDeps } from '../../../src/service/use-cases.ts';
import { BLOCKS, INPUTS, VIEWS } from '../../../src/slack/ids.ts';
import type { ListenerDeps, ListenerEvents } from '../../../src/slack/listeners/deps.ts';
import { registerMuteViews } from '../../../src/slack/listeners/views/mute.ts';
import { encodeMuteMeta } from '../../../src/slack/payloads.ts';
import { selectValue, type ViewStateValue, viewSubmissionPayload } from '../../e2e/fakes/payloads.ts';
import { CHANNEL, config, harnessUseCases, JANE, triageHarness } from '../../service/fakes.ts';

type Obj = Record<string, unknown>;
type Handler = (args: unknown) => Promise<void>;
const HOUR = 3_600_000;

async function setup() {
  const h = await triageHarness();
  const comments: { alertId: string; body: string }[] = [];
  const cotool = {
    ...h.cotool.client,
    async addComment(alertId: string, body: string) {
      comments.push({ alertId, body });
      return { id: 'c1', kind: 'comment', bodyMarkdown: body } as unknown as TimelineEntry;
    },
  } as UseCaseDeps['cotool'];
  const { useCases, metrics } = harnessUseCases(h, { cotool });
  const events: ListenerEvents = new EventEmitter();
  const changed: string[] = [];
  events.on('mutes-changed', (u) => changed.push(u));
  const deps: ListenerDeps = {
    config,
    useCases,
    access: { check: (id) => h.access.policy.check(id), describe: () => 'members' },
    store: h.store,
    slack: h.slack.port,
    logger: h.deps.logger,
    clock: h.deps.clock,
    events,
    metrics,
  };
  const handlers = new Map<string, Handler>();
  const app = { view: (c: { callback_id: string }, fn: Handler) => void handlers.set(c.callback_id, fn) };
  registerMuteViews(app as never, deps);
  const updates: Obj[] = [];
  const client = {
    views: { update: async (a: Obj) => void updates.push(a) },
    chat: { postEphemeral: async () => ({}) },
  };
  const meta = encodeMuteMeta({
    v: 1,
    alertId: h.alert.id,
    channel: CHANNEL,
    detectionKey: 'id:d-travel',
    detectionName: 'Impossible travel',
    stormId: null,
  });
  const now = h.deps.clock();
  async function submit(
    form: { duration?: string; untilMs?: number | null; reason?: string },
    opts: { viewId?: string; hash?: string } = {},
  ) {
    const values: Record<string, Record<string, string | ViewStateValue>> = {
      [BLOCKS.muteDuration]: { [INPUTS.muteDuration]: selectValue(form.duration ?? '4h') },
      [BLOCKS.muteUntil]: {
        [INPUTS.muteUntil]: {
          type: 'datetimepicker',
          selected_date_time: form.untilMs ? Math.floor(form.untilMs / 1000) : null,
        },
      },
      [BLOCKS.muteReason]: { [INPUTS.muteReason]: form.reason ?? 'pentest this afternoon' },
    };
    const body = viewSubmissionPayload({
      user: JANE.id,
      callbackId: VIEWS.muteModal,
      privateMetadata: meta,
      values,
      ...(opts.viewId ? { viewId: opts.viewId } : {}),
      ...(opts.hash ? { hash: opts.hash } : {}),
    });
    const acks: unknown[] = [];
    const handler = handlers.get(VIEWS.muteModal);
    if (!handler) throw new Error('no mute-form listener registered');
    await handler({ ack: async (r?: unknown) => void acks.push(r), body, view: body.view, client, context: {} });
    return acks as Array<{ response_action?: string; view?: Obj; errors?: Obj } | undefined>;
  }
  return { h, updates, submit, now, comments, changed };
}

const json = (v: unknown) => JSON.stringify(v);

describe('the mute form', () => {
  it.each([
    ['no reason', { reason: '   ' }, BLOCKS.muteReason],
    ['an end in the past', { duration: 'until', untilMs: -HOUR }, BLOCKS.muteUntil],
    ['an end more than 7 days ahead', { duration: 'until', untilMs: 8 * 24 * HOUR }, BLOCKS.muteUntil],
    ['“until” with no end picked', { duration: 'until', untilMs: null }, BLOCKS.muteUntil],
  ] as [string, { reason?: string; duration?: string; untilMs?: number | null }, string][])(
    '%s: an inline error, nothing muted',
    async (_n, form, block) => {
      const { h, submit, now, updates } = await setup();
      const f = { ...form, ...(form.untilMs ? { untilMs: now + form.untilMs } : {}) };
      const acks = await submit(f);
      expect(acks).toEqual([{ response_action: 'errors', errors: { [block]: expect.any(String) } }]);
      expect(await h.store.activeMutes()).toEqual([]);
      expect(updates).toEqual([]);
    },
  );

  it('a valid form: a working view in the ack, then muted and announced through the outbox; the modal says until when', async () => {
    const { h, submit, now, updates, comments, changed } = await setup();
    const acks = await submit({ duration: '4h' });
    expect(acks).toHaveLength(1);
    expect(acks[0]?.response_action).toBe('update');
    expect(json(acks[0]?.view)).toContain('Muting');
    const mutes = await h.store.activeMutes();
    expect(mutes).toMatchObject([{ channel: CHANNEL, detectionKey: 'id:d-travel', until: now + 4 * HOUR, by: JANE }]);
    expect((await h.store.listOutbox()).map((i) => i.kind)).toEqual(['mute_message']);
    expect(json(updates.at(-1))).toContain('Muted');
    expect(comments).toHaveLength(1);
    expect(changed).toEqual([JANE.id]);
  });

  it('a second mute of that detection in that channel is told it is muted already; a redelivery does nothing', async () => {
    const { h, submit, updates } = await setup();
    await submit({}, { viewId: 'V1', hash: 'h1' });
    const redelivered = await submit({}, { viewId: 'V1', hash: 'h1' });
    expect(redelivered).toEqual([undefined]);
    await submit({ duration: '1h' }, { viewId: 'V2', hash: 'h2' });
    expect(await h.store.activeMutes()).toHaveLength(1);
    expect(json(updates.at(-1))).toContain('already muted');
  });
});
