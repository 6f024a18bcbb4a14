import type { EventEmitter } from 'node:events';
import type { Config } from '../../config.ts';
import type { Alert } from '../../cotool/schemas.ts';
import type { Metrics } from '../../http/metrics.ts';
import type { Logger } from '../../log.ts';
import type { SlackPort } from '../../notify/ports.ts';
import type { AccessPolicy } from '../../service/access.ts';
import type { UseCases } from '../../service/use-cases.ts';
import type { OpenWarRoom } from '../../service/war-room.ts';
import type { Store } from '../../store/store.ts';

/** Raised after a Slack user changed an alert (status or details), for surfaces that show it. */
export type AlertChanged = { alert: Alert; userId: string };
export type ListenerEvents = EventEmitter<{ 'alert-changed': [AlertChanged] }>;

/**
 * What every listener may use: the use-cases (built once in bot.ts, src/service/use-cases.ts) and
 * the few things a listener does itself. Tests build it with fakes.
 */
export type ListenerDeps = {
  config: Config;
  useCases: UseCases;
  /** Who may act, and how that is said to someone refused. */
  access: Pick<AccessPolicy, 'check' | 'describe'>;
  /** Redelivery guards, and what a modal shows while it loads (the stored card's display id, a storm's channel). */
  store: Pick<Store, 'firstTime' | 'get' | 'getStorm'>;
  /** Posting messages that are not cards (a shared card, an expanded alert id). */
  slack: Pick<SlackPort, 'post'>;
  logger: Logger;
  clock: () => number;
  events: ListenerEvents;
  /** Where /cotool commands are counted. */
  metrics: Pick<Metrics, 'commands'>;
  /** "Open incident channel" (built once in bot.ts; without it the button is not answered). */
  openWarRoom?: OpenWarRoom;
};
