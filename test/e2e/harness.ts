/**
 * End-to-end harness: local fakes of Cotool and Slack on 127.0.0.1, a temp SQLite file, and the real
 * bot started in-process (`startBot`) or as a child process (`node src/main.ts`, what `npm start` runs).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type Bot, type BotOptions, startBot } from '../../src/bot.ts';
import { COTOOL_TEST_API_KEY, type FakeCotool, startFakeCotool } from './fakes/cotool.ts';
import { type FakeSlack, startFakeSlack } from './fakes/slack.ts';

export const CHANNEL = 'C0ALERTS';
export const SIGNING_SECRET = 'e2e-signing-secret-0123456789';

export async function freePort(): Promise<number> {
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

export type Stack = {
  cotool: FakeCotool;
  slack: FakeSlack;
  dbPath: string;
  env(mode: 'socket' | 'http', extra?: Record<string, string>): Promise<Record<string, string>>;
  start(mode: 'socket' | 'http', extra?: Record<string, string>, options?: BotOptions): Promise<StartedBot>;
  spawn(env: Record<string, string>): ChildBot;
  close(): Promise<void>;
};
export type StartedBot = Bot & { port: number; logs: string[] };

export type ChildBot = {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
};

export async function startStack(): Promise<Stack> {
  const cotool = await startFakeCotool();
  const slack = await startFakeSlack();
  const dir = mkdtempSync(join(tmpdir(), 'cotool-slack-e2e-'));
  const dbPath = join(dir, 'bot.db');
  const bots: Bot[] = [];
  const children: ChildProcess[] = [];

  const env = async (mode: 'socket' | 'http', extra: Record<string, string> = {}) => ({
    COTOOL_API_URL: cotool.url,
    COTOOL_API_KEY: COTOOL_TEST_API_KEY,
    COTOOL_TIMEOUT_MS: '2000',
    SLACK_BOT_TOKEN: slack.botToken,
    ...(mode === 'socket' ? { SLACK_APP_TOKEN: slack.appToken } : { SLACK_SIGNING_SECRET: SIGNING_SECRET }),
    SLACK_API_URL: slack.apiUrl,
    SLACK_ALERT_CHANNEL: CHANNEL,
    DATABASE_URL: `sqlite:${dbPath}`,
    PORT: String(await freePort()),
    LOG_LEVEL: 'debug',
    // Slack's pace is tested where it matters (storms); elsewhere the sender may go fast.
    SLACK_POST_RATE: '50',
    SLACK_POST_BURST: '50',
    SLACK_UPDATE_RATE: '600',
    BACKLOG: 'all',
    // Reminders are tested where they matter (take.test.ts, with a wait of seconds); elsewhere a
    // critical card's held reminder would be one more item in outboxes the tests expect empty.
    REMIND_AFTER_MINUTES: '0',
    ...extra,
  });

  return {
    cotool,
    slack,
    dbPath,
    env,
    async start(mode, extra = {}, options = {}) {
      const e = await env(mode, extra);
      const logs: string[] = [];
      const connectionsBefore = slack.socketConnections;
      const bot = await startBot(e, {
        schedule: false,
        retryBaseMs: 20,
        slack: { retryConfig: { retries: 3, factor: 1, minTimeout: 50, maxTimeout: 200 } },
        logDestination: new Writable({
          write(chunk, _enc, cb) {
            logs.push(String(chunk));
            cb();
          },
        }),
        ...options,
      });
      bots.push(bot);
      if (mode === 'socket') await slack.socketConnected({ nth: connectionsBefore + 1 });
      return Object.assign(bot, { port: Number(e.PORT), logs });
    },
    spawn(childEnv) {
      const started = Date.now();
      // Run from the temp dir: a developer's own .env in the repository must not leak into the test.
      const proc = spawn(process.execPath, [join(import.meta.dirname, '..', '..', 'src', 'main.ts')], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', ...childEnv },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(proc);
      let out = '';
      let err = '';
      proc.stdout?.on('data', (d) => (out += String(d)));
      proc.stderr?.on('data', (d) => (err += String(d)));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((resolve) =>
        proc.once('exit', (code, signal) => resolve({ code, signal, ms: Date.now() - started })),
      );
      return { proc, stdout: () => out, stderr: () => err, exited };
    },
    async close() {
      for (const b of bots) await b.stop().catch(() => undefined);
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await slack.close();
      await cotool.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a truthy value or the time runs out. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 5_000, stepMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
