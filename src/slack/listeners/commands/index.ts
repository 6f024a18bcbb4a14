/**
 * The /cotool command and the buttons of its answers (Share in channel, a list's View and More).
 */
import type { App } from '@slack/bolt';
import { createLookupService } from '../../../service/lookup.ts';
import { createStatsService } from '../../../service/stats.ts';
import { muteServiceOf } from '../actions/mute.ts';
import type { ListenerDeps } from '../deps.ts';
import { registerCotoolCommand } from './cotool.ts';
import { registerListActions } from './list-actions.ts';
import { registerShare } from './share.ts';

export function registerCommands(app: App, deps: ListenerDeps): void {
  const lookups = createLookupService(deps);
  const stats =
    deps.stats ??
    createStatsService({ cotool: deps.cotool, store: deps.store, logger: deps.logger, clock: deps.clock });
  registerCotoolCommand(app, deps, lookups, stats, muteServiceOf(deps));
  registerShare(app, deps, lookups);
  registerListActions(app, deps, lookups);
}
