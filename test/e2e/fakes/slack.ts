/**
 * A local stand-in for Slack, for end-to-end tests: the Web API (what Bolt's WebClient calls, at
 * `apiUrl`), Socket Mode (a websocket at `/socket`, handed out by `apps.connections.open`) and
 * response URLs (`/response/<id>`, where Bolt's `respond()` posts), all on one 127.0.0.1 server.
 *
 * The Web API accepts what WebClient sends: a POST to `<apiUrl><method>` with the token in an
 * `Authorization: Bearer` header (and, when a call passes `token`, again as a `token` form field),
 * and a form-urlencoded body whose object/array arguments are JSON strings and whose booleans and
 * numbers are their string forms. JSON bodies and GET query strings are read too. Recorded call
 * args have the JSON arguments parsed, and known boolean/number arguments turned back into values.
 *
 * Messages are checked the way Slack checks them (Block Kit limits, `no_text`, `msg_too_long`,
 * membership), so a card that Slack would reject fails here too. Bad blocks in a message give
 * `invalid_blocks`; a bad view gives `invalid_arguments`; both explain in `response_metadata.messages`
 * as `[ERROR] <what> [json-pointer:<where>]`, like Slack.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';

export const SLACK_TEST_BOT_TOKEN = 'xoxb-test-bot-token';
export const SLACK_TEST_APP_TOKEN = 'xapp-test-app-token';
export const SLACK_TEST_IDS = {
  teamId: 'T0TEST0001',
  teamDomain: 'acme',
  appId: 'A0TEST',
  botUserId: 'U0COTOOLBOT',
  botId: 'B0COTOOLBOT',
  channelId: 'C0ALERTS',
  channelName: 'alerts',
} as const;

// ---------------------------------------------------------------------------------------------
// Types

type Obj = Record<string, unknown>;

export type SlackMetadata = { event_type: string; event_payload: Obj };
export type SlackMessage = {
  type: 'message';
  ts: string;
  text: string;
  user?: string;
  bot_id?: string;
  app_id?: string;
  team?: string;
  subtype?: string;
  blocks?: Obj[];
  attachments?: Obj[];
  metadata?: SlackMetadata;
  thread_ts?: string;
  parent_user_id?: string;
  reply_count?: number;
  reply_users?: string[];
  reply_users_count?: number;
  latest_reply?: string;
  edited?: { user: string; ts: string };
  [key: string]: unknown;
};
export type SlackThread = SlackMessage & { replies: SlackMessage[] };

export type SlackUser = {
  id: string;
  name?: string;
  real_name?: string;
  display_name?: string;
  is_restricted?: boolean;
  is_ultra_restricted?: boolean;
  is_bot?: boolean;
  deleted?: boolean;
  tz?: string;
  /** profile.email (users.lookupByEmail finds the user by it, case-insensitively). */
  email?: string;
  /** The user turned off messages from apps: a DM to them is refused (`messages_tab_disabled`). */
  dmsClosed?: boolean;
};
export type Bookmark = {
  id: string;
  channel_id: string;
  title: string;
  type: string;
  link: string;
  date_created: number;
};
export type ChannelOptions = {
  member?: boolean;
  name?: string;
  isPrivate?: boolean;
  members?: string[] | null;
  /** Shared with another organisation (Slack Connect): `is_shared` and `is_ext_shared` in conversations.info. */
  externallyShared?: boolean;
};

/**
 * chat.postMessage: about one message a second per channel, with short bursts; chat.update: about
 * 50 a minute per workspace. Beyond them Slack answers 429 with Retry-After.
 */
export type RateLimits = {
  postPerSecond?: number;
  postBurst?: number;
  updatesPerMinute?: number;
  updateBurst?: number;
};

export type SlackFailure =
  | { error: string; [key: string]: unknown }
  | { status: 429; retryAfter: number }
  | { status: 500 | 503 };
export type AfterCommitAnswer = 500 | 502 | 503 | 'internal_error' | 'fatal_error';
export type OutageAnswer = 503 | 'service_unavailable' | 'request_timeout';
export type SlackCall = {
  method: string;
  args: Obj;
  at: number;
  /** What the fake answered: `ok` or the error code, or the HTTP status for injected 429/5xx. */
  result: { ok: boolean; error?: string; status?: number };
  /** Set when the answer was injected: an outage, `failNext`, or `failAfterCommit` (carried out, then failed). */
  injected?: 'outage' | 'fail_next' | 'after_commit';
};
export type SlackView = Obj & { id: string; type: string; hash: string };
export type EphemeralMessage = {
  channel: string;
  user: string;
  ts: string;
  text: string;
  blocks?: Obj[];
  thread_ts?: string;
};
export type ResponseRecord = { id: string; body: Obj; at: number };
export type EnvelopeType = 'events_api' | 'interactive' | 'slash_commands';
export type EnvelopeAck = { envelope_id: string; payload?: unknown; ackedAfterMs: number };
export type EnvelopeOptions = {
  timeoutMs?: number;
  retryAttempt?: number;
  retryReason?: string;
  acceptsResponsePayload?: boolean;
  /** Which connected client gets it: an index among them, oldest first, modulo their number (default: the newest). */
  client?: number;
};

export type FakeSlack = {
  /** Base URL of the Web API, with a trailing slash (Bolt's `clientOptions.slackApiUrl`). */
  apiUrl: string;
  /** `http://127.0.0.1:PORT` */
  baseUrl: string;
  botToken: string;
  appToken: string;
  botUserId: string;
  botId: string;
  teamId: string;
  close(): Promise<void>;

  addChannel(id: string, opts?: ChannelOptions): void;
  setMembers(channel: string, userIds: string[] | null): void;
  addUser(user: SlackUser): void;
  setUsergroup(id: string, userIds: string[]): void;
  /** Whether the workspace lets the bot create channels (false: conversations.create → restricted_action). */
  setChannelCreation(allowed: boolean): void;
  /** A channel by its name (created with conversations.create or added), if any. */
  channelByName(name: string): { id: string; name: string; isPrivate: boolean; members: string[] } | undefined;
  /** Bookmarks added to a channel, oldest first. */
  bookmarks(channel: string): Bookmark[];
  /** Puts a message in a channel as if someone (by default a user `U0HUMAN`) had posted it. */
  addMessage(channel: string, msg: Partial<SlackMessage> & { thread_ts?: string }): string;

  failNext(method: string, n: number, response: SlackFailure): void;
  /**
   * The next `n` successful calls of `method` are carried out (a message is stored) but answered with
   * `answer`: an HTTP 5xx status, or Slack's own "maybe done" errors `internal_error` / `fatal_error`
   * (HTTP 200, `ok: false`), which Slack documents as "some aspect of the operation may have succeeded".
   */
  failAfterCommit(method: string, n: number, answer: AfterCommitAnswer): void;
  /**
   * A Slack outage: for `ms` from now every Web API call (Socket Mode's apps.connections.open too) is
   * refused with `answer` and nothing is carried out: `service_unavailable` / `request_timeout`
   * (HTTP 200, `ok: false`) or an HTTP 503 (the default). `ms` 0 ends an outage at once.
   */
  outage(ms: number, answer?: OutageAnswer): void;
  /** True while an outage set with `outage()` lasts. */
  readonly inOutage: boolean;
  /** Turns Slack's rate limits on (or off with null). */
  setRateLimits(limits: RateLimits | null): void;
  setDelay(method: string, ms: number): void;
  /** Scopes reported in the `x-oauth-scopes` header of every Web API answer (null: no header, the default). */
  setScopes(scopes: string[] | null): void;

  calls: SlackCall[];
  callsOf(method: string): SlackCall[];
  /** Top-level messages of a channel, oldest first, each with its replies. */
  messages(channel: string): SlackThread[];
  message(channel: string, ts: string): SlackMessage | undefined;
  ephemerals(channel?: string): EphemeralMessage[];
  views(): SlackView[];
  view(id: string): SlackView | undefined;
  clear(): void;

  /** Resolves once a Socket Mode client is connected and has had its hello (the nth one overall). */
  socketConnected(opts?: { nth?: number; timeoutMs?: number }): Promise<void>;
  sendEnvelope(type: EnvelopeType, payload: unknown, opts?: EnvelopeOptions): Promise<EnvelopeAck>;
  socketDisconnect(reason?: string): void;
  /** Drops every socket without a close handshake (a network failure). */
  socketDrop(): void;
  readonly socketClients: number;
  readonly socketConnections: number;

  /** A fresh response URL; with a target, `replace_original`/`delete_original`/`in_channel` act on it. */
  responseUrl(target?: { channel: string; ts: string }): string;
  responses(id?: string): ResponseRecord[];
};

export type FakeSlackOptions = {
  botToken?: string;
  appToken?: string;
  botUserId?: string;
  teamId?: string;
  /** Server pings every this many ms on each socket (off by default). */
  pingIntervalMs?: number;
  /** Slack's documented limits, enforced with 429 + Retry-After (off unless given). */
  rateLimits?: RateLimits;
};

// ---------------------------------------------------------------------------------------------
// Block Kit validation

type Surface = 'message' | 'modal' | 'home';
type Check = { errors: string[]; actionIds: Set<string>; blockIds: Set<string> };

const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const fail = (c: Check, path: string, msg: string) => void c.errors.push(`[ERROR] ${msg} [json-pointer:${path}]`);

function checkString(c: Check, v: unknown, path: string, max: number, opts: { min?: number; required?: boolean } = {}) {
  if (v === undefined || v === null) return opts.required ? fail(c, path, 'missing required field') : undefined;
  if (typeof v !== 'string') return fail(c, path, 'must be a string');
  if (v.length < (opts.min ?? 0)) fail(c, path, `must be more than ${(opts.min ?? 0) - 1} characters`);
  if (v.length > max) fail(c, path, `must be less than ${max + 1} characters`);
}

function checkText(
  c: Check,
  t: unknown,
  path: string,
  max: number,
  opts: { plain?: boolean; required?: boolean } = {},
) {
  if (t === undefined || t === null)
    return opts.required === false ? undefined : fail(c, path, 'missing required field');
  if (!isObj(t)) return fail(c, path, 'must be a text object');
  if (t.type === undefined) fail(c, `${path}/type`, 'missing required field');
  else if (t.type !== 'plain_text' && t.type !== 'mrkdwn') fail(c, `${path}/type`, 'must be one of plain_text, mrkdwn');
  else if (opts.plain && t.type !== 'plain_text') fail(c, `${path}/type`, 'must be plain_text');
  checkString(c, t.text, `${path}/text`, max, { min: 1, required: true });
}

function checkArray(c: Check, v: unknown, path: string, min: number, max: number, required = true): unknown[] {
  if (v === undefined || v === null) {
    if (required) fail(c, path, 'missing required field');
    return [];
  }
  if (!Array.isArray(v)) {
    fail(c, path, 'must be an array');
    return [];
  }
  if (v.length < min) fail(c, path, `must provide at least ${min} items`);
  if (v.length > max) fail(c, path, `no more than ${max} items allowed`);
  return v;
}

function checkOptions(c: Check, v: unknown, path: string, min: number, max: number, plain: boolean, required = true) {
  for (const [i, o] of checkArray(c, v, path, min, max, required).entries()) {
    const p = `${path}/${i}`;
    if (!isObj(o)) {
      fail(c, p, 'must be an object');
      continue;
    }
    checkText(c, o.text, `${p}/text`, 75, { plain });
    checkString(c, o.value, `${p}/value`, 150, { required: true });
    checkText(c, o.description, `${p}/description`, 75, { plain, required: false });
    checkString(c, o.url, `${p}/url`, 3000);
  }
}

function checkConfirm(c: Check, v: unknown, path: string) {
  if (v === undefined) return;
  if (!isObj(v)) return fail(c, path, 'must be an object');
  checkText(c, v.title, `${path}/title`, 100, { plain: true });
  checkText(c, v.text, `${path}/text`, 300);
  checkText(c, v.confirm, `${path}/confirm`, 30, { plain: true });
  checkText(c, v.deny, `${path}/deny`, 30, { plain: true });
}

const placeholder = (c: Check, e: Obj, p: string) =>
  checkText(c, e.placeholder, `${p}/placeholder`, 150, { plain: true, required: false });

const SELECTS = ['users_select', 'conversations_select', 'channels_select', 'external_select'];
const ELEMENTS: Record<string, (c: Check, e: Obj, p: string) => void> = {
  button: (c, e, p) => {
    checkText(c, e.text, `${p}/text`, 75, { plain: true });
    checkString(c, e.value, `${p}/value`, 2000);
    checkString(c, e.url, `${p}/url`, 3000);
    checkString(c, e.accessibility_label, `${p}/accessibility_label`, 75);
    if (e.style !== undefined && e.style !== 'primary' && e.style !== 'danger')
      fail(c, `${p}/style`, 'must be one of primary, danger');
  },
  overflow: (c, e, p) => checkOptions(c, e.options, `${p}/options`, 2, 5, true),
  static_select: (c, e, p) => {
    placeholder(c, e, p);
    if (e.option_groups !== undefined) checkArray(c, e.option_groups, `${p}/option_groups`, 1, 100);
    else checkOptions(c, e.options, `${p}/options`, 1, 100, true);
  },
  plain_text_input: (c, e, p) => {
    placeholder(c, e, p);
    const max = typeof e.max_length === 'number' ? e.max_length : 3000;
    if (max > 3000) fail(c, `${p}/max_length`, 'must be at most 3000');
    if (typeof e.min_length === 'number' && e.min_length > Math.min(max, 3000))
      fail(c, `${p}/min_length`, 'must be at most max_length');
    checkString(c, e.initial_value, `${p}/initial_value`, Math.min(max, 3000));
  },
  checkboxes: (c, e, p) => checkOptions(c, e.options, `${p}/options`, 1, 10, false),
  radio_buttons: (c, e, p) => checkOptions(c, e.options, `${p}/options`, 1, 10, false),
  image: (c, e, p) => {
    if (e.image_url === undefined && e.slack_file === undefined) fail(c, `${p}/image_url`, 'missing required field');
    checkString(c, e.image_url, `${p}/image_url`, 3000);
    checkString(c, e.alt_text, `${p}/alt_text`, 2000, { required: true });
  },
  workflow_button: (c, e, p) => checkText(c, e.text, `${p}/text`, 75, { plain: true }),
  datepicker: placeholder,
  timepicker: placeholder,
  datetimepicker: () => undefined,
  number_input: placeholder,
  email_text_input: placeholder,
  url_text_input: placeholder,
  rich_text_input: placeholder,
  file_input: () => undefined,
};
ELEMENTS.multi_static_select = ELEMENTS.static_select as (c: Check, e: Obj, p: string) => void;
for (const s of SELECTS) ELEMENTS[s] = ELEMENTS[`multi_${s}`] = placeholder;

const ALL_SELECTS = ['static_select', 'multi_static_select', ...SELECTS, ...SELECTS.map((s) => `multi_${s}`)];
const IN_ACTIONS = [
  'button',
  'overflow',
  'checkboxes',
  'radio_buttons',
  'datepicker',
  'timepicker',
  'datetimepicker',
  'workflow_button',
  'rich_text_input',
  ...ALL_SELECTS,
];
const IN_ACCESSORY = [
  'button',
  'overflow',
  'checkboxes',
  'radio_buttons',
  'datepicker',
  'timepicker',
  'image',
  'workflow_button',
  ...ALL_SELECTS,
];
const IN_INPUT = [
  'plain_text_input',
  'checkboxes',
  'radio_buttons',
  'datepicker',
  'timepicker',
  'datetimepicker',
  'number_input',
  'email_text_input',
  'url_text_input',
  'rich_text_input',
  'file_input',
  ...ALL_SELECTS,
];

function checkElement(c: Check, e: unknown, path: string, allowed: readonly string[]) {
  if (!isObj(e)) return fail(c, path, 'must be an object');
  const type = String(e.type);
  if (!allowed.includes(type)) return fail(c, `${path}/type`, `unsupported type: ${type}`);
  ELEMENTS[type]?.(c, e, path);
  if (type !== 'image') {
    checkString(c, e.action_id, `${path}/action_id`, 255);
    if (typeof e.action_id === 'string') {
      if (c.actionIds.has(e.action_id)) fail(c, `${path}/action_id`, `duplicate action_id: ${e.action_id}`);
      c.actionIds.add(e.action_id);
    }
    checkConfirm(c, e.confirm, `${path}/confirm`);
  }
}

const BLOCKS: Record<string, (c: Check, b: Obj, p: string) => void> = {
  section: (c, b, p) => {
    if (b.text === undefined && b.fields === undefined) fail(c, p, 'must provide text or fields');
    checkText(c, b.text, `${p}/text`, 3000, { required: false });
    for (const [i, f] of checkArray(c, b.fields, `${p}/fields`, 1, 10, false).entries())
      checkText(c, f, `${p}/fields/${i}`, 2000);
    if (b.accessory !== undefined) checkElement(c, b.accessory, `${p}/accessory`, IN_ACCESSORY);
  },
  header: (c, b, p) => checkText(c, b.text, `${p}/text`, 150, { plain: true }),
  context: (c, b, p) => {
    for (const [i, e] of checkArray(c, b.elements, `${p}/elements`, 1, 10).entries()) {
      if (isObj(e) && e.type === 'image') checkElement(c, e, `${p}/elements/${i}`, ['image']);
      else checkText(c, e, `${p}/elements/${i}`, 3000);
    }
  },
  actions: (c, b, p) => {
    for (const [i, e] of checkArray(c, b.elements, `${p}/elements`, 1, 25).entries())
      checkElement(c, e, `${p}/elements/${i}`, IN_ACTIONS);
  },
  divider: () => undefined,
  image: (c, b, p) => {
    ELEMENTS.image?.(c, b, p);
    checkText(c, b.title, `${p}/title`, 2000, { plain: true, required: false });
  },
  input: (c, b, p) => {
    checkText(c, b.label, `${p}/label`, 2000, { plain: true });
    checkText(c, b.hint, `${p}/hint`, 2000, { plain: true, required: false });
    if (b.element === undefined) fail(c, `${p}/element`, 'missing required field');
    else checkElement(c, b.element, `${p}/element`, IN_INPUT);
  },
  rich_text: (c, b, p) => void checkArray(c, b.elements, `${p}/elements`, 0, 1000),
  markdown: (c, b, p) => checkString(c, b.text, `${p}/text`, 12_000, { min: 1, required: true }),
  file: (c, b, p) => checkString(c, b.external_id, `${p}/external_id`, 255, { required: true }),
  video: (c, b, p) => checkText(c, b.title, `${p}/title`, 200, { plain: true }),
  table: (c, b, p) => void checkArray(c, b.rows, `${p}/rows`, 1, 100),
};

/** Block Kit errors for a list of blocks, as Slack's `[ERROR] ... [json-pointer:...]` messages. */
export function validateBlocks(blocks: unknown, surface: Surface, path = '/blocks', c?: Check): string[] {
  const check = c ?? { errors: [], actionIds: new Set(), blockIds: new Set() };
  const list = checkArray(check, blocks, path, 0, surface === 'message' ? 50 : 100);
  for (const [i, b] of list.entries()) {
    const p = `${path}/${i}`;
    if (!isObj(b)) {
      fail(check, p, 'must be an object');
      continue;
    }
    const type = String(b.type);
    const handler = BLOCKS[type];
    if (!handler) {
      fail(check, `${p}/type`, `unsupported type: ${type}`);
      continue;
    }
    checkString(check, b.block_id, `${p}/block_id`, 255);
    if (typeof b.block_id === 'string') {
      if (check.blockIds.has(b.block_id)) fail(check, `${p}/block_id`, `duplicate block_id: ${b.block_id}`);
      check.blockIds.add(b.block_id);
    }
    // Slack wants an action_id unique within its block (several cards on one surface share ids).
    check.actionIds = new Set();
    handler(check, b, p);
  }
  return check.errors;
}

/** Errors of a modal or home view (`view` argument of views.*). */
export function validateView(view: unknown): string[] {
  const c: Check = { errors: [], actionIds: new Set(), blockIds: new Set() };
  if (!isObj(view)) return ['[ERROR] must be an object [json-pointer:/view]'];
  if (view.type !== 'modal' && view.type !== 'home') fail(c, '/view/type', 'must be one of modal, home');
  validateBlocks(view.blocks, view.type === 'home' ? 'home' : 'modal', '/view/blocks', c);
  checkString(c, view.private_metadata, '/view/private_metadata', 3000);
  checkString(c, view.callback_id, '/view/callback_id', 255);
  checkString(c, view.external_id, '/view/external_id', 255);
  if (view.type === 'modal') {
    checkText(c, view.title, '/view/title', 24, { plain: true });
    checkText(c, view.submit, '/view/submit', 24, { plain: true, required: false });
    checkText(c, view.close, '/view/close', 24, { plain: true, required: false });
    const hasInput = Array.isArray(view.blocks) && view.blocks.some((b) => isObj(b) && b.type === 'input');
    if (hasInput && view.submit === undefined)
      fail(c, '/view/submit', 'submit is required when an input block is present');
  }
  return c.errors;
}

// ---------------------------------------------------------------------------------------------
// Helpers

class ApiError extends Error {
  extra: Obj;
  constructor(error: string, extra: Obj = {}) {
    super(error);
    this.extra = extra;
  }
}
const blocksError = (errors: string[]) =>
  new ApiError('invalid_blocks', {
    errors: errors.map((e) => e.replace(/^\[ERROR\] /, '')),
    response_metadata: { messages: errors },
  });
const argsError = (messages: string[]) => new ApiError('invalid_arguments', { response_metadata: { messages } });

const JSON_ARGS: Record<string, string> = {
  blocks: 'invalid_blocks_format',
  attachments: 'invalid_attachments',
  metadata: 'invalid_metadata_format',
  view: 'invalid_arguments',
  unfurls: 'invalid_unfurls_format',
  user_auth_blocks: 'invalid_blocks_format',
};
const BOOL_ARGS = new Set([
  'unfurl_links',
  'unfurl_media',
  'reply_broadcast',
  'include_all_metadata',
  'inclusive',
  'as_user',
  'mrkdwn',
  'link_names',
  'include_locale',
  'include_num_members',
  'exclude_archived',
  'include_disabled',
  'include_count',
]);
const NUM_ARGS = new Set(['limit']);

/** Turns raw request fields into call args; returns the Slack error for an unparsable JSON argument. */
function normalizeArgs(fields: Obj): { args: Obj; formatError?: string } {
  const args: Obj = {};
  let formatError: string | undefined;
  for (const [k, v] of Object.entries(fields)) {
    if (k === 'token') continue;
    if (typeof v === 'string' && k in JSON_ARGS) {
      try {
        args[k] = JSON.parse(v);
      } catch {
        args[k] = v;
        formatError ??= JSON_ARGS[k];
      }
    } else if (typeof v === 'string' && BOOL_ARGS.has(k)) args[k] = v === 'true' || v === '1';
    else if (typeof v === 'string' && NUM_ARGS.has(k) && v !== '' && !Number.isNaN(Number(v))) args[k] = Number(v);
    else args[k] = v;
  }
  return { args, formatError };
}

/** A ts as a comparable number of microseconds. */
function tsValue(ts: string): bigint {
  const [sec = '0', frac = ''] = ts.split('.');
  return BigInt(sec) * 1_000_000n + BigInt(frac.padEnd(6, '0').slice(0, 6) || '0');
}
const byTs = (a: { ts: string }, b: { ts: string }) =>
  tsValue(a.ts) < tsValue(b.ts) ? -1 : tsValue(a.ts) > tsValue(b.ts) ? 1 : 0;

const str = (args: Obj, key: string): string | undefined =>
  typeof args[key] === 'string' && args[key] !== '' ? (args[key] as string) : undefined;
function need(args: Obj, key: string): string {
  const v = str(args, key);
  if (v === undefined) throw argsError([`[ERROR] missing required field: ${key}`]);
  return v;
}
const randomId = (prefix: string, n = 10) => prefix + randomBytes(n).toString('hex').toUpperCase().slice(0, n);
const clone = <T>(v: T): T => structuredClone(v);

// ---------------------------------------------------------------------------------------------
// Server

type Channel = {
  id: string;
  name: string;
  isMember: boolean;
  isPrivate: boolean;
  isIm: boolean;
  members: string[] | null;
  externallyShared: boolean;
  created: number;
  threads: SlackThread[];
};
type Pending = { resolve: (a: EnvelopeAck) => void; reject: (e: Error) => void; timer: NodeJS.Timeout; sentAt: number };
type Handler = (args: Obj) => Obj;

export async function startFakeSlack(opts: FakeSlackOptions = {}): Promise<FakeSlack> {
  const botToken = opts.botToken ?? SLACK_TEST_BOT_TOKEN;
  const appToken = opts.appToken ?? SLACK_TEST_APP_TOKEN;
  const botUserId = opts.botUserId ?? SLACK_TEST_IDS.botUserId;
  const teamId = opts.teamId ?? SLACK_TEST_IDS.teamId;
  const { botId, appId, teamDomain } = SLACK_TEST_IDS;
  const workspaceUrl = `https://${teamDomain}.slack.com/`;

  const channels = new Map<string, Channel>();
  const users = new Map<string, SlackUser>();
  const usergroups = new Map<string, string[]>();
  const bookmarkList: Bookmark[] = [];
  let channelCreation = true;
  let createdChannels = 0;
  const views = new Map<string, SlackView>();
  const usedTriggers = new Set<string>();
  let ephemerals: EphemeralMessage[] = [];
  const calls: SlackCall[] = [];
  let failures: Array<{ method: string; remaining: number; response: SlackFailure }> = [];
  let afterCommit: Array<{ method: string; remaining: number; answer: AfterCommitAnswer }> = [];
  let outageUntil = 0;
  let outageAnswer: OutageAnswer = 503;
  let rateLimits: RateLimits | null = opts.rateLimits ?? null;
  const buckets = new Map<string, { tokens: number; at: number }>();
  /** Takes a token from a bucket; the seconds to wait when there is none. */
  const takeToken = (name: string, perSec: number, burst: number): number => {
    const now = Date.now();
    const b = buckets.get(name) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSec);
    b.at = now;
    buckets.set(name, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / perSec));
  };
  const rateLimited = (method: string, args: Obj): number => {
    if (!rateLimits) return 0;
    if (method === 'chat.postMessage' && rateLimits.postPerSecond) {
      return takeToken(`post:${String(args.channel)}`, rateLimits.postPerSecond, rateLimits.postBurst ?? 4);
    }
    if (method === 'chat.update' && rateLimits.updatesPerMinute) {
      return takeToken('update', rateLimits.updatesPerMinute / 60, rateLimits.updateBurst ?? 5);
    }
    return 0;
  };
  const delays = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  const respUrls = new Map<string, { target?: { channel: string; ts: string }; uses: number }>();
  const responseLog: ResponseRecord[] = [];
  let lastTsMicros = 0;
  let viewSeq = 0;
  let oauthScopes: string[] | null = null;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  function nextTs(): string {
    lastTsMicros = Math.max(Date.now() * 1000, lastTsMicros + 100);
    return `${Math.floor(lastTsMicros / 1e6)}.${String(lastTsMicros % 1e6).padStart(6, '0')}`;
  }

  function addChannel(id: string, o: ChannelOptions = {}) {
    const name = o.name ?? id.toLowerCase();
    channels.set(id, {
      id,
      name,
      isMember: o.member ?? true,
      isPrivate: o.isPrivate ?? false,
      isIm: id.startsWith('D'),
      members: o.members ?? null,
      externallyShared: o.externallyShared ?? false,
      created: Math.floor(Date.now() / 1000) - 86_400,
      threads: channels.get(id)?.threads ?? [],
    });
  }
  addChannel(SLACK_TEST_IDS.channelId, { name: SLACK_TEST_IDS.channelName, member: true });

  /** Finds a channel by id, by name (`alerts` / `#alerts`), or opens a DM for a user id. */
  function channelOf(ref: unknown): Channel {
    if (typeof ref !== 'string' || ref === '') throw new ApiError('channel_not_found');
    const byId = channels.get(ref);
    if (byId) return byId;
    const name = ref.replace(/^#/, '');
    for (const c of channels.values()) if (c.name === name && !c.isIm) return c;
    if (ref.startsWith('U') || ref.startsWith('W')) {
      if (!users.has(ref)) throw new ApiError('channel_not_found');
      const dm = `D${ref.slice(1)}`;
      addChannel(dm, { name: dm, member: true, members: [botUserId, ref] });
      return channels.get(dm) as Channel;
    }
    throw new ApiError('channel_not_found');
  }
  function memberChannel(ref: unknown): Channel {
    const ch = channelOf(ref);
    if (!ch.isMember) throw new ApiError('not_in_channel');
    return ch;
  }
  const membersOf = (ch: Channel) =>
    ch.members ?? [
      ...(ch.isMember ? [botUserId] : []),
      ...[...users.values()].filter((u) => !u.is_bot && !u.deleted).map((u) => u.id),
    ];

  function locate(ch: Channel, ts: string): { thread: SlackThread; msg: SlackMessage } | undefined {
    for (const thread of ch.threads) {
      if (thread.ts === ts) return { thread, msg: thread };
      const reply = thread.replies.find((r) => r.ts === ts);
      if (reply) return { thread, msg: reply };
    }
    return undefined;
  }

  /** Slack fills in block_id and action_id where a block or element has none. */
  function normalizeBlocks(blocks: Obj[]): Obj[] {
    return clone(blocks).map((b) => {
      b.block_id ??= randomBytes(3).toString('base64url');
      const els = [...(Array.isArray(b.elements) && b.type === 'actions' ? b.elements : []), b.accessory, b.element];
      for (const e of els)
        if (isObj(e) && e.type !== 'image' && e.action_id === undefined)
          e.action_id = randomBytes(3).toString('base64url');
      return b;
    });
  }

  /** Checks the content arguments of a message (post, update, ephemeral, response URL). */
  function checkContent(args: Obj, requireContent: boolean) {
    const hasText = typeof args.text === 'string' && args.text !== '';
    const hasBlocks = Array.isArray(args.blocks) && args.blocks.length > 0;
    const hasAttachments = Array.isArray(args.attachments) && args.attachments.length > 0;
    if (requireContent && !hasText && !hasBlocks && !hasAttachments) throw new ApiError('no_text');
    if (typeof args.text === 'string' && args.text.length > 40_000) throw new ApiError('msg_too_long');
    if (args.blocks !== undefined) {
      if (!Array.isArray(args.blocks)) throw new ApiError('invalid_blocks_format');
      const errors = validateBlocks(args.blocks, 'message');
      if (errors.length) throw blocksError(errors);
    }
    if (Array.isArray(args.attachments)) {
      const c: Check = { errors: [], actionIds: new Set(), blockIds: new Set() };
      args.attachments.forEach((a, i) => {
        if (isObj(a) && a.blocks !== undefined) validateBlocks(a.blocks, 'message', `/attachments/${i}/blocks`, c);
      });
      if (c.errors.length) throw blocksError(c.errors);
    }
    if (args.metadata !== undefined && !(isObj(args.metadata) && Object.keys(args.metadata).length === 0)) {
      const m = args.metadata;
      if (!isObj(m) || typeof m.event_type !== 'string' || m.event_type === '' || !isObj(m.event_payload)) {
        throw new ApiError('invalid_metadata_format');
      }
    }
  }

  function botMessage(args: Obj, ts: string): SlackMessage {
    const msg: SlackMessage = {
      user: botUserId,
      type: 'message',
      ts,
      bot_id: botId,
      app_id: appId,
      text: typeof args.text === 'string' ? args.text : '',
      team: teamId,
      bot_profile: { id: botId, app_id: appId, name: 'Cotool', icons: {}, deleted: false, team_id: teamId },
    };
    if (Array.isArray(args.blocks)) msg.blocks = normalizeBlocks(args.blocks as Obj[]);
    if (Array.isArray(args.attachments)) msg.attachments = clone(args.attachments as Obj[]);
    if (isObj(args.metadata) && Object.keys(args.metadata).length) msg.metadata = clone(args.metadata) as SlackMetadata;
    return msg;
  }

  function insert(ch: Channel, msg: SlackMessage, threadTs: string | undefined, broadcast: boolean): SlackMessage {
    if (!threadTs) {
      ch.threads.push({ ...msg, replies: [] });
      ch.threads.sort(byTs);
      return msg;
    }
    const found = locate(ch, threadTs);
    if (!found) throw new ApiError('thread_not_found');
    const parent = found.thread;
    const reply: SlackMessage = { ...msg, thread_ts: parent.ts, parent_user_id: parent.user ?? '' };
    if (broadcast) {
      reply.subtype = 'thread_broadcast';
      reply.reply_broadcast = true;
    }
    parent.replies.push(reply);
    parent.replies.sort(byTs);
    const replyUsers = [...new Set(parent.replies.map((r) => r.user ?? ''))].filter(Boolean);
    Object.assign(parent, {
      thread_ts: parent.ts,
      reply_count: parent.replies.length,
      reply_users: replyUsers,
      reply_users_count: replyUsers.length,
      latest_reply: parent.replies.at(-1)?.ts,
    });
    return reply;
  }

  /** A message as the Web API shows it (no internal fields; metadata only when asked for). */
  function shown(msg: SlackMessage, withMetadata: boolean): SlackMessage {
    const { replies: _r, ...rest } = msg as SlackThread;
    const out = clone(rest) as SlackMessage;
    if (!withMetadata) delete out.metadata;
    return out;
  }

  function window(list: SlackMessage[], args: Obj) {
    const inclusive = args.inclusive === true;
    const oldest = str(args, 'oldest');
    const latest = str(args, 'latest');
    return list.filter((m) => {
      const v = tsValue(m.ts);
      if (oldest !== undefined && (inclusive ? v < tsValue(oldest) : v <= tsValue(oldest))) return false;
      if (latest !== undefined && (inclusive ? v > tsValue(latest) : v >= tsValue(latest))) return false;
      return true;
    });
  }

  function page(list: SlackMessage[], args: Obj, defaultLimit: number) {
    const limit = typeof args.limit === 'number' && args.limit > 0 ? Math.min(args.limit, 999) : defaultLimit;
    const cursor = str(args, 'cursor');
    const start = cursor
      ? Number(
          Buffer.from(cursor, 'base64')
            .toString('utf8')
            .replace(/^next:/, ''),
        ) || 0
      : 0;
    const items = list.slice(start, start + limit);
    const hasMore = start + limit < list.length;
    const withMeta = args.include_all_metadata === true;
    return {
      messages: items.map((m) => shown(m, withMeta)),
      has_more: hasMore,
      ...(hasMore
        ? { response_metadata: { next_cursor: Buffer.from(`next:${start + limit}`).toString('base64') } }
        : {}),
    };
  }

  const permalink = (ch: Channel, ts: string, threadTs?: string) =>
    `${workspaceUrl}archives/${ch.id}/p${ts.replace('.', '')}${threadTs && threadTs !== ts ? `?thread_ts=${threadTs}&cid=${ch.id}` : ''}`;

  function channelInfo(ch: Channel): Obj {
    return {
      id: ch.id,
      name: ch.name,
      is_channel: !ch.isIm && !ch.isPrivate,
      is_group: ch.isPrivate,
      is_im: ch.isIm,
      is_mpim: false,
      is_private: ch.isPrivate || ch.isIm,
      created: ch.created,
      is_archived: false,
      is_general: false,
      name_normalized: ch.name,
      is_shared: ch.externallyShared,
      is_org_shared: false,
      is_ext_shared: ch.externallyShared,
      is_member: ch.isMember,
      creator: 'U0ADMIN',
      topic: { value: '', creator: '', last_set: 0 },
      purpose: { value: '', creator: '', last_set: 0 },
      ...(ch.isIm ? { user: ch.members?.find((m) => m !== botUserId) } : {}),
    };
  }

  function userInfo(u: SlackUser): Obj {
    const name = u.name ?? u.id.toLowerCase();
    const realName = u.real_name ?? name;
    return {
      id: u.id,
      team_id: teamId,
      name,
      deleted: u.deleted ?? false,
      color: '9f69e7',
      real_name: realName,
      tz: u.tz ?? 'America/New_York',
      tz_label: 'Eastern Standard Time',
      tz_offset: -18_000,
      profile: {
        real_name: realName,
        real_name_normalized: realName,
        display_name: u.display_name ?? '',
        display_name_normalized: u.display_name ?? '',
        avatar_hash: 'g0000000000',
        image_48: `https://secure.gravatar.com/avatar/${u.id}.png?s=48`,
        team: teamId,
        ...(u.email ? { email: u.email } : {}),
      },
      is_admin: false,
      is_owner: false,
      is_primary_owner: false,
      is_restricted: u.is_restricted ?? false,
      is_ultra_restricted: u.is_ultra_restricted ?? false,
      is_bot: u.is_bot ?? false,
      is_app_user: false,
      updated: 1_700_000_000,
    };
  }
  users.set(botUserId, { id: botUserId, name: 'cotool', real_name: 'Cotool', is_bot: true });

  function useTrigger(args: Obj) {
    const trigger = str(args, 'trigger_id');
    if (!trigger) throw new ApiError('invalid_trigger_id');
    if (trigger.startsWith('expired')) throw new ApiError('expired_trigger_id');
    if (usedTriggers.has(trigger)) throw new ApiError('exchanged_trigger_id');
    usedTriggers.add(trigger);
  }

  function storeView(input: Obj, existing?: SlackView): SlackView {
    const errors = validateView(input);
    if (errors.length) throw argsError(errors);
    const id = existing?.id ?? `V${String(++viewSeq).padStart(10, '0')}`;
    const view: SlackView = {
      id,
      team_id: teamId,
      type: String(input.type),
      blocks: normalizeBlocks((input.blocks as Obj[]) ?? []),
      private_metadata: input.private_metadata ?? '',
      callback_id: input.callback_id ?? '',
      state: { values: {} },
      hash: `${Math.floor(Date.now() / 1000)}.${randomBytes(4).toString('hex')}`,
      title: input.title ?? { type: 'plain_text', text: 'View', emoji: true },
      clear_on_close: input.clear_on_close ?? false,
      notify_on_close: input.notify_on_close ?? false,
      close: input.close ?? null,
      submit: input.submit ?? null,
      previous_view_id: existing?.previous_view_id ?? null,
      root_view_id: existing?.root_view_id ?? id,
      app_id: appId,
      external_id: input.external_id ?? '',
      app_installed_team_id: teamId,
      bot_id: botId,
    };
    views.set(id, view);
    return clone(view);
  }

  const viewArg = (args: Obj): Obj => {
    if (!isObj(args.view)) throw argsError(['[ERROR] missing required field: view']);
    return args.view;
  };

  const handlers: Record<string, Handler> = {
    'auth.test': () => ({
      url: workspaceUrl,
      team: 'Acme',
      user: 'cotool',
      team_id: teamId,
      user_id: botUserId,
      bot_id: botId,
      is_enterprise_install: false,
    }),

    'chat.postMessage': (args) => {
      const ch = memberChannel(args.channel);
      if (ch.isIm) {
        const other = users.get(ch.members?.find((m) => m !== botUserId) ?? '');
        if (other?.dmsClosed) throw new ApiError('messages_tab_disabled');
      }
      checkContent(args, true);
      const msg = insert(ch, botMessage(args, nextTs()), str(args, 'thread_ts'), args.reply_broadcast === true);
      return { channel: ch.id, ts: msg.ts, message: shown(msg, true) };
    },

    'chat.update': (args) => {
      const ch = channelOf(args.channel);
      const found = locate(ch, need(args, 'ts'));
      if (!found) throw new ApiError('message_not_found');
      if (found.msg.user !== botUserId) throw new ApiError('cant_update_message');
      checkContent(args, false);
      const m = found.msg;
      if (args.text === undefined && args.blocks === undefined && args.attachments === undefined)
        throw new ApiError('no_text');
      if (typeof args.text === 'string') m.text = args.text;
      if (Array.isArray(args.blocks)) m.blocks = normalizeBlocks(args.blocks as Obj[]);
      if (Array.isArray(args.attachments)) m.attachments = clone(args.attachments as Obj[]);
      if (isObj(args.metadata)) {
        if (Object.keys(args.metadata).length) m.metadata = clone(args.metadata) as SlackMetadata;
        else delete m.metadata;
      }
      m.edited = { user: botUserId, ts: nextTs() };
      return { channel: ch.id, ts: m.ts, text: m.text, message: shown(m, true) };
    },

    'chat.postEphemeral': (args) => {
      const ch = memberChannel(args.channel);
      const user = need(args, 'user');
      if (!membersOf(ch).includes(user)) throw new ApiError('user_not_in_channel');
      checkContent(args, true);
      const ts = nextTs();
      ephemerals.push({
        channel: ch.id,
        user,
        ts,
        text: typeof args.text === 'string' ? args.text : '',
        ...(Array.isArray(args.blocks) ? { blocks: clone(args.blocks as Obj[]) } : {}),
        ...(str(args, 'thread_ts') ? { thread_ts: str(args, 'thread_ts') as string } : {}),
      });
      return { message_ts: ts };
    },

    'reactions.add': (args) => {
      const ch = memberChannel(args.channel);
      const found = locate(ch, need(args, 'timestamp'));
      if (!found) throw new ApiError('message_not_found');
      const name = need(args, 'name');
      const reactions = (found.msg.reactions ?? []) as { name: string; users: string[]; count: number }[];
      const r = reactions.find((x) => x.name === name);
      if (r?.users.includes(botUserId)) throw new ApiError('already_reacted');
      if (r) {
        r.users.push(botUserId);
        r.count++;
      } else reactions.push({ name, users: [botUserId], count: 1 });
      found.msg.reactions = reactions;
      return {};
    },

    'chat.getPermalink': (args) => {
      const ch = channelOf(args.channel);
      const found = locate(ch, need(args, 'message_ts'));
      if (!found) throw new ApiError('message_not_found');
      return { channel: ch.id, permalink: permalink(ch, found.msg.ts, found.msg.thread_ts) };
    },

    'chat.unfurl': (args) => {
      if (!(str(args, 'unfurl_id') && str(args, 'source'))) {
        channelOf(args.channel);
        need(args, 'ts');
      }
      if (!isObj(args.unfurls)) throw new ApiError('invalid_unfurls_format');
      const c: Check = { errors: [], actionIds: new Set(), blockIds: new Set() };
      for (const [url, u] of Object.entries(args.unfurls)) {
        if (isObj(u) && u.blocks !== undefined)
          validateBlocks(u.blocks, 'message', `/unfurls/${url.replace(/\//g, '~1')}/blocks`, c);
      }
      if (c.errors.length) throw blocksError(c.errors);
      return {};
    },

    'conversations.history': (args) => {
      const ch = memberChannel(args.channel);
      const visible: SlackMessage[] = [];
      for (const t of ch.threads) visible.push(t, ...t.replies.filter((r) => r.subtype === 'thread_broadcast'));
      const list = window(visible, args).sort(byTs).reverse();
      return { ...page(list, args, 100), pin_count: 0, channel_actions_ts: null, channel_actions_count: 0 };
    },

    'conversations.replies': (args) => {
      const ch = memberChannel(args.channel);
      const found = locate(ch, need(args, 'ts'));
      if (!found) throw new ApiError('thread_not_found');
      const parent = found.thread;
      const list = [parent, ...window(parent.replies, args)];
      return page(list, args, 1000);
    },

    'conversations.info': (args) => ({ channel: channelInfo(channelOf(args.channel)) }),

    'conversations.members': (args) => ({
      members: membersOf(channelOf(args.channel)),
      response_metadata: { next_cursor: '' },
    }),

    'users.info': (args) => {
      const u = users.get(need(args, 'user'));
      if (!u) throw new ApiError('user_not_found');
      return { user: userInfo(u) };
    },

    'users.lookupByEmail': (args) => {
      const email = need(args, 'email').toLowerCase();
      const u = [...users.values()].find((x) => x.email?.toLowerCase() === email);
      if (!u) throw new ApiError('users_not_found');
      return { user: userInfo(u) };
    },

    'conversations.open': (args) => {
      const ids = String(need(args, 'users')).split(',').filter(Boolean);
      if (ids.length !== 1) throw new ApiError('not_implemented');
      const id = ids[0] as string;
      const u = users.get(id);
      if (!u) throw new ApiError('user_not_found');
      if (u.is_bot) throw new ApiError('cannot_dm_bot');
      if (u.deleted) throw new ApiError('user_disabled');
      const ch = channelOf(id);
      return { channel: { id: ch.id } };
    },

    'conversations.create': (args) => {
      if (!channelCreation) throw new ApiError('restricted_action');
      const name = need(args, 'name');
      if (name.length > 80) throw new ApiError('invalid_name_maxlength');
      if (!/^[a-z0-9_-]+$/.test(name))
        throw new ApiError(/[A-Z]/.test(name) ? 'invalid_name' : 'invalid_name_specials');
      for (const c of channels.values()) if (c.name === name && !c.isIm) throw new ApiError('name_taken');
      const id = `C0NEW${String(++createdChannels).padStart(4, '0')}`;
      const isPrivate = args.is_private === true || args.is_private === 'true';
      addChannel(id, { name, member: true, isPrivate, members: [botUserId] });
      const ch = channels.get(id) as Channel;
      ch.created = Math.floor(Date.now() / 1000);
      return { channel: channelInfo(ch) };
    },

    'conversations.invite': (args) => {
      const ch = memberChannel(args.channel);
      const ids = String(need(args, 'users')).split(',').filter(Boolean);
      if (ids.length === 0) throw new ApiError('no_user');
      if (ids.length > 1000) throw new ApiError('too_many_users');
      const current = membersOf(ch);
      for (const id of ids) {
        if (id === botUserId) throw new ApiError('cant_invite_self');
        const u = users.get(id);
        if (!u) throw new ApiError('user_not_found');
        if (u.is_bot) throw new ApiError('cant_invite');
        if (u.deleted) throw new ApiError('user_is_deactivated');
        if (current.includes(id)) throw new ApiError('already_in_channel');
      }
      ch.members = [...current, ...ids];
      return { channel: channelInfo(ch) };
    },

    'bookmarks.add': (args) => {
      const ch = memberChannel(args.channel_id);
      const title = need(args, 'title');
      const type = need(args, 'type');
      if (type !== 'link') throw new ApiError('invalid_bookmark_type');
      const link = need(args, 'link');
      if (!/^https?:\/\/\S+$/.test(link)) throw new ApiError('invalid_link');
      const b: Bookmark = {
        id: `Bk${randomBytes(4).toString('hex').toUpperCase()}`,
        channel_id: ch.id,
        title,
        type,
        link,
        date_created: Math.floor(Date.now() / 1000),
      };
      bookmarkList.push(b);
      return { bookmark: clone(b) };
    },

    'usergroups.users.list': (args) => {
      const g = usergroups.get(need(args, 'usergroup'));
      if (!g) throw new ApiError('no_such_subteam');
      return { users: [...g] };
    },

    'views.open': (args) => {
      const view = viewArg(args);
      useTrigger(args);
      return { view: storeView(view) };
    },
    'views.push': (args) => {
      const view = viewArg(args);
      useTrigger(args);
      return { view: storeView(view) };
    },
    'views.update': (args) => {
      const view = viewArg(args);
      const id = str(args, 'view_id');
      const ext = str(args, 'external_id');
      const existing = id ? views.get(id) : [...views.values()].find((v) => ext && v.external_id === ext);
      if (!id && !ext) throw argsError(['[ERROR] view_id or external_id is required']);
      if (!existing) throw new ApiError('not_found');
      if (str(args, 'hash') && args.hash !== existing.hash) throw new ApiError('hash_conflict');
      return { view: storeView(view, existing) };
    },
    'views.publish': (args) => {
      const user = need(args, 'user_id');
      const view = viewArg(args);
      if (view.type !== 'home') throw argsError(['[ERROR] must be home [json-pointer:/view/type]']);
      const existing = [...views.values()].find((v) => v.type === 'home' && v.published_for === user);
      if (str(args, 'hash') && existing && args.hash !== existing.hash) throw new ApiError('hash_conflict');
      const stored = storeView(view, existing);
      (views.get(stored.id) as SlackView).published_for = user;
      return { view: stored };
    },

    'apps.connections.open': () => {
      const ticket = randomUUID();
      tickets.add(ticket);
      return { url: `ws://127.0.0.1:${port}/socket?ticket=${ticket}&app_id=${appId}` };
    },
  };

  // ---- Web API transport

  function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    if (res.destroyed || res.writableEnded) return;
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  }

  async function readBody(req: http.IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  async function webApi(req: http.IncomingMessage, res: http.ServerResponse, method: string, url: URL) {
    const text = await readBody(req);
    const type = String(req.headers['content-type'] ?? '');
    let fields: Obj = Object.fromEntries(url.searchParams);
    let badJson = false;
    if (type.includes('application/json') && text) {
      try {
        fields = { ...fields, ...(JSON.parse(text) as Obj) };
      } catch {
        badJson = true;
      }
    } else if (text) {
      fields = { ...fields, ...Object.fromEntries(new URLSearchParams(text)) };
    }
    const { args, formatError } = normalizeArgs(fields);
    const call: SlackCall = { method, args, at: Date.now(), result: { ok: true } };
    calls.push(call);
    const answer = (body: Obj) => {
      call.result = { ok: body.ok === true, ...(typeof body.error === 'string' ? { error: body.error } : {}) };
      sendJson(res, 200, body, oauthScopes ? { 'x-oauth-scopes': oauthScopes.join(',') } : {});
    };

    const delay = delays.get(method);
    if (delay) await sleep(delay);
    if (Date.now() < outageUntil) {
      call.injected = 'outage';
      if (typeof outageAnswer === 'string') return answer({ ok: false, error: outageAnswer });
      call.result = { ok: false, status: outageAnswer };
      res.writeHead(outageAnswer, { 'content-type': 'text/plain' });
      return void res.end(http.STATUS_CODES[outageAnswer]);
    }
    const f = failures.find((x) => x.method === method && x.remaining > 0);
    if (f) {
      f.remaining--;
      failures = failures.filter((x) => x.remaining > 0);
      call.injected = 'fail_next';
      const r = f.response;
      if ('error' in r) return answer({ ok: false, ...r });
      call.result = { ok: false, status: r.status };
      if (r.status === 429)
        return sendJson(res, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(r.retryAfter) });
      res.writeHead(r.status, { 'content-type': 'text/plain' });
      return void res.end(http.STATUS_CODES[r.status]);
    }

    const handler = handlers[method];
    if (!handler) return answer({ ok: false, error: 'unknown_method', req_method: method });
    const auth = String(req.headers.authorization ?? '');
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : typeof fields.token === 'string' ? fields.token : '';
    const wantsApp = method === 'apps.connections.open';
    if (!token) return answer({ ok: false, error: 'not_authed' });
    if (token !== botToken && token !== appToken) return answer({ ok: false, error: 'invalid_auth' });
    if ((token === appToken) !== wantsApp) return answer({ ok: false, error: 'not_allowed_token_type' });
    if (badJson) return answer({ ok: false, error: 'invalid_json' });
    if (formatError) return answer({ ok: false, error: formatError });
    const wait = rateLimited(method, args);
    if (wait > 0) {
      call.result = { ok: false, status: 429 };
      return sendJson(res, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(wait) });
    }
    try {
      const body = { ok: true, ...handler(args) };
      const after = afterCommit.find((x) => x.method === method && x.remaining > 0);
      if (after) {
        after.remaining--;
        afterCommit = afterCommit.filter((x) => x.remaining > 0);
        call.injected = 'after_commit';
        if (typeof after.answer === 'string') return answer({ ok: false, error: after.answer });
        call.result = { ok: false, status: after.answer };
        res.writeHead(after.answer, { 'content-type': 'text/plain' });
        return void res.end(http.STATUS_CODES[after.answer]);
      }
      answer(body);
    } catch (e) {
      if (e instanceof ApiError) return answer({ ok: false, error: e.message, ...e.extra });
      answer({ ok: false, error: 'fatal_error', detail: e instanceof Error ? e.message : String(e) });
    }
  }

  // ---- response URLs

  async function responseUrlPost(req: http.IncomingMessage, res: http.ServerResponse, id: string) {
    const text = await readBody(req);
    const entry = respUrls.get(id);
    let body: Obj = {};
    try {
      body = JSON.parse(text) as Obj;
    } catch {
      return sendJson(res, 400, { ok: false, error: 'invalid_payload' });
    }
    responseLog.push({ id, body, at: Date.now() });
    if (!entry) return sendJson(res, 404, { ok: false, error: 'expired_url' });
    if (++entry.uses > 5) return sendJson(res, 404, { ok: false, error: 'used_url' });
    try {
      if (body.delete_original === true) {
        if (entry.target) {
          const ch = channelOf(entry.target.channel);
          ch.threads = ch.threads.filter((t) => t.ts !== entry.target?.ts);
          for (const t of ch.threads) t.replies = t.replies.filter((r) => r.ts !== entry.target?.ts);
        }
        return sendJson(res, 200, { ok: true });
      }
      checkContent(body, true);
      const target = entry.target;
      if (body.replace_original === true && target) {
        const found = locate(channelOf(target.channel), target.ts);
        if (!found) throw new ApiError('message_not_found');
        found.msg.text = typeof body.text === 'string' ? body.text : '';
        if (Array.isArray(body.blocks)) found.msg.blocks = normalizeBlocks(body.blocks as Obj[]);
        else delete found.msg.blocks;
        found.msg.edited = { user: botUserId, ts: nextTs() };
      } else if (body.response_type === 'in_channel' && target) {
        insert(channelOf(target.channel), botMessage(body, nextTs()), str(body, 'thread_ts'), false);
      }
      sendJson(res, 200, { ok: true });
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError('invalid_payload');
      sendJson(res, 400, { ok: false, error: err.message, ...err.extra });
    }
  }

  // ---- Socket Mode

  const wss = new WebSocketServer({ noServer: true });
  const tickets = new Set<string>();
  const ready = new Set<WebSocket>();
  const pending = new Map<string, Pending>();
  const connectWaiters = new Set<() => void>();
  let connections = 0;

  function onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer) {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const ticket = url.searchParams.get('ticket') ?? '';
    if (url.pathname !== '/socket' || !tickets.delete(ticket)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data, isBinary) => {
        if (isBinary) return;
        let msg: Obj;
        try {
          msg = JSON.parse(data.toString()) as Obj;
        } catch {
          return;
        }
        const id = typeof msg.envelope_id === 'string' ? msg.envelope_id : '';
        const p = pending.get(id);
        if (!p) return;
        pending.delete(id);
        clearTimeout(p.timer);
        timers.delete(p.timer);
        p.resolve({
          envelope_id: id,
          ...('payload' in msg ? { payload: msg.payload } : {}),
          ackedAfterMs: Date.now() - p.sentAt,
        });
      });
      ws.on('close', () => ready.delete(ws));
      ws.on('error', () => ready.delete(ws));
      if (opts.pingIntervalMs) {
        const t = setInterval(() => ws.readyState === ws.OPEN && ws.ping(), opts.pingIntervalMs);
        timers.add(t);
        ws.on('close', () => {
          clearInterval(t);
          timers.delete(t);
        });
      }
      connections++;
      ready.add(ws);
      ws.send(
        JSON.stringify({
          type: 'hello',
          num_connections: ready.size,
          debug_info: { host: 'applink-fake-1', build_number: 1, approximate_connection_time: 18_060 },
          connection_info: { app_id: appId },
        }),
      );
      for (const w of connectWaiters) w();
    });
  }

  function socketConnected(o: { nth?: number; timeoutMs?: number } = {}): Promise<void> {
    const nth = o.nth ?? 1;
    const done = () => connections >= nth && ready.size > 0;
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        connectWaiters.delete(check);
        clearTimeout(t);
        timers.delete(t);
        resolve();
      };
      const t = setTimeout(() => {
        connectWaiters.delete(check);
        timers.delete(t);
        reject(new Error(`fake slack: no socket mode connection #${nth} within ${o.timeoutMs ?? 5000} ms`));
      }, o.timeoutMs ?? 5000);
      timers.add(t);
      connectWaiters.add(check);
    });
  }

  function sendEnvelope(type: EnvelopeType, payload: unknown, o: EnvelopeOptions = {}): Promise<EnvelopeAck> {
    const clients = [...ready];
    const ws = o.client === undefined ? clients.at(-1) : clients[Math.abs(o.client) % Math.max(1, clients.length)];
    if (!ws) return Promise.reject(new Error('fake slack: no socket mode client connected'));
    const envelopeId = randomUUID();
    const p = payload as Obj | null;
    const accepts =
      o.acceptsResponsePayload ??
      (type === 'slash_commands' ||
        (type === 'interactive' && ['view_submission', 'block_suggestion'].includes(String(p?.type))));
    const envelope: Obj = { envelope_id: envelopeId, type, payload, accepts_response_payload: accepts };
    if (type === 'events_api')
      Object.assign(envelope, { retry_attempt: o.retryAttempt ?? 0, retry_reason: o.retryReason ?? '' });
    return new Promise((resolve, reject) => {
      const timeoutMs = o.timeoutMs ?? 5000;
      const timer = setTimeout(() => {
        pending.delete(envelopeId);
        timers.delete(timer);
        reject(new Error(`fake slack: envelope ${type} not acked within ${timeoutMs} ms`));
      }, timeoutMs);
      timers.add(timer);
      pending.set(envelopeId, { resolve, reject, timer, sentAt: Date.now() });
      ws.send(JSON.stringify(envelope));
    });
  }

  // ---- HTTP server

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const [, top, rest] = url.pathname.split('/');
    const run = async () => {
      if (top === 'api' && rest) return webApi(req, res, rest, url);
      if (top === 'response' && rest && req.method === 'POST') return responseUrlPost(req, res, rest);
      sendJson(res, 404, { ok: false, error: 'not_found' });
    };
    run().catch((e) => sendJson(res, 500, { ok: false, error: 'fatal_error', detail: String(e) }));
  });
  server.on('upgrade', onUpgrade);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const baseUrl = `http://127.0.0.1:${port}`;

  return {
    apiUrl: `${baseUrl}/api/`,
    baseUrl,
    botToken,
    appToken,
    botUserId,
    botId,
    teamId,
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      pending.clear();
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },

    addChannel,
    setMembers: (channel, ids) => {
      const ch = channels.get(channel);
      if (!ch) throw new Error(`fake slack: no channel ${channel}`);
      ch.members = ids ? [...ids] : null;
    },
    addUser: (u) => void users.set(u.id, { ...u }),
    setUsergroup: (id, ids) => void usergroups.set(id, [...ids]),
    addMessage: (channel, m) => {
      const ch = channelOf(channel);
      const ts = m.ts ?? nextTs();
      const msg: SlackMessage = { type: 'message', user: 'U0HUMAN', text: '', team: teamId, ...clone(m), ts };
      delete msg.thread_ts;
      insert(ch, msg, m.thread_ts, false);
      return ts;
    },

    failNext: (method, n, response) => void failures.push({ method, remaining: n, response }),
    failAfterCommit: (method, n, answer) => void afterCommit.push({ method, remaining: n, answer }),
    outage: (ms, answer = 503) => {
      outageUntil = ms > 0 ? Date.now() + ms : 0;
      outageAnswer = answer;
    },
    get inOutage() {
      return Date.now() < outageUntil;
    },
    setRateLimits: (limits) => {
      rateLimits = limits;
      buckets.clear();
    },
    setDelay: (method, ms) => void (ms > 0 ? delays.set(method, ms) : delays.delete(method)),
    setScopes: (scopes) => {
      oauthScopes = scopes ? [...scopes] : null;
    },

    calls,
    callsOf: (method) => calls.filter((c) => c.method === method),
    messages: (channel) => clone(channels.get(channel)?.threads ?? []),
    message: (channel, ts) => {
      const ch = channels.get(channel);
      const found = ch && locate(ch, ts);
      return found ? shown(found.msg, true) : undefined;
    },
    ephemerals: (channel) => clone(ephemerals.filter((e) => !channel || e.channel === channel)),
    views: () => clone([...views.values()]),
    view: (id) => clone(views.get(id)),
    setChannelCreation: (allowed) => {
      channelCreation = allowed;
    },
    channelByName: (name) => {
      for (const c of channels.values())
        if (c.name === name.replace(/^#/, '') && !c.isIm)
          return { id: c.id, name: c.name, isPrivate: c.isPrivate, members: membersOf(c) };
      return undefined;
    },
    bookmarks: (channel) => clone(bookmarkList.filter((b) => b.channel_id === channel)),
    clear: () => {
      calls.splice(0);
      responseLog.splice(0);
      ephemerals = [];
      views.clear();
      for (const ch of channels.values()) ch.threads = [];
    },

    socketConnected,
    sendEnvelope,
    socketDisconnect: (reason = 'refresh_requested') => {
      const msg = JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'applink-fake-1' } });
      for (const ws of ready) ws.send(msg);
    },
    socketDrop: () => {
      for (const ws of wss.clients) ws.terminate();
    },
    get socketClients() {
      return ready.size;
    },
    get socketConnections() {
      return connections;
    },

    responseUrl: (target) => {
      const id = randomId('R', 12);
      respUrls.set(id, { ...(target ? { target } : {}), uses: 0 });
      return `${baseUrl}/response/${id}`;
    },
    responses: (id) => clone(responseLog.filter((r) => !id || r.id === id || `${baseUrl}/response/${r.id}` === id)),
  };
}
