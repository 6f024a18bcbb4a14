/**
 * The one error type the Cotool client throws for a failed API call.
 *
 * It carries what a caller needs to decide (status, the body's `error`, `missingPerms`, `issues`)
 * and what an operator needs to read a log line (method and path), and nothing that could leak:
 * no URL query, no headers, no request body. Its message is always a single line.
 */
import { STATUS_CODES } from 'node:http';

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
