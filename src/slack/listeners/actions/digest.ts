/**
 * The storm digest's buttons. Every click is acknowledged first, its value decoded (one that does not
 * decode is refused as out of date, and logged), access checked by the use-case, then:
 * - Show alerts / Previous / Next: an ephemeral page of the group's alerts (a new message from the
 *   digest; the same message replaced when paging), each with the look-up list's View button;
 * - Close all as false positive…: the modal opens at once with the click's trigger_id ("Loading…"),
 *   and is filled in with the form — how many alerts of which group — or with why there is none.
 * The submission is handled in ../views/digest-close.ts.
 */
import type { AllMiddlewareArgs, App, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { type DigestButton, decodeDigestButton } from '../../digest-payloads.ts';
import { classifySlackError } from '../../errors.ts';
import { DIGEST_ACTIONS } from '../../ids.ts';
import {
  accessRefused,
  bulkAlready,
  bulkNothingLive,
  digestOutOfDate,
  formNotOpened,
  groupText,
  stormNotFound,
} from '../../messages.ts';
import { renderStormAlerts } from '../../views/digest-alerts.ts';
import { closeAllLoading, closeAllNotice, renderCloseAllModal } from '../../views/digest-close-modal.ts';
import { guarded, tellPrivately } from '../commands/boundary.ts';
import type { ListenerDeps } from '../deps.ts';
import { firstDelivery } from '../redelivery.ts';

type ClickArgs = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;
type View = Parameters<WebClient['views']['open']>[0]['view'];

export function registerDigestActions(app: App, deps: ListenerDeps): void {
  const log = deps.logger.child({ module: 'digest-actions' });
  const showAlerts = deps.useCases.stormAlerts;
  const preview = deps.useCases.bulkClosePreview;

  /** The click's value, when it decodes to the kind this button carries; else the user is told. */
  async function decoded(args: ClickArgs, kind: DigestButton['k']): Promise<DigestButton | null> {
    const { body, action, respond, client } = args;
    const d = decodeDigestButton(action.value);
    if (d.ok && d.value.k === kind && (kind === 'show' || d.value.g !== undefined)) return d.value;
    log.warn(
      { userId: body.user.id, actionId: action.action_id, reason: d.ok ? 'kind_mismatch' : d.reason },
      'a digest click carried a value that does not decode; told the user it is out of date',
    );
    await tellPrivately({ respond, client, channel: body.channel?.id, user: body.user.id }, digestOutOfDate(), log);
    return null;
  }

  const show = (replace: boolean) => async (args: ClickArgs) => {
    const { ack, body, respond, client } = args;
    await ack();
    const userId = body.user.id;
    const channel = body.channel?.id ?? (body.container as { channel_id?: string }).channel_id;
    const tell = (text: string) => tellPrivately({ respond, client, channel, user: userId }, text, log);
    await guarded(
      log,
      { userId, action: 'digest.show_alerts' },
      async () => {
        const p = await decoded(args, 'show');
        if (!p) return;
        const r = await showAlerts({ stormId: p.s, groupKey: p.g ?? null, page: p.p ?? 0, userId });
        if (!r.ok) {
          if (r.code === 'denied') log.info({ userId, reason: r.reason }, 'refused Show alerts');
          await tell(r.code === 'denied' ? accessRefused(r.reason, deps.access.describe()) : stormNotFound());
          return;
        }
        const view = renderStormAlerts(r);
        if (respond) {
          await respond({
            response_type: 'ephemeral',
            replace_original: replace,
            text: view.text,
            blocks: view.blocks,
          });
        } else if (channel) {
          await client.chat.postEphemeral({ channel, user: userId, text: view.text, blocks: view.blocks });
        } else throw new Error('a Show alerts click with neither a response URL nor a channel');
        log.info({ userId, stormId: p.s, page: r.page, total: r.total }, 'showed a storm group');
      },
      tell,
    );
  };
  app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: DIGEST_ACTIONS.showAlerts }, show(false));
  for (const actionId of [DIGEST_ACTIONS.pagePrev, DIGEST_ACTIONS.pageNext]) {
    app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: actionId }, show(true));
  }

  app.action<BlockAction<ButtonAction>>(
    { type: 'block_actions', action_id: DIGEST_ACTIONS.closeAll },
    async (args: ClickArgs) => {
      const { ack, body, action, respond, client } = args;
      await ack();
      const userId = body.user.id;
      const channel = body.channel?.id;
      const tell = (text: string) => tellPrivately({ respond, client, channel, user: userId }, text, log);
      await guarded(
        log,
        { userId, action: 'digest.close_all' },
        async () => {
          const p = await decoded(args, 'close');
          if (!p || p.g === undefined) return;
          const key = `interaction:${userId}:${action.action_ts}:${action.action_id}`;
          if (!(await firstDelivery(deps, key))) {
            log.info({ userId, stormId: p.s }, 'ignored a redelivered close-all click');
            return;
          }
          // Open at once: the trigger expires after 3 s. Everything else comes after.
          let viewId: string | undefined;
          let hash: string | undefined;
          try {
            const opened = await client.views.open({ trigger_id: body.trigger_id, view: closeAllLoading() as View });
            viewId = opened.view?.id;
            hash = opened.view?.hash;
          } catch (err) {
            log.warn({ userId, slackError: classifySlackError(err).code }, 'could not open the close-all modal');
            await tell(formNotOpened());
            return;
          }
          if (!viewId) return;
          const r = await preview({ stormId: p.s, groupKey: p.g, userId });
          let view: object;
          if (r.ok) {
            view = renderCloseAllModal(
              { groupKey: p.g, groupName: r.groupName, live: r.live, total: r.total },
              { v: 1, s: p.s, g: p.g, n: r.live },
            );
          } else {
            if (r.code === 'denied') log.info({ userId, reason: r.reason }, 'refused Close all');
            const group = r.code === 'denied' || r.code === 'not_found' ? '' : groupText(p.g, r.groupName);
            view = closeAllNotice(
              r.code === 'denied'
                ? accessRefused(r.reason, deps.access.describe())
                : r.code === 'not_found'
                  ? stormNotFound()
                  : r.code === 'already'
                    ? bulkAlready(group, r.tally)
                    : bulkNothingLive(group),
            );
          }
          try {
            await client.views.update({ view_id: viewId, ...(hash ? { hash } : {}), view: view as View });
          } catch (err) {
            // Closed by the user meanwhile, or Slack refused the view: there is no form to show.
            log.warn({ userId, slackError: classifySlackError(err).code }, 'could not fill in the close-all modal');
          }
        },
        tell,
      );
    },
  );
}
