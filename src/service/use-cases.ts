/**
 * Every use-case the Slack surfaces call, built once from the ports: bot.ts calls `createUseCases` at
 * start (tests call it with fakes) and hands the result to the listeners, which never see the
 * ingredients. The order needs no binding after construction: the four-eyes gate first, the status
 * change with it, the four-eyes decisions with that status change.
 *
 * Changes asked from Slack are counted here, by op and outcome; an exception counts as `error`.
 */

import { intentGraceMs } from '../core/outbox.ts';
import type { CotoolClient } from '../cotool/client.ts';
import type { Alert } from '../cotool/schemas.ts';
import type { HealthState } from '../http/health.ts';
import type { Logger } from '../log.ts';
import type { CardRenderer, SlackPort } from '../notify/ports.ts';
import type { Store } from '../store/store.ts';
import type { AccessPolicy } from './access.ts';
import { createBulkClose, createBulkClosePreview } from './bulk-close.ts';
import { knownDisplayId, loadForForm, type TriageDeps, type TriageFailure } from './card-sync.ts';
import { type ChangeStatusInput, type ChangeStatusResult, createChangeStatus } from './change-status.ts';
import { createEditDetails, type EditDetailsResult } from './edit-details.ts';
import { createFourEyes, createFourEyesGate } from './four-eyes.ts';
import { createLookupService } from './lookup.ts';
import { createAddNote, type NotesDeps } from './notes.ts';
import { createStatsService } from './stats.ts';
import { createStormAlerts } from './storm-alerts.ts';
import { createThreadSync, type ThreadSyncDeps } from './thread-sync.ts';

/** The counters the use-cases feed (src/http/metrics.ts provides them). */
export type UseCaseMetrics = {
  triageActions: { inc(labels: { op: string; outcome: string }): void };
  timeToFirstAction: { observe(seconds: number): void };
};

export type UseCaseDeps = {
  cotool: Pick<
    CotoolClient,
    | 'getAlert'
    | 'getAlertForRun'
    | 'listAlerts'
    | 'listAlertPages'
    | 'listTimeline'
    | 'updateStatus'
    | 'updateDetails'
    | 'addComment'
  >;
  store: Store;
  /** The interactive card renderer, shared with the poller. */
  render: CardRenderer;
  slack: Pick<SlackPort, 'post' | 'update' | 'classify'>;
  access: Pick<AccessPolicy, 'check' | 'user' | 'describe'>;
  health: HealthState;
  logger: Logger;
  clock: () => number;
  metrics: UseCaseMetrics;
  /** FOUR_EYES_SEVERITIES (empty: no four eyes) and where a request goes when the alert has no card. */
  fourEyes: { severities: readonly string[]; alertChannel: string };
  /** Told after every change a Slack user made (App Home refreshes on it). */
  onChanged: (change: { alert: Alert; userId: string }) => void;
  /** The thread reply confirming a note (src/slack/views/note-modal.ts). */
  renderNoteReply: NotesDeps['renderReply'];
  /** SYNC_THREAD_REPLIES: how a saved reply is marked and a person told (src/slack/listeners/events/thread-sync.ts). */
  threadReplies: Pick<ThreadSyncDeps, 'react' | 'tell' | 'words'>;
  /** How long a click's claim on an alert holds (default CLAIM_TTL_MS; tests shorten it). */
  claimTtlMs?: number;
};

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
  metrics: UseCaseMetrics,
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

export type UseCases = ReturnType<typeof createUseCases>;

export function createUseCases(deps: UseCaseDeps) {
  const { cotool, store, access, logger, clock, metrics, onChanged } = deps;
  const changeDeps: TriageDeps = {
    cotool,
    store,
    render: deps.render,
    slack: deps.slack,
    access,
    logger,
    clock,
    onChanged,
    onFirstAction: (seconds) => metrics.timeToFirstAction.observe(seconds),
    ...(deps.claimTtlMs !== undefined ? { claimTtlMs: deps.claimTtlMs } : {}),
  };
  const gate =
    deps.fourEyes.severities.length > 0
      ? createFourEyesGate({
          store,
          logger,
          clock,
          severities: deps.fourEyes.severities,
          alertChannel: deps.fourEyes.alertChannel,
        })
      : null;
  const changeStatus = counted(
    metrics,
    (input: ChangeStatusInput) => input.status,
    (r: ChangeStatusResult) => (r.ok ? (r.statusChanged ? 'ok' : 'noop') : failureOutcome(r)),
    createChangeStatus(changeDeps, { fourEyes: gate }),
  );
  const addNote = createAddNote({
    cotool,
    store,
    access,
    logger,
    renderReply: deps.renderNoteReply,
    clock,
    ...(deps.claimTtlMs !== undefined ? { intentGraceMs: intentGraceMs(deps.claimTtlMs) } : {}),
  });
  return {
    changeStatus,
    editDetails: counted(
      metrics,
      () => 'edit',
      (r: EditDetailsResult) => (r.ok ? (r.changed.length > 0 ? 'ok' : 'noop') : failureOutcome(r)),
      createEditDetails(changeDeps),
    ),
    /** Four eyes (null when FOUR_EYES_SEVERITIES is empty). */
    fourEyes: gate ? createFourEyes({ cotool, store, access, logger, clock, changeStatus }) : null,
    /** Access checked and the alert read, for a form about to be shown (a stale card is redrawn). */
    loadForm: (input: Parameters<typeof loadForForm>[1]) => loadForForm(changeDeps, input),
    /** The display id to name an alert by before it has been read. */
    displayIdOf: (alertId: string) => knownDisplayId(changeDeps, alertId),
    addNote,
    syncThreadReply: createThreadSync({ store, access, addNote, logger, clock, ...deps.threadReplies }),
    lookups: createLookupService({ cotool, access, store, health: deps.health, logger, clock }),
    /** The noise report, shared with its scheduled post (STATS_POST_SCHEDULE). */
    stats: createStatsService({ cotool, store, logger, clock }),
    stormAlerts: createStormAlerts({ store, access }),
    bulkClosePreview: createBulkClosePreview({ store, access, clock }),
    bulkClose: createBulkClose({ cotool, store, access, logger, clock, onChanged }),
  };
}
