/**
 * Which installer installed this agent (said to the collector at every start, 'update.ready'):
 * dpkg's file list, else rpm's answer, asked in the background so that the thread handling USB
 * events is not held while rpm reads its database. rpm here is a stand-in program on PATH.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { installerOfThisPc } from '../../agent/update/installer.js';

const dir = mkdtempSync(join(tmpdir(), 'mamori-installer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const noDpkg = join(dir, 'root-without-dpkg');
mkdirSync(noDpkg);

/** A directory with an `rpm` that exits with `code` once the file $MAMORI_TEST_GO exists (at once when unset). */
function fakeRpm(name: string, code: number): string {
  const bin = join(dir, name);
  mkdirSync(bin);
  writeFileSync(join(bin, 'rpm'), `#!/bin/sh\n[ "$*" = "-q --quiet mamori-agent" ] || exit 9\nif [ -n "$MAMORI_TEST_GO" ]; then while [ ! -e "$MAMORI_TEST_GO" ]; do sleep 0.05; done; fi\nexit ${code}\n`);
  chmodSync(join(bin, 'rpm'), 0o755);
  return bin;
}

describe.skipIf(process.platform === 'win32')('installerOfThisPc', () => {
  it('returns while rpm is still answering, then says rpm', async () => {
    const go = join(dir, 'go');
    const answer = installerOfThisPc('linux', { ...process.env, PATH: `${fakeRpm('rpm-yes', 0)}:/usr/bin:/bin`, DPKG_ROOT: noDpkg, MAMORI_TEST_GO: go });
    // rpm answers only once this file exists, and this line runs only after the call returned:
    // a query that held the thread until rpm exits would never see it.
    writeFileSync(go, '');
    expect(await answer).toBe('rpm');
  });

  it('none when rpm does not know the package or there is no rpm', async () => {
    expect(await installerOfThisPc('linux', { ...process.env, PATH: `${fakeRpm('rpm-no', 1)}:/usr/bin:/bin`, DPKG_ROOT: noDpkg, MAMORI_TEST_GO: '' })).toBe(null);
    expect(await installerOfThisPc('linux', { ...process.env, PATH: join(dir, 'nothing-here'), DPKG_ROOT: noDpkg })).toBe(null);
  });

  it("dpkg when dpkg's file list of mamori-agent exists (rpm is not asked); none on Windows", async () => {
    const root = join(dir, 'root-with-dpkg');
    mkdirSync(join(root, 'var/lib/dpkg/info'), { recursive: true });
    writeFileSync(join(root, 'var/lib/dpkg/info/mamori-agent.list'), '/usr/lib/mamori-agent\n');
    // An rpm that would answer yes: not asked.
    expect(await installerOfThisPc('linux', { ...process.env, PATH: `${fakeRpm('rpm-unasked', 0)}:/usr/bin:/bin`, DPKG_ROOT: root })).toBe('deb');
    expect(await installerOfThisPc('win32', { ...process.env, DPKG_ROOT: root })).toBe(null);
  });
});
