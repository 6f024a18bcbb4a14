/**
 * The /cotool command and the buttons of its answers (Share in channel, a list's View and More).
 */
import type { App } from '@slack/bolt';
import type { ListenerDeps } from '../deps.ts';
import { registerCotoolCommand } from './cotool.ts';
import { registerListActions } from './list-actions.ts';
import { registerShare } from './share.ts';

export function registerCommands(app: App, deps: ListenerDeps): void {
  const { lookups } = deps.useCases;
  registerCotoolCommand(app, deps);
  registerShare(app, deps, lookups);
  registerListActions(app, deps, lookups);
}
