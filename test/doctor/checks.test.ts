/** The doctor's pure parts: the report, redaction, the manifest's scopes, secret and store checks. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Config, parseConfig } from '../../src/config.ts';
import { exitCode, fail, formatReport, ok, redact, warn } from '../../src/doctor/checklist.ts';
import { botScopesOf, missingScopes, readManifestScopes } from '../../src/doctor/manifest.ts';
import { channelsOf, runDoctor, secretsOf } from '../../src/doctor/run.ts';
import { checkSigningSecret, type SlackDoctorPort } from '../../src/doctor/slack.ts';
import { checkSqlite, databaseSecrets, maskDatabaseUrl } from '../../src/doctor/store.ts';
import { openSqliteStore, SCHEMA_VERSION } from '../../src/store/sqlite.ts';

describe('the report', () => {
  it('one line per check with its mark, names aligned, the fix after failures, then a summary', () => {
    const text = formatReport(
      [
        ok('configuration', 'valid'),
        fail('Slack bot token', 'Slack rejected SLACK_BOT_TOKEN (invalid_auth)', 'copy the token'),
        warn('store', 'does not exist yet'),
      ],
      [],
    );
    expect(text).toBe(
      [
        '✔ configuration    valid',
        '✘ Slack bot token  Slack rejected SLACK_BOT_TOKEN (invalid_auth) → fix: copy the token',
        '! store            does not exist yet',
        '',
        '1 of 3 checks failed (1 warning): fix them and run npm run doctor again.',
        '',
      ].join('\n'),
    );
    expect(formatReport([ok('a', 'b')], [])).toMatch(/\n\nAll 1 checks passed\.\n$/);
  });

  it('a detail that came from outside stays on one line', () => {
    expect(formatReport([fail('x', 'two\nlines\r\tand\u0007bell', 'fix\nit')], [])).toMatch(
      /^✘ x {2}two lines and bell → fix: fix it\n/,
    );
  });

  it('exit status 1 only when a check failed; warnings do not fail the run', () => {
    expect(exitCode([ok('a', ''), warn('b', '')])).toBe(0);
    expect(exitCode([ok('a', ''), fail('b', '', '')])).toBe(1);
  });

  it('redaction: every secret, longest first, however often it appears', () => {
    const secrets = ['xoxb-123-abc', 'xoxb-123-abcdef', 'key-0000'];
    expect(redact('a xoxb-123-abcdef b key-0000 c key-0000', secrets)).toBe('a [redacted] b [redacted] c [redacted]');
    expect(redact('the key is abc', ['abc'])).toBe('the key is abc');
    expect(formatReport([fail('x', 'token xoxb-123-abc leaked', 'rotate xoxb-123-abc')], secrets)).not.toContain(
      'xoxb-123-abc',
    );
  });

  it('secretsOf: the raw and trimmed value of every secret variable and a database password', () => {
    const s = secretsOf({
      SLACK_BOT_TOKEN: ' xoxb-1 ',
      SLACK_APP_TOKEN: '',
      COTOOL_API_KEY: 'ck',
      DATABASE_URL: 'postgres://bot:p%40ss@db:5432/cotool',
    });
    expect(s).toEqual(expect.arrayContaining([' xoxb-1 ', 'xoxb-1', 'ck', 'p%40ss', 'p@ss']));
  });
});

describe('manifest scopes', () => {
  it('reads oauth_config.scopes.bot from the repository manifest', async () => {
    const r = await readManifestScopes();
    expect(r).toEqual({ ok: true, scopes: expect.arrayContaining(['chat:write', 'channels:read', 'users:read']) });
    const text = readFileSync(join(import.meta.dirname, '..', '..', 'manifest.yml'), 'utf8');
    expect(botScopesOf(text)).toEqual(r);
  });

  it('refuses a manifest without bot scopes, or not YAML', () => {
    expect(botScopesOf('oauth_config: {}')).toEqual({ ok: false, problem: 'no oauth_config.scopes.bot list' });
    expect(botScopesOf('a: [b')).toMatchObject({ ok: false, problem: expect.stringMatching(/^not valid YAML/) });
    expect(botScopesOf('oauth_config:\n  scopes:\n    bot: [1, 2]')).toMatchObject({ ok: false });
  });

  it('missing scopes keep the manifest order; extra granted scopes do not matter', () => {
    expect(missingScopes(['a', 'b', 'c'], ['c', 'x', ' a'])).toEqual(['b']);
    expect(missingScopes(['a'], ['a', 'b'])).toEqual([]);
  });
});

describe('HTTP mode signing secret', () => {
  it('32 hexadecimal characters, like Slack’s; the value itself is never in the result', () => {
    expect(checkSigningSecret('8f3c0d2e9b7a41c6a5e2f1d0c9b8a7e6')).toMatchObject({ status: 'ok' });
    for (const bad of ['8F3C0D2E9B7A41C6A5E2F1D0C9B8A7E6', 'short', 'xoxb-8f3c0d2e9b7a41c6a5e2f1d0c9b8a7']) {
      const r = checkSigningSecret(bad);
      expect(r.status).toBe('fail');
      expect(JSON.stringify(r)).not.toContain(bad);
    }
    expect(checkSigningSecret(null)).toMatchObject({ status: 'fail', detail: 'SLACK_SIGNING_SECRET is not set' });
  });
});

describe('database URLs', () => {
  it('masks the password of a postgres URL, and knows it as a secret', () => {
    expect(maskDatabaseUrl('postgres://bot:s3cr%2Ft@db.internal:5432/cotool?sslmode=require')).toBe(
      'postgres://bot:***@db.internal:5432/cotool?sslmode=require',
    );
    expect(maskDatabaseUrl('postgresql://db/cotool?password=hunter22')).toBe('postgresql://db/cotool?password=***');
    expect(maskDatabaseUrl('sqlite:./data/x.db')).toBe('sqlite:./data/x.db');
    expect(databaseSecrets('postgres://bot:s3cr%2Ft@db/cotool')).toEqual(['s3cr%2Ft', 's3cr/t']);
    expect(databaseSecrets('sqlite:./x.db')).toEqual([]);
  });
});

describe('SQLite store check (read-only)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cotool-slack-doctor-store-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('current schema: ok; the file is left as it was', async () => {
    const path = join(dir, 'bot.db');
    await openSqliteStore(path).close();
    const before = readFileSync(path);
    expect(checkSqlite(path)).toMatchObject({
      status: 'ok',
      detail: expect.stringContaining(`schema v${SCHEMA_VERSION}`),
    });
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('older schema: a warning (the bot migrates it at start); newer: a failure', async () => {
    const path = join(dir, 'bot.db');
    await openSqliteStore(path).close();
    const db = new DatabaseSync(path);
    db.exec(`DELETE FROM schema_migrations WHERE version = ${SCHEMA_VERSION}`);
    db.close();
    expect(checkSqlite(path)).toMatchObject({ status: 'warn', detail: expect.stringMatching(/migrates it to v\d+/) });
    const db2 = new DatabaseSync(path);
    db2.exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (${SCHEMA_VERSION + 5}, 'x')`);
    db2.close();
    expect(checkSqlite(path)).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/newer than this release/),
    });
  });

  it('not the bot’s database, empty, missing, or not SQLite at all', () => {
    const other = join(dir, 'other.db');
    const db = new DatabaseSync(other);
    db.exec('CREATE TABLE invoices (id INTEGER)');
    db.close();
    expect(checkSqlite(other)).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/not a cotool-slack database/),
    });

    const empty = join(dir, 'empty.db');
    new DatabaseSync(empty).close();
    expect(checkSqlite(empty)).toMatchObject({ status: 'warn', detail: expect.stringMatching(/is empty/) });

    expect(checkSqlite(join(dir, 'sub', 'new.db'))).toMatchObject({
      status: 'warn',
      detail: expect.stringMatching(/does not exist yet/),
    });

    const junk = join(dir, 'junk.db');
    writeFileSync(junk, 'this is not a database'.repeat(100));
    expect(checkSqlite(junk)).toMatchObject({ status: 'fail', detail: expect.stringMatching(/cannot be read/) });
  });
});

describe('runDoctor with stub ports', () => {
  const env = {
    COTOOL_API_URL: 'https://cotool.example',
    COTOOL_API_KEY: 'ck_test_key_123456',
    SLACK_BOT_TOKEN: 'xoxb-1-2-stub',
    SLACK_APP_TOKEN: 'xapp-1-A1-2-abc',
    SLACK_ALERT_CHANNEL: 'C0ALERTS',
    DATABASE_URL: 'sqlite::memory-not-a-file:',
  };

  it('channels: the alert channel first, then routed ones, each once', () => {
    const parsed = parseConfig(env);
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    const withRoutes = { ...parsed.config, routes: [{ channels: ['C0B', 'C0ALERTS'] }, { channels: ['C0C'] }] };
    delete (withRoutes as { channels?: unknown }).channels;
    expect(channelsOf(withRoutes as unknown as Config)).toEqual(['C0ALERTS', 'C0B', 'C0C']);
  });

  it('a Slack that cannot be reached and a Cotool that times out are failures with fixes, not crashes', async () => {
    const down = Object.assign(new Error('connect ECONNREFUSED'), {
      code: 'slack_webapi_request_error',
      original: { name: 'Error', cause: { code: 'ECONNREFUSED' } },
    });
    const slack: SlackDoctorPort = {
      authTest: () => Promise.reject(down),
      channelInfo: () => Promise.reject(down),
      openConnection: () => Promise.reject(down),
    };
    const { CotoolError } = await import('../../src/cotool/errors.ts');
    const timeout = new CotoolError({ kind: 'timeout', method: 'GET', path: '/api/alerts', detail: 'after 2000 ms' });
    const run = await runDoctor(env, {
      slack: () => slack,
      cotool: () => ({
        listAlerts: () => Promise.reject(timeout),
        updateStatus: () => Promise.reject(timeout),
        updateDetails: () => Promise.reject(timeout),
      }),
      manifest: async () => ({ ok: true, scopes: ['chat:write'] }),
    });
    const byName = Object.fromEntries(run.results.map((r) => [r.name, r]));
    expect(byName['Slack bot token']).toMatchObject({
      status: 'fail',
      detail: 'could not be checked: Slack did not answer (ECONNREFUSED)',
      fix: expect.stringMatching(/network or proxy/),
    });
    expect(byName['Socket Mode']).toMatchObject({ status: 'fail', detail: expect.stringMatching(/ECONNREFUSED/) });
    expect(byName['Cotool API']).toMatchObject({
      status: 'fail',
      detail: 'https://cotool.example did not answer in time',
      fix: expect.stringMatching(/COTOOL_TIMEOUT_MS/),
    });
    expect(exitCode(run.results)).toBe(1);
  });
});
