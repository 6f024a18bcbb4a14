/**
 * "Nothing waits unseen": when a critical or high alert nobody has acted on gets a reminder in its
 * thread. Pure, on the caller's clock: the sender asks `reminderDue` for each open card it follows.
 */

/** Severities that get reminders. */
export const REMINDED_SEVERITIES: readonly string[] = ['critical', 'high'];
/** Two reminders at most: after the wait, then after the same wait again; then silence. */
export const MAX_REMINDERS = 2;

export type ReminderInput = {
  severity: string | null;
  status: string;
  /** When the card reached Slack (epoch ms); no card, no reminder. */
  postedAt: number | null;
  /** When someone first acted on the alert from Slack, or in Cotool (it left `open`). */
  firstActionAt: number | null;
  /** Reminders already sent for this card. */
  sent: number;
  /** REMIND_AFTER_MINUTES (or the route's), in ms; 0 turns reminders off. */
  afterMs: number;
};

/**
 * The number (1 or 2) of the reminder due at `now`, or null; and when the next one would be due
 * (for scheduling), or null when none will be.
 */
export function reminderDue(r: ReminderInput, now: number): { due: 1 | 2 | null; nextAt: number | null } {
  const never = { due: null, nextAt: null };
  if (r.afterMs <= 0 || r.postedAt === null || r.firstActionAt !== null) return never;
  if (r.status !== 'open' && r.status !== 'escalated') return never;
  if (!REMINDED_SEVERITIES.includes(r.severity ?? '')) return never;
  if (r.sent >= MAX_REMINDERS) return never;
  const at = r.postedAt + (r.sent + 1) * r.afterMs;
  if (now < at) return { due: null, nextAt: at };
  const n = (r.sent + 1) as 1 | 2;
  return { due: n, nextAt: n < MAX_REMINDERS ? r.postedAt + (n + 1) * r.afterMs : null };
}

/** "open 23 min", "open 2 h 5 min", "open 3 d 4 h": how long a card has waited. */
export function openFor(sinceMs: number, now: number): string {
  const min = Math.max(0, Math.floor((now - sinceMs) / 60_000));
  if (min < 60) return `open ${min} min`;
  const h = Math.floor(min / 60);
  if (h < 24) return `open ${h} h${min % 60 ? ` ${min % 60} min` : ''}`;
  const d = Math.floor(h / 24);
  return `open ${d} d${h % 24 ? ` ${h % 24} h` : ''}`;
}
