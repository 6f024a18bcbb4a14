/**
 * The triage agent's latest verdict on an alert, read off its timeline: the newest `triage_run`
 * entry — which agent ran it, its outcome, and the first line of its summary. Pure; tolerant of
 * what the server puts in an entry (outcome fields it does not document are read when present).
 */
import type { TimelineEntry } from '../cotool/schemas.ts';

export type Verdict = {
  /** The agent's name, when Cotool gave one. */
  agent: string | null;
  /** What the run concluded (e.g. "escalate", "false_positive"), when the entry says. */
  outcome: string | null;
  /** The first non-empty line of the run's summary. */
  summary: string | null;
  at: string;
};

const OUTCOME_KEYS = ['outcome', 'verdict', 'disposition', 'result', 'decision'] as const;

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);

function firstLine(s: string | null): string | null {
  if (!s) return null;
  const line = s.split(/\r\n?|\n|[\u0085\u2028\u2029]/).find((l) => l.trim() !== '');
  return line ? line.trim() : null;
}

const timeOf = (e: TimelineEntry) => {
  const ms = Date.parse(e.createdAt);
  return Number.isFinite(ms) ? ms : Number.NEGATIVE_INFINITY;
};

/** The newest triage run's verdict; null when the timeline has none. */
export function latestVerdict(timeline: readonly TimelineEntry[]): Verdict | null {
  let latest: TimelineEntry | null = null;
  for (const e of timeline) {
    if (e.kind !== 'triage_run') continue;
    if (!latest || timeOf(e) >= timeOf(latest)) latest = e;
  }
  if (!latest) return null;
  const meta = latest.metadata ?? {};
  const outcome = OUTCOME_KEYS.map((k) => str(meta[k])).find((v) => v !== null) ?? str(latest.afterStatus);
  const summary = firstLine(str(latest.bodyMarkdown) ?? str(meta.summary) ?? str(meta.reason));
  return { agent: str(latest.actorAgentName), outcome: outcome ?? null, summary, at: latest.createdAt };
}
