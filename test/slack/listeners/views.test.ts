/**
 * The modal-submission listener with realistic payloads and recording fakes (no Bolt, no network):
 * inline errors still come back in the ack, and a failure before the ack (the store throwing, as
 * it does while the bot shuts down) is still acknowledged — with a view carrying a reference that
 * is also in the error log — so Slack never shows its own generic error.
 */
import { describe, expect, it } from 'vitest';
import { BLOCKS, INPUTS, VIEWS } from '../../../src/slack/ids.ts';
import { registerViews } from '../../../src/slack/listeners/views/index.ts';
import { encodeModalMeta } from '../../../src/slack/payloads.ts';
import type { Store } from '../../../src/store/store.ts';
import { selectValue, viewSubmissionPayload } from '../../e2e/fakes/payloads.ts';
import { CARD_TS, CHANNEL, JANE, triageHarness } from '../../service/fakes.ts';
import { listenerDeps } from './harness.ts';

type Obj = Record<string, unknown>;
type Handler = (args: unknown) => Promise<void>;

async function setup() {
  const h = await triageHarness();
  /** Store methods that throw, as a closed database does. */
  const broken = new Set<string>();
  const store = new Proxy(h.store, {
    get(target, key, receiver) {
      if (typeof key === 'string' && broken.has(key)) {
        return async () => {
          throw new Error('database is not open');
        };
      }
      const v = Reflect.get(target, key, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  }) as Store;
  const deps = listenerDeps(h, { store });
  const handlers = new Map<string, Handler>();
  const app = { view: (c: { callback_id: string }, fn: Handler) => void handlers.set(c.callback_id, fn) };
  registerViews(app as never, deps);

  const updates: Obj[] = [];
  const client = {
    views: { update: async (a: Obj) => void updates.push(a) },
    chat: { postEphemeral: async () => ({}) },
  };
  const meta = encodeModalMeta({ v: 1, id: h.alert.id, u: h.alert.updatedAt, c: CHANNEL, t: CARD_TS });
  /** Submits the reason form; resolves with every ack the listener gave. */
  const submitClose = async (words: string, disposition: string | null = 'false_positive') => {
    const body = viewSubmissionPayload({
      user: JANE.id,
      callbackId: VIEWS.closeModal,
      privateMetadata: meta,
      values: {
        [BLOCKS.closeDisposition]: {
          [INPUTS.closeDisposition]: disposition
            ? selectValue(disposition)
            : { type: 'static_select', selected_option: null },
        },
        [BLOCKS.closeReason]: { [INPUTS.closeReason]: words },
      },
    });
    const acks: unknown[] = [];
    const handler = handlers.get(VIEWS.closeModal);
    if (!handler) throw new Error('no close-form listener registered');
    await handler({
      ack: async (r?: unknown) => void acks.push(r),
      body,
      view: body.view,
      client,
      context: {},
    });
    return acks as Array<{ response_action?: string; view?: Obj; errors?: Obj } | undefined>;
  };
  return { h, broken, updates, submitClose };
}

const json = (v: unknown) => JSON.stringify(v);

describe('modal submission listener', () => {
  it('a valid form is acknowledged with the working view, then the change is made', async () => {
    const { h, updates, submitClose } = await setup();
    const acks = await submitClose('Known scanner');
    expect(acks).toHaveLength(1);
    expect(acks[0]?.response_action).toBe('update');
    expect(json(acks[0]?.view)).toContain('Closing');
    expect(h.cotool.alert.status).toBe('closed_false_positive');
    expect(updates).toHaveLength(1);
  });

  it('inline errors still come back in the ack (no I/O needed), even with the store failing', async () => {
    const { h, broken, submitClose } = await setup();
    broken.add('firstTime').add('get');
    const acks = await submitClose('Known scanner', null);
    expect(acks).toEqual([{ response_action: 'errors', errors: { [BLOCKS.closeDisposition]: expect.any(String) } }]);
    expect(h.cotool.calls).toHaveLength(0);
  });

  it.each([
    ['the redelivery check', 'firstTime'],
    ['the card record (display id)', 'get'],
  ])('the store failing in %s before the ack → still acked, with a reference that is in the log', async (_, method) => {
    const { h, broken, submitClose } = await setup();
    broken.add(method);
    const acks = await submitClose('Known scanner from our VPN');
    expect(acks).toHaveLength(1);
    expect(acks[0]?.response_action).toBe('update');
    const text = json(acks[0]?.view);
    expect(text).toContain('Something went wrong on our side');
    expect(text).toContain('Known scanner from our VPN'); // what was typed is not lost
    const ref = /ref `([0-9a-f]{8})`/.exec(text)?.[1];
    expect(ref).toBeDefined();
    expect(h.logs.some((l) => l.includes('"level":50') && l.includes(`"ref":"${ref}"`))).toBe(true);
    expect(h.cotool.calls).toHaveLength(0);
  });
});
