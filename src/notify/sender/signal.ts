/**
 * One signal wakes the sender: every writer of outbox items (the poller, the use-cases) writes them
 * through `store.apply`, so the store it is handed is wrapped to wake the sender right after a change
 * that queued something was committed. No other wake-up path exists (no callbacks, no events).
 */
import type { Change, Store } from '../../store/store.ts';

/** Whether a change queues outbox items (new, coalesced, or settled). */
export const queuesItems = (c: Change): boolean => (c.enqueue?.length ?? 0) > 0 || (c.settle?.length ?? 0) > 0;

/** `store`, whose `apply` calls `wake` after every committed batch that queued outbox items. */
export function signalling(store: Store, wake: () => void): Store {
  const apply: Store['apply'] = async (changes) => {
    const result = await store.apply(changes);
    if (changes.some(queuesItems)) wake();
    return result;
  };
  return new Proxy(store, { get: (target, prop) => (prop === 'apply' ? apply : Reflect.get(target, prop)) });
}
