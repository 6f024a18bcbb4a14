/**
 * Events the bot answers: the App Home tab, link unfurls, (EXPAND_ALERT_IDS) bare alert ids in
 * channel messages, and (SYNC_THREAD_REPLIES) replies in a card's thread. Bolt acknowledges events
 * before these run.
 */
import type { App } from '@slack/bolt';
import type { ListenerDeps } from '../deps.ts';
import { registerExpand } from './expand.ts';
import { registerHome } from './home.ts';
import { registerThreadSync } from './thread-sync.ts';
import { registerUnfurls } from './unfurl.ts';

export function registerEvents(app: App, deps: ListenerDeps): void {
  const { lookups } = deps.useCases;
  registerHome(app, deps, lookups);
  registerUnfurls(app, deps, lookups);
  if (deps.config.slack.expandAlertIds) registerExpand(app, deps, lookups);
  if (deps.config.thread.syncReplies) registerThreadSync(app, deps);
}
