/**
 * What the triage listeners (card buttons here, modal submissions in ../views) share: the use-cases
 * bound to the listener deps, the redelivery guard, and the one mapping of a use-case result to the
 * words a user sees.
 */
import { createMetrics, type Metrics } from '../../../http/metrics.ts';
import type { TriageDeps, TriageFailure } from '../../../service/card-sync.ts';
import { type ChangeStatusSuccess, createChangeStatus } from '../../../service/change-status.ts';
import { createEditDetails, type EditDetailsSuccess } from '../../../service/edit-details.ts';
import { createFourEyes, type FourEyes } from '../../../service/four-eyes.ts';
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
import { approvalAskedText, renderCloseRequest } from '../../views/four-eyes.ts';
import type { ListenerDeps } from '../deps.ts';

/** How long a delivered interaction is remembered, so that a redelivery does not act twice. */
export const REDELIVERY_WINDOW_MS = 10 * 60_000;

export type Triage = ReturnType<typeof createTriage>;

/** A refusal or failure as a metric outcome (denied: the access policy; refused: Cotool said no). */
function failureOutcome(f: TriageFailure): string {
  switch (f.code) {
    case 'denied':
    case 'busy':
    case 'stale':
      return f.code;
    case 'forbidden':
    case 'not_found':
    case 'invalid':
      return 'refused';
    case 'unknown_outcome':
      return 'unknown';
    case 'upstream':
      return 'error';
  }
}

/** Counts every run of a use-case by op and outcome; an exception counts as `error` and is rethrown. */
function counted<I, R>(
  metrics: Metrics,
  op: (input: I) => string,
  outcome: (result: R) => string,
  run: (input: I) => Promise<R>,
): (input: I) => Promise<R> {
  return async (input) => {
    let result = 'error';
    try {
      const r = await run(input);
      result = outcome(r);
      return r;
    } finally {
      metrics.triageActions.inc({ op: op(input), outcome: result });
    }
  };
}

export function createTriage(deps: ListenerDeps) {
  const triageDeps: TriageDeps = {
    cotool: deps.cotool,
    store: deps.store,
    render: deps.render,
    slack: deps.slack,
    access: deps.access,
    logger: deps.logger,
    clock: deps.clock,
    onChanged: (change) => {
      deps.events.emit('alert-changed', change);
    },
    onFirstAction: (seconds) => deps.metrics?.timeToFirstAction.observe(seconds),
    ...(deps.claimTtlMs !== undefined ? { claimTtlMs: deps.claimTtlMs } : {}),
  };
  const metrics = deps.metrics ?? createMetrics();
  // FOUR_EYES_SEVERITIES: gated closes post a request; its approval makes the change (same use-case).
  const fourEyes =
    deps.config.fourEyes.severities.length > 0
      ? createFourEyes({
          cotool: deps.cotool,
          store: deps.store,
          slack: deps.slack,
          access: deps.access,
          logger: deps.logger,
          clock: deps.clock,
          severities: deps.config.fourEyes.severities,
          alertChannel: deps.config.slack.alertChannel,
          renderRequest: renderCloseRequest,
        })
      : null;
  const changeStatus = counted(
    metrics,
    (input) => input.status,
    (r) => (r.ok ? (r.statusChanged ? 'ok' : 'noop') : failureOutcome(r)),
    createChangeStatus(triageDeps, { fourEyes: fourEyes?.gate ?? null }),
  );
  fourEyes?.bind(changeStatus);
  return {
    deps: triageDeps,
    changeStatus,
    /** Four eyes (null when FOUR_EYES_SEVERITIES is empty). */
    fourEyes: fourEyes as FourEyes | null,
    editDetails: counted(
      metrics,
      () => 'edit',
      (r) => (r.ok ? (r.changed.length > 0 ? 'ok' : 'noop') : failureOutcome(r)),
      createEditDetails(triageDeps),
    ),
    /** True the first time this delivery is seen; false for Slack's redelivery of the same interaction. */
    firstDelivery: (key: string) => deps.store.firstTime(key, deps.clock(), REDELIVERY_WINDOW_MS),
    /** The words for a refusal or failure. `status`: the status asked for, if this was a status change. */
    failureText(f: TriageFailure, status?: string): string {
      switch (f.code) {
        case 'denied':
          return accessRefused(f.reason, deps.access.describe());
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
    },
    /** The words for a status change that went through (or found the status already set). */
    statusText(r: ChangeStatusSuccess): string {
      if (r.approval) return approvalAskedText(r.approval, r.alert.displayId);
      if (!r.statusChanged) return alreadyInStatus(r.alert.displayId, r.alert.status, r.setBy);
      return [
        statusChangedNote(r.alert.displayId, r.alert.status),
        r.wordsCut ? reasonShortened(r.keptChars) : '',
        r.cardUpdated === false ? cardNotUpdated(r.alert.displayId) : '',
      ]
        .filter(Boolean)
        .join('\n');
    },
    /** Notes worth telling after a one-click change on the card (the card itself shows the rest). */
    statusNotes(r: ChangeStatusSuccess): string {
      if (r.approval) return approvalAskedText(r.approval, r.alert.displayId);
      if (!r.statusChanged) return alreadyInStatus(r.alert.displayId, r.alert.status, r.setBy);
      return [
        r.wordsCut ? reasonShortened(r.keptChars) : '',
        r.cardUpdated === false ? cardNotUpdated(r.alert.displayId) : '',
      ]
        .filter(Boolean)
        .join('\n');
    },
    detailsText(r: EditDetailsSuccess): string {
      if (r.changed.length === 0) return nothingToSave(r.alert.displayId);
      const parts = r.changed.map((c) => `the ${c}`);
      return [
        detailsSavedNote(r.alert.displayId, parts),
        r.cardUpdated === false ? cardNotUpdated(r.alert.displayId) : '',
      ]
        .filter(Boolean)
        .join('\n');
    },
  };
}
