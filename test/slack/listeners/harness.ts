/**
 * Listener deps over the triage harness (test/service/fakes.ts): the use-cases built the way bot.ts
 * builds them (createUseCases), with a fresh metrics registry, over the harness's fakes.
 */
import { EventEmitter } from 'node:events';
import type { AccessPolicy } from '../../../src/service/access.ts';
import type { ListenerDeps, ListenerEvents } from '../../../src/slack/listeners/deps.ts';
import type { Store } from '../../../src/store/store.ts';
import { config, type Harness, harnessUseCases } from '../../service/fakes.ts';

export function listenerDeps(h: Harness, over: { store?: Store; access?: Pick<AccessPolicy, 'check'> } = {}) {
  const store = over.store ?? h.store;
  const access = {
    check: over.access?.check ?? h.deps.access.check,
    user: async () => null,
    describe: () => 'members of the channel',
  };
  const events: ListenerEvents = new EventEmitter();
  const { useCases, metrics } = harnessUseCases(h, {
    store,
    access,
    onChanged: (change) => {
      events.emit('alert-changed', change);
    },
  });
  const deps: ListenerDeps = {
    config,
    useCases,
    access,
    store,
    slack: h.slack.port,
    logger: h.deps.logger,
    clock: h.deps.clock,
    events,
    metrics,
  };
  return deps;
}
