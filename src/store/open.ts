/**
 * Opens the store `DATABASE_URL` names: SQLite (embedded default) or PostgreSQL. A database that
 * cannot be opened at start is one line naming DATABASE_URL, its password masked.
 */
import pg from 'pg';
import { type Config, maskDatabaseUrl } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../ports.ts';
import { openPostgresStore } from './postgres.ts';
import { openSqliteStore } from './sqlite.ts';

/**
 * A problem the operator must fix before the bot can start; its message is the one line printed.
 * (bot.ts may re-export this class as its StartupError; main.ts prints the first line of any error.)
 */
export class StartupError extends Error {}

export type StoreConfig = Pick<Config, 'database'> & { slack?: Pick<Config['slack'], 'alertChannel'> };

export type OpenStoreOptions = {
  /** How long to wait for PostgreSQL at start (default 10 s). */
  connectTimeoutMs?: number;
};

export async function openStore(config: StoreConfig, logger: Logger, options: OpenStoreOptions = {}): Promise<Store> {
  const db = config.database;
  const log = logger.child({ module: 'store' });
  if (db.kind === 'sqlite') {
    try {
      const store = openSqliteStore(db.path, { legacyChannel: config.slack?.alertChannel ?? '' });
      log.info({ engine: 'sqlite', path: db.path }, 'store opened');
      return store;
    } catch (err) {
      throw new StartupError(`DATABASE_URL: cannot open sqlite:${db.path} (${reasonOf(err, [])})`);
    }
  }
  const masked = maskDatabaseUrl(db.url);
  try {
    const store = await openPostgresStore(db.url, {
      logger: log,
      ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
    });
    log.info({ engine: 'postgres', url: masked }, 'store opened');
    return store;
  } catch (err) {
    const reason = reasonOf(err, passwordsOf(db.url));
    throw new StartupError(
      isConnectFailure(err)
        ? `DATABASE_URL: cannot connect to ${masked} (${reason})`
        : `DATABASE_URL: ${masked}: ${reason}`,
    );
  }
}

/**
 * SQLSTATE classes that mean "not let in": connection exceptions (08), invalid authorization (28),
 * no such database (3D000), server starting or shutting down (57P), too many connections (53300).
 */
const CONNECT_CODES = /^(08|28|3D000|57P|53300)/;

function isConnectFailure(err: unknown): boolean {
  if (err instanceof pg.DatabaseError) return CONNECT_CODES.test(err.code ?? '');
  if (err instanceof AggregateError) return true;
  if (typeof err === 'object' && err !== null && 'syscall' in err) return true;
  return err instanceof Error && /connect|connection|timeout|terminated|ssl/i.test(err.message);
}

/** The error's message as one line, without any password it might echo. */
function reasonOf(err: unknown, secrets: readonly string[]): string {
  let text: string;
  if (err instanceof AggregateError) {
    // Node tries every address of a host name; each refusal is in `errors`, the message is empty.
    const parts = err.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e)));
    text = err.message || [...new Set(parts)].join('; ');
  } else if (err instanceof Error) {
    text = err.message || String((err as { code?: unknown }).code ?? err.name);
  } else {
    text = String(err);
  }
  text = text.replace(/\s+/g, ' ').trim() || 'unknown error';
  for (const s of secrets) if (s.length >= 4) text = text.split(s).join('***');
  return text;
}

function passwordsOf(url: string): string[] {
  try {
    const u = new URL(url);
    const raw = [u.password, u.searchParams.get('password') ?? ''].filter(Boolean);
    return raw.flatMap((p) => {
      try {
        return [p, decodeURIComponent(p)];
      } catch {
        return [p];
      }
    });
  } catch {
    return [];
  }
}
