import type { EventEmitter } from 'node:events';
import type { Config } from '../../config.ts';
import type { CotoolClient } from '../../cotool/client.ts';
import type { Alert } from '../../cotool/schemas.ts';
import type { HealthState } from '../../http/health.ts';
import type { Metrics } from '../../http/metrics.ts';
import type { Logger } from '../../log.ts';
import type { CardRenderer, SlackPort } from '../../notify/ports.ts';
import type { AccessPolicy } from '../../service/access.ts';
import type { StatsService } from '../../service/stats.ts';
import type { Store } from '../../store/store.ts';

/** Raised after a Slack user changed an alert (status or details), for surfaces that show it. */
export type AlertChanged = { alert: Alert; userId: string };
/** For surfaces that show a change (App Home). The sender is woken by the store, not by events. */
export type ListenerEvents = EventEmitter<{ 'alert-changed': [AlertChanged] }>;

/** What every listener may use. Built once in bot.ts; tests build it with fakes. */
export type ListenerDeps = {
  config: Config;
  cotool: CotoolClient;
  store: Store;
  /** The interactive card renderer (buttons on), shared with the poller. */
  render: CardRenderer;
  /** Posting and updating messages (cards, thread replies). */
  slack: SlackPort;
  access: AccessPolicy;
  health: HealthState;
  logger: Logger;
  clock: () => number;
  events: ListenerEvents;
  /** Where triage actions and commands are counted (default: a registry nobody reads). */
  metrics?: Metrics;
  /** The noise report, shared with its scheduled post (default: one of the command's own). */
  stats?: StatsService;
  /** How long a click's claim on an alert holds (default CLAIM_TTL_MS); its intents are held a little longer. */
  claimTtlMs?: number;
};
