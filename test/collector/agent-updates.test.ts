/**
 * Packages and rollouts on the collector (src/collector/updates/rollouts.ts) on a real SQLite
 * store and on PostgreSQL (skipped with the reason printed when PostgreSQL is absent, failed
 * under MAMORI_REQUIRE_PG=1): what an upload accepts, the canary rule, what a PC is offered, and which token may
 * download what. The end-to-end update with real agents and dpkg is test/installer/agent-update.test.ts.
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/collector/store/store.js';
import { AgentUpdates, UpdateError } from '../../src/collector/updates/rollouts.js';
import { statementBytes } from '../../src/shared/updates/statement.js';
import { PG_REQUIRED, PG_URL, probePg } from '../cluster/pg-env.js';
import { adminClient, startTestCollector, userClient } from '../console/helpers.js';
import { lentStore, postgresTestStore, sqliteTestStore } from '../helpers/test-stores.js';
import type { TestStore } from '../helpers/test-stores.js';

const pgProbe = await probePg('agent packages and rollouts');

let dir: string;
let store: Store;
let updates: AgentUpdates;
const { privateKey } = generateKeyPairSync('ed25519');

/** A package file of `version` and its signed statement. */
function pkg(version: string): { file: string; statement: string } {
  const file = join(dir, `mamori-agent_${version}_amd64.deb`);
  writeFileSync(file, `package ${version}`);
  const bytes = Buffer.from(`package ${version}`);
  const s = { product: 'mamori-agent' as const, platform: 'deb' as const, version, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
  return { file, statement: JSON.stringify({ ...s, signature: sign(null, statementBytes(s), privateKey).toString('base64') }) };
}

async function enroll(id: string, version: string, department: string | null = null, platform: 'linux' | 'windows' = 'linux') {
  await store.createAgent({ id, secret: '', hostname: `PC-${id}`, os: { platform, hostname: `PC-${id}`, release: platform === 'linux' ? '6.1' : '10.0.26100', arch: 'x64' }, agentVersion: version, segment: 'lgwan', enrolledAt: '2026-12-06T00:00:00.000Z', tokenId: 'tok', department });
}

function suite(name: string, open: () => Promise<TestStore>): void {
  let opened: TestStore | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mamori-updates-'));
    opened = await open();
    store = opened.store;
    updates = new AgentUpdates(store.sql, dir);
    await enroll('ag_canary1', '1.0.0', '総務課');
    await enroll('ag_other1', '1.0.0', '税務課');
    await enroll('ag_rpm1', '1.0.0', '税務課');
    await enroll('ag_win1', '1.0.0', '税務課', 'windows');
  });

  afterAll(async () => {
    await opened?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe(`agent packages and rollouts on the collector (${name})`, () => {
    it('stores a package only with a statement that describes its bytes', async () => {
      const { file, statement } = pkg('1.0.1');
      writeFileSync(file, 'other bytes');
      await expect(updates.upload(file, statement, 'admin')).rejects.toMatchObject({ code: 'hash-mismatch' });
      await expect(updates.upload(file, '{"product":"mamori-agent"}', 'admin')).rejects.toBeInstanceOf(UpdateError);
      const good = pkg('1.0.1');
      const stored = await updates.upload(good.file, good.statement, 'admin');
      expect(stored).toMatchObject({ platform: 'deb', version: '1.0.1', uploadedBy: 'admin' });
      // The same package again is the same package; another one of the same version is refused.
      expect((await updates.upload(good.file, good.statement, 'admin')).id).toBe(stored.id);
    });

    it('rolls out to a canary group first, offers each PC its package and the one to go back to, and lets only the offer token download them', async () => {
      const target = (await updates.packageOf('deb', '1.0.1'))!;
      await expect(updates.createRollout({ packageId: target.id, selection: { kind: 'department', name: '税務課' }, createdBy: 'admin' })).rejects.toMatchObject({ code: 'canary-first' });
      await expect(updates.createRollout({ packageId: target.id, selection: { kind: 'agents', ids: ['ag_nobody'] }, createdBy: 'admin' })).rejects.toMatchObject({ code: 'bad-selection' });
      const canary = await updates.createRollout({ packageId: target.id, selection: { kind: 'agents', ids: ['ag_canary1'] }, deadlineSeconds: 120, createdBy: 'admin' });
      expect(canary.agents).toEqual(['ag_canary1']);

      // Not offered before the PC said which installer it has.
      expect(await updates.offerFor('ag_canary1')).toBeUndefined();
      await updates.recordInstaller('ag_canary1', 'deb', '1.0.0', '2026-12-06T01:00:00.000Z');
      // No package of the running version to go back to: the PC is not updated, and says why.
      expect(await updates.offerFor('ag_canary1')).toBeUndefined();
      expect((await updates.status(canary.id))[0]).toMatchObject({ state: 'failed', reason: expect.stringMatching(/^この端末が動かしているバージョン 1\.0\.0 の deb パッケージがアップロードされていないため、元に戻せません/) });
      await expect(updates.createRollout({ packageId: target.id, selection: { kind: 'department', name: '税務課' }, createdBy: 'admin' })).rejects.toMatchObject({ code: 'canary-first' });

      const old = pkg('1.0.0');
      const oldPkg = await updates.upload(old.file, old.statement, 'admin');
      const again = await updates.createRollout({ packageId: target.id, selection: { kind: 'agents', ids: ['ag_canary1'] }, createdBy: 'admin' });
      const offer = (await updates.offerFor('ag_canary1'))!;
      expect(offer).toMatchObject({ type: 'update.offer', rolloutId: again.id, target: { version: '1.0.1', path: `/agent/update/${target.id}` }, rollback: { version: '1.0.0', path: `/agent/update/${oldPkg.id}` }, deadlineSeconds: 600 });
      expect(await updates.downloadable(target.id, offer.token)).toMatchObject({ id: target.id });
      expect(await updates.downloadable(oldPkg.id, offer.token)).toMatchObject({ id: oldPkg.id });
      expect(await updates.downloadable(target.id, 'x'.repeat(43))).toBeUndefined();

      await updates.report(again.id, 'ag_canary1', 'installed', null, '2026-12-06T01:05:00.000Z');
      // The canary succeeded: the 課 may follow; a PC with another installer is told why it is left out.
      const wide = await updates.createRollout({ packageId: target.id, selection: { kind: 'department', name: '税務課' }, createdBy: 'admin' });
      expect(wide.agents.sort()).toEqual(['ag_other1', 'ag_rpm1', 'ag_win1']);
      await updates.recordInstaller('ag_rpm1', 'rpm', '1.0.0', '2026-12-06T01:00:00.000Z');
      expect(await updates.offerFor('ag_rpm1')).toBeUndefined();
      expect((await updates.status(wide.id)).find((r) => r.agentId === 'ag_rpm1')).toMatchObject({ state: 'failed', reason: expect.stringMatching(/^この端末のエージェントは rpm でインストールされています。deb のパッケージでは更新できません \/ /) });
      // A Windows PC installed by the MSI takes MSI packages only; one of a release before MSI updates says it has no installer: 失敗, with what to do instead.
      await updates.recordInstaller('ag_win1', 'msi', '1.0.0', '2026-12-06T01:00:00.000Z');
      expect(await updates.offerFor('ag_win1')).toBeUndefined();
      expect((await updates.status(wide.id)).find((r) => r.agentId === 'ag_win1')).toMatchObject({ state: 'failed', reason: expect.stringMatching(/^この端末のエージェントは msi でインストールされています。deb のパッケージでは更新できません/) });
      await enroll('ag_win2', '1.0.0', '税務課', 'windows');
      const older = await updates.createRollout({ packageId: target.id, selection: { kind: 'agents', ids: ['ag_win2'] }, createdBy: 'admin' });
      await updates.recordInstaller('ag_win2', null, '1.0.0', '2026-12-06T01:00:00.000Z');
      expect(await updates.offerFor('ag_win2')).toBeUndefined();
      expect((await updates.status(older.id))[0]).toMatchObject({ state: 'failed', reason: expect.stringMatching(/^この Windows 端末のエージェントは MSI でインストールされていないか、収集サーバーからの更新に対応する前の版です。新しい MSI を一度配布ツール/) });
      // The download token of an offer that ended fetches nothing.
      expect(await updates.downloadable(target.id, offer.token)).toBeUndefined();
    });
  });

  describe(`the console API of agent updates (${name})`, () => {
    it('lists the packages without their file paths and each PC of each rollout, within the 課 of a scoped account', async () => {
      const own = await open();
      const t = await startTestCollector({ store: lentStore(own.store) });
      try {
        const rollouts = new AgentUpdates(t.collector.store.sql, t.collector.dataDir);
        for (const [id, department] of [['ag_soumu1', '総務課'], ['ag_zeimu1', '税務課']] as const) {
          await t.collector.store.createAgent({ id, secret: '', hostname: `PC-${id}`, os: { platform: 'linux', hostname: `PC-${id}`, release: '6.1', arch: 'x64' }, agentVersion: '1.0.0', segment: 'lgwan', enrolledAt: '2026-12-06T00:00:00.000Z', tokenId: 'tok', department });
        }
        const good = pkg('2.0.0');
        const uploaded = await rollouts.upload(good.file, good.statement, 'admin');
        const rollout = await rollouts.createRollout({ packageId: uploaded.id, selection: { kind: 'agents', ids: ['ag_soumu1', 'ag_zeimu1'] }, createdBy: 'admin' });
        const admin = await adminClient(t);
        const all = await admin.request('GET', '/api/v1/updates');
        expect(all.status).toBe(200);
        expect(all.json.packages).toEqual([expect.objectContaining({ id: uploaded.id, version: '2.0.0', platform: 'deb' })]);
        expect(all.json.packages[0]).not.toHaveProperty('file');
        expect(all.json.pcs.map((r: { agentId: string; state: string; rolloutId: string }) => [r.agentId, r.state, r.rolloutId]).sort()).toEqual([
          ['ag_soumu1', 'pending', rollout.id],
          ['ag_zeimu1', 'pending', rollout.id],
        ]);
        const zeimu = await userClient(t, admin, 'zeimu-helpdesk', 'helpdesk', ['税務課']);
        const scoped = await zeimu.request('GET', '/api/v1/updates');
        expect(scoped.json.pcs.map((r: { agentId: string }) => r.agentId)).toEqual(['ag_zeimu1']);
        expect((await fetch(`${t.base}/api/v1/updates`)).status).toBe(401);
      } finally {
        await t.close();
        await own.close();
      }
    });
  });
}

suite('SQLite', () => sqliteTestStore('mamori-updates-db-'));
describe.skipIf(!pgProbe.available)('PostgreSQL', () => {
  suite('PostgreSQL', postgresTestStore);
});
describe.runIf(!pgProbe.available && PG_REQUIRED)('PostgreSQL required', () => {
  it('is available', () => {
    throw new Error(`${pgProbe.reason} — MAMORI_REQUIRE_PG=1 requires PostgreSQL at ${PG_URL}`);
  });
});
