/**
 * Click latency: the real bot in Socket Mode against the local fakes of Cotool and Slack.
 *
 *   node bench/click-latency.ts [distinct=240] [repeated=40] [burst=60]
 *
 * Posts one card per alert, then clicks "Close as false positive" on each card, one after another,
 * and measures
 * - ack latency: from the envelope leaving the fake Slack until the bot's acknowledgement arrives;
 * - click → card updated: from sending the envelope until the fake Slack receives the chat.update
 *   of that card (GET alert + POST status + chat.update, after the ack).
 * Then it sends `repeated` clicks that must change nothing (Slack redelivering a click, and a
 * second click on an already closed card), and finally a burst of `burst` clicks sent all at once on
 * further cards (ack latency under load). Each alert must get exactly one POST.
 */
import { Writable } from 'node:stream';
import { ACTIONS } from '../src/slack/ids.ts';
import { createClicker, JANE, statusPosts, valueFor } from '../test/e2e/actions-helpers.ts';
import { CHANNEL, eventually, startStack } from '../test/e2e/harness.ts';

const distinct = Number(process.argv[2] ?? 240);
const repeated = Number(process.argv[3] ?? 40);
const burst = Number(process.argv[4] ?? 60);

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}
const fmt = (n: number) => `${n.toFixed(1)} ms`;
function summary(name: string, values: number[]): string {
  const s = [...values].sort((a, b) => a - b);
  return `${name.padEnd(26)} n=${String(s.length).padEnd(4)} p50 ${fmt(pct(s, 50))}  p95 ${fmt(pct(s, 95))}  p99 ${fmt(pct(s, 99))}  max ${fmt(s.at(-1) ?? Number.NaN)}`;
}

const stack = await startStack();
try {
  stack.slack.addUser(JANE);
  for (let i = 0; i < distinct + burst; i++) stack.cotool.addAlert();
  const bot = await stack.start(
    'socket',
    { LOG_LEVEL: 'warn', STORM_THRESHOLD: '100000' },
    { logDestination: new Writable({ write: (_c, _e, cb) => cb() }), schedule: false },
  );
  const posted = await bot.settle(60_000);
  if (posted.posted !== distinct + burst) throw new Error(`expected ${distinct + burst} cards, got ${posted.posted}`);
  const clicker = createClicker(stack, bot, 'socket');
  const all = stack.slack.messages(CHANNEL);
  const cards = all.slice(0, distinct);
  const burstCards = all.slice(distinct);

  const acks: number[] = [];
  const toCard: number[] = [];
  const payloads: Record<string, unknown>[] = [];
  const started = performance.now();
  for (const card of cards) {
    const payload = clicker.payload(JANE.id, card.ts, ACTIONS.closeFp, valueFor(card, ACTIONS.closeFp));
    payloads.push(payload);
    const updatesBefore = stack.slack.callsOf('chat.update').filter((c) => c.args.ts === card.ts).length;
    const sentAt = Date.now();
    const ack = await stack.slack.sendEnvelope('interactive', payload);
    acks.push(ack.ackedAfterMs);
    const update = await eventually(
      () => stack.slack.callsOf('chat.update').filter((c) => c.args.ts === card.ts)[updatesBefore],
      10_000,
      1,
    );
    if (!update) throw new Error(`card ${card.ts} was not updated`);
    toCard.push(update.at - sentAt);
  }
  const elapsed = performance.now() - started;

  // Clicks that must change nothing: redeliveries of the same interaction, and fresh clicks on the
  // old (now stale) value of cards already closed.
  const noop: number[] = [];
  for (let i = 0; i < repeated; i++) {
    const card = cards[i % cards.length];
    if (!card) break;
    const payload =
      i % 2 === 0
        ? (payloads[i % payloads.length] as Record<string, unknown>)
        : clicker.payload('U0JANE', card.ts, ACTIONS.closeFp, valueFor(card, ACTIONS.closeFp));
    const ack = await stack.slack.sendEnvelope('interactive', payload);
    noop.push(ack.ackedAfterMs);
  }
  // A burst: every click sent at once.
  const burstStarted = Date.now();
  const burstAcks = await Promise.all(
    burstCards.map((card) =>
      stack.slack
        .sendEnvelope(
          'interactive',
          clicker.payload(JANE.id, card.ts, ACTIONS.closeFp, valueFor(card, ACTIONS.closeFp)),
        )
        .then((a) => a.ackedAfterMs),
    ),
  );
  const burstTs = new Set(burstCards.map((c) => c.ts));
  await eventually(
    () => stack.slack.callsOf('chat.update').filter((c) => burstTs.has(String(c.args.ts))).length >= burst,
    20_000,
    5,
  );
  const burstMs = Date.now() - burstStarted;
  await new Promise((r) => setTimeout(r, 500));
  const posts = statusPosts(stack);
  const perAlert = new Map<string, number>();
  for (const p of posts) perAlert.set(p.path, (perAlert.get(p.path) ?? 0) + 1);
  const doubled = [...perAlert.values()].filter((n) => n !== 1).length;

  process.stdout.write(
    [
      `click latency — Socket Mode, fakes on 127.0.0.1, Node ${process.version}`,
      `${distinct} distinct clicks (sequential) + ${repeated} repeated clicks; ${(elapsed / 1000).toFixed(1)} s for the distinct ones`,
      summary('ack (all clicks)', [...acks, ...noop]),
      summary('ack (changing clicks)', acks),
      summary('ack (repeated, no-op)', noop),
      summary('click → card updated', toCard),
      summary(`ack (burst of ${burst})`, burstAcks),
      `burst: all ${burst} cards updated ${burstMs} ms after the first click was sent`,
      `status POSTs: ${posts.length} for ${distinct + burst} alerts; alerts with other than exactly one POST: ${doubled}`,
      '',
    ].join('\n'),
  );
  if (posts.length !== distinct + burst || doubled !== 0) process.exitCode = 1;
} finally {
  await stack.close();
}
// The Socket Mode client keeps its 30 s server-ping timer armed after disconnecting; do not wait for it.
process.exit();
