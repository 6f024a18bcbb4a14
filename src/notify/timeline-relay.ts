/**
 * Which Cotool timeline entries a card's thread still has to be told, decided without I/O.
 *
 * A cursor per card — the id and createdAt of the last entry told — marks where telling stopped; it
 * starts at the card's post time (history from before the card is not replayed). The order of a
 * timeline is (createdAt, id): Cotool promises no order, so the whole timeline is read and sorted.
 *
 * What is never told: what Slack already said. Notes written from Slack (the bot's own thread reply
 * confirmed them), status changes made from a card (the clicker's thread note, or the escalation
 * notice), and title or description edits made from Slack (the edit's thread note). Their entries
 * carry the API key's user as actor and, for notes and status changes, a body naming the Slack user;
 * an edit carries no words, so it is recognised by that actor, or by the card's last Slack action.
 */
import { z } from 'zod';
import type { TimelineEntry } from '../cotool/schemas.ts';
import { isSlackNote } from '../service/notes.ts';
import { nameInReason } from '../service/reason.ts';
import type { LastAction } from '../store/store.ts';

export type TimelineMode = 'all' | 'comments' | 'off';

/** The last entry told (or, before the first note, the card's post time with an empty id). */
export type TimelineCursor = { id: string; createdAt: string };

export const cursorMetaKey = (cardKey: string) => `timeline:${cardKey}`;
/** The last entry of the note being sent: what to look for in the thread when its answer was lost. */
export const sendingMetaKey = (cardKey: string) => `timeline-sending:${cardKey}`;

export function encodeCursor(c: TimelineCursor): string {
  return JSON.stringify({ id: c.id, createdAt: c.createdAt });
}

const CursorSchema = z.object({
  id: z.string(),
  createdAt: z.string().refine((t) => Number.isFinite(Date.parse(t))),
});

/** The saved cursor; null when absent or not ours (telling then starts over from the card). */
export function decodeCursor(raw: string | null): TimelineCursor | null {
  if (!raw) return null;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return null;
  }
  const c = CursorSchema.safeParse(json);
  return c.success ? { id: c.data.id, createdAt: c.data.createdAt } : null;
}

/** Where telling starts for a card that has had no note yet: its post time (else what it last showed). */
export function startCursor(postedAt: number | null, fallbackIso: string | null, now: number): TimelineCursor {
  if (postedAt !== null && Number.isFinite(postedAt)) return { id: '', createdAt: new Date(postedAt).toISOString() };
  const t = fallbackIso ? Date.parse(fallbackIso) : Number.NaN;
  return { id: '', createdAt: new Date(Number.isFinite(t) ? t : now).toISOString() };
}

/** `a` comes after `b` in timeline order: later createdAt, or the same instant and a greater id. */
export function isAfter(a: TimelineCursor, b: TimelineCursor): boolean {
  const ta = Date.parse(a.createdAt);
  const tb = Date.parse(b.createdAt);
  if (!Number.isFinite(ta)) return false;
  if (ta !== tb) return ta > tb;
  return a.id > b.id;
}

/** The entries after `cursor`, oldest first, deduplicated by id; entries without a readable date are skipped. */
export function entriesAfter(entries: readonly TimelineEntry[], cursor: TimelineCursor): TimelineEntry[] {
  const byId = new Map<string, TimelineEntry>();
  for (const e of entries) if (isAfter(e, cursor)) byId.set(e.id, e);
  return [...byId.values()].sort(
    (a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

const reasonOf = (e: TimelineEntry): string | null =>
  e.bodyMarkdown ?? (typeof e.metadata.reason === 'string' ? e.metadata.reason : null);

/** An entry surely written from Slack by the bot: a note, or a change whose reason names the Slack user. */
function surelyFromSlack(e: TimelineEntry): boolean {
  // The API key's user writes for Slack users; an agent's text naming someone is not believed.
  if (e.actorType !== 'human') return false;
  if (e.kind === 'comment') return isSlackNote(e.bodyMarkdown);
  return nameInReason(reasonOf(e)) !== null;
}

/** How close (ms) an edit entry must be to the card's last Slack edit to be taken for it. */
const EDIT_WINDOW_MS = 120_000;

export type TellContext = {
  mode: TimelineMode;
  /** The whole timeline as read: whoever wrote the bot's own entries is the API key's user. */
  timeline: readonly TimelineEntry[];
  /** The card's last action from Slack. */
  lastAction: LastAction | null;
};

/** The entries of `fresh` the thread should be told, in order. */
export function entriesToTell(fresh: readonly TimelineEntry[], ctx: TellContext): TimelineEntry[] {
  if (ctx.mode === 'off') return [];
  const botUsers = new Set<string>();
  for (const e of ctx.timeline) if (e.actorUserId && surelyFromSlack(e)) botUsers.add(e.actorUserId);
  const editAt = ctx.lastAction?.kind === 'edit' ? Date.parse(ctx.lastAction.at) : Number.NaN;
  return fresh.filter((e) => {
    if (ctx.mode === 'comments' && e.kind !== 'comment') return false;
    // The card itself tells that the alert was raised; the escalation notice tells an escalation.
    if (e.kind === 'created') return false;
    if (e.kind === 'status_change' && e.afterStatus === 'escalated') return false;
    if (surelyFromSlack(e)) return false;
    if ((e.kind === 'title_change' || e.kind === 'description_change') && e.actorType === 'human') {
      if (e.actorUserId && botUsers.has(e.actorUserId)) return false;
      const t = Date.parse(e.createdAt);
      if (Number.isFinite(editAt) && Math.abs(t - editAt) <= EDIT_WINDOW_MS) return false;
    }
    return true;
  });
}
