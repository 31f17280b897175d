/**
 * POST /api/v1/updates/rollouts through the console API of a real collector, on SQLite and on
 * PostgreSQL (skipped with the reason printed when PostgreSQL is absent): PCs named
 * by host name, a 課, a segment or all; a 課-scoped administrator reaches only the PCs of its
 * own 課; refusals answer in Japanese (English in messageEn) and roll nothing out.
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentUpdates } from '../../src/collector/updates/rollouts.js';
import { statementBytes } from '../../src/shared/updates/statement.js';
import { PG_REQUIRED, PG_URL, probePg } from '../cluster/pg-env.js';
import { lentStore, postgresTestStore, sqliteTestStore } from '../helpers/test-stores.js';
import type { TestStore } from '../helpers/test-stores.js';
import { adminClient, seedAgent, startTestCollector, userClient } from './helpers.js';
import type { Client, TestCollector } from './helpers.js';

const pgProbe = await probePg('update rollouts through the console API');

function suite(name: string, open: () => Promise<TestStore>): void {
  let opened: TestStore | undefined;
  let t: TestCollector;
  let dataDir: string;
  let admin: Client;
  let zei: Client;
  let packageId: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'mamori-update-rollouts-'));
    opened = await open();
    t = await startTestCollector({ dataDir, store: lentStore(opened.store) });
    admin = await adminClient(t);
    zei = await userClient(t, admin, 'zei-admin', 'admin', ['税務課']);
    for (const [host, dept] of [['PC-ZEI-1', '税務課'], ['PC-ZEI-2', '税務課'], ['PC-FUKU-1', '福祉課'], ['PC-DUP', '福祉課'], ['PC-DUP', '福祉課']] as const) {
      const id = await seedAgent(t, host);
      ids[host] = id;
      await t.collector.store.setDepartments([id], dept);
    }
    const key = generateKeyPairSync('ed25519');
    const file = join(dataDir, 'mamori-agent_2.0.0_amd64.deb');
    writeFileSync(file, 'deb 2.0.0');
    const s = { product: 'mamori-agent' as const, platform: 'deb' as const, version: '2.0.0', sha256: createHash('sha256').update('deb 2.0.0').digest('hex'), size: 9 };
    packageId = (await new AgentUpdates(t.collector.store.sql, dataDir).upload(file, JSON.stringify({ ...s, signature: sign(null, statementBytes(s), key.privateKey).toString('base64') }), 'admin')).id;
  });
  afterAll(async () => {
    await t?.close();
    await opened?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const rollout = (c: Client, selection: unknown) => c.request('POST', '/api/v1/updates/rollouts', { packageId, selection, deadlineMinutes: 15 });
  const pcsOf = async (c: Client) => ((await c.request('GET', '/api/v1/updates')).json.pcs as { hostname: string; rolloutId: string }[]).map((p) => p.hostname).sort();

  describe(`POST /api/v1/updates/rollouts (${name})`, () => {
    it('refuses what cannot be rolled out, in Japanese, and rolls nothing out', async () => {
      const unknown = await rollout(admin, { kind: 'agents', hostnames: ['PC-NONE'] });
      expect(unknown.status).toBe(400);
      expect(unknown.json.message).toBe('端末 PC-NONE は登録されていません');
      expect(unknown.json.messageEn).toBe('No enrolled PC PC-NONE');
      const twice = await rollout(admin, { kind: 'agents', hostnames: ['PC-DUP'] });
      expect(twice.status).toBe(400);
      expect(twice.json.message).toBe('端末名 PC-DUP の端末が 2 台あります。端末一覧で重複を解消してください');
      const early = await rollout(admin, { kind: 'all' });
      expect(early.status).toBe(409);
      expect(early.json.message).toMatch(/^先にカナリアグループ \(端末を指定\) へ配信し/);
      expect(await pcsOf(admin)).toEqual([]);
    });

    it('keeps a 課-scoped administrator to its own 課', async () => {
      const other = await rollout(zei, { kind: 'agents', hostnames: ['PC-FUKU-1'] });
      expect(other.status).toBe(400);
      expect(other.json.message).toBe('端末 PC-FUKU-1 は登録されていません (担当の課の端末のみ指定できます)');
      expect((await rollout(zei, { kind: 'department', name: '福祉課' })).json.message).toBe('福祉課 は担当の課ではありません');
      expect((await rollout(zei, { kind: 'all' })).status).toBe(403);
      expect((await rollout(zei, { kind: 'segment', segment: 'lgwan' })).status).toBe(403);

      const canary = await rollout(zei, { kind: 'agents', hostnames: ['PC-ZEI-1'] });
      expect(canary.status, JSON.stringify(canary.json)).toBe(200);
      expect(canary.json.agents).toEqual([ids['PC-ZEI-1']]);
      expect(await pcsOf(zei)).toEqual(['PC-ZEI-1']);
      // Audited with the account that rolled it out.
      const audit = await admin.request('GET', '/api/v1/audit');
      expect(audit.status).toBe(200);
      const entries = (audit.json.entries as { actor: string; action: string }[]).filter((e) => e.action === 'update.rollout_created');
      expect(entries.map((e) => e.actor)).toContain('zei-admin');
    });
  });
}

suite('SQLite', () => sqliteTestStore('mamori-update-rollouts-db-'));
describe.skipIf(!pgProbe.available)('PostgreSQL', () => {
  suite('PostgreSQL', postgresTestStore);
});
describe.runIf(!pgProbe.available && PG_REQUIRED)('PostgreSQL required', () => {
  it('is available', () => {
    throw new Error(`${pgProbe.reason} — MAMORI_REQUIRE_PG=1 requires PostgreSQL at ${PG_URL}`);
  });
});
