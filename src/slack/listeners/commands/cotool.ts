/**
 * `/cotool`: parse the text (pure), then either answer at once in the ack (help, a bad command) or
 * ack with a one-line "Looking up…" and answer through the response URL once Cotool has replied —
 * so the ack never waits for Cotool, however slow. Access is checked before any Cotool call.
 * Answers are ephemeral; the "Looking up…" line is replaced by the answer.
 */
import type { App, RespondArguments } from '@slack/bolt';
import { alertUrl } from '../../../config.ts';
import { type Command, parseCommand } from '../../../core/command.ts';
import { isCotoolError } from '../../../cotool/errors.ts';
import { LIST_PAGE_SIZE, type LookupFailure, type LookupService } from '../../../service/lookup.ts';
import type { StatsService } from '../../../service/stats.ts';
import { accessRefused } from '../../messages.ts';
import type { CardView } from '../../views/alert-card.ts';
import { renderHelp } from '../../views/help.ts';
import { renderList } from '../../views/list.ts';
import { noAlertForRunAnswer, progressText, renderLookup, runNotice, textAnswer } from '../../views/lookup.ts';
import { renderStats } from '../../views/stats.ts';
import type { ListenerDeps } from '../deps.ts';
import { failureView, guarded } from './boundary.ts';

export const COMMAND = '/cotool';

type Ask = Exclude<Command, { kind: 'help' } | { kind: 'invalid' }>;

function progressOf(cmd: Ask): string {
  switch (cmd.kind) {
    case 'lookup':
      return `Looking up ${cmd.ref}`;
    case 'run':
      return `Looking up the alert of run ${cmd.runId}`;
    case 'list':
      return 'Listing alerts';
    case 'search':
      return 'Searching Cotool';
    case 'stats':
      return `Counting the last ${cmd.days} days of alerts for the noise report`;
  }
}

/** How a command that needs Cotool went, for metrics. */
export type CommandOutcome = 'ok' | 'not_found' | 'denied' | 'error';

const outcomeOf = (f: LookupFailure): CommandOutcome =>
  f.code === 'forbidden' ? 'denied' : f.code === 'upstream_error' ? 'error' : 'not_found';

/** The answer to a command that needs Cotool (`outcome`: how it went, not shown to the user). */
export async function answerCommand(
  cmd: Ask,
  userId: string,
  deps: Pick<ListenerDeps, 'config' | 'access' | 'logger'>,
  lookups: LookupService,
  stats: StatsService,
): Promise<CardView & { outcome: CommandOutcome }> {
  const log = deps.logger.child({ module: 'command' });
  const who = deps.access.describe();
  const link = (a: Parameters<typeof alertUrl>[1]) => alertUrl(deps.config.cotool, a);
  const closeOpensForm = deps.config.slack.closeReasonRequired;
  switch (cmd.kind) {
    case 'lookup': {
      const r = await lookups.lookup(userId, cmd.ref);
      if (!r.ok) {
        const view = failureView(r, { who, alertRef: cmd.ref, log, fields: { userId, kind: cmd.kind } });
        return { ...view, outcome: outcomeOf(r) };
      }
      return {
        ...renderLookup(r.alert, { alertUrl: link(r.alert), lastAction: r.lastAction, closeOpensForm }),
        outcome: 'ok',
      };
    }
    case 'run': {
      const r = await lookups.lookupRun(userId, cmd.runId);
      if (!r.ok) {
        if (r.code === 'not_found') return { ...noAlertForRunAnswer(cmd.runId), outcome: 'not_found' };
        return { ...failureView(r, { who, log, fields: { userId, kind: cmd.kind } }), outcome: outcomeOf(r) };
      }
      if (!r.found) return { ...noAlertForRunAnswer(cmd.runId), outcome: 'not_found' };
      const { alert, lastAction } = r.found;
      const view = renderLookup(alert, {
        alertUrl: link(alert),
        lastAction,
        notice: runNotice(cmd.runId),
        closeOpensForm,
      });
      return { ...view, outcome: 'ok' };
    }
    case 'stats': {
      const decision = await deps.access.check(userId);
      if (!decision.ok) return { ...textAnswer(accessRefused(decision.reason, who)), outcome: 'denied' };
      try {
        return { ...renderStats(await stats.report(cmd.days)), outcome: 'ok' };
      } catch (err) {
        if (!isCotoolError(err)) throw err;
        const view = failureView(
          { ok: false, code: 'upstream_error', error: err },
          { who, log, fields: { userId, kind: cmd.kind } },
        );
        return { ...view, outcome: 'error' };
      }
    }
    case 'list':
    case 'search': {
      const query =
        cmd.kind === 'list'
          ? { status: cmd.status, severity: cmd.severity, source: cmd.source }
          : { status: [], severity: [], source: [], q: cmd.q };
      const offset = cmd.kind === 'list' ? (cmd.page - 1) * LIST_PAGE_SIZE : 0;
      const r = await lookups.list(userId, query, offset);
      if (!r.ok) return { ...failureView(r, { who, log, fields: { userId, kind: cmd.kind } }), outcome: outcomeOf(r) };
      return { ...renderList(r), outcome: 'ok' };
    }
  }
}

export function registerCotoolCommand(app: App, deps: ListenerDeps): void {
  const log = deps.logger.child({ module: 'command' });
  const { metrics } = deps;
  const { lookups, stats } = deps.useCases;
  app.command(COMMAND, async ({ command, ack, respond }) => {
    const userId = command.user_id;
    let cmd: Command;
    try {
      cmd = parseCommand(command.text, { appUrl: deps.config.cotool.appUrl });
    } catch (err) {
      // The parser is pure and total; this is a bug. Still ack, with a reference.
      metrics.commands.inc({ kind: 'invalid', outcome: 'error' });
      await guarded(
        log,
        { userId },
        () => Promise.reject(err),
        (text) => ack({ response_type: 'ephemeral', text }),
      );
      return;
    }
    if (cmd.kind === 'help' || cmd.kind === 'invalid') {
      const view = renderHelp({ who: deps.access.describe(), problem: cmd.kind === 'invalid' ? cmd.message : null });
      log.info({ userId, kind: cmd.kind }, '/cotool answered with help');
      metrics.commands.inc({ kind: cmd.kind, outcome: 'ok' });
      await ack({ response_type: 'ephemeral', text: view.text, blocks: view.blocks });
      return;
    }
    await ack({ response_type: 'ephemeral', text: progressText(progressOf(cmd)) });
    const ask = cmd;
    const started = performance.now();
    let outcome: CommandOutcome = 'error';
    await guarded(
      log,
      { userId, kind: ask.kind },
      async () => {
        const view = await answerCommand(ask, userId, deps, lookups, stats);
        const answer: RespondArguments = {
          response_type: 'ephemeral',
          replace_original: true,
          text: view.text,
          blocks: view.blocks,
        };
        await respond(answer);
        outcome = view.outcome;
        log.info({ userId, kind: ask.kind, ms: Math.round(performance.now() - started) }, '/cotool answered');
      },
      (text) => respond({ response_type: 'ephemeral', replace_original: true, text }),
    );
    metrics.commands.inc({ kind: ask.kind, outcome });
  });
}
