import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Store } from '../../src/ports.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { storeContract } from './contract.ts';

storeContract(
  ':memory: SQLite',
  async ({ clock, sameDatabaseAs } = {}) =>
    // One in-memory database has one connection: the "second instance" is the same store.
    sameDatabaseAs ?? openSqliteStore(':memory:', clock ? { clock } : {}),
);

// A file: a second instance is a second connection to it, as a second process would have.
const paths = new WeakMap<Store, string>();
const dirs: string[] = [];
storeContract(
  'SQLite file',
  async ({ clock, sameDatabaseAs } = {}) => {
    let path = sameDatabaseAs ? paths.get(sameDatabaseAs) : undefined;
    if (!path) {
      const dir = mkdtempSync(join(tmpdir(), 'cotool-slack-contract-'));
      dirs.push(dir);
      path = join(dir, 'bot.db');
    }
    const store = openSqliteStore(path, clock ? { clock } : {});
    paths.set(store, path);
    return store;
  },
  async () => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  },
);
