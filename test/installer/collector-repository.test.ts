/**
 * The collector serves the site's signed apt and yum repositories over its own TLS
 * (src/collector/updates/repository.ts): a running TLS collector, the repositories built into
 * its data directory by scripts/apt-repository.mjs and scripts/yum-repository.mjs, and the real
 * apt-get and dnf, each with a root of its own, reading them over https with the collector's CA
 * (the CA a PC pins) as their only trust for the connection and the site's GPG key for the
 * content. Without that CA the connection is refused; nothing outside the repository directory
 * is served.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector } from '../../src/collector/collector.js';
import type { RunningCollector } from '../../src/collector/collector.js';
import { repositoryDir } from '../../src/collector/updates/repository.js';
import { createLogger } from '../../src/shared/log.js';
import { initTls } from '../../src/shared/tls/material.js';
import { requireTools, skipReal } from '../helpers/linux-real.js';
import { REPO, buildBaseSystemRpm, mkRpmRoot, rpmRootUnavailable, run, runWithRoot } from './helpers.js';

const TOOLS = ['/usr/bin/dpkg-scanpackages', '/usr/bin/apt-get', '/usr/bin/rpmbuild', '/usr/bin/rpmsign', '/usr/bin/gpg', '/usr/bin/createrepo_c', '/usr/bin/dnf', '/usr/bin/unshare'];
const PACKAGES = 'dpkg-dev apt rpm gnupg createrepo-c dnf util-linux';
const skip = skipReal(TOOLS, PACKAGES);
const noRoot = skip ? undefined : await rpmRootUnavailable();
if (noRoot && process.env.CI !== 'true') console.warn(`skipping the dnf part: ${noRoot}`);
const VERSION = '9.4.0';
const KEY = 'mamori-release@example.invalid';

let work: string;
let gnupg: string;
let collector: RunningCollector;
let caFile: string;
let keyFile: string;
let deb: string;
let rpm: string;
let base: string;

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const https = () => collector.agentUrl.replace(/^wss:/, 'https:').replace(/\/agent$/, '');

beforeAll(async () => {
  if (skip) return;
  requireTools(TOOLS, PACKAGES);
  if (noRoot && process.env.CI === 'true') throw new Error(noRoot);
  work = mkdtempSync(join(tmpdir(), 'mamori-collector-repo-'));
  gnupg = join(work, 'gnupg');
  mkdirSync(gnupg, { mode: 0o700 });
  const gpg = (args: string[]) => run('gpg', ['--batch', '--homedir', gnupg, ...args]);
  expect((await gpg(['--passphrase', '', '--quick-gen-key', `mamori release <${KEY}>`, 'rsa3072', 'sign', 'never'])).code).toBe(0);
  keyFile = join(work, 'mamori-archive-keyring.asc');
  writeFileSync(keyFile, (await gpg(['--export', '--armor', KEY])).stdout);
  const env = { ...process.env, GNUPGHOME: gnupg, MAMORI_RPM_GPG_KEY: KEY };
  const built = await run(process.execPath, [join(REPO, 'scripts/package.mjs'), 'deb', 'rpm', '--version', VERSION, '--compression', 'none', '--out', join(work, 'build')], { cwd: REPO, timeoutMs: 600_000, env });
  if (built.code !== 0) throw new Error(`package.mjs: ${built.stderr}${built.stdout}`);
  deb = join(work, 'build', `mamori-agent_${VERSION}_amd64.deb`);
  rpm = join(work, 'build', `mamori-agent-${VERSION}-1.x86_64.rpm`);

  const dataDir = join(work, 'collector');
  const { material } = await initTls(dataDir);
  caFile = join(work, 'collector-ca.pem');
  writeFileSync(caFile, material.caPem);
  for (const [script, dir, pkg] of [['apt-repository.mjs', 'apt', deb], ['yum-repository.mjs', 'yum', rpm]] as const) {
    const r = await run(process.execPath, [join(REPO, 'scripts', script), '--key', KEY, '--out', join(repositoryDir(dataDir), dir), pkg], { env });
    if (r.code !== 0) throw new Error(`${script}: ${r.stderr}`);
  }
  // Something the collector must not hand out: its own database is in the data directory too.
  symlinkSync(join(dataDir, 'mamori.db'), join(repositoryDir(dataDir), 'apt/db-link'));
  collector = await startCollector({ dataDir, tls: material, log: createLogger({ component: 'collector', console: false }) });

  base = await buildBaseSystemRpm(join(work, 'base'));
}, 900_000);

afterAll(async () => {
  await collector?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** GET a raw path (no normalisation by the client) from the collector, trusting its CA. */
function get(path: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const u = new URL(https());
    const req = request({ host: u.hostname, port: u.port, path, ca: readFileSync(caFile) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** apt-get with a root of its own, reading the collector's apt repository; `ca` is the CA it trusts for https. */
function aptRoot(name: string, ca: string | undefined) {
  const root = join(work, name);
  for (const d of ['etc/apt/sources.list.d', 'etc/apt/preferences.d', 'etc/apt/trusted.gpg.d', 'var/lib/apt/lists/partial', 'var/cache/apt/archives/partial', 'var/lib/dpkg']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'var/lib/dpkg/status'), '');
  writeFileSync(join(root, 'etc/apt/sources.list'), `deb [signed-by=${keyFile}] ${https()}/repo/apt stable main\n`);
  const opts = ['-o', `Dir=${root}`, '-o', `Dir::State::status=${root}/var/lib/dpkg/status`, '-o', 'Debug::NoLocking=1', '-o', 'APT::Architecture=amd64', '-o', 'APT::Sandbox::User=root', '-o', 'Dir::Etc::trusted=/dev/null'];
  // The system's CA bundle is not consulted: only the collector's CA (or none).
  const tls = ['-o', `Acquire::https::CaInfo=${ca ?? '/dev/null'}`];
  return (args: string[], cwd?: string) => run('apt-get', [...opts, ...tls, ...args], { ...(cwd ? { cwd } : {}), timeoutMs: 300_000 });
}

describe.skipIf(skip)('the collector serving the signed repositories', { timeout: 600_000 }, () => {
  it('apt-get reads the apt repository from the collector over its TLS with the pinned CA', async () => {
    const apt = aptRoot('apt-pc', caFile);
    const update = await apt(['update']);
    expect(update.code, update.stderr).toBe(0);
    expect(update.stderr).not.toMatch(/^[WE]: /m);
    expect(update.stdout).toMatch(/Get:\d+ https:\/\/127\.0\.0\.1:\d+\/repo\/apt stable InRelease/);
    const downloads = join(work, 'apt-downloads');
    mkdirSync(downloads);
    const download = await apt(['download', `mamori-agent=${VERSION}`], downloads);
    expect(download.code, download.stderr).toBe(0);
    const [file] = readdirSync(downloads).filter((f) => f.endsWith('.deb'));
    expect(sha(join(downloads, file!))).toBe(sha(deb));
    // Asked again, apt gets 304 for what it has.
    const again = await apt(['update']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/Hit:\d+ https:\/\/127\.0\.0\.1:\d+\/repo\/apt stable InRelease/);

    // Without the collector's CA, apt does not accept the connection.
    const untrusting = await aptRoot('apt-pc-no-ca', undefined)(['update']);
    expect(untrusting.stderr + untrusting.stdout).toMatch(/certificate|Certificate/);
    expect(untrusting.stderr).toMatch(/^[WE]: /m);
  });

  it('serves only regular files inside the repository directory', async () => {
    expect((await get('/repo/apt/dists/stable/InRelease')).status).toBe(200);
    for (const path of ['/repo/apt/../../mamori.db', '/repo/%2e%2e/mamori.db', '/repo/apt/%2e%2e/%2e%2e/tls/ca.key', '/repo/apt/db-link', '/repo/apt/dists', '/repo/apt/none']) {
      const r = await get(path);
      expect(r.status, path).toBe(404);
      expect(r.body.toString(), path).toBe('not found\n');
    }
  });

  it.skipIf(noRoot)('dnf reads the yum repository from the collector over its TLS with the pinned CA', async () => {
    const repoFile = (ca: string) => `[mamori]\nname=mamori\nbaseurl=${https()}/repo/yum\nsslcacert=${ca}\ngpgcheck=1\nrepo_gpgcheck=1\ngpgkey=file://${keyFile}\n`;
    /** A PC: a root of its own with the base system and a .repo file trusting `ca` for the collector. */
    const pc = async (name: string, ca: string) => {
      const root = join(work, name);
      mkRpmRoot(root);
      expect((await runWithRoot(root, 'rpm', ['--root', root, '-i', base])).code).toBe(0);
      const reposdir = join(root, 'etc/yum.repos.d');
      mkdirSync(reposdir, { recursive: true });
      writeFileSync(join(reposdir, 'mamori.repo'), repoFile(ca));
      // skip_if_unavailable=False: a repository that cannot be read fails the command (dnf's default here skips it).
      return (args: string[]) => runWithRoot(root, 'dnf', ['-y', '--installroot', root, '--setopt', `reposdir=${reposdir}`, '--setopt', 'skip_if_unavailable=False', '--releasever', '9', ...args]);
    };
    const dnf = await pc('dnf-pc', caFile);
    const downloads = join(work, 'dnf-downloads');
    const fetched = await dnf(['install', '--downloadonly', '--downloaddir', downloads, 'mamori-agent']);
    expect(fetched.code, fetched.stderr + fetched.stdout).toBe(0);
    expect(sha(join(downloads, `mamori-agent-${VERSION}-1.x86_64.rpm`))).toBe(sha(rpm));

    // A PC trusting another CA than the collector's: dnf cannot reach the repository.
    const { material: otherCa } = await initTls(join(work, 'other-ca'));
    const otherCaFile = join(work, 'other-ca.pem');
    writeFileSync(otherCaFile, otherCa.caPem);
    const refused = await (await pc('dnf-pc-other-ca', otherCaFile))(['makecache']);
    expect(refused.code, refused.stderr + refused.stdout).not.toBe(0);
    expect(refused.stderr + refused.stdout).toMatch(/Curl error \(60\)[^\n]*server certificate verification failed/);
  });
});
