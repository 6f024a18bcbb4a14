/**
 * Storm benchmark: the real bot (Socket Mode) against the fake Cotool and a fake Slack that enforces
 * Slack's documented limits (chat.postMessage ≈ 1/s per channel with short bursts, chat.update ≈ 50/min,
 * 429 + Retry-After beyond). The bot runs with its defaults (SLACK_POST_RATE=1, STORM_THRESHOLD=20,
 * STORM_CARDS=20) and polls every POLL_S seconds.
 *
 *  1. A storm of 1,000 new alerts (10 critical, scattered) between two polls; an alert carded before
 *     the storm is escalated in Cotool 23 s into it (between two polls); /cotool commands every 250 ms throughout.
 *  2. A first start over 10,000 live alerts, a third of them escalated.
 *
 *   node bench/storm.ts
 */
import { slashCommandPayload } from '../test/e2e/fakes/payloads.ts';
import type { SlackMessage, SlackThread } from '../test/e2e/fakes/slack.ts';
import { CHANNEL, type Stack, startStack } from '../test/e2e/harness.ts';

const POLL_S = Number(process.env.POLL_S ?? 10);
const SLACK_LIMITS = { postPerSecond: 1, postBurst: 4, updatesPerMinute: 50, updateBurst: 5 };
const DEFAULTS = { LOG_LEVEL: 'warn', SLACK_POST_RATE: '1', SLACK_POST_BURST: '3', SLACK_UPDATE_RATE: '45' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Meta = { event_type?: string; event_payload?: Record<string, string> };
const meta = (m: SlackMessage) => m.metadata as Meta | undefined;

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN;
}

/** Display ids a digest shows (ranges expanded), and whether it points to more. */
function digestIds(m: SlackThread | undefined): Set<string> {
  const out = new Set<string>();
  const text = JSON.stringify(m?.blocks ?? []);
  for (const x of text.matchAll(/COT-(\d+)(?:\s*[–-]\s*(?:COT-)?(\d+))?/g)) {
    const from = Number(x[1]);
    for (let n = from; n <= Number(x[2] ?? from); n++) out.add(`COT-${n}`);
  }
  return out;
}

/** Display ids listed one by one in the digest thread's id-list replies. */
function listedIds(m: SlackThread | undefined): Set<string> {
  const out = new Set<string>();
  for (const r of m?.replies ?? []) {
    if (meta(r)?.event_type !== 'cotool_digest_ids') continue;
    for (const x of JSON.stringify(r.blocks ?? []).matchAll(/`(COT-\d+)`/g)) out.add(x[1] as string);
  }
  return out;
}

const rows: [string, string, string][] = [];
const row = (what: string, value: string, target: string) => rows.push([what, value, target]);

async function stormOf1000(stack: Stack): Promise<void> {
  const before = stack.cotool.addAlert({ severity: 'low', title: 'carded before the storm' });
  const bot = await stack.start('socket', DEFAULTS);
  stack.slack.setRateLimits(SLACK_LIMITS);
  stack.slack.addUser({ id: 'U0BENCH', real_name: 'Bench Analyst' });
  await bot.settle(60_000);

  const critical = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const a = stack.cotool.addAlert({
      severity: i % 100 === 37 ? 'critical' : (['low', 'medium', 'high'] as const)[i % 3],
      detection: { id: `d-${i % 4}`, agentId: null, name: `Detection ${i % 4}`, kind: 'cotool' },
    });
    if (a.severity === 'critical') critical.add(a.id);
  }
  const callsBefore = stack.slack.calls.length;
  const t0 = Date.now();
  let stop = false;
  // Polls on the schedule; commands every 250 ms; the escalation at 23 s.
  const polling = (async () => {
    while (!stop) {
      await bot.poller.runOnce();
      await sleep(POLL_S * 1000);
    }
  })();
  const acks: number[] = [];
  const commands = (async () => {
    while (!stop) {
      const payload = slashCommandPayload({
        text: 'COT-1',
        user: 'U0BENCH',
        channel: CHANNEL,
        responseUrl: stack.slack.responseUrl(),
      });
      const t = performance.now();
      await stack.slack.sendEnvelope('slash_commands', payload, { timeoutMs: 10_000 });
      acks.push(performance.now() - t);
      await sleep(250);
    }
  })();
  let escalatedAt = 0;
  let noticeAt = 0;
  let firstCritical = 0;
  let allCritical = 0;
  let represented = 0;
  let inThread = 0;
  const alerts = stack.cotool.alerts();
  while (Date.now() - t0 < 90_000) {
    const now = Date.now() - t0;
    if (!escalatedAt && now >= 23_000) {
      stack.cotool.updateAlert(before.id, { status: 'escalated' }, { actor: { type: 'agent', name: 'Aria' } });
      escalatedAt = now;
    }
    const top = stack.slack.messages(CHANNEL);
    const carded = new Set(
      top.filter((m) => meta(m)?.event_type === 'cotool_alert').map((m) => meta(m)?.event_payload?.alert_id),
    );
    const got = [...critical].filter((id) => carded.has(id)).length;
    if (!firstCritical && got > 0) firstCritical = now;
    if (!allCritical && got === critical.size) allCritical = now;
    if (escalatedAt && !noticeAt) {
      const card = top.find((m) => meta(m)?.event_payload?.alert_id === before.id);
      if (card?.replies.some((r) => (r.metadata as Meta | undefined)?.event_type === 'cotool_escalation'))
        noticeAt = now;
    }
    const digest = top.find((m) => meta(m)?.event_type === 'cotool_digest');
    if (!represented) {
      const ids = digestIds(digest);
      const missing = alerts.filter((a) => a.id !== before.id && !carded.has(a.id) && !ids.has(a.displayId));
      if (missing.length === 0) represented = now;
    }
    if (!inThread) {
      // Searchable: the id itself in Slack (a card, or the id one by one in the digest thread).
      const ids = listedIds(digest);
      const missing = alerts.filter((a) => a.id !== before.id && !carded.has(a.id) && !ids.has(a.displayId));
      if (missing.length === 0) inThread = now;
    }
    if (firstCritical && allCritical && noticeAt && represented && inThread && now > 62_000) break;
    await sleep(100);
  }
  stop = true;
  await Promise.all([polling, commands]);
  const firstMinute = stack.slack.calls.slice(callsBefore).filter((c) => c.at - t0 <= 60_000);
  const writes = firstMinute.filter((c) => c.method.startsWith('chat.'));
  const s = (ms: number) => (ms ? `${(ms / 1000).toFixed(1)} s` : 'never');
  row('storm of 1,000: first critical card after the poll that saw it', s(firstCritical), '≤ 5 s');
  row('storm of 1,000: all 10 critical cards', s(allCritical), '≤ 15 s');
  row('storm of 1,000: every alert in Slack (a card or an id in the digest)', s(represented), '≤ 60 s');
  const digest = stack.slack.messages(CHANNEL).find((m) => meta(m)?.event_type === 'cotool_digest');
  const lists = (digest?.replies ?? []).filter((r) => meta(r)?.event_type === 'cotool_digest_ids');
  row(
    'storm of 1,000: every id in Slack one by one (a card, or listed in the digest thread)',
    `${s(inThread)} (${lists.length} ${lists.length === 1 ? 'reply' : 'replies'})`,
    '≤ 60 s',
  );
  row('storm of 1,000: Slack calls (chat.*) in that minute', String(writes.length), '≤ 60');
  row(
    'storm of 1,000: answers of 429',
    String(stack.slack.calls.slice(callsBefore).filter((c) => c.result.status === 429).length),
    '≤ 5',
  );
  row(
    `escalation 23 s into the storm (between two polls): notice after (poll every ${POLL_S} s)`,
    noticeAt ? s(noticeAt - escalatedAt) : 'never',
    `≤ ${2 * POLL_S + 3} s`,
  );
  row(
    `/cotool ack during the storm (${acks.length} commands): p50 / p99`,
    `${pct(acks, 50).toFixed(1)} / ${pct(acks, 99).toFixed(1)} ms`,
    'p99 ≤ 50 ms',
  );
  await bot.stop();
}

async function firstStart10k(stack: Stack): Promise<void> {
  for (let i = 0; i < 10_000; i++)
    stack.cotool.addAlert({ severity: 'high', status: i % 3 === 0 ? 'escalated' : 'open' });
  stack.slack.setRateLimits(SLACK_LIMITS);
  const bot = await stack.start('socket', { ...DEFAULTS, BACKLOG: 'all' });
  const t0 = Date.now();
  await bot.settle(180_000);
  const posts = stack.slack.callsOf('chat.postMessage').filter((c) => c.result.ok).length;
  row(
    'first start over 10,000 live alerts (3,334 escalated): messages posted',
    `${posts} (in ${((Date.now() - t0) / 1000).toFixed(0)} s)`,
    '≤ 60',
  );
  await bot.stop();
}

for (const scenario of [stormOf1000, firstStart10k]) {
  const stack = await startStack();
  try {
    await scenario(stack);
  } finally {
    await stack.close();
  }
}

console.log('\nStorms against a Slack that enforces its rate limits (bot defaults)\n');
console.log('| measure | result | target |');
console.log('|---|---:|---|');
for (const [a, b, c] of rows) console.log(`| ${a} | ${b} | ${c} |`);
process.exit(0);
