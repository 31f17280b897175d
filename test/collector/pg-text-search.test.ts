/**
 * The violation list's text search on PostgreSQL with trigram indexes (pg_trgm), and without
 * them where the database refuses the extension: a role that neither owns the database nor may
 * create in it still migrates, is told why in Japanese, and finds the same rows by scanning; the
 * first start after the owner installed pg_trgm makes the indexes. Skipped with the reason
 * printed when PostgreSQL is absent (MAMORI_REQUIRE_PG=1 fails instead).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedCity } from '../../bench/lib/city.js';
import { openPostgresStore } from '../../src/collector/store/postgres/open.js';
import type { PostgresStore } from '../../src/collector/store/postgres/postgres-store.js';
import { PG_REQUIRED, createTestDatabase, probePg } from '../cluster/pg-env.js';
import type { TestDatabase } from '../cluster/pg-env.js';

const pgProbe = await probePg('violation text search');
const TEXTS = ['zeimu-pc00010', 'PC0001', 'unapproved-tool-1', 'user3', 'av-002', 'no such thing'];

/** The rows a search must find, by the rule of the list (host name, subject, user or rule id contain the text, any case). */
async function expected(store: PostgresStore, text: string): Promise<string[]> {
  const needle = text.toLowerCase();
  return (await store.listViolations({ state: 'open', limit: 100_000 }))
    .filter((v) => [v.hostname, v.subject, v.user ?? '', v.ruleId].some((s) => s.toLowerCase().includes(needle)))
    .map((v) => `${v.agentId}|${v.ruleId}|${v.subject}`)
    .sort();
}

async function found(store: PostgresStore, text: string): Promise<string[]> {
  const page = await store.queryViolations({ state: 'open', text, limit: 5000 });
  expect(page.total).toBe(page.rows.length);
  return page.rows.map((v) => `${v.agentId}|${v.ruleId}|${v.subject}`).sort();
}

const indexes = async (store: PostgresStore): Promise<string[]> =>
  (await store.sql.all<{ indexname: string }>("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%trgm' ORDER BY indexname")).map((r) => r.indexname);

describe.skipIf(!pgProbe.available)('violation text search on PostgreSQL', () => {
  let db: TestDatabase;
  let limitedDb: TestDatabase;
  const role = `mamori_limited_${randomBytes(4).toString('hex')}`;
  const admin = (database: TestDatabase) => new pg.Client({ connectionString: database.url });
  const asRole = (database: TestDatabase) => {
    const u = new URL(database.url);
    u.username = role;
    u.password = '';
    return u.toString();
  };
  const opened: PostgresStore[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    limitedDb = await createTestDatabase();
    // A site's role: it may create tables in the schema, but the database is not its own and it may not create in it (CREATE EXTENSION needs that).
    const c = admin(limitedDb);
    await c.connect();
    try {
      await c.query(`CREATE ROLE ${role} LOGIN`);
      await c.query(`REVOKE CREATE ON DATABASE ${limitedDb.name} FROM PUBLIC`);
      await c.query(`GRANT USAGE, CREATE ON SCHEMA public TO ${role}`);
    } finally {
      await c.end();
    }
  }, 60_000);
  afterAll(async () => {
    for (const s of opened) await s.close();
    await db?.drop();
    await limitedDb?.drop();
    const c = new pg.Client({ connectionString: db.url.replace(/\/[^/]+$/, '/postgres') });
    await c.connect();
    await c.query(`DROP ROLE IF EXISTS ${role}`);
    await c.end();
  });

  it('makes the trigram indexes, and finds what the list rule says', async () => {
    const store = await openPostgresStore(db.url, { maxConnections: 4 });
    opened.push(store);
    expect(store.migrationNotes).toEqual([]);
    expect(await indexes(store)).toEqual(['agents_hostname_trgm', 'violations_text_trgm']);
    await seedCity(store, { pcs: 40, perPc: 4 });
    for (const text of TEXTS) expect({ text, rows: await found(store, text) }).toEqual({ text, rows: await expected(store, text) });
    expect((await found(store, 'zeimu-pc00010')).length).toBeGreaterThan(0);
  }, 120_000);

  it('migrates without the extension where the role may not create it, says why in Japanese, and finds the same rows', async () => {
    const store = await openPostgresStore(asRole(limitedDb), { maxConnections: 4 });
    opened.push(store);
    expect(store.migrationNotes).toHaveLength(1);
    expect(store.migrationNotes[0]).toMatch(/^PostgreSQL の拡張 pg_trgm を使えないため、違反一覧の文字検索は索引なしで/);
    expect(store.migrationNotes[0]).toMatch(/CREATE EXTENSION pg_trgm/);
    expect(await indexes(store)).toEqual([]);
    await seedCity(store, { pcs: 40, perPc: 4 });
    for (const text of TEXTS) expect({ text, rows: await found(store, text) }).toEqual({ text, rows: await expected(store, text) });

    // The owner installs it; the next start makes the indexes.
    const c = admin(limitedDb);
    await c.connect();
    await c.query('CREATE EXTENSION pg_trgm');
    await c.end();
    const again = await openPostgresStore(asRole(limitedDb), { maxConnections: 2 });
    opened.push(again);
    expect(again.migrationNotes).toEqual([]);
    expect(await indexes(again)).toEqual(['agents_hostname_trgm', 'violations_text_trgm']);
    for (const text of TEXTS) expect({ text, rows: await found(again, text) }).toEqual({ text, rows: await expected(again, text) });
  }, 120_000);
});

describe.runIf(!pgProbe.available && PG_REQUIRED)('violation text search: postgres required', () => {
  it('has PostgreSQL', () => {
    throw new Error(pgProbe.reason);
  });
});
