/**
 * Poll-cycle benchmark: the real bot against the local fakes, N live alerts.
 * Prints, per scenario, the wall time of one cycle and the requests it made to Cotool and Slack.
 *   node bench/poll-cycle.ts [N=1000]
 */
import { performance } from 'node:perf_hooks';
import { startStack } from '../test/e2e/harness.ts';

const N = Number(process.argv[2] ?? 1000);
const stack = await startStack();
try {
  const ids: string[] = [];
  for (let i = 0; i < N; i++) {
    const sev = (['low', 'medium', 'high', 'critical'] as const)[i % 4];
    ids.push(stack.cotool.addAlert({ severity: sev, title: `Benchmark alert ${i}` }).id);
  }
  const bot = await stack.start('socket', { LOG_LEVEL: 'warn' });

  async function cycle(name: string): Promise<void> {
    const cotoolBefore = stack.cotool.requests.length;
    const slackBefore = stack.slack.calls.length;
    const t0 = performance.now();
    const r = await bot.poller.runOnce();
    const ms = performance.now() - t0;
    const slackCalls = stack.slack.calls.slice(slackBefore);
    const by = (m: string) => slackCalls.filter((c) => c.method === m).length;
    console.log(
      `${name.padEnd(34)} ${ms.toFixed(0).padStart(6)} ms  cotool=${stack.cotool.requests.length - cotoolBefore}` +
        `  slack: post=${by('chat.postMessage')} update=${by('chat.update')}  live=${r.live} failed=${r.failed}`,
    );
  }

  console.log(`poll cycle over ${N} live alerts (fake Cotool + fake Slack on loopback)`);
  await cycle('first cycle (all new, BACKLOG=all)');
  await cycle('steady state (nothing changed)');
  await cycle('steady state again');
  for (const id of ids.slice(0, Math.ceil(N / 10))) stack.cotool.updateAlert(id, { severity: 'critical' });
  await cycle('10% of alerts changed');
  for (const id of ids.slice(0, Math.ceil(N / 20))) {
    stack.cotool.updateAlert(id, { status: 'closed_false_positive' }, { actor: { type: 'human', name: 'Jane' } });
  }
  await cycle('5% closed in Cotool (left live set)');
  await cycle('steady state after closes');
  await bot.stop();
} finally {
  await stack.close();
}
