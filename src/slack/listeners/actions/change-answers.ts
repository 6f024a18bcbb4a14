/**
 * The one mapping of a change's result (a status change, a details edit, a form that could not be
 * loaded) to the words the person who asked for it reads. Used by the card buttons, the four-eyes
 * buttons and the modal submissions.
 */

import type { TriageFailure } from '../../../service/card-sync.ts';
import type { ChangeStatusSuccess } from '../../../service/change-status.ts';
import type { EditDetailsSuccess } from '../../../service/edit-details.ts';
import {
  accessRefused,
  alertBusy,
  alreadyInStatus,
  cardNotUpdated,
  cotoolFailed,
  detailsSavedNote,
  nothingToSave,
  outcomeUnknown,
  reasonShortened,
  staleCard,
  statusChangedNote,
} from '../../messages.ts';
import { approvalAskedText } from '../../views/four-eyes.ts';

/**
 * The words for a refusal or failure. `who`: who may act (the access policy's description);
 * `status`: the status asked for, if this was a status change.
 */
export function failureText(f: TriageFailure, who: string, status?: string): string {
  switch (f.code) {
    case 'denied':
      return accessRefused(f.reason, who);
    case 'busy':
      return alertBusy(f.displayId);
    case 'stale':
      return status !== undefined && f.alert.status === status
        ? alreadyInStatus(f.displayId, f.alert.status, f.by)
        : staleCard(f.displayId, { now: f.alert.status, before: f.before, by: f.by });
    case 'unknown_outcome':
      return outcomeUnknown(f.displayId, f.ref);
    default:
      return cotoolFailed(f.error, f.ref, { alertRef: f.displayId, changing: true });
  }
}

/** The words for a status change that went through (or found the status already set). */
export function statusText(r: ChangeStatusSuccess): string {
  if (r.approval) return approvalAskedText(r.approval, r.alert.displayId);
  if (!r.statusChanged) return alreadyInStatus(r.alert.displayId, r.alert.status, r.setBy);
  return [
    statusChangedNote(r.alert.displayId, r.alert.status),
    r.wordsCut ? reasonShortened(r.keptChars) : '',
    r.cardUpdated === false ? cardNotUpdated(r.alert.displayId) : '',
  ]
    .filter(Boolean)
    .join('\n');
}

/** Notes worth telling after a one-click change on the card (the card itself shows the rest). */
export function statusNotes(r: ChangeStatusSuccess): string {
  if (r.approval) return approvalAskedText(r.approval, r.alert.displayId);
  if (!r.statusChanged) return alreadyInStatus(r.alert.displayId, r.alert.status, r.setBy);
  return [
    r.wordsCut ? reasonShortened(r.keptChars) : '',
    r.cardUpdated === false ? cardNotUpdated(r.alert.displayId) : '',
  ]
    .filter(Boolean)
    .join('\n');
}

/** The words for a details edit that went through (or had nothing to save). */
export function detailsText(r: EditDetailsSuccess): string {
  if (r.changed.length === 0) return nothingToSave(r.alert.displayId);
  const parts = r.changed.map((c) => `the ${c}`);
  return [detailsSavedNote(r.alert.displayId, parts), r.cardUpdated === false ? cardNotUpdated(r.alert.displayId) : '']
    .filter(Boolean)
    .join('\n');
}
