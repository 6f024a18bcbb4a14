/**
 * How fast `/cotool COT-n` is acknowledged and answered: the real bot in Socket Mode against the
 * local fakes of Slack and Cotool (test/e2e). Prints, for N commands sent one after the other, the
 * ack latency (envelope sent → ack received) and the answer time (envelope sent → the answer posted
 * to the response URL); then the same for commands sent all at once with Cotool taking 2 s a call.
 *
 *   node bench/command-latency.ts            (N=200, SLOW_N=20)
 *   N=500 SLOW_N=50 node bench/command-latency.ts
 */
import { slashCommandPayload } from '../test/e2e/fakes/payloads.ts';
import { CHANNEL, startStack } from '../test/e2e/harness.ts';

const N = Number(process.env.N ?? 200);
const SLOW_N = Number(process.env.SLOW_N ?? 20);
const SLOW_MS = 2_000;
const USER = 'U0BENCH';

type Sample = { ackMs: number; answerMs: number };

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

function report(label: string, samples: Sample[]): void {
  const acks = samples.map((s) => s.ackMs);
  const answers = samples.map((s) => s.answerMs);
  const f = (n: number) => `${n.toFixed(1)} ms`.padStart(10);
  console.log(`\n${label} (${samples.length} commands)`);
  console.log(
    `  ack     p50 ${f(pct(acks, 50))}  p95 ${f(pct(acks, 95))}  p99 ${f(pct(acks, 99))}  max ${f(Math.max(...acks))}`,
  );
  console.log(
    `  answer  p50 ${f(pct(answers, 50))}  p95 ${f(pct(answers, 95))}  p99 ${f(pct(answers, 99))}  max ${f(Math.max(...answers))}`,
  );
}

const stack = await startStack();
try {
  stack.slack.addUser({ id: USER, real_name: 'Bench Analyst' });
  const alerts = Array.from({ length: 50 }, () => stack.cotool.addAlert());
  await stack.start('socket', { LOG_LEVEL: 'warn', COTOOL_TIMEOUT_MS: '10000' });

  /** One command: resolves when its answer has reached the response URL. */
  async function one(i: number): Promise<Sample> {
    const responseUrl = stack.slack.responseUrl();
    const displayId = alerts[i % alerts.length]?.displayId ?? 'COT-1';
    const payload = slashCommandPayload({ text: displayId, user: USER, channel: CHANNEL, responseUrl });
    const sent = performance.now();
    const sentAt = Date.now();
    await stack.slack.sendEnvelope('slash_commands', payload, { timeoutMs: 10_000 });
    const ackMs = performance.now() - sent;
    for (;;) {
      const [answer] = stack.slack.responses(responseUrl);
      if (answer) {
        if (!JSON.stringify(answer.body).includes(displayId)) throw new Error(`wrong answer for ${displayId}`);
        return { ackMs, answerMs: answer.at - sentAt };
      }
      if (Date.now() - sentAt > 15_000) throw new Error(`no answer for ${displayId} within 15 s`);
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  for (let i = 0; i < 10; i++) await one(i); // warm-up: JIT, connections, the access cache

  const sequential: Sample[] = [];
  for (let i = 0; i < N; i++) sequential.push(await one(i));
  report('Cotool answering at once, one command after the other', sequential);

  stack.cotool.setDelay(SLOW_MS, { pathPrefix: '/api/alerts' });
  const slow = await Promise.all(Array.from({ length: SLOW_N }, (_, i) => one(i)));
  report(`Cotool taking ${SLOW_MS / 1000} s a call, all sent at once`, slow);
} finally {
  await stack.close();
}
process.exit(0);
