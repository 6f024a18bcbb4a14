/** Slack redelivers an interaction it thinks was not acknowledged: each is acted on once. */
import type { ListenerDeps } from './deps.ts';

/** How long a delivered interaction is remembered, so that a redelivery does not act twice. */
export const REDELIVERY_WINDOW_MS = 10 * 60_000;

/** True the first time this delivery is seen; false for Slack's redelivery of the same interaction. */
export function firstDelivery(
  deps: { store: Pick<ListenerDeps['store'], 'firstTime'>; clock: () => number },
  key: string,
): Promise<boolean> {
  return deps.store.firstTime(key, deps.clock(), REDELIVERY_WINDOW_MS);
}
