/**
 * Tolerant readers of what the Cotool API answered. An item that does not parse is skipped (and
 * logged once); an alert a write returned with fields missing is completed from what the request
 * proves, or filled with placeholders and flagged incomplete. Drift (unknown values and fields) is
 * noted through ./drift.ts. Only a response without what the bot cannot work without throws.
 */
import { z } from 'zod';
import type { Logger } from '../log.ts';
import type { DriftLog } from './drift.ts';
import { type CotoolError, describeIssues, issueSummary } from './errors.ts';
import { AlertSchema, driftOf, entryDriftOf, type TimelineEntry, TimelineEntrySchema } from './schemas.ts';
import type { Call } from './transport.ts';

/** A listed alert before validation: what tells whether it changed, and the item itself. */
export type ListedItem = {
  id: string | null;
  updatedAt: string | null;
  status: string | null;
  raw: unknown;
  offset: number;
};

/** An alert as parsed (named fields typed); exposed to callers as `Alert`. */
export type ParsedAlert = z.infer<typeof AlertSchema>;

/** Facts about a write that the response's alert is checked against. */
export type WriteContext = { call: Call; requestedId: string; facts: Record<string, unknown> };

type SchemaError = (call: Call, detail: string, issues?: z.ZodError['issues']) => CotoolError;

export function createReaders(log: Logger, drift: DriftLog, schemaError: SchemaError) {
  function readEntry(raw: unknown, alertId: string): TimelineEntry | null {
    const parsed = TimelineEntrySchema.safeParse(raw);
    if (!parsed.success) {
      drift.skipped('timeline entry', raw, parsed.error, { alertId });
      return null;
    }
    drift.noteAll(entryDriftOf(raw as Record<string, unknown>), { alertId, entryId: parsed.data.id });
    return parsed.data;
  }

  function readEntries(raw: readonly unknown[], alertId: string): TimelineEntry[] {
    const entries: TimelineEntry[] = [];
    for (const item of raw) {
      const entry = readEntry(item, alertId);
      if (entry) entries.push(entry);
    }
    return entries;
  }

  /** A listed item validated: the alert, or null when it is malformed (logged and skipped). */
  function readListed(item: ListedItem): ParsedAlert | null {
    const parsed = AlertSchema.safeParse(item.raw);
    if (!parsed.success) {
      drift.skipped('alert', item.raw, parsed.error, { offset: item.offset });
      return null;
    }
    drift.noteAll(driftOf(item.raw as Record<string, unknown>), { alertId: parsed.data.id });
    return parsed.data;
  }

  return {
    readEntry,
    readEntries,
    readListed,

    readAllListed(items: readonly ListedItem[]): ParsedAlert[] {
      const alerts: ParsedAlert[] = [];
      for (const item of items) {
        const alert = readListed(item);
        if (alert) alerts.push(alert);
      }
      return alerts;
    },

    /** A whole alert (a read), or a schema error. */
    readAlert(raw: unknown, call: Call): ParsedAlert {
      const parsed = AlertSchema.safeParse(raw);
      if (!parsed.success) throw schemaError(call, `alert: ${describeIssues(parsed.error)}`, parsed.error.issues);
      drift.noteAll(driftOf(raw as Record<string, unknown>), { alertId: parsed.data.id });
      return parsed.data;
    },

    /** The first page of an alert's timeline, as embedded in the alert. */
    readTimeline(raw: unknown, alertId: string): TimelineEntry[] {
      if (raw === undefined || raw === null) {
        drift.note({ kind: 'missing_field', path: 'alert.timeline' }, { alertId });
        return [];
      }
      if (!Array.isArray(raw)) {
        drift.note({ kind: 'bad_type', path: 'alert.timeline', value: typeof raw }, { alertId });
        return [];
      }
      return readEntries(raw, alertId);
    },

    /**
     * The alert a write returned. The server's write responses are documented with fewer fields
     * than reads, and the status example even omits `status`. So: fill what the request itself
     * proves (the status just set, the title just written), keep whatever else parses, and only
     * throw when not even the alert's id is there. When placeholders had to stand in for required
     * fields, `complete` is false and the caller re-fetches before rendering.
     */
    readWrittenAlert(raw: unknown, ctx: WriteContext): { alert: ParsedAlert; complete: boolean } {
      if (!isRecord(raw) || typeof raw.id !== 'string' || raw.id === '') {
        throw schemaError(ctx.call, 'the response has no alert id');
      }
      const alertId = raw.id;
      const filled: Record<string, unknown> = { ...raw };
      for (const [key, value] of Object.entries(ctx.facts)) {
        if (filled[key] === undefined || filled[key] === null) {
          filled[key] = value;
          const where = `${ctx.call.method} ${ctx.call.route.replace(':id', '{id}')} alert.${key}`;
          drift.note({ kind: 'missing_field', path: where }, { alertId });
        }
      }
      drift.noteAll(driftOf(raw), { alertId });
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
    },
  };
}

/** What a listed item says about itself before it is validated. */
export function peek(raw: unknown, offset: number): ListedItem {
  const r = isRecord(raw) ? raw : {};
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  return { id: str(r.id), updatedAt: str(r.updatedAt), status: str(r.status), raw, offset };
}

/** Oldest first by createdAt (undated last), ties by id, so the order never depends on the server's. */
export function sortEntries(entries: readonly TimelineEntry[]): TimelineEntry[] {
  const at = (e: TimelineEntry) => {
    const ms = Date.parse(e.createdAt);
    return Number.isFinite(ms) ? ms : Number.POSITIVE_INFINITY;
  };
  return [...entries].sort((a, b) => at(a) - at(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
