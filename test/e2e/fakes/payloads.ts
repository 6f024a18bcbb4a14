/**
 * Builders of the payloads Slack sends to the bot (block actions, slash commands, view submissions,
 * Events API callbacks), shaped like Slack's, plus a signed-request helper for the bot's HTTP mode.
 *
 * In Socket Mode a payload goes inside an envelope (`fake.sendEnvelope('interactive', payload)`;
 * slash commands as `'slash_commands'` with the flat object; events as `'events_api'` with
 * `eventCallback(...)`). Over HTTP, interactions are posted as `payload=<json>` forms
 * (`interactionBody`), slash commands as flat forms (`formBody`), events as JSON.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { SLACK_TEST_IDS } from './slack.ts';

type Obj = Record<string, unknown>;

export type UserRef = string | { id: string; username?: string; name?: string };
export type ChannelRef = string | { id: string; name?: string };

const team = { id: SLACK_TEST_IDS.teamId, domain: SLACK_TEST_IDS.teamDomain };
const VERIFICATION_TOKEN = 'fake-verification-token';

const userOf = (u: UserRef) => {
  const o = typeof u === 'string' ? { id: u } : u;
  const username = o.username ?? o.name ?? o.id.toLowerCase();
  return { id: o.id, username, name: o.name ?? username, team_id: team.id };
};
const channelOf = (c: ChannelRef) =>
  typeof c === 'string'
    ? { id: c, name: c === SLACK_TEST_IDS.channelId ? SLACK_TEST_IDS.channelName : c.toLowerCase() }
    : { id: c.id, name: c.name ?? c.id.toLowerCase() };

/** A `action_ts`/`event_ts`-style timestamp for now. */
export function slackTs(ms = Date.now()): string {
  return `${Math.floor(ms / 1000)}.${String((ms % 1000) * 1000 + Math.floor(Math.random() * 1000)).padStart(6, '0')}`;
}

/** A trigger id in Slack's shape (`<digits>.<digits>.<hex>`). */
export function triggerId(): string {
  return `${Date.now()}.${Math.floor(Math.random() * 1e12)}.${randomBytes(16).toString('hex')}`;
}

export type BlockActionsInput = {
  user: UserRef;
  channel: ChannelRef;
  messageTs: string;
  actionId: string;
  value?: string;
  blockId?: string;
  responseUrl: string;
  triggerId?: string;
  /** For an overflow (default) or static_select element: the chosen option's value. */
  selectedOptionValue?: string;
  elementType?: 'button' | 'overflow' | 'static_select';
  /** The message the action came from (e.g. `fake.message(channel, ts)`); a minimal bot message otherwise. */
  message?: Obj;
  buttonText?: string;
};

/** A `block_actions` payload for a button, overflow or select in a channel message. */
export function blockActionsPayload(i: BlockActionsInput): Obj {
  const type = i.elementType ?? (i.selectedOptionValue !== undefined ? 'overflow' : 'button');
  const base = {
    action_id: i.actionId,
    block_id: i.blockId ?? randomBytes(3).toString('base64url'),
    action_ts: slackTs(),
  };
  const action =
    type === 'button'
      ? {
          ...base,
          type,
          text: { type: 'plain_text', text: i.buttonText ?? i.actionId, emoji: true },
          ...(i.value !== undefined ? { value: i.value } : {}),
        }
      : {
          ...base,
          type,
          selected_option: {
            text: { type: 'plain_text', text: i.selectedOptionValue ?? '', emoji: true },
            value: i.selectedOptionValue ?? '',
          },
          ...(type === 'static_select' ? { placeholder: { type: 'plain_text', text: 'Select', emoji: true } } : {}),
        };
  const channel = channelOf(i.channel);
  return {
    type: 'block_actions',
    user: userOf(i.user),
    api_app_id: SLACK_TEST_IDS.appId,
    token: VERIFICATION_TOKEN,
    container: { type: 'message', message_ts: i.messageTs, channel_id: channel.id, is_ephemeral: false },
    trigger_id: i.triggerId ?? triggerId(),
    team,
    enterprise: null,
    is_enterprise_install: false,
    channel,
    message: i.message ?? {
      user: SLACK_TEST_IDS.botUserId,
      type: 'message',
      ts: i.messageTs,
      bot_id: SLACK_TEST_IDS.botId,
      app_id: SLACK_TEST_IDS.appId,
      text: '',
      team: team.id,
      blocks: [],
    },
    state: { values: {} },
    response_url: i.responseUrl,
    actions: [action],
  };
}

export type SlashCommandInput = {
  command?: string;
  text: string;
  user: UserRef;
  channel: ChannelRef;
  responseUrl: string;
  triggerId?: string;
};

/** A slash command as Slack sends it: flat string fields (a form body over HTTP). */
export function slashCommandPayload(i: SlashCommandInput): Record<string, string> {
  const user = userOf(i.user);
  const channel = channelOf(i.channel);
  return {
    token: VERIFICATION_TOKEN,
    team_id: team.id,
    team_domain: team.domain,
    channel_id: channel.id,
    channel_name: channel.name,
    user_id: user.id,
    user_name: user.username,
    command: i.command ?? '/cotool',
    text: i.text,
    api_app_id: SLACK_TEST_IDS.appId,
    is_enterprise_install: 'false',
    response_url: i.responseUrl,
    trigger_id: i.triggerId ?? triggerId(),
  };
}

export type ViewStateValue = {
  type: string;
  value?: string | null;
  selected_option?: { text: Obj; value: string } | null;
} & Obj;

/** A plain_text_input value, for `viewSubmissionPayload`'s `values`. */
export const textValue = (value: string | null): ViewStateValue => ({ type: 'plain_text_input', value });
/** A static_select value. */
export const selectValue = (value: string, text = value): ViewStateValue => ({
  type: 'static_select',
  selected_option: { text: { type: 'plain_text', text, emoji: true }, value },
});

export type ViewSubmissionInput = {
  user: UserRef;
  callbackId: string;
  privateMetadata?: string;
  /** `{ blockId: { actionId: value } }`; a string stands for a plain_text_input value. */
  values: Record<string, Record<string, string | ViewStateValue>>;
  viewId?: string;
  blocks?: Obj[];
  title?: string;
  hash?: string;
  responseUrls?: Array<{ block_id: string; action_id: string; channel_id: string; response_url: string }>;
};

/** A `view_submission` payload for a modal. */
export function viewSubmissionPayload(i: ViewSubmissionInput): Obj {
  const values = Object.fromEntries(
    Object.entries(i.values).map(([blockId, actions]) => [
      blockId,
      Object.fromEntries(Object.entries(actions).map(([a, v]) => [a, typeof v === 'string' ? textValue(v) : v])),
    ]),
  );
  const id = i.viewId ?? `V${randomBytes(5).toString('hex').toUpperCase()}`;
  const user = userOf(i.user);
  return {
    type: 'view_submission',
    team,
    user: { id: user.id, username: user.username, name: user.name, team_id: team.id },
    api_app_id: SLACK_TEST_IDS.appId,
    token: VERIFICATION_TOKEN,
    trigger_id: triggerId(),
    view: {
      id,
      team_id: team.id,
      type: 'modal',
      blocks: i.blocks ?? [],
      private_metadata: i.privateMetadata ?? '',
      callback_id: i.callbackId,
      state: { values },
      hash: i.hash ?? `${Math.floor(Date.now() / 1000)}.${randomBytes(4).toString('hex')}`,
      title: { type: 'plain_text', text: i.title ?? 'Cotool', emoji: true },
      clear_on_close: false,
      notify_on_close: false,
      close: { type: 'plain_text', text: 'Cancel', emoji: true },
      submit: { type: 'plain_text', text: 'Submit', emoji: true },
      previous_view_id: null,
      root_view_id: id,
      app_id: SLACK_TEST_IDS.appId,
      external_id: '',
      app_installed_team_id: team.id,
      bot_id: SLACK_TEST_IDS.botId,
    },
    response_urls: i.responseUrls ?? [],
    is_enterprise_install: false,
    enterprise: null,
  };
}

/** An Events API `event_callback` (the payload of an `events_api` envelope, or the HTTP body). */
export function eventCallback(event: Obj, opts: { eventId?: string; eventTime?: number } = {}): Obj {
  const eventTime = opts.eventTime ?? Math.floor(Date.now() / 1000);
  return {
    token: VERIFICATION_TOKEN,
    team_id: team.id,
    context_team_id: team.id,
    context_enterprise_id: null,
    api_app_id: SLACK_TEST_IDS.appId,
    event: { event_ts: slackTs(), ...event },
    type: 'event_callback',
    event_id: opts.eventId ?? `Ev${randomBytes(5).toString('hex').toUpperCase()}`,
    event_time: eventTime,
    authorizations: [
      {
        enterprise_id: null,
        team_id: team.id,
        user_id: SLACK_TEST_IDS.botUserId,
        is_bot: true,
        is_enterprise_install: false,
      },
    ],
    is_ext_shared_channel: false,
    event_context: `4-${randomUUID().replace(/-/g, '')}`,
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP mode

/** A flat form body (`a=1&b=2`), as Slack posts slash commands. */
export function formBody(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

/** An interaction form body (`payload=<json>`), as Slack posts block actions and view submissions. */
export function interactionBody(payload: unknown): string {
  return formBody({ payload: JSON.stringify(payload) });
}

/** Slack's v0 request signature: `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<body>`. */
export function slackSignature(signingSecret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export type SignedRequestInput = {
  body: string;
  contentType: 'application/json' | 'application/x-www-form-urlencoded';
  signingSecret: string;
  /** Unix seconds; now by default (pass an old one to test replay protection). */
  timestamp?: number;
  headers?: Record<string, string>;
};
export type SignedResponse = { status: number; body: unknown; headers: Record<string, string>; ms: number };

/** POSTs a body to the bot the way Slack does, signed; the response body is parsed when it is JSON. */
export async function signedRequest(url: string, i: SignedRequestInput): Promise<SignedResponse> {
  const timestamp = i.timestamp ?? Math.floor(Date.now() / 1000);
  const started = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': i.contentType,
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': slackSignature(i.signingSecret, timestamp, i.body),
      'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
      ...i.headers,
    },
    body: i.body,
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : '';
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body, headers: Object.fromEntries(res.headers), ms: performance.now() - started };
}
