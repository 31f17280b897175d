/**
 * 端末一覧 in the database, on SQLite and on PostgreSQL (one database per suite; skipped with the
 * reason printed when PostgreSQL is absent): exact totals, every filter and sort before the page
 * is cut, paging without gaps, and 課 set on many PCs at once — by id, by the list's filters and
 * from a CSV — counting only real changes, refusing a bad CSV whole.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedCity } from '../../bench/lib/city.js';
import type { City } from '../../bench/lib/city.js';
import type { Principal } from '../../src/collector/console/authz.js';
import { planDepartments } from '../../src/collector/console/devices-import.js';
import { Fleet } from '../../src/collector/console/fleet.js';
import { migrateConsole } from '../../src/collector/console/migrations.js';
import { queryPcPage } from '../../src/collector/console/pc-query.js';
import type { Store } from '../../src/collector/store/store.js';
import type { AgentEvent } from '../../src/shared/protocol/messages.js';
import { PG_REQUIRED, PG_URL, probePg } from '../cluster/pg-env.js';
import { postgresTestStore, sqliteTestStore } from '../helpers/test-stores.js';

const pgProbe = await probePg('pc list');
const PCS = 240;
const admin: Principal = { userId: 'u', username: 'admin', displayName: 'admin', role: 'admin', departments: [], via: 'session', mustChangePassword: false };

function suite(name: string, open: () => Promise<{ store: Store; close(): Promise<void> }>): void {
  describe(`端末一覧 on ${name}`, () => {
    let store: Store;
    let close: () => Promise<void>;
    let city: City;
    let fleet: Fleet;

    beforeAll(async () => {
      ({ store, close } = await open());
      await migrateConsole(store.sql);
      city = await seedCity(store, { pcs: PCS, perPc: 3, closeEvery: 3 });
      // Rule results: every 3rd PC fails a rule, every 5th (not failing) has an unknown one, PC 1 none at all.
      const batches: { agentId: string; events: AgentEvent[] }[] = [];
      city.pcs.forEach((pc, n) => {
        if (n === 1) return;
        const result = n % 3 === 0 ? 'fail' : n % 5 === 0 ? 'unknown' : 'pass';
        batches.push({ agentId: pc.id, events: [{ seq: 4, at: new Date().toISOString(), kind: 'results', checkId: 'antivirus', policyVersion: 1, results: [{ ruleId: 'AV-002', subject: '', result, reason: 'r' }, { ruleId: 'AV-001', subject: '', result: 'pass', reason: 'r' }] }] });
      });
      await store.ingest(batches, new Date().toISOString());
      fleet = new Fleet(store, [], [], async () => []);
      await fleet.loadAssignments();
    }, 120_000);

    afterAll(async () => {
      await close?.();
    });

    it('counts every PC and pages through them in host-name order without gaps', async () => {
      const seen: string[] = [];
      for (let offset = 0; offset < PCS; offset += 50) {
        const page = await queryPcPage(store.sql, { offset, limit: 50 });
        expect(page.total).toBe(PCS);
        seen.push(...page.rows.map((r) => String(r.row.hostname)));
      }
      expect(seen).toEqual(city.pcs.map((p) => p.hostname).sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())));
    });

    it('filters by 課, segment, OS, online, compliance and text before counting', async () => {
      const count = async (filters: Record<string, string>) => (await queryPcPage(store.sql, { filters, limit: 1 })).total;
      expect(await count({ department: '税務課' })).toBe(city.pcs.filter((p) => p.department === '税務課').length);
      expect(await count({ segment: 'mynumber' })).toBe(city.pcs.filter((p) => p.segment === 'mynumber').length);
      // bench/lib/city.ts: every third PC (by number) runs Linux.
      expect(await count({ os: 'linux' })).toBe(city.pcs.filter((_, n) => n % 3 === 0).length);
      expect(await count({ os: 'windows' })).toBe(city.pcs.filter((_, n) => n % 3 !== 0).length);
      expect(await count({ online: 'true' })).toBe(0);
      expect(await count({ online: 'false' })).toBe(PCS);
      const fail = city.pcs.filter((_, n) => n !== 1 && n % 3 === 0).length;
      const unknown = city.pcs.filter((_, n) => n !== 1 && n % 3 !== 0 && n % 5 === 0).length;
      expect(await count({ compliance: 'fail' })).toBe(fail);
      expect(await count({ compliance: 'unknown' })).toBe(unknown);
      expect(await count({ compliance: 'none' })).toBe(1);
      expect(await count({ compliance: 'pass' })).toBe(PCS - fail - unknown - 1);
      const pc = city.pcs[123]!;
      expect(await count({ q: pc.hostname.toLowerCase() })).toBe(1);
      expect(await count({ q: 'zeimu-' })).toBe(city.pcs.filter((p) => p.hostname.startsWith('ZEIMU-')).length);
      // A value a filter does not know is ignored, not an error; % and _ are plain characters.
      expect(await count({ segment: 'nowhere', q: '%' })).toBe(0);
      expect(await count({ segment: 'nowhere' })).toBe(PCS);
      expect(await count({ department: '税務課', segment: 'lgwan', compliance: 'fail' })).toBe(city.pcs.filter((p, n) => p.department === '税務課' && p.segment === 'lgwan' && n % 3 === 0).length);
      expect((await queryPcPage(store.sql, { departments: ['福祉課', '市民課'], limit: 1 })).total).toBe(city.pcs.filter((p) => p.department === '福祉課' || p.department === '市民課').length);
    });

    it('sorts by open violations and by host name in both directions', async () => {
      const most = await queryPcPage(store.sql, { sort: 'openViolations', limit: 5 });
      const max = Math.max(...city.open.values());
      expect(most.rows[0]!.openViolations).toBe(max);
      const least = await queryPcPage(store.sql, { sort: 'openViolations', dir: 'asc', limit: 5 });
      expect(least.rows[0]!.openViolations).toBe(Math.min(...city.open.values()));
      const desc = await queryPcPage(store.sql, { sort: 'hostname', dir: 'desc', limit: 3 });
      const names = city.pcs.map((p) => p.hostname.toLowerCase()).sort();
      expect(desc.rows.map((r) => String(r.row.hostname).toLowerCase())).toEqual(names.slice(-3).reverse());
      const worst = await queryPcPage(store.sql, { sort: 'compliance', limit: 1 });
      const views = await fleet.pcPage(admin, { agentIds: [worst.rows[0]!.id] });
      expect(views.pcs[0]!.compliance.antivirus).toBe('fail');
    });

    it('sets the 課 of PCs by id and by the filters of the list, counting only real changes', async () => {
      const ids = city.pcs.slice(0, 30).map((p) => p.id);
      const first = await fleet.assignMany(admin, { agentIds: ids }, { department: '新設課' }, 'admin');
      expect(first).toEqual({ assigned: 30, changed: 30, groupChanged: [] });
      const again = await fleet.assignMany(admin, { agentIds: ids }, { department: '新設課' }, 'admin');
      expect(again.changed).toBe(0);
      expect((await queryPcPage(store.sql, { filters: { department: '新設課' }, limit: 1 })).total).toBe(30);
      // Every PC of a filtered list: the Linux PCs of 新設課 go to 情報政策課.
      const linux = ids.filter((_, n) => n % 3 === 0).length;
      const byFilter = await fleet.assignMany(admin, { filters: { department: '新設課', os: 'linux' } }, { department: '情報政策課' }, 'admin');
      expect(byFilter).toMatchObject({ assigned: linux, changed: linux });
      // Group: only the PCs whose group changes are reported (their policy may change).
      const grouped = await fleet.assignMany(admin, { agentIds: ids.slice(0, 4) }, { group: '窓口' }, 'admin');
      expect(grouped.groupChanged).toHaveLength(4);
      expect((await fleet.assignMany(admin, { agentIds: ids.slice(0, 6) }, { group: '窓口' }, 'admin')).groupChanged).toEqual(ids.slice(4, 6));
      expect((await queryPcPage(store.sql, { filters: { group: '窓口' }, limit: 1 })).total).toBe(6);
      // Removing the 課.
      expect((await fleet.assignMany(admin, { agentIds: ids.slice(0, 2) }, { department: null }, 'admin')).changed).toBe(2);
      expect((await queryPcPage(store.sql, { filters: { department: '-' }, limit: 1 })).total).toBe(2);
      // An account of one 課 cannot reach PCs of another.
      const scoped: Principal = { ...admin, departments: ['税務課'] };
      await expect(fleet.assignMany(scoped, { agentIds: [city.pcs.find((p) => p.department === '市民課')!.id] }, { department: '税務課' }, 'zei')).rejects.toMatchObject({ status: 404 });
    });

    it('reads a CSV of PC name → 課, and refuses a file with any bad line without changing anything', async () => {
      const hosts = await fleet.idsByHostname(admin);
      const zeimu = city.pcs.filter((p) => p.department === '税務課').slice(0, 3);
      const plan = planDepartments(`\uFEFF端末名,所属 (課)\r\n${zeimu.map((p) => `${p.hostname.toLowerCase()},会計課`).join('\r\n')}\r\n${city.pcs[200]!.hostname},\r\n`, hosts);
      expect(plan.byDepartment.get('会計課')).toEqual(zeimu.map((p) => p.id));
      expect(plan.byDepartment.get(null)).toEqual([city.pcs[200]!.id]);
      expect(() => planDepartments('端末名,所属 (課)\nNO-SUCH-PC,会計課\nZEIMU-PC00000,会計課\nZEIMU-PC00000,税務課\n', hosts)).toThrow(/2行目: 端末 NO-SUCH-PC は登録されていないか、担当外の課です.*4行目: 端末 ZEIMU-PC00000 は 3行目にもあります/);
      expect(() => planDepartments('name,dept\nA,B\n', hosts)).toThrow(/見出し「端末名」と「所属 \(課\)」/);
    });
  });
}

suite('SQLite', () => sqliteTestStore('mamori-pclist-'));

describe.skipIf(!pgProbe.available)('PostgreSQL', () => {
  suite('PostgreSQL', postgresTestStore);
});
describe.runIf(!pgProbe.available && PG_REQUIRED)('PostgreSQL required', () => {
  it('is reachable', () => {
    throw new Error(`${pgProbe.reason} — MAMORI_REQUIRE_PG=1 requires PostgreSQL at ${PG_URL}`);
  });
});
