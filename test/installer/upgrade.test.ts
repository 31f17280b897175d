/**
 * An upgrade through the package manager is no tamper alarm: two versions of the .deb built by
 * scripts/package.mjs (the same release signing key, `--version`, uncompressed to spare the
 * loaded machine), installed and upgraded with the real dpkg into a throwaway root, the INSTALLED
 * agent started after each step against a TLS collector. The upgrade becomes agent.notice
 * 'agent.upgraded' and no AGENT-004; the collector shows the new version; a file changed by hand
 * afterwards still is AGENT-004.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { startCollector } from '../../src/collector/collector.js';
import type { RunningCollector } from '../../src/collector/collector.js';
import { createEnrollmentToken } from '../../src/collector/tokens.js';
import { createLogger } from '../../src/shared/log.js';
import { initTls } from '../../src/shared/tls/material.js';
import { requireTools, skipReal } from '../helpers/linux-real.js';
import { REPO, run, waitFor } from './helpers.js';

const TOOLS = ['/usr/bin/dpkg-deb', '/usr/bin/dpkg', '/usr/bin/openssl'];
const PACKAGES = 'dpkg openssl';
const skip = skipReal(TOOLS, PACKAGES);
const OLD = '9.0.0';
const NEW = '9.0.1';
let work: string;
let root: string;
let collector: RunningCollector;

async function build(version: string): Promise<string> {
  const out = join(work, `build-${version}`);
  const r = await run(process.execPath, [join(REPO, 'scripts/package.mjs'), 'deb', '--version', version, '--compression', 'none', '--out', out], { cwd: REPO, timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`package.mjs --version ${version} failed: ${r.stderr}${r.stdout}`);
  return join(out, `mamori-agent_${version}_amd64.deb`);
}

function dpkg(args: string[], env: Record<string, string> = {}) {
  return run('dpkg', [`--root=${root}`, '--force-not-root', '--force-script-chrootless', '--force-depends', '--log=/dev/null', ...args], { env: { ...process.env, ...env }, timeoutMs: 120_000 });
}

let oldDeb: string;
let newDeb: string;

beforeAll(async () => {
  if (skip) return;
  requireTools(TOOLS, PACKAGES);
  work = mkdtempSync(join(tmpdir(), 'mamori-upgrade-'));
  oldDeb = await build(OLD);
  newDeb = await build(NEW);
  root = join(work, 'root');
  for (const d of ['var/lib/dpkg/info', 'var/lib/dpkg/updates', 'var/lib/dpkg/triggers']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'var/lib/dpkg/status'), '');
  writeFileSync(join(root, 'var/lib/dpkg/available'), '');
  const { material } = await initTls(join(work, 'collector'));
  collector = await startCollector({ dataDir: join(work, 'collector'), tls: material, log: createLogger({ component: 'collector', console: false }) });
}, 1_300_000);

afterAll(async () => {
  await collector?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Start the installed agent as the unit does (paths inside the root, an empty recording), wait until its start and integrity notices are stored, stop it. */
async function runInstalledAgent(): Promise<string> {
  const installed = parseDocument(readFileSync(join(root, 'etc/mamori/agent.yml'), 'utf8'));
  installed.set('stateDir', join(root, 'var/lib/mamori'));
  installed.set('logDir', join(root, 'var/log/mamori'));
  const config = join(work, 'run.yml');
  writeFileSync(config, installed.toString(), { mode: 0o600 });
  const replay = join(work, 'empty-recording');
  mkdirSync(replay, { recursive: true });
  writeFileSync(join(replay, 'meta.json'), JSON.stringify({ platform: 'linux', recordedAt: '2026-11-23T00:00:00.000Z', hostname: 'upgrade-test', source: 'made by test/installer/upgrade.test.ts: an empty recording (every probe unrecorded)' }));
  const { agentId } = JSON.parse(readFileSync(join(root, 'var/lib/mamori/identity.json'), 'utf8')) as { agentId: string };
  const before = (await collector.store.listEvents(agentId, 0, 10_000)).length;
  const integrityFile = join(root, 'var/lib/mamori/integrity.json');
  const recordedAt = () => (existsSync(integrityFile) ? (JSON.parse(readFileSync(integrityFile, 'utf8')) as { at: string }).at : undefined);
  const previousCheck = recordedAt();
  const agent = spawn(join(root, 'usr/lib/mamori-agent/node/bin/node'), [join(root, 'usr/lib/mamori-agent/mamori-agent.mjs'), 'agent', 'run', '--config', config, '--state', join(root, 'var/lib/mamori'), '--replay', replay], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  agent.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => agent.on('exit', (code) => resolve(code)));
  try {
    // The integrity record is written when this start's check ends; its notices are queued right after.
    await waitFor('the integrity check of this start', () => (recordedAt() !== previousCheck ? true : undefined), 120_000);
  } finally {
    agent.kill('SIGTERM');
  }
  expect(await exited, stderr).toBe(0);
  // The 'stopping' notice comes after them in the agent's sequence: once it is stored, they are.
  await waitFor('the stop notice', async () => ((await collector.store.listEvents(agentId, 0, 10_000)).slice(before).some((e) => e.event.kind === 'agent.notice' && e.event.notice === 'stopping') ? true : undefined), 60_000);
  return agentId;
}

async function notices(agentId: string, name: string) {
  return (await collector.store.listEvents(agentId, 0, 10_000)).filter((e) => e.event.kind === 'agent.notice' && e.event.notice === name).map((e) => (e.event as { detail?: Record<string, unknown> }).detail ?? {});
}

describe.skipIf(skip)('upgrading the .deb', { timeout: 300_000 }, () => {
  it('a dpkg upgrade to the next signed release raises no tamper alarm; a file changed by hand afterwards does', async () => {
    const { token } = await createEnrollmentToken(collector.store, { segment: 'lgwan', expiresInMs: 10 * 60_000, singleUse: true });
    const installed = await dpkg(['-i', oldDeb], { MAMORI_COLLECTOR: collector.agentUrl, MAMORI_TOKEN: token, MAMORI_CA_PIN: collector.caFingerprint! });
    expect(installed.code, installed.stderr).toBe(0);
    const agentId = await runInstalledAgent();
    expect((await collector.store.getAgent(agentId))?.agentVersion).toBe(OLD);
    const pinned = JSON.parse(readFileSync(join(root, 'var/lib/mamori/integrity.json'), 'utf8')) as { release?: { version: string } };
    expect(pinned.release?.version).toBe(OLD);

    const upgraded = await dpkg(['-i', newDeb]);
    expect(upgraded.code, upgraded.stderr).toBe(0);
    expect((await run('dpkg-query', [`--admindir=${root}/var/lib/dpkg`, '-W', '-f=${Version}', 'mamori-agent'])).stdout).toBe(NEW);
    await runInstalledAgent();
    const [notice] = await notices(agentId, 'agent.upgraded');
    expect(notice).toMatchObject({ fromVersion: OLD, toVersion: NEW });
    expect(Number(notice!.changedFiles)).toBeGreaterThanOrEqual(1);
    for (const name of ['binary.changed', 'catalogue.changed', 'config.changed']) expect(await notices(agentId, name), name).toEqual([]);
    expect((await collector.store.listViolations({ agentId, ruleId: 'AGENT-004' })).filter((v) => v.state === 'open')).toEqual([]);
    expect((await collector.store.getAgent(agentId))?.agentVersion).toBe(NEW);

    // Not through the package manager: a rule file edited by hand.
    appendFileSync(join(root, 'usr/lib/mamori-agent/config/sources.yml'), '\n# edited\n');
    await runInstalledAgent();
    expect(await notices(agentId, 'catalogue.changed')).toHaveLength(1);
    expect(await notices(agentId, 'agent.upgraded')).toHaveLength(1);
    await waitFor('AGENT-004 open', async () => ((await collector.store.listViolations({ agentId, ruleId: 'AGENT-004' })).some((v) => v.state === 'open') ? true : undefined), 30_000);
  });
});
