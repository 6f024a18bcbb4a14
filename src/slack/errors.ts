/**
 * Slack Web API failures, classified once by code. The Web API client already retried what can be
 * retried (rate limits honouring Retry-After, 5xx, network); what reaches here is final for this try.
 */

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

export type SlackFailure = {
  /** The platform error code (`not_in_channel` …) or `http_<status>`, `request_error`, `rate_limited`, `unknown`. */
  code: string;
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
  return { code, channelProblem, authProblem, hint: hintFor(code, channel, e?.data?.needed) };
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
