/**
 * Client for the Cotool alerts REST API (see ../shared/cotool-api): its endpoints and the one
 * offset paginator (alert pages, the alert listing, timelines).
 *
 * - Transport (./transport.ts): one ky instance, its hooks defined once; auth and identity
 *   headers, per-attempt timeout, retries with backoff that honour `Retry-After`, a retry policy
 *   per kind of call.
 * - Every failure surfaces as a `CotoolError` (./errors.ts) of kind http, network, timeout or schema.
 * - Responses are read tolerantly (./read.ts): envelopes are checked strictly, items one by one. A
 *   list item that does not parse is skipped and counted; values and fields this bot does not know
 *   yet are logged once and kept (./drift.ts). What the server sent is never logged whole.
 * - The API key only ever travels in the Authorization header. Logs and errors carry the method
 *   and the API path, never the URL query, headers or bodies.
 */
import type { z } from 'zod';
import {
  type Alert,
  AlertEnvelopeSchema,
  type AlertPage,
  type AlertWithTimeline,
  CommentEnvelopeSchema,
  type DetailsChangeResult,
  DetailsEnvelopeSchema,
  type DetailsPatch,
  entryDriftOf,
  type ListAlertsParams,
  ListEnvelopeSchema,
  type StatusChangeResult,
  StatusEnvelopeSchema,
  type TimelineEntry,
  TimelineEntrySchema,
  TimelineEnvelopeSchema,
  type TimelinePage,
} from '../core/alert.ts';
import type { Logger } from '../log.ts';
import type {
  AlertPageOf,
  CotoolClient,
  ListingOptions,
  ListingParams,
  RawAlertPage,
  TimelineListing,
  WriteMeta,
} from '../ports.ts';
import { createDriftLog } from './drift.ts';
import { describeIssues, schemaError as schemaErrorOf, secretScrubber } from './errors.ts';
import { createReaders, isRecord, peek, sortEntries } from './read.ts';
import { type Call, createTransport, type RequestAttempt } from './transport.ts';

export type { RequestAttempt } from './transport.ts';

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

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_RETRY_LIMIT = 3;
const DEFAULT_MAX_RETRY_AFTER_MS = 30_000;
const DEFAULT_BACKOFF_LIMIT_MS = 5_000;
const MAX_PAGE_SIZE = 200;
const DEFAULT_MAX_PAGES = 50;
const DEFAULT_MAX_TIMELINE_PAGES = 10;
/** The API's limit on a comment's body. */
export const COMMENT_MAX = 20_000;

/** One fetched page for the paginator: what it holds, how many items the server sent, its total. */
type Fetched<P> = { page: P; received: number; totalCount: number | null };
type Paged<P> = { page: P; offset: number; pages: number; last: boolean; truncated: boolean };

export function createCotoolClient(opts: CotoolClientOptions): CotoolClient {
  const log = opts.logger;
  const scrub = secretScrubber(opts.apiKey);
  const send = createTransport({
    ...opts,
    scrub,
    timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    retryLimit: opts.retryLimit ?? DEFAULT_RETRY_LIMIT,
    maxRetryAfterMs: opts.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS,
    backoffLimitMs: opts.backoffLimitMs ?? DEFAULT_BACKOFF_LIMIT_MS,
  });
  const drift = createDriftLog(log, scrub);
  const schemaError = (call: Call, detail: string, issues?: z.ZodError['issues']) =>
    schemaErrorOf(call, detail, scrub, issues);
  const read = createReaders(log, drift, schemaError);

  /** The envelope of a response, or a schema error. */
  function envelope<S extends z.ZodType>(schema: S, body: unknown, call: Call): z.infer<S> {
    const parsed = schema.safeParse(body);
    if (!parsed.success) throw schemaError(call, describeIssues(parsed.error), parsed.error.issues);
    return parsed.data;
  }

  /**
   * Offset paging, the one loop: pages of `pageSize` until a short page or `totalCount` items, at
   * most `maxPages` requests (then the last page is flagged `truncated` and a warning logged). Any
   * failed page throws.
   */
  async function* paginate<P>(
    fetchAt: (limit: number, offset: number) => Promise<Fetched<P>>,
    options: ListingOptions,
    defaults: { maxPages: number; what: string; context?: Record<string, unknown> },
  ): AsyncGenerator<Paged<P>> {
    const pageSize = clampInt(options.pageSize ?? MAX_PAGE_SIZE, 1, MAX_PAGE_SIZE);
    const maxPages = clampInt(options.maxPages ?? defaults.maxPages, 1, Number.MAX_SAFE_INTEGER);
    let offset = 0;
    let pages = 0;
    let totalCount: number | null = null;
    for (;;) {
      const start = offset;
      const fetched = await fetchAt(pageSize, offset);
      pages += 1;
      totalCount = fetched.totalCount ?? totalCount;
      offset += fetched.received;
      const done = fetched.received < pageSize || (totalCount !== null && offset >= totalCount);
      const truncated = !done && pages >= maxPages;
      if (truncated) {
        log.warn(
          { ...defaults.context, pages, pageSize, seen: offset, totalCount },
          `Cotool ${defaults.what} listing stopped at maxPages; the list is partial`,
        );
      }
      yield { page: fetched.page, offset: start, pages, last: done || truncated, truncated };
      if (done || truncated) return;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Endpoints.

  /** One page of the listing, envelope checked, items not yet validated. */
  async function fetchItems(params: ListAlertsParams): Promise<{ items: unknown[]; totalCount: number | null }> {
    const call: Call = {
      method: 'GET',
      path: '/api/alerts',
      route: '/api/alerts',
      searchParams: toQuery(params),
      policy: 'read',
    };
    const body = envelope(ListEnvelopeSchema, await send(call), call);
    const totalCount = body.totalCount ?? null;
    if (totalCount === null) drift.note({ kind: 'missing_field', path: 'GET /api/alerts totalCount' });
    return { items: body.alerts, totalCount };
  }

  async function listAlerts(params: ListAlertsParams = {}): Promise<AlertPage> {
    const page = await fetchItems(params);
    const offset = params.offset ?? 0;
    const alerts = read.readAllListed(page.items.map((raw, i) => peek(raw, offset + i)));
    // Without a totalCount, what this page reaches is the best lower bound there is.
    const totalCount = page.totalCount ?? offset + page.items.length;
    return { alerts, totalCount, skipped: page.items.length - alerts.length };
  }

  async function* listRawAlertPages(params: ListingParams = {}, options: ListingOptions = {}) {
    const fetchAt = async (limit: number, offset: number): Promise<Fetched<unknown[]>> => {
      const { items, totalCount } = await fetchItems({ ...params, limit, offset });
      return { page: items, received: items.length, totalCount };
    };
    for await (const p of paginate(fetchAt, options, { maxPages: DEFAULT_MAX_PAGES, what: 'alert' })) {
      const items = p.page.map((raw, i) => peek(raw, p.offset + i));
      yield { items, last: p.last, truncated: p.truncated, pages: p.pages } satisfies RawAlertPage;
    }
  }

  async function* listAlertPages(params: ListingParams = {}, options: ListingOptions = {}) {
    for await (const page of listRawAlertPages(params, options)) {
      const alerts = read.readAllListed(page.items);
      const { last, truncated, pages } = page;
      yield { alerts, skipped: page.items.length - alerts.length, last, truncated, pages } satisfies AlertPageOf;
    }
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
    const parsed = AlertEnvelopeSchema.safeParse(body);
    if (!parsed.success || !isRecord(parsed.data.alert)) {
      throw schemaError(call, parsed.success ? 'alert is not an object' : describeIssues(parsed.error));
    }
    const raw = parsed.data.alert;
    const alert = read.readAlert(raw, call);
    return { ...alert, timeline: read.readTimeline(raw.timeline, alert.id) };
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
    return body.alert === null ? null : read.readAlert(body.alert, call);
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
    const body = envelope(StatusEnvelopeSchema, await send(call), call);
    // A 2xx proves the alert is now in the requested status (changed, or already there).
    const { alert, complete } = read.readWrittenAlert(body.alert, { call, requestedId: id, facts: { status } });
    const rawEntry = body.entry;
    const entry = rawEntry === undefined || rawEntry === null ? null : read.readEntry(rawEntry, alert.id);
    let statusChanged = body.statusChanged;
    if (statusChanged === undefined) {
      drift.note({ kind: 'missing_field', path: 'POST /api/alerts/{id}/status statusChanged' }, { alertId: alert.id });
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
    const body = envelope(DetailsEnvelopeSchema, await send(call), call);
    const facts: Record<string, unknown> = {};
    if (json.title !== undefined) facts.title = json.title;
    const { alert, complete } = read.readWrittenAlert(body.alert, { call, requestedId: id, facts });
    return { alert, entries: read.readEntries(body.entries ?? [], alert.id), alertComplete: complete };
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
    const body = envelope(CommentEnvelopeSchema, await send(call), call);
    const parsed = TimelineEntrySchema.safeParse(body.entry);
    if (!parsed.success) throw schemaError(call, `entry: ${describeIssues(parsed.error)}`, parsed.error.issues);
    drift.noteAll(entryDriftOf(body.entry as Record<string, unknown>), { alertId, entryId: parsed.data.id });
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
    const body = envelope(TimelineEnvelopeSchema, await send(call), call);
    const entries = read.readEntries(body.entries, alertId);
    const received = body.entries.length;
    let totalCount = body.totalCount;
    if (totalCount === undefined) {
      drift.note({ kind: 'missing_field', path: 'GET /api/alerts/{id}/timeline totalCount' }, { alertId });
      totalCount = (page.offset ?? 0) + received;
    }
    return { entries, totalCount, skipped: received - entries.length, received };
  }

  async function listTimeline(alertId: string, options: ListingOptions = {}): Promise<TimelineListing> {
    const fetchAt = async (limit: number, offset: number): Promise<Fetched<TimelinePage>> => {
      const page = await getTimeline(alertId, { limit, offset });
      return { page, received: page.received, totalCount: page.totalCount };
    };
    // The order of entries is not promised: dedupe by id (the later copy wins), sort by createdAt.
    const byId = new Map<string, TimelineEntry>();
    let skipped = 0;
    let end = { totalCount: 0, pages: 0, truncated: false };
    const paging = { maxPages: DEFAULT_MAX_TIMELINE_PAGES, what: 'timeline', context: { alertId } };
    for await (const { page, pages, truncated } of paginate(fetchAt, options, paging)) {
      for (const entry of page.entries) byId.set(entry.id, entry);
      skipped += page.skipped;
      end = { totalCount: page.totalCount, pages, truncated };
    }
    return { entries: sortEntries([...byId.values()]), skipped, ...end };
  }

  return {
    listAlerts,
    listAlertPages,
    listRawAlertPages,
    parseListedAlert: read.readListed,
    getAlert,
    getAlertForRun,
    updateStatus,
    updateDetails,
    addComment,
    getTimeline,
    listTimeline,
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers.

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

function clampInt(value: number, min: number, max: number): number {
  if (!Number.isFinite(value)) return max;
  return Math.min(max, Math.max(min, Math.trunc(value)));
}
