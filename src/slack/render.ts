/** Binds the pure views to the configuration: the renderer the poller and the listeners share. */
import { alertUrl, type Config } from '../config.ts';
import type { Alert } from '../core/alert.ts';
import { parseTallies } from '../core/digest.ts';
import { currentLastAction } from '../core/last-action.ts';
import type { CardRecord } from '../core/records.ts';
import type { CardRenderer } from '../ports.ts';
import {
  alertFingerprint,
  cardFingerprint,
  renderAlertCard,
  renderEscalationReply,
  renderStatusReply,
} from './views/alert-card.ts';
import { idListFits, renderDigest, renderIdList } from './views/digest.ts';
import { editPrefill, renderEditReply, sameText } from './views/edit-modal.ts';
import { renderGoneCard } from './views/gone-card.ts';
import { minimalCard, minimalDigest } from './views/minimal.ts';
import { reminderNote, takenNote } from './views/next-move-notes.ts';
import { renderTimelineNote } from './views/timeline-note.ts';

export type RenderOptions = { interactive: boolean; clock?: () => number };

export function createCardRenderer(config: Config, options: RenderOptions = { interactive: false }): CardRenderer {
  const clock = options.clock ?? Date.now;
  const card = (alert: Alert, record: CardRecord | null) =>
    renderAlertCard(alert, {
      alertUrl: alertUrl(config.cotool, alert),
      interactive: options.interactive,
      closeOpensForm: config.slack.closeReasonRequired,
      lastAction: currentLastAction(alert.status, record?.lastAction),
      owner: record?.owner ?? null,
      now: clock(),
    });
  return {
    card,
    gone: (record) => renderGoneCard(record.displayId),
    digest: (storm, digest, now) => renderDigest(storm, digest, parseTallies(storm.tally), { now }),
    idList: (ids, from) => renderIdList(ids, from),
    idListFits: (ids) => idListFits(ids),
    minimalCard: (alert) => minimalCard(alert, alertUrl(config.cotool, alert)),
    minimalDigest: (_storm, total, displayIds) => minimalDigest(total, displayIds),
    timelineNote: (alert, entries) =>
      renderTimelineNote(alert.displayId, entries, { alertUrl: alertUrl(config.cotool, alert) }),
    escalationReply: (alert, who) =>
      renderEscalationReply(alert, {
        by: who.by,
        reason: who.reason,
        mention: who.mention ?? config.slack.escalationMention,
      }),
    fingerprint: (alert, record) =>
      alertFingerprint(alert, currentLastAction(alert.status, record?.lastAction), { owner: record?.owner ?? null }),
    viewFingerprint: (view) => cardFingerprint(view as Parameters<typeof cardFingerprint>[0]),
    statusReply: (alert, ctx) => renderStatusReply(alert, { ...ctx, from: 'slack' }),
    editReply: (alert, ctx) => renderEditReply(alert, ctx),
    reminder: (n) => reminderNote(n),
    taken: (n) => takenNote(n),
    editPrefill,
    sameEditText: sameText,
  };
}
