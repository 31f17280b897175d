/** A migrated store in a fresh place, for suites that run once on SQLite and once on PostgreSQL. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPostgresStore } from '../../src/collector/store/postgres/open.js';
import { SqliteStore } from '../../src/collector/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/collector/store/store.js';
import { createTestDatabase } from '../cluster/pg-env.js';

export interface TestStore {
  store: Store;
  /** Close the store and remove its file or database. */
  close(): Promise<void>;
}

/** SQLite in a new temporary directory (`prefix` names it). */
export async function sqliteTestStore(prefix: string): Promise<TestStore> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const store = new SqliteStore(join(dir, 'mamori.db'));
  await store.migrate();
  return {
    store,
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** PostgreSQL in a new database of the test server, migrated by openPostgresStore. */
export async function postgresTestStore(): Promise<TestStore> {
  const db = await createTestDatabase();
  const store = await openPostgresStore(db.url, { maxConnections: 4 });
  return {
    store,
    async close() {
      await store.close();
      await db.drop();
    },
  };
}

/**
 * The store for a collector started on it (startCollector closes the store it is given): the same
 * store whose close does nothing, so that the suite closes it (and drops a PostgreSQL database) itself.
 */
export function lentStore(store: Store): Store {
  return new Proxy(store, {
    get: (target, key) => {
      if (key === 'close') return async () => undefined;
      const value: unknown = Reflect.get(target, key);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
