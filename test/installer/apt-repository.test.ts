/**
 * The signed apt repository of scripts/apt-repository.mjs, read by the real apt-get: a .deb
 * built by scripts/package.mjs, a GPG key made here (its own GNUPGHOME), the repository signed
 * with it, and apt-get with its own root (-o Dir=…) trusting that key only for this repository
 * (signed-by=). apt-get update accepts it and downloads the package byte for byte; a repository
 * signed with another key is refused.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools, skipReal } from '../helpers/linux-real.js';
import { REPO, run } from './helpers.js';

const TOOLS = ['/usr/bin/dpkg-deb', '/usr/bin/dpkg-scanpackages', '/usr/bin/gpg', '/usr/bin/apt-get'];
const PACKAGES = 'dpkg-dev gnupg apt';
const skip = skipReal(TOOLS, PACKAGES);
const VERSION = '9.1.0';
let work: string;
let deb: string;
let gnupg: string;

async function gpg(args: string[]) {
  const r = await run('gpg', ['--batch', '--homedir', gnupg, ...args]);
  if (r.code !== 0) throw new Error(`gpg ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A new signing key; its fingerprint. */
async function newKey(name: string): Promise<string> {
  await gpg(['--passphrase', '', '--quick-gen-key', `${name} <${name}@example.invalid>`, 'ed25519', 'sign', 'never']);
  const fpr = (await gpg(['--with-colons', '--list-keys', `${name}@example.invalid`])).split('\n').find((l) => l.startsWith('fpr:'))!;
  return fpr.split(':')[9]!;
}

function repository(key: string): Promise<Awaited<ReturnType<typeof run>>> {
  const out = join(work, `repo-${key.slice(-8)}`);
  return run(process.execPath, [join(REPO, 'scripts/apt-repository.mjs'), '--key', key, '--out', out, deb], { env: { ...process.env, GNUPGHOME: gnupg } }).then((r) => ({ ...r, stdout: out }));
}

/** apt-get with a root of its own that trusts `keyring` for the repository at `repo`. */
function aptRoot(name: string, repo: string, keyring: string) {
  const root = join(work, name);
  for (const d of ['etc/apt/sources.list.d', 'etc/apt/preferences.d', 'etc/apt/trusted.gpg.d', 'var/lib/apt/lists/partial', 'var/cache/apt/archives/partial', 'var/lib/dpkg']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'var/lib/dpkg/status'), '');
  writeFileSync(join(root, 'etc/apt/sources.list'), `deb [signed-by=${keyring}] file:${repo} stable main\n`);
  const opts = ['-o', `Dir=${root}`, '-o', `Dir::State::status=${root}/var/lib/dpkg/status`, '-o', 'Debug::NoLocking=1', '-o', 'APT::Architecture=amd64', '-o', 'APT::Sandbox::User=root', '-o', 'Dir::Etc::trusted=/dev/null'];
  return (args: string[], cwd?: string) => run('apt-get', [...opts, ...args], { ...(cwd ? { cwd } : {}), timeoutMs: 300_000 });
}

beforeAll(async () => {
  if (skip) return;
  requireTools(TOOLS, PACKAGES);
  work = mkdtempSync(join(tmpdir(), 'mamori-apt-'));
  gnupg = join(work, 'gnupg');
  mkdirSync(gnupg, { mode: 0o700 });
  const r = await run(process.execPath, [join(REPO, 'scripts/package.mjs'), 'deb', '--version', VERSION, '--compression', 'none', '--out', join(work, 'build')], { cwd: REPO, timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`package.mjs: ${r.stderr}${r.stdout}`);
  deb = join(work, 'build', `mamori-agent_${VERSION}_amd64.deb`);
}, 700_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.skipIf(skip)('the signed apt repository', { timeout: 600_000 }, () => {
  it('is accepted by apt-get with the repository key and refused when another key signed it', async () => {
    const key = await newKey('mamori-release');
    const built = await repository(key);
    expect(built.code, built.stderr).toBe(0);
    const repo = built.stdout;
    const dist = join(repo, 'dists/stable');
    expect(readFileSync(join(dist, 'InRelease'), 'utf8')).toMatch(/^-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n/);
    expect(readFileSync(join(dist, 'Release'), 'utf8')).toMatch(/^SHA256:\n [0-9a-f]{64} \d+ main\/binary-amd64\/Packages$/m);
    // Armored, so .asc: apt reads an ASCII-armored signed-by key only under that extension (sources.list(5)).
    const keyring = join(work, 'mamori-archive-keyring.asc');
    writeFileSync(keyring, Buffer.from(await gpg(['--export', '--armor', key])));

    const apt = aptRoot('pc', repo, keyring);
    const update = await apt(['update']);
    expect(update.code, update.stderr).toBe(0);
    expect(update.stderr).not.toMatch(/^[WE]: /m);
    const downloads = join(work, 'downloads');
    mkdirSync(downloads);
    const download = await apt(['download', `mamori-agent=${VERSION}`], downloads);
    expect(download.code, download.stderr).toBe(0);
    const [file] = readdirSync(downloads).filter((f) => f.endsWith('.deb'));
    const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
    expect(sha(join(downloads, file!))).toBe(sha(deb));

    // The same repository signed by a key the PC does not trust for it: apt refuses it.
    const other = await newKey('someone-else');
    const forged = await repository(other);
    expect(forged.code, forged.stderr).toBe(0);
    const refused = await aptRoot('pc-forged', forged.stdout, keyring)(['update']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/NO_PUBKEY|not signed|signatures (were|couldn't be) (invalid|verified)/);
  });
});
