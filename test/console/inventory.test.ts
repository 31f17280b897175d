/**
 * 資産管理台帳 through the console API, on SQLite and on PostgreSQL: the latest inventory of
 * each PC and its hardware changes from the agents' inventory facts, store-side filters (model,
 * OS build, memory, IPv4 range), the CSV export, the 課 scope, and catching up after a restart.
 * The facts are what the inventory check reads from the Windows recordings.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localCheck } from '../../agent/local-check.js';
import { InMemoryCheckMemory } from '../../agent/memory.js';
import { openPostgresStore } from '../../src/collector/store/postgres/open.js';
import { startCollector } from '../../src/collector/collector.js';
import { consoleOf, consolePlugin } from '../../src/collector/console/plugin.js';
import { silentLogger } from '../../src/shared/log.js';
import type { NewAgentEvent } from '../../src/shared/protocol/messages.js';
import { PG_REQUIRED, createTestDatabase, probePg } from '../cluster/pg-env.js';
import type { TestDatabase } from '../cluster/pg-env.js';
import { adminClient, seedAgent, seedEvents, userClient } from './helpers.js';
import type { Client, TestCollector } from './helpers.js';

const FIXTURES = join(import.meta.dirname, '../../agent/checks/inventory/fixtures/windows');
const memory = new InMemoryCheckMemory();

async function inventoryEvent(recording: string, mem = memory): Promise<NewAgentEvent> {
  const report = await localCheck({ replayDir: join(FIXTURES, recording), checks: ['inventory'], memory: mem });
  const c = report.checks[0]!;
  return { kind: 'facts', at: report.at, checkId: 'inventory', status: c.status, facts: { ...c.facts, _unknown: c.unknownFacts } } as NewAgentEvent;
}

const pg = await probePg('inventory console');

for (const backend of ['sqlite', 'postgres'] as const) {
  describe.skipIf(backend === 'postgres' && !pg.available && !PG_REQUIRED)(`資産管理台帳 (${backend})`, () => {
    let t: TestCollector;
    let admin: Client;
    let db: TestDatabase | undefined;
    let desktop: string;
    let notebook: string;

    beforeAll(async () => {
      if (backend === 'postgres') db = await createTestDatabase();
      const store = db ? await openPostgresStore(db.url, { maxConnections: 4 }) : undefined;
      const collector = await startCollector({ dataDir: mkdtempSync(join(tmpdir(), 'mamori-inventory-')), ...(store ? { store } : {}), log: silentLogger(), plugins: [consolePlugin({})] });
      t = { collector, base: collector.consoleUrl.replace(/\/$/, ''), admin: consoleOf(collector.app).initialAdmin!, close: () => collector.close() };
      admin = await adminClient(t);
      desktop = await seedAgent(t, 'SOUMU-PC012');
      notebook = await seedAgent(t, 'KOSODATE-NB07');
      await admin.request('PUT', `/api/v1/pcs/${desktop}/assignment`, { department: '総務課', group: null });
      await admin.request('PUT', `/api/v1/pcs/${notebook}/assignment`, { department: '子育て支援課', group: null });
      const mem = new InMemoryCheckMemory();
      await seedEvents(t, desktop, 'SOUMU-PC012', [await inventoryEvent('w11-24h2-pro-ja-desktop', mem)]);
      await seedEvents(t, desktop, 'SOUMU-PC012', [await inventoryEvent('w11-24h2-pro-ja-desktop-swapped', mem)]);
      await seedEvents(t, notebook, 'KOSODATE-NB07', [await inventoryEvent('w10-22h2-pro-ja-notebook-wmi-broken', new InMemoryCheckMemory())]);
      await consoleOf(t.collector.app).inventory.idle();
    });
    afterAll(async () => {
      await t?.close();
      await db?.drop();
    });

    it('a PC page shows the latest inventory and every change, in Japanese', async () => {
      const r = await admin.request('GET', `/api/v1/pcs/${desktop}/inventory`);
      expect(r.status).toBe(200);
      expect(r.json.collectedAt).toBe('2026-12-08T01:00:00.000Z');
      expect(r.json.inventory.disks[0].serial).toBe('S64DNX0T812345A');
      expect(r.json.changes.map((c: { label: { ja: string }; subject: string }) => `${c.label.ja} ${c.subject}`).sort()).toEqual(['MAC アドレスの変化 イーサネット', 'ディスクの交換 (シリアル番号の変化) S64DNX0T812345A', 'ネットワークアダプターの追加 イーサネット 2', 'メモリの取り外し DIMM2']);
      const none = await seedAgent(t, 'NEW-PC');
      expect((await admin.request('GET', `/api/v1/pcs/${none}/inventory`)).json).toMatchObject({ inventory: null, changes: [] });
    });

    it('keeps one row per PC and each change once, whatever is sent again', async () => {
      await seedEvents(t, desktop, 'SOUMU-PC012', [await inventoryEvent('w11-24h2-pro-ja-desktop-swapped', new InMemoryCheckMemory())]);
      const again = await inventoryEvent('w11-24h2-pro-ja-desktop-swapped');
      // The same facts (same change ids) a second time, as a helpdesk scan sends them unchanged.
      await seedEvents(t, desktop, 'SOUMU-PC012', [{ ...again, facts: (await admin.request('GET', `/api/v1/pcs/${desktop}/inventory`)).json.inventory } as NewAgentEvent]);
      await consoleOf(t.collector.app).inventory.idle();
      const sql = t.collector.store.sql;
      expect(await sql.all('SELECT agent_id FROM inventory_latest WHERE agent_id = ?', [desktop])).toHaveLength(1);
      expect(await sql.all('SELECT change_id FROM inventory_changes WHERE agent_id = ?', [desktop])).toHaveLength(4);
    });

    it('filters in the store by model, OS build, memory and IPv4 range', async () => {
      const names = async (q: string) => ((await admin.request('GET', `/api/v1/inventory?${q}`)).json.pcs as { hostname: string }[]).map((p) => p.hostname);
      expect(await names('')).toEqual(['KOSODATE-NB07', 'SOUMU-PC012']);
      expect(await names('model=optiplex')).toEqual(['SOUMU-PC012']);
      expect(await names('model=lenovo')).toEqual(['KOSODATE-NB07']);
      expect(await names('osBuild=26100')).toEqual(['SOUMU-PC012']);
      expect(await names('osBuild=19045.5131')).toEqual(['KOSODATE-NB07']);
      expect(await names('osBuild=22000')).toEqual([]);
      // After the module was taken out the desktop has 8 GB; the notebook 16 GB.
      expect(await names('memoryMin=16')).toEqual(['KOSODATE-NB07']);
      expect(await names('memoryMax=8')).toEqual(['SOUMU-PC012']);
      expect(await names('ip=10.20.0.0/16')).toEqual(['KOSODATE-NB07', 'SOUMU-PC012']);
      expect(await names('ip=192.168.10.0/24')).toEqual(['SOUMU-PC012']);
      expect(await names('ip=192.168.10.20-192.168.10.30')).toEqual(['SOUMU-PC012']);
      expect(await names('ip=10.20.30.41&model=dell')).toEqual(['SOUMU-PC012']);
      const bad = await admin.request('GET', '/api/v1/inventory?ip=10.20.0.0/40');
      expect(bad.status).toBe(400);
      expect(bad.json.message).toContain('IPv4 の範囲');
      expect((await admin.request('GET', '/api/v1/inventory?memoryMin=many')).status).toBe(400);
    });

    it('端末一覧 shows the inventory columns and filters by them in the store', async () => {
      const list = async (q: string) => {
        const r = await admin.request('GET', `/api/v1/pcs?${q}`);
        expect(r.status, JSON.stringify(r.json)).toBe(200);
        return r.json as { total: number; pcs: { hostname: string; inventory: { model: string; osBuild: string; memoryGb: number; ipv4: string[] } | null }[] };
      };
      const all = await list('');
      expect(all.pcs.find((p) => p.hostname === 'SOUMU-PC012')!.inventory).toMatchObject({ model: 'OptiPlex 7010', osBuild: '26100.2314', memoryGb: 8, ipv4: ['10.20.30.41', '192.168.10.23'] });
      expect(all.pcs.find((p) => p.hostname === 'NEW-PC')!.inventory).toBeNull();
      const names = async (q: string) => (await list(q)).pcs.map((p) => p.hostname).sort();
      expect(await names('model=optiplex')).toEqual(['SOUMU-PC012']);
      expect(await names('osBuild=19045')).toEqual(['KOSODATE-NB07']);
      expect(await names('memoryMin=12')).toEqual(['KOSODATE-NB07']);
      expect(await names('ip=192.168.10.0/24&department=総務課')).toEqual(['SOUMU-PC012']);
      expect((await list('ip=10.20.0.0/16')).total).toBe(2);
      expect((await list('sort=memory&dir=desc')).pcs[0]!.hostname).toBe('KOSODATE-NB07');
      expect((await admin.request('GET', '/api/v1/pcs?ip=10.0.0.0/99')).status).toBe(400);
    });

    it('exports the 資産管理台帳 as CSV: one row per PC, Japanese headers, JST times', async () => {
      const r = await admin.request('GET', '/api/v1/inventory.csv');
      expect(r.status).toBe(200);
      expect(r.headers.get('content-disposition')).toContain(encodeURIComponent('資産管理台帳_'));
      expect(r.text.startsWith('\uFEFFホスト名,課,グループ,メーカー,機種,製造番号')).toBe(true);
      const lines = r.text.trim().split('\r\n');
      expect(lines).toHaveLength(3);
      const pc = lines.find((l) => l.startsWith('SOUMU-PC012'))!;
      expect(pc).toContain('総務課,,Dell Inc.,OptiPlex 7010,8K2LMX3');
      expect(pc).toContain('Samsung SSD 980 500GB 500GB NVMe S/N S64DNX0T812345A');
      // Collected 2026-12-08T01:00Z = 10:00 JST; boot 2026-12-07T23:50Z = 08:50 JST on the 8th.
      expect(pc).toContain('2026/12/08 10:00');
      expect(pc).toContain('2026/12/08 08:50');
      expect(pc).toContain('ディスクの交換 (シリアル番号の変化): S64DNX0T812345A');
      const filtered = await admin.request('GET', '/api/v1/inventory.csv?model=lenovo');
      expect(filtered.text.trim().split('\r\n')).toHaveLength(2);
      expect(filtered.text).toContain('SMART 異常予測');
    });

    it('an account of one 課 sees only its PCs', async () => {
      const soumu = await userClient(t, admin, `soumu-${backend}`, 'helpdesk', ['総務課']);
      expect(((await soumu.request('GET', '/api/v1/inventory')).json.pcs as { hostname: string }[]).map((p) => p.hostname)).toEqual(['SOUMU-PC012']);
      expect((await soumu.request('GET', `/api/v1/pcs/${notebook}/inventory`)).status).toBeGreaterThanOrEqual(400);
      expect((await soumu.request('GET', '/api/v1/inventory.csv')).text).not.toContain('KOSODATE');
    });

    it('catches up at start with inventory facts stored while it was not listening', async () => {
      const late = await seedAgent(t, 'LATE-PC');
      const event = { ...(await inventoryEvent('w11-24h2-pro-ja-desktop', new InMemoryCheckMemory())), seq: 1 };
      const out = await t.collector.store.ingest([{ agentId: late, events: [event as never] }], new Date().toISOString());
      expect(out.rejected.size).toBe(0);
      expect((await admin.request('GET', `/api/v1/pcs/${late}/inventory`)).json.inventory).toBeNull();
      expect(await consoleOf(t.collector.app).inventory.catchUp()).toBe(1);
      expect((await admin.request('GET', `/api/v1/pcs/${late}/inventory`)).json.inventory.system.serial).toBe('8K2LMX3');
    });
  });
}
