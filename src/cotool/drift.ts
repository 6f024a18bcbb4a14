/**
 * Drift logging: what the Cotool server sent that this bot does not know (an enum value, a field),
 * what it left out, and list items skipped because they do not parse. Each is logged once per
 * client (the bot makes one per process) per (kind, path, value), so a server that moved ahead
 * shows up in the log without flooding it; the poller never fails because of it. Values quoted
 * are scrubbed and capped; what the server sent is never logged whole.
 */
import type { z } from 'zod';
import type { Logger } from '../log.ts';
import { issueSummary, oneLine, type Scrub } from './errors.ts';
import type { Drift } from './schemas.ts';

export type DriftNote = { kind: Drift['kind'] | 'missing_field' | 'bad_type'; path: string; value?: string };

export type DriftLog = {
  /** Logs a note the first time it is seen. */
  note(n: DriftNote, context?: Record<string, unknown>): void;
  noteAll(drifts: readonly Drift[], context: Record<string, unknown>): void;
  /** Warns about a skipped item the first time its (id, problem) pair is seen; later at debug. */
  skipped(what: string, raw: unknown, error: z.ZodError, context?: Record<string, unknown>): void;
};

/** Bound on the notes remembered, so a server sending random values cannot grow memory. */
const MAX_NOTES = 1_000;

const NOTE_TEXT: Record<DriftNote['kind'], string> = {
  unknown_value: 'Cotool API sent a value this bot does not know; keeping it',
  unknown_field: 'Cotool API sent a field this bot does not know; ignoring it',
  missing_field: 'Cotool API left out a documented field; working around it',
  bad_type: 'Cotool API sent a field of an unexpected type; ignoring it',
};

export function createDriftLog(log: Logger, scrub: Scrub): DriftLog {
  const noted = new Set<string>();
  let capped = false;

  function note(n: DriftNote, context: Record<string, unknown> = {}): void {
    const value = n.value === undefined ? undefined : oneLine(scrub(n.value), 100);
    const key = `${n.kind}\u0000${n.path}\u0000${value ?? ''}`;
    if (noted.has(key)) return;
    if (noted.size >= MAX_NOTES) {
      if (!capped) {
        capped = true;
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

  return {
    note,
    noteAll(drifts, context) {
      for (const d of drifts) note(d, context);
    },
    skipped(what, raw, error, context = {}) {
      const ids = idsOf(raw);
      const issues = error.issues.slice(0, 10).map(issueSummary);
      const key = `skip\u0000${what}\u0000${ids.id ?? ids.displayId ?? '?'}\u0000${issues.map((i) => i.path).join(',')}`;
      const first = !noted.has(key) && noted.size < MAX_NOTES;
      if (first) noted.add(key);
      log[first ? 'warn' : 'debug'](
        { ...context, ...ids, issues },
        `skipping a Cotool ${what} that does not match the expected shape`,
      );
    },
  };
}

/** The id and display id of a raw item, when they are short strings; nothing else of it. */
export function idsOf(raw: unknown): { id?: string; displayId?: string } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return {};
  const r = raw as Record<string, unknown>;
  const out: { id?: string; displayId?: string } = {};
  if (typeof r.id === 'string') out.id = oneLine(r.id, 80);
  if (typeof r.displayId === 'string') out.displayId = oneLine(r.displayId, 40);
  return out;
}
