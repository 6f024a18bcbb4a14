/**
 * The buttons of a list page: "View" on a row answers with that alert's look-up (a new ephemeral
 * message, the list stays), "More" replaces the page with the next one. Values are decoded with zod;
 * a value that does not decode is refused ("run the command again") and logged.
 */
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { alertUrl } from '../../../config.ts';
import type { LookupService } from '../../../service/lookup.ts';
import { LOOKUP_ACTIONS } from '../../ids.ts';
import { decodeListPage, decodeView } from '../../lookup-payloads.ts';
import { renderList } from '../../views/list.ts';
import { renderLookup } from '../../views/lookup.ts';
import type { ListenerDeps } from '../deps.ts';
import { failureView, guarded, tellPrivately } from './boundary.ts';

const OUT_OF_DATE = ':hourglass: This list is out of date. Run `/cotool list` or `/cotool search` again.';
const VIEW_ACTION = new RegExp(`^${LOOKUP_ACTIONS.viewPrefix.replace(/\./g, '\\.')}\\d{1,2}$`);

export function registerListActions(app: App, deps: ListenerDeps, lookups: LookupService): void {
  const log = deps.logger.child({ module: 'list' });
  const who = () => deps.access.describe();

  app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: VIEW_ACTION }, async (args) => {
    const { ack, body, action, respond, client } = args;
    await ack();
    const userId = body.user.id;
    const channel = body.channel?.id ?? (body.container as { channel_id?: string }).channel_id;
    const tell = (text: string) => tellPrivately({ respond, client, channel, user: userId }, text, log);
    await guarded(
      log,
      { userId, action: 'view' },
      async () => {
        const decoded = decodeView(action.value);
        if (!decoded.ok) {
          log.warn({ userId, reason: decoded.reason }, 'refused a list row value that did not decode');
          await tell(OUT_OF_DATE);
          return;
        }
        const r = await lookups.lookup(userId, decoded.value.id);
        const view = r.ok
          ? renderLookup(r.alert, { alertUrl: alertUrl(deps.config.cotool, r.alert), lastAction: r.lastAction })
          : failureView(r, { who: who(), alertRef: decoded.value.id, log, fields: { userId } });
        if (!respond) throw new Error('a list row click without a response URL');
        await respond({ response_type: 'ephemeral', replace_original: false, text: view.text, blocks: view.blocks });
      },
      tell,
    );
  });

  app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: LOOKUP_ACTIONS.more }, async (args) => {
    const { ack, body, action, respond, client } = args;
    await ack();
    const userId = body.user.id;
    const channel = body.channel?.id ?? (body.container as { channel_id?: string }).channel_id;
    const tell = (text: string) => tellPrivately({ respond, client, channel, user: userId }, text, log);
    await guarded(
      log,
      { userId, action: 'more' },
      async () => {
        const decoded = decodeListPage(action.value);
        if (!decoded.ok) {
          log.warn({ userId, reason: decoded.reason }, 'refused a list page value that did not decode');
          await tell(OUT_OF_DATE);
          return;
        }
        const p = decoded.value;
        const query = { status: p.st, severity: p.sv, source: p.so, ...(p.q ? { q: p.q } : {}) };
        const r = await lookups.list(userId, query, p.o);
        const view = r.ok ? renderList(r) : failureView(r, { who: who(), log, fields: { userId } });
        if (!respond) throw new Error('a list page click without a response URL');
        await respond({ response_type: 'ephemeral', replace_original: r.ok, text: view.text, blocks: view.blocks });
      },
      tell,
    );
  });
}
