/**
 * "Was this you?": which people an alert names, and who may be asked. Pure: the service looks the
 * addresses up in Slack (users.lookupByEmail) and applies these rules to what it finds.
 */

/** At most this many addresses are looked up for one alert (the modal offers the first found). */
export const MAX_ASKABLE_ADDRESSES = 5;

/**
 * Defanged forms security tools write (`jane[@]acme.io`, `jane(at)acme[.]io`) are read as the
 * address they stand for; Slack's own `<mailto:a@b|a@b>` markup is read once.
 */
function refang(text: string): string {
  return text
    .replace(/<mailto:([^|>]+)(?:\|[^>]*)?>/gi, ' $1 ')
    .replace(/\[(?:@|at)\]|\((?:@|at)\)/gi, '@')
    .replace(/\[\.\]|\(\.\)|\[dot\]|\(dot\)/gi, '.');
}

const ADDRESS =
  /[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}/g;

/**
 * The e-mail addresses an alert names, in the order they appear (title first), each once
 * (compared case-insensitively, the first spelling kept), at most MAX_ASKABLE_ADDRESSES.
 */
export function emailsIn(alert: { title: string; description: string | null }): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const part of [alert.title, alert.description ?? '']) {
    for (const m of refang(part.slice(0, 20_000)).matchAll(ADDRESS)) {
      const address = m[0];
      const key = address.toLowerCase();
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(address);
      if (out.length >= MAX_ASKABLE_ADDRESSES) return out;
    }
  }
  return out;
}

/** What Slack says of a person, as far as asking them goes. */
export type AskablePerson = {
  id: string;
  deleted?: boolean;
  is_bot?: boolean;
  is_restricted?: boolean;
  is_ultra_restricted?: boolean;
};

/** Why a person cannot be asked, or null when they can. */
export type NotAskable = 'deactivated' | 'bot' | 'guest';

export function whyNotAskable(person: AskablePerson, botUserId?: string): NotAskable | null {
  if (person.deleted) return 'deactivated';
  if (person.is_bot || (botUserId !== undefined && person.id === botUserId)) return 'bot';
  if (person.is_restricted || person.is_ultra_restricted) return 'guest';
  return null;
}

/** A question's lifecycle: asked → answered (yes / no) or timed out. One answer, by the person asked. */
export type QuestionState = 'asked' | 'yes' | 'no' | 'timed_out';

export type AnswerCheck = { ok: true } | { ok: false; code: 'not_yours' | 'already_answered' | 'timed_out' };

/** Whether `userId` may answer a question in `state` that was put to `askedUserId`. */
export function mayAnswer(q: { askedUserId: string; state: QuestionState }, userId: string): AnswerCheck {
  if (q.askedUserId !== userId) return { ok: false, code: 'not_yours' };
  if (q.state === 'timed_out') return { ok: false, code: 'timed_out' };
  if (q.state !== 'asked') return { ok: false, code: 'already_answered' };
  return { ok: true };
}

/** True once an unanswered question asked at `askedAt` has waited `timeoutMs`. */
export function questionTimedOut(
  q: { state: QuestionState; askedAt: number },
  now: number,
  timeoutMs: number,
): boolean {
  return q.state === 'asked' && now - q.askedAt >= timeoutMs;
}
