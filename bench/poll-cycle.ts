/**
 * Poll-cycle benchmark: the real bot (`node src/main.ts`, its own process) against a lean list
 * server with N live alerts and the fake Slack. For the first cycle (every alert new: a storm) and a
 * steady one (nothing changed) it prints: Cotool requests (⌈N/200⌉), wall time, the bot's CPU time
 * next to the CPU a plain JSON.parse of the same pages costs, Slack calls, whether the store was
 * written, and the bot's peak RSS.
 *
 *   node bench/poll-cycle.ts [N…]        (default: 10000 100000)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COTOOL_TEST_API_KEY } from '../test/e2e/fakes/cotool.ts';
import { startFakeSlack } from '../test/e2e/fakes/slack.ts';
import { benchAlert, startAlertPages } from './lib/alert-pages.ts';

const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
const N_LIST = sizes.length ? sizes : [10_000, 100_000];

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

function metric(text: string, name: string, labels = ''): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}${labels} `) || (labels === '' && line.startsWith(`${name} `))) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return 0;
}

function rssMb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return kb / 1024;
}

function jsonParseCpuMs(pages: string[]): number {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round++) {
    const t0 = process.cpuUsage();
    for (const p of pages) JSON.parse(p);
    const d = process.cpuUsage(t0);
    best = Math.min(best, (d.user + d.system) / 1000);
  }
  return best;
}

type Row = {
  n: number;
  cycle: string;
  requests: number;
  wallMs: number;
  cpuMs: number;
  parseMs: number;
  slack: number;
  writes: string;
  rssMb: number;
  nowMb: number;
};
const rows: Row[] = [];

for (const N of N_LIST) {
  const alerts = Array.from({ length: N }, (_, i) => benchAlert(i));
  const cotool = await startAlertPages(alerts, COTOOL_TEST_API_KEY);
  const slack = await startFakeSlack();
  const dir = mkdtempSync(join(tmpdir(), 'cotool-bench-'));
  const parseMs = jsonParseCpuMs(cotool.pages());
  let child: ChildProcess | null = null;
  // Interrupted (Ctrl-C, a timeout): the bot goes too.
  const onSignal = () => {
    child?.kill('SIGKILL');
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let out = '';
  try {
    const port = await freePort();
    const spawnBot = () => {
      out = '';
      // BOT_NODE_ARGS: node flags NODE_OPTIONS refuses (--trace-gc).
      const nodeArgs = (process.env.BOT_NODE_ARGS ?? '').split(' ').filter(Boolean);
      const c = spawn(process.execPath, [...nodeArgs, 'src/main.ts'], {
        cwd: process.cwd(),
        env: {
          PATH: process.env.PATH ?? '',
          ...(process.env.BOT_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BOT_NODE_OPTIONS } : {}),
          COTOOL_API_URL: cotool.url,
          COTOOL_API_KEY: COTOOL_TEST_API_KEY,
          COTOOL_TIMEOUT_MS: '30000',
          SLACK_BOT_TOKEN: slack.botToken,
          SLACK_APP_TOKEN: slack.appToken,
          SLACK_API_URL: slack.apiUrl,
          SLACK_ALERT_CHANNEL: 'C0ALERTS',
          DATABASE_URL: `sqlite:${join(dir, 'bot.db')}`,
          PORT: String(port),
          LOG_LEVEL: 'info',
          BACKLOG: 'all',
          SLACK_POST_RATE: '50',
          SLACK_POST_BURST: '50',
          SLACK_UPDATE_RATE: '600',
          POLL_SCHEDULE: '*/15 * * * * *',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      c.stdout?.on('data', (d) => {
        out += String(d);
      });
      c.stderr?.on('data', (d) => {
        out += String(d);
      });
      // BENCH_BOT_LOG=<file>: the bot's output (with BOT_NODE_ARGS=--trace-gc, its heap after each GC).
      if (process.env.BENCH_BOT_LOG) {
        const file = process.env.BENCH_BOT_LOG;
        c.once('exit', () => appendFileSync(file, out));
      }
      return c;
    };
    const scrape = async () => {
      for (let i = 0; i < 600; i++) {
        try {
          return await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      throw new Error(`the bot did not start:\n${out.slice(-2000)}`);
    };
    const polls = (m: string) => metric(m, 'cotool_slack_polls_total', '{outcome="ok"}');
    const cpu = (m: string) => metric(m, 'cotool_slack_poll_cpu_seconds_total');
    const dur = (m: string) => metric(m, 'cotool_slack_poll_duration_seconds_sum');
    const depth = (m: string) =>
      m
        .split('\n')
        .filter((l) => l.startsWith('cotool_slack_outbox_depth{'))
        .reduce((s, l) => s + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);

    async function cycle(name: string, from?: string): Promise<void> {
      const before = from ?? (await scrape());
      const p0 = polls(before);
      const req0 = cotool.requests;
      const slack0 = slack.calls.length;
      let after = before;
      const deadline = Date.now() + 600_000;
      while (polls(after) <= p0) {
        if (Date.now() > deadline) throw new Error(`no poll within 10 minutes:\n${out.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 50));
        after = await scrape();
      }
      const writes =
        metric(after, 'cotool_slack_poll_store_changes_total') -
        metric(before, 'cotool_slack_poll_store_changes_total');
      rows.push({
        n: N,
        cycle: name,
        requests: cotool.requests - req0,
        wallMs: (dur(after) - dur(before)) * 1000,
        cpuMs: (cpu(after) - cpu(before)) * 1000,
        parseMs,
        slack: slack.calls.length - slack0,
        writes: String(writes),
        rssMb: rssMb(child?.pid as number, 'VmHWM'),
        nowMb: rssMb(child?.pid as number, 'VmRSS'),
      });
    }
    async function drained(): Promise<void> {
      if (process.env.BENCH_DEBUG) console.error('draining', depth(await scrape()));
      for (let i = 0; i < 6000; i++) {
        if (depth(await scrape()) === 0) return;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const zero = 'cotool_slack_polls_total{outcome="ok"} 0\n';
    child = spawnBot();
    await cycle('first start (every alert new: a storm)', zero);
    if (process.env.BENCH_DEBUG) console.error('first done', rows.at(-1));
    await drained();
    await cycle('steady (nothing changed)');
    await cycle('steady again');
    child.kill('SIGTERM');
    await new Promise((r) => child?.once('exit', r));
    child = spawnBot();
    await cycle('after a restart: first cycle', zero);
    await cycle('after a restart: steady');
  } finally {
    child?.kill('SIGTERM');
    if (child && child.exitCode === null) await new Promise((r) => child?.once('exit', r));
    await cotool.close();
    await slack.close();
    rmSync(dir, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

console.log('\nPoll cycle (the bot in its own process; lean list server and fake Slack on loopback)\n');
console.log(
  '| live alerts | cycle | Cotool requests | wall | bot CPU | JSON.parse CPU | CPU ratio | Slack calls | store changes | RSS after | peak RSS |',
);
console.log('|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.n.toLocaleString('en-US')} | ${r.cycle} | ${r.requests} | ${r.wallMs.toFixed(0)} ms | ${r.cpuMs.toFixed(0)} ms | ${r.parseMs.toFixed(0)} ms | ${(r.cpuMs / r.parseMs).toFixed(1)}× | ${r.slack} | ${r.writes} | ${r.nowMb.toFixed(0)} MB | ${r.rssMb.toFixed(0)} MB |`,
  );
}
