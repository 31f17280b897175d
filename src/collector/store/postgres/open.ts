/** Open the PostgreSQL store of a collector node (`mamori collector --db postgres://…`) and bring its schema up to date. */
import { PostgresStore } from './postgres-store.js';
import type { PostgresStoreOptions } from './postgres-store.js';

/** PostgreSQL could not be reached or its schema could not be brought up to date. */
export class PostgresOpenError extends Error {
  readonly code = 'PG_OPEN_FAILED';
  constructor(
    readonly url: string,
    cause: Error,
  ) {
    super(`cannot open PostgreSQL at ${redactUrl(url)}: ${cause.message}`, { cause });
  }
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

export async function openPostgresStore(url: string, opts: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const store = new PostgresStore(url, opts);
  try {
    await store.migrate();
  } catch (err) {
    await store.close().catch(() => {});
    throw new PostgresOpenError(url, err as Error);
  }
  return store;
}
