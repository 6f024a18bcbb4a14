/**
 * The kill test: `npm run chaos` (a script that prints numbers, not a timed test).
 *
 *   npm run chaos                 # 500 alerts, 50 SIGKILLs, about 4 minutes
 *   npm run chaos -- --quick      # 80 alerts, 8 SIGKILLs, about 1 minute (smoke run)
 *   npm run chaos -- --seed=123   # replay the same schedule (the interleaving still varies)
 *   npm run chaos -- --keep       # keep the replicas' logs even when the run passes
 *   npm run chaos -- --storms     # storms on: most alerts go to digests (see below)
 *   CHAOS_LOG_LEVEL=info npm run chaos -- --keep   # the replicas log more (default warn)
 *
 * Two bot replicas (`node src/main.ts`, Socket Mode) share a throwaway PostgreSQL and work against the
 * local fakes of Cotool and Slack, all on 127.0.0.1. Slack enforces its rate limits (posts per channel
 * with a small burst, updates per minute), answers with latency, and now and then stores a message but
 * answers 500; Cotool's reads are slow-ish. Meanwhile alerts arrive in bursts, about 10 % are escalated
 * and 6 % re-rated in Cotool later, analysts close about 10 % of the carded alerts as false positive
 * and escalate 4 % from their cards (some clicked twice, over both replicas), and the replicas are
 * SIGKILLed and restarted at random — sometimes the leader on purpose.
 * When all is quiet again (outbox empty, the last Cotool change polled) the replicas are stopped and
 * the script counts what Slack and Cotool ended up with: missing cards, duplicate cards, duplicate
 * escalation notices and duplicate status changes. Exit status 0 when all four are 0, else 1.
 *
 * Storms are off (STORM_THRESHOLD=100000): every alert must get a card of its own, the strictest count.
 * With --storms they are on (threshold 20, 20 cards a storm, 30 s quiet): an alert then counts as
 * represented when it has a card or belongs to a storm whose digest is in Slack, and a second digest
 * of one storm counts as a duplicate card.
 *
 * PostgreSQL: `.ci/postgres.sh start` (stopped and removed afterwards), or — when CHAOS_DATABASE_URL,
 * TEST_DATABASE_URL or a postgres:// DATABASE_URL is set — a scratch database created on that server
 * (its role needs CREATEDB) and dropped afterwards. Everything started here is stopped on exit, on
 * failure and on Ctrl-C.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { ACTIONS } from '../src/slack/ids.ts';
import { COTOOL_TEST_API_KEY, startFakeCotool } from '../test/e2e/fakes/cotool.ts';
import { blockActionsPayload } from '../test/e2e/fakes/payloads.ts';
import { type FakeSlack, type SlackMessage, type SlackUser, startFakeSlack } from '../test/e2e/fakes/slack.ts';

type Obj = Record<string, unknown>;

const ROOT = join(import.meta.dirname, '..');
const MAIN = join(ROOT, 'src', 'main.ts');
const CHANNEL = 'C0ALERTS';
const POLL_MS = 2_000;
const CLAIM_STALE_MS = 30_000; // the floor the config accepts (src/notify/claim-budget.ts): a live sender is never overtaken
const JANE: SlackUser = { id: 'U0JANE', name: 'jane', real_name: 'Jane Doe', display_name: 'Jane Doe' };
const BOB: SlackUser = { id: 'U0BOB', name: 'bob', real_name: 'Bob Roe', display_name: 'Bob' };

// ---------------------------------------------------------------------------------------------
// Parameters

const argv = process.argv.slice(2);
const unknownArg = argv.find((a) => !/^--(quick|keep|storms|seed=\d+)$/.test(a));
if (unknownArg) {
  console.error(`chaos: unknown argument ${unknownArg} (use --quick, --keep, --storms, --seed=N)`);
  process.exit(2);
}
const QUICK = argv.includes('--quick');
const STORMS = argv.includes('--storms');
const KEEP = argv.includes('--keep');
const SEED = Number(argv.find((a) => a.startsWith('--seed='))?.slice(7) ?? Math.floor(Math.random() * 2 ** 31));
const P = QUICK
  ? { alerts: 80, kills: 8, runMs: 30_000, settleMs: 75_000 }
  : { alerts: 500, kills: 50, runMs: 150_000, settleMs: 110_000 };
const ESCALATE_SHARE = 0.1;
/** Severity changed in Cotool by an agent: a card update and a timeline note in the card's thread. */
const RESEVERITY_SHARE = 0.06;
const CLICK_SHARE = 0.1;
/** Escalated from the card: the analyst's thread note says so; on-call must not be paged for it. */
const SLACK_ESCALATE_SHARE = 0.04;
const DOUBLE_CLICK_SHARE = 0.4;
const LEADER_KILL_SHARE = 0.3;
const FAIL_AFTER_COMMIT_ODDS = 1 / 30;
const SLACK_LIMITS = { postPerSecond: 20, postBurst: 5, updatesPerMinute: 60, updateBurst: 5 };

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

type Replica = {
  name: string;
  proc: ChildProcess | null;
  port: number;
  exited: Promise<void>;
  /** We are ending it (SIGKILL or SIGTERM): its exit is not a crash. */
  ending: boolean;
  starts: number;
  restartTimer: NodeJS.Timeout | null;
};

type Counters = {
  kills: number;
  leaderKills: number;
  crashes: string[];
  alertsAdded: number;
  escalations: number;
  reassessed: number;
  intents: number;
  doubleClicks: number;
  deliveries: number;
  acked: number;
  reclicks: number;
  clickErrors: number;
  failAfterCommitArmed: number;
};

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'cotool-chaos-'));
  let keepDir = KEEP;
  cleanups.push({
    name: 'temp directory',
    run: () => {
      if (keepDir) console.log(`replica logs kept in ${dir}`);
      else rmSync(dir, { recursive: true, force: true });
    },
  });
  const mode = `${QUICK ? 'quick' : 'full'}${STORMS ? ', storms on' : ''}`;
  console.log(
    `cotool-slack chaos (${mode}, seed ${SEED}): ${P.alerts} alerts, ${P.kills} SIGKILLs over ${P.runMs / 1000} s, ` +
      'two replicas on PostgreSQL, fake Cotool + fake Slack on 127.0.0.1',
  );

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

  const botEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    COTOOL_API_URL: cotool.url,
    COTOOL_API_KEY: COTOOL_TEST_API_KEY,
    COTOOL_TIMEOUT_MS: '5000',
    SLACK_BOT_TOKEN: slack.botToken,
    SLACK_APP_TOKEN: slack.appToken,
    SLACK_API_URL: slack.apiUrl,
    SLACK_ALERT_CHANNEL: CHANNEL,
    DATABASE_URL: db.url,
    LOG_LEVEL: process.env.CHAOS_LOG_LEVEL || 'warn',
    POLL_SCHEDULE: `*/${POLL_MS / 1000} * * * * *`,
    SLACK_POST_RATE: String(SLACK_LIMITS.postPerSecond),
    SLACK_POST_BURST: String(SLACK_LIMITS.postBurst),
    SLACK_UPDATE_RATE: String(SLACK_LIMITS.updatesPerMinute - 10),
    BACKLOG: 'all',
    ...(STORMS ? { STORM_QUIET_MINUTES: '0.5' } : { STORM_THRESHOLD: '100000' }),
    ESCALATION_MENTION: 'S0ONCALL',
    COTOOL_SLACK_CLAIM_STALE_MS: String(CLAIM_STALE_MS),
  };

  const c: Counters = {
    kills: 0,
    leaderKills: 0,
    crashes: [],
    alertsAdded: 0,
    escalations: 0,
    reassessed: 0,
    intents: 0,
    doubleClicks: 0,
    deliveries: 0,
    acked: 0,
    reclicks: 0,
    clickErrors: 0,
    failAfterCommitArmed: 0,
  };

  const replicas: Replica[] = ['A', 'B'].map((name) => ({
    name,
    proc: null,
    port: 0,
    exited: Promise.resolve(),
    ending: false,
    starts: 0,
    restartTimer: null,
  }));
  let stopping = false;

  async function startReplica(r: Replica): Promise<void> {
    if (stopping || r.proc) return;
    r.port = await freePort();
    const log = openSync(join(dir, `replica-${r.name}.log`), 'a');
    // Its own working directory: a developer's .env in the repository must not leak in.
    const proc = spawn(process.execPath, [MAIN], {
      cwd: dir,
      env: { ...botEnv, PORT: String(r.port) },
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    r.proc = proc;
    r.ending = false;
    r.starts++;
    r.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        if (r.proc === proc) r.proc = null;
        if (!r.ending) {
          c.crashes.push(`replica ${r.name} exited on its own (code ${code}, signal ${signal}) at ${elapsed().trim()}`);
          scheduleRestart(r, 1_000);
        }
        resolve();
      });
    });
  }

  function scheduleRestart(r: Replica, ms: number): void {
    if (stopping || r.restartTimer) return;
    r.restartTimer = setTimeout(() => {
      r.restartTimer = null;
      void startReplica(r);
    }, ms);
  }

  async function endReplica(r: Replica, signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    const proc = r.proc;
    if (!proc) return;
    r.ending = true;
    proc.kill(signal);
    await Promise.race([r.exited, sleep(signal === 'SIGTERM' ? 12_000 : 5_000)]);
    if (r.proc === proc) {
      proc.kill('SIGKILL');
      await Promise.race([r.exited, sleep(5_000)]);
    }
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

  async function isLeader(r: Replica): Promise<boolean> {
    if (!r.proc) return false;
    try {
      const res = await fetch(`http://127.0.0.1:${r.port}/metrics`, { signal: AbortSignal.timeout(1_000) });
      return /^cotool_slack_leader 1$/m.test(await res.text());
    } catch {
      return false;
    }
  }

  // ---- start both, wait for their Socket Mode connections

  await Promise.all(replicas.map(startReplica));
  for (const deadline = Date.now() + 30_000; slack.socketClients < 2; await sleep(100)) {
    if (Date.now() > deadline) throw new Error('the two replicas did not connect to the fake Slack within 30 s');
  }
  say('both replicas connected (Socket Mode); starting the storm');

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
  let lastChangeAt = Date.now();

  // Alerts in bursts over the first 70 % of the run.
  async function produce(): Promise<void> {
    const bursts: number[] = [];
    for (let left = P.alerts; left > 0; ) {
      const n = Math.min(left, between(1, 40));
      bursts.push(n);
      left -= n;
    }
    const times = bursts.map(() => at(rnd() * 0.7)).sort((a, b) => a - b);
    const severities = ['low', 'medium', 'high', 'critical'] as const;
    for (const [i, n] of bursts.entries()) {
      await sleep(Math.max(0, (times[i] ?? 0) - Date.now()));
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

  /** One click on a card's button, to the nth connected replica; false when no replica acknowledged it. */
  async function deliver(user: SlackUser, ts: string, actionId: string, client: number): Promise<boolean> {
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
    try {
      await slack.sendEnvelope('interactive', payload, { timeoutMs: 5_000, client });
      c.acked++;
      return true;
    } catch {
      c.clickErrors++;
      return false;
    }
  }

  /** A click intent: one analyst (or two, or one clicking twice) pressing a card's button. */
  async function intent(alertId: string, ts: string, actionId: string): Promise<void> {
    clicked.set(alertId, actionId);
    c.intents++;
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
    // No answer (the replica died under the click): the analyst clicks again on the card as it is.
    for (let attempt = 0; !ok && attempt < 2 && !stopping; attempt++) {
      await sleep(between(1_000, 3_000));
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

  // SIGKILLs spread over the run; a killed replica comes back after a short random delay.
  async function kill(): Promise<void> {
    const times = Array.from({ length: P.kills }, (_, i) => runStart + ((i + rnd()) * P.runMs) / P.kills);
    for (const when of times) {
      await sleep(Math.max(0, when - Date.now()));
      // Bounded: at most 10 s for a replica to be up again.
      let up = replicas.filter((r) => r.proc);
      for (let i = 0; up.length === 0 && i < 100; i++) {
        await sleep(100);
        up = replicas.filter((r) => r.proc);
      }
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

  // Slack's latency varies; now and then a post is stored but answered 500 (about 1 in 30 posts).
  async function faults(): Promise<void> {
    let scanned = 0;
    while (Date.now() < runEnd && !stopping) {
      const calls = slack.calls;
      let pending = c.failAfterCommitArmed - injected500(slack);
      for (; scanned < calls.length; scanned++) {
        if (calls[scanned]?.method !== 'chat.postMessage') continue;
        if (pending <= 0 && rnd() < FAIL_AFTER_COMMIT_ODDS) {
          slack.failAfterCommit('chat.postMessage', 1, 500);
          c.failAfterCommitArmed++;
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

  async function progress(): Promise<void> {
    while (Date.now() < runEnd && !stopping) {
      await sleep(Math.min(15_000, Math.max(0, runEnd - Date.now())));
      await report('storm');
    }
  }

  async function report(phase: string): Promise<void> {
    const outbox = await count('SELECT count(*) AS n FROM outbox').catch(() => Number.NaN);
    const up = replicas.map((r) => `${r.name}:${r.proc ? 'up' : 'down'}`).join(' ');
    say(
      `${phase}: alerts ${c.alertsAdded}/${P.alerts}, cards ${cardsByAlert().size}, escalated ${c.escalations}, ` +
        `click intents ${c.intents}, kills ${c.kills}/${P.kills}, outbox ${outbox}, ${up}`,
    );
  }

  await Promise.all([produce(), escalate(), reassess(), click(), kill(), faults(), progress()]);
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
  const settleDeadline = Date.now() + P.settleMs;
  let emptySince: number | null = null;
  let idle = false;
  let lastReport = Date.now();
  while (Date.now() < settleDeadline) {
    const outbox = await count('SELECT count(*) AS n FROM outbox').catch(() => -1);
    const lastCotoolWrite = Math.max(
      lastChangeAt,
      ...cotool.requests.filter((r) => r.method !== 'GET').map((r) => r.at),
    );
    const polledSince = cotool.requests.some(
      (r) => r.method === 'GET' && r.path === '/api/alerts' && r.at > lastCotoolWrite + 200,
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
  say(idle ? 'idle: outbox empty and the last Cotool change polled' : `NOT idle after ${P.settleMs / 1000} s`);
  stopping = true;
  await Promise.all(replicas.map((r) => endReplica(r, 'SIGTERM')));

  // ---- count

  const alerts = cotool.alerts();
  const cards = cardsByAlert();
  // Storms: a digest in Slack stands for the alerts of its storm.
  const digests = new Map<string, number>();
  for (const m of slack.messages(CHANNEL)) {
    if (m.metadata?.event_type !== 'cotool_digest') continue;
    const id = String(m.metadata.event_payload.storm_id);
    digests.set(id, (digests.get(id) ?? 0) + 1);
  }
  const digested = new Set(
    (await pool.query('SELECT storm_id, alert_id FROM storm_members')).rows
      .filter((r) => digests.has(String(r.storm_id)))
      .map((r) => String(r.alert_id)),
  );
  const missing = alerts.filter((a) => !cards.has(a.id) && !digested.has(a.id));
  const duplicateDigests = [...digests.values()].reduce((n, k) => n + k - 1, 0);
  const duplicateCards = [...cards.values()].reduce((n, refs) => n + refs.length - 1, 0) + duplicateDigests;
  const strays = [...cards.keys()].filter((id) => !alerts.some((a) => a.id === id)).length;

  const notices = new Map<string, number>();
  const threads = slack.messages(CHANNEL);
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
  const tsMs = (ts: string) => Number(ts) * 1000;
  const statusOf = new Map(alerts.map((a) => [a.id, a.status]));
  const unannounced = [...escalated].filter((id) => {
    const first = cards.get(id)?.[0];
    return first && tsMs(first.ts) < (escalatedAt.get(id) ?? 0) && !notices.has(id);
  });
  const missedPages = unannounced.filter((id) => statusOf.get(id) === 'escalated').length;

  const statusPosts = new Map<string, number>();
  for (const r of cotool.requests) {
    const id = r.method === 'POST' ? /^\/api\/alerts\/([^/]+)\/status$/.exec(r.path)?.[1] : undefined;
    if (id) statusPosts.set(id, (statusPosts.get(id) ?? 0) + 1);
  }
  let duplicateStatus = 0;
  for (const [id, n] of statusPosts) duplicateStatus += clicked.has(id) ? n - 1 : n;
  const closedFromSlack = alerts.filter((a) => a.status === 'closed_false_positive').length;
  const intentsOf = (actionId: string) => [...clicked].filter(([, a]) => a === actionId).map(([id]) => id);
  const escalatedFromSlack = intentsOf(ACTIONS.escalate).filter((id) => statusPosts.has(id));
  // On-call paged for an escalation an analyst made from the card (its thread note says so already).
  const slackPages = escalatedFromSlack.filter((id) => notices.has(id)).length;

  // Not counted in the verdict, shown for the reader: cards whose buttons disagree with the alert's
  // status at the end (a rolled-back card), and the click's thread notes (at most one per change).
  const has = (msg: SlackMessage | undefined, actionId: string) => buttonValue(msg, actionId) !== null;
  const staleCards = alerts.filter((a) => {
    const msg = cards.get(a.id)?.[0]?.msg;
    if (!msg) return false;
    if (a.status.startsWith('closed_')) return has(msg, ACTIONS.closeFp) || !has(msg, ACTIONS.reopen);
    return !has(msg, ACTIONS.closeFp) || has(msg, ACTIONS.escalate) !== (a.status !== 'escalated');
  }).length;
  const notesByAlert = new Map<string, number>();
  for (const t of threads) {
    if (t.metadata?.event_type !== 'cotool_alert') continue;
    const id = String(t.metadata.event_payload.alert_id);
    // A click's thread note goes through the outbox: metadata cotool_note with a `reply:` key.
    const n = t.replies.filter(
      (r) => r.metadata?.event_type === 'cotool_note' && String(r.metadata.event_payload.key).startsWith('reply:'),
    ).length;
    if (n > 0) notesByAlert.set(id, (notesByAlert.get(id) ?? 0) + n);
  }
  // One note per change (its key names the alert and the version the change made): the same key twice is a duplicate.
  let duplicateNotes = 0;
  for (const t of threads) {
    const keys = t.replies
      .filter(
        (r) => r.metadata?.event_type === 'cotool_note' && String(r.metadata.event_payload.key).startsWith('reply:'),
      )
      .map((r) => String(r.metadata?.event_payload.key));
    duplicateNotes += keys.length - new Set(keys).size;
  }
  // Timeline notes (cotool_note) carry a key: the same key twice in a thread is a duplicate.
  let timelineNotes = 0;
  let duplicateTimelineNotes = 0;
  for (const t of threads) {
    const keys = t.replies
      .filter(
        (r) => r.metadata?.event_type === 'cotool_note' && !String(r.metadata.event_payload.key).startsWith('reply:'),
      )
      .map((r) => String(r.metadata?.event_payload.key));
    timelineNotes += keys.length;
    duplicateTimelineNotes += keys.length - new Set(keys).size;
  }
  const changedFromSlack = [...statusPosts.keys()].filter((id) => clicked.has(id)).length;
  const missingNotes = [...statusPosts.keys()].filter((id) => clicked.has(id) && !notesByAlert.has(id)).length;

  const rateLimited = slack.calls.filter((x) => x.result.status === 429).length;
  const fiveHundreds = injected500(slack);
  const cardStates = (await pool.query('SELECT state, count(*) AS n FROM cards GROUP BY state ORDER BY state')).rows
    .map((r) => `${r.state} ${r.n}`)
    .join(', ');
  const outboxLeft = await count('SELECT count(*) AS n FROM outbox');

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
        ? `storms on: ${digested.size} alerts represented by ${digests.size} digests, the others need a card`
        : 'storms off: every alert needs a card of its own',
    ],
    [
      'duplicate cards',
      duplicateCards,
      [STORMS ? `${duplicateDigests} of them digests` : '', strays ? `${strays} cards of unknown alerts` : '']
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
      `${[...statusPosts.values()].reduce((a, b) => a + b, 0)} status POSTs, ${closedFromSlack} closed; ` +
        `${c.doubleClicks} double clicks over both replicas, ${c.reclicks} re-clicks after no ack`,
    ],
    [
      'kills (SIGKILL)',
      c.kills,
      `${c.leaderKills} of the leader on purpose; ${replicas.map((r) => `${r.name} started ${r.starts}×`).join(', ')}`,
    ],
    [
      '429s seen',
      rateLimited,
      `Slack limits: ${SLACK_LIMITS.postPerSecond} posts/s per channel (burst ${SLACK_LIMITS.postBurst}), ${SLACK_LIMITS.updatesPerMinute} updates/min`,
    ],
    ['5xx-after-commit injected', fiveHundreds, 'chat.postMessage stored, answered 500'],
    [
      'wall time',
      `${Math.floor(wall / 60)}m${String(wall % 60).padStart(2, '0')}s`,
      idle ? '' : `not idle: ${outboxLeft} outbox items left`,
    ],
    ['(info) stale cards', staleCards, 'buttons disagree with the alert status at the end'],
    [
      '(info) click thread notes',
      [...notesByAlert.values()].reduce((a, b) => a + b, 0),
      `for ${changedFromSlack} changes from Slack: ${duplicateNotes} duplicate, ${missingNotes} missing`,
    ],
    ['(info) timeline notes', timelineNotes, `${duplicateTimelineNotes} duplicate (same key twice in a thread)`],
  ];
  console.log('');
  for (const [name, value, note] of rows) {
    console.log(`  ${name.padEnd(30)} ${String(value).padStart(6)}${note ? `   ${note}` : ''}`);
  }
  for (const crash of c.crashes) console.log(`  ! ${crash}`);
  if (missing.length > 0) {
    console.log(
      `  missing: ${missing
        .slice(0, 10)
        .map((a) => `${a.displayId} (${a.status})`)
        .join(', ')}`,
    );
  }
  const failed = missing.length + duplicateCards + duplicateNotices + duplicateStatus > 0;
  console.log(
    `\n${failed ? 'FAIL' : 'PASS'}: ${missing.length} / ${duplicateCards} / ${duplicateNotices} / ${duplicateStatus}` +
      ' (missing cards / duplicate cards / duplicate escalation notices / duplicate status changes)',
  );
  if (failed || c.crashes.length > 0 || !idle) keepDir = true;
  return failed ? 1 : 0;
}

/** chat.postMessage calls the fake stored but answered 500 (only failAfterCommit makes those here). */
function injected500(slack: FakeSlack): number {
  return slack.calls.filter((x) => x.method === 'chat.postMessage' && x.result.status === 500).length;
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
