/**
 * The doctor's store check: the database DATABASE_URL names is reachable and its schema is the one
 * this release expects. It never migrates or writes: SQLite is opened read-only, PostgreSQL is only
 * queried. (The bot migrates an older schema at start; a newer one is refused.)
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { databaseSecrets, maskDatabaseUrl } from '../config.ts';
import { SCHEMA_VERSION as SQLITE_SCHEMA_VERSION } from '../store/sqlite.ts';
import { type CheckResult, fail, ok, warn } from './checklist.ts';

const NAME = 'store';

// One masking rule for the bot and the doctor: src/config.ts.
export { databaseSecrets, maskDatabaseUrl };

export async function checkStore(databaseUrl: string): Promise<CheckResult> {
  if (databaseUrl.startsWith('sqlite:')) {
    return checkSqlite(databaseUrl.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, ''));
  }
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) return checkPostgres(databaseUrl);
  return fail(NAME, 'DATABASE_URL is neither sqlite:<path> nor postgres://…', 'set DATABASE_URL (see .env.example)');
}

/** Compares a database's schema version with this release's. */
function versionResult(where: string, version: number, expected: number): CheckResult {
  if (version === expected) return ok(NAME, `${where}: schema v${version}, as this release expects`);
  if (version < expected) {
    return warn(NAME, `${where}: schema v${version}; the bot migrates it to v${expected} when it starts`);
  }
  return fail(
    NAME,
    `${where}: schema v${version} is newer than this release knows (v${expected})`,
    'run the release that migrated it (or newer), or point DATABASE_URL at another database',
  );
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export function checkSqlite(path: string): CheckResult {
  const where = `sqlite:${path}`;
  const file = resolve(path);
  if (!existsSync(file)) {
    let dir = dirname(file);
    while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
    return writable(dir)
      ? warn(NAME, `${where} does not exist yet; the bot creates it when it starts`)
      : fail(
          NAME,
          `${where} does not exist and cannot be created (${dir} is not writable)`,
          `let the bot's user write ${dir}, or change DATABASE_URL`,
        );
  }
  if (!writable(file) || !writable(dirname(file))) {
    return fail(
      NAME,
      `${where} is not writable by this user (the file and its directory must be)`,
      `fix the owner or mode of ${dirname(file)} and the file, or change DATABASE_URL`,
    );
  }
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(file, { readOnly: true });
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
    if (!tables.some((t) => t.name === 'schema_migrations')) {
      return tables.length === 0
        ? warn(NAME, `${where} is empty; the bot sets it up when it starts`)
        : fail(NAME, `${where} is not a cotool-slack database`, 'point DATABASE_URL at the bot’s own database file');
    }
    const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null } | undefined;
    return versionResult(where, Number(row?.v ?? 0), SQLITE_SCHEMA_VERSION);
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return fail(NAME, `${where} cannot be read: ${reason}`, 'check that it is the bot’s SQLite file and not damaged');
  } finally {
    db?.close();
  }
}

type PostgresModule = { POSTGRES_SCHEMA_VERSION?: unknown };

/** SQLSTATE or Node error code → what it means for DATABASE_URL, and what to do. */
function postgresProblem(err: unknown, where: string): { detail: string; fix: string } {
  const code = String((err as { code?: unknown } | null)?.code ?? '');
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
  if (code === '28P01' || code === '28000') {
    return {
      detail: `${where}: the server refused the user or password (${code})`,
      fix: 'check the user and password in DATABASE_URL',
    };
  }
  if (code === '3D000') {
    return {
      detail: `${where}: the database does not exist (${code})`,
      fix: 'create it (createdb), or fix its name in DATABASE_URL',
    };
  }
  if (
    ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT'].includes(code) ||
    /timeout/i.test(message)
  ) {
    return {
      detail: `cannot connect to ${where} (${code || 'timeout'})`,
      fix: 'start PostgreSQL, or fix the host and port in DATABASE_URL',
    };
  }
  return { detail: `${where}: ${code ? `${code} ` : ''}${message}`, fix: 'check DATABASE_URL and the server' };
}

async function checkPostgres(url: string): Promise<CheckResult> {
  const where = maskDatabaseUrl(url);
  // The PostgreSQL store may not be part of this release: the check says so instead of failing.
  let expected: number | null = null;
  try {
    const mod = (await import(new URL('../store/postgres.ts', import.meta.url).href)) as PostgresModule;
    if (typeof mod.POSTGRES_SCHEMA_VERSION === 'number') expected = mod.POSTGRES_SCHEMA_VERSION;
  } catch {
    expected = null;
  }
  if (expected === null) return warn(NAME, `${where}: postgres check not available in this release`);

  const { default: pg } = await import('pg');
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 5_000,
    query_timeout: 5_000,
    application_name: 'cotool-slack doctor',
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const table = await client.query<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t");
    if (!table.rows[0]?.t) return warn(NAME, `${where}: reachable, no tables yet; the bot migrates it when it starts`);
    const row = await client.query<{ v: number | null }>('SELECT MAX(version)::int AS v FROM schema_migrations');
    return versionResult(where, Number(row.rows[0]?.v ?? 0), expected);
  } catch (err) {
    const p = postgresProblem(err, where);
    return fail(NAME, p.detail, p.fix);
  } finally {
    await client.end().catch(() => undefined);
  }
}
