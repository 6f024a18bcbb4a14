/**
 * `npm run doctor` end to end: the real launcher (bin/doctor.mjs) as a child process, against the
 * local fakes of Slack and Cotool and a temp SQLite file, so the exit status and the text are what
 * an operator sees. Every run is given known secret values, and none may appear in its output.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { botScopesOf } from '../../src/doctor/manifest.ts';
import { loadConfig } from '../../src/load-config.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { type FakeCotool, startFakeCotool } from '../e2e/fakes/cotool.ts';
import { type FakeSlack, startFakeSlack } from '../e2e/fakes/slack.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const BOT_TOKEN = 'xoxb-1111111111-2222222222-DoctorBotTokenSecret';
const APP_TOKEN = 'xapp-1-A0TEST-3333333333-0123456789abcdef0123456789abcdef';
const SIGNING_SECRET = '8f3c0d2e9b7a41c6a5e2f1d0c9b8a7e6';
const COTOOL_KEY = 'ck_live_doctor_secret_5f2b9c0e7d';
const SECRETS = [BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, COTOOL_KEY];
const MANIFEST_SCOPES = (() => {
  const r = botScopesOf(readFileSync(join(ROOT, 'manifest.yml'), 'utf8'));
  if (!r.ok) throw new Error(r.problem);
  return r.scopes;
})();

type Run = { code: number | null; stdout: string; stderr: string; lines: string[] };

let slack: FakeSlack;
let cotool: FakeCotool;
let dir: string;
let dbPath: string;

beforeEach(async () => {
  slack = await startFakeSlack({ botToken: BOT_TOKEN, appToken: APP_TOKEN });
  slack.setScopes(MANIFEST_SCOPES);
  cotool = await startFakeCotool({ apiKey: COTOOL_KEY });
  cotool.addAlert();
  dir = mkdtempSync(join(tmpdir(), 'cotool-slack-doctor-'));
  dbPath = join(dir, 'data', 'bot.db');
  // A database the way the bot leaves it: created and migrated by the store itself.
  const store = openSqliteStore(dbPath);
  await store.close();
});

afterEach(async () => {
  await slack.close();
  await cotool.close();
  rmSync(dir, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    COTOOL_API_URL: cotool.url,
    COTOOL_API_KEY: COTOOL_KEY,
    COTOOL_TIMEOUT_MS: '2000',
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_APP_TOKEN: APP_TOKEN,
    SLACK_API_URL: slack.apiUrl,
    SLACK_ALERT_CHANNEL: 'C0ALERTS',
    DATABASE_URL: `sqlite:${dbPath}`,
    ...extra,
  };
}

/** Runs `node bin/doctor.mjs` in the temp directory (no .env of the repository's leaks in). */
function doctor(childEnv: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [join(ROOT, 'bin', 'doctor.mjs')], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', ...childEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => (stdout += String(d)));
    proc.stderr.on('data', (d) => (stderr += String(d)));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
    proc.once('error', reject);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      for (const secret of SECRETS) {
        expect(stdout, 'a secret in stdout').not.toContain(secret);
        expect(stderr, 'a secret in stderr').not.toContain(secret);
      }
      resolve({ code, stdout, stderr, lines: stdout.split('\n').filter((l) => /^[✔✘!] /.test(l)) });
    });
  });
}

const line = (r: Run, name: string) => r.lines.find((l) => l.slice(2).startsWith(name)) ?? '';

describe('npm run doctor', () => {
  it('all green: every check passes, exit 0, and nothing in Slack or Cotool changed', async () => {
    // The configuration comes from .env in the working directory, like `npm start`.
    writeFileSync(
      join(dir, '.env'),
      Object.entries(env())
        .map(([k, v]) => `${k}=${v}`)
        .join('\n'),
    );
    const before = cotool.alerts();
    const r = await doctor({});
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.lines.every((l) => l.startsWith('✔ '))).toBe(true);
    expect(r.lines.map((l) => l.slice(2).split(/\s{2,}/)[0])).toEqual([
      'configuration',
      'Slack bot token',
      'Slack scopes',
      'channel C0ALERTS',
      'Socket Mode',
      'Cotool API',
      'Cotool permissions',
      'store',
    ]);
    expect(line(r, 'Slack bot token')).toMatch(/valid: bot @cotool in Acme \(T0TEST0001\)/);
    expect(line(r, 'Slack scopes')).toContain(`all ${MANIFEST_SCOPES.length} bot scopes of manifest.yml granted`);
    expect(line(r, 'channel C0ALERTS')).toContain('#alerts: the bot is a member');
    expect(line(r, 'Cotool permissions')).toMatch(/may change alert status and edit alerts .*nothing changed/);
    expect(line(r, 'store')).toMatch(/schema v\d+, as this release expects/);
    expect(r.stdout).toMatch(/All 8 checks passed\.\n$/);

    expect(cotool.alerts()).toEqual(before);
    expect(cotool.count('POST')).toBe(1);
    expect(cotool.count('PATCH')).toBe(1);
    expect(slack.calls.map((c) => c.method).sort()).toEqual([
      'apps.connections.open',
      'auth.test',
      'conversations.info',
    ]);
  });

  it('a wrong bot token: the token check fails with a fix, channels are not checked, exit 1', async () => {
    const wrong = 'xoxb-9999999999-8888888888-NotTheRightTokenAtAll';
    const r = await doctor(env({ SLACK_BOT_TOKEN: wrong }));
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain(wrong);
    expect(line(r, 'Slack bot token')).toMatch(
      /^✘ Slack bot token +Slack rejected SLACK_BOT_TOKEN \(invalid_auth\) → fix: copy the Bot User OAuth Token/,
    );
    expect(line(r, 'channels')).toMatch(/^! channels +C0ALERTS not checked: they need a valid bot token/);
    expect(line(r, 'Cotool API')).toMatch(/^✔/);
    expect(r.stdout).toMatch(/1 of \d+ checks failed \(1 warning\): fix them and run npm run doctor again\.\n$/);
  });

  it('a channel the bot is not in: named, with the /invite that fixes it', async () => {
    slack.addChannel('C0SOCNOTIN', { name: 'soc-alerts', member: false });
    const r = await doctor(env({ SLACK_ALERT_CHANNEL: 'C0SOCNOTIN' }));
    expect(r.code).toBe(1);
    expect(line(r, 'channel C0SOCNOTIN')).toMatch(
      /^✘ channel C0SOCNOTIN +#soc-alerts: the bot is not a member → fix: \/invite @cotool in #soc-alerts$/,
    );
  });

  it('routed channels are checked too (when the configuration has routes)', async (ctx) => {
    const routesFile = join(dir, 'routes.yaml');
    writeFileSync(
      routesFile,
      'routes:\n  - name: email\n    match: { source: email }\n    channels: [C0PHISH, C0MISSING]\n',
    );
    const withRoutes = loadConfig(env({ COTOOL_SLACK_ROUTES: routesFile }));
    if (!withRoutes.ok || !('channels' in withRoutes.config)) ctx.skip();
    slack.addChannel('C0PHISH', { name: 'phishing', member: false });
    const r = await doctor(env({ COTOOL_SLACK_ROUTES: routesFile }));
    expect(r.code).toBe(1);
    expect(line(r, 'channel C0ALERTS')).toMatch(/^✔/);
    expect(line(r, 'channel C0PHISH')).toMatch(
      /^✘ .*#phishing: the bot is not a member → fix: \/invite @cotool in #phishing/,
    );
    expect(line(r, 'channel C0MISSING')).toMatch(
      /^✘ .*not found: no such channel, or a private channel the bot is not in/,
    );
  });

  it('a Cotool key without permission: the 403 names what is missing, and no alert changes', async () => {
    cotool.setForbidden(['alert.triage'], { method: 'POST' });
    cotool.setForbidden(['alert.triage'], { method: 'PATCH' });
    const before = cotool.alerts();
    const r = await doctor(env());
    expect(r.code).toBe(1);
    expect(line(r, 'Cotool API')).toMatch(/^✔ Cotool API .*the key can list alerts \(1 in total\)/);
    expect(line(r, 'Cotool permissions')).toMatch(
      /^✘ Cotool permissions +the key may not change alert status or edit alerts: it lacks alert\.triage \(403\).* → fix: ask a Cotool admin to grant alert\.triage/,
    );
    expect(cotool.alerts()).toEqual(before);
  });

  it('a Cotool key that is not accepted (401), and an error body quoting the key: still no secret printed', async () => {
    const wrong = await doctor(env({ COTOOL_API_KEY: 'ck_live_wrong_key_000000' }));
    expect(wrong.code).toBe(1);
    expect(line(wrong, 'Cotool API')).toMatch(
      /^✘ Cotool API +Cotool rejected COTOOL_API_KEY \(401\) → fix: create an API key/,
    );
    expect(wrong.stdout).not.toContain('ck_live_wrong_key_000000');

    cotool.failNext(1, { status: 400, body: { error: `invalid request for key ${COTOOL_KEY}` } }, { method: 'GET' });
    const echoed = await doctor(env());
    expect(echoed.code).toBe(1);
    expect(line(echoed, 'Cotool API')).toMatch(
      /^✘ Cotool API +Cotool answered HTTP 400: invalid request for key \[redacted\]/,
    );
  });

  it('missing scopes are listed by name', async () => {
    slack.setScopes(MANIFEST_SCOPES.filter((s) => s !== 'users:read' && s !== 'links:write'));
    const r = await doctor(env());
    expect(r.code).toBe(1);
    expect(line(r, 'Slack scopes')).toMatch(
      /^✘ Slack scopes +the token lacks users:read, links:write \(manifest\.yml asks for them\) → fix: add the missing scopes under OAuth & Permissions/,
    );
  });

  it('Socket Mode: an app token Slack rejects', async () => {
    const r = await doctor(env({ SLACK_APP_TOKEN: 'xapp-1-A0TEST-4444444444-ffffffffffffffffffffffffffffffff' }));
    expect(r.code).toBe(1);
    expect(line(r, 'Socket Mode')).toMatch(
      /^✘ Socket Mode +Slack rejected SLACK_APP_TOKEN \(invalid_auth\) → fix: generate an app-level token/,
    );
  });

  it('HTTP mode: the signing secret must look like Slack’s', async () => {
    const good = await doctor(env({ SLACK_APP_TOKEN: '', SLACK_SIGNING_SECRET: SIGNING_SECRET }));
    expect(good.code).toBe(0);
    expect(line(good, 'HTTP mode')).toMatch(/^✔ HTTP mode +SLACK_SIGNING_SECRET is well-formed/);
    expect(slack.callsOf('apps.connections.open')).toHaveLength(0);

    const bad = await doctor(env({ SLACK_APP_TOKEN: '', SLACK_SIGNING_SECRET: 'my-signing-secret-oops' }));
    expect(bad.code).toBe(1);
    expect(line(bad, 'HTTP mode')).toMatch(
      /^✘ HTTP mode +SLACK_SIGNING_SECRET is not well-formed .* → fix: copy the Signing Secret/,
    );
    expect(bad.stdout).not.toContain('my-signing-secret-oops');
  });

  it('an invalid configuration: one line per problem, the other checks not run', async () => {
    const r = await doctor(env({ SLACK_ALERT_CHANNEL: '#alerts', COTOOL_API_URL: '' }));
    expect(r.code).toBe(1);
    expect(r.lines.filter((l) => l.startsWith('✘ configuration'))).toEqual([
      expect.stringMatching(/^✘ configuration +COTOOL_API_URL is missing: expected .* → fix: set it in \.env/),
      expect.stringMatching(/^✘ configuration +SLACK_ALERT_CHANNEL is invalid: expected a channel id/),
    ]);
    expect(line(r, 'other checks')).toMatch(/^! other checks +not run/);
    expect(slack.calls).toHaveLength(0);
    expect(cotool.requests).toHaveLength(0);
  });

  it('a store from a newer release fails; a missing one is created at start (a warning)', async () => {
    const newer = join(dir, 'newer.db');
    const store = openSqliteStore(newer);
    await store.close();
    const { DatabaseSync } = await import('node:sqlite');
    const db = new DatabaseSync(newer);
    db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(999, new Date().toISOString());
    db.close();
    const r = await doctor(env({ DATABASE_URL: `sqlite:${newer}` }));
    expect(r.code).toBe(1);
    expect(line(r, 'store')).toMatch(/^✘ store +sqlite:.*newer\.db: schema v999 is newer than this release knows/);

    const fresh = await doctor(env({ DATABASE_URL: `sqlite:${join(dir, 'fresh', 'bot.db')}` }));
    expect(fresh.code).toBe(0);
    expect(line(fresh, 'store')).toMatch(
      /^! store +sqlite:.*bot\.db does not exist yet; the bot creates it when it starts/,
    );
  });
});

describe('npm run doctor: PostgreSQL', () => {
  const PASSWORD = 'pg-Secret-Passw0rd';

  it('a server that does not answer: named with the password masked, and a fix', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 1));
      });
    });
    const r = await doctor(env({ DATABASE_URL: `postgres://cotool:${PASSWORD}@127.0.0.1:${port}/cotool` }));
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain(PASSWORD);
    expect(line(r, 'store')).toBe(
      `✘ store               cannot connect to postgres://cotool:***@127.0.0.1:${port}/cotool (ECONNREFUSED) → fix: start PostgreSQL, or fix the host and port in DATABASE_URL`,
    );
  });

  const testDb = process.env.TEST_DATABASE_URL;
  it.runIf(testDb)('a reachable server passes; a wrong password is refused, and never printed', async () => {
    const url = new URL(testDb ?? '');
    const ok = await doctor(env({ DATABASE_URL: url.toString() }));
    expect(line(ok, 'store')).toMatch(/^[✔!] store +postgres:\/\/[^:]+:\*\*\*@/);
    if (url.password) expect(ok.stdout).not.toContain(url.password);

    url.password = PASSWORD;
    const wrong = await doctor(env({ DATABASE_URL: url.toString() }));
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).not.toContain(PASSWORD);
    expect(line(wrong, 'store')).toMatch(
      /^✘ store +postgres:\/\/[^:]+:\*\*\*@.*: the server refused the user or password \(28P01\) → fix: check the user and password in DATABASE_URL$/,
    );
  });
});
