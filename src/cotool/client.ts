/**
 * Client for the Cotool alerts REST API (see ../shared/cotool-api).
 *
 * - Transport is ky: base URL, auth and identity headers, a per-attempt timeout, retries with
 *   exponential backoff and jitter that honour `Retry-After`. Each method picks a retry policy that
 *   matches what a repeat would do on the server (see `retryPolicy`).
 * - Every failure surfaces as a `CotoolError` (./errors.ts) of kind http, network, timeout or schema.
 * - Responses are read tolerantly: envelopes are checked strictly, items one by one. A list item
 *   that does not parse is skipped and counted; values and fields this bot does not know yet are
 *   logged once and kept. What the server sent is never logged whole.
 * - The API key only ever travels in the Authorization header. Logs and errors carry the method
 *   and the API path, never the URL query, headers or bodies.
 */
import ky, { isHTTPError, isNetworkError, isTimeoutError, type KyInstance, type RetryOptions } from 'ky';
import { z } from 'zod';
import pkg from '../../package.json' with { type: 'json' };
import { type Logger, scrubSecrets } from '../log.ts';
import { CotoolError, type CotoolErrorInit, isConnectFailureCode, oneLine } from './errors.ts';
import {
  type Alert,
  AlertEnvelopeSchema,
  type AlertPage,
  AlertSchema,
  type AlertWithTimeline,
  CommentEnvelopeSchema,
  type DetailsChangeResult,
  DetailsEnvelopeSchema,
  type DetailsPatch,
  type Drift,
  driftOf,
  ErrorBodySchema,
  entryDriftOf,
  type ListAlertsParams,
  ListEnvelopeSchema,
  type StatusChangeResult,
  StatusEnvelopeSchema,
  type TimelineEntry,
  TimelineEntrySchema,
  TimelineEnvelopeSchema,
  type TimelinePage,
} from './schemas.ts';

export type CotoolClientOptions = {
  /** e.g. `https://app.cotool.ai`; a trailing slash and a path prefix (behind a proxy) both work. */
  baseUrl: string;
  apiKey: string;
  logger: Logger;
  /** Per attempt, in ms (default 10 000). */
  timeoutMs?: number;
  /** Retries after the first attempt (default 3). */
  retryLimit?: number;
  /** Longest wait a `Retry-After` header can impose, in ms (default 30 000). */
  maxRetryAfterMs?: number;
  /** Longest backoff between retries when the server gives no `Retry-After`, in ms (default 5 000). */
  backoffLimitMs?: number;
  userAgent?: string;
  fetch?: typeof fetch;
  /**
   * Told once per HTTP attempt (a retry is another attempt): the route template, never an id, and
   * the status, or `timeout` / `network` when no answer came. Must not throw.
   */
  onRequest?: (attempt: RequestAttempt) => void;
};

/** The API paths the client calls, as templates (what metrics and logs may name). */
export const COTOOL_ROUTES = [
  '/api/alerts',
  '/api/alerts/:id',
  '/api/alerts/:id/status',
  '/api/alerts/for-run/:id',
  '/api/alerts/:id/comments',
  '/api/alerts/:id/timeline',
] as const;
export type CotoolRoute = (typeof COTOOL_ROUTES)[number];

export type RequestAttempt = {
  method: 'GET' | 'POST' | 'PATCH';
  route: CotoolRoute;
  status: number | 'timeout' | 'network';
  ms: number;
};

export type ListAllOptions = {
  /** Alerts per request, 1–200 (default 200). */
  pageSize?: number;
  /** Requests before giving up with a partial list flagged `truncated` (default 50). */
  maxPages?: number;
};

/** A listed alert before validation: what tells whether it changed, and the item itself. */
export type ListedItem = {
  id: string | null;
  updatedAt: string | null;
  status: string | null;
  raw: unknown;
  offset: number;
};
export type RawAlertPage = { items: ListedItem[]; last: boolean; truncated: boolean; pages: number };

/** One page of a paged listing; `last` on the final page (`truncated` when maxPages cut it short). */
export type AlertPageOf = { alerts: Alert[]; skipped: number; last: boolean; truncated: boolean; pages: number };

export type AlertListing = {
  alerts: Alert[];
  totalCount: number;
  skipped: number;
  pages: number;
  /**
   * `maxPages` was reached before the end of the list: `alerts` is NOT the full set. Always set by
   * the client; optional only so hand-written stubs of the client type stay valid.
   */
  truncated?: boolean;
};

/**
 * Added to write results. `false` when the alert in the response lacked fields the bot relies on
 * and placeholders were filled in: re-fetch the alert before rendering it.
 */
export type WriteMeta = { alertComplete: boolean };

export type CotoolClient = {
  /** One page of alerts. Malformed items are skipped and counted in `skipped`. */
  listAlerts(params?: ListAlertsParams): Promise<AlertPage>;
  /** Every matching alert, deduplicated by id. Throws if any page fails. */
  listAllAlerts(params?: Omit<ListAlertsParams, 'limit' | 'offset'>, opts?: ListAllOptions): Promise<AlertListing>;
  /** The listing page by page, items validated on demand with `parseListedAlert`. */
  listRawAlertPages(
    params?: Omit<ListAlertsParams, 'limit' | 'offset'>,
    opts?: ListAllOptions,
  ): AsyncGenerator<RawAlertPage>;
  /** Validates a listed item: the alert, or null when it is malformed (logged and skipped). */
  parseListedAlert(item: ListedItem): Alert | null;
  /** The listing page by page (see listAlertPages in the implementation). */
  listAlertPages(
    params?: Omit<ListAlertsParams, 'limit' | 'offset'>,
    opts?: ListAllOptions,
  ): AsyncGenerator<AlertPageOf>;
  /** An alert by UUID or display id (`COT-123`) with the first page of its timeline. */
  getAlert(idOrDisplayId: string): Promise<AlertWithTimeline>;
  /** The alert a run minted, or null when the run has none. */
  getAlertForRun(runId: string): Promise<Alert | null>;
  /** Sends exactly one status change per call unless the server refused it outright (429/503). */
  updateStatus(id: string, status: string, reason?: string): Promise<StatusChangeResult & WriteMeta>;
  updateDetails(id: string, patch: DetailsPatch): Promise<DetailsChangeResult & WriteMeta>;
  /**
   * Appends a comment to the alert's timeline; the new entry. Not idempotent (a repeat adds a second
   * comment), so it is sent again only when the server surely did nothing (429/503, no connection).
   * Cotool records the API key's user as the author: callers name the Slack user in the body.
   */
  addComment(alertId: string, bodyMarkdown: string): Promise<TimelineEntry>;
  /** One page of the alert's timeline (`limit` 1–200, default 100; `offset` ≥ 0). Bad entries are skipped and counted. */
  getTimeline(alertId: string, page?: { limit?: number; offset?: number }): Promise<TimelinePage>;
  /**
   * The alert's whole timeline, oldest first, deduplicated by id, in at most `maxPages` requests
   * (default 10 of 200: 2,000 entries); beyond that `truncated` is set and the oldest pages are what
   * was read.
   */
  listTimeline(alertId: string, opts?: { pageSize?: number; maxPages?: number }): Promise<TimelineListing>;
};

export type TimelineListing = {
  entries: TimelineEntry[];
  totalCount: number;
  skipped: number;
  pages: number;
  truncated: boolean;
};

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_RETRY_LIMIT = 3;
const DEFAULT_MAX_RETRY_AFTER_MS = 30_000;
const DEFAULT_BACKOFF_LIMIT_MS = 5_000;
const MAX_PAGE_SIZE = 200;
const DEFAULT_MAX_PAGES = 50;
const DEFAULT_MAX_TIMELINE_PAGES = 10;
/** The API's limit on a comment's body. */
export const COMMENT_MAX = 20_000;
/** Bound on the drift notes remembered, so a server sending random values cannot grow memory. */
const MAX_NOTES = 1_000;

type Method = RequestAttempt['method'];
type Policy = 'read' | 'status-write' | 'details-write' | 'comment-write';

type Call = {
  method: Method;
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

/** Facts about a write that the response's alert is checked against. */
type WriteContext = { call: Call; requestedId: string; facts: Record<string, unknown> };

type ZodIssue = z.ZodError['issues'][number];
/** An alert as parsed (named fields typed); exposed to callers as `Alert`. */
type ParsedAlert = z.infer<typeof AlertSchema>;

type Note = { kind: Drift['kind'] | 'missing_field' | 'bad_type'; path: string; value?: string };

export function createCotoolClient(opts: CotoolClientOptions): CotoolClient {
  const baseUrl = checkBaseUrl(opts.baseUrl);
  const apiKey = checkApiKey(opts.apiKey);
  const log = opts.logger;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const retryLimit = opts.retryLimit ?? DEFAULT_RETRY_LIMIT;
  const maxRetryAfterMs = opts.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
  const backoffLimitMs = opts.backoffLimitMs ?? DEFAULT_BACKOFF_LIMIT_MS;

  const api: KyInstance = ky.create({
    prefix: baseUrl,
    headers: {
      authorization: `Bearer ${apiKey}`,
      accept: 'application/json',
      'user-agent': opts.userAgent ?? `cotool-slack/${pkg.version}`,
    },
    timeout: timeoutMs,
    throwHttpErrors: true,
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });

  /** Removes the API key (and any bearer token) from text that came from outside. */
  const scrub = (text: string): string =>
    scrubSecrets(text, [apiKey]).replace(/Bearer\s+[^\s"',;]+/gi, 'Bearer [redacted]');

  // -------------------------------------------------------------------------------------------
  // Retry policy, per kind of call.

  const backoff = {
    limit: retryLimit,
    maxRetryAfter: maxRetryAfterMs,
    backoffLimit: backoffLimitMs,
    delay: (attempt: number) => 300 * 2 ** (attempt - 1),
    // Half fixed, half random: spreads retries out while always waiting at least half the backoff.
    jitter: (delay: number) => delay / 2 + Math.random() * (delay / 2),
  } satisfies RetryOptions;

  const TRANSIENT = [408, 413, 429, 500, 502, 503, 504];
  const RETRY_AFTER = [413, 429, 503];

  function retryPolicy(policy: Policy): RetryOptions {
    switch (policy) {
      // Reads are safe to repeat.
      case 'read':
        return {
          ...backoff,
          methods: ['get'],
          statusCodes: TRANSIENT,
          afterStatusCodes: RETRY_AFTER,
          retryOnTimeout: true,
        };
      // PATCH sets title/description to the values given: a repeat after a lost answer writes the
      // same values again and the server records entries only for fields that changed, so it is
      // retried like a read.
      case 'details-write':
        return {
          ...backoff,
          methods: ['patch'],
          statusCodes: TRANSIENT,
          afterStatusCodes: RETRY_AFTER,
          retryOnTimeout: true,
        };
      // A status change is what a Slack click does, and a click must cause at most one change. Retry
      // only when the server certainly did not act: a 429 or 503 refusal, or a connection that was
      // never made. Not after a 500, a timeout or a reset connection: the change may have been
      // committed with only the answer lost. Re-sending the same status would be mostly harmless
      // (the server answers `statusChanged: false` with no new entry) but it would misreport the
      // outcome to the clicker, drop their reason, and could undo a change someone else made in
      // between. The caller re-reads the alert instead (`CotoolError.mayHaveApplied()`).
      // A comment is appended each time it is sent: the same rule as a status change, for the same
      // reason (a repeat after a lost answer would write it twice).
      case 'status-write':
      case 'comment-write':
        return {
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
    }
  }

  // -------------------------------------------------------------------------------------------
  // One API call: send, retry, read JSON, turn every failure into a CotoolError.

  async function send(call: Call): Promise<unknown> {
    const { method, path } = call;
    const started = performance.now();
    const ms = () => Math.round(performance.now() - started);
    let attempts = 1;
    let status: number | undefined;
    let contentType = '';
    // Each attempt is reported once: with its status when an answer came, else when it failed.
    let attemptStarted = started;
    let reported = false;
    const report = (outcome: RequestAttempt['status']) => {
      if (reported) return;
      reported = true;
      try {
        opts.onRequest?.({ method, route: call.route, status: outcome, ms: performance.now() - attemptStarted });
      } catch (err) {
        log.debug({ err }, 'onRequest hook failed');
      }
    };
    log.debug({ method, path }, 'cotool request');
    try {
      const text = await api(path, {
        method,
        ...(call.searchParams ? { searchParams: call.searchParams } : {}),
        ...(call.json !== undefined ? { json: call.json } : {}),
        retry: retryPolicy(call.policy),
        hooks: {
          beforeRetry: [
            ({ error, retryCount }) => {
              report(isTimeoutError(error) ? 'timeout' : 'network');
              attemptStarted = performance.now();
              reported = false;
              attempts = retryCount + 1;
              log.debug({ method, path, retry: retryCount, after: retryReason(error) }, 'cotool request retry');
            },
          ],
          afterResponse: [
            ({ response }) => {
              status = response.status;
              report(response.status);
              contentType = response.headers.get('content-type') ?? '';
            },
          ],
        },
      }).text();
      log.debug({ method, path, status, ms: ms(), attempts }, 'cotool response');
      return parseJsonBody(text, contentType, call);
    } catch (err) {
      const error = err instanceof CotoolError ? err : toCotoolError(err, call, attempts);
      report(error.kind === 'timeout' ? 'timeout' : 'network');
      log.debug({ method, path, status, ms: ms(), attempts, kind: error.kind }, 'cotool request failed');
      throw error;
    }
  }

  function parseJsonBody(text: string, contentType: string, call: Call): unknown {
    if (text.trim() === '') throw schemaError(call, 'empty body where JSON was expected');
    try {
      return JSON.parse(text);
    } catch {
      const type = oneLine(contentType.split(';')[0] ?? '', 60) || 'no content-type';
      throw schemaError(call, `body is not JSON (${type})`);
    }
  }

  function toCotoolError(err: unknown, call: Call, attempts: number): CotoolError {
    const base = { method: call.method, path: call.path, attempts, byId: call.byId ?? false };
    if (isHTTPError(err)) {
      return new CotoolError({ ...base, kind: 'http', status: err.response.status, ...readErrorBody(err.data) });
    }
    if (isTimeoutError(err)) {
      return new CotoolError({ ...base, kind: 'timeout', detail: `after ${timeoutMs} ms` });
    }
    if (isNetworkError(err)) {
      const code = findErrorCode(err.cause);
      const detail = code ? undefined : causeText(err.cause);
      return new CotoolError({ ...base, kind: 'network', ...(code ? { code } : {}), ...(detail ? { detail } : {}) });
    }
    // The runtime's fetch failed in a way ky does not recognise; treat it as a transport failure.
    return new CotoolError({ ...base, kind: 'network', detail: causeText(err) ?? 'request failed' });
  }

  function readErrorBody(data: unknown): Pick<CotoolErrorInit, 'apiMessage' | 'missingPerms' | 'issues'> {
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
    const parsed = ErrorBodySchema.safeParse(body);
    const fields = parsed.success
      ? parsed.data
      : {
          error: ErrorBodySchema.shape.error.safeParse((body as Record<string, unknown>).error).data,
          missingPerms: ErrorBodySchema.shape.missingPerms.safeParse((body as Record<string, unknown>).missingPerms)
            .data,
          issues: ErrorBodySchema.shape.issues.safeParse((body as Record<string, unknown>).issues).data,
        };
    const out: Pick<CotoolErrorInit, 'apiMessage' | 'missingPerms' | 'issues'> = {};
    if (fields.error !== undefined) out.apiMessage = oneLine(scrub(fields.error));
    if (fields.missingPerms !== undefined)
      out.missingPerms = fields.missingPerms.slice(0, 20).map((p) => oneLine(scrub(p), 100));
    if (fields.issues !== undefined) out.issues = fields.issues.slice(0, 20).map(scrubValue);
    return out;
  }

  function scrubValue(value: unknown): unknown {
    try {
      return JSON.parse(scrub(JSON.stringify(value) ?? 'null'));
    } catch {
      return null;
    }
  }

  function causeText(cause: unknown): string | undefined {
    if (!(cause instanceof Error)) return cause === undefined ? undefined : oneLine(scrub(String(cause)), 120);
    const inner = cause.cause instanceof Error ? `: ${cause.cause.message}` : '';
    // A message may quote the URL (query included); keep the words, drop the URL.
    return oneLine(scrub(`${cause.message}${inner}`).replace(/https?:\/\/\S+/g, '<url>'), 160);
  }

  function schemaError(call: Call, detail: string, issues?: ZodIssue[]): CotoolError {
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

  // -------------------------------------------------------------------------------------------
  // Drift notes: logged once per client (the bot makes one per process) per (kind, path, value).

  const noted = new Set<string>();
  let notesCapped = false;

  function note(n: Note, context: Record<string, unknown> = {}): void {
    const value = n.value === undefined ? undefined : oneLine(scrub(n.value), 100);
    const key = `${n.kind}\u0000${n.path}\u0000${value ?? ''}`;
    if (noted.has(key)) return;
    if (noted.size >= MAX_NOTES) {
      if (!notesCapped) {
        notesCapped = true;
        log.warn({ limit: MAX_NOTES }, 'Cotool API drift: too many distinct notes, further ones are not logged');
      }
      return;
    }
    noted.add(key);
    log.warn(
      { drift: { kind: n.kind, path: n.path, ...(value !== undefined ? { value } : {}) }, ...context },
      NOTE_TEXT[n.kind],
    );
  }

  function noteDrift(drifts: Drift[], context: Record<string, unknown>): void {
    for (const d of drifts) note(d, context);
  }

  /** Warns about a skipped item the first time its (id, problem) pair is seen; later at debug. */
  function skipped(what: string, raw: unknown, error: z.ZodError, context: Record<string, unknown> = {}): void {
    const ids = idsOf(raw);
    const issues = error.issues.slice(0, 10).map(issueSummary);
    const key = `skip\u0000${what}\u0000${ids.id ?? ids.displayId ?? '?'}\u0000${issues.map((i) => i.path).join(',')}`;
    const first = !noted.has(key) && noted.size < MAX_NOTES;
    if (first) noted.add(key);
    log[first ? 'warn' : 'debug'](
      { ...context, ...ids, issues },
      `skipping a Cotool ${what} that does not match the expected shape`,
    );
  }

  // -------------------------------------------------------------------------------------------
  // Readers.

  function readListedAlert(raw: unknown): ParsedAlert | z.ZodError {
    const parsed = AlertSchema.safeParse(raw);
    if (!parsed.success) return parsed.error;
    noteDrift(driftOf(raw as Record<string, unknown>), { alertId: parsed.data.id });
    return parsed.data;
  }

  function readEntry(raw: unknown, alertId: string): TimelineEntry | null {
    const parsed = TimelineEntrySchema.safeParse(raw);
    if (!parsed.success) {
      skipped('timeline entry', raw, parsed.error, { alertId });
      return null;
    }
    noteDrift(entryDriftOf(raw as Record<string, unknown>), { alertId, entryId: parsed.data.id });
    return parsed.data;
  }

  function readTimeline(raw: unknown, alertId: string): TimelineEntry[] {
    if (raw === undefined || raw === null) {
      note({ kind: 'missing_field', path: 'alert.timeline' }, { alertId });
      return [];
    }
    if (!Array.isArray(raw)) {
      note({ kind: 'bad_type', path: 'alert.timeline', value: typeof raw }, { alertId });
      return [];
    }
    const entries: TimelineEntry[] = [];
    for (const item of raw) {
      const entry = readEntry(item, alertId);
      if (entry) entries.push(entry);
    }
    return entries;
  }

  /**
   * The alert a write returned. The server's write responses are documented with fewer fields
   * than reads, and the status example even omits `status`. So: fill what the request itself
   * proves (the status just set, the title just written), keep whatever else parses, and only
   * throw when not even the alert's id is there. When placeholders had to stand in for required
   * fields, `complete` is false and the caller re-fetches before rendering.
   */
  function readWrittenAlert(raw: unknown, ctx: WriteContext): { alert: ParsedAlert; complete: boolean } {
    if (!isRecord(raw) || typeof raw.id !== 'string' || raw.id === '') {
      throw schemaError(ctx.call, 'the response has no alert id');
    }
    const alertId = raw.id;
    const filled: Record<string, unknown> = { ...raw };
    for (const [key, value] of Object.entries(ctx.facts)) {
      if (filled[key] === undefined || filled[key] === null) {
        filled[key] = value;
        note({ kind: 'missing_field', path: `${ctx.call.method} ${routeOf(ctx.call)} alert.${key}` }, { alertId });
      }
    }
    noteDrift(driftOf(raw), { alertId });
    const parsed = AlertSchema.safeParse(filled);
    if (parsed.success) return { alert: parsed.data, complete: true };

    log.warn(
      { alertId, issues: parsed.error.issues.slice(0, 10).map(issueSummary) },
      'Cotool write response carried an incomplete alert; placeholders used, re-fetch it before rendering',
    );
    const fallbackDisplayId = /^COT-\d+$/i.test(ctx.requestedId) ? ctx.requestedId.toUpperCase() : alertId;
    const placeholders: Record<string, unknown> = {
      displayId: fallbackDisplayId,
      title: '',
      status: 'unknown',
      createdAt: '',
      updatedAt: '',
    };
    const lenient = z.looseObject(
      Object.fromEntries(
        Object.entries(AlertSchema.shape).map(([key, schema]) => [
          key,
          (schema as z.ZodType).catch(placeholders[key] ?? null),
        ]),
      ),
    );
    return { alert: lenient.parse(filled) as ParsedAlert, complete: false };
  }

  // -------------------------------------------------------------------------------------------
  // Endpoints.

  type RawPage = {
    alerts: ParsedAlert[];
    totalCount: number | null;
    received: number;
    skipped: number;
    skippedKeys: string[];
  };

  /** One page of the listing, envelope checked, items not yet validated. */
  async function fetchItems(params: ListAlertsParams): Promise<{ items: unknown[]; totalCount: number | null }> {
    const call: Call = {
      method: 'GET',
      path: '/api/alerts',
      route: '/api/alerts',
      searchParams: toQuery(params),
      policy: 'read',
    };
    const body = await send(call);
    const envelope = ListEnvelopeSchema.safeParse(body);
    if (!envelope.success) throw schemaError(call, describeIssues(envelope.error), envelope.error.issues);
    const totalCount = envelope.data.totalCount ?? null;
    if (totalCount === null) note({ kind: 'missing_field', path: 'GET /api/alerts totalCount' });
    return { items: envelope.data.alerts, totalCount };
  }

  /** A listed item validated: the alert, or null when it is malformed (logged and skipped). */
  function parseListedAlert(item: ListedItem): ParsedAlert | null {
    const result = readListedAlert(item.raw);
    if (result instanceof z.ZodError) {
      skipped('alert', item.raw, result, { offset: item.offset });
      return null;
    }
    return result;
  }

  function peek(raw: unknown, offset: number): ListedItem {
    const r = isRecord(raw) ? raw : {};
    const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
    return { id: str(r.id), updatedAt: str(r.updatedAt), status: str(r.status), raw, offset };
  }

  /**
   * The listing page by page, items not yet validated: the poller validates only the alerts that
   * are new or changed (an unchanged alert costs a string comparison, not a schema parse).
   */
  async function* listRawAlertPages(
    params: Omit<ListAlertsParams, 'limit' | 'offset'> = {},
    options: ListAllOptions = {},
  ): AsyncGenerator<RawAlertPage> {
    const pageSize = clampInt(options.pageSize ?? MAX_PAGE_SIZE, 1, MAX_PAGE_SIZE);
    const maxPages = clampInt(options.maxPages ?? DEFAULT_MAX_PAGES, 1, Number.MAX_SAFE_INTEGER);
    let offset = 0;
    let pages = 0;
    let totalCount: number | null = null;
    for (;;) {
      const page = await fetchItems({ ...params, limit: pageSize, offset });
      pages += 1;
      totalCount = page.totalCount ?? totalCount;
      const items = page.items.map((raw, i) => peek(raw, offset + i));
      offset += page.items.length;
      const done = page.items.length < pageSize || (totalCount !== null && offset >= totalCount);
      const truncated = !done && pages >= maxPages;
      if (truncated) {
        log.warn(
          { pages, pageSize, seen: offset, totalCount },
          'Cotool alert listing stopped at maxPages; the list is partial',
        );
      }
      yield { items, last: done || truncated, truncated, pages };
      if (done || truncated) return;
    }
  }

  async function fetchPage(params: ListAlertsParams): Promise<RawPage> {
    const page = await fetchItems(params);
    const offset = params.offset ?? 0;
    const alerts: ParsedAlert[] = [];
    const skippedKeys: string[] = [];
    page.items.forEach((raw, index) => {
      const result = parseListedAlert(peek(raw, offset + index));
      if (result === null) {
        const { id } = idsOf(raw);
        skippedKeys.push(id ?? `#${offset + index}`);
      } else {
        alerts.push(result);
      }
    });
    return {
      alerts,
      totalCount: page.totalCount,
      received: page.items.length,
      skipped: skippedKeys.length,
      skippedKeys,
    };
  }

  async function listAlerts(params: ListAlertsParams = {}): Promise<AlertPage> {
    const page = await fetchPage(params);
    // Without a totalCount, what this page reaches is the best lower bound there is.
    const totalCount = page.totalCount ?? (params.offset ?? 0) + page.received;
    return { alerts: page.alerts, totalCount, skipped: page.skipped };
  }

  /**
   * The listing page by page, for callers that must not hold every alert at once (the poller). The
   * last page says whether the listing was complete. Offset paging over a changing set can repeat
   * an alert on two pages: callers dedupe by id. Any failed page throws.
   */
  async function* listAlertPages(
    params: Omit<ListAlertsParams, 'limit' | 'offset'> = {},
    options: ListAllOptions = {},
  ): AsyncGenerator<AlertPageOf> {
    // The same paging as the raw listing, each item validated.
    for await (const page of listRawAlertPages(params, options)) {
      const alerts: ParsedAlert[] = [];
      for (const item of page.items) {
        const alert = parseListedAlert(item);
        if (alert) alerts.push(alert);
      }
      yield {
        alerts,
        skipped: page.items.length - alerts.length,
        last: page.last,
        truncated: page.truncated,
        pages: page.pages,
      };
    }
  }

  async function listAllAlerts(
    params: Omit<ListAlertsParams, 'limit' | 'offset'> = {},
    options: ListAllOptions = {},
  ): Promise<AlertListing> {
    const pageSize = clampInt(options.pageSize ?? MAX_PAGE_SIZE, 1, MAX_PAGE_SIZE);
    const maxPages = clampInt(options.maxPages ?? DEFAULT_MAX_PAGES, 1, Number.MAX_SAFE_INTEGER);
    // The list has no promised order, so pages can overlap (or miss an item) when alerts change
    // between requests: dedupe by id, the later copy wins. Any failed page fails the whole call.
    const byId = new Map<string, ParsedAlert>();
    const skippedKeys = new Set<string>();
    let offset = 0;
    let pages = 0;
    let totalCount: number | null = null;
    let truncated = false;
    for (;;) {
      const page = await fetchPage({ ...params, limit: pageSize, offset });
      pages += 1;
      for (const alert of page.alerts) byId.set(alert.id, alert);
      for (const key of page.skippedKeys) skippedKeys.add(key);
      totalCount = page.totalCount ?? totalCount;
      offset += page.received;
      const shortPage = page.received < pageSize;
      const reachedTotal = totalCount !== null && offset >= totalCount;
      if (shortPage || reachedTotal) break;
      if (pages >= maxPages) {
        truncated = true;
        log.warn(
          { pages, pageSize, seen: offset, totalCount },
          'Cotool alert listing stopped at maxPages; the list is partial',
        );
        break;
      }
    }
    for (const alert of byId.values()) skippedKeys.delete(alert.id);
    return {
      alerts: [...byId.values()],
      totalCount: totalCount ?? offset,
      skipped: skippedKeys.size,
      pages,
      truncated,
    };
  }

  async function getAlert(idOrDisplayId: string): Promise<AlertWithTimeline> {
    const call: Call = {
      method: 'GET',
      path: `/api/alerts/${segment(idOrDisplayId)}`,
      route: '/api/alerts/:id',
      policy: 'read',
      byId: true,
    };
    const body = await send(call);
    const envelope = AlertEnvelopeSchema.safeParse(body);
    if (!envelope.success || !isRecord(envelope.data.alert)) {
      throw schemaError(call, envelope.success ? 'alert is not an object' : describeIssues(envelope.error));
    }
    const raw = envelope.data.alert;
    const parsed = AlertSchema.safeParse(raw);
    if (!parsed.success) throw schemaError(call, `alert: ${describeIssues(parsed.error)}`, parsed.error.issues);
    noteDrift(driftOf(raw), { alertId: parsed.data.id });
    return { ...parsed.data, timeline: readTimeline(raw.timeline, parsed.data.id) };
  }

  async function getAlertForRun(runId: string): Promise<Alert | null> {
    const call: Call = {
      method: 'GET',
      path: `/api/alerts/for-run/${segment(runId)}`,
      route: '/api/alerts/for-run/:id',
      policy: 'read',
      byId: true,
    };
    const body = await send(call);
    if (!isRecord(body) || !('alert' in body)) throw schemaError(call, 'no `alert` in the response');
    if (body.alert === null) return null;
    const parsed = AlertSchema.safeParse(body.alert);
    if (!parsed.success) throw schemaError(call, `alert: ${describeIssues(parsed.error)}`, parsed.error.issues);
    noteDrift(driftOf(body.alert as Record<string, unknown>), { alertId: parsed.data.id });
    return parsed.data;
  }

  async function updateStatus(id: string, status: string, reason?: string): Promise<StatusChangeResult & WriteMeta> {
    const json: { status: string; reason?: string } = { status };
    // The API wants 1–2000 characters when a reason is given; an empty one means none.
    if (reason !== undefined && reason !== '') json.reason = reason;
    const call: Call = {
      method: 'POST',
      path: `/api/alerts/${segment(id)}/status`,
      route: '/api/alerts/:id/status',
      json,
      policy: 'status-write',
    };
    const body = await send(call);
    const envelope = StatusEnvelopeSchema.safeParse(body);
    if (!envelope.success) throw schemaError(call, describeIssues(envelope.error), envelope.error.issues);
    // A 2xx proves the alert is now in the requested status (changed, or already there).
    const { alert, complete } = readWrittenAlert(envelope.data.alert, { call, requestedId: id, facts: { status } });
    const rawEntry = envelope.data.entry;
    const entry = rawEntry === undefined || rawEntry === null ? null : readEntry(rawEntry, alert.id);
    let statusChanged = envelope.data.statusChanged;
    if (statusChanged === undefined) {
      note({ kind: 'missing_field', path: 'POST /api/alerts/{id}/status statusChanged' }, { alertId: alert.id });
      // The server records an entry exactly when the status changed.
      statusChanged = rawEntry !== undefined && rawEntry !== null;
    }
    return { alert, entry, statusChanged, alertComplete: complete };
  }

  async function updateDetails(id: string, patch: DetailsPatch): Promise<DetailsChangeResult & WriteMeta> {
    const json: DetailsPatch = {};
    if (patch.title !== undefined) json.title = patch.title;
    // `null` clears the description, so it is sent as null; only `undefined` leaves it alone.
    if (patch.description !== undefined) json.description = patch.description;
    if (Object.keys(json).length === 0) throw new RangeError('updateDetails needs a title or a description');
    const call: Call = {
      method: 'PATCH',
      path: `/api/alerts/${segment(id)}`,
      route: '/api/alerts/:id',
      json,
      policy: 'details-write',
    };
    const body = await send(call);
    const envelope = DetailsEnvelopeSchema.safeParse(body);
    if (!envelope.success) throw schemaError(call, describeIssues(envelope.error), envelope.error.issues);
    const facts: Record<string, unknown> = {};
    if (json.title !== undefined) facts.title = json.title;
    const { alert, complete } = readWrittenAlert(envelope.data.alert, { call, requestedId: id, facts });
    const entries: TimelineEntry[] = [];
    for (const raw of envelope.data.entries ?? []) {
      const entry = readEntry(raw, alert.id);
      if (entry) entries.push(entry);
    }
    return { alert, entries, alertComplete: complete };
  }

  async function addComment(alertId: string, bodyMarkdown: string): Promise<TimelineEntry> {
    if (typeof bodyMarkdown !== 'string' || bodyMarkdown.length < 1 || bodyMarkdown.length > COMMENT_MAX) {
      throw new RangeError(`a comment must be 1–${COMMENT_MAX} characters`);
    }
    const call: Call = {
      method: 'POST',
      path: `/api/alerts/${segment(alertId)}/comments`,
      route: '/api/alerts/:id/comments',
      json: { bodyMarkdown },
      policy: 'comment-write',
    };
    const body = await send(call);
    const envelope = CommentEnvelopeSchema.safeParse(body);
    if (!envelope.success) throw schemaError(call, describeIssues(envelope.error), envelope.error.issues);
    const parsed = TimelineEntrySchema.safeParse(envelope.data.entry);
    if (!parsed.success) throw schemaError(call, `entry: ${describeIssues(parsed.error)}`, parsed.error.issues);
    noteDrift(entryDriftOf(envelope.data.entry as Record<string, unknown>), { alertId, entryId: parsed.data.id });
    return parsed.data;
  }

  async function getTimeline(alertId: string, page: { limit?: number; offset?: number } = {}): Promise<TimelinePage> {
    const searchParams = new URLSearchParams();
    if (page.limit !== undefined) searchParams.set('limit', String(clampInt(page.limit, 1, MAX_PAGE_SIZE)));
    if (page.offset !== undefined)
      searchParams.set('offset', String(clampInt(page.offset, 0, Number.MAX_SAFE_INTEGER)));
    const call: Call = {
      method: 'GET',
      path: `/api/alerts/${segment(alertId)}/timeline`,
      route: '/api/alerts/:id/timeline',
      searchParams,
      policy: 'read',
      byId: true,
    };
    const body = await send(call);
    const envelope = TimelineEnvelopeSchema.safeParse(body);
    if (!envelope.success) throw schemaError(call, describeIssues(envelope.error), envelope.error.issues);
    const entries: TimelineEntry[] = [];
    for (const item of envelope.data.entries) {
      const entry = readEntry(item, alertId);
      if (entry) entries.push(entry);
    }
    const received = envelope.data.entries.length;
    let totalCount = envelope.data.totalCount;
    if (totalCount === undefined) {
      note({ kind: 'missing_field', path: 'GET /api/alerts/{id}/timeline totalCount' }, { alertId });
      totalCount = (page.offset ?? 0) + received;
    }
    return { entries, totalCount, skipped: received - entries.length, received };
  }

  async function listTimeline(
    alertId: string,
    opts: { pageSize?: number; maxPages?: number } = {},
  ): Promise<TimelineListing> {
    const pageSize = clampInt(opts.pageSize ?? MAX_PAGE_SIZE, 1, MAX_PAGE_SIZE);
    const maxPages = clampInt(opts.maxPages ?? DEFAULT_MAX_TIMELINE_PAGES, 1, Number.MAX_SAFE_INTEGER);
    // The order of entries is not promised: dedupe by id (the later copy wins), sort by createdAt.
    const byId = new Map<string, TimelineEntry>();
    let offset = 0;
    let pages = 0;
    let skipped = 0;
    let totalCount = 0;
    let truncated = false;
    for (;;) {
      const page = await getTimeline(alertId, { limit: pageSize, offset });
      pages += 1;
      for (const entry of page.entries) byId.set(entry.id, entry);
      skipped += page.skipped;
      totalCount = page.totalCount;
      offset += page.received;
      if (page.received < pageSize || offset >= totalCount) break;
      if (pages >= maxPages) {
        truncated = true;
        log.warn(
          { alertId, pages, pageSize, totalCount },
          'Cotool timeline listing stopped at maxPages; it is partial',
        );
        break;
      }
    }
    return { entries: sortEntries([...byId.values()]), totalCount, skipped, pages, truncated };
  }

  return {
    listAlerts,
    listAllAlerts,
    listAlertPages,
    listRawAlertPages,
    parseListedAlert,
    getAlert,
    getAlertForRun,
    updateStatus,
    updateDetails,
    addComment,
    getTimeline,
    listTimeline,
  };
}

/** Oldest first by createdAt (undated last), ties by id, so the order never depends on the server's. */
export function sortEntries(entries: readonly TimelineEntry[]): TimelineEntry[] {
  const at = (e: TimelineEntry) => {
    const ms = Date.parse(e.createdAt);
    return Number.isFinite(ms) ? ms : Number.POSITIVE_INFINITY;
  };
  return [...entries].sort((a, b) => at(a) - at(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

// ---------------------------------------------------------------------------------------------
// Helpers.

const NOTE_TEXT: Record<Note['kind'], string> = {
  unknown_value: 'Cotool API sent a value this bot does not know; keeping it',
  unknown_field: 'Cotool API sent a field this bot does not know; ignoring it',
  missing_field: 'Cotool API left out a documented field; working around it',
  bad_type: 'Cotool API sent a field of an unexpected type; ignoring it',
};

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

/** One encoded path segment. Ids are opaque; only dot segments cannot be addressed at all. */
function segment(id: string): string {
  if (typeof id !== 'string' || id === '' || id === '.' || id === '..') {
    throw new RangeError('Cotool id must be a non-empty string other than "." or ".."');
  }
  return encodeURIComponent(id);
}

function toQuery(params: ListAlertsParams): URLSearchParams {
  const query = new URLSearchParams();
  const put = (key: string, value: string | number | undefined) => {
    if (value !== undefined && value !== '') query.set(key, String(value));
  };
  const list = (key: string, values: readonly string[] | undefined) => {
    const items = (values ?? []).filter((v) => v !== '');
    if (items.length > 0) query.set(key, items.join(','));
  };
  put('limit', params.limit);
  put('offset', params.offset);
  list('status', params.status);
  list('severity', params.severity);
  list('source', params.source);
  put('assignedAgentId', params.assignedAgentId);
  put('detection', params.detection);
  put('detectionId', params.detectionId);
  put('originAgentId', params.originAgentId);
  put('originDetectionHitId', params.originDetectionHitId);
  put('q', params.q);
  return query;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The id and display id of a raw item, when they are short strings; nothing else of it. */
function idsOf(raw: unknown): { id?: string; displayId?: string } {
  if (!isRecord(raw)) return {};
  const out: { id?: string; displayId?: string } = {};
  if (typeof raw.id === 'string') out.id = oneLine(raw.id, 80);
  if (typeof raw.displayId === 'string') out.displayId = oneLine(raw.displayId, 40);
  return out;
}

function issueSummary(issue: ZodIssue): { path: string; code: string; message: string } {
  return { path: issue.path.map(String).join('.') || '(root)', code: issue.code, message: oneLine(issue.message, 120) };
}

function describeIssues(error: z.ZodError): string {
  const [first] = error.issues;
  if (!first) return 'invalid body';
  const where = first.path.map(String).join('.') || 'body';
  const more = error.issues.length > 1 ? ` (+${error.issues.length - 1} more)` : '';
  return `${where}: ${first.message}${more}`;
}

function routeOf(call: Call): string {
  return call.route.replace(':id', '{id}');
}

/** The first `code` string down an error's cause chain (ECONNREFUSED, UND_ERR_SOCKET, ...). */
function findErrorCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function retryReason(error: Error): string {
  if (isHTTPError(error)) return `HTTP ${error.response.status}`;
  if (isTimeoutError(error)) return 'timeout';
  if (isNetworkError(error)) return findErrorCode(error.cause) ?? 'network error';
  return error.name;
}

function clampInt(value: number, min: number, max: number): number {
  if (!Number.isFinite(value)) return max;
  return Math.min(max, Math.max(min, Math.trunc(value)));
}
