/**
 * PostgreSQL for the tests: MAMORI_PG_URL (default postgres://postgres@127.0.0.1:5432/test).
 * Each suite gets a database of its own (mamori_test_<random>) that is dropped afterwards,
 * so parallel runs never collide. When PostgreSQL is unreachable the suites are skipped with
 * the reason printed, unless MAMORI_REQUIRE_PG=1 (CI), where they fail.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_URL = process.env.MAMORI_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const PG_REQUIRED = process.env.MAMORI_REQUIRE_PG === '1';

/** Why PostgreSQL cannot be used, or undefined when it can. */
export async function pgUnavailableReason(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    return `PostgreSQL at ${PG_URL} is not reachable: ${(err as Error).message}`;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Probe once per test file; print why the PostgreSQL tests are skipped. */
export async function probePg(suite: string): Promise<{ available: boolean; reason?: string }> {
  const reason = await pgUnavailableReason();
  if (reason && !PG_REQUIRED) process.stderr.write(`\n[${suite}] SKIPPED PostgreSQL tests: ${reason} (set MAMORI_PG_URL, or MAMORI_REQUIRE_PG=1 to fail instead)\n`);
  return reason ? { available: false, reason } : { available: true };
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** CREATE DATABASE mamori_test_<random>; drop() removes it (closing what is still connected). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `mamori_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: withDatabase(PG_URL, name),
    async drop() {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
