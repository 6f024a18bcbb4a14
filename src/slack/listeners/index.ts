import type { App } from '@slack/bolt';
import { registerActions } from './actions/index.ts';
import { registerCommands } from './commands/index.ts';
import type { ListenerDeps } from './deps.ts';
import { registerEvents } from './events/index.ts';
import { registerViews } from './views/index.ts';

/** Every Slack surface the bot answers: card buttons, modals, the /cotool command, events. */
export function registerListeners(app: App, deps: ListenerDeps): void {
  registerActions(app, deps);
  registerViews(app, deps);
  registerCommands(app, deps);
  registerEvents(app, deps);
}
