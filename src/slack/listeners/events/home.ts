/**
 * The App Home tab: published when someone opens it, when they press Refresh, and after they change
 * an alert from Slack (the `alert-changed` event) — at most once per few seconds per person, a
 * change during the quiet period being published when it ends. Only people who opened the tab
 * since the bot started are refreshed. A Cotool failure shows in the home with a reference; a
 * refusal says why; an unexpected error shows its reference. The home is never left blank.
 */
import type { App } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { alertUrl } from '../../../config.ts';
import { classifySlackError } from '../../../core/slack-errors.ts';
import type { LookupService } from '../../../service/lookup.ts';
import type { MuteService } from '../../../service/mute.ts';
import { LOOKUP_ACTIONS } from '../../ids.ts';
import { accessRefused, cotoolFailed, newRef, unexpectedError } from '../../messages.ts';
import { renderErrorHome, renderHome, renderRefusedHome } from '../../views/home.ts';
import type { ListenerDeps } from '../deps.ts';

export const HOME_MIN_INTERVAL_MS = 5_000;
/** People remembered as having the tab (oldest forgotten first). */
const MAX_TRACKED_USERS = 5_000;

export type HomePublisher = {
  /** Publish now, or at the end of the quiet period if one was published moments ago. */
  request(userId: string): void;
  /** The person opened the tab: remember them and publish. */
  opened(userId: string): void;
  /** The person changed an alert: refresh their home if they have it. */
  changed(userId: string): void;
  /** Resolves when nothing is being published or waiting (tests, shutdown). */
  idle(): Promise<void>;
};

type View = Parameters<WebClient['views']['publish']>[0]['view'];

export function createHomePublisher(
  client: WebClient,
  deps: Pick<ListenerDeps, 'config' | 'access' | 'logger'>,
  lookups: LookupService,
  opts: { minIntervalMs?: number; mutes?: Pick<MuteService, 'list'> } = {},
): HomePublisher {
  const log = deps.logger.child({ module: 'home' });
  const minInterval = opts.minIntervalMs ?? HOME_MIN_INTERVAL_MS;
  const seen = new Map<string, true>();
  const lastStarted = new Map<string, number>();
  const timers = new Map<string, NodeJS.Timeout>();
  const running = new Map<string, Promise<void>>();

  function remember<V>(map: Map<string, V>, key: string, value: V): void {
    map.delete(key);
    map.set(key, value);
    if (map.size > MAX_TRACKED_USERS) {
      const oldest = map.keys().next().value;
      if (oldest !== undefined) map.delete(oldest);
    }
  }

  async function build(userId: string): Promise<View> {
    try {
      const data = await lookups.home(userId);
      if (!data.ok) return renderRefusedHome(accessRefused(data.reason, deps.access.describe())) as View;
      let errorText: string | null = null;
      if (data.error) {
        const ref = newRef();
        log.warn({ err: data.error.toLog(), ref, userId }, 'Cotool failed while building the App Home');
        errorText = cotoolFailed(data.error, ref);
      }
      // The "Muted detections" section, each with Unmute (left out when the store cannot say).
      const mutes = opts.mutes
        ? await opts.mutes.list().catch((err: unknown) => {
            log.warn({ err, userId }, 'could not read the mutes for the App Home');
            return null;
          })
        : null;
      return renderHome(data, {
        mutes,
        alertUrl: (a) => alertUrl(deps.config.cotool, a),
        appUrl: deps.config.cotool.appUrl,
        errorText,
        closeOpensForm: deps.config.slack.closeReasonRequired,
      }) as View;
    } catch (err) {
      const ref = newRef();
      log.error({ err, ref, userId }, 'unexpected error while building the App Home');
      return renderErrorHome(unexpectedError(ref)) as View;
    }
  }

  async function publish(userId: string): Promise<void> {
    const view = await build(userId);
    try {
      await client.views.publish({ user_id: userId, view });
    } catch (err) {
      const f = classifySlackError(err);
      log.warn({ userId, slackError: f.code, hint: f.hint }, 'Slack refused the App Home');
    }
  }

  async function run(userId: string): Promise<void> {
    const previous = running.get(userId);
    if (previous) await previous;
    remember(lastStarted, userId, Date.now());
    const p = publish(userId).finally(() => {
      if (running.get(userId) === p) running.delete(userId);
    });
    running.set(userId, p);
    await p;
  }

  function request(userId: string): void {
    if (timers.has(userId)) return; // a refresh is already due
    const wait = (lastStarted.get(userId) ?? Number.NEGATIVE_INFINITY) + minInterval - Date.now();
    if (wait <= 0 && !running.has(userId)) {
      void run(userId);
      return;
    }
    const timer = setTimeout(
      () => {
        timers.delete(userId);
        void run(userId);
      },
      Math.max(wait, 0),
    );
    timer.unref();
    timers.set(userId, timer);
  }

  return {
    request,
    opened(userId) {
      remember(seen, userId, true);
      request(userId);
    },
    changed(userId) {
      if (seen.has(userId)) request(userId);
    },
    async idle() {
      while (timers.size > 0 || running.size > 0) {
        await Promise.all([...running.values()]);
        if (timers.size > 0) await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

export function registerHome(app: App, deps: ListenerDeps, lookups: LookupService): HomePublisher {
  const log = deps.logger.child({ module: 'home' });
  const publisher = createHomePublisher(app.client, deps, lookups, { mutes: deps.useCases.mutes });
  app.event('app_home_opened', async ({ event }) => {
    if (event.tab !== 'home') return;
    log.debug({ userId: event.user }, 'App Home opened');
    publisher.opened(event.user);
  });
  app.action({ type: 'block_actions', action_id: LOOKUP_ACTIONS.homeRefresh }, async ({ ack, body }) => {
    await ack();
    publisher.opened(body.user.id);
  });
  const refresh = (userId: string) => {
    try {
      publisher.changed(userId);
    } catch (err) {
      log.error({ err, userId }, 'could not schedule an App Home refresh');
    }
  };
  deps.events.on('alert-changed', ({ userId }) => refresh(userId));
  deps.events.on('mutes-changed', refresh);
  return publisher;
}
