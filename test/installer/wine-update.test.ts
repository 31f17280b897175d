/**
 * Agent updates through the collector on Windows, under wine (Debian's wine 8) with the real MSIs:
 * two releases built by scripts/package.mjs with a release key made here (9.7.0, 9.7.1;
 * around the Node 22 node.exe, as wine.test.ts explains).
 *  - 9.7.0 is installed with msiexec and enrolls; the agent runs as the mamori-agent service in the
 *    service host's job object and says it was installed by the MSI. 9.7.1 is rolled out from the
 *    collector: the agent downloads both MSIs over the pinned TLS, verifies them, and starts the
 *    update guard from a copy of node.exe through the service host's --detach, outside the job;
 *    the guard runs `msiexec /i … /qn /norestart`, which stops the service (ending every process
 *    in its job) and starts the new one; the new agent reaches the collector, which records
 *    更新完了 and the new version. Identity is kept.
 * Not proven here: going back through msiexec end to end (a guard started by hand under wine got
 * exit 1627 from both of its msiexec runs; the downgrade with ALLOW_DOWNGRADE=1 itself works from a
 * shell under wine, docs/install.md), and real Windows (Windows Installer's file-in-use handling,
 * the SCM, job objects as Windows nests them); wine's msiexec and job objects stand in.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PendingUpdate } from '../../agent/update/pending.js';
import { startCollector } from '../../src/collector/collector.js';
import type { RunningCollector } from '../../src/collector/collector.js';
import { createEnrollmentToken } from '../../src/collector/tokens.js';
import { AgentUpdates } from '../../src/collector/updates/rollouts.js';
import { createLogger } from '../../src/shared/log.js';
import { initTls } from '../../src/shared/tls/material.js';
import { requireTools, skipReal } from '../helpers/linux-real.js';
import { REPO, run, waitFor } from './helpers.js';
import { wineIn, z } from './wine.js';

/** Node LTS whose node.exe starts under wine 8 (see wine.test.ts). */
const WINE_NODE = '22.23.3';
const TOOLS = ['/usr/bin/wine', '/usr/bin/wineserver', '/usr/bin/wixl', '/usr/bin/msibuild', '/usr/bin/x86_64-w64-mingw32-gcc'];
const PACKAGES = 'wine wine64 wixl wixl-data msitools gcc-mingw-w64-x86-64-win32';
const OLD = '9.7.0';
const NEW = '9.7.1';

let work: string;
let prefix: string;
let keyFile: string;
let collector: RunningCollector;
let wine: ReturnType<typeof wineIn>;
const msis: Record<string, string> = {};

const programData = () => join(prefix, 'drive_c/ProgramData/mamori');
const programFiles = () => join(prefix, 'drive_c/Program Files/mamori');
const installedVersion = () => (JSON.parse(readFileSync(join(programFiles(), 'release-manifest.json'), 'utf8')) as { version: string }).version;
const pending = (): PendingUpdate | undefined => (existsSync(join(programData(), 'updates/pending.json')) ? (JSON.parse(readFileSync(join(programData(), 'updates/pending.json'), 'utf8')) as PendingUpdate) : undefined);
const guardLog = () => (existsSync(join(programData(), 'updates/guard.log')) ? readFileSync(join(programData(), 'updates/guard.log'), 'utf8') : '(no guard.log)');
const consoleLog = () => (existsSync(join(programData(), 'logs/service-console.log')) ? readFileSync(join(programData(), 'logs/service-console.log'), 'utf8').slice(-2000) : '(none)');

async function build(version: string): Promise<string> {
  const out = join(work, `build-${version}`);
  const r = await run(process.execPath, [join(REPO, 'scripts/package.mjs'), 'msi', '--version', version, '--out', out, '--windows-node', WINE_NODE], { cwd: REPO, timeoutMs: 900_000, env: { ...process.env, MAMORI_RELEASE_SIGNING_KEY: keyFile } });
  if (r.code !== 0) throw new Error(`package.mjs msi --version ${version} failed: ${r.stderr}${r.stdout}`);
  return join(out, `mamori-agent-${version}-x64.msi`);
}

describe.skipIf(skipReal(TOOLS, PACKAGES))('agent updates through msiexec under wine', { timeout: 900_000 }, () => {
  beforeAll(async () => {
    requireTools(TOOLS, PACKAGES);
    work = mkdtempSync(join(tmpdir(), 'mamori-wine-update-'));
    prefix = join(work, 'prefix');
    mkdirSync(prefix);
    wine = wineIn(work, prefix);
    keyFile = join(work, 'release-key.pem');
    writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    await Promise.all([OLD, NEW].map(async (v) => (msis[v] = await build(v))));
    const cfg = await wine(['winecfg', '/v', 'win10']);
    if (cfg.code !== 0) throw new Error(`winecfg: ${cfg.out}`);
    const { material } = await initTls(join(work, 'collector'));
    collector = await startCollector({ dataDir: join(work, 'collector'), tls: material, log: createLogger({ component: 'collector', console: false }) });
  }, 1_800_000);

  afterAll(async () => {
    if (prefix) await run('wineserver', ['-k'], { env: { ...process.env, WINEPREFIX: prefix } }).catch(() => undefined);
    await collector?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('a rollout from the collector installs the new MSI through the guard outside the service; the new agent reports its version', async () => {
    const { token } = await createEnrollmentToken(collector.store, { segment: 'lgwan', expiresInMs: 10 * 60_000, singleUse: true });
    const installed = await wine(['msiexec', '/i', z(msis[OLD]!), '/qn', `COLLECTOR=${collector.agentUrl}`, `TOKEN=${token}`, `CA_PIN=${collector.caFingerprint}`]);
    expect(installed.code, installed.out).toBe(0);
    const { agentId } = await waitFor('identity.json written by the service', () => (existsSync(join(programData(), 'identity.json')) ? (JSON.parse(readFileSync(join(programData(), 'identity.json'), 'utf8')) as { agentId: string }) : undefined), 120_000);
    const notices = async (name: string) => (await collector.store.listEvents(agentId, 0, 100_000)).filter((e) => e.event.kind === 'agent.notice' && e.event.notice === name).map((e) => (e.event as { detail?: Record<string, unknown> }).detail ?? {});
    await waitFor('the agent says the MSI installed it', async () => ((await notices('update.ready')).some((d) => d.installer === 'msi' && d.version === OLD) ? true : undefined), 120_000).catch((err: Error) => {
      throw new Error(`${err.message}; agent console:\n${consoleLog()}`);
    });
    const identityBefore = readFileSync(join(programData(), 'identity.json'), 'utf8');

    const updates = new AgentUpdates(collector.store.sql, collector.dataDir);
    const ids: Record<string, string> = {};
    for (const v of [OLD, NEW]) ids[v] = (await updates.upload(msis[v]!, readFileSync(`${msis[v]}.update.json`, 'utf8'), 'admin')).id;
    const rollout = await updates.createRollout({ packageId: ids[NEW]!, selection: { kind: 'agents', ids: [agentId] }, deadlineSeconds: 300, createdBy: 'admin' });
    const state = await waitFor(
      'the rollout ends',
      async () => {
        const pc = (await updates.status(rollout.id))[0];
        return pc && ['installed', 'rolled_back', 'failed'].includes(pc.state) ? pc : undefined;
      },
      600_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; pending: ${JSON.stringify(pending())}\nguard.log:\n${guardLog()}\nagent console:\n${consoleLog()}`);
    });
    expect(state, `${JSON.stringify(state)}\nguard.log:\n${guardLog()}`).toMatchObject({ state: 'installed', fromVersion: OLD, targetVersion: NEW });
    expect(installedVersion()).toBe(NEW);
    await waitFor('the collector records the new version', async () => ((await collector.store.getAgent(agentId))?.agentVersion === NEW ? true : undefined), 60_000);
    expect(await notices('update.installed')).toEqual([expect.objectContaining({ rolloutId: rollout.id, fromVersion: OLD, toVersion: NEW })]);
    // The guard outlived the service it was started from (msiexec stopped it), and saw the new agent come back.
    await waitFor('the guard sees the new agent confirm', () => (pending()?.state === 'confirmed' ? true : undefined), 60_000).catch((err: Error) => {
      throw new Error(`${err.message}; pending: ${JSON.stringify(pending())}\nguard.log:\n${guardLog()}`);
    });
    expect(pending()).toMatchObject({ programDir: 'C:\\Program Files\\mamori' });
    expect(guardLog()).toMatch(new RegExp(`\\\\System32\\\\msiexec\\.exe /i \\S+\\.msi /qn /norestart ALLOW_DOWNGRADE=1 .*: exit (0|3010)`));
    // One product in Apps & Features, same identity.
    const uninstall = await wine(['reg', 'query', 'HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall', '/s']);
    expect(uninstall.out.match(/DisplayName\s+REG_SZ\s+mamori agent/g)).toHaveLength(1);
    expect(readFileSync(join(programData(), 'identity.json'), 'utf8')).toBe(identityBefore);
    expect((await wine(['sc', 'query', 'mamori-agent'])).out).toMatch(/STATE\s+:\s+4\s+RUNNING/);
  });
});
