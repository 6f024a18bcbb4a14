/**
 * An alert's timeline for people: one short line per entry, newest first — who (agent, person or
 * Cotool), what (by entry kind: status, comment, title, severity, assignment, triage run, external
 * event), an excerpt of any prose, and when. Pure; every value from Cotool is escaped and capped.
 */
import type { ContextBlock, KnownBlock, SectionBlock } from '@slack/types';
import type { TimelineEntry } from '../../core/alert.ts';
import { LOOKUP_BLOCKS } from '../ids.ts';
import { literal, mrkdwn, oneLine, slackDate } from '../text.ts';
import { severityText, statusText } from './labels.ts';

export const TIMELINE_MAX_ENTRIES = 10;
const NAME_MAX = 60;
const EXCERPT_MAX = 300;
const VALUE_MAX = 100;

const text = (v: unknown): string => (typeof v === 'string' ? oneLine(v) : '');
const name = (v: unknown): string => mrkdwn(text(v), NAME_MAX);

const statusWord = (v: unknown): string => (text(v) ? statusText(text(v)) : 'none');
const severityWord = (v: unknown): string => (text(v) ? severityText(text(v)) : 'none');

/** `: “excerpt”` of a prose value, or nothing. */
function excerpt(v: unknown, max = EXCERPT_MAX): string {
  const s = text(v);
  return s ? `: “${literal(s, max)}”` : '';
}

/** Who did it, in mrkdwn: "Agent *Aria*", "*Dana Analyst*", "Cotool". */
export function actorOf(entry: TimelineEntry): string {
  const agent = text(entry.actorAgentName);
  const person = text(entry.actorUserName);
  switch (entry.actorType) {
    case 'agent':
      return agent ? `Agent *${name(agent)}*` : 'An agent';
    case 'human':
      return person ? `*${name(person)}*` : 'Someone';
    case 'system':
      return 'Cotool';
    default:
      if (person) return `*${name(person)}*`;
      if (agent) return `Agent *${name(agent)}*`;
      return 'Someone';
  }
}

/** What happened, in mrkdwn, after the actor: "changed status *Open* → *Escalated*: “reason”". */
export function describeEntry(entry: TimelineEntry): string {
  const meta = entry.metadata ?? {};
  const reason = entry.bodyMarkdown ?? (typeof meta.reason === 'string' ? meta.reason : null);
  switch (entry.kind) {
    case 'created':
      return 'raised the alert';
    case 'status_change':
      return `changed status *${statusWord(entry.beforeStatus)}* → *${statusWord(entry.afterStatus)}*${excerpt(reason)}`;
    case 'comment':
      return `commented${excerpt(entry.bodyMarkdown)}`;
    case 'title_change': {
      const before = text(meta.beforeTitle);
      const after = text(meta.afterTitle);
      return before || after
        ? `renamed the alert “${mrkdwn(before, VALUE_MAX)}” → “${mrkdwn(after, VALUE_MAX)}”`
        : 'renamed the alert';
    }
    case 'description_change':
      return 'edited the description';
    case 'severity_change':
      return `changed severity *${severityWord(meta.beforeSeverity)}* → *${severityWord(meta.afterSeverity)}*${excerpt(reason)}`;
    case 'assignment_change': {
      const assigned = text(entry.actorAgentName);
      if (!meta.assignedAgentId && !assigned) return `unassigned the alert${excerpt(reason)}`;
      return `assigned ${assigned ? `*${name(assigned)}*` : 'an agent'}${excerpt(reason)}`;
    }
    case 'triage_run':
      return `ran triage${excerpt(reason)}`;
    case 'external_event':
      return `recorded an external update${excerpt(entry.bodyMarkdown)}`;
    default:
      return `recorded *${mrkdwn(text(entry.kind) || 'an event', 40)}*${excerpt(entry.bodyMarkdown)}`;
  }
}

/** One line: "Agent *Aria* changed status … · <date>". An agent assigning itself reads "took the alert". */
export function timelineLine(entry: TimelineEntry): string {
  const actor = actorOf(entry);
  const selfAssigned =
    entry.kind === 'assignment_change' &&
    entry.actorType === 'agent' &&
    text(entry.actorAgentName) !== '' &&
    entry.metadata?.assignedAgentId != null;
  const what = selfAssigned ? `took the alert${excerpt(entry.bodyMarkdown)}` : describeEntry(entry);
  return `${actor} ${what} · ${slackDate(entry.createdAt)}`;
}

/** The entries to show: newest first (undated last), at most `max`. */
export function recentEntries(entries: readonly TimelineEntry[], max = TIMELINE_MAX_ENTRIES): TimelineEntry[] {
  const at = (e: TimelineEntry) => {
    const ms = Date.parse(e.createdAt);
    return Number.isFinite(ms) ? ms : Number.NEGATIVE_INFINITY;
  };
  return entries
    .map((e, i) => ({ e, i }))
    .sort((a, b) => at(b.e) - at(a.e) || b.i - a.i)
    .slice(0, Math.max(0, max))
    .map((x) => x.e);
}

/** A heading section and one context block per entry; no blocks when there is no timeline. */
export function renderTimeline(entries: readonly TimelineEntry[], max = TIMELINE_MAX_ENTRIES): KnownBlock[] {
  const shown = recentEntries(entries, max);
  if (shown.length === 0) return [];
  const more = entries.length > shown.length ? ` · latest ${shown.length} of ${entries.length}` : '';
  const heading: SectionBlock = {
    type: 'section',
    block_id: LOOKUP_BLOCKS.timelineHeading,
    text: { type: 'mrkdwn', text: `*Recent activity*${more}`, verbatim: true },
  };
  const lines = shown.map(
    (entry, i): ContextBlock => ({
      type: 'context',
      block_id: `${LOOKUP_BLOCKS.timelineEntry}${i}`,
      elements: [{ type: 'mrkdwn', text: timelineLine(entry), verbatim: true }],
    }),
  );
  return [heading, ...lines];
}
