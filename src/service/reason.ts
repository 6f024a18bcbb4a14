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
import { truncate } from '../core/text.ts';
import { statusDone } from '../core/verdict.ts';

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
