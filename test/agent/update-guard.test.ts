/**
 * The agent side of updates, without a package manager: the exact command lines the update
 * guard runs (dpkg, dpkg-query, rpm, systemd-run), the signature and hash checks of downloaded
 * packages, and the guard's decisions given what the installer answers (an install function
 * that records the command lines and answers as dpkg would). The same guard with the real dpkg
 * is test/installer/agent-update.test.ts.
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runUpdateGuard } from '../../agent/update/guard.js';
import { installCommand, installedVersionCommand } from '../../agent/update/installer.js';
import type { InstallCommand, InstallResult } from '../../agent/update/installer.js';
import { mark, packageRefusal, readPending, writePending } from '../../agent/update/pending.js';
import type { LocalPackage } from '../../agent/update/pending.js';
import { guardCommand } from '../../agent/update/updater.js';
import { statementBytes } from '../../src/shared/updates/statement.js';

const release = generateKeyPairSync('ed25519');
const releaseKey = release.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const other = generateKeyPairSync('ed25519');
let dir: string;

function localPackage(version: string, key = release.privateKey): LocalPackage {
  const file = join(dir, `mamori-agent_${version}_amd64.deb`);
  const bytes = Buffer.from(`deb ${version}`);
  writeFileSync(file, bytes);
  const s = { product: 'mamori-agent' as const, platform: 'deb' as const, version, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
  return { ...s, signature: sign(null, statementBytes(s), key).toString('base64'), file };
}

function pend(target: LocalPackage, rollback: LocalPackage, deadlineSeconds = 60) {
  writePending(dir, { rolloutId: 'rol_1', platform: 'deb', target, rollback, fromVersion: rollback.version, deadlineSeconds, agentPid: 999_999_999, state: 'verified', at: '2026-12-06T00:00:00.000Z' });
}

/** dpkg as the guard sees it: `installs` says what each --install leaves installed (and its exit status). */
function fakeDpkg(installs: Record<string, { code: number; leaves: string }>) {
  const calls: string[] = [];
  let installed = '1.0.0';
  const install = async (cmd: InstallCommand): Promise<InstallResult> => {
    calls.push([cmd.command, ...cmd.args].join(' '));
    if (cmd.command === 'dpkg-query') return { code: 0, output: installed };
    const r = installs[cmd.args.at(-1)!]!;
    installed = r.leaves;
    return { code: r.code, output: r.code ? 'dpkg: error processing archive' : '' };
  };
  return { calls, install };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mamori-update-guard-'));
  mkdirSync(join(dir, 'updates'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('update command lines', () => {
  it('installs with dpkg (downgrades too, kept conffiles) or rpm, and asks the package manager which version it installed', () => {
    expect(installCommand('deb', '/var/lib/mamori/updates/a.deb')).toEqual({ command: 'dpkg', args: ['--force-confold', '--force-downgrade', '--install', '/var/lib/mamori/updates/a.deb'], env: { DEBIAN_FRONTEND: 'noninteractive' } });
    expect(installCommand('rpm', '/var/lib/mamori/updates/a.rpm')).toEqual({ command: 'rpm', args: ['--upgrade', '--oldpackage', '--replacepkgs', '/var/lib/mamori/updates/a.rpm'], env: {} });
    expect(installedVersionCommand('deb')).toEqual({ command: 'dpkg-query', args: ['--showformat=${Version}', '--show', 'mamori-agent'], env: {} });
    expect(installedVersionCommand('rpm')).toEqual({ command: 'rpm', args: ['--query', '--queryformat', '%{VERSION}', 'mamori-agent'], env: {} });
  });

  it('starts the guard in a transient systemd unit of its own where systemd runs the PC', () => {
    const self = ['/usr/lib/mamori-agent/node/bin/node', '/usr/lib/mamori-agent/mamori-agent.mjs'];
    expect(guardCommand(self, '/var/lib/mamori', 'rol_1', true)).toEqual(['systemd-run', '--unit=mamori-agent-update-rol_1', '--collect', '--quiet', '--no-block', '--', ...self, 'agent', 'update-guard', '--state', '/var/lib/mamori']);
    expect(guardCommand(self, '/var/lib/mamori', 'rol_1', false)).toEqual([...self, 'agent', 'update-guard', '--state', '/var/lib/mamori']);
  });
});

describe('downloaded packages', () => {
  it('are installed only when the pinned release key signed their statement and the bytes are those it describes', async () => {
    const good = localPackage('1.0.1');
    expect(await packageRefusal(good, releaseKey)).toBeUndefined();
    expect(await packageRefusal(localPackage('1.0.2', other.privateKey), releaseKey)).toMatch(/not signed by the pinned release key/);
    writeFileSync(good.file, 'deb 1.0.X');
    expect(await packageRefusal(good, releaseKey)).toMatch(/SHA-256 or size differ/);
    expect(await packageRefusal({ ...localPackage('1.0.3'), version: '1.0.4' }, releaseKey)).toMatch(/not signed/);
  });
});

describe('the update guard', () => {
  it('keeps the new version once the new agent reached the collector', async () => {
    const target = localPackage('1.0.1');
    const rollback = localPackage('1.0.0');
    pend(target, rollback);
    mark(dir, 'confirmed', 'rol_1');
    const dpkg = fakeDpkg({ [target.file]: { code: 0, leaves: '1.0.1' } });
    expect(await runUpdateGuard({ stateDir: dir, releaseKey, install: dpkg.install, log: () => {} })).toBe('confirmed');
    expect(dpkg.calls).toEqual([`dpkg --force-confold --force-downgrade --install ${target.file}`, 'dpkg-query --showformat=${Version} --show mamori-agent']);
  });

  it('goes back to the previous package when the new agent does not come back in time', async () => {
    const target = localPackage('1.0.1');
    const rollback = localPackage('1.0.0');
    pend(target, rollback, 1);
    const dpkg = fakeDpkg({ [target.file]: { code: 0, leaves: '1.0.1' }, [rollback.file]: { code: 0, leaves: '1.0.0' } });
    expect(await runUpdateGuard({ stateDir: dir, releaseKey, install: dpkg.install, pollMs: 50, log: () => {} })).toBe('rolled_back');
    expect(dpkg.calls.filter((c) => c.startsWith('dpkg --'))).toEqual([`dpkg --force-confold --force-downgrade --install ${target.file}`, `dpkg --force-confold --force-downgrade --install ${rollback.file}`]);
    expect(readPending(dir)).toMatchObject({ state: 'rolled_back', reason: '新しいエージェント 1.0.1 が 1 秒以内に収集サーバーへ接続しなかったため、元のバージョンに戻しました / the new agent 1.0.1 did not reach the collector within 1 s' });
  });

  it('goes back when the installer fails, or exits 0 without installing the version (dpkg skipping a downgrade)', async () => {
    const target = localPackage('1.0.1');
    const rollback = localPackage('1.0.0');
    pend(target, rollback);
    let dpkg = fakeDpkg({ [target.file]: { code: 1, leaves: '1.0.0' }, [rollback.file]: { code: 0, leaves: '1.0.0' } });
    expect(await runUpdateGuard({ stateDir: dir, releaseKey, install: dpkg.install, log: () => {} })).toBe('rolled_back');
    expect(readPending(dir)?.reason).toMatch(/did not install 1\.0\.1 \(exit 1: dpkg: error processing archive\)/);

    pend(target, rollback);
    dpkg = fakeDpkg({ [target.file]: { code: 0, leaves: '1.0.0' }, [rollback.file]: { code: 0, leaves: '1.0.0' } });
    expect(await runUpdateGuard({ stateDir: dir, releaseKey, install: dpkg.install, log: () => {} })).toBe('rolled_back');
    expect(readPending(dir)?.reason).toMatch(/exit 0, but the package manager reports version 1\.0\.0/);

    // Going back fails too: said so, not called a rollback.
    pend(target, rollback);
    dpkg = fakeDpkg({ [target.file]: { code: 1, leaves: '1.0.0' }, [rollback.file]: { code: 2, leaves: '1.0.0' } });
    expect(await runUpdateGuard({ stateDir: dir, releaseKey, install: dpkg.install, log: () => {} })).toBe('failed');
    expect(readPending(dir)?.reason).toMatch(/going back to 1\.0\.0 failed too \(exit 2/);
  });

  it('installs nothing when a package is not signed by the pinned key, or when there is nothing to do', async () => {
    pend(localPackage('1.0.1', other.privateKey), localPackage('1.0.0'));
    const dpkg = fakeDpkg({});
    expect(await runUpdateGuard({ stateDir: dir, releaseKey, install: dpkg.install, log: () => {} })).toBe('failed');
    expect(dpkg.calls).toEqual([]);
    expect(readPending(dir)?.reason).toMatch(/not signed by the pinned release key/);
    // Run again (a second start of the guard): the update is no longer waiting to be installed.
    expect(await runUpdateGuard({ stateDir: dir, releaseKey, install: dpkg.install, log: () => {} })).toBe('nothing');
  });
});
