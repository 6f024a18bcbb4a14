/**
 * EXPAND_ALERT_IDS: a bare `COT-123` in a message in a channel the bot is in gets the compact card
 * as a thread reply — at most once per alert per thread (claimed in the store), at most three per
 * message. Messages from bots, edits and other subtypes are ignored, and so are channels shared with
 * another organisation. The poster must pass the access check (the reply is seen by the channel); a
 * refused poster is told why once per thread.
 */
import type { App } from '@slack/bolt';
import { alertUrl } from '../../../config.ts';
import { findBareAlertIds } from '../../../core/command.ts';
import { classifySlackError } from '../../../core/slack-errors.ts';
import { EXPAND_TTL_MS, type LookupService } from '../../../service/lookup.ts';
import { accessRefused, newRef } from '../../messages.ts';
import { renderCompactCard } from '../../views/unfurl.ts';
import type { ListenerDeps } from '../deps.ts';

export const MAX_EXPANSIONS_PER_MESSAGE = 3;

type PlainMessage = {
  subtype?: string;
  bot_id?: string;
  user?: string;
  text?: string;
  channel: string;
  channel_type?: string;
  ts: string;
  thread_ts?: string;
};

export function registerExpand(app: App, deps: ListenerDeps, lookups: LookupService): void {
  const log = deps.logger.child({ module: 'expand' });
  app.event('message', async ({ event, body }) => {
    const m = event as unknown as PlainMessage;
    if (m.subtype !== undefined || m.bot_id || !m.user || typeof m.text !== 'string') return;
    if (m.channel_type !== 'channel' && m.channel_type !== 'group') return;
    // As for unfurls: nothing about an alert is posted where another organisation reads along.
    if ((body as { is_ext_shared_channel?: unknown }).is_ext_shared_channel === true) return;
    const ids = findBareAlertIds(m.text, MAX_EXPANSIONS_PER_MESSAGE);
    if (ids.length === 0) return;
    const threadTs = m.thread_ts ?? m.ts;
    try {
      const result = await lookups.expand(m.user, { channel: m.channel, threadTs }, ids);
      if (!result.ok) {
        log.info({ userId: m.user, reason: result.reason }, 'no expansion: the poster may not see alerts');
        const key = `expand-refused:${m.channel}:${threadTs}:${m.user}`;
        if (await deps.store.firstTime(key, deps.clock(), EXPAND_TTL_MS)) {
          await app.client.chat
            .postEphemeral({
              channel: m.channel,
              user: m.user,
              text: `No preview for ${ids.join(', ')}. ${accessRefused(result.reason, deps.access.describe())}`,
            })
            .catch((err: unknown) =>
              log.info({ slackError: classifySlackError(err, m.channel).code }, 'could not tell the poster'),
            );
        }
        return;
      }
      for (const alert of result.alerts) {
        const view = renderCompactCard(alert, { alertUrl: alertUrl(deps.config.cotool, alert) });
        try {
          await deps.slack.post({ channel: m.channel, thread_ts: threadTs, text: view.text, blocks: view.blocks });
        } catch (err) {
          const f = classifySlackError(err, m.channel);
          log.warn({ channel: m.channel, slackError: f.code, hint: f.hint }, 'could not post an expanded alert');
        }
      }
    } catch (err) {
      log.error({ err, ref: newRef(), channel: m.channel }, 'unexpected error while expanding alert ids');
    }
  });
}
