/**
 * The HTTP side of the Cotool client: one ky instance with the base URL, auth and identity
 * headers, a per-attempt timeout, and hooks defined once that report each attempt (to the debug log
 * and `onRequest`). What a hook needs to know about the call (its route, the attempt count, the
 * status seen) travels in ky's `context`. Retries use exponential backoff with jitter, honour
 * `Retry-After`, and follow a policy per kind of call (`retryPolicies`). `send` returns the parsed
 * JSON body or throws a `CotoolError`.
 */

import ky, { isNetworkError, isTimeoutError, type Options, type RetryOptions } from 'ky';
import pkg from '../../package.json' with { type: 'json' };
import type { CotoolRoute } from '../core/alert.ts';
import type { Logger } from '../log.ts';
import {
  CotoolError,
  findErrorCode,
  fromTransportError,
  isConnectFailureCode,
  oneLine,
  retryReason,
  type Scrub,
  schemaError,
} from './errors.ts';

export type RequestAttempt = {
  method: 'GET' | 'POST' | 'PATCH';
  route: CotoolRoute;
  status: number | 'timeout' | 'network';
  ms: number;
};

export type TransportOptions = {
  baseUrl: string;
  apiKey: string;
  logger: Logger;
  scrub: Scrub;
  timeoutMs: number;
  retryLimit: number;
  maxRetryAfterMs: number;
  backoffLimitMs: number;
  userAgent?: string;
  fetch?: typeof fetch;
  onRequest?: (attempt: RequestAttempt) => void;
};

export type Policy = 'read' | 'status-write' | 'details-write' | 'comment-write';

export type Call = {
  method: RequestAttempt['method'];
  /** API path with encoded segments, e.g. `/api/alerts/COT-1`. */
  path: string;
  /** The path's template, e.g. `/api/alerts/:id`. */
  route: CotoolRoute;
  searchParams?: URLSearchParams;
  json?: unknown;
  policy: Policy;
  /** The path names one resource by id (a 400 then may mean a malformed id). */
  byId?: boolean;
};

/** Per-call state the instance's hooks read and write; travels in ky's `context` as `call`. */
type CallState = {
  call: Call;
  attempts: number;
  attemptStarted: number;
  /** The current attempt was reported to `onRequest`. */
  reported: boolean;
  status?: number;
  contentType: string;
};

/** A function that sends one API call (retries included) and returns its JSON body. */
export type Send = (call: Call) => Promise<unknown>;

export function createTransport(opts: TransportOptions): Send {
  const log = opts.logger;
  const { scrub, timeoutMs } = opts;
  const retry = retryPolicies({
    limit: opts.retryLimit,
    maxRetryAfter: opts.maxRetryAfterMs,
    backoffLimit: opts.backoffLimitMs,
  });

  /** Tells `onRequest` about the current attempt, once. */
  function report(state: CallState, outcome: RequestAttempt['status']): void {
    if (state.reported) return;
    state.reported = true;
    const { method, route } = state.call;
    try {
      opts.onRequest?.({ method, route, status: outcome, ms: performance.now() - state.attemptStarted });
    } catch (err) {
      log.debug({ err }, 'onRequest hook failed');
    }
  }

  const stateOf = (options: { context: Record<string, unknown> }) => options.context.call as CallState;

  const api = ky.create({
    prefix: checkBaseUrl(opts.baseUrl),
    headers: {
      authorization: `Bearer ${checkApiKey(opts.apiKey)}`,
      accept: 'application/json',
      'user-agent': opts.userAgent ?? `cotool-slack/${pkg.version}`,
    },
    timeout: timeoutMs,
    throwHttpErrors: true,
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
    hooks: {
      beforeRetry: [
        ({ options, error, retryCount }) => {
          const state = stateOf(options);
          // An attempt that got an answer was reported with its status already.
          report(state, isTimeoutError(error) ? 'timeout' : 'network');
          state.attemptStarted = performance.now();
          state.reported = false;
          state.attempts = retryCount + 1;
          const { method, path } = state.call;
          log.debug({ method, path, retry: retryCount, after: retryReason(error) }, 'cotool request retry');
        },
      ],
      afterResponse: [
        ({ options, response }) => {
          const state = stateOf(options);
          state.status = response.status;
          report(state, response.status);
          state.contentType = response.headers.get('content-type') ?? '';
        },
      ],
    },
  });

  function parseJsonBody(text: string, contentType: string, call: Call): unknown {
    if (text.trim() === '') throw schemaError(call, 'empty body where JSON was expected', scrub);
    try {
      return JSON.parse(text);
    } catch {
      const type = oneLine(contentType.split(';')[0] ?? '', 60) || 'no content-type';
      throw schemaError(call, `body is not JSON (${type})`, scrub);
    }
  }

  return async function send(call: Call): Promise<unknown> {
    const { method, path } = call;
    const started = performance.now();
    const state: CallState = { call, attempts: 1, attemptStarted: started, reported: false, contentType: '' };
    const ms = () => Math.round(performance.now() - started);
    log.debug({ method, path }, 'cotool request');
    try {
      const text = await api(path, {
        method,
        ...(call.searchParams ? { searchParams: call.searchParams } : {}),
        ...(call.json !== undefined ? { json: call.json } : {}),
        retry: retry[call.policy],
        context: { call: state },
      }).text();
      log.debug({ method, path, status: state.status, ms: ms(), attempts: state.attempts }, 'cotool response');
      return parseJsonBody(text, state.contentType, call);
    } catch (err) {
      const { attempts } = state;
      const error = err instanceof CotoolError ? err : fromTransportError(err, call, { attempts, timeoutMs, scrub });
      report(state, error.kind === 'timeout' ? 'timeout' : 'network');
      log.debug({ method, path, status: state.status, ms: ms(), attempts, kind: error.kind }, 'cotool request failed');
      throw error;
    }
  };
}

/**
 * Retry policy per kind of call: exponential backoff with jitter, honouring `Retry-After`, and
 * only where a repeat cannot do what the first attempt may already have done.
 */
function retryPolicies(limits: Pick<RetryOptions, 'limit' | 'maxRetryAfter' | 'backoffLimit'>) {
  const backoff = {
    ...limits,
    delay: (attempt: number) => 300 * 2 ** (attempt - 1),
    // Half fixed, half random: spreads retries out while always waiting at least half the backoff.
    jitter: (delay: number) => delay / 2 + Math.random() * (delay / 2),
  } satisfies RetryOptions;
  const transient = { statusCodes: [408, 413, 429, 500, 502, 503, 504], afterStatusCodes: [413, 429, 503] };
  // A status change is what a Slack click does, and a click must cause at most one change. Retry
  // only when the server certainly did not act: a 429 or 503 refusal, or a connection that was
  // never made. Not after a 500, a timeout or a reset connection: the change may have been
  // committed with only the answer lost. Re-sending the same status would be mostly harmless
  // (the server answers `statusChanged: false` with no new entry) but it would misreport the
  // outcome to the clicker, drop their reason, and could undo a change someone else made in
  // between. The caller re-reads the alert instead (`CotoolError.mayHaveApplied()`).
  // A comment is appended each time it is sent: the same rule, for the same reason (a repeat
  // after a lost answer would write it twice).
  const once: RetryOptions = {
    ...backoff,
    methods: ['post'],
    statusCodes: [429, 503],
    afterStatusCodes: [429, 503],
    retryOnTimeout: false,
    shouldRetry: ({ error }) => {
      if (isNetworkError(error) && !isConnectFailureCode(findErrorCode(error.cause))) return false;
      return undefined;
    },
  };
  return {
    // Reads are safe to repeat.
    read: { ...backoff, methods: ['get'], ...transient, retryOnTimeout: true },
    // PATCH sets title/description to the values given: a repeat after a lost answer writes the
    // same values again and the server records entries only for fields that changed, so it is
    // retried like a read.
    'details-write': { ...backoff, methods: ['patch'], ...transient, retryOnTimeout: true },
    'status-write': once,
    'comment-write': once,
  } satisfies Record<Policy, Options['retry']>;
}

function checkBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TypeError('Cotool base URL is not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError('Cotool base URL must be http(s)');
  if (url.username || url.password || url.search || url.hash) {
    throw new TypeError('Cotool base URL must not carry credentials, a query or a fragment');
  }
  // ky joins the prefix and the path with exactly one slash.
  return url.href.replace(/\/+$/, '');
}

function checkApiKey(key: string): string {
  // Visible ASCII only: anything else would be rejected by fetch with the header quoted in the error.
  if (typeof key !== 'string' || !/^[\x21-\x7e]+$/.test(key)) {
    throw new TypeError('Cotool API key is empty or contains characters not allowed in a header');
  }
  return key;
}
