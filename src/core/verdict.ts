/**
 * Verdicts on an alert, pure:
 * - `STATUS_CHANGES`, the one table of the statuses an analyst sets from Slack: the Cotool status,
 *   the card op that asks for it, for a close its disposition, and the words that name it. The
 *   ids, buttons, close modal, labels, messages and reasons derive from it.
 * - `latestVerdict`, the triage agent's latest verdict read off the timeline: the newest
 *   `triage_run` entry — which agent ran it, its outcome, and the first line of its summary.
 *   Tolerant of what the server puts in an entry (undocumented outcome fields are read when present).
 */
import type { DISPOSITIONS, KnownAlertStatus, TimelineEntry } from '../cotool/schemas.ts';

type StatusChange = {
  /** The card op that asks for it (a button's or menu option's `op`). */
  op: string;
  status: KnownAlertStatus;
  /** For a close: its disposition (the close modal's value), and its label in the close modal. */
  disposition: (typeof DISPOSITIONS)[number] | null;
  choice: string | null;
  /** What was done, lower case, as in "@ana escalated COT-12" or "COT-12 was closed as benign". */
  done: string;
  /** For a close, how it closed, as in "Closed as benign". */
  as: string | null;
};

/** The one status ↔ op ↔ disposition table. User-visible words: change them here only. */
export const STATUS_CHANGES = [
  {
    op: 'close_fp',
    status: 'closed_false_positive',
    disposition: 'false_positive',
    choice: 'False positive',
    done: 'closed as false positive',
    as: 'false positive',
  },
  {
    op: 'close_benign',
    status: 'closed_true_positive_benign',
    disposition: 'true_positive_benign',
    choice: 'Benign (true positive, expected)',
    done: 'closed as benign',
    as: 'benign',
  },
  {
    op: 'close_tp',
    status: 'closed_true_positive',
    disposition: 'true_positive',
    choice: 'True positive',
    done: 'closed as true positive',
    as: 'true positive',
  },
  { op: 'escalate', status: 'escalated', disposition: null, choice: null, done: 'escalated', as: null },
  { op: 'reopen', status: 'open', disposition: null, choice: null, done: 'reopened', as: null },
  { op: 'in_progress', status: 'in_progress', disposition: null, choice: null, done: 'marked in progress', as: null },
] as const satisfies readonly StatusChange[];

type Row = (typeof STATUS_CHANGES)[number];
type CloseRow = Extract<Row, { disposition: string }>;
export type StatusOp = Row['op'];
export type Disposition = CloseRow['disposition'];
export type ClosedStatus = CloseRow['status'];

const CLOSES = STATUS_CHANGES.filter((r): r is CloseRow => r.disposition !== null);

/** The status each one-click op sets. */
export const OP_STATUS = Object.fromEntries(STATUS_CHANGES.map((r) => [r.op, r.status])) as {
  readonly [R in Row as R['op']]: R['status'];
};

/** The disposition each close op records. */
export const OP_DISPOSITION = Object.fromEntries(CLOSES.map((r) => [r.op, r.disposition])) as {
  readonly [R in CloseRow as R['op']]: R['disposition'];
};

/** How a closed alert was closed, as in "Closed as false positive". */
export const CLOSED_AS = Object.fromEntries(CLOSES.map((r) => [r.status, r.as])) as Record<ClosedStatus, string>;

/** The close modal's choices, in order. */
export const CLOSE_CHOICES: readonly { d: Disposition; label: string }[] = CLOSES.map((r) => ({
  d: r.disposition,
  label: r.choice,
}));

const STATUS_OF_DISPOSITION = Object.fromEntries(CLOSES.map((r) => [r.disposition, r.status])) as Record<
  Disposition,
  ClosedStatus
>;

/** The status a close with this disposition sets. */
export function statusOfDisposition(d: Disposition): ClosedStatus {
  return STATUS_OF_DISPOSITION[d];
}

/** What setting `status` did, lower case ("closed as benign"); null for a status not in the table. */
export function statusDone(status: string): string | null {
  return STATUS_CHANGES.find((r) => r.status === status)?.done ?? null;
}

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
