/**
 * Agent updates from the collector, with real processes and the real dpkg:
 *  - three packages built by scripts/package.mjs with a release key made here (9.0.0, 9.0.1, and
 *    a 9.0.2 whose agent exits at start: the 9.0.2 package unpacked, its bundle made to exit 3,
 *    repacked with dpkg-deb and its statement signed with the same key, as a broken release
 *    would be);
 *  - three "PCs": three dpkg roots with 9.0.0 installed (`dpkg --root`, maintainer scripts run
 *    with DPKG_ROOT), each agent run from its root by a loop that restarts it when it exits, as
 *    systemd's Restart=always does. The agents get DPKG_ROOT/DPKG_FORCE in their environment,
 *    so the plain `dpkg --install` the update guard runs installs into their root;
 *  - a TLS collector; packages uploaded and rolled out with the built CLI
 *    (`mamori collector update upload|rollout|status`).
 * 9.0.1 goes to two PCs (the canary group) and is installed; 9.0.2 goes to the third, does not
 * come back, and that PC goes back to 9.0.0 on its own. Nothing raises AGENT-004.
 * Not exercised: systemd-run (no systemd as PID 1 here; the guard is started detached instead)
 * and the package's own service restart (skipped under DPKG_ROOT).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { startCollector } from '../../src/collector/collector.js';
import type { RunningCollector } from '../../src/collector/collector.js';
import { createEnrollmentToken } from '../../src/collector/tokens.js';
import { AgentUpdates } from '../../src/collector/updates/rollouts.js';
import type { RolloutPc } from '../../src/collector/updates/rollouts.js';
import { createLogger } from '../../src/shared/log.js';
import { initTls } from '../../src/shared/tls/material.js';
import { statementBytes } from '../../src/shared/updates/statement.js';
import { requireTools, skipReal } from '../helpers/linux-real.js';
import { REPO, run, waitFor } from './helpers.js';

const TOOLS = ['/usr/bin/dpkg-deb', '/usr/bin/dpkg', '/usr/bin/openssl'];
const PACKAGES = 'dpkg openssl';
const skip = skipReal(TOOLS, PACKAGES);
const OLD = '9.0.0';
const NEW = '9.0.1';
const BROKEN = '9.0.2';
const DPKG_FORCE = 'not-root,script-chrootless,depends';

let work: string;
let keyFile: string;
let collector: RunningCollector;
const debs: Record<string, string> = {};

async function build(version: string): Promise<string> {
  const out = join(work, `build-${version}`);
  const r = await run(process.execPath, [join(REPO, 'scripts/package.mjs'), 'deb', '--version', version, '--compression', 'none', '--out', out], { cwd: REPO, timeoutMs: 600_000, env: { ...process.env, MAMORI_RELEASE_SIGNING_KEY: keyFile } });
  if (r.code !== 0) throw new Error(`package.mjs --version ${version} failed: ${r.stderr}${r.stdout}`);
  return join(out, `mamori-agent_${version}_amd64.deb`);
}

/** The 9.0.2 package with an agent that exits at once, repacked and its statement signed with the release key. */
async function breakPackage(deb: string): Promise<void> {
  const x = join(work, 'broken');
  expect((await run('dpkg-deb', ['-R', deb, x])).code).toBe(0);
  const bundle = join(x, 'usr/lib/mamori-agent/mamori-agent.mjs');
  const lines = readFileSync(bundle, 'utf8').split('\n');
  lines.splice(1, 0, "console.error('this release does not start'); process.exit(3);");
  writeFileSync(bundle, lines.join('\n'));
  expect((await run('dpkg-deb', ['--root-owner-group', '-Znone', '--build', x, deb])).code).toBe(0);
  const bytes = readFileSync(deb);
  const statement = { product: 'mamori-agent' as const, platform: 'deb' as const, version: BROKEN, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
  const signature = sign(null, statementBytes(statement), readFileSync(keyFile, 'utf8')).toString('base64');
  writeFileSync(`${deb}.update.json`, JSON.stringify({ ...statement, signature }));
}

class Pc {
  readonly root: string;
  private child: ChildProcess | undefined;
  private stopped = false;
  /** Exit codes of every agent process this PC ran. */
  readonly exits: (number | null)[] = [];
  agentId = '';

  constructor(readonly name: string) {
    this.root = join(work, name);
    for (const d of ['var/lib/dpkg/info', 'var/lib/dpkg/updates', 'var/lib/dpkg/triggers']) mkdirSync(join(this.root, d), { recursive: true });
    writeFileSync(join(this.root, 'var/lib/dpkg/status'), '');
    writeFileSync(join(this.root, 'var/lib/dpkg/available'), '');
  }

  get env() {
    return { ...process.env, DPKG_ROOT: this.root, DPKG_FORCE };
  }

  dpkg(args: string[], env: Record<string, string> = {}) {
    return run('dpkg', ['--log=/dev/null', ...args], { env: { ...this.env, ...env }, timeoutMs: 240_000 });
  }

  async version(): Promise<string> {
    return (await run('dpkg-query', [`--admindir=${this.root}/var/lib/dpkg`, '-W', '-f=${Version}', 'mamori-agent'])).stdout;
  }

  /** Run the installed agent as its unit does, with its paths inside the root, and start it again whenever it exits (Restart=always). */
  supervise(): void {
    const installed = parseDocument(readFileSync(join(this.root, 'etc/mamori/agent.yml'), 'utf8'));
    installed.set('stateDir', join(this.root, 'var/lib/mamori'));
    installed.set('logDir', join(this.root, 'var/log/mamori'));
    const config = join(work, `${this.name}.yml`);
    writeFileSync(config, installed.toString(), { mode: 0o600 });
    const replay = join(work, 'empty-recording');
    mkdirSync(replay, { recursive: true });
    writeFileSync(join(replay, 'meta.json'), JSON.stringify({ platform: 'linux', recordedAt: '2026-12-06T00:00:00.000Z', hostname: 'update-test', source: 'made by test/installer/agent-update.test.ts: an empty recording (every probe unrecorded)' }));
    const start = () => {
      if (this.stopped) return;
      const lib = join(this.root, 'usr/lib/mamori-agent');
      this.child = spawn(join(lib, 'node/bin/node'), [join(lib, 'mamori-agent.mjs'), 'agent', 'run', '--config', config, '--state', join(this.root, 'var/lib/mamori'), '--replay', replay], { env: this.env, stdio: 'ignore' });
      this.child.on('exit', (code) => {
        this.exits.push(code);
        setTimeout(start, 1000);
      });
    };
    start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }
}

const pcs: Pc[] = [];

beforeAll(async () => {
  if (skip) return;
  requireTools(TOOLS, PACKAGES);
  work = mkdtempSync(join(tmpdir(), 'mamori-agent-update-'));
  keyFile = join(work, 'release-key.pem');
  writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  for (const v of [OLD, NEW, BROKEN]) debs[v] = await build(v);
  await breakPackage(debs[BROKEN]!);
  const { material } = await initTls(join(work, 'collector'));
  collector = await startCollector({ dataDir: join(work, 'collector'), tls: material, log: createLogger({ component: 'collector', console: false }) });
  pcs.push(new Pc('pc-a'), new Pc('pc-b'), new Pc('pc-c'));
}, 1_300_000);

afterAll(async () => {
  for (const pc of pcs) await pc.stop();
  await collector?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

function cli(args: string[]) {
  return run(process.execPath, [join(REPO, 'bin/mamori.js'), 'collector', 'update', ...args, '--data', join(work, 'collector')], { cwd: REPO });
}

async function notices(agentId: string, name: string) {
  return (await collector.store.listEvents(agentId, 0, 100_000)).filter((e) => e.event.kind === 'agent.notice' && e.event.notice === name).map((e) => (e.event as { detail?: Record<string, unknown> }).detail ?? {});
}

describe.skipIf(skip)('agent updates from the collector', { timeout: 900_000 }, () => {
  it('installs a signed update on two PCs through dpkg and, on a third where the new agent does not start, goes back to the old package', async () => {
    const updates = new AgentUpdates(collector.store.sql, join(work, 'collector'));
    for (const pc of pcs) {
      const { token } = await createEnrollmentToken(collector.store, { segment: 'lgwan', expiresInMs: 10 * 60_000, singleUse: true });
      const installed = await pc.dpkg(['-i', debs[OLD]!], { MAMORI_COLLECTOR: collector.agentUrl, MAMORI_TOKEN: token, MAMORI_CA_PIN: collector.caFingerprint! });
      expect(installed.code, installed.stderr).toBe(0);
      pc.agentId = (JSON.parse(readFileSync(join(pc.root, 'var/lib/mamori/identity.json'), 'utf8')) as { agentId: string }).agentId;
      pc.supervise();
    }
    // Each agent says which installer installed it once it reaches the collector.
    for (const pc of pcs) {
      await waitFor(`${pc.name} says it was installed by dpkg`, async () => ((await notices(pc.agentId, 'update.ready')).some((d) => d.installer === 'deb' && d.version === OLD) ? true : undefined), 120_000);
    }

    const ids: Record<string, string> = {};
    for (const v of [OLD, NEW, BROKEN]) {
      const up = await cli(['upload', debs[v]!]);
      expect(up.code, up.stderr).toBe(0);
      ids[v] = up.stdout.trim();
    }
    // Wider than the canary group before the canary succeeded: refused.
    const early = await cli(['rollout', ids[NEW]!, '--segment', 'lgwan']);
    expect(early.code).not.toBe(0);
    expect(early.stderr).toMatch(/canary-first/);

    const [a, b, c] = pcs as [Pc, Pc, Pc];
    const canary = await cli(['rollout', ids[NEW]!, '--agents', `${a.agentId},${b.agentId}`, '--deadline', '5m']);
    expect(canary.code, canary.stderr).toBe(0);
    const broken = await cli(['rollout', ids[BROKEN]!, '--agents', c.agentId, '--deadline', '30s']);
    expect(broken.code, broken.stderr).toBe(0);

    const stateOf = async (pc: Pc): Promise<RolloutPc['state'] | undefined> => (await updates.status()).find((r) => r.agentId === pc.agentId)?.state;
    /** What each PC and the collector say, when a wait fails. */
    const situation = async () => {
      const lines = [JSON.stringify(await updates.status())];
      for (const pc of pcs) {
        const dir = join(pc.root, 'var/lib/mamori/updates');
        const read = (name: string) => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'utf8') : '(none)');
        lines.push(`${pc.name} dpkg says ${await pc.version()}; bundle starts ${readFileSync(join(pc.root, 'usr/lib/mamori-agent/mamori-agent.mjs'), 'utf8').split('\n')[1]?.slice(0, 80)}`);
        lines.push(`${pc.name} exits ${JSON.stringify(pc.exits.slice(-5))} (${pc.exits.length}) pending ${read('pending.json')} guard.log ${read('guard.log')}`);
        lines.push(`${pc.name} notices ${JSON.stringify((await collector.store.listEvents(pc.agentId, 0, 100_000)).filter((e) => e.event.kind === 'agent.notice').map((e) => [(e.event as { notice: string }).notice, (e.event as { detail?: unknown }).detail]))}`);
      }
      return lines.join('\n');
    };
    const until = async (what: string, probe: () => Promise<boolean>) => {
      try {
        await waitFor(what, async () => ((await probe()) ? true : undefined), 240_000);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${await situation()}`);
      }
    };
    for (const pc of [a, b]) await until(`${pc.name} installed ${NEW}`, async () => (await stateOf(pc)) === 'installed');
    await until(`${c.name} went back to ${OLD}`, async () => (await stateOf(c)) === 'rolled_back');

    // What dpkg says is installed on each PC, and what the collector shows.
    expect(await a.version()).toBe(NEW);
    expect(await b.version()).toBe(NEW);
    expect(await c.version()).toBe(OLD);
    for (const pc of [a, b]) {
      await waitFor(`${pc.name} reports ${NEW}`, async () => ((await collector.store.getAgent(pc.agentId))?.agentVersion === NEW ? true : undefined), 60_000);
      expect(await notices(pc.agentId, 'update.installed')).toEqual([expect.objectContaining({ fromVersion: OLD, toVersion: NEW })]);
    }
    expect((await collector.store.getAgent(c.agentId))?.agentVersion).toBe(OLD);
    const [back] = await notices(c.agentId, 'update.rolled_back');
    expect(back).toMatchObject({ version: BROKEN });
    expect(String(back!.reason)).toMatch(/did not reach the collector within 30 s/);
    // The broken release did run, and failed, before the PC went back.
    expect(c.exits).toContain(3);

    // The upgrade through the update is the package manager's: no tamper alarm on any PC.
    for (const pc of [a, b]) {
      await waitFor(`${pc.name} integrity check after the update`, async () => ((await notices(pc.agentId, 'agent.upgraded')).length > 0 ? true : undefined), 180_000);
      expect((await notices(pc.agentId, 'agent.upgraded'))[0]).toMatchObject({ fromVersion: OLD, toVersion: NEW });
    }
    for (const pc of pcs) {
      for (const name of ['binary.changed', 'catalogue.changed']) expect(await notices(pc.agentId, name), `${pc.name} ${name}`).toEqual([]);
      expect((await collector.store.listViolations({ agentId: pc.agentId, ruleId: 'AGENT-004' })).filter((v) => v.state === 'open'), pc.name).toEqual([]);
    }

    const status = await cli(['status']);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout.match(/\t9\.0\.1\t更新完了\t/g)).toHaveLength(2);
    expect(status.stdout).toMatch(/\t9\.0\.0\t9\.0\.2\t切り戻し\t.*did not reach the collector/);
  });
});
