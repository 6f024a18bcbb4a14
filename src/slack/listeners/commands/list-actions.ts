/**
 * The buttons of a list page: "View" on a row answers with that alert's look-up (a new ephemeral
 * message, the list stays), "More" replaces the page with the next one. Values are decoded with zod;
 * a value that does not decode is refused ("run the command again") and logged.
 */
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { alertUrl } from '../../../config.ts';
import type { Logger } from '../../../log.ts';
import type { LookupService } from '../../../service/lookup.ts';
import { LOOKUP_ACTIONS } from '../../ids.ts';
import { decodeListPage, decodeView, type LookupDecode } from '../../lookup-payloads.ts';
import type { CardView } from '../../views/alert-card.ts';
import { renderList } from '../../views/list.ts';
import { renderLookup } from '../../views/lookup.ts';
import type { ListenerDeps } from '../deps.ts';
import { failureView, guarded, tellPrivately } from './boundary.ts';

const OUT_OF_DATE = ':hourglass: This list is out of date. Run `/cotool list` or `/cotool search` again.';
const VIEW_ACTION = new RegExp(`^${LOOKUP_ACTIONS.viewPrefix.replace(/\./g, '\\.')}\\d{1,2}$`);

export function registerListActions(app: App, deps: ListenerDeps, lookups: LookupService): void {
  const log = deps.logger.child({ module: 'list' });
  const who = () => deps.access.describe();

  listButton(app, log, {
    actionId: VIEW_ACTION,
    action: 'view',
    what: 'row',
    decode: decodeView,
    answer: async (userId, value) => {
      const r = await lookups.lookup(userId, value.id);
      const view = r.ok
        ? renderLookup(r.alert, {
            alertUrl: alertUrl(deps.config.cotool, r.alert),
            lastAction: r.lastAction,
            closeOpensForm: deps.config.slack.closeReasonRequired,
          })
        : failureView(r, { who: who(), alertRef: value.id, log, fields: { userId } });
      return { view, replace: false };
    },
  });

  listButton(app, log, {
    actionId: LOOKUP_ACTIONS.more,
    action: 'more',
    what: 'page',
    decode: decodeListPage,
    answer: async (userId, p) => {
      const query = { status: p.st, severity: p.sv, source: p.so, ...(p.q ? { q: p.q } : {}) };
      const r = await lookups.list(userId, query, p.o);
      const view = r.ok ? renderList(r) : failureView(r, { who: who(), log, fields: { userId } });
      return { view, replace: r.ok };
    },
  });
}

/**
 * A list button: acknowledged at once, its value decoded (one that does not decode is refused as out
 * of date, and logged), then answered ephemerally with `answer`'s view, replacing the list or not.
 */
function listButton<T>(
  app: App,
  log: Logger,
  spec: {
    actionId: string | RegExp;
    /** Names the button in the log line of an unexpected error. */
    action: string;
    /** What the value stands for, in log lines: 'row' or 'page'. */
    what: string;
    decode: (value: unknown) => LookupDecode<T>;
    answer: (userId: string, value: T) => Promise<{ view: CardView; replace: boolean }>;
  },
): void {
  app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: spec.actionId }, async (args) => {
    const { ack, body, action, respond, client } = args;
    await ack();
    const userId = body.user.id;
    const channel = body.channel?.id ?? (body.container as { channel_id?: string }).channel_id;
    const tell = (text: string) => tellPrivately({ respond, client, channel, user: userId }, text, log);
    await guarded(
      log,
      { userId, action: spec.action },
      async () => {
        const decoded = spec.decode(action.value);
        if (!decoded.ok) {
          log.warn({ userId, reason: decoded.reason }, `refused a list ${spec.what} value that did not decode`);
          await tell(OUT_OF_DATE);
          return;
        }
        const { view, replace } = await spec.answer(userId, decoded.value);
        if (!respond) throw new Error(`a list ${spec.what} click without a response URL`);
        await respond({ response_type: 'ephemeral', replace_original: replace, text: view.text, blocks: view.blocks });
      },
      tell,
    );
  });
}
