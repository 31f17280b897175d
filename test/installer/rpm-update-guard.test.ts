/**
 * The update guard's rpm path with the real rpm: two .rpm releases built by scripts/package.mjs
 * with a release key made here, 9.5.0 installed into a root of its own (helpers.ts mkRpmRoot;
 * its scriptlets run there), and the installed guard (`mamori-agent agent update-guard`) run
 * chrooted in that root on a pending update as the agent leaves it once both packages are
 * downloaded and verified. It installs 9.5.1 with `rpm --upgrade --oldpackage --replacepkgs`,
 * asks rpm which version is installed, and
 *  - goes back to 9.5.0 (an rpm downgrade) when the new agent does not confirm within the deadline;
 *  - keeps 9.5.1 when the new agent confirms. The confirmation file is written here, as the new
 *    agent writes it once it reaches the collector (that path runs with real agents and dpkg
 *    in agent-update.test.ts).
 * Not run: systemd (not PID 1 here), so no service restart between the two.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PendingUpdate } from '../../agent/update/pending.js';
import { SignedUpdateStatement } from '../../src/shared/updates/statement.js';
import { requireTools, skipReal } from '../helpers/linux-real.js';
import { REPO, buildBaseSystemRpm, mkRpmRoot, rpmRootUnavailable, run, runWithRoot, waitFor } from './helpers.js';

const TOOLS = ['/usr/bin/rpmbuild', '/usr/bin/rpm', '/usr/bin/unshare', '/usr/sbin/chroot'];
const PACKAGES = 'rpm util-linux coreutils';
const skip = skipReal(TOOLS, PACKAGES);
const noRoot = skip ? undefined : await rpmRootUnavailable();
if (noRoot && process.env.CI !== 'true') console.warn(`skipping the rpm update guard: ${noRoot}`);
const OLD = '9.5.0';
const NEW = '9.5.1';

let work: string;
let root: string;
const rpms: Record<string, string> = {};

const rpmIn = (args: string[]) => runWithRoot(root, 'rpm', ['--root', root, ...args]);
const installed = async () => (await rpmIn(['-q', '--qf', '%{VERSION}', 'mamori-agent'])).stdout;
const updates = () => join(root, 'var/lib/mamori/updates');

/** The pending update as the agent writes it after downloading and verifying both packages (paths inside the root). */
function pend(rolloutId: string, target: string, rollback: string, deadlineSeconds: number): void {
  mkdirSync(updates(), { recursive: true, mode: 0o700 });
  const local = (version: string) => {
    const statement = SignedUpdateStatement.parse(JSON.parse(readFileSync(`${rpms[version]}.update.json`, 'utf8')));
    copyFileSync(rpms[version]!, join(updates(), `${statement.sha256}.rpm`));
    return { ...statement, file: `/var/lib/mamori/updates/${statement.sha256}.rpm` };
  };
  const p: PendingUpdate = { rolloutId, platform: 'rpm', target: local(target), rollback: local(rollback), fromVersion: rollback, deadlineSeconds, agentPid: 0, state: 'verified', at: new Date().toISOString() };
  writeFileSync(join(updates(), 'pending.json'), JSON.stringify(p));
}

const pending = (): PendingUpdate | undefined => {
  try {
    return PendingUpdate.parse(JSON.parse(readFileSync(join(updates(), 'pending.json'), 'utf8')));
  } catch {
    return undefined;
  }
};

/** The installed guard, chrooted into the root; resolves with its exit code and output. */
function guard(): Promise<{ code: number | null; output: string }> {
  const binds = 'R=$1; shift; for d in usr/bin usr/lib/x86_64-linux-gnu usr/lib64 usr/lib/rpm usr/share/zoneinfo etc/alternatives dev proc; do mkdir -p "$R/$d"; mount --rbind "/$d" "$R/$d" || exit 97; done; exec "$@"';
  const child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', binds, 'sh', root, 'chroot', root, '/usr/lib/mamori-agent/node/bin/node', '/usr/lib/mamori-agent/mamori-agent.mjs', 'agent', 'update-guard', '--state', '/var/lib/mamori'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
}

beforeAll(async () => {
  if (skip) return;
  requireTools(TOOLS, PACKAGES);
  if (noRoot) {
    if (process.env.CI === 'true') throw new Error(noRoot);
    return;
  }
  work = mkdtempSync(join(tmpdir(), 'mamori-rpm-guard-'));
  const keyFile = join(work, 'release-key.pem');
  writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  for (const version of [OLD, NEW]) {
    const out = join(work, `build-${version}`);
    const r = await run(process.execPath, [join(REPO, 'scripts/package.mjs'), 'rpm', '--version', version, '--out', out], { cwd: REPO, timeoutMs: 600_000, env: { ...process.env, MAMORI_RELEASE_SIGNING_KEY: keyFile } });
    if (r.code !== 0) throw new Error(`package.mjs rpm --version ${version}: ${r.stderr}${r.stdout}`);
    rpms[version] = join(out, `mamori-agent-${version}-1.x86_64.rpm`);
  }
  root = join(work, 'pc');
  mkRpmRoot(root);
  expect((await rpmIn(['-i', await buildBaseSystemRpm(join(work, 'base'))])).code).toBe(0);
  writeFileSync(join(root, 'root/mamori-token'), `mmr1.${'3'.repeat(16)}.${'cd'.repeat(32)}\n`, { mode: 0o600 });
  const first = await runWithRoot(root, 'rpm', ['--root', root, '-i', rpms[OLD]!], { env: { ...process.env, MAMORI_COLLECTOR: 'wss://127.0.0.1:9/agent', MAMORI_CA_PIN: 'ab'.repeat(32), MAMORI_TOKEN_FILE: '/root/mamori-token', MAMORI_ENROLL_TIMEOUT: '5' } });
  if (first.code !== 0) throw new Error(`rpm -i ${OLD}: ${first.stderr}`);
}, 1_200_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.skipIf(skip || noRoot)('the update guard with the real rpm', { timeout: 600_000 }, () => {
  it('installs the new release and goes back to the previous one with rpm when the new agent does not come back', async () => {
    expect(await installed()).toBe(OLD);
    pend('rol_rpm_back', NEW, OLD, 5);
    const seen = new Set<string>();
    const done = guard();
    // While it waits for the new agent, rpm reports the new release installed.
    await waitFor('9.5.1 installed by the guard', async () => {
      const p = pending();
      if (p) seen.add(p.state);
      return p?.state === 'installed' ? true : undefined;
    }, 300_000);
    expect(await installed()).toBe(NEW);
    const r = await done;
    expect(r.code, r.output).toBe(1);
    expect(r.output).toMatch(/rpm --upgrade --oldpackage --replacepkgs \/var\/lib\/mamori\/updates\/[0-9a-f]{64}\.rpm: exit 0/);
    expect(pending()).toMatchObject({ state: 'rolled_back', reason: `新しいエージェント ${NEW} が 5 秒以内に収集サーバーへ接続しなかったため、元のバージョンに戻しました / the new agent ${NEW} did not reach the collector within 5 s` });
    expect(await installed()).toBe(OLD);
    expect([...seen]).toContain('installed');
    // Identity and settings survive both package changes.
    expect(existsSync(join(root, 'etc/mamori/agent.yml'))).toBe(true);
  });

  it('keeps the new release once the new agent confirms', async () => {
    pend('rol_rpm_keep', NEW, OLD, 600);
    const done = guard();
    await waitFor('9.5.1 installed by the guard', () => (pending()?.state === 'installed' ? true : undefined), 300_000);
    // What the new agent writes when it reaches the collector.
    writeFileSync(join(updates(), 'confirmed-rol_rpm_keep'), JSON.stringify({ at: new Date().toISOString() }));
    const r = await done;
    expect(r.code, r.output).toBe(0);
    expect(pending()).toMatchObject({ state: 'confirmed' });
    expect(await installed()).toBe(NEW);
  });
});
