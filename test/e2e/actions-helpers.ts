/**
 * Helpers for the triage end-to-end tests: find a card's buttons, click them the way Slack does in
 * either mode (Socket Mode envelope, or a signed HTTP POST to /slack/events), submit modals, and read
 * back what the clicking user was told (response_url notes and chat.postEphemeral).
 */
import { decodeAction } from '../../src/slack/payloads.ts';
import {
  blockActionsPayload,
  interactionBody,
  signedRequest,
  type ViewStateValue,
  viewSubmissionPayload,
} from './fakes/payloads.ts';
import type { SlackMessage, SlackView } from './fakes/slack.ts';
import { CHANNEL, SIGNING_SECRET, type Stack, type StartedBot } from './harness.ts';

export type Mode = 'socket' | 'http';
type Obj = Record<string, unknown>;

export const JANE = { id: 'U0JANE', name: 'jane', real_name: 'Jane Doe', display_name: 'Jane Doe' };
export const BOB = { id: 'U0BOB', name: 'bob', real_name: 'Bob Roe', display_name: 'Bob' };
export const GUEST = { id: 'U0GUEST', name: 'gus', real_name: 'Gus Guest', is_restricted: true };

export type Delivered = { ackMs: number; body: unknown };

/** The element with this action_id in a message's blocks. */
export function element(msg: SlackMessage | undefined, actionId: string): Obj | undefined {
  for (const b of (msg?.blocks ?? []) as Obj[]) {
    for (const e of (b.elements ?? []) as Obj[]) if (e.action_id === actionId) return e;
  }
  return undefined;
}

/** The value of a button, or of the overflow option carrying `op`. */
export function valueFor(msg: SlackMessage | undefined, actionId: string, op?: string): string {
  const e = element(msg, actionId);
  if (!e) throw new Error(`no element ${actionId} on the card`);
  if (typeof e.value === 'string') return e.value;
  const option = ((e.options ?? []) as Obj[]).find((o) => {
    const d = decodeAction(o.value);
    return d.ok && d.value.op === op;
  });
  if (!option) throw new Error(`no option ${op} in ${actionId}`);
  return String(option.value);
}

export function createClicker(stack: Stack, bot: StartedBot, mode: Mode) {
  async function deliver(payload: Obj): Promise<Delivered> {
    if (mode === 'socket') {
      const ack = await stack.slack.sendEnvelope('interactive', payload, { timeoutMs: 10_000 });
      return { ackMs: ack.ackedAfterMs, body: ack.payload };
    }
    const res = await signedRequest(`http://127.0.0.1:${bot.port}/slack/events`, {
      body: interactionBody(payload),
      contentType: 'application/x-www-form-urlencoded',
      signingSecret: SIGNING_SECRET,
    });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${JSON.stringify(res.body)}`);
    return { ackMs: res.ms, body: res.body };
  }

  return {
    deliver,
    /** A click on a card in the alert channel, as Slack sends it. */
    payload(
      user: string,
      ts: string,
      actionId: string,
      value: string,
      opts: { overflow?: boolean; channel?: string } = {},
    ): Obj {
      const channel = opts.channel ?? CHANNEL;
      return blockActionsPayload({
        user,
        channel,
        messageTs: ts,
        actionId,
        ...(opts.overflow ? { selectedOptionValue: value } : { value }),
        responseUrl: stack.slack.responseUrl({ channel, ts }),
        ...(stack.slack.message(channel, ts) ? { message: stack.slack.message(channel, ts) as Obj } : {}),
      });
    },
    async click(user: string, ts: string, actionId: string, value: string, opts: { overflow?: boolean } = {}) {
      return deliver(this.payload(user, ts, actionId, value, opts));
    },
    /** Submits a modal the bot opened (by its fake view), with input values. */
    async submit(user: string, view: SlackView, values: Record<string, Record<string, string | ViewStateValue>>) {
      return deliver(
        viewSubmissionPayload({
          user,
          callbackId: String(view.callback_id),
          privateMetadata: String(view.private_metadata),
          values,
          viewId: view.id,
          hash: view.hash,
        }),
      );
    },
  };
}

/** Everything the bot told users: response_url notes and ephemeral messages (text only). */
export function notes(stack: Stack, user?: string): string[] {
  const viaResponse = stack.slack
    .responses()
    .filter((r) => r.body.replace_original !== true)
    .map((r) => String(r.body.text ?? ''));
  const viaEphemeral = stack.slack
    .ephemerals()
    .filter((e) => !user || e.user === user)
    .map((e) => e.text);
  return [...viaResponse, ...viaEphemeral];
}

export const statusPosts = (stack: Stack) =>
  stack.cotool.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/status'));
export const patches = (stack: Stack) => stack.cotool.requests.filter((r) => r.method === 'PATCH');
export const textOf = (o: unknown) => JSON.stringify(o);
