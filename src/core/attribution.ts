/**
 * The `reason` sent with every status change made from Slack. Cotool records the API key's user as
 * the actor, so the reason is what names the analyst:
 *
 *   Closed as false positive from Slack by Jane Doe (<@U0123ABC>): <the analyst's words>
 *
 * It always holds the verb, "from Slack", the analyst's Slack name and id; the analyst's words follow
 * when given. The whole stays within the API's 2,000 characters: words that do not fit are cut (with
 * an ellipsis) and the caller is told so, so that it can tell the analyst. The fixed part is at most
 * ~150 characters, so words of up to REASON_WORDS_MAX characters (the reason modal's input limit)
 * are never cut.
 */
import { truncate } from './text.ts';
import { statusDone } from './verdict.ts';

export const REASON_MAX = 2_000;
/** What the reason modal accepts: always fits after the longest fixed part. */
export const REASON_WORDS_MAX = 1_800;
const NAME_MAX = 80;

// biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const SLACK_USER_ID = /^[UW][A-Z0-9]{2,20}$/;

/** Text typed by a person, made safe to store: well-formed, `\n` line breaks, no control characters. */
export function cleanTyped(s: string): string {
  return s
    .toWellFormed()
    .replace(/\r\n?|[\u0085\u2028\u2029]/g, '\n')
    .replace(CONTROLS, '')
    .trim();
}

/** A name on one line, without control characters or the characters that frame the id. */
function cleanName(name: string): string {
  const flat = cleanTyped(name)
    .replace(/\s+/g, ' ')
    .replace(/[<>()]/g, '');
  return truncate(flat, NAME_MAX) || 'a Slack user';
}

export type Reason = {
  reason: string;
  /** The analyst's words had to be shortened; `keptChars` of them were kept. */
  wordsCut: boolean;
  keptChars: number;
};

export function buildReason(status: string, actor: { id: string; name: string }, words?: string | null): Reason {
  const done = statusDone(status);
  const verb = done ? `${done[0]?.toUpperCase()}${done.slice(1)}` : `Set to ${status.slice(0, 40)}`;
  const id = SLACK_USER_ID.test(actor.id) ? ` (<@${actor.id}>)` : '';
  const head = `${verb} from Slack by ${cleanName(actor.name)}${id}`;
  const said = cleanTyped(words ?? '');
  if (!said) return { reason: head, wordsCut: false, keptChars: 0 };
  const room = REASON_MAX - head.length - 2;
  const kept = said.length <= room ? said : truncate(said, room);
  return {
    reason: `${head}: ${kept}`,
    wordsCut: kept !== said,
    keptChars: kept === said ? said.length : kept.length - 1,
  };
}

/** The Slack name in a reason this module wrote, for "already closed … by Jane" from Cotool's timeline. */
export function nameInReason(text: string | null | undefined): string | null {
  const m = /from Slack by (.{1,80}?) \(<@[UW][A-Z0-9]{2,20}>\)/.exec(text ?? '');
  return m?.[1] ?? null;
}

// ---------------------------------------------------------------------------------------------
// Comments: how a note written from Slack names its author in Cotool.

export type NoteKind = 'note' | 'disagree' | 'reply';

/** The API's limit on a comment. */
export const COMMENT_MAX = 20_000;
/** What the modal accepts (a Slack input holds 3,000). */
export const NOTE_WORDS_MAX = 3_000;

const HEADS: Record<NoteKind, string> = {
  note: 'Note from Slack',
  disagree: 'Disagreement with the triage verdict from Slack',
  reply: 'Reply in Slack',
};

/** Event type of the thread reply that confirms a note (src/ports.ts EVENT_TYPES.note). */
export const NOTE_EVENT_TYPE = 'cotool_note';

/**
 * How a comment written from Slack names its author: "Jane Doe (<@U…>)" — the name cleaned, without
 * the characters that would make it look like a mention, and the id only when it is one.
 */
export function authorOf(actor: { id: string; name: string }): string {
  const name =
    truncate(
      cleanTyped(actor.name)
        .replace(/\s+/g, ' ')
        .replace(/[<>()]/g, ''),
      NAME_MAX,
    ) || 'a Slack user';
  return `${name}${SLACK_USER_ID.test(actor.id) ? ` (<@${actor.id}>)` : ''}`;
}

/** The comment's body: "Note from Slack by Jane Doe (<@U…>): words", within Cotool's 20,000 characters. */
export function noteBody(kind: NoteKind, actor: { id: string; name: string }, words: string): string {
  const head = `${HEADS[kind]} by ${authorOf(actor)}`;
  return `${head}: ${truncate(cleanTyped(words), COMMENT_MAX - head.length - 2)}`;
}

/** Whether a comment's body is one this module wrote (a timeline relay need not tell it again). */
export function isSlackNote(body: string | null | undefined): boolean {
  return /^(?:Note from Slack|Disagreement with the triage verdict from Slack|Reply in Slack) by .{1,80}? \(<@[UW][A-Z0-9]{2,20}>\): /s.test(
    body ?? '',
  );
}
