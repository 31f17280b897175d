/**
 * The agent side of updates, without a package manager: the exact command lines the update
 * guard runs (dpkg, dpkg-query, rpm, systemd-run, msiexec and the Windows service host's
 * --detach), the signature and hash checks of downloaded
 * packages, and the guard's decisions given what the installer answers (an install function
 * that records the command lines and answers as dpkg or msiexec would). The same guard with the
 * real dpkg is test/installer/agent-update.test.ts, with the real rpm rpm-update-guard.test.ts;
 * msiexec itself (an update from the collector, the service host's --detach) runs under wine in
 * test/installer/wine-update.test.ts.
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runUpdateGuard } from '../../agent/update/guard.js';
import { installCommand, installedOk, installedVersionCommand, installerOfThisPc, msiexecPath, msiInstalledVersion } from '../../agent/update/installer.js';
import type { InstallCommand, InstallResult } from '../../agent/update/installer.js';
import { mark, packageRefusal, pruneUpdates, readPending, writePending } from '../../agent/update/pending.js';
import type { LocalPackage } from '../../agent/update/pending.js';
import { guardCommand, windowsGuardCommand } from '../../agent/update/updater.js';
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

describe('Windows (msiexec)', () => {
  it('installs an MSI over the installed one, older or newer, with a verbose log beside it; 3010 and 1641 are installed', () => {
    // By its full path in System32, never through PATH (the guard runs as SYSTEM).
    expect(msiexecPath({ SystemRoot: 'D:\\WINDOWS' })).toBe('D:\\WINDOWS\\System32\\msiexec.exe');
    expect(msiexecPath({})).toBe('C:\\Windows\\System32\\msiexec.exe');
    expect(installCommand('msi', 'C:\\ProgramData\\mamori\\updates\\a.msi')).toEqual({ command: msiexecPath(), args: ['/i', 'C:\\ProgramData\\mamori\\updates\\a.msi', '/qn', '/norestart', 'ALLOW_DOWNGRADE=1', '/l*v', 'C:\\ProgramData\\mamori\\updates\\a.msi.log'], env: {}, logFile: 'C:\\ProgramData\\mamori\\updates\\a.msi.log' });
    expect([0, 3010, 1641, 1603, 1618, null].map((c) => installedOk('msi', c))).toEqual([true, true, true, false, false, false]);
    expect(installedOk('deb', 3010)).toBe(false);
  });

  it('knows the MSI by the service host beside node.exe, and reads the installed version from the release manifest', async () => {
    mkdirSync(join(dir, 'mamori'));
    const node = join(dir, 'mamori', 'node.exe');
    expect(await installerOfThisPc('win32', {}, node)).toBeNull();
    writeFileSync(join(dir, 'mamori', 'mamori-service.exe'), '');
    writeFileSync(join(dir, 'mamori', 'release-manifest.json'), JSON.stringify({ product: 'mamori-agent', version: '2.0.1', files: {} }));
    expect(await installerOfThisPc('win32', {}, node)).toBe('msi');
    expect(msiInstalledVersion(join(dir, 'mamori'))).toBe('2.0.1');
    expect(msiInstalledVersion(join(dir, 'nowhere'))).toBe('');
  });

  it('starts the guard from a copy of node.exe and the program, outside the service through the service host', () => {
    const self = ['C:\\Program Files\\mamori\\node.exe', '--lite-mode', 'C:\\Program Files\\mamori\\mamori-agent.mjs'];
    expect(windowsGuardCommand(self, 'C:\\ProgramData\\mamori', 'C:\\Program Files\\mamori')).toEqual({
      copies: [
        ['C:\\Program Files\\mamori\\node.exe', 'C:\\ProgramData\\mamori\\updates\\guard\\node.exe'],
        ['C:\\Program Files\\mamori\\mamori-agent.mjs', 'C:\\ProgramData\\mamori\\updates\\guard\\mamori-agent.mjs'],
      ],
      command: ['C:\\Program Files\\mamori\\mamori-service.exe', '--detach', '--', 'C:\\ProgramData\\mamori\\updates\\guard\\node.exe', '--lite-mode', 'C:\\ProgramData\\mamori\\updates\\guard\\mamori-agent.mjs', 'agent', 'update-guard', '--state', 'C:\\ProgramData\\mamori'],
    });
  });

  it('the guard installs with msiexec, checks the installed release manifest and goes back with the older MSI', async () => {
    const target = { ...localPackage('1.0.1'), platform: 'msi' as const };
    const rollback = { ...localPackage('1.0.0'), platform: 'msi' as const };
    const msi = (p: LocalPackage) => {
      const s = { product: p.product, platform: 'msi' as const, version: p.version, sha256: p.sha256, size: p.size };
      return { ...s, signature: sign(null, statementBytes(s), release.privateKey).toString('base64'), file: p.file };
    };
    writePending(dir, { rolloutId: 'rol_w', platform: 'msi', target: msi(target), rollback: msi(rollback), fromVersion: '1.0.0', deadlineSeconds: 1, agentPid: 999_999_999, programDir: 'C:\\Program Files\\mamori', state: 'verified', at: '2026-12-06T00:00:00.000Z' });
    const calls: string[] = [];
    let installed = '1.0.0';
    const install = async (cmd: InstallCommand): Promise<InstallResult> => {
      calls.push([cmd.command, ...cmd.args].join(' '));
      installed = cmd.args[1] === target.file ? '1.0.1' : '1.0.0';
      return { code: cmd.args[1] === target.file ? 3010 : 0, output: '' };
    };
    const asked: string[] = [];
    const msiVersion = (programDir: string) => (asked.push(programDir), installed);
    expect(await runUpdateGuard({ stateDir: dir, releaseKey, install, msiVersion, pollMs: 50, log: () => {} })).toBe('rolled_back');
    expect(calls).toEqual([`${msiexecPath()} /i ${target.file} /qn /norestart ALLOW_DOWNGRADE=1 /l*v ${target.file}.log`, `${msiexecPath()} /i ${rollback.file} /qn /norestart ALLOW_DOWNGRADE=1 /l*v ${rollback.file}.log`]);
    expect(asked).toEqual(['C:\\Program Files\\mamori', 'C:\\Program Files\\mamori']);
    expect(installed).toBe('1.0.0');
  });

  it('keeps the MSI logs of the packages it keeps, removes the others and partial downloads', () => {
    const keep = (h: string) => ({ ...localPackage('1.0.0'), file: join(dir, 'updates', `${h.repeat(64)}.msi`) });
    pend(keep('a'), keep('b'));
    const p = readPending(dir)!;
    for (const name of ['a', 'b', 'c'].flatMap((h) => [`${h.repeat(64)}.msi`, `${h.repeat(64)}.msi.log`]).concat([`${'a'.repeat(64)}.msi.part`])) writeFileSync(join(dir, 'updates', name), '');
    expect(pruneUpdates(dir, p)).toEqual([`${'a'.repeat(64)}.msi.part`, `${'c'.repeat(64)}.msi`, `${'c'.repeat(64)}.msi.log`]);
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
