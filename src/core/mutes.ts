/**
 * Muting a noisy detection: while a mute holds, new alerts of that detection get no card of their
 * own — they are counted in the mute's one quiet message — unless they break through (escalated, or
 * critical when the route lets critical alerts through). Pure, on the caller's clock.
 */

export const MUTE_CHOICES = ['1h', '4h', '24h', 'until'] as const;
export type MuteChoice = (typeof MUTE_CHOICES)[number];

const HOUR = 3_600_000;
/** No mute lasts longer than this, whatever the picked time says. */
export const MAX_MUTE_MS = 7 * 24 * HOUR;

export type MuteEnd = { ok: true; until: number } | { ok: false; code: 'in_the_past' | 'too_long' | 'missing' };

/** When a mute picked at `now` ends; `untilMs` is the picked date and time for `until`. */
export function muteEnd(choice: MuteChoice, now: number, untilMs?: number | null): MuteEnd {
  if (choice === '1h') return { ok: true, until: now + HOUR };
  if (choice === '4h') return { ok: true, until: now + 4 * HOUR };
  if (choice === '24h') return { ok: true, until: now + 24 * HOUR };
  if (untilMs === undefined || untilMs === null || !Number.isFinite(untilMs)) return { ok: false, code: 'missing' };
  if (untilMs <= now) return { ok: false, code: 'in_the_past' };
  if (untilMs - now > MAX_MUTE_MS) return { ok: false, code: 'too_long' };
  return { ok: true, until: untilMs };
}

export type Mute = {
  id: string;
  /** The detection muted: its id when the alert has one, else its name. */
  detectionKey: string;
  channel: string;
  until: number;
  endedAt: number | null;
};

export type BreakThrough = { escalated: boolean; critical: boolean };
/** By default escalated and critical alerts always get their card. */
export const DEFAULT_BREAK_THROUGH: BreakThrough = { escalated: true, critical: true };

/** The key a mute matches an alert by (null: no detection, never muted). */
export function detectionKeyOf(alert: { detection: { id: string | null; name: string | null } | null }): string | null {
  const d = alert.detection;
  if (!d) return null;
  if (d.id) return `id:${d.id}`;
  return d.name ? `name:${d.name}` : null;
}

/**
 * The mute that holds a new alert back in `channel`, or null when it gets its card (no mute, the
 * mute has ended, or the alert breaks through).
 */
export function mutedBy(
  alert: { status: string; severity: string | null; detection: { id: string | null; name: string | null } | null },
  channel: string,
  mutes: readonly Mute[],
  now: number,
  breakThrough: BreakThrough = DEFAULT_BREAK_THROUGH,
): Mute | null {
  if (breakThrough.escalated && alert.status === 'escalated') return null;
  if (breakThrough.critical && alert.severity === 'critical') return null;
  const key = detectionKeyOf(alert);
  if (key === null) return null;
  return (
    mutes.find((m) => m.detectionKey === key && m.channel === channel && m.endedAt === null && now < m.until) ?? null
  );
}
