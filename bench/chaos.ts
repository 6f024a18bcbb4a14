/**
 * The kill test: `npm run chaos` (a script that prints numbers, not a timed test).
 *
 *   npm run chaos                 # 500 alerts, 50 SIGKILLs, 2 deploys, a 45 s Slack outage: about 4 minutes
 *   npm run chaos -- --quick      # 80 alerts, 8 SIGKILLs, 1 deploy, a 15 s outage: about 2 minutes (smoke run)
 *   npm run chaos -- --seed=123   # replay the same schedule (the interleaving still varies)
 *   npm run chaos -- --keep       # keep the replicas' logs even when the run passes
 *   npm run chaos -- --no-storms  # storms off (STORM_THRESHOLD=100000): every alert needs a card of its own
 *   npm run chaos -- --no-skew    # both replicas on the real clock
 *   CHAOS_LOG_LEVEL=info npm run chaos -- --keep   # the replicas log more (default warn)
 *
 * Two bot replicas (`node src/main.ts`) share a throwaway PostgreSQL and work against the local fakes of
 * Cotool and Slack, all on 127.0.0.1: one in Socket Mode, one in HTTP mode (clicks POSTed, signed, to its
 * /slack/events), and one of them with its clock 2 minutes ahead (libfaketime; the seed says which).
 * Slack enforces its rate limits (posts per channel with a small burst, updates per minute) and answers
 * with latency; now and then it stores a message but answers 500/503 or its own `internal_error` /
 * `fatal_error` ("may have succeeded"); mid-run it refuses everything for 45 s (`service_unavailable` or
 * HTTP 503, the seed says which). Cotool answers slowly, and now and then 500, 429 with Retry-After, a
 * reset connection or no answer at all (longer than the bot's timeout); a status change may also be made
 * only after the bot gave up waiting. Meanwhile alerts arrive in bursts, about 10 % are escalated and 6 %
 * re-rated in Cotool later, analysts close about 10 % of the carded alerts as false positive and escalate
 * 4 % from their cards (some clicked twice, over both replicas), the replicas are SIGKILLed and restarted
 * at random — sometimes the leader on purpose — and deployed (SIGTERM, restarted, one after the other).
 * Storms are on with the bot's defaults: an alert counts as represented by its card or by its id in a
 * storm's digest or the digest's thread.
 * When all is quiet again (outbox empty, the last Cotool change polled) the replicas are stopped and
 * the script counts what Slack and Cotool ended up with: missing cards, duplicate cards, duplicate
 * escalation notices, duplicate status changes, missing and duplicate thread notes. Exit status 0 when
 * all six are 0, else 1.
 *
 * PostgreSQL: `.ci/postgres.sh start` (stopped and removed afterwards), or — when CHAOS_DATABASE_URL,
 * TEST_DATABASE_URL or a postgres:// DATABASE_URL is set — a scratch database created on that server
 * (its role needs CREATEDB) and dropped afterwards. libfaketime: Debian's `faketime` package, installed
 * with apt-get when missing and the script runs as root; without it the run says so and has no skew.
 * Everything started here is stopped on exit, on failure and on Ctrl-C.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { INTENT_GRACE_MS } from '../src/core/outbox.ts';
import { ACTIONS } from '../src/slack/ids.ts';
import { COTOOL_TEST_API_KEY, type FailureResponse, startFakeCotool } from '../test/e2e/fakes/cotool.ts';
import { blockActionsPayload, interactionBody, slackSignature } from '../test/e2e/fakes/payloads.ts';
import {
  type AfterCommitAnswer,
  type OutageAnswer,
  type SlackMessage,
  type SlackUser,
  startFakeSlack,
} from '../test/e2e/fakes/slack.ts';

type Obj = Record<string, unknown>;

const ROOT = join(import.meta.dirname, '..');
const MAIN = join(ROOT, 'src', 'main.ts');
const CHANNEL = 'C0ALERTS';
const POLL_MS = 2_000;
/** The bot's Cotool timeout per attempt: an injected hang lasts longer than this. */
const COTOOL_TIMEOUT_MS = 5_000;
const SIGNING_SECRET = 'chaos-signing-secret-0123456789ab';
/** How far ahead the skewed replica's clock runs. */
const SKEW_MS = 120_000;
const JANE: SlackUser = { id: 'U0JANE', name: 'jane', real_name: 'Jane Doe', display_name: 'Jane Doe' };
const BOB: SlackUser = { id: 'U0BOB', name: 'bob', real_name: 'Bob Roe', display_name: 'Bob' };

// ---------------------------------------------------------------------------------------------
// Parameters

const argv = process.argv.slice(2);
const unknownArg = argv.find((a) => !/^--(quick|keep|storms|no-storms|no-skew|seed=\d+)$/.test(a));
if (unknownArg) {
  console.error(`chaos: unknown argument ${unknownArg} (use --quick, --keep, --no-storms, --no-skew, --seed=N)`);
  process.exit(2);
}
const QUICK = argv.includes('--quick');
/** Storms are on by default (the bot's default settings); --storms is kept as a no-op for old scripts. */
const STORMS = !argv.includes('--no-storms');
const KEEP = argv.includes('--keep');
/** Both replicas on the real clock (to tell the skew's effects from the rest). */
const NO_SKEW = argv.includes('--no-skew');
const SEED = Number(argv.find((a) => a.startsWith('--seed='))?.slice(7) ?? Math.floor(Math.random() * 2 ** 31));
const P = QUICK
  ? { alerts: 80, kills: 8, deploys: 1, runMs: 45_000, settleMs: 100_000, outageMs: 15_000 }
  : { alerts: 500, kills: 50, deploys: 2, runMs: 150_000, settleMs: 120_000, outageMs: 45_000 };
/** The Slack outage starts this far into the run. */
const OUTAGE_AT = 0.4;
const ESCALATE_SHARE = 0.1;
/** Severity changed in Cotool by an agent: a card update and a timeline note in the card's thread. */
const RESEVERITY_SHARE = 0.06;
const CLICK_SHARE = 0.1;
/** Escalated from the card: the analyst's thread note says so; on-call must not be paged for it. */
const SLACK_ESCALATE_SHARE = 0.04;
const DOUBLE_CLICK_SHARE = 0.4;
const LEADER_KILL_SHARE = 0.3;
/** A replica is SIGKILLed only after it has been up this long. */
const MIN_UP_MS = 2_000;
/** Slack stores a post but answers one of these (1 post in 25). */
const FAIL_AFTER_COMMIT_ODDS = 1 / 25;
const AFTER_COMMIT_ANSWERS: readonly AfterCommitAnswer[] = [500, 503, 'internal_error', 'fatal_error'];
/** Cotool: about one read in this many fails (counted in requests, not time: a busy machine polls less); a click's status change fails with these odds. */
const COTOOL_GET_FAULT_EVERY = 15;
const COTOOL_POST_FAULT_ODDS = 0.2;
const SLACK_LIMITS = { postPerSecond: 20, postBurst: 5, updatesPerMinute: 60, updateBurst: 5 };
/** Per seed: which replica is in HTTP mode, which one's clock runs ahead, how Slack's outage answers. */
const HTTP_REPLICA = SEED % 2;
const SKEWED_REPLICA = Math.floor(SEED / 2) % 2;
const OUTAGE_ANSWER: OutageAnswer = Math.floor(SEED / 4) % 2 === 0 ? 'service_unavailable' : 503;

/** mulberry32: a small seeded generator, so a schedule can be replayed with --seed. */
function seeded(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = seeded(SEED);
const between = (lo: number, hi: number) => Math.floor(lo + rnd() * (hi - lo + 1));
const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(rnd() * items.length)];

const t0 = Date.now();
const elapsed = () => `${String(Math.round((Date.now() - t0) / 1000)).padStart(4)}s`;
const say = (msg: string) => console.log(`[${elapsed()}] ${msg}`);

// ---------------------------------------------------------------------------------------------
// Clean-up: whatever was started is stopped, in reverse order, exactly once.

const cleanups: { name: string; run: () => Promise<void> | void }[] = [];
let cleaning: Promise<void> | null = null;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await Promise.race([c.run(), sleep(30_000)]);
      } catch (err) {
        console.error(`chaos: cleaning up ${c.name} failed: ${String(err)}`);
      }
    }
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    console.error(`\nchaos: ${signal}: stopping everything it started`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

type Database = { url: string; what: string };

async function startDatabase(): Promise<Database> {
  const env = process.env;
  const given =
    env.CHAOS_DATABASE_URL ||
    env.TEST_DATABASE_URL ||
    (/^postgres(ql)?:\/\//.test(env.DATABASE_URL ?? '') ? env.DATABASE_URL : '');
  if (given) {
    const name = `cotool_chaos_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: given, connectionTimeoutMillis: 10_000 });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    cleanups.push({
      name: `database ${name}`,
      run: async () => {
        const c = new pg.Client({ connectionString: given, connectionTimeoutMillis: 10_000 });
        await c.connect();
        try {
          await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        } finally {
          await c.end();
        }
      },
    });
    const url = new URL(given);
    url.pathname = `/${name}`;
    return { url: url.toString(), what: `scratch database ${name} on the given server` };
  }
  // postgres.sh prints shell exports; let bash read them (they are %q-quoted).
  const r = spawnSync(
    'bash',
    [
      '-c',
      'set -e; out="$(bash .ci/postgres.sh start)"; eval "$out"; printf "%s\\n%s\\n" "$TEST_DATABASE_URL" "$COTOOL_PG_DIR"',
    ],
    {
      cwd: ROOT,
      env: { ...env, COTOOL_PG_DIR: '' },
      encoding: 'utf8',
      timeout: 600_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const [url, dir] = (r.stdout ?? '').trim().split('\n');
  if (r.status !== 0 || !url || !dir) {
    if (dir) spawnSync('bash', ['.ci/postgres.sh', 'stop', dir], { cwd: ROOT, stdio: 'ignore', timeout: 60_000 });
    throw new Error(
      `could not start PostgreSQL (.ci/postgres.sh start): ${(r.stderr ?? '').trim().split('\n').at(-1)}`,
    );
  }
  cleanups.push({
    name: 'PostgreSQL',
    run: () =>
      void spawnSync('bash', ['.ci/postgres.sh', 'stop', dir], { cwd: ROOT, stdio: 'ignore', timeout: 60_000 }),
  });
  return { url, what: 'throwaway cluster (.ci/postgres.sh)' };
}

// ---------------------------------------------------------------------------------------------
// Replicas: `node src/main.ts` child processes

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// A clock 2 minutes ahead: libfaketime, preloaded into one replica (monotonic clocks left alone, so
// its timers run at the normal pace; only the wall clock — Date.now() — is ahead).

type Skew = { lib: string; measuredMs: number } | { unavailable: string };

function findLibfaketime(): string | null {
  const dirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib', '/usr/local/lib'];
  for (const d of dirs) {
    const f = join(d, 'faketime', 'libfaketime.so.1');
    if (existsSync(f)) return f;
  }
  return null;
}

function skewEnv(lib: string): Record<string, string> {
  return { LD_PRELOAD: lib, FAKETIME: `+${SKEW_MS / 60_000}m`, FAKETIME_DONT_FAKE_MONOTONIC: '1' };
}

function prepareSkew(): Skew {
  let lib = findLibfaketime();
  const canInstall =
    process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  if (!lib && canInstall) {
    say('libfaketime not found: installing Debian package faketime (apt-get install -y faketime)');
    const install = () =>
      spawnSync('apt-get', ['install', '-y', '-qq', 'faketime'], {
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
        stdio: 'ignore',
        timeout: 300_000,
      }).status === 0;
    if (!install()) {
      spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore', timeout: 300_000 });
      install();
    }
    lib = findLibfaketime();
  }
  if (!lib) {
    return {
      unavailable: `libfaketime not found${canInstall ? ' and could not be installed' : ''} (Debian: apt-get install faketime)`,
    };
  }
  // It must work with this Node: the child's Date.now() runs SKEW_MS ahead, its timers at the normal pace.
  const r = spawnSync(
    process.execPath,
    ['-e', 'const t = performance.now(); setTimeout(() => console.log(Date.now(), performance.now() - t), 300)'],
    { env: { PATH: process.env.PATH ?? '', ...skewEnv(lib) }, encoding: 'utf8', timeout: 30_000 },
  );
  const now = Date.now();
  const [childNow = Number.NaN, timerMs = Number.NaN] = (r.stdout ?? '').trim().split(' ').map(Number);
  const measuredMs = childNow - now;
  if (r.status !== 0 || Math.abs(measuredMs - SKEW_MS) > 15_000 || !(timerMs >= 250 && timerMs < 10_000)) {
    return {
      unavailable: `libfaketime at ${lib} does not work with Node ${process.version} (skew ${measuredMs} ms, a 300 ms timer took ${timerMs} ms)`,
    };
  }
  return { lib, measuredMs };
}

// ---------------------------------------------------------------------------------------------
// What Slack shows

/** Every `text` string of a message (its fallback text and its blocks), as Slack's search sees it. */
function textsOf(msg: SlackMessage): string[] {
  const out: string[] = [msg.text ?? ''];
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) for (const y of x) walk(y);
    else if (x && typeof x === 'object') {
      for (const [k, v] of Object.entries(x)) {
        if (k === 'text' && typeof v === 'string') out.push(v);
        else walk(v);
      }
    }
  };
  walk(msg.blocks ?? []);
  return out;
}

/** Display ids a message shows: single ids and ranges (`COT-100–COT-120` stands for each id in it). */
function idsShown(msg: SlackMessage): Set<string> {
  const ids = new Set<string>();
  for (const t of textsOf(msg)) {
    for (const m of t.matchAll(/([A-Za-z][A-Za-z0-9_]*-)(\d+)(?:\u2013([A-Za-z][A-Za-z0-9_]*-)(\d+))?/g)) {
      const [, prefix = '', from = '0', toPrefix, to] = m;
      if (to !== undefined && toPrefix === prefix && Number(to) - Number(from) <= 100_000) {
        for (let n = Number(from); n <= Number(to); n++) ids.add(`${prefix}${n}`);
      } else {
        ids.add(`${prefix}${Number(from)}`);
      }
    }
  }
  return ids;
}

/** The lines of a timeline note (one context line per entry), without its "+N more" tail. */
function noteLines(msg: SlackMessage): string[] {
  const lines: string[] = [];
  for (const b of (msg.blocks ?? []) as Obj[]) {
    if (b.type !== 'context') continue;
    for (const e of (b.elements ?? []) as Obj[]) {
      const t = typeof e.text === 'string' ? e.text : '';
      if (t && !/^\+\d[\d,]* more in Cotool/.test(t) && !t.startsWith('Nothing new')) lines.push(t);
    }
  }
  return lines;
}

const metaOf = (m: SlackMessage) => ({
  type: m.metadata?.event_type,
  key: String(m.metadata?.event_payload.key ?? ''),
  alertId: String(m.metadata?.event_payload.alert_id ?? ''),
});
/** A status change made from Slack is told in the card's thread under a `reply:` key (notes: `reply:note:`). */
const isStatusNote = (key: string) => key.startsWith('reply:') && !key.startsWith('reply:note:');

// ---------------------------------------------------------------------------------------------
// Replicas: `node src/main.ts` child processes

type Replica = {
  name: string;
  mode: 'socket' | 'http';
  skewed: boolean;
  proc: ChildProcess | null;
  port: number;
  exited: Promise<void>;
  lastExit: { code: number | null; signal: string | null } | null;
  /** We are ending it (SIGKILL or SIGTERM): its exit is not a crash. */
  ending: boolean;
  starting: boolean;
  /** Answering on its port (and, in Socket Mode, connected): what Slack or a load balancer would send clicks to. */
  up: boolean;
  /** Since when it is up (null while it is not). */
  upSince: number | null;
  starts: number;
  restartTimer: NodeJS.Timeout | null;
};

type Counters = {
  kills: number;
  leaderKills: number;
  sigterms: number;
  sigtermClean: number;
  deploys: number;
  crashes: { at: number; text: string }[];
  alertsAdded: number;
  escalations: number;
  reassessed: number;
  intents: number;
  doubleClicks: number;
  deliveries: number;
  acked: number;
  ackedHttp: number;
  ackedSocket: number;
  reclicks: number;
  clickErrors: number;
  afterCommitArmed: number;
  outageFrom: number;
  outageTo: number;
};

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'cotool-chaos-'));
  let keepDir = KEEP;
  cleanups.push({
    name: 'temp directory',
    run: () => {
      if (keepDir) console.log(`replica logs and what Slack and Cotool ended up with kept in ${dir}`);
      else rmSync(dir, { recursive: true, force: true });
    },
  });
  const mode = `${QUICK ? 'quick' : 'full'}, storms ${STORMS ? 'on (defaults)' : 'off'}`;
  console.log(
    `cotool-slack chaos (${mode}, seed ${SEED}): ${P.alerts} alerts, ${P.kills} SIGKILLs and ${P.deploys} deploys over ` +
      `${P.runMs / 1000} s, a ${P.outageMs / 1000} s Slack outage, two replicas on PostgreSQL, fake Cotool + fake Slack on 127.0.0.1`,
  );

  const skew: Skew = NO_SKEW ? { unavailable: 'off (--no-skew)' } : prepareSkew();
  if ('unavailable' in skew && !NO_SKEW)
    say(`CLOCK SKEW UNAVAILABLE: ${skew.unavailable}; both replicas run on the real clock`);
  const db = await startDatabase();
  say(`PostgreSQL: ${db.what}`);
  const cotool = await startFakeCotool({ seed: `chaos-${SEED}` });
  cleanups.push({ name: 'fake Cotool', run: () => cotool.close() });
  const slack = await startFakeSlack({ rateLimits: SLACK_LIMITS });
  cleanups.push({ name: 'fake Slack', run: () => slack.close() });
  slack.addUser(JANE);
  slack.addUser(BOB);
  slack.setDelay('chat.postMessage', 100);

  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  cleanups.push({ name: 'PostgreSQL pool', run: () => pool.end() });
  const count = async (sql: string): Promise<number> => Number((await pool.query(sql)).rows[0]?.n ?? 0);

  // The bot's own defaults, except what makes a run of minutes possible (a poll every 2 s, a short
  // Cotool timeout) and Slack's limits as the fake enforces them.
  const botEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    COTOOL_API_URL: cotool.url,
    COTOOL_API_KEY: COTOOL_TEST_API_KEY,
    COTOOL_TIMEOUT_MS: String(COTOOL_TIMEOUT_MS),
    SLACK_BOT_TOKEN: slack.botToken,
    SLACK_API_URL: slack.apiUrl,
    SLACK_ALERT_CHANNEL: CHANNEL,
    DATABASE_URL: db.url,
    LOG_LEVEL: process.env.CHAOS_LOG_LEVEL || 'warn',
    POLL_SCHEDULE: `*/${POLL_MS / 1000} * * * * *`,
    SLACK_POST_RATE: String(SLACK_LIMITS.postPerSecond),
    SLACK_POST_BURST: String(SLACK_LIMITS.postBurst),
    SLACK_UPDATE_RATE: String(SLACK_LIMITS.updatesPerMinute - 10),
    BACKLOG: 'all',
    ...(STORMS ? {} : { STORM_THRESHOLD: '100000' }),
    ESCALATION_MENTION: 'S0ONCALL',
    // A run is minutes long: a critical card's reminder (held 15 min) would be an outbox item that is
    // never due before the run ends, and "idle" means an empty outbox. Reminders have their own tests.
    REMIND_AFTER_MINUTES: '0',
  };

  const c: Counters = {
    kills: 0,
    leaderKills: 0,
    sigterms: 0,
    sigtermClean: 0,
    deploys: 0,
    crashes: [],
    alertsAdded: 0,
    escalations: 0,
    reassessed: 0,
    intents: 0,
    doubleClicks: 0,
    deliveries: 0,
    acked: 0,
    ackedHttp: 0,
    ackedSocket: 0,
    reclicks: 0,
    clickErrors: 0,
    afterCommitArmed: 0,
    outageFrom: 0,
    outageTo: 0,
  };

  const replicas: Replica[] = ['A', 'B'].map((name, i) => ({
    name,
    mode: i === HTTP_REPLICA ? 'http' : 'socket',
    skewed: i === SKEWED_REPLICA && !('unavailable' in skew),
    proc: null,
    port: 0,
    exited: Promise.resolve(),
    lastExit: null,
    ending: false,
    starting: false,
    up: false,
    upSince: null,
    starts: 0,
    restartTimer: null,
  }));
  const describe = (r: Replica) =>
    `${r.name} (${r.mode === 'http' ? 'HTTP mode' : 'Socket Mode'}${r.skewed ? ', clock +2 min' : ''})`;
  let stopping = false;

  async function startReplica(r: Replica): Promise<void> {
    if (stopping || r.proc || r.starting) return;
    r.starting = true;
    try {
      r.port = await freePort();
      const log = openSync(join(dir, `replica-${r.name}.log`), 'a');
      const env: Record<string, string> = {
        ...botEnv,
        PORT: String(r.port),
        ...(r.mode === 'socket' ? { SLACK_APP_TOKEN: slack.appToken } : { SLACK_SIGNING_SECRET: SIGNING_SECRET }),
        ...(r.skewed && 'lib' in skew ? skewEnv(skew.lib) : {}),
      };
      // Its own working directory: a developer's .env in the repository must not leak in.
      const proc = spawn(process.execPath, [MAIN], { cwd: dir, env, stdio: ['ignore', log, log] });
      closeSync(log);
      r.proc = proc;
      r.ending = false;
      r.starts++;
      r.exited = new Promise((resolve) => {
        proc.once('exit', (code, signal) => {
          if (r.proc === proc) r.proc = null;
          r.up = false;
          r.upSince = null;
          r.lastExit = { code, signal };
          if (!r.ending) {
            c.crashes.push({
              at: Date.now(),
              text: `replica ${r.name} exited on its own (code ${code}, signal ${signal}) at ${elapsed().trim()}`,
            });
            scheduleRestart(r, 1_000);
          }
          resolve();
        });
      });
    } finally {
      r.starting = false;
    }
  }

  function scheduleRestart(r: Replica, ms: number): void {
    if (stopping || r.restartTimer) return;
    r.restartTimer = setTimeout(() => {
      r.restartTimer = null;
      void startReplica(r);
    }, ms);
  }

  /** Ends a replica; 'clean' when it exited by itself with status 0 (a SIGTERM honoured in time). */
  async function endReplica(r: Replica, signal: 'SIGKILL' | 'SIGTERM'): Promise<'clean' | 'forced' | 'none'> {
    const proc = r.proc;
    if (!proc) return 'none';
    const exited = r.exited;
    r.ending = true;
    proc.kill(signal);
    await Promise.race([exited, sleep(signal === 'SIGTERM' ? 15_000 : 5_000)]);
    if (r.proc === proc) {
      proc.kill('SIGKILL');
      await Promise.race([exited, sleep(5_000)]);
      return 'forced';
    }
    return signal === 'SIGTERM' && r.lastExit?.code === 0 ? 'clean' : 'forced';
  }

  cleanups.push({
    name: 'replicas',
    run: async () => {
      stopping = true;
      for (const r of replicas) if (r.restartTimer) clearTimeout(r.restartTimer);
      await Promise.all(replicas.map((r) => endReplica(r, 'SIGKILL')));
    },
  });
  // Last resort when the script itself dies: no replica outlives it.
  process.once('exit', () => {
    for (const r of replicas) r.proc?.kill('SIGKILL');
  });

  async function get(r: Replica, path: string): Promise<string | null> {
    if (!r.proc) return null;
    try {
      const res = await fetch(`http://127.0.0.1:${r.port}${path}`, { signal: AbortSignal.timeout(2_000) });
      const text = await res.text();
      return res.ok ? text : null;
    } catch {
      return null;
    }
  }
  const isLeader = async (r: Replica) => /^cotool_slack_leader 1$/m.test((await get(r, '/metrics')) ?? '');
  /** Up: its HTTP server answers, and in Socket Mode its connection to Slack is open. */
  async function isUp(r: Replica): Promise<boolean> {
    const proc = r.proc;
    const up = (await get(r, '/healthz')) !== null && (r.mode === 'http' || slack.socketClients > 0);
    if (r.proc === proc) {
      if (up && !r.up) r.upSince = Date.now();
      if (!up) r.upSince = null;
      r.up = up;
    }
    return up;
  }
  async function waitUp(r: Replica, ms: number): Promise<boolean> {
    for (const deadline = Date.now() + ms; Date.now() < deadline && !stopping; await sleep(250)) {
      if (await isUp(r)) return true;
    }
    return false;
  }
  // Which replicas are up, looked at every half second (a process starting under load is not yet).
  void (async () => {
    while (!stopping) {
      await Promise.all(replicas.map(isUp));
      await sleep(500);
    }
  })();

  // ---- start both, wait until they are up

  await Promise.all(replicas.map(startReplica));
  const upBoth = await Promise.all(replicas.map((r) => waitUp(r, 60_000)));
  if (!upBoth.every(Boolean)) throw new Error('the two replicas were not up within 60 s (see their logs)');
  say(`both replicas up: ${replicas.map(describe).join(', ')}; starting the storm`);
  if ('lib' in skew)
    say(`replica ${replicas[SKEWED_REPLICA]?.name}'s clock: +${Math.round(skew.measuredMs / 1000)} s (libfaketime)`);

  // ---- what Slack shows

  type CardRef = { ts: string; msg: SlackMessage };
  function cardsByAlert(): Map<string, CardRef[]> {
    const out = new Map<string, CardRef[]>();
    for (const m of slack.messages(CHANNEL)) {
      if (m.metadata?.event_type !== 'cotool_alert') continue;
      const id = String(m.metadata.event_payload.alert_id);
      out.set(id, [...(out.get(id) ?? []), { ts: m.ts, msg: m }]);
    }
    return out;
  }
  const buttonValue = (msg: SlackMessage | undefined, actionId: string): string | null => {
    for (const b of (msg?.blocks ?? []) as Obj[]) {
      for (const e of (b.elements ?? []) as Obj[]) {
        if (e.action_id === actionId && typeof e.value === 'string') return e.value;
      }
    }
    return null;
  };

  // ---- the schedule

  const runStart = Date.now();
  const runEnd = runStart + P.runMs;
  const at = (share: number) => runStart + share * P.runMs;
  const escalated = new Set<string>();
  const escalatedAt = new Map<string, number>();
  /** Alerts someone acted on from Slack: the button pressed (one intent per alert). */
  const clicked = new Map<string, string>();
  const work: Promise<unknown>[] = [];
  const clickErrorWhy = new Map<string, number>();
  let lastChangeAt = Date.now();

  // Alerts in bursts over the first 75 % of the run: a quarter of them in small bursts first (cards of
  // their own), then bigger ones (and the outage's backlog): storms.
  async function produce(): Promise<void> {
    const bursts: { n: number; when: number }[] = [];
    const early = Math.round(P.alerts / 4);
    for (let left = P.alerts; left > 0; ) {
      const small = P.alerts - left < early;
      const n = Math.min(left, small ? between(1, 8) : between(1, 40));
      bursts.push({ n, when: small ? at(rnd() * 0.3) : at(0.3 + rnd() * 0.45) });
      left -= n;
    }
    bursts.sort((a, b) => a.when - b.when);
    const severities = ['low', 'medium', 'high', 'critical'] as const;
    for (const { n, when } of bursts) {
      await sleep(Math.max(0, when - Date.now()));
      for (let k = 0; k < n; k++) {
        cotool.addAlert({ severity: pick(severities) ?? 'high' });
        c.alertsAdded++;
      }
      lastChangeAt = Date.now();
    }
  }

  // About 10 % escalated in Cotool (by an agent) a little after they arrived.
  async function escalate(): Promise<void> {
    const n = Math.round(P.alerts * ESCALATE_SHARE);
    const times = Array.from({ length: n }, () => at(0.05 + rnd() * 0.85)).sort((a, b) => a - b);
    for (const when of times) {
      await sleep(Math.max(0, when - Date.now()));
      // No alert old enough yet: look again a little later (bounded).
      let a: ReturnType<typeof cotool.alerts>[number] | undefined;
      for (let i = 0; !a && i < 20 && !stopping && Date.now() < runEnd; i++) {
        if (i > 0) await sleep(500);
        const now = Date.now();
        a = pick(
          cotool
            .alerts()
            .filter((x) => x.status === 'open' && !clicked.has(x.id) && now - Date.parse(x.createdAt) > 3_000),
        );
      }
      if (!a) continue;
      cotool.updateAlert(
        a.id,
        { status: 'escalated' },
        { actor: { type: 'agent', name: 'Tier 1 Response Agent' }, reason: 'Token reuse from a new ASN' },
      );
      escalated.add(a.id);
      escalatedAt.set(a.id, Date.now());
      c.escalations++;
      lastChangeAt = Date.now();
    }
  }

  // About 6 % re-rated by an agent (severity changed) while live.
  async function reassess(): Promise<void> {
    const n = Math.round(P.alerts * RESEVERITY_SHARE);
    const times = Array.from({ length: n }, () => at(0.1 + rnd() * 0.8)).sort((a, b) => a - b);
    for (const when of times) {
      await sleep(Math.max(0, when - Date.now()));
      const now = Date.now();
      const a = pick(
        cotool.alerts().filter((x) => !x.status.startsWith('closed_') && now - Date.parse(x.createdAt) > 3_000),
      );
      if (!a) continue;
      const severity = a.severity === 'critical' ? 'high' : 'critical';
      cotool.updateAlert(
        a.id,
        { severity },
        { actor: { type: 'agent', name: 'Tier 1 Response Agent' }, reason: 'Re-rated' },
      );
      c.reassessed++;
      lastChangeAt = Date.now();
    }
  }

  /** An interaction POSTed to an HTTP-mode replica the way Slack does: signed, given up after 3 s. */
  async function postSigned(r: Replica, payload: Obj): Promise<void> {
    const body = interactionBody(payload);
    const timestamp = Math.floor(Date.now() / 1000);
    const res = await fetch(`http://127.0.0.1:${r.port}/slack/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': String(timestamp),
        'x-slack-signature': slackSignature(SIGNING_SECRET, timestamp, body),
      },
      body,
      signal: AbortSignal.timeout(3_000),
    });
    await res.text();
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
  }

  /**
   * One click on a card's button, delivered to replica `which` (0 or 1) — or to the other one when that
   * one is down, as Slack reaches whichever is there; false when no replica acknowledged it.
   */
  async function deliver(user: SlackUser, ts: string, actionId: string, which: number): Promise<boolean> {
    const msg = slack.message(CHANNEL, ts);
    const value = buttonValue(msg, actionId);
    if (!value) return true; // the card no longer offers it: nothing left to click
    const payload = blockActionsPayload({
      user: user.id,
      channel: CHANNEL,
      messageTs: ts,
      actionId,
      value,
      responseUrl: slack.responseUrl({ channel: CHANNEL, ts }),
      ...(msg ? { message: msg as Obj } : {}),
    });
    c.deliveries++;
    const first = replicas[which % 2];
    const other = replicas[(which + 1) % 2];
    const r = first?.up ? first : other?.up ? other : undefined;
    try {
      if (!r) throw new Error('no replica up');
      if (r.mode === 'socket') await slack.sendEnvelope('interactive', payload, { timeoutMs: 5_000 });
      else await postSigned(r, payload);
      c.acked++;
      if (r.mode === 'http') c.ackedHttp++;
      else c.ackedSocket++;
      return true;
    } catch (err) {
      c.clickErrors++;
      const why = `${r ? `${r.mode}: ` : ''}${err instanceof Error ? err.message : String(err)}`.slice(0, 80);
      clickErrorWhy.set(why, (clickErrorWhy.get(why) ?? 0) + 1);
      return false;
    }
  }

  /** Cotool fails a click's status change now and then: refused (500, 429), no answer, or made too late. */
  const statusFaults: FailureResponse[] = [
    { status: 500 },
    { status: 429, body: { error: 'Too many requests' }, headers: { 'retry-after': '1' } },
    'hang',
    { lateMs: COTOOL_TIMEOUT_MS + 3_000 },
  ];

  /** A click intent: one analyst (or two, or one clicking twice) pressing a card's button. */
  async function intent(alertId: string, ts: string, actionId: string): Promise<void> {
    clicked.set(alertId, actionId);
    c.intents++;
    if (rnd() < COTOOL_POST_FAULT_ODDS) {
      const fault = pick(statusFaults);
      if (fault) cotool.failNext(1, fault, { method: 'POST' });
    }
    const double = rnd() < DOUBLE_CLICK_SHARE;
    const first = between(0, 1);
    let ok: boolean;
    if (double) {
      c.doubleClicks++;
      const second = rnd() < 0.5 ? JANE : BOB; // the same analyst clicking twice, or two analysts
      const gap = between(0, 300);
      const results = await Promise.all([
        deliver(JANE, ts, actionId, first),
        sleep(gap).then(() => deliver(second, ts, actionId, first + 1)),
      ]);
      ok = results.some(Boolean);
    } else {
      ok = await deliver(JANE, ts, actionId, first);
    }
    // No answer (the replica died under the click, or none was up): the analyst clicks again on the
    // card as it is, a little later (once a replica is up again; bounded).
    for (let attempt = 0; !ok && attempt < 3 && !stopping; attempt++) {
      await sleep(between(1_000, 3_000));
      for (let i = 0; !replicas.some((r) => r.up) && i < 120 && !stopping; i++) await sleep(250);
      c.reclicks++;
      ok = await deliver(JANE, ts, actionId, between(0, 1));
    }
  }

  // About 10 % of the alerts closed as false positive from their cards, a few escalated from them,
  // spread over the run.
  async function click(): Promise<void> {
    const close = Math.round(P.alerts * CLICK_SHARE);
    const escalate = Math.round(P.alerts * SLACK_ESCALATE_SHARE);
    const times = Array.from({ length: close + escalate }, (_, i) => ({
      when: at(0.08 + rnd() * 0.87),
      actionId: i < close ? ACTIONS.closeFp : ACTIONS.escalate,
    })).sort((a, b) => a.when - b.when);
    for (const { when, actionId } of times) {
      await sleep(Math.max(0, when - Date.now()));
      // No card to click yet: look again a little later (bounded).
      let chosen: [string, CardRef[]] | undefined;
      for (let i = 0; !chosen && i < 20 && !stopping && Date.now() < runEnd; i++) {
        if (i > 0) await sleep(500);
        chosen = pick(
          [...cardsByAlert().entries()].filter(
            ([id, refs]) =>
              !clicked.has(id) &&
              (actionId !== ACTIONS.escalate || !escalated.has(id)) &&
              refs[0] &&
              buttonValue(refs[0].msg, actionId),
          ),
        );
      }
      const ts = chosen?.[1][0]?.ts;
      if (!chosen || !ts) continue;
      work.push(intent(chosen[0], ts, actionId));
    }
  }

  // SIGKILLs spread over the run; a killed replica comes back after a short random delay. Only a
  // replica that has been up a little is killed (a start takes seconds on a busy machine): when none is,
  // the kill waits, and the kills that cannot happen before the run ends are left out (and reported).
  async function kill(): Promise<void> {
    const times = Array.from({ length: P.kills }, (_, i) => runStart + ((i + rnd()) * P.runMs) / P.kills);
    const killable = () => replicas.filter((r) => r.up && r.upSince !== null && Date.now() - r.upSince >= MIN_UP_MS);
    for (const when of times) {
      await sleep(Math.max(0, when - Date.now()));
      let up = killable();
      while (up.length === 0 && !stopping && Date.now() < runEnd) {
        await sleep(100);
        up = killable();
      }
      if (Date.now() >= runEnd) break;
      let target = pick(up);
      let leader = false;
      if (rnd() < LEADER_KILL_SHARE) {
        for (const r of up) {
          if (await isLeader(r)) {
            target = r;
            leader = true;
            break;
          }
        }
      }
      if (!target) continue;
      await endReplica(target, 'SIGKILL');
      c.kills++;
      if (leader) c.leaderKills++;
      scheduleRestart(target, between(300, 2_500));
    }
  }

  // Deploys: each replica in turn gets SIGTERM, is started again, and must be up before the next one goes.
  async function deploy(): Promise<void> {
    // Before and after the outage (a deploy during it would only crash-loop until Slack is back).
    const times = Array.from({ length: P.deploys }, (_, i) => at(0.2 + (i * 0.65) / Math.max(1, P.deploys - 1)));
    for (const when of times) {
      await sleep(Math.max(0, when - Date.now()));
      if (stopping) return;
      say(`deploy: SIGTERM to each replica in turn`);
      c.deploys++;
      for (const r of replicas) {
        // A replica just SIGKILLed (or still starting) is given time to be up first (bounded).
        if (!r.up) await waitUp(r, 60_000);
        const how = await endReplica(r, 'SIGTERM');
        if (how !== 'none') {
          c.sigterms++;
          if (how === 'clean') c.sigtermClean++;
        }
        if (r.restartTimer) {
          clearTimeout(r.restartTimer);
          r.restartTimer = null;
        }
        await startReplica(r);
        if (!(await waitUp(r, 60_000))) say(`deploy: replica ${r.name} not up within 60 s after its restart`);
      }
    }
  }

  // Slack's latency varies; now and then a post is stored but answered 500/503 or internal_error/fatal_error.
  async function slackFaults(): Promise<void> {
    let scanned = 0;
    while (Date.now() < runEnd && !stopping) {
      const calls = slack.calls;
      let pending = c.afterCommitArmed - calls.filter((x) => x.injected === 'after_commit').length;
      for (; scanned < calls.length; scanned++) {
        if (calls[scanned]?.method !== 'chat.postMessage') continue;
        if (pending <= 0 && rnd() < FAIL_AFTER_COMMIT_ODDS) {
          slack.failAfterCommit('chat.postMessage', 1, pick(AFTER_COMMIT_ANSWERS) ?? 500);
          c.afterCommitArmed++;
          pending++;
        }
      }
      slack.setDelay('chat.postMessage', between(50, 150));
      slack.setDelay('chat.update', between(20, 80));
      // Cotool answers reads with some latency too (a click's re-read after its change included).
      cotool.setDelay(between(20, 150), { method: 'GET' });
      await sleep(250);
    }
  }

  // A Slack outage mid-run: every call refused for P.outageMs.
  async function outage(): Promise<void> {
    await sleep(Math.max(0, at(OUTAGE_AT) - Date.now()));
    if (stopping) return;
    slack.outage(P.outageMs, OUTAGE_ANSWER);
    c.outageFrom = Date.now();
    c.outageTo = c.outageFrom + P.outageMs;
    say(`Slack outage: every call refused with ${OUTAGE_ANSWER} for ${P.outageMs / 1000} s`);
    await sleep(P.outageMs);
    say('Slack outage over');
  }

  // Cotool now and then fails a read: 500, 429 with Retry-After, a reset connection, or no answer at all.
  async function cotoolFaults(): Promise<void> {
    let next = between(COTOOL_GET_FAULT_EVERY / 2, (COTOOL_GET_FAULT_EVERY * 3) / 2);
    let armed = false;
    let seen = 0;
    while (Date.now() < runEnd && !stopping) {
      await sleep(200);
      const gets = cotool.requests.filter((r) => r.method === 'GET');
      if (armed) {
        // Wait until the armed fault has hit a read, then count reads again.
        if (!gets.slice(seen).some((r) => r.fault)) continue;
        armed = false;
        seen = gets.length;
        next = between(COTOOL_GET_FAULT_EVERY / 2, (COTOOL_GET_FAULT_EVERY * 3) / 2);
        continue;
      }
      if (gets.length - seen < next) continue;
      const fault: FailureResponse =
        pick<FailureResponse>([
          { status: 500 },
          { status: 429, body: { error: 'Too many requests' }, headers: { 'retry-after': String(between(1, 3)) } },
          'reset',
          'hang',
        ]) ?? 'hang';
      cotool.failNext(1, fault, { method: 'GET' });
      armed = true;
      seen = gets.length;
    }
  }

  async function progress(): Promise<void> {
    while (Date.now() < runEnd && !stopping) {
      await sleep(Math.min(15_000, Math.max(0, runEnd - Date.now())));
      await report('storm');
    }
  }

  async function report(phase: string): Promise<void> {
    const outbox = await count('SELECT count(*) AS n FROM outbox').catch(() => Number.NaN);
    const up = replicas.map((r) => `${r.name}:${r.proc ? 'up' : 'down'}`).join(' ');
    const digests = slack.messages(CHANNEL).filter((m) => m.metadata?.event_type === 'cotool_digest').length;
    say(
      `${phase}: alerts ${c.alertsAdded}/${P.alerts}, cards ${cardsByAlert().size}, digests ${digests}, escalated ${c.escalations}, ` +
        `click intents ${c.intents}, kills ${c.kills}/${P.kills}, SIGTERMs ${c.sigterms}, outbox ${outbox}${slack.inOutage ? ', SLACK OUTAGE' : ''}, ${up}`,
    );
  }

  await Promise.all([
    produce(),
    escalate(),
    reassess(),
    click(),
    kill(),
    deploy(),
    slackFaults(),
    outage(),
    cotoolFaults(),
    progress(),
  ]);
  await Promise.all(work);

  // ---- settle: both replicas up, outbox empty, the last change in Cotool polled

  for (const r of replicas) {
    if (r.restartTimer) {
      clearTimeout(r.restartTimer);
      r.restartTimer = null;
    }
    if (!r.proc) await startReplica(r);
  }
  say('storm over; both replicas up again; waiting until they are idle');
  // A change whose outcome was unknown keeps its note's intent, held for its grace (INTENT_GRACE_MS,
  // longer than a click's claim) before the sender settles it: the run waits at least that long.
  const settleDeadline = Date.now() + Math.max(P.settleMs, INTENT_GRACE_MS + 30_000);
  let emptySince: number | null = null;
  let idle = false;
  let lastReport = Date.now();
  while (Date.now() < settleDeadline) {
    const outbox = await count('SELECT count(*) AS n FROM outbox').catch(() => -1);
    const lastCotoolWrite = Math.max(
      lastChangeAt,
      ...cotool.requests.filter((r) => r.method !== 'GET').map((r) => r.at + (r.fault === 'late' ? 8_000 : 0)),
    );
    const polledSince = cotool.requests.some(
      (r) => r.method === 'GET' && r.path === '/api/alerts' && !r.fault && r.at > lastCotoolWrite + 200,
    );
    if (outbox === 0 && polledSince) {
      emptySince ??= Date.now();
      if (Date.now() - emptySince >= 3 * POLL_MS) {
        idle = true;
        break;
      }
    } else {
      emptySince = null;
    }
    if (Date.now() - lastReport >= 15_000) {
      lastReport = Date.now();
      await report('settling');
    }
    await sleep(500);
  }
  say(
    idle
      ? 'idle: outbox empty and the last Cotool change polled'
      : `NOT idle after ${Math.max(P.settleMs, INTENT_GRACE_MS + 30_000) / 1000} s`,
  );
  stopping = true;
  await Promise.all(replicas.map((r) => endReplica(r, 'SIGTERM')));

  // ---- count

  const alerts = cotool.alerts();
  const threads = slack.messages(CHANNEL);
  const cards = cardsByAlert();
  const tsMs = (ts: string) => Number(ts) * 1000;

  // Storms: a digest, and the replies in its thread, show the ids of the alerts it stands for.
  const digests = new Map<string, number>();
  const digestsShowing = new Map<string, number>();
  for (const t of threads) {
    if (t.metadata?.event_type !== 'cotool_digest') continue;
    const stormId = String(t.metadata.event_payload.storm_id);
    digests.set(stormId, (digests.get(stormId) ?? 0) + 1);
    const ids = new Set<string>();
    for (const m of [t, ...t.replies]) for (const id of idsShown(m)) ids.add(id);
    for (const id of ids) digestsShowing.set(id, (digestsShowing.get(id) ?? 0) + 1);
  }
  const inDigest = (a: { displayId: string }) => digestsShowing.has(a.displayId);
  const emptyDigests = threads.filter(
    (t) =>
      t.metadata?.event_type === 'cotool_digest' &&
      ![t, ...t.replies].some((m) => [...idsShown(m)].some((id) => alerts.some((a) => a.displayId === id))),
  ).length;
  const missing = alerts.filter((a) => !cards.has(a.id) && !inDigest(a));
  const duplicateDigests = [...digests.values()].reduce((n, k) => n + k - 1, 0);
  const duplicateCards = [...cards.values()].reduce((n, refs) => n + refs.length - 1, 0) + duplicateDigests;
  const strays = [...cards.keys()].filter((id) => !alerts.some((a) => a.id === id)).length;
  const shownOnlyInDigest = alerts.filter((a) => !cards.has(a.id) && inDigest(a)).length;
  const inTwoDigests = alerts.filter((a) => (digestsShowing.get(a.displayId) ?? 0) > 1).length;
  // What the store says of the missing ones (for the reader): their card's state, their storm.
  const cardState = new Map(
    (await pool.query('SELECT alert_id, state FROM cards')).rows.map((r) => [String(r.alert_id), String(r.state)]),
  );
  const memberOf = new Map(
    (await pool.query('SELECT storm_id, alert_id FROM storm_members')).rows.map((r) => [
      String(r.alert_id),
      String(r.storm_id),
    ]),
  );
  const stormsInStore = await count('SELECT count(*) AS n FROM storms');
  const missingInShownStorm = missing.filter((a) => digests.has(memberOf.get(a.id) ?? '')).length;

  const notices = new Map<string, number>();
  for (const t of threads) {
    for (const r of t.replies) {
      if (r.metadata?.event_type !== 'cotool_escalation') continue;
      const id = String(r.metadata.event_payload.alert_id);
      notices.set(id, (notices.get(id) ?? 0) + 1);
    }
  }
  const duplicateNotices = [...notices.values()].reduce((n, k) => n + Math.max(0, k - 1), 0);
  // A card posted before its alert escalated must get a notice (the others may carry it on the card),
  // unless someone closed the alert from Slack meanwhile (the page is moot then).
  const statusOf = new Map(alerts.map((a) => [a.id, a.status]));
  const unannounced = [...escalated].filter((id) => {
    const first = cards.get(id)?.[0];
    return first && tsMs(first.ts) < (escalatedAt.get(id) ?? 0) && !notices.has(id);
  });
  const missedPages = unannounced.filter((id) => statusOf.get(id) === 'escalated').length;

  // Status changes Cotool carried out (a request it refused or never answered changed nothing).
  const carriedOut = (r: (typeof cotool.requests)[number]) => r.fault === undefined || r.fault === 'late';
  const statusPosts = new Map<string, number>();
  for (const r of cotool.requests) {
    const id = r.method === 'POST' ? /^\/api\/alerts\/([^/]+)\/status$/.exec(r.path)?.[1] : undefined;
    if (id && carriedOut(r)) statusPosts.set(id, (statusPosts.get(id) ?? 0) + 1);
  }
  let duplicateStatus = 0;
  for (const [id, n] of statusPosts) duplicateStatus += clicked.has(id) ? n - 1 : n;
  const closedFromSlack = alerts.filter((a) => a.status === 'closed_false_positive').length;
  const intentsOf = (actionId: string) => [...clicked].filter(([, a]) => a === actionId).map(([id]) => id);
  const escalatedFromSlack = intentsOf(ACTIONS.escalate).filter((id) => statusPosts.has(id));
  // On-call paged for an escalation an analyst made from the card (its thread note says so already).
  const slackPages = escalatedFromSlack.filter((id) => notices.has(id)).length;

  // Thread notes. Every status change made from Slack (Cotool's timeline: a status change by the API
  // key's user) is told once in the card's thread; a timeline entry is told at most once per thread.
  const changesFromSlack = new Map<string, number>();
  for (const a of alerts) {
    const n = (cotool.getAlert(a.id)?.timeline ?? []).filter(
      (e) => e.kind === 'status_change' && e.actorType === 'human',
    ).length;
    if (n > 0) changesFromSlack.set(a.id, n);
  }
  const statusNotes = new Map<string, number>();
  let timelineNotes = 0;
  let repeatingTimelineNotes = 0;
  for (const t of threads) {
    const seenKeys = new Set<string>();
    const seenLines = new Set<string>();
    for (const r of t.replies) {
      const m = metaOf(r);
      if (m.type !== 'cotool_note') continue;
      if (isStatusNote(m.key)) {
        statusNotes.set(m.alertId, (statusNotes.get(m.alertId) ?? 0) + 1);
        continue;
      }
      timelineNotes++;
      const lines = noteLines(r);
      if (seenKeys.has(m.key) || lines.some((l) => seenLines.has(l))) repeatingTimelineNotes++;
      seenKeys.add(m.key);
      for (const l of lines) seenLines.add(l);
    }
  }
  let missingNotes = 0;
  let extraStatusNotes = 0;
  let notesWithoutChange = 0;
  for (const id of new Set([...changesFromSlack.keys(), ...statusNotes.keys()])) {
    const changes = changesFromSlack.get(id) ?? 0;
    const notes = statusNotes.get(id) ?? 0;
    missingNotes += Math.max(0, changes - notes);
    extraStatusNotes += Math.max(0, notes - changes);
    if (changes === 0) notesWithoutChange += notes;
  }
  const duplicateNotes = extraStatusNotes + repeatingTimelineNotes;
  const totalChanges = [...changesFromSlack.values()].reduce((a, b) => a + b, 0);

  // Not counted in the verdict, shown for the reader: cards whose buttons disagree with the alert's
  // status at the end (a rolled-back card, or a closed alert with live buttons).
  const has = (msg: SlackMessage | undefined, actionId: string) => buttonValue(msg, actionId) !== null;
  const staleCards = alerts.filter((a) => {
    const msg = cards.get(a.id)?.[0]?.msg;
    if (!msg) return false;
    if (a.status.startsWith('closed_')) return has(msg, ACTIONS.closeFp) || !has(msg, ACTIONS.reopen);
    return !has(msg, ACTIONS.closeFp) || has(msg, ACTIONS.escalate) !== (a.status !== 'escalated');
  }).length;

  const rateLimited = slack.calls.filter((x) => x.result.status === 429).length;
  const afterCommit = slack.calls.filter((x) => x.injected === 'after_commit');
  const afterCommitBy = (answer: string) =>
    afterCommit.filter((x) => String(x.result.status ?? x.result.error) === answer).length;
  const refusedInOutage = slack.calls.filter((x) => x.injected === 'outage').length;
  const faulted = cotool.requests.filter((r) => r.fault);
  const faultsBy = (method: string) => {
    const by = new Map<string, number>();
    for (const r of faulted.filter((x) => x.method === method)) by.set(r.fault ?? '', (by.get(r.fault ?? '') ?? 0) + 1);
    return [...by].map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  };
  const cardStates = (await pool.query('SELECT state, count(*) AS n FROM cards GROUP BY state ORDER BY state')).rows
    .map((r) => `${r.state} ${r.n}`)
    .join(', ');
  const outboxLeft = await count('SELECT count(*) AS n FROM outbox');
  // What is left, and when it is due (on the database's clock): the first thing to read when not idle.
  const leftItems = (
    await pool.query(
      `SELECT key, state, unknown, attempts,
              round((not_before - floor(extract(epoch FROM clock_timestamp()) * 1000)) / 1000) AS due_in_s
       FROM outbox ORDER BY key LIMIT 8`,
    )
  ).rows.map(
    (r) => `${r.key} (${r.state}${r.unknown ? ', unknown' : ''}, ${r.attempts} tries, due in ${r.due_in_s} s)`,
  );
  const rel = (ms: number) => `${Math.round((ms - t0) / 1000)} s`;
  // The longest time Cotool's alert list was not read (no replica polling: a failover that did not happen).
  const polls = cotool.requests
    .filter((r) => r.method === 'GET' && r.path === '/api/alerts' && r.at >= runStart)
    .map((r) => r.at);
  let pollGap = { ms: 0, from: runStart };
  for (const [i, t] of polls.entries()) {
    const prev = i === 0 ? runStart : (polls[i - 1] ?? runStart);
    if (t - prev > pollGap.ms) pollGap = { ms: t - prev, from: prev };
  }
  const crashesInOutage = c.crashes.filter((x) => x.at >= c.outageFrom && x.at <= c.outageTo + 5_000).length;

  const wall = Math.round((Date.now() - t0) / 1000);
  const rows: [string, string | number, string?][] = [
    [
      'alerts',
      alerts.length,
      `${c.escalations} escalated and ${c.reassessed} re-rated in Cotool; from Slack: ${intentsOf(ACTIONS.closeFp).length} closes, ` +
        `${intentsOf(ACTIONS.escalate).length} escalations (click intents)`,
    ],
    ['cards in Slack', [...cards.values()].reduce((n, r) => n + r.length, 0), `store: ${cardStates}`],
    [
      'missing cards',
      missing.length,
      STORMS
        ? `alerts with no card and no id in a digest or its thread; ${shownOnlyInDigest} shown only in a digest` +
          (missing.length
            ? `; ${missingInShownStorm} of the missing are members of a storm whose digest is in Slack`
            : '')
        : 'storms off: every alert needs a card of its own',
    ],
    [
      'duplicate cards',
      duplicateCards,
      [
        `${duplicateDigests} of them second digests of one storm`,
        strays ? `${strays} cards of unknown alerts` : '',
        inTwoDigests ? `(info) ${inTwoDigests} alerts shown in two digests` : '',
      ]
        .filter(Boolean)
        .join('; '),
    ],
    [
      'duplicate escalation notices',
      duplicateNotices,
      `${[...notices.values()].reduce((a, b) => a + b, 0)} notices; ` +
        `${slackPages} pages for the ${escalatedFromSlack.length} escalations made from Slack (should be 0)`,
    ],
    [
      '(info) missed escalation pages',
      missedPages,
      `escalated after the card was posted, still escalated, no notice (should be 0); ` +
        `${unannounced.length - missedPages} more closed from Slack before any notice`,
    ],
    [
      'duplicate status changes',
      duplicateStatus,
      `${[...statusPosts.values()].reduce((a, b) => a + b, 0)} status changes carried out, ${closedFromSlack} closed; ` +
        `${c.doubleClicks} double clicks over both replicas, ${c.reclicks} re-clicks after no ack`,
    ],
    [
      'missing thread notes',
      missingNotes,
      `${totalChanges} status changes made from Slack, ${[...statusNotes.values()].reduce((a, b) => a + b, 0)} status notes`,
    ],
    [
      'duplicate thread notes',
      duplicateNotes,
      `${extraStatusNotes} status notes beyond one per change (${notesWithoutChange} for no change); ` +
        `${repeatingTimelineNotes} of ${timelineNotes} timeline notes repeat an entry`,
    ],
    [
      'kills (SIGKILL)',
      c.kills,
      `${c.leaderKills} of the leader on purpose${c.kills < P.kills ? ` (${P.kills} planned: a replica is killed only once up ${MIN_UP_MS / 1000} s)` : ''}; ` +
        `${replicas.map((r) => `${r.name} started ${r.starts}×`).join(', ')}`,
    ],
    [
      'SIGTERMs (deploys)',
      c.sigterms,
      `${c.deploys} deploys, each replica in turn; ${c.sigtermClean} exited cleanly within 15 s`,
    ],
    [
      '429s seen',
      rateLimited,
      `Slack limits: ${SLACK_LIMITS.postPerSecond} posts/s per channel (burst ${SLACK_LIMITS.postBurst}), ${SLACK_LIMITS.updatesPerMinute} updates/min`,
    ],
    [
      'Slack failures after commit',
      afterCommit.length,
      `chat.postMessage stored, answered: 500 ${afterCommitBy('500')}, 503 ${afterCommitBy('503')}, ` +
        `internal_error ${afterCommitBy('internal_error')}, fatal_error ${afterCommitBy('fatal_error')}`,
    ],
    [
      'Slack outage',
      `${P.outageMs / 1000}s`,
      c.outageFrom
        ? `${rel(c.outageFrom)}–${rel(c.outageTo)}, every call answered ${OUTAGE_ANSWER}: ${refusedInOutage} calls refused`
        : 'not reached',
    ],
    [
      'Cotool faults injected',
      faulted.length,
      `reads: ${faultsBy('GET')}; status changes: ${faultsBy('POST')} (bot timeout ${COTOOL_TIMEOUT_MS / 1000} s)`,
    ],
    [
      'storms',
      digests.size,
      STORMS
        ? `digests in Slack, ${emptyDigests} showing no alert (defaults: STORM_THRESHOLD 20, STORM_CARDS 20, 5 min quiet: ` +
          `a run this short should open at most one storm); ${stormsInStore} storms in the store, ${memberOf.size} members`
        : 'off (STORM_THRESHOLD=100000)',
    ],
    [
      'clock skew',
      'lib' in skew ? `+${Math.round(skew.measuredMs / 1000)}s` : 'none',
      'lib' in skew ? `replica ${replicas[SKEWED_REPLICA]?.name} (libfaketime)` : `UNAVAILABLE: ${skew.unavailable}`,
    ],
    [
      'clicks delivered',
      c.acked,
      `${c.ackedSocket} over Socket Mode, ${c.ackedHttp} over HTTP; ${c.clickErrors} not acknowledged` +
        ([...clickErrorWhy].length
          ? ` (${[...clickErrorWhy]
              .sort((a, b) => b[1] - a[1])
              .slice(0, 3)
              .map(([w, n]) => `${w} ×${n}`)
              .join('; ')})`
          : ''),
    ],
    [
      'wall time',
      `${Math.floor(wall / 60)}m${String(wall % 60).padStart(2, '0')}s`,
      idle ? '' : `not idle: ${outboxLeft} outbox items left`,
    ],
    ['(info) stale cards', staleCards, 'buttons disagree with the alert status at the end'],
    [
      '(info) longest poll gap',
      `${Math.round(pollGap.ms / 1000)}s`,
      `no replica read Cotool's alert list from ${rel(pollGap.from)} to ${rel(pollGap.from + pollGap.ms)} (polls every ${POLL_MS / 1000} s)`,
    ],
    [
      '(info) exits on their own',
      c.crashes.length,
      c.crashes.length ? `${crashesInOutage} during the Slack outage (restarted after 1 s)` : '',
    ],
  ];
  console.log('');
  for (const [name, value, note] of rows) {
    console.log(`  ${name.padEnd(30)} ${String(value).padStart(6)}${note ? `   ${note}` : ''}`);
  }
  if (!idle) for (const left of leftItems) console.log(`  outbox left: ${left}`);
  for (const crash of c.crashes.slice(0, 5)) console.log(`  ! ${crash.text}`);
  if (c.crashes.length > 5) console.log(`  ! … and ${c.crashes.length - 5} more`);

  // Examples of what went wrong, to look at in the kept files.
  const byId = new Map(alerts.map((a) => [a.id, a]));
  const name = (id: string) => byId.get(id)?.displayId ?? id;
  const examples: [string, string[]][] = [
    [
      'missing',
      missing.map(
        (a) =>
          `${a.displayId} (${a.status}; card ${cardState.get(a.id) ?? 'none'}${memberOf.has(a.id) ? `; storm member${digests.has(memberOf.get(a.id) ?? '') ? ', digest in Slack' : ''}` : ''})`,
      ),
    ],
    [
      'duplicate cards',
      [...cards].filter(([, refs]) => refs.length > 1).map(([id, refs]) => `${name(id)} ×${refs.length}`),
    ],
    ['duplicate notices', [...notices].filter(([, n]) => n > 1).map(([id, n]) => `${name(id)} ×${n}`)],
    [
      'duplicate status changes',
      [...statusPosts].filter(([id, n]) => n > (clicked.has(id) ? 1 : 0)).map(([id, n]) => `${name(id)} ×${n}`),
    ],
    [
      'missing thread notes',
      [...changesFromSlack]
        .filter(([id, n]) => (statusNotes.get(id) ?? 0) < n)
        .map(([id, n]) => `${name(id)} ${statusNotes.get(id) ?? 0}/${n}`),
    ],
    [
      'duplicate status notes',
      [...statusNotes]
        .filter(([id, n]) => n > (changesFromSlack.get(id) ?? 0))
        .map(([id, n]) => `${name(id)} ${n}/${changesFromSlack.get(id) ?? 0}`),
    ],
  ];
  for (const [what, list] of examples) {
    if (list.length > 0) console.log(`  ${what}: ${list.slice(0, 8).join(', ')}${list.length > 8 ? ', …' : ''}`);
  }

  const counts = [missing.length, duplicateCards, duplicateNotices, duplicateStatus, missingNotes, duplicateNotes];
  const failed = counts.some((n) => n > 0);
  console.log(
    `\n${failed ? 'FAIL' : 'PASS'}: ${counts.join(' / ')}` +
      ' (missing cards / duplicate cards / duplicate escalation notices / duplicate status changes / missing thread notes / duplicate thread notes)',
  );
  if (failed || c.crashes.length > 0 || !idle) keepDir = true;
  if (keepDir) {
    writeFileSync(join(dir, 'slack-messages.json'), JSON.stringify(threads, null, 1));
    writeFileSync(join(dir, 'slack-calls.json'), JSON.stringify(slack.calls));
    writeFileSync(
      join(dir, 'slack-told-users.json'),
      JSON.stringify({ responses: slack.responses(), ephemerals: slack.ephemerals() }, null, 1),
    );
    writeFileSync(join(dir, 'cotool-requests.json'), JSON.stringify(cotool.requests.map(({ headers: _h, ...r }) => r)));
    writeFileSync(
      join(dir, 'cotool-alerts.json'),
      JSON.stringify(
        alerts.map((a) => cotool.getAlert(a.id)),
        null,
        1,
      ),
    );
  }
  return failed ? 1 : 0;
}

let status = 1;
try {
  status = await main();
} catch (err) {
  console.error(`chaos: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  status = 1;
} finally {
  await cleanup();
}
process.exit(status);
