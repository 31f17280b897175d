/**
 * The signed .rpm and the signed yum/dnf repository, with the real rpm, rpmsign, createrepo_c
 * and dnf:
 *  - scripts/package.mjs signs the .rpm with MAMORI_RPM_GPG_KEY (an RSA key made here, in its
 *    own GNUPGHOME); `rpm -K` verifies it with that key imported into an rpm database of its
 *    own, and refuses it with another key or none;
 *  - scripts/yum-repository.mjs builds the repository (repomd.xml.asc) and refuses an unsigned
 *    package;
 *  - dnf installs mamori-agent from it into a root of its own with gpgcheck=1 and
 *    repo_gpgcheck=1, the package's %pre/%post running chrooted in that root (the host's
 *    programs bind-mounted in: helpers.ts mkRpmRoot), and refuses a repository signed with
 *    another key; `rpm -e` then removes settings, token, state and logs as dpkg's purge does.
 * The root's rpm database has no glibc: one small package made here provides glibc,
 * libstdc++ and /bin/sh in it, standing for the base system whose libraries are bound in.
 * Not run: systemd (not PID 1 here: the scriptlets' systemctl branch is skipped).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { requireTools, skipReal } from '../helpers/linux-real.js';
import { REPO, buildBaseSystemRpm, mkRpmRoot, rpmRootUnavailable, run, runWithRoot } from './helpers.js';

const TOOLS = ['/usr/bin/rpmbuild', '/usr/bin/rpm', '/usr/bin/rpmsign', '/usr/bin/gpg', '/usr/bin/createrepo_c', '/usr/bin/dnf', '/usr/bin/unshare'];
const PACKAGES = 'rpm gnupg createrepo-c dnf util-linux';
const skip = skipReal(TOOLS, PACKAGES);
const noRoot = skip ? undefined : await rpmRootUnavailable();
if (noRoot && process.env.CI !== 'true') console.warn(`skipping the dnf install into a root: ${noRoot}`);
const VERSION = '9.3.0';
const TOKEN = `mmr1.${'2'.repeat(16)}.${'ab'.repeat(32)}`;

let work: string;
let gnupg: string;
let rpm: string;
let base: string;

async function gpg(args: string[]) {
  const r = await run('gpg', ['--batch', '--homedir', gnupg, ...args]);
  if (r.code !== 0) throw new Error(`gpg ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A new RSA signing key (rpm verifies RSA on every RHEL release); writes its armored public key to <name>.asc. */
async function newKey(name: string): Promise<{ id: string; file: string }> {
  await gpg(['--passphrase', '', '--quick-gen-key', `${name} <${name}@example.invalid>`, 'rsa3072', 'sign', 'never']);
  const file = join(work, `${name}.asc`);
  writeFileSync(file, await gpg(['--export', '--armor', `${name}@example.invalid`]));
  return { id: `${name}@example.invalid`, file };
}

function yumRepository(key: string, out: string, rpms: string[]) {
  return run(process.execPath, [join(REPO, 'scripts/yum-repository.mjs'), '--key', key, '--out', out, ...rpms], { env: { ...process.env, GNUPGHOME: gnupg } });
}

/** rpm with a database of its own. */
function rpmDb(name: string) {
  const db = join(work, `rpmdb-${name}`);
  mkdirSync(db, { recursive: true });
  return (args: string[]) => run('rpm', ['--dbpath', db, ...args]);
}

let release: { id: string; file: string };
let other: { id: string; file: string };

beforeAll(async () => {
  if (skip) return;
  requireTools(TOOLS, PACKAGES);
  if (noRoot && process.env.CI === 'true') throw new Error(noRoot);
  work = mkdtempSync(join(tmpdir(), 'mamori-rpm-signed-'));
  gnupg = join(work, 'gnupg');
  mkdirSync(gnupg, { mode: 0o700 });
  release = await newKey('mamori-rpm');
  other = await newKey('someone-else');
  const r = await run(process.execPath, [join(REPO, 'scripts/package.mjs'), 'rpm', '--version', VERSION, '--out', join(work, 'build')], {
    cwd: REPO,
    timeoutMs: 600_000,
    env: { ...process.env, GNUPGHOME: gnupg, MAMORI_RPM_GPG_KEY: release.id },
  });
  if (r.code !== 0) throw new Error(`package.mjs: ${r.stderr}${r.stdout}`);
  rpm = join(work, 'build', `mamori-agent-${VERSION}-1.x86_64.rpm`);
  base = await buildBaseSystemRpm(join(work, 'base'));
}, 700_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.skipIf(skip)('the signed .rpm and yum repository', { timeout: 600_000 }, () => {
  it('carries a signature rpm -K verifies with the release key and refuses with another key or none', async () => {
    const sig = await run('rpm', ['-qp', '--qf', '%{RSAHEADER:pgpsig}', rpm]);
    expect(sig.stdout).toMatch(/^RSA\/SHA\d+, .*, Key ID [0-9a-f]{16}$/);
    // The statement of the agent update is that of the signed file.
    const statement = JSON.parse(readFileSync(`${rpm}.update.json`, 'utf8')) as { size: number };
    expect(statement.size).toBe(readFileSync(rpm).length);

    const trusting = rpmDb('trusting');
    expect((await trusting(['--import', release.file])).code).toBe(0);
    const ok = await trusting(['-K', rpm]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/digests signatures OK$/m);

    const wrong = rpmDb('other-key');
    expect((await wrong(['--import', other.file])).code).toBe(0);
    const refused = await wrong(['-K', rpm]);
    expect(refused.code).not.toBe(0);
    expect(refused.stdout).toMatch(/SIGNATURES NOT OK/);
    expect((await wrong(['-Kv', rpm])).stdout).toMatch(/Header V4 RSA\/SHA\d+ Signature, key ID [0-9a-f]{8}: NOKEY/);
    const none = await rpmDb('no-key')(['-K', rpm]);
    expect(none.code).not.toBe(0);
    expect(none.stdout).toMatch(/SIGNATURES NOT OK/);
  });

  it('builds a repository whose repomd.xml is signed, and refuses an unsigned package', async () => {
    const repo = join(work, 'repo-check');
    const built = await yumRepository(release.id, repo, [rpm]);
    expect(built.code, built.stderr).toBe(0);
    expect(readFileSync(join(repo, 'repodata/repomd.xml'), 'utf8')).toContain('<data type="primary">');
    const verify = await run('gpg', ['--batch', '--homedir', gnupg, '--verify', join(repo, 'repodata/repomd.xml.asc'), join(repo, 'repodata/repomd.xml')]);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stderr).toContain('mamori-rpm@example.invalid');
    expect(readFileSync(join(repo, 'RPM-GPG-KEY-mamori'), 'utf8')).toBe(readFileSync(release.file, 'utf8'));

    const unsigned = join(work, 'unsigned.rpm');
    writeFileSync(unsigned, readFileSync(rpm));
    expect((await run('rpmsign', ['--delsign', unsigned])).code).toBe(0);
    const refused = await yumRepository(release.id, join(work, 'repo-unsigned'), [unsigned]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('unsigned.rpm に署名がありません');
    expect(existsSync(join(work, 'repo-unsigned/repodata'))).toBe(false);
  });

  it.skipIf(noRoot)('dnf installs it from the repository into a root (scriptlets run there), rpm -e removes token and state; another key is refused', async () => {
    const repo = join(work, 'repo');
    expect((await yumRepository(release.id, repo, [rpm])).code).toBe(0);
    const forged = join(work, 'repo-forged');
    expect((await yumRepository(other.id, forged, [rpm])).code).toBe(0);

    const pc = (name: string, baseurl: string) => {
      const root = join(work, name);
      mkRpmRoot(root);
      mkdirSync(join(root, 'etc/yum.repos.d'), { recursive: true });
      writeFileSync(join(root, 'etc/yum.repos.d/mamori.repo'), `[mamori]\nname=mamori\nbaseurl=file://${baseurl}\ngpgcheck=1\nrepo_gpgcheck=1\ngpgkey=file://${release.file}\n`);
      const dnf = (args: string[], env: NodeJS.ProcessEnv = {}) =>
        runWithRoot(root, 'dnf', ['-y', '--installroot', root, '--setopt', `reposdir=${root}/etc/yum.repos.d`, '--setopt', `cachedir=${root}/var/cache/dnf`, '--releasever', '9', ...args], { env: { ...process.env, ...env } });
      const rpmIn = (args: string[]) => runWithRoot(root, 'rpm', ['--root', root, ...args]);
      return { root, dnf, rpmIn };
    };

    const good = pc('pc', repo);
    expect((await good.rpmIn(['-i', base])).code).toBe(0);
    // An offline first install: the collector cannot be reached, the agent enrolls later.
    writeFileSync(join(good.root, 'root/mamori-token'), `${TOKEN}\n`, { mode: 0o600 });
    const settings = { MAMORI_COLLECTOR: 'wss://127.0.0.1:9/agent', MAMORI_CA_PIN: 'ab'.repeat(32), MAMORI_TOKEN_FILE: '/root/mamori-token', MAMORI_ENROLL_TIMEOUT: '5' };
    const installed = await good.dnf(['install', 'mamori-agent'], settings);
    expect(installed.code, installed.stderr + installed.stdout).toBe(0);
    expect(installed.stderr + installed.stdout).toMatch(/Importing GPG key[^]*mamori-rpm@example\.invalid[^]*Key imported successfully/);
    expect(installed.stdout).toMatch(/Installed:\n\s+mamori-agent-9\.3\.0-1\.x86_64/);
    expect(installed.stderr + installed.stdout).toContain('接続できるようになるとエージェントが自動で登録します');
    expect((await good.rpmIn(['-q', 'mamori-agent'])).stdout.trim()).toBe(`mamori-agent-${VERSION}-1.x86_64`);
    // %post ran `mamori-agent agent configure` in the root.
    const config = parse(readFileSync(join(good.root, 'etc/mamori/agent.yml'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ collector: 'wss://127.0.0.1:9/agent', enrollToken: TOKEN, stateDir: '/var/lib/mamori' });
    expect(JSON.parse(readFileSync(join(good.root, 'var/lib/mamori.enrollment.json'), 'utf8'))).toMatchObject({ state: 'failing', kind: 'unreachable' });

    // rpm has no purge: erase removes what dpkg's purge removes, the token with the settings.
    const erased = await good.rpmIn(['-e', 'mamori-agent']);
    expect(erased.code, erased.stderr).toBe(0);
    for (const gone of ['etc/mamori', 'var/lib/mamori', 'var/log/mamori', 'var/lib/mamori.enrollment.json', 'usr/lib/mamori-agent', 'usr/sbin/mamori-agent']) expect(existsSync(join(good.root, gone)), gone).toBe(false);

    // The same package from a repository whose metadata another key signed: dnf refuses it.
    const bad = pc('pc-forged', forged);
    expect((await bad.rpmIn(['-i', base])).code).toBe(0);
    const refused = await bad.dnf(['install', 'mamori-agent'], settings);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr + refused.stdout).toMatch(/repomd\.xml GPG signature verification error|Failed to download metadata/);
    expect((await bad.rpmIn(['-q', 'mamori-agent'])).code).not.toBe(0);
  });
});
