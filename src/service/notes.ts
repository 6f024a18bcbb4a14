/**
 * Notes from Slack: an analyst's words saved to Cotool as a comment on the alert. Cotool records the
 * bot's API key as the author, so the body names the Slack user:
 *
 *   Note from Slack by Jane Doe (<@U0123ABC>): <the analyst's words>
 *   Disagreement with the triage verdict from Slack by Jane Doe (<@U0123ABC>): <the words>
 *   Reply in Slack by Jane Doe (<@U0123ABC>): <the thread reply, mentions turned into names>
 *
 * Order: access → hold the confirming reply as an intent in the outbox, keyed by the click → POST
 * the comment (never repeated after a lost answer: a repeat would write it twice) → the reply settles
 * the intent: a quiet reply in the card's thread (no broadcast, nobody pinged). When the process dies
 * or the answer is lost, the sender tells the note once it finds the comment in the timeline.
 * Headless: Slack through a narrow port, Cotool through its client.
 */
import { randomUUID } from 'node:crypto';
import type { TimelineEntry } from '../core/alert.ts';
import { cleanTyped, type NoteKind, noteBody } from '../core/attribution.ts';
import { intentItem, settleItem } from '../core/outbox.ts';
import { newRef } from '../core/text.ts';
import { type CotoolError, isCotoolError } from '../cotool/errors.ts';
import type { Logger } from '../log.ts';
import type { CotoolClient, SlackView, Store } from '../ports.ts';
import type { AccessPolicy, AccessRefusal } from './access.ts';
import { type Actor, type CotoolFailureCode, classifyCotool, type Place } from './card-sync.ts';

export type NotesDeps = {
  cotool: Pick<CotoolClient, 'addComment'>;
  store: Pick<Store, 'get' | 'apply'>;
  access: Pick<AccessPolicy, 'check'>;
  logger: Logger;
  /** The thread reply confirming a note (src/slack/views/note-modal.ts renderNoteReply). */
  renderReply: (note: { displayId: string; kind: NoteKind; actor: Actor; words: string }) => SlackView;
  clock?: () => number;
  /** How long a note's intent is held before the sender finishes it itself (default INTENT_GRACE_MS). */
  intentGraceMs?: number;
};

export type AddNoteInput = {
  /** The alert's id as carried in the button or form. */
  alertId: string;
  userId: string;
  words: string;
  kind: NoteKind;
  /** The card the note was written from, when known (else the stored card's place is used). */
  place?: Place | null;
  /** Skip the access check: the caller already did it (thread replies check once per reply). */
  actor?: Actor;
  /** No confirming thread reply (a synced thread reply is marked with a reaction instead). */
  quiet?: boolean;
  /** The interaction's stable id (the redelivery key): names the note's intent and its reply. */
  clickId?: string | null;
};

export type AddNoteResult =
  | {
      ok: true;
      entry: TimelineEntry;
      actor: Actor;
      displayId: string;
      /** The card's thread got the confirming reply (null: none asked for, or no card). */
      replied: boolean | null;
      /** The analyst's words had to be shortened to fit. */
      cut: boolean;
    }
  | { ok: false; code: 'denied'; reason: AccessRefusal }
  | { ok: false; code: 'empty' }
  | { ok: false; code: CotoolFailureCode; displayId: string; error: CotoolError; ref: string; mayHaveSaved: boolean };

export function createAddNote(deps: NotesDeps): (input: AddNoteInput) => Promise<AddNoteResult> {
  const log = deps.logger.child({ module: 'notes' });
  return async (input) => {
    let actor = input.actor;
    if (!actor) {
      const decision = await deps.access.check(input.userId);
      if (!decision.ok) {
        log.info({ userId: input.userId, alertId: input.alertId, reason: decision.reason }, 'refused a note');
        return { ok: false, code: 'denied', reason: decision.reason };
      }
      actor = { id: input.userId, name: decision.user.name };
    }
    const words = cleanTyped(input.words);
    if (!words) return { ok: false, code: 'empty' };
    const record = await deps.store.get(input.alertId);
    const displayId = record?.displayId ?? input.alertId;
    const body = noteBody(input.kind, actor, words);
    const clock = deps.clock ?? Date.now;
    const place =
      input.place ??
      (record?.state === 'posted' && record.channel && record.ts ? { channel: record.channel, ts: record.ts } : null);
    // The confirming reply, held as an intent before the comment is sent (keyed by the click): a
    // process that dies after Cotool saved it, or a Cotool that answers late, still gets it told once.
    let intent: { key: string; view: SlackView; place: Place } | null = null;
    if (place && !input.quiet) {
      const view = deps.renderReply({ displayId, kind: input.kind, actor, words });
      const item = intentItem({
        clickId: input.clickId || randomUUID(),
        channel: place.channel,
        threadTs: place.ts,
        alertId: input.alertId,
        intent: { kind: 'note', body },
        view,
        now: clock(),
        ...(deps.intentGraceMs !== undefined ? { graceMs: deps.intentGraceMs } : {}),
      });
      intent = { key: item.key, view, place };
      try {
        await deps.store.apply([{ enqueue: [item] }]);
      } catch (err) {
        log.warn({ alertId: input.alertId, err: String(err) }, 'could not hold the reply of a note (it may be held)');
      }
    }
    let entry: TimelineEntry;
    try {
      entry = await deps.cotool.addComment(input.alertId, body);
    } catch (err) {
      if (!isCotoolError(err)) throw err;
      const ref = newRef();
      const code = classifyCotool(err);
      const mayHaveSaved = err.mayHaveApplied();
      // Surely not saved: the intent goes. Maybe saved: the sender tells it if the comment is there.
      if (intent && !mayHaveSaved) await deps.store.apply([{ dequeue: [intent.key] }]).catch(() => undefined);
      const line = { ref, alertId: input.alertId, userId: actor.id, kind: input.kind, mayHaveSaved, err: err.toLog() };
      if (code === 'upstream') log.error(line, 'a note could not be saved to Cotool');
      else log.warn(line, 'Cotool refused a note');
      return { ok: false, code, displayId, error: err, ref, mayHaveSaved };
    }
    log.info({ alertId: input.alertId, userId: actor.id, kind: input.kind, entryId: entry.id }, 'note saved to Cotool');
    let replied: boolean | null = null;
    if (intent) {
      // Through the outbox: the reply settles its intent (same key), found again by its metadata
      // after a crash or a lost answer.
      try {
        await deps.store.apply([
          {
            settle: [
              settleItem({
                key: intent.key,
                channel: intent.place.channel,
                threadTs: intent.place.ts,
                alertId: input.alertId,
                view: intent.view,
                now: clock(),
              }),
            ],
          },
        ]);
        replied = true;
      } catch (err) {
        replied = false;
        log.warn(
          { alertId: input.alertId, err: String(err) },
          'the note was saved but its thread reply could not be queued (its intent will tell it)',
        );
      }
    }
    return { ok: true, entry, actor, displayId, replied, cut: !body.endsWith(words) };
  };
}
