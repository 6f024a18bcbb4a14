/**
 * Link unfurls: a message with links to the Cotool web app (`link_shared`) gets a compact card under
 * each link that names an alert (`chat.unfurl`).
 *
 * Who may see it: an unfurl is shown to everyone in the conversation, so it is treated as the poster
 * sharing the alert — done only when the poster passes the same access check as the buttons (guests
 * never), and never in a channel shared with another organisation (`is_ext_shared_channel`). A
 * refused poster is told why, privately, at most once a day; nothing is shown to the channel.
 */
import type { App } from '@slack/bolt';
import type { LinkUnfurls } from '@slack/types';
import { alertRefFromUrl } from '../../../core/command.ts';
import { classifySlackError } from '../../../core/slack-errors.ts';
import type { LookupService } from '../../../service/lookup.ts';
import { MAX_UNFURLS } from '../../../service/lookup.ts';
import { accessRefused, newRef } from '../../messages.ts';
import { renderCompactCard } from '../../views/unfurl.ts';
import type { ListenerDeps } from '../deps.ts';

const REFUSAL_NOTE_TTL_MS = 24 * 60 * 60_000;

type LinkShared = {
  channel: string;
  user: string;
  message_ts: string;
  unfurl_id?: string;
  source?: string;
  links?: Array<{ url?: string; domain?: string }>;
};

export function registerUnfurls(app: App, deps: ListenerDeps, lookups: LookupService): void {
  const log = deps.logger.child({ module: 'unfurl' });
  app.event('link_shared', async ({ event, body, client }) => {
    const e = event as unknown as LinkShared;
    try {
      const links = (e.links ?? [])
        .map((l) => ({ url: typeof l.url === 'string' ? l.url : '', ref: null as string | null }))
        .map((l) => ({ ...l, ref: l.url ? alertRefFromUrl(l.url, deps.config.cotool.appUrl) : null }))
        .filter((l): l is { url: string; ref: string } => l.ref !== null)
        .slice(0, MAX_UNFURLS);
      if (links.length === 0) return;
      if ((body as { is_ext_shared_channel?: unknown }).is_ext_shared_channel === true) {
        log.info({ channel: e.channel }, 'no unfurl: the channel is shared with another organisation');
        return;
      }
      const result = await lookups.unfurl(
        e.user,
        links.map((l) => l.ref),
      );
      if (!result.ok) {
        log.info({ userId: e.user, reason: result.reason }, 'no unfurl: the poster may not see alerts');
        await noteRefusal(e, result.reason);
        return;
      }
      const unfurls: LinkUnfurls = {};
      for (const [i, l] of links.entries()) {
        const alert = result.alerts.get(l.ref);
        if (alert) unfurls[l.url] = { blocks: renderCompactCard(alert, { key: String(i) }).blocks };
      }
      if (Object.keys(unfurls).length === 0) return;
      const target =
        e.source === 'composer' && e.unfurl_id
          ? { unfurl_id: e.unfurl_id, source: 'composer' as const }
          : { channel: e.channel, ts: e.message_ts };
      try {
        await client.chat.unfurl({ ...target, unfurls });
        log.info({ channel: e.channel, count: Object.keys(unfurls).length }, 'unfurled Cotool links');
      } catch (err) {
        const f = classifySlackError(err, e.channel);
        log.warn({ channel: e.channel, slackError: f.code }, 'Slack refused the unfurl');
      }
    } catch (err) {
      log.error({ err, ref: newRef(), channel: e.channel }, 'unexpected error while unfurling');
    }
  });

  async function noteRefusal(e: LinkShared, reason: Parameters<typeof accessRefused>[0]): Promise<void> {
    if (e.source === 'composer' || !e.channel) return;
    if (!(await deps.store.firstTime(`unfurl-refused:${e.user}`, deps.clock(), REFUSAL_NOTE_TTL_MS))) return;
    try {
      const why = accessRefused(reason, deps.access.describe());
      await app.client.chat.postEphemeral({
        channel: e.channel,
        user: e.user,
        text: `No preview for your Cotool link. ${why}`,
      });
    } catch (err) {
      log.info(
        { slackError: classifySlackError(err, e.channel).code },
        'could not tell the poster why there is no preview',
      );
    }
  }
}
