import type { App } from '@slack/bolt';
import { registerFourEyesActions } from './actions/four-eyes.ts';
import { registerActions } from './actions/index.ts';
import { registerNoteActions } from './actions/notes.ts';
import { registerWarRoomAction } from './actions/war-room.ts';
import { registerCommands } from './commands/index.ts';
import type { ListenerDeps } from './deps.ts';
import { registerEvents } from './events/index.ts';
import { registerViews } from './views/index.ts';
import { registerNoteViews } from './views/notes.ts';

/** Every Slack surface the bot answers: card buttons, modals, the /cotool command, events. */
export function registerListeners(app: App, deps: ListenerDeps): void {
  registerActions(app, deps);
  registerNoteActions(app, deps);
  registerFourEyesActions(app, deps);
  if (deps.openWarRoom) registerWarRoomAction(app, deps, deps.openWarRoom);
  registerViews(app, deps);
  registerNoteViews(app, deps);
  registerCommands(app, deps);
  registerEvents(app, deps);
}
