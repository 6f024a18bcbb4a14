/**
 * The card-thread notes of the next moves (issue 14): a question asked, answered or timed out; an
 * alert taken; the reminders; the war room opened or already open. Pure: facts → { text, blocks }.
 * Names are escaped; people, channels and user groups become mentions only from validated ids.
 *
 *   💬 @ana asked @jane whether COT-1 was them; answer due by 10:30.
 *   ✅ @jane answered “Yes, it was me” about COT-1:  > note
 *   ⌛ @jane did not answer about COT-1 within 30 min.
 *   🙋 @ana took COT-1.
 *   ⏰ Reminder 1 of 2: COT-1 (critical) has waited 15 min with nobody on it. @secops-oncall
 *   🚒 @ana opened an incident channel for COT-1: #inc-cot-1-impossible-travel
 */
import { MAX_REMINDERS } from '../../core/reminders.ts';
import { NEXT_BLOCKS } from '../ids.ts';
import { LIMITS, mrkdwn, oneLine, quote } from '../text.ts';
import type { CardView } from './alert-card.ts';
import { isKnownSeverity, SEVERITY_LABEL, SEVERITY_MARK } from './labels.ts';
import {
  channelLink,
  groupMention,
  idOf,
  nameOf,
  type Person,
  SLACK_USER_ID,
  section,
  span,
  when,
  who,
} from './next-move-parts.ts';

export type Answer = 'yes' | 'no';
export const ANSWER_WORDS: Record<Answer, string> = { yes: 'Yes, it was me', no: 'No, it wasn’t me' };

const plainId = (displayId: string) => mrkdwn(oneLine(displayId), 40) || 'the alert';

function note(text: string, blockText: string): CardView {
  return { text, blocks: [section(NEXT_BLOCKS.note, blockText)] };
}

/** "@ana asked @jane whether COT-1 was them; answer due by …". */
export function askedNote(n: { displayId: string; askedBy: Person; asked: Person; deadline: number }): CardView {
  const line = (id: string) =>
    `${who(n.askedBy)} asked ${who(n.asked)} whether ${id} was them; answer due by ${when(n.deadline, '{time}')}.`;
  return note(
    `${nameOf(n.askedBy)} asked ${nameOf(n.asked)} whether ${plainId(n.displayId)} was them`,
    `:speech_balloon: ${line(idOf(n.displayId))}`,
  );
}

/** "@jane answered “No, it wasn’t me” about COT-1 (escalated)" and the note quoted. */
export function answeredNote(n: {
  displayId: string;
  asked: Person;
  answer: Answer;
  note?: string | null;
  /** No escalated the alert (or it already was). */
  escalated?: boolean;
}): CardView {
  const mark = n.answer === 'yes' ? ':white_check_mark:' : ':rotating_light:';
  const then = n.answer === 'no' && n.escalated ? ' — the alert is escalated' : '';
  const words = n.note?.trim()
    ? `:\n${quote(n.note, { maxChars: 1_000, maxLines: 12, max: LIMITS.sectionText - 400 })}`
    : '.';
  return note(
    `${nameOf(n.asked)} answered “${ANSWER_WORDS[n.answer]}” about ${plainId(n.displayId)}`,
    `${mark} ${who(n.asked)} answered *“${ANSWER_WORDS[n.answer]}”* about ${idOf(n.displayId)}${then}${words}`,
  );
}

/** "@jane did not answer about COT-1 within 30 min." */
export function timedOutNote(n: { displayId: string; asked: Person; waitedMs: number }): CardView {
  return note(
    `${nameOf(n.asked)} did not answer about ${plainId(n.displayId)} within ${span(n.waitedMs)}`,
    `:hourglass: ${who(n.asked)} did not answer about ${idOf(n.displayId)} within ${span(n.waitedMs)}. Nothing was changed; decide without them.`,
  );
}

/** "@ana took COT-1." */
export function takenNote(n: { displayId: string; by: Person }): CardView {
  return note(
    `${nameOf(n.by)} took ${plainId(n.displayId)}`,
    `:raising_hand: ${who(n.by)} took ${idOf(n.displayId)}: it is in progress, and theirs.`,
  );
}

/**
 * "Reminder 1 of 2: COT-1 (critical) has waited 15 min with nobody on it." and the route's on-call
 * group, when one is configured and its id is a user group id; else no mention.
 */
export function reminderNote(n: {
  displayId: string;
  severity: string | null;
  n: number;
  waitedMs: number;
  /** Who to mention: user group ids (S…) and user ids (U…/W…); anything else is left out. */
  oncall: readonly string[];
}): CardView {
  const sev = n.severity && isKnownSeverity(n.severity) ? n.severity : null;
  const sevText = sev ? ` (${SEVERITY_LABEL[sev].toLowerCase()})` : '';
  const mark = sev ? SEVERITY_MARK[sev] : ':alarm_clock:';
  const mention =
    n.oncall
      .map((id) => groupMention(id) ?? (SLACK_USER_ID.test(id) ? `<@${id}>` : null))
      .filter((m): m is string => m !== null)
      .slice(0, 10)
      .join(' ') || null;
  const of = `${Math.min(Math.max(1, n.n), MAX_REMINDERS)} of ${MAX_REMINDERS}`;
  const line = (id: string) => `Reminder ${of}: ${id}${sevText} has waited ${span(n.waitedMs)} with nobody on it.`;
  const ask = n.n >= MAX_REMINDERS ? ' This is the last reminder.' : '';
  return note(
    `${mention ? `${mention} ` : ''}${line(plainId(n.displayId))}`,
    `${mark} ${line(idOf(n.displayId))}${ask} Take it with *I'll take it* on the card.${mention ? `\n${mention}` : ''}`,
  );
}

/** "@ana opened an incident channel for COT-1: #inc-…". */
export function warRoomOpenedNote(n: { displayId: string; by: Person; channel: string }): CardView {
  const link = channelLink(n.channel) ?? 'a new channel';
  return note(
    `${nameOf(n.by)} opened an incident channel for ${plainId(n.displayId)}`,
    `:fire_engine: ${who(n.by)} opened an incident channel for ${idOf(n.displayId)}: ${link}`,
  );
}

/** "The incident channel for COT-1 is already open: #inc-…" (a second click). */
export function warRoomExistsNote(n: { displayId: string; channel: string }): CardView {
  const link = channelLink(n.channel) ?? 'its channel';
  return note(
    `The incident channel for ${plainId(n.displayId)} is already open`,
    `:information_source: The incident channel for ${idOf(n.displayId)} is already open: ${link}`,
  );
}
