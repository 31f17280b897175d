/**
 * 端末への適用状況 and the 例外措置 list in the database, on SQLite and on PostgreSQL (skipped with
 * the reason printed when PostgreSQL is absent): PCs counted per state (applied / pending /
 * outdated) before the page is cut and filtered like 端末一覧; 例外措置 filtered by state and text,
 * newest first, within the acting account's 課.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedCity } from '../../bench/lib/city.js';
import type { City } from '../../bench/lib/city.js';
import { actingAs } from '../../src/collector/console/authz.js';
import type { Principal } from '../../src/collector/console/authz.js';
import { Exceptions } from '../../src/collector/console/exceptions.js';
import { migrateConsole } from '../../src/collector/console/migrations.js';
import { queryPolicyStatus } from '../../src/collector/console/policy-status.js';
import type { Store } from '../../src/collector/store/store.js';
import { probePg } from '../cluster/pg-env.js';
import { postgresTestStore, sqliteTestStore } from '../helpers/test-stores.js';

const pgProbe = await probePg('policy status and exceptions');
const PCS = 300;
const scoped: Principal = { userId: 'u', username: 'zei', displayName: 'zei', role: 'helpdesk', departments: ['税務課'], via: 'session', mustChangePassword: false };

function suite(name: string, open: () => Promise<{ store: Store; close(): Promise<void> }>): void {
  describe(`適用状況 and 例外措置 on ${name}`, () => {
    let store: Store;
    let close: () => Promise<void>;
    let city: City;

    beforeAll(async () => {
      ({ store, close } = await open());
      await migrateConsole(store.sql);
      city = await seedCity(store, { pcs: PCS, perPc: 1 });
      // Every PC is given version 5; PCs 0–29 run it, 30–39 are connected without it, the rest offline on version 1.
      const now = new Date().toISOString();
      for (const [n, pc] of city.pcs.entries()) {
        await store.sql.run('INSERT INTO console_policy_agents (agent_id, content_hash, version, revision, updated_at) VALUES (?, ?, ?, ?, ?)', [pc.id, 'h', 5, 2, now]);
        if (n < 30) await store.sql.run('UPDATE agents SET policy_version = 5 WHERE id = ?', [pc.id]);
        else if (n < 40) await store.sql.run('UPDATE agents SET online = 1 WHERE id = ?', [pc.id]);
      }
    }, 120_000);

    afterAll(async () => {
      await close?.();
    });

    it('counts the PCs per state before the page is cut, and pages one state', async () => {
      const all = await queryPolicyStatus(store.sql, { limit: 50 });
      expect(all.counts).toEqual({ applied: 30, pending: 10, outdated: PCS - 40 });
      expect(all.total).toBe(PCS);
      expect(all.pcs).toHaveLength(50);
      const pending = await queryPolicyStatus(store.sql, { state: 'pending', limit: 50 });
      expect(pending.total).toBe(10);
      expect(pending.pcs.map((p) => p.id).sort()).toEqual(city.pcs.slice(30, 40).map((p) => p.id).sort());
      expect(pending.pcs.every((p) => p.state === 'pending' && p.expectedVersion === 5 && p.policyVersion === 1)).toBe(true);
      const seen: string[] = [];
      for (let offset = 0; offset < 30; offset += 7) seen.push(...(await queryPolicyStatus(store.sql, { state: 'applied', offset, limit: 7 })).pcs.map((p) => p.id));
      expect(seen.sort()).toEqual(city.pcs.slice(0, 30).map((p) => p.id).sort());
    });

    it('filters by 課, segment and name, and within an account of one 課', async () => {
      const zei = city.pcs.filter((p) => p.department === '税務課');
      const dep = await queryPolicyStatus(store.sql, { filters: { department: '税務課' }, limit: 1 });
      expect(dep.counts).toEqual({ applied: 3, pending: 1, outdated: zei.length - 4 });
      const scope = await queryPolicyStatus(store.sql, { departments: ['税務課'], limit: 1 });
      expect(scope.counts).toEqual(dep.counts);
      const seg = await queryPolicyStatus(store.sql, { filters: { segment: 'mynumber' }, limit: 1 });
      expect(seg.total).toBe(city.pcs.filter((p) => p.segment === 'mynumber').length);
      const one = await queryPolicyStatus(store.sql, { filters: { q: city.pcs[123]!.hostname.slice(-5) }, limit: 5 });
      expect(one.pcs.map((p) => p.hostname)).toEqual([city.pcs[123]!.hostname]);
    });

    it('pages 例外措置 by state and text, newest first, within the account of one 課', async () => {
      const departmentOf = (id: string) => city.pcs.find((p) => p.id === id)?.department ?? null;
      // A second between requests: the newest is known.
      let tick = Date.now();
      const exceptions = new Exceptions(store.sql, () => true, { now: () => new Date((tick += 1000)) }, departmentOf);
      const until = new Date(Date.now() + 10 * 86_400_000 + 3_600_000).toISOString();
      for (let i = 0; i < 20; i++) await exceptions.request({ ruleId: 'USB-001', agentId: city.pcs[i]!.id, reason: `窓口の更新作業 ${i}`, until }, 'sato');
      await exceptions.request({ ruleId: 'SW-001', agentId: null, reason: '全庁の移行期間', until }, 'sato');
      const page = await exceptions.page({ limit: 5 });
      expect(page.total).toBe(21);
      expect(page.rows[0]!.ruleId).toBe('SW-001');
      expect((await exceptions.page({ text: city.pcs[7]!.hostname.toLowerCase() })).rows.map((e) => e.hostname)).toEqual([city.pcs[7]!.hostname]);
      expect((await exceptions.page({ text: '全庁' })).total).toBe(1);
      expect((await exceptions.page({ state: 'approved' })).total).toBe(0);
      // 税務課: its PCs (0 and 10) and the organisation-wide one.
      const mine = await actingAs(scoped, () => exceptions.page({}));
      expect(mine.rows.map((e) => e.agentId).sort()).toEqual([null, city.pcs[0]!.id, city.pcs[10]!.id].sort());
    });
  });
}

suite('SQLite', () => sqliteTestStore('mamori-polstat-'));

describe.skipIf(!pgProbe.available)('PostgreSQL', () => {
  suite('PostgreSQL', postgresTestStore);
});
