/**
 * Zod models of the Cotool alerts API (../shared/cotool-api), read tolerantly.
 *
 * The server is the source of truth and may move ahead of this file: an enum may gain a value, an
 * object may gain a field, an example may omit a field its schema calls required. So the schemas
 * here only insist on what the bot cannot work without (an alert's id, display id, title, status and
 * timestamps); every other field is optional and nullable, and enums are read as strings. What the
 * server sent that this file does not know is reported by `driftOf()` so the caller can log it once.
 */
import { z } from 'zod';

export const ALERT_STATUSES = [
  'open',
  'in_progress',
  'escalated',
  'closed_true_positive',
  'closed_false_positive',
  'closed_true_positive_benign',
] as const;
export type KnownAlertStatus = (typeof ALERT_STATUSES)[number];
/** A status the server sent; known values are typed, unknown ones are kept as text. */
export type AlertStatus = KnownAlertStatus | (string & {});

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type KnownSeverity = (typeof SEVERITIES)[number];
export type Severity = KnownSeverity | (string & {});

export const LIVE_STATUSES = ['open', 'in_progress', 'escalated'] as const satisfies readonly KnownAlertStatus[];
export const CLOSED_STATUSES = [
  'closed_true_positive',
  'closed_false_positive',
  'closed_true_positive_benign',
] as const satisfies readonly KnownAlertStatus[];

export const SOURCE_CATEGORIES = ['detection', 'trigger', 'hunting'] as const;
export const SOURCE_NAMES = [
  'cotool_detection',
  'hunting',
  'jira',
  'jira-automation',
  'slack',
  'linear',
  'cron',
  'webhook',
  'email',
  'bugcrowd',
  'hackerone',
] as const;
export const TRIGGER_TYPES = SOURCE_NAMES.filter((n) => n !== 'cotool_detection' && n !== 'hunting');
export const CREATED_BY = ['agent', 'trigger', 'system'] as const;
export const DISPOSITIONS = ['true_positive', 'false_positive', 'true_positive_benign'] as const;
export const DETECTION_KINDS = ['cotool', 'external'] as const;
export const ACTOR_TYPES = ['human', 'agent', 'system'] as const;
export const TIMELINE_KINDS = [
  'created',
  'comment',
  'status_change',
  'title_change',
  'description_change',
  'severity_change',
  'assignment_change',
  'triage_run',
  'external_event',
] as const;
export type KnownTimelineKind = (typeof TIMELINE_KINDS)[number];

/** Optional, nullable text: absent and null both read as null. */
const text = z
  .string()
  .nullish()
  .transform((v) => v ?? null);
/** An id is an opaque non-empty string: no UUID check, so a non-RFC-4122 id never drops an alert. */
const id = z.string().min(1);
const optId = z
  .string()
  .nullish()
  .transform((v) => v ?? null);

const sourceShape = { category: text, name: text, triggerType: text };
export const AlertSourceSchema = z.looseObject(sourceShape);
export type AlertSource = z.infer<z.ZodObject<typeof sourceShape>>;

const detectionShape = { id: optId, agentId: optId, name: text, kind: text };
export const DetectionSchema = z.looseObject(detectionShape);
export type Detection = z.infer<z.ZodObject<typeof detectionShape>>;

const entryShape = {
  id,
  alertId: optId,
  organizationId: optId,
  createdAt: z.string(),
  actorType: text,
  actorUserId: optId,
  actorAgentId: optId,
  actorRunId: optId,
  actorUserName: text,
  actorUserImageUrl: text,
  actorAgentName: text,
  kind: z.string(),
  bodyMarkdown: text,
  beforeStatus: text,
  afterStatus: text,
  metadata: z
    .record(z.string(), z.unknown())
    .nullish()
    .transform((v) => v ?? {}),
};
export const TimelineEntrySchema = z.looseObject(entryShape);
export type TimelineEntry = z.infer<z.ZodObject<typeof entryShape>>;

const alertShape = {
  id,
  displayId: z.string().min(1),
  organizationId: optId,
  organizationName: text,
  title: z.string(),
  description: text,
  severity: text,
  status: z.string().min(1),
  source: AlertSourceSchema.nullish().transform((v): AlertSource | null => v ?? null),
  detection: DetectionSchema.nullish().transform((v): Detection | null => v ?? null),
  createdBy: text,
  originAgentId: optId,
  originTriggerId: optId,
  originRunId: optId,
  originDetectionHitId: optId,
  externalProvider: text,
  externalRef: text,
  externalUrl: text,
  assignedAgentId: optId,
  triageRunId: optId,
  dedupeKey: text,
  createdAt: z.string().min(1),
  updatedAt: z.string().min(1),
  firstTriagedAt: text,
  resolvedAt: text,
  derivedDisposition: text,
  originAgentName: text,
  assignedAgentName: text,
  triggerSource: text,
};
export const AlertSchema = z.looseObject(alertShape);
/** The parsed alert. Extra fields are kept at run time (looseObject) but are not part of the type. */
export type Alert = Omit<z.infer<z.ZodObject<typeof alertShape>>, 'status' | 'severity'> & {
  status: AlertStatus;
  severity: Severity | null;
};

export type AlertWithTimeline = Alert & { timeline: TimelineEntry[] };

export const ErrorBodySchema = z.looseObject({
  error: z.string().optional(),
  missingPerms: z.array(z.string()).optional(),
  issues: z.array(z.unknown()).optional(),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** Envelope shapes; the items inside are validated one by one (see client.ts). */
export const ListEnvelopeSchema = z.looseObject({
  alerts: z.array(z.unknown()),
  totalCount: z.number().int().nonnegative().optional(),
});
export const AlertEnvelopeSchema = z.looseObject({ alert: z.unknown() });
export const StatusEnvelopeSchema = z.looseObject({
  alert: z.unknown(),
  entry: z.unknown().optional(),
  statusChanged: z.boolean().optional(),
});
export const CommentEnvelopeSchema = z.looseObject({ entry: z.unknown() });
export const TimelineEnvelopeSchema = z.looseObject({
  entries: z.array(z.unknown()),
  totalCount: z.number().int().nonnegative().optional(),
});
export const DetailsEnvelopeSchema = z.looseObject({
  alert: z.unknown(),
  entries: z.array(z.unknown()).optional(),
});

export type ListAlertsParams = {
  limit?: number;
  offset?: number;
  status?: readonly string[];
  severity?: readonly string[];
  source?: readonly string[];
  assignedAgentId?: string;
  detection?: string;
  detectionId?: string;
  originAgentId?: string;
  originDetectionHitId?: string;
  q?: string;
};

export type AlertPage = { alerts: Alert[]; totalCount: number; skipped: number };
/** One page of a timeline: `received` counts the entries sent, `skipped` those that did not parse. */
export type TimelinePage = { entries: TimelineEntry[]; totalCount: number; skipped: number; received: number };
export type StatusChangeResult = { alert: Alert; entry: TimelineEntry | null; statusChanged: boolean };
export type DetailsChangeResult = { alert: Alert; entries: TimelineEntry[] };
export type DetailsPatch = { title?: string; description?: string | null };

export function isKnownStatus(s: string): s is KnownAlertStatus {
  return (ALERT_STATUSES as readonly string[]).includes(s);
}
export function isLive(status: string): boolean {
  return (LIVE_STATUSES as readonly string[]).includes(status);
}
export function isClosed(status: string): boolean {
  return (CLOSED_STATUSES as readonly string[]).includes(status);
}

// ---------------------------------------------------------------------------------------------
// Drift: what the server sent that this file does not know. Reported, never fatal.

const ALERT_KEYS = new Set([...Object.keys(alertShape), 'timeline']);
const ENTRY_KEYS = new Set(Object.keys(entryShape));

const ALERT_ENUMS: Record<string, readonly string[]> = {
  status: ALERT_STATUSES,
  severity: SEVERITIES,
  createdBy: CREATED_BY,
  derivedDisposition: DISPOSITIONS,
  externalProvider: TRIGGER_TYPES,
  triggerSource: TRIGGER_TYPES,
};

export type Drift = { kind: 'unknown_value' | 'unknown_field'; path: string; value?: string };

function enumDrift(path: string, value: unknown, known: readonly string[], out: Drift[]): void {
  if (typeof value === 'string' && !known.includes(value)) out.push({ kind: 'unknown_value', path, value });
}

/** Lists unknown enum values and unknown fields in a raw alert object (already known to parse). */
export function driftOf(raw: Record<string, unknown>): Drift[] {
  const out: Drift[] = [];
  for (const key of Object.keys(raw)) {
    if (!ALERT_KEYS.has(key)) out.push({ kind: 'unknown_field', path: `alert.${key}` });
  }
  for (const [key, known] of Object.entries(ALERT_ENUMS)) enumDrift(`alert.${key}`, raw[key], known, out);
  const source = raw.source as Record<string, unknown> | null | undefined;
  if (source && typeof source === 'object') {
    enumDrift('alert.source.category', source.category, SOURCE_CATEGORIES, out);
    enumDrift('alert.source.name', source.name, SOURCE_NAMES, out);
    enumDrift('alert.source.triggerType', source.triggerType, TRIGGER_TYPES, out);
  }
  const detection = raw.detection as Record<string, unknown> | null | undefined;
  if (detection && typeof detection === 'object') {
    enumDrift('alert.detection.kind', detection.kind, DETECTION_KINDS, out);
  }
  return out;
}

export function entryDriftOf(raw: Record<string, unknown>): Drift[] {
  const out: Drift[] = [];
  for (const key of Object.keys(raw)) {
    if (!ENTRY_KEYS.has(key)) out.push({ kind: 'unknown_field', path: `timeline.${key}` });
  }
  enumDrift('timeline.kind', raw.kind, TIMELINE_KINDS, out);
  enumDrift('timeline.actorType', raw.actorType, ACTOR_TYPES, out);
  enumDrift('timeline.beforeStatus', raw.beforeStatus, ALERT_STATUSES, out);
  enumDrift('timeline.afterStatus', raw.afterStatus, ALERT_STATUSES, out);
  return out;
}

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
