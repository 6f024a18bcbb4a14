/**
 * A local stand-in for the Cotool alerts API (see shared/cotool-api), for end-to-end tests.
 *
 * It serves the five endpoints the bot is built on, plus the alert timeline and comments, from an
 * in-memory set of alerts, on 127.0.0.1 with an OS-assigned port. Behaviour that matters to a client:
 * - Every call needs `Authorization: Bearer <apiKey>`; otherwise 401 `{error}`.
 * - The list promises no order. By default alerts come in a stable but arbitrary order (a hash of the
 *   alert id), so a client that assumes newest-first is caught, while paging through one filter stays
 *   consistent. `setOrder('per_request')` reshuffles on every call; `'created_desc'` sorts newest first.
 * - `GET /api/alerts/{id}` takes a UUID or a display id. Display ids are matched case-sensitively:
 *   `COT-12` is found, `cot-12` is not a valid id and gets a 400 (like any id that is neither a UUID
 *   nor `COT-<digits>`); an unknown but well-formed id gets a 404 `{error: 'Alert not found'}`.
 * - The status and PATCH responses carry the alert without the hydrated extras (derivedDisposition,
 *   originAgentName, assignedAgentName, triggerSource), like the real server.
 * - Raw alerts added with `addRawAlert` are returned verbatim in every list page whatever the
 *   filters, and by `GET /api/alerts/{id}` when their `id` or `displayId` matches.
 */
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import {
  ALERT_STATUSES,
  type Alert,
  type AlertStatus,
  isClosed,
  SEVERITIES,
  type Severity,
  SOURCE_NAMES,
  type TimelineEntry,
} from '../../../src/core/alert.ts';

// ---------------------------------------------------------------------------------------------
// Shapes (the full response shapes of the API; every field present, nullable where the API says so)

export type CotoolSource = { category: string; name: string; triggerType: string | null };
export type CotoolDetection = { id: string | null; agentId: string | null; name: string; kind: string };

export type CotoolAlert = {
  id: string;
  displayId: string;
  organizationId: string;
  organizationName: string;
  title: string;
  description: string | null;
  severity: Severity | null;
  status: AlertStatus;
  source: CotoolSource;
  detection: CotoolDetection | null;
  createdBy: string;
  originAgentId: string | null;
  originTriggerId: string | null;
  originRunId: string | null;
  originDetectionHitId: string | null;
  externalProvider: string | null;
  externalRef: string | null;
  externalUrl: string | null;
  assignedAgentId: string | null;
  triageRunId: string | null;
  dedupeKey: string | null;
  createdAt: string;
  updatedAt: string;
  firstTriagedAt: string | null;
  resolvedAt: string | null;
  derivedDisposition: string | null;
  originAgentName: string | null;
  assignedAgentName: string | null;
  triggerSource: string | null;
};

/** The alert as the status and PATCH endpoints return it. */
export type CotoolAlertBare = Omit<CotoolAlert, (typeof HYDRATED)[number]>;

export type CotoolTimelineEntry = {
  id: string;
  organizationId: string;
  alertId: string;
  createdAt: string;
  actorType: 'human' | 'agent' | 'system';
  actorUserId: string | null;
  actorAgentId: string | null;
  actorRunId: string | null;
  actorUserName: string | null;
  actorUserImageUrl: string | null;
  actorAgentName: string | null;
  kind: string;
  bodyMarkdown: string | null;
  beforeStatus: string | null;
  afterStatus: string | null;
  metadata: Record<string, unknown>;
};

/** Compile-time check: what the fake serves must read as the bot's own `Alert` and `TimelineEntry`. */
type Assert<T extends true> = T;
export type FitsBotTypes = Assert<
  CotoolAlert extends Alert ? (CotoolTimelineEntry extends TimelineEntry ? true : false) : false
>;

export type CotoolAlertWithTimeline = CotoolAlert & { timeline: CotoolTimelineEntry[] };

export type Actor = { type: 'agent' | 'human' | 'system'; name: string; id?: string };
export type UpdateOptions = { actor?: Actor; reason?: string };

export type RequestMatch = { method?: string; pathPrefix?: string };
/**
 * An injected failure: an answer with this status (nothing carried out), a reset connection or a request
 * that never gets an answer (`hang`, nothing carried out), or `{ lateMs }`: carried out and answered only
 * after that long (a client whose timeout is shorter has given up by then, yet the change is made).
 */
export type FailureResponse =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | 'reset'
  | 'hang'
  | { lateMs: number };
export type OrderMode = 'shuffled' | 'per_request' | 'created_desc' | 'created_asc';

export type RecordedRequest = {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  headers: http.IncomingHttpHeaders;
  at: number;
  /** Set when `failNext` failed this request: `status <n>`, `reset` or `hang` (not carried out), or `late` (carried out). */
  fault?: string;
};

export type FakeCotool = {
  url: string;
  apiKey: string;
  close(): Promise<void>;
  addAlert(alertOrOverrides?: Partial<CotoolAlert>): CotoolAlert;
  /** Changes fields and appends the matching timeline entries. Throws for an unknown id. */
  updateAlert(
    id: string,
    patch: Partial<CotoolAlert>,
    opts?: UpdateOptions,
  ): { alert: CotoolAlert; entries: CotoolTimelineEntry[] };
  addTimelineEntry(id: string, entry: Partial<CotoolTimelineEntry> & { kind: string }): CotoolTimelineEntry;
  removeAlert(id: string): boolean;
  getAlert(id: string): CotoolAlertWithTimeline | undefined;
  alerts(): CotoolAlert[];
  /** An object returned verbatim in every list page (whatever the filters). */
  addRawAlert(obj: unknown): void;
  clearRawAlerts(): void;
  setOrder(mode: OrderMode): void;
  failNext(n: number, response: FailureResponse, match?: RequestMatch): void;
  setDelay(ms: number, match?: RequestMatch): void;
  setForbidden(missingPerms: string[] | null, match?: RequestMatch): void;
  /** Drops all failures, delays and 403s. */
  clearFailures(): void;
  requests: RecordedRequest[];
  clearRequests(): void;
  count(method: string, pathPrefix?: string): number;
};

export type FakeCotoolOptions = { apiKey?: string; actorName?: string; seed?: string };

export const COTOOL_TEST_API_KEY = 'test-cotool-key-0123456789';
export const FAKE_ORG_ID = '5b3f8a52-4c1e-4d7a-9b0e-2f6c1d9e8a10';
const HYDRATED = ['derivedDisposition', 'originAgentName', 'assignedAgentName', 'triggerSource'] as const;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DISPLAY_RE = /^COT-\d+$/;

// ---------------------------------------------------------------------------------------------
// Builders

let lastStampMs = 0;
/** An ISO timestamp, strictly later than every one handed out before (even within one ms). */
export function nextTimestamp(): string {
  lastStampMs = Math.max(Date.now(), lastStampMs + 1);
  return new Date(lastStampMs).toISOString();
}

/** A stable UUID-shaped id derived from a name (same name, same id). */
export function uuidFromName(name: string): string {
  const h = createHash('sha1').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function dispositionOf(status: string): string | null {
  return isClosed(status) ? status.replace(/^closed_/, '') : null;
}

let nextDisplayNumber = 1;
const DETECTIONS = [
  'Impossible travel sign-in',
  'New admin role granted outside change window',
  'Mass download from shared drive',
  'Suspicious OAuth consent grant',
];

/** A realistic detection-sourced alert; overrides win, and derived fields follow them. */
export function makeAlert(overrides: Partial<CotoolAlert> = {}): CotoolAlert {
  const n = nextDisplayNumber++;
  const now = nextTimestamp();
  const detectionName = DETECTIONS[n % DETECTIONS.length] ?? 'Detection';
  const detectionAgentId = uuidFromName('agent:Identity Detection Agent');
  const hitId = randomUUID();
  const base: CotoolAlert = {
    id: randomUUID(),
    displayId: `COT-${n}`,
    organizationId: FAKE_ORG_ID,
    organizationName: 'acme',
    title: `${detectionName}: user${n}@acme.example`,
    description: `**${detectionName}** fired for \`user${n}@acme.example\`.\n\n- Source IP: 203.0.113.${n % 250}\n- ASN: AS64500`,
    severity: 'high',
    status: 'open',
    source: { category: 'detection', name: 'cotool_detection', triggerType: null },
    detection: {
      id: uuidFromName(`detection:${detectionName}`),
      agentId: detectionAgentId,
      name: detectionName,
      kind: 'cotool',
    },
    createdBy: 'agent',
    originAgentId: detectionAgentId,
    originTriggerId: null,
    originRunId: randomUUID(),
    originDetectionHitId: hitId,
    externalProvider: null,
    externalRef: null,
    externalUrl: null,
    assignedAgentId: uuidFromName('agent:Tier 1 Response Agent'),
    triageRunId: null,
    dedupeKey: `detection-hit:${hitId}`,
    createdAt: now,
    updatedAt: now,
    firstTriagedAt: null,
    resolvedAt: null,
    derivedDisposition: null,
    originAgentName: 'Identity Detection Agent',
    assignedAgentName: 'Tier 1 Response Agent',
    triggerSource: null,
  };
  const alert: CotoolAlert = { ...base, ...overrides };
  if (overrides.createdAt && !overrides.updatedAt) alert.updatedAt = overrides.createdAt;
  if (!('derivedDisposition' in overrides)) alert.derivedDisposition = dispositionOf(alert.status);
  if (!('resolvedAt' in overrides)) alert.resolvedAt = isClosed(alert.status) ? alert.updatedAt : null;
  if (overrides.source && overrides.source.category === 'trigger') {
    const t = overrides.source.triggerType;
    if (!('triggerSource' in overrides)) alert.triggerSource = t;
    if (!('externalProvider' in overrides)) alert.externalProvider = t;
    if (!('createdBy' in overrides)) alert.createdBy = 'trigger';
    if (!('detection' in overrides)) alert.detection = null;
    if (!('originDetectionHitId' in overrides)) alert.originDetectionHitId = null;
    if (!('originTriggerId' in overrides)) alert.originTriggerId = uuidFromName(`trigger:${t}`);
  }
  return alert;
}

function makeEntry(
  alert: CotoolAlert,
  actor: Actor,
  fields: Partial<CotoolTimelineEntry> & { kind: string },
): CotoolTimelineEntry {
  const isAgent = actor.type === 'agent';
  const isHuman = actor.type === 'human';
  return {
    id: randomUUID(),
    organizationId: alert.organizationId,
    alertId: alert.id,
    createdAt: alert.updatedAt,
    actorType: actor.type,
    actorUserId: isHuman ? (actor.id ?? uuidFromName(`user:${actor.name}`)) : null,
    actorAgentId: isAgent ? (actor.id ?? alert.assignedAgentId ?? uuidFromName(`agent:${actor.name}`)) : null,
    actorRunId: isAgent ? alert.triageRunId : null,
    actorUserName: isHuman ? actor.name : null,
    actorUserImageUrl: null,
    actorAgentName: isAgent ? actor.name : null,
    bodyMarkdown: null,
    beforeStatus: null,
    afterStatus: null,
    metadata: {},
    ...fields,
  };
}

function strip(alert: CotoolAlert): CotoolAlertBare {
  const copy: Record<string, unknown> = { ...alert };
  for (const key of HYDRATED) delete copy[key];
  return copy as CotoolAlertBare;
}

const clone = <T>(v: T): T => structuredClone(v);

// ---------------------------------------------------------------------------------------------
// Request validation (zod, so `issues` look like the server's)

const csv = <T extends readonly [string, ...string[]]>(known: T) =>
  z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(known)));
const guid = z.string().regex(UUID_RE, 'Invalid UUID');

const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(100),
  offset: z.coerce.number().int().min(0).default(0),
  status: csv(ALERT_STATUSES).optional(),
  severity: csv(SEVERITIES).optional(),
  source: csv(SOURCE_NAMES).optional(),
  assignedAgentId: guid.optional(),
  detection: z.string().min(1).optional(),
  detectionId: guid.optional(),
  originAgentId: guid.optional(),
  originDetectionHitId: guid.optional(),
  q: z.string().min(1).max(500).optional(),
});
const StatusBody = z.object({ status: z.enum(ALERT_STATUSES), reason: z.string().min(1).max(2000).optional() });
const DetailsBody = z.object({
  title: z.string().min(1).max(500).optional(),
  description: z.string().max(50_000).nullable().optional(),
});
const CommentBody = z.object({ bodyMarkdown: z.string().min(1).max(20_000) });
const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

class HttpError extends Error {
  status: number;
  body: Record<string, unknown>;
  constructor(status: number, body: Record<string, unknown>) {
    super(String(body.error));
    this.status = status;
    this.body = body;
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new HttpError(400, { error: `Invalid ${what}`, issues: r.error.issues });
  return r.data;
}

// ---------------------------------------------------------------------------------------------
// Server

type Stored = { alert: CotoolAlert; timeline: CotoolTimelineEntry[] };
type Rule<T> = { match: RequestMatch; value: T; remaining: number };

const matches = (m: RequestMatch, method: string, path: string) =>
  (!m.method || m.method.toUpperCase() === method) && (!m.pathPrefix || path.startsWith(m.pathPrefix));
const matchKey = (m: RequestMatch) => `${m.method?.toUpperCase() ?? '*'} ${m.pathPrefix ?? ''}`;

function orderKey(seed: string, key: string): string {
  return createHash('sha1').update(`${seed}:${key}`).digest('hex');
}

export async function startFakeCotool(opts: FakeCotoolOptions = {}): Promise<FakeCotool> {
  const apiKey = opts.apiKey ?? COTOOL_TEST_API_KEY;
  const apiActor: Actor = { type: 'human', name: opts.actorName ?? 'Cotool API' };
  const seed = opts.seed ?? 'cotool-fake';
  const store = new Map<string, Stored>();
  const raw: unknown[] = [];
  const requests: RecordedRequest[] = [];
  let failures: Rule<FailureResponse>[] = [];
  let delays: Rule<number>[] = [];
  let forbidden: Rule<string[]>[] = [];
  let order: OrderMode = 'shuffled';
  let requestSeq = 0;
  const hanging = new Set<http.ServerResponse>();
  const timers = new Set<NodeJS.Timeout>();

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  function find(idOrDisplay: string): Stored | undefined {
    const byId = store.get(idOrDisplay);
    if (byId) return byId;
    for (const s of store.values()) if (s.alert.displayId === idOrDisplay) return s;
    return undefined;
  }

  function mustFind(id: string): Stored {
    const s = find(id);
    if (!s) throw new Error(`fake cotool: no alert ${id}`);
    return s;
  }

  function addAlert(input: Partial<CotoolAlert> = {}): CotoolAlert {
    const alert = makeAlert(input);
    if (store.has(alert.id) || find(alert.displayId))
      throw new Error(`fake cotool: duplicate alert ${alert.displayId}`);
    const actor: Actor =
      alert.createdBy === 'agent'
        ? {
            type: 'agent',
            name: alert.originAgentName ?? 'Detection Agent',
            ...(alert.originAgentId ? { id: alert.originAgentId } : {}),
          }
        : { type: 'system', name: 'Cotool' };
    const created = makeEntry(alert, actor, {
      kind: 'created',
      createdAt: alert.createdAt,
      actorRunId: actor.type === 'agent' ? alert.originRunId : null,
      metadata: {
        source: alert.source,
        originDetectionHitId: alert.originDetectionHitId,
        originTriggerId: alert.originTriggerId,
        sourcePayloadId: randomUUID(),
      },
    });
    store.set(alert.id, { alert, timeline: [created] });
    return clone(alert);
  }

  function updateAlert(id: string, patch: Partial<CotoolAlert>, o: UpdateOptions = {}) {
    const s = mustFind(id);
    const before = s.alert;
    const after: CotoolAlert = { ...before, ...patch, id: before.id, updatedAt: patch.updatedAt ?? nextTimestamp() };
    const actor = o.actor ?? { type: 'agent', name: before.assignedAgentName ?? 'Tier 1 Response Agent' };
    const reason = o.reason ?? null;
    const entries: CotoolTimelineEntry[] = [];
    const push = (fields: Partial<CotoolTimelineEntry> & { kind: string }) =>
      entries.push(makeEntry(after, actor, fields));

    if (after.status !== before.status) {
      if (!('derivedDisposition' in patch)) after.derivedDisposition = dispositionOf(after.status);
      if (!('resolvedAt' in patch)) after.resolvedAt = isClosed(after.status) ? after.updatedAt : null;
      if (!('firstTriagedAt' in patch) && !after.firstTriagedAt && after.status !== 'open')
        after.firstTriagedAt = after.updatedAt;
      const meta: Record<string, unknown> = { reason };
      if (actor.type === 'agent') {
        meta.agentId = actor.id ?? after.assignedAgentId;
        meta.runId = after.triageRunId;
      }
      push({
        kind: 'status_change',
        beforeStatus: before.status,
        afterStatus: after.status,
        bodyMarkdown: reason,
        metadata: meta,
      });
    }
    if (after.severity !== before.severity) {
      push({
        kind: 'severity_change',
        bodyMarkdown: reason,
        metadata: { beforeSeverity: before.severity, afterSeverity: after.severity, reason },
      });
    }
    if (after.title !== before.title) {
      push({ kind: 'title_change', metadata: { beforeTitle: before.title, afterTitle: after.title } });
    }
    if (after.description !== before.description) {
      push({
        kind: 'description_change',
        metadata: { beforeDescription: before.description, afterDescription: after.description },
      });
    }
    if (after.assignedAgentId !== before.assignedAgentId) {
      if (!('assignedAgentName' in patch)) after.assignedAgentName = after.assignedAgentId ? 'Response Agent' : null;
      push({
        kind: 'assignment_change',
        bodyMarkdown: reason,
        actorAgentName: after.assignedAgentName,
        metadata: { reason, assignedAgentId: after.assignedAgentId, runId: after.triageRunId },
      });
    }
    s.alert = after;
    s.timeline.push(...entries);
    return { alert: clone(after), entries: clone(entries) };
  }

  function addTimelineEntry(id: string, fields: Partial<CotoolTimelineEntry> & { kind: string }): CotoolTimelineEntry {
    const s = mustFind(id);
    const entry = makeEntry(s.alert, { type: 'system', name: 'Cotool' }, { createdAt: nextTimestamp(), ...fields });
    s.timeline.push(entry);
    return clone(entry);
  }

  // ---- list

  function sortKeyed<T>(items: T[], keyOf: (item: T, i: number) => string, createdOf: (item: T) => string): T[] {
    if (order === 'created_desc' || order === 'created_asc') {
      const dir = order === 'created_desc' ? -1 : 1;
      return [...items].sort((a, b) => dir * createdOf(a).localeCompare(createdOf(b)));
    }
    const s = order === 'per_request' ? `${seed}:${requestSeq}` : seed;
    const keyed = items.map((item, i) => ({ item, k: orderKey(s, keyOf(item, i)) }));
    return keyed.sort((a, b) => a.k.localeCompare(b.k)).map((x) => x.item);
  }

  function list(query: Record<string, string>) {
    const q = parse(ListQuery, query, 'query parameters');
    const needle = q.q?.toLowerCase();
    const hit = (a: CotoolAlert) =>
      (!q.status || q.status.includes(a.status as never)) &&
      (!q.severity || (a.severity !== null && q.severity.includes(a.severity as never))) &&
      (!q.source || q.source.includes(a.source.name as never)) &&
      (!q.assignedAgentId || a.assignedAgentId === q.assignedAgentId) &&
      (!q.detectionId || a.detection?.id === q.detectionId) &&
      (!q.detection || a.detection?.id === q.detection || a.detection?.name === q.detection) &&
      (!q.originAgentId || a.originAgentId === q.originAgentId) &&
      (!q.originDetectionHitId || a.originDetectionHitId === q.originDetectionHitId) &&
      (!needle ||
        [a.title, a.description, a.detection?.name, a.externalRef].some((t) => t?.toLowerCase().includes(needle)));
    type Item = { obj: unknown; key: string; created: string };
    const items: Item[] = [...store.values()]
      .filter((s) => hit(s.alert))
      .map((s) => ({ obj: s.alert, key: s.alert.id, created: s.alert.createdAt }));
    raw.forEach((obj, i) => {
      const r = obj as Record<string, unknown> | null;
      items.push({ obj, key: `raw:${i}`, created: typeof r?.createdAt === 'string' ? r.createdAt : '' });
    });
    const sorted = sortKeyed(
      items,
      (it) => it.key,
      (it) => it.created,
    );
    return { alerts: clone(sorted.slice(q.offset, q.offset + q.limit).map((it) => it.obj)), totalCount: sorted.length };
  }

  // ---- routing

  function lookup(id: string): Stored {
    if (!UUID_RE.test(id) && !DISPLAY_RE.test(id)) {
      throw new HttpError(400, {
        error: 'Invalid alert id',
        issues: [
          { code: 'invalid_format', path: ['alertId'], message: 'Expected an alert UUID or a display id like COT-123' },
        ],
      });
    }
    const s = find(id);
    if (!s) throw new HttpError(404, { error: 'Alert not found' });
    return s;
  }

  function findRaw(id: string): unknown {
    return raw.find((r) => {
      const o = r as Record<string, unknown> | null;
      return !!o && typeof o === 'object' && (o.id === id || o.displayId === id);
    });
  }

  function route(method: string, parts: string[], query: Record<string, string>, body: unknown): [number, unknown] {
    // parts: path segments after /api/alerts
    const [first, second, third] = parts;
    if (parts.length === 0) {
      if (method === 'GET') return [200, list(query)];
    } else if (first === 'for-run' && second !== undefined && parts.length === 2) {
      if (method === 'GET') {
        parse(guid, second, 'run id');
        const s = [...store.values()].find((x) => x.alert.originRunId === second || x.alert.triageRunId === second);
        return [200, { alert: s ? clone(s.alert) : null }];
      }
    } else if (first !== undefined && parts.length === 1) {
      if (method === 'GET') {
        const r = findRaw(first);
        if (r !== undefined) return [200, { alert: clone(r) }];
        const s = lookup(first);
        return [200, { alert: { ...clone(s.alert), timeline: clone(s.timeline.slice(0, 100)) } }];
      }
      if (method === 'PATCH') {
        const s = lookup(first);
        const b = parse(DetailsBody, body, 'request body');
        const patch: Partial<CotoolAlert> = {};
        if (b.title !== undefined) patch.title = b.title;
        if (b.description !== undefined) patch.description = b.description;
        const changed = Object.entries(patch).some(([k, v]) => s.alert[k as keyof CotoolAlert] !== v);
        if (!changed) return [200, { alert: strip(clone(s.alert)), entries: [] }];
        const r = updateAlert(s.alert.id, patch, { actor: apiActor });
        return [200, { alert: strip(r.alert), entries: r.entries }];
      }
    } else if (first !== undefined && second === 'status' && parts.length === 2) {
      if (method === 'POST') {
        const s = lookup(first);
        const b = parse(StatusBody, body, 'request body');
        if (b.status === s.alert.status)
          return [200, { alert: strip(clone(s.alert)), entry: null, statusChanged: false }];
        const r = updateAlert(
          s.alert.id,
          { status: b.status },
          { actor: apiActor, ...(b.reason ? { reason: b.reason } : {}) },
        );
        return [200, { alert: strip(r.alert), entry: r.entries[0] ?? null, statusChanged: true }];
      }
    } else if (first !== undefined && second === 'timeline' && parts.length === 2) {
      if (method === 'GET') {
        const s = lookup(first);
        const p = parse(PageQuery, query, 'query parameters');
        return [200, { entries: clone(s.timeline.slice(p.offset, p.offset + p.limit)), totalCount: s.timeline.length }];
      }
    } else if (first !== undefined && second === 'comments' && third === undefined) {
      if (method === 'POST') {
        const s = lookup(first);
        const b = parse(CommentBody, body, 'request body');
        s.alert = { ...s.alert, updatedAt: nextTimestamp() };
        const entry = makeEntry(s.alert, apiActor, { kind: 'comment', bodyMarkdown: b.bodyMarkdown });
        s.timeline.push(entry);
        return [200, { entry: clone(entry) }];
      }
    } else {
      return [404, { error: 'Not found' }];
    }
    return [405, { error: 'Method not allowed' }];
  }

  function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    if (res.destroyed || res.writableEnded) return;
    const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
    const type = typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8';
    res.writeHead(status, { 'content-type': type, ...headers });
    res.end(text);
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    const query = Object.fromEntries(url.searchParams);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown = text === '' ? undefined : text;
    let badJson = false;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        badJson = true;
      }
    }
    requestSeq++;
    const recorded: RecordedRequest = { method, path, query, body, headers: req.headers, at: Date.now() };
    requests.push(recorded);

    const delay = delays.find((d) => matches(d.match, method, path));
    if (delay) await sleep(delay.value);
    const failure = failures.find((f) => f.remaining > 0 && matches(f.match, method, path));
    if (failure) {
      failure.remaining--;
      failures = failures.filter((f) => f.remaining > 0);
      const r = failure.value;
      if (r === 'reset' || r === 'hang') recorded.fault = r;
      if (r === 'reset') return void req.socket.destroy();
      if (r === 'hang') return void hanging.add(res);
      if ('lateMs' in r) {
        recorded.fault = 'late';
        await sleep(r.lateMs);
      } else {
        recorded.fault = `status ${r.status}`;
        return send(res, r.status, r.body ?? { error: http.STATUS_CODES[r.status] ?? 'Error' }, r.headers);
      }
    }
    if (req.headers.authorization !== `Bearer ${apiKey}`) return send(res, 401, { error: 'Unauthorized' });
    const denied = forbidden.find((f) => matches(f.match, method, path));
    if (denied) return send(res, 403, { error: 'Forbidden', missingPerms: denied.value });

    const prefix = '/api/alerts';
    if (path !== prefix && !path.startsWith(`${prefix}/`)) return send(res, 404, { error: 'Not found' });
    if (badJson) return send(res, 400, { error: 'Invalid JSON body', issues: [] });
    const parts = path.slice(prefix.length).split('/').filter(Boolean).map(decodeURIComponent);
    try {
      const [status, out] = route(method, parts, query, body);
      send(res, status, out);
    } catch (e) {
      if (e instanceof HttpError) return send(res, e.status, e.body);
      send(res, 500, { error: e instanceof Error ? e.message : 'Internal error' });
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => send(res, 500, { error: 'Internal error' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const res of hanging) res.destroy();
      hanging.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    addAlert,
    updateAlert,
    addTimelineEntry,
    removeAlert: (id) => {
      const s = find(id);
      return s ? store.delete(s.alert.id) : false;
    },
    getAlert: (id) => {
      const s = find(id);
      return s ? { ...clone(s.alert), timeline: clone(s.timeline) } : undefined;
    },
    alerts: () => [...store.values()].map((s) => clone(s.alert)),
    addRawAlert: (obj) => void raw.push(clone(obj)),
    clearRawAlerts: () => void raw.splice(0),
    setOrder: (mode) => {
      order = mode;
    },
    failNext: (n, response, match = {}) => void failures.push({ match, value: response, remaining: n }),
    setDelay: (ms, match = {}) => {
      delays = delays.filter((d) => matchKey(d.match) !== matchKey(match));
      if (ms > 0) delays.unshift({ match, value: ms, remaining: Infinity });
    },
    setForbidden: (missingPerms, match = {}) => {
      forbidden = forbidden.filter((f) => matchKey(f.match) !== matchKey(match));
      if (missingPerms) forbidden.unshift({ match, value: missingPerms, remaining: Infinity });
    },
    clearFailures: () => {
      failures = [];
      delays = [];
      forbidden = [];
    },
    requests,
    clearRequests: () => void requests.splice(0),
    count: (method, pathPrefix = '') =>
      requests.filter((r) => r.method === method.toUpperCase() && r.path.startsWith(pathPrefix)).length,
  };
}
