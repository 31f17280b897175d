/**
 * The 概要 counts and trends and the 自己点検 counts are SQL of their own (GROUP BY, the JST
 * day of a text column): the same city written into SQLite and into PostgreSQL must give the
 * same figures. The PostgreSQL half is skipped, with the reason printed, when no PostgreSQL is
 * reachable (MAMORI_REQUIRE_PG=1 makes it fail instead).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cityResult, seedCity } from '../../bench/lib/city.js';
import { migrateConsole } from '../../src/collector/console/migrations.js';
import { OverviewCounter } from '../../src/collector/console/overview.js';
import { Reports } from '../../src/collector/console/reports.js';
import { SiteStandard } from '../../src/collector/console/site-standard.js';
import type { Principal } from '../../src/collector/console/authz.js';
import { openPostgresStore } from '../../src/collector/store/postgres/open.js';
import { SqliteStore } from '../../src/collector/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/collector/store/store.js';
import { loadCatalogue } from '../../src/shared/catalogue/load.js';
import { configDir } from '../../src/shared/paths.js';
import { PG_REQUIRED, createTestDatabase, probePg } from '../cluster/pg-env.js';
import type { TestDatabase } from '../cluster/pg-env.js';

const AT = new Date('2026-12-06T03:00:00.000Z');
const clock = { now: () => AT };
const catalogue = loadCatalogue(configDir());
const SEEDED = catalogue.rules.filter((r) => r.check === 'screen-lock' || r.check === 'antivirus').map((r) => ({ ruleId: r.id, checkId: r.check }));
const everyone: Principal = { userId: 'u', username: 'auditor', displayName: 'auditor', role: 'auditor', departments: [], via: 'session', mustChangePassword: false };
const pgProbe = await probePg('console aggregates');
const REVOKED = [0, 7, 150, 299];
const WORST = ['fail', 'unknown', 'pass'] as const;

async function figures(store: Store) {
  await migrateConsole(store.sql);
  const city = await seedCity(store, { pcs: 300, perPc: 4, closeEvery: 4, at: AT, days: 12, results: SEEDED });
  const standard = new SiteStandard(store.sql, catalogue.rules, catalogue.sources);
  await standard.load();
  const overview = new OverviewCounter(store.sql, async () => [], clock);
  const reports = new Reports(store.sql, catalogue.rules, standard, async () => [], clock);
  const report = await reports.selfInspection({ department: '税務課' });
  const figures = { city, overview: await overview.overview(everyone), trends: await overview.trends(everyone, 14), report: { ...report, generatedAt: '' } };
  // Revoked PCs leave the whole organisation's report.
  for (const n of REVOKED) await store.revokeAgent(city.pcs[n]!.id, AT.toISOString());
  const organisation = await reports.selfInspection({ department: null });
  return { ...figures, organisation: { ...organisation, generatedAt: '' } };
}

let sqlite: Awaited<ReturnType<typeof figures>>;
let dir: string;
const stores: Store[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mamori-aggregates-'));
  const s = new SqliteStore(join(dir, 'mamori.db'));
  await s.migrate();
  stores.push(s);
  sqlite = await figures(s);
}, 120_000);
afterAll(async () => {
  for (const s of stores) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('console aggregates on SQLite', () => {
  it('counts what was written', () => {
    expect(sqlite.overview.openViolations).toBe(sqlite.city.totalOpen);
    expect(sqlite.overview.pcs).toBe(300);
    expect(sqlite.trends.opened.total.reduce((a, b) => a + b, 0)).toBe(300 * 3);
    expect(sqlite.trends.closed.total.reduce((a, b) => a + b, 0)).toBe(300);
    expect(sqlite.trends.compliance.at(-1)).not.toBeNull();
    const lock = sqlite.report.rules.find((r) => r.ruleId === SEEDED[0]!.ruleId)!;
    const want = { pass: 0, fail: 0, unknown: 0 };
    sqlite.city.pcs.forEach((p, n) => p.department === '税務課' && want[cityResult(n, 0)]++);
    expect({ pass: lock.pass, fail: lock.fail, unknown: lock.unknown }).toEqual(want);
  });

  it('counts the whole organisation without its revoked PCs, each rule and each clause by its worst rule', () => {
    const org = sqlite.organisation;
    const kept = sqlite.city.pcs.map((_, n) => n).filter((n) => !REVOKED.includes(n));
    expect(org.pcs).toBe(kept.length);
    // A rule of the catalogue that the city has no result for is unknown on every PC.
    const resultOf = (n: number, ruleId: string) => {
      const r = SEEDED.findIndex((s) => s.ruleId === ruleId);
      return r < 0 ? 'unknown' : cityResult(n, r);
    };
    const counted = (ruleIds: string[]) => {
      const c = { pass: 0, fail: 0, unknown: 0 };
      for (const n of kept) c[WORST.find((w) => ruleIds.some((id) => resultOf(n, id) === w)) ?? 'pass']++;
      return c;
    };
    for (const rule of org.rules) expect({ rule: rule.ruleId, pass: rule.pass, fail: rule.fail, unknown: rule.unknown }).toEqual({ rule: rule.ruleId, ...counted([rule.ruleId]) });
    expect(org.clauses.some((c) => c.ruleIds.length > 1)).toBe(true);
    for (const clause of org.clauses) expect({ clause: clause.ref, pass: clause.pass, fail: clause.fail, unknown: clause.unknown }).toEqual({ clause: clause.ref, ...counted(clause.ruleIds) });
  });
});

describe.skipIf(!pgProbe.available)('console aggregates on PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    for (const s of stores.splice(1)) await s.close();
    await db?.drop();
  });

  it('gives the same figures as SQLite', async () => {
    const pg = await openPostgresStore(db.url, { maxConnections: 4 });
    stores.push(pg);
    const got = await figures(pg);
    expect(got.overview).toEqual(sqlite.overview);
    expect(got.trends).toEqual(sqlite.trends);
    expect(got.report).toEqual(sqlite.report);
    expect(got.organisation).toEqual(sqlite.organisation);
  }, 120_000);
});

describe.runIf(!pgProbe.available && PG_REQUIRED)('console aggregates: postgres required', () => {
  it('has PostgreSQL', () => {
    throw new Error(pgProbe.reason);
  });
});
