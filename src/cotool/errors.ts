/**
 * The one error type the Cotool client throws for a failed API call, how a transport failure
 * becomes one, and the one classification of it every caller uses (`classifyCotoolError`).
 *
 * It carries what a caller needs to decide (status, the body's `error`, `missingPerms`, `issues`)
 * and what an operator needs to read a log line (method and path), and nothing that could leak:
 * no URL query, no headers, no request body. Its message is always a single line.
 */
import { STATUS_CODES } from 'node:http';
import { isHTTPError, isNetworkError, isTimeoutError } from 'ky';
import type { z } from 'zod';
import { scrubSecrets } from '../log.ts';
import { ErrorBodySchema } from './schemas.ts';

export type CotoolErrorKind = 'http' | 'network' | 'timeout' | 'schema';

export type CotoolErrorInit = {
  kind: CotoolErrorKind;
  method: string;
  /** The API path, e.g. `/api/alerts/COT-12`; never the full URL. */
  path: string;
  status?: number;
  /** The body's `error` text. */
  apiMessage?: string;
  missingPerms?: string[];
  issues?: unknown[];
  /** A low-level error code for network failures (ECONNREFUSED, ECONNRESET, ...). */
  code?: string;
  /** Free text for the message: what was wrong with a response, how long a timeout was, ... */
  detail?: string;
  /** Requests sent, retries included. */
  attempts?: number;
  /** The request addressed one resource by id (so a 400 there can mean a malformed id). */
  byId?: boolean;
};

const RETRYABLE_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
/** Network failures that happen before the request reaches the server. */
const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Whether a network error code proves the request never reached the server. */
export function isConnectFailureCode(code: string | undefined): boolean {
  return code !== undefined && CONNECT_CODES.has(code);
}

const MAX_TEXT = 300;

/** Collapses whitespace and control characters to single spaces and caps the length. */
export function oneLine(text: string, max = MAX_TEXT): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  const flat = text.replace(/[\u0000-\u001f\u007f\s]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export class CotoolError extends Error {
  readonly kind: CotoolErrorKind;
  readonly status?: number;
  readonly apiMessage?: string;
  readonly missingPerms?: string[];
  readonly issues?: unknown[];
  readonly method: string;
  readonly path: string;
  readonly code?: string;
  readonly attempts?: number;
  readonly byId: boolean;

  constructor(init: CotoolErrorInit) {
    super(buildMessage(init));
    this.name = 'CotoolError';
    this.kind = init.kind;
    this.method = init.method.toUpperCase();
    this.path = init.path;
    if (init.status !== undefined) this.status = init.status;
    if (init.apiMessage !== undefined) this.apiMessage = init.apiMessage;
    if (init.missingPerms !== undefined) this.missingPerms = init.missingPerms;
    if (init.issues !== undefined) this.issues = init.issues;
    if (init.code !== undefined) this.code = init.code;
    if (init.attempts !== undefined) this.attempts = init.attempts;
    this.byId = init.byId ?? false;
  }

  /** The alert (or run) does not exist: a 404, or a 400 on a GET by id (a malformed id). */
  isNotFound(): boolean {
    if (this.kind !== 'http') return false;
    return this.status === 404 || (this.status === 400 && this.method === 'GET' && this.byId);
  }

  /** The API key is missing, invalid, or lacks a permission (see `missingPerms`). */
  isAuth(): boolean {
    return this.kind === 'http' && (this.status === 401 || this.status === 403);
  }

  /**
   * A transient failure: the same call may well succeed later (next poll, next click). This says
   * nothing about whether repeating a write is safe; see `mayHaveApplied()`.
   */
  isRetryable(): boolean {
    if (this.kind === 'network' || this.kind === 'timeout') return true;
    return this.kind === 'http' && this.status !== undefined && RETRYABLE_STATUSES.has(this.status);
  }

  /**
   * For a write (POST, PATCH): the server may have carried it out even though the call failed, so
   * the caller should re-read the alert instead of reporting a plain failure. A `schema` error on a
   * write means the server answered 2xx, so the write was applied.
   */
  mayHaveApplied(): boolean {
    if (this.method === 'GET') return false;
    switch (this.kind) {
      case 'schema':
      case 'timeout':
        return true;
      case 'network':
        return !isConnectFailureCode(this.code);
      case 'http':
        // 429 and 503 are refusals; any other 5xx can come after the work was done.
        return this.status !== undefined && this.status >= 500 && this.status !== 503;
    }
  }

  /** A small, secret-free object for a pino log line. */
  toLog(): Record<string, unknown> {
    const out: Record<string, unknown> = { kind: this.kind, method: this.method, path: this.path };
    if (this.status !== undefined) out.status = this.status;
    if (this.apiMessage !== undefined) out.apiMessage = this.apiMessage;
    if (this.missingPerms !== undefined) out.missingPerms = this.missingPerms;
    if (this.issues !== undefined) {
      out.issueCount = this.issues.length;
      out.issues = this.issues.slice(0, 5).map(summarizeIssue);
    }
    if (this.code !== undefined) out.code = this.code;
    if (this.attempts !== undefined) out.attempts = this.attempts;
    out.message = this.message;
    return out;
  }
}

export function isCotoolError(err: unknown): err is CotoolError {
  return err instanceof CotoolError;
}

/** What a failed Cotool call means to a caller: the one classification of Cotool errors. */
export type CotoolFailureKind =
  | 'not_found'
  | 'unauthorized'
  | 'forbidden'
  | 'invalid'
  | 'rate_limited'
  | 'upstream'
  | 'timeout'
  | 'network'
  | 'schema';

export function classifyCotoolError(err: CotoolError): CotoolFailureKind {
  if (err.kind !== 'http') return err.kind;
  if (err.isNotFound()) return 'not_found';
  if (err.status === 401) return 'unauthorized';
  if (err.status === 403) return 'forbidden';
  if (err.status === 400 || err.status === 422) return 'invalid';
  if (err.status === 429) return 'rate_limited';
  return 'upstream';
}

/** Whether a thrown value is a Cotool "no such alert (or run)"; false for anything else. */
export function isCotoolNotFound(err: unknown): boolean {
  return isCotoolError(err) && classifyCotoolError(err) === 'not_found';
}

// ---------------------------------------------------------------------------------------------
// From a transport failure to a CotoolError. Everything that came from outside is scrubbed.

/** Removes secrets from text that came from outside. */
export type Scrub = (text: string) => string;

/** The API key (and any bearer token) removed from a text: the one scrubber of the client. */
export function secretScrubber(apiKey: string): Scrub {
  return (text) => scrubSecrets(text, [apiKey]).replace(/Bearer\s+[^\s"',;]+/gi, 'Bearer [redacted]');
}

/** What an error names about the call that failed. */
export type FailedCall = { method: string; path: string; byId?: boolean };

/** A ky (or fetch) failure as a CotoolError. */
export function fromTransportError(
  err: unknown,
  call: FailedCall,
  ctx: { attempts: number; timeoutMs: number; scrub: Scrub },
): CotoolError {
  const base = { method: call.method, path: call.path, attempts: ctx.attempts, byId: call.byId ?? false };
  if (isHTTPError(err)) {
    const body = readErrorBody(err.data, ctx.scrub);
    return new CotoolError({ ...base, kind: 'http', status: err.response.status, ...body });
  }
  if (isTimeoutError(err)) return new CotoolError({ ...base, kind: 'timeout', detail: `after ${ctx.timeoutMs} ms` });
  if (isNetworkError(err)) {
    const code = findErrorCode(err.cause);
    const detail = code ? undefined : causeText(err.cause, ctx.scrub);
    return new CotoolError({ ...base, kind: 'network', ...(code ? { code } : {}), ...(detail ? { detail } : {}) });
  }
  // The runtime's fetch failed in a way ky does not recognise; treat it as a transport failure.
  return new CotoolError({ ...base, kind: 'network', detail: causeText(err, ctx.scrub) ?? 'request failed' });
}

/** A 2xx whose body is not what the API documents. */
export function schemaError(call: FailedCall, detail: string, scrub: Scrub, issues?: ZodIssue[]): CotoolError {
  // A bad body after a write still means the server answered 2xx: the write went through.
  const note = call.method === 'GET' ? '' : ' (the server accepted the request)';
  return new CotoolError({
    kind: 'schema',
    method: call.method,
    path: call.path,
    detail: `${scrub(detail)}${note}`,
    byId: call.byId ?? false,
    ...(issues ? { issues: issues.map(issueSummary) } : {}),
  });
}

type ZodIssue = z.ZodError['issues'][number];

export function issueSummary(issue: ZodIssue): { path: string; code: string; message: string } {
  return { path: issue.path.map(String).join('.') || '(root)', code: issue.code, message: oneLine(issue.message, 120) };
}

export function describeIssues(error: z.ZodError): string {
  const [first] = error.issues;
  if (!first) return 'invalid body';
  const where = first.path.map(String).join('.') || 'body';
  const more = error.issues.length > 1 ? ` (+${error.issues.length - 1} more)` : '';
  return `${where}: ${first.message}${more}`;
}

/** The first `code` string down an error's cause chain (ECONNREFUSED, UND_ERR_SOCKET, ...). */
export function findErrorCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Why a request is being retried, for the debug log. */
export function retryReason(error: Error): string {
  if (isHTTPError(error)) return `HTTP ${error.response.status}`;
  if (isTimeoutError(error)) return 'timeout';
  if (isNetworkError(error)) return findErrorCode(error.cause) ?? 'network error';
  return error.name;
}

function readErrorBody(data: unknown, scrub: Scrub): Pick<CotoolErrorInit, 'apiMessage' | 'missingPerms' | 'issues'> {
  let body = data;
  if (typeof body === 'string') {
    // Some proxies label JSON as text; anything else (an HTML error page) is not used.
    try {
      body = JSON.parse(body);
    } catch {
      return {};
    }
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) return {};
  const raw = body as Record<string, unknown>;
  const { shape } = ErrorBodySchema;
  const out: Pick<CotoolErrorInit, 'apiMessage' | 'missingPerms' | 'issues'> = {};
  // Field by field, so one malformed field does not hide the others.
  const error = shape.error.safeParse(raw.error).data;
  const missingPerms = shape.missingPerms.safeParse(raw.missingPerms).data;
  const issues = shape.issues.safeParse(raw.issues).data;
  if (error !== undefined) out.apiMessage = oneLine(scrub(error));
  if (missingPerms !== undefined) out.missingPerms = missingPerms.slice(0, 20).map((p) => oneLine(scrub(p), 100));
  if (issues !== undefined) out.issues = issues.slice(0, 20).map((v) => scrubValue(v, scrub));
  return out;
}

function scrubValue(value: unknown, scrub: Scrub): unknown {
  try {
    return JSON.parse(scrub(JSON.stringify(value) ?? 'null'));
  } catch {
    return null;
  }
}

function causeText(cause: unknown, scrub: Scrub): string | undefined {
  if (!(cause instanceof Error)) return cause === undefined ? undefined : oneLine(scrub(String(cause)), 120);
  const inner = cause.cause instanceof Error ? `: ${cause.cause.message}` : '';
  // A message may quote the URL (query included); keep the words, drop the URL.
  return oneLine(scrub(`${cause.message}${inner}`).replace(/https?:\/\/\S+/g, '<url>'), 160);
}

function buildMessage(init: CotoolErrorInit): string {
  const tries = init.attempts !== undefined && init.attempts > 1 ? ` (after ${init.attempts} attempts)` : '';
  return oneLine(`Cotool ${init.method.toUpperCase()} ${init.path} failed: ${describe(init)}${tries}`, 600);
}

function describe(init: CotoolErrorInit): string {
  switch (init.kind) {
    case 'http': {
      const status = init.status ?? 0;
      const reason = STATUS_CODES[status] ?? 'Error';
      let text = `HTTP ${status} ${reason}`;
      if (init.apiMessage && init.apiMessage.toLowerCase() !== reason.toLowerCase()) {
        text += `: ${oneLine(init.apiMessage)}`;
      }
      if (init.missingPerms && init.missingPerms.length > 0) {
        text += ` (missing ${init.missingPerms.map((p) => oneLine(p, 80)).join(', ')})`;
      }
      if (init.issues && init.issues.length > 0) {
        const first = summarizeIssue(init.issues[0]);
        const more = init.issues.length > 1 ? ` and ${init.issues.length - 1} more` : '';
        text += ` (invalid ${first}${more})`;
      }
      return text;
    }
    case 'network':
      return `network error${init.code ? ` (${init.code})` : ''}${init.detail ? `: ${oneLine(init.detail)}` : ''}`;
    case 'timeout':
      return `timed out${init.detail ? ` ${oneLine(init.detail)}` : ''}`;
    case 'schema':
      return `unexpected response${init.detail ? `: ${oneLine(init.detail)}` : ''}`;
  }
}

/** `path: message` for a zod-like issue, a short text for anything else. */
function summarizeIssue(issue: unknown): string {
  if (issue && typeof issue === 'object') {
    const { path, message } = issue as { path?: unknown; message?: unknown };
    const where =
      Array.isArray(path) && path.length > 0
        ? path.map(String).join('.')
        : typeof path === 'string' && path
          ? path
          : '(body)';
    return oneLine(typeof message === 'string' ? `${where}: ${message}` : where, 120);
  }
  return oneLine(String(issue), 120);
}
