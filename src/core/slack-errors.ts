/**
 * Slack Web API failures, read once, in one table: every error code the bot can get from the methods
 * it calls (chat.postMessage / chat.update, conversations.history / replies / info / members,
 * reactions.add, views.*, users.*, usergroups.users.list, auth.test …) has exactly one meaning. The
 * sender's failure policy (src/notify/failure-policy.ts) is a pure function of that meaning; the
 * Web API client's own retries are off for the sender, so what reaches here is final for this try.
 */

/**
 * What a Slack error means, one word per code (the table in src/core/slack-errors.ts): `done` (already
 * so), `retry` (not done, transient), `maybe` (maybe done: look the message up before any retry),
 * `operator` (permanent until an operator acts), `payload` (permanent for this payload), `gone` (the
 * target message no longer exists), `rate_limited` (429 + Retry-After).
 */
export type SlackMeaning = 'done' | 'retry' | 'maybe' | 'operator' | 'payload' | 'gone' | 'rate_limited';

/** Errors about the alert channel itself: every post to it will fail until an operator acts. */
export const CHANNEL_ERRORS = ['not_in_channel', 'channel_not_found', 'is_archived', 'restricted_action'] as const;
/** Errors about the token: nothing will work until the configuration is fixed. */
export const AUTH_ERRORS = [
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'missing_scope',
] as const;

/**
 * THE table. `done`: already so (nothing to send). `retry`: not done, transient. `maybe`: may have
 * been carried out (Slack: "some aspect of the operation may have succeeded"): look the message up
 * before any retry. `operator`: permanent until someone fixes the channel, the token or the app.
 * `payload`: permanent for this payload (send something simpler). `gone`: the message (thread,
 * view, user) it targets no longer exists. `rate_limited`: 429 with Retry-After.
 * A code not in the table is `maybe` (see `meaningOf`): for a write, unknown means maybe done.
 */
export const SLACK_ERROR_MEANINGS: Readonly<Record<string, SlackMeaning>> = {
  // done: what was asked is already the case
  already_reacted: 'done',
  already_pinned: 'done',
  already_in_channel: 'done',
  no_reaction: 'done',
  // not done, transient
  service_unavailable: 'retry',
  request_timeout: 'retry',
  ratelimited: 'retry', // the platform's own word, without a 429 and without Retry-After
  rate_limited: 'rate_limited', // the client's 429 (Retry-After)
  http_429: 'rate_limited',
  team_added_to_org: 'retry',
  invalid_cursor: 'retry', // a paged read restarted from the top next time
  // maybe done
  internal_error: 'maybe',
  fatal_error: 'maybe',
  // needs an operator
  not_in_channel: 'operator',
  channel_not_found: 'operator',
  is_archived: 'operator',
  channel_is_archived: 'operator',
  restricted_action: 'operator',
  restricted_action_read_only_channel: 'operator',
  restricted_action_thread_only_channel: 'operator',
  restricted_action_non_threadable_channel: 'operator',
  posting_to_general_channel_denied: 'operator',
  messages_tab_disabled: 'operator',
  invalid_channel: 'operator',
  invalid_auth: 'operator',
  not_authed: 'operator',
  account_inactive: 'operator',
  token_revoked: 'operator',
  token_expired: 'operator',
  missing_scope: 'operator',
  no_permission: 'operator',
  not_allowed_token_type: 'operator',
  access_denied: 'operator',
  not_authorized: 'operator',
  ekm_access_denied: 'operator',
  team_access_not_granted: 'operator',
  org_login_required: 'operator',
  enterprise_is_restricted: 'operator',
  team_not_found: 'operator',
  method_deprecated: 'operator',
  deprecated_endpoint: 'operator',
  as_user_not_supported: 'operator',
  message_limit_exceeded: 'operator',
  // permanent for this payload
  invalid_blocks: 'payload',
  invalid_blocks_format: 'payload',
  msg_too_long: 'payload',
  msg_blocks_too_long: 'payload',
  no_text: 'payload',
  too_many_attachments: 'payload',
  invalid_attachments: 'payload',
  invalid_metadata_format: 'payload',
  invalid_metadata_schema: 'payload',
  metadata_too_large: 'payload',
  metadata_must_be_sent_from_app: 'payload',
  invalid_arguments: 'payload',
  invalid_array_arg: 'payload',
  invalid_arg_name: 'payload',
  invalid_charset: 'payload',
  invalid_form_data: 'payload',
  invalid_post_type: 'payload',
  missing_post_type: 'payload',
  invalid_json: 'payload',
  json_not_object: 'payload',
  invalid_ts_latest: 'payload',
  invalid_ts_oldest: 'payload',
  bad_timestamp: 'payload',
  invalid_name: 'payload',
  too_many_emoji: 'payload',
  too_many_reactions: 'payload',
  view_too_large: 'payload',
  duplicate_external_id: 'payload',
  user_is_bot: 'payload',
  // the target is gone
  message_not_found: 'gone',
  cant_update_message: 'gone',
  edit_window_closed: 'gone',
  thread_not_found: 'gone',
  cannot_reply_to_message: 'gone',
  not_found: 'gone', // views.update / views.publish of a view that no longer exists
  hash_conflict: 'gone', // the view changed since it was read: this version is moot
  expired_trigger_id: 'gone',
  exchanged_trigger_id: 'gone',
  user_not_found: 'gone',
  users_not_found: 'gone',
  no_such_subteam: 'gone',
  subteam_not_found: 'gone',
};

/**
 * The one meaning of a classified code. HTTP 5xx: maybe done (Slack answers 500/502/503 after it
 * stored a message). HTTP 429: rate limited. Another HTTP 4xx: not done (a proxy or Slack's edge
 * refused the request before it was read). Anything else not in the table: maybe.
 */
export function meaningOf(code: string): SlackMeaning {
  const known = SLACK_ERROR_MEANINGS[code];
  if (known) return known;
  if (/^http_5\d\d$/.test(code)) return 'maybe';
  if (/^http_4\d\d$/.test(code)) return 'retry';
  return 'maybe';
}

export type SlackFailure = {
  /**
   * The platform error code (`not_in_channel` …) or `http_<status>`, `request_error` (no answer:
   * `maybe` after a timeout or a dropped connection, `retry` after a refused connection),
   * `rate_limited`, `unknown`.
   */
  code: string;
  /** What the code means (the table above). */
  meaning: SlackMeaning;
  channelProblem: boolean;
  authProblem: boolean;
  /** One sentence for the operator: what is wrong and what to do. */
  hint: string | null;
};

export function classifySlackError(err: unknown, channel?: string): SlackFailure {
  const e = err as { code?: string; data?: { error?: string; needed?: string }; statusCode?: number } | null;
  let code = 'unknown';
  if (e?.code === 'slack_webapi_platform_error' && e.data?.error) code = e.data.error;
  else if (e?.code === 'slack_webapi_http_error') code = `http_${e.statusCode ?? 0}`;
  else if (e?.code === 'slack_webapi_request_error') code = 'request_error';
  else if (e?.code === 'slack_webapi_rate_limited_error') code = 'rate_limited';
  const channelProblem = (CHANNEL_ERRORS as readonly string[]).includes(code);
  const authProblem = (AUTH_ERRORS as readonly string[]).includes(code);
  // No answer at all: a timeout or a dropped connection may have been carried out (maybe); a refused
  // connection (or a client-side rate-limit wait) never reached Slack (retry).
  const meaning = code === 'request_error' ? (answerLost(err) ? 'maybe' : 'retry') : meaningOf(code);
  return { code, meaning, channelProblem, authProblem, hint: hintFor(code, channel, e?.data?.needed) };
}

function hintFor(code: string, channel = 'the alert channel', needed?: string): string | null {
  switch (code) {
    case 'not_in_channel':
      return `the bot is not a member of ${channel}: invite it there (/invite @Cotool in the channel); cards will be posted on the next poll`;
    case 'channel_not_found':
      return `channel ${channel} was not found: check SLACK_ALERT_CHANNEL (a channel id such as C0123ABCD) and, for a private channel, invite the bot first`;
    case 'is_archived':
      return `channel ${channel} is archived: unarchive it or point SLACK_ALERT_CHANNEL at another channel`;
    case 'invalid_auth':
    case 'not_authed':
    case 'token_revoked':
    case 'account_inactive':
      return 'Slack rejected the bot token: check SLACK_BOT_TOKEN (xoxb-…) and that the app is still installed';
    case 'missing_scope':
      return `the bot token lacks a scope${needed ? ` (${needed})` : ''}: add it in the app settings (see manifest.yml) and reinstall the app`;
    default:
      return null;
  }
}

/** Connection failures that prove the request never reached Slack: safe to send again. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH']);

/**
 * The request may have reached Slack but its answer did not come back (a timeout, a connection cut
 * mid-request). A rate-limit wait, an HTTP error status or a refused connection is not that.
 */
export function answerLost(err: unknown): boolean {
  const e = err as { code?: string; original?: { name?: string; message?: string; cause?: { code?: string } } };
  if (e?.code !== 'slack_webapi_request_error' || !e.original) return false;
  const original = e.original;
  if (original.message?.startsWith('A rate limit was exceeded')) return false;
  if (original.name === 'TimeoutError' || original.name === 'AbortError') return true;
  return !NOT_SENT.has(original.cause?.code ?? '');
}

/** Rate limited: how many seconds Slack asked to wait (Retry-After), else null. */
export function retryAfterSec(err: unknown): number | null {
  const e = err as { code?: string; retryAfter?: unknown; statusCode?: number; headers?: Record<string, unknown> };
  if (e?.code === 'slack_webapi_rate_limited_error') {
    const n = Number(e.retryAfter);
    return Number.isFinite(n) && n >= 0 ? n : 1;
  }
  if (e?.code === 'slack_webapi_platform_error' && (e as { data?: { error?: string } }).data?.error === 'ratelimited') {
    return 1;
  }
  return null;
}

/**
 * The call may have been carried out although no definite answer says so: a lost answer, or a 5xx
 * (Slack may answer 500/502/503 after it stored the message). A post must be looked up before it
 * is sent again. Platform errors, 429 and other 4xx statuses are definite refusals.
 */
export function outcomeUnknown(err: unknown): boolean {
  const e = err as { code?: string; statusCode?: number };
  if (answerLost(err)) return true;
  return e?.code === 'slack_webapi_http_error' && (e.statusCode ?? 0) >= 500;
}
