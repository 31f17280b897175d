/**
 * The optional .rpm (RHEL-family desktops), built by scripts/package.mjs with rpmbuild and read
 * back with rpm -qp. Its scriptlets are the Debian maintainer scripts with rpm's counts mapped to
 * dpkg's verbs; they run for real through the .deb (deb.test.ts) and, installed by dnf into a
 * root of their own, in rpm-signed.test.ts.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools, skipReal } from '../helpers/linux-real.js';
import { USB_PACKAGE_FILES, VERSION, buildPackages, run } from './helpers.js';

let out: string;
const RPM = () => join(out, `mamori-agent-${VERSION}-1.x86_64.rpm`);

const TOOLS = ['/usr/bin/rpmbuild', '/usr/bin/rpm'];
const PACKAGES = 'rpm';
const skip = skipReal(TOOLS, PACKAGES);

beforeAll(async () => {
  if (skip) return;
  requireTools(TOOLS, PACKAGES);
  out = await buildPackages(['rpm']);
}, 300_000);

afterAll(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

describe.skipIf(skip)('mamori-agent .rpm', { timeout: 60_000 }, () => {
  it('has the package metadata', async () => {
    const r = await run('rpm', ['-qp', '--qf', '%{NAME} %{VERSION} %{RELEASE} %{ARCH}', RPM()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`mamori-agent ${VERSION} 1 x86_64`);
    const requires = await run('rpm', ['-qp', '--requires', RPM()]);
    expect(requires.stdout).toMatch(/^glibc >= 2\.28$/m);
  });

  it('installs the same files as the .deb, the runtime executable', async () => {
    const r = await run('rpm', ['-qp', '--qf', '[%{FILEMODES:perms} %{FILENAMES}\\n]', RPM()]);
    expect(r.code, r.stderr).toBe(0);
    const files = new Map(r.stdout.trim().split('\n').map((l) => [l.slice(l.indexOf(' ') + 1), l.slice(0, l.indexOf(' '))] as const));
    expect(files.get('/usr/lib/mamori-agent/node/bin/node')).toBe('-rwxr-xr-x');
    expect(files.get('/usr/sbin/mamori-agent')).toBe('-rwxr-xr-x');
    for (const f of ['/usr/lib/mamori-agent/mamori-agent.mjs', '/usr/lib/mamori-agent/config/sources.yml', '/usr/lib/systemd/system/mamori-agent.service']) expect(files.has(f), f).toBe(true);
    expect([...files.keys()].filter((p) => /node_modules\/.+\.[a-z]+$|\.node$/.test(p)).sort()).toEqual(USB_PACKAGE_FILES);
  });

  it('maps rpm scriptlet counts to the dpkg verbs of the shared scripts', async () => {
    const r = await run('rpm', ['-qp', '--scripts', RPM()]);
    expect(r.code, r.stderr).toBe(0);
    // A first install without settings is refused in %pre, before rpm writes a file.
    expect(r.stdout).toMatch(/preinstall scriptlet[^\n]*\n\[ "\$1" = 1 \] && set -- install \|\| set -- upgrade\n/);
    expect(r.stdout).toContain('MAMORI_CA_PIN がありません');
    expect(r.stdout).toMatch(/postinstall scriptlet[^\n]*\n\[ "\$1" = 1 \] && set -- configure \|\| set -- configure upgrade\n/);
    // systemd on RHEL (no deb-systemd-helper): enabled on the first install only, restarted on upgrade.
    expect(r.stdout).toContain('[ -n "$OLD_VERSION" ] || systemctl enable mamori-agent.service');
    // Only a removal ($1 = 0) runs prerm/postrm: on an upgrade the new %post already restarted the service.
    expect(r.stdout).toMatch(/preuninstall scriptlet[^\n]*\n\[ "\$1" = 0 \] \|\| exit 0\n\[ ! -d \/run\/systemd\/system \] \|\| systemctl stop mamori-agent.service >\/dev\/null 2>&1 \|\| true\nset -- remove\n/);
    // rpm -e removes state, token and key as dpkg --purge does.
    expect(r.stdout).toMatch(/postuninstall scriptlet[^\n]*\n\[ "\$1" = 0 \] \|\| exit 0\n.*daemon-reload.*\nset -- purge\n/);
    expect(r.stdout).toContain('agent configure');
    expect(r.stdout).toContain('agent notify-uninstall');
  });
});
