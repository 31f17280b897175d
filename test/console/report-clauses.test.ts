/**
 * A clause that several rules cite counts each PC by its worst rule: fail before unknown
 * (a missing result is unknown) before excepted before pass, and not applicable only when
 * every rule of the clause is; a failing rule that a 例外措置 covers is excepted. Eight PCs,
 * one for each case, on SQLite and on PostgreSQL (skipped, with the reason printed, when no
 * PostgreSQL is reachable; MAMORI_REQUIRE_PG=1 makes it fail instead).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { migrateConsole } from '../../src/collector/console/migrations.js';
import { Reports } from '../../src/collector/console/reports.js';
import type { ExceptionRecord } from '../../src/collector/console/exceptions.js';
import { SiteStandard } from '../../src/collector/console/site-standard.js';
import { openPostgresStore } from '../../src/collector/store/postgres/open.js';
import { SqliteStore } from '../../src/collector/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/collector/store/store.js';
import { loadCatalogue } from '../../src/shared/catalogue/load.js';
import { configDir } from '../../src/shared/paths.js';
import type { AgentEvent, RuleResult } from '../../src/shared/protocol/messages.js';
import { createTestDatabase, probePg } from '../cluster/pg-env.js';

const AT = new Date('2026-12-06T03:00:00.000Z');
const catalogue = loadCatalogue(configDir());
const pgProbe = await probePg('report clauses');

// A clause of several rules, each of one area or more.
const cited = new Map<string, string[]>();
for (const r of catalogue.rules) for (const c of r.clauses) cited.set(`${c.source}|${c.ref}`, [...(cited.get(`${c.source}|${c.ref}`) ?? []), r.id]);
const [clauseKey, clauseRules] = [...cited].find(([, rules]) => new Set(rules).size >= 2)!;
const [first, ...others] = [...new Set(clauseRules)] as [string, ...string[]];
const checkOf = new Map(catalogue.rules.map((r) => [r.id, r.check]));

type Case = { name: string; first: RuleResult | 'missing'; others: RuleResult; excepted?: boolean };
const CASES: Case[] = [
  { name: 'fails one rule', first: 'fail', others: 'pass' },
  { name: 'fails one rule under a 例外措置', first: 'fail', others: 'pass', excepted: true },
  { name: 'every rule not applicable', first: 'not_applicable', others: 'not_applicable' },
  { name: 'one rule not applicable, the others pass', first: 'not_applicable', others: 'pass' },
  { name: 'one rule unknown', first: 'unknown', others: 'pass' },
  { name: 'no result for one rule', first: 'missing', others: 'pass' },
  { name: 'passes every rule', first: 'pass', others: 'pass' },
  { name: 'an excepted failure and an unknown rule', first: 'fail', others: 'unknown', excepted: true },
];
const agentId = (i: number): string => `ag_clause${String(i).padStart(15, '0')}`;

async function clauseCounts(store: Store) {
  await store.migrate();
  await migrateConsole(store.sql);
  for (const [i] of CASES.entries()) {
    await store.createAgent({ id: agentId(i), secret: 'f'.repeat(64), hostname: `PC-${i}`, os: { platform: 'windows', hostname: `PC-${i}`, release: '10.0' }, agentVersion: '0.1.0', segment: 'lgwan', enrolledAt: AT.toISOString(), tokenId: 'tok' });
  }
  await store.setDepartments(CASES.map((_, i) => agentId(i)), '税務課');
  const batches = CASES.map((c, i) => {
    const results = [...(c.first === 'missing' ? [] : [{ ruleId: first, result: c.first }]), ...others.map((ruleId) => ({ ruleId, result: c.others }))];
    const checks = [...new Set(results.map((r) => checkOf.get(r.ruleId)!))];
    const events: AgentEvent[] = checks.map((checkId, k) => ({ seq: k + 1, at: AT.toISOString(), kind: 'results', checkId: checkId as never, policyVersion: 1, results: results.filter((r) => checkOf.get(r.ruleId) === checkId).map((r) => ({ ...r, subject: '', reason: '' })) }));
    return { agentId: agentId(i), events };
  });
  await store.ingest(batches, AT.toISOString());
  const exceptions: ExceptionRecord[] = CASES.flatMap((c, i) => (c.excepted ? [{ id: `e${i}`, ruleId: first, subject: '*', agentId: agentId(i), reason: 'r', requestedBy: 'a', requestedAt: '', until: '2027-01-01T00:00:00Z', state: 'approved' as const, decidedBy: 'b', decidedAt: '', decisionComment: null, endedAt: null }] : []));
  const standard = new SiteStandard(store.sql, catalogue.rules, catalogue.sources);
  await standard.load();
  const reports = new Reports(store.sql, catalogue.rules, standard, async () => exceptions, { now: () => AT });
  const out = [];
  for (const department of [null, '税務課']) {
    const report = await reports.selfInspection({ department });
    const { pass, fail, unknown, excepted, notApplicable } = report.clauses.find((c) => `${c.source}|${c.ref}` === clauseKey)!;
    out.push({ pcs: report.pcs, pass, fail, unknown, excepted, notApplicable });
  }
  return out;
}

const WANT = { pcs: CASES.length, fail: 1, excepted: 1, notApplicable: 1, unknown: 3, pass: 2 };
const stores: Store[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const s of stores) await s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('自己点検: a clause of several rules', () => {
  it('counts each PC by its worst rule on SQLite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mamori-report-clauses-'));
    dirs.push(dir);
    const store = new SqliteStore(join(dir, 'mamori.db'));
    stores.push(store);
    expect(await clauseCounts(store)).toEqual([WANT, WANT]);
  }, 60_000);

  it.skipIf(!pgProbe.available)('counts each PC by its worst rule on PostgreSQL', async () => {
    const db = await createTestDatabase();
    try {
      const store = await openPostgresStore(db.url, { maxConnections: 2 });
      try {
        expect(await clauseCounts(store)).toEqual([WANT, WANT]);
      } finally {
        await store.close();
      }
    } finally {
      await db.drop();
    }
  }, 60_000);
});
