/**
 * The thread note that tells what happened to an alert in Cotool since the last one: one reply per
 * alert and poll, batching every new timeline entry, oldest first, in the lookup's wording
 * (timeline.ts): one short context line per entry, and under a comment its words as a literal quote
 * (they are what the team reads). Pure; every value from Cotool is escaped and capped, names are
 * plain text (nobody is mentioned), and the only link is Cotool's own page of the alert.
 */
import type { ContextBlock, KnownBlock, RichTextBlock } from '@slack/types';
import type { TimelineEntry } from '../../core/alert.ts';
import { clipMrkdwn, LIMITS, mrkdwn, oneLine, richText, safeUrl, slackDate, truncate } from '../text.ts';
import { actorOf, timelineLine } from './timeline.ts';

export type TimelineNoteContext = {
  /** The alert's page in Cotool (the one link the note may carry); null: none. */
  alertUrl: string | null;
};

export type TimelineNoteView = { text: string; blocks: KnownBlock[] };

/** At most this many entries are shown in one note; the rest are counted ("+N more in Cotool"). */
export const TIMELINE_NOTE_MAX_ENTRIES = 20;
/** What the shown entries may use between them (Slack's payload stays well under its limits). */
const TEXT_BUDGET = 16_000;
const COMMENT_CHARS = 1_500;
const COMMENT_LINES = 15;
const DISPLAY_ID_MAX = 40;

const MARKS: Record<string, string> = {
  created: ':new:',
  comment: ':speech_balloon:',
  status_change: ':arrows_counterclockwise:',
  severity_change: ':warning:',
  assignment_change: ':bust_in_silhouette:',
  title_change: ':pencil2:',
  description_change: ':pencil2:',
  triage_run: ':robot_face:',
  external_event: ':globe_with_meridians:',
};
const markOf = (kind: string) => MARKS[kind] ?? ':information_source:';

/** Cotool's page of the alert as a mrkdwn link with our own label, or null when the URL is not safe. */
function cotoolLink(url: string | null, label: string): string | null {
  const safe = safeUrl(url);
  // `|` and `>` would end the URL part of the token: encode them (a valid URL keeps its meaning).
  return safe ? `<${safe.replace(/\|/g, '%7C').replace(/>/g, '%3E')}|${label}>` : null;
}

/**
 * A comment's words as a quote in a `rich_text` block: shown literally (no formatting, mentions or
 * links), so an indicator in them copies out exactly, and the quote bar keeps them apart from our lines.
 */
function wordsBlock(words: string): RichTextBlock {
  const lines = truncate(words, COMMENT_CHARS).split(/\r\n?|\n|[\u0085\u2028\u2029]/);
  const shown = lines.length > COMMENT_LINES ? [...lines.slice(0, COMMENT_LINES), '…'] : lines;
  const body = richText(shown.map((l) => l.trimEnd()).join('\n'), COMMENT_CHARS + COMMENT_LINES + 1) || '…';
  return { type: 'rich_text', elements: [{ type: 'rich_text_quote', elements: [{ type: 'text', text: body }] }] };
}

/** One entry: a context line ("Agent *Aria* ran triage: … · date"), and a comment's words quoted under it. */
function entryBlocks(entry: TimelineEntry): KnownBlock[] {
  const body = typeof entry.bodyMarkdown === 'string' ? entry.bodyMarkdown.trim() : '';
  const comment = entry.kind === 'comment' && body !== '';
  const line = comment
    ? `${markOf('comment')} ${actorOf(entry)} commented · ${slackDate(entry.createdAt)}`
    : `${markOf(entry.kind)} ${timelineLine(entry)}`;
  const context: ContextBlock = {
    type: 'context',
    elements: [{ type: 'mrkdwn', text: clipMrkdwn(line, LIMITS.contextText), verbatim: true }],
  };
  return comment ? [context, wordsBlock(body)] : [context];
}

const sizeOf = (blocks: readonly KnownBlock[]): number => JSON.stringify(blocks).length;

/**
 * The note for `entries` (oldest first, as they happened). Shows as many as fit (at most
 * TIMELINE_NOTE_MAX_ENTRIES, within the text budget) and says how many more there are in Cotool.
 */
export function renderTimelineNote(
  displayId: string,
  entries: readonly TimelineEntry[],
  ctx: TimelineNoteContext,
): TimelineNoteView {
  const id = mrkdwn(oneLine(displayId), DISPLAY_ID_MAX) || 'the alert';
  const blocks: KnownBlock[] = [];
  let shown = 0;
  let used = 0;
  for (const entry of entries) {
    if (shown >= TIMELINE_NOTE_MAX_ENTRIES) break;
    const b = entryBlocks(entry);
    const size = sizeOf(b);
    // One block is kept for the "+N more" line.
    if (blocks.length + b.length > LIMITS.messageBlocks - 1) break;
    if (shown > 0 && used + size > TEXT_BUDGET) break;
    blocks.push(...b);
    shown++;
    used += size;
  }
  const more = entries.length - shown;
  const n = entries.length;
  if (more > 0) {
    const link = cotoolLink(ctx.alertUrl, 'Open in Cotool');
    const text = `+${more} more in Cotool${link ? ` · ${link}` : ''}`;
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text, verbatim: true }] });
  }
  if (blocks.length === 0) {
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `Nothing new on ${id} in Cotool`, verbatim: true }],
    });
  }
  return { text: `${id}: ${n === 1 ? '1 update' : `${n} updates`} in Cotool`, blocks };
}
