/**
 * The Debian package, end to end on this machine:
 *  - built by scripts/package.mjs (the real `npm run package` code), metadata and file list read
 *    back with dpkg-deb -I / -c;
 *  - installed with the real dpkg into a throwaway root (`dpkg --root R --force-script-chrootless`):
 *    the maintainer scripts run for real, with DPKG_ROOT=R, and the silent settings come from the
 *    environment as with `MAMORI_COLLECTOR=… apt-get install`; a first install without them fails
 *    in preinst, before anything is unpacked, and leaves dpkg clean (dpkg --audit);
 *  - the INSTALLED agent (its bundled Node LTS + bundle) enrolls with a collector started here
 *    and its events arrive in the store; reinstall keeps the identity; removal tells the collector.
 * Not exercised: systemd itself (no systemd as PID 1 here, and the scripts leave services alone
 * under DPKG_ROOT), apt's dependency resolution (--force-depends: the root has no libc6 package),
 * and the live checks (the agent judges an empty recording, so no host state is touched).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseDocument } from 'yaml';
import { openDefaultStore, startCollector } from '../../src/collector/collector.js';
import type { RunningCollector } from '../../src/collector/collector.js';
import { EnrollmentRefusals } from '../../src/collector/enrollment/refusals.js';
import { createEnrollmentToken } from '../../src/collector/tokens.js';
import { REFUSAL_TEXT } from '../../src/shared/protocol/enrollment-refusal.js';
import { sha256Hex } from '../../src/shared/protocol/auth.js';
import { AgentConfig } from '../../src/shared/config/agent.js';
import { loadEolCatalogue, resolveEolDate } from '../../src/shared/eol/index.js';
import { createLogger } from '../../src/shared/log.js';
import { formatFingerprint } from '../../src/shared/tls/fingerprint.js';
import { initTls } from '../../src/shared/tls/material.js';
import { requireTools, skipReal } from '../helpers/linux-real.js';
import { USB_ADDON, USB_PACKAGE_FILES, VERSION, buildPackages, run, waitFor } from './helpers.js';

const DEB = () => join(out, `mamori-agent_${VERSION}_amd64.deb`);
let out: string;
let root: string;
let collector: RunningCollector;
let work: string;

/** A dpkg admin directory of its own, so the test root is a separate "system". */
function makeDpkgRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mamori-root-'));
  for (const d of ['var/lib/dpkg/info', 'var/lib/dpkg/updates', 'var/lib/dpkg/triggers']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'var/lib/dpkg/status'), '');
  writeFileSync(join(dir, 'var/lib/dpkg/available'), '');
  return dir;
}

function dpkg(args: string[], env: Record<string, string> = {}) {
  return run('dpkg', [`--root=${root}`, '--force-not-root', '--force-script-chrootless', '--force-depends', '--log=/dev/null', ...args], { env: { ...process.env, ...env }, timeoutMs: 240_000 });
}

function mode(path: string): string {
  return (statSync(path).mode & 0o777).toString(8);
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

async function eventsOf(agentId: string) {
  return collector.store.listEvents(agentId, 0, 1000);
}

const TOOLS = ['/usr/bin/dpkg-deb', '/usr/bin/dpkg', '/usr/bin/systemd-analyze'];
const PACKAGES = 'dpkg systemd';
const skip = skipReal(TOOLS, PACKAGES);

beforeAll(async () => {
  if (skip) return;
  requireTools(TOOLS, PACKAGES);
  out = await buildPackages(['deb']);
  root = makeDpkgRoot();
  work = mkdtempSync(join(tmpdir(), 'mamori-deb-test-'));
  // A TLS collector like a real one: the agent pins its CA with the fingerprint given at install.
  const { material } = await initTls(join(work, 'collector'));
  collector = await startCollector({ dataDir: join(work, 'collector'), tls: material, log: createLogger({ component: 'collector', console: false }) });
}, 660_000);

afterAll(async () => {
  await collector?.close();
  for (const dir of [out, root, work]) if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(skip)('mamori-agent .deb', { timeout: 300_000 }, () => {
  it('has the package metadata and maintainer scripts', async () => {
    const info = await run('dpkg-deb', ['-I', DEB()]);
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/^ Package: mamori-agent$/m);
    expect(info.stdout).toMatch(new RegExp(`^ Version: ${VERSION.replace(/\./g, '\\.')}$`, 'm'));
    expect(info.stdout).toMatch(/^ Architecture: amd64$/m);
    expect(info.stdout).toMatch(/^ Depends: .*libc6 \(>= 2\.28\)/m);
    for (const script of ['preinst', 'postinst', 'prerm', 'postrm']) expect(info.stdout).toMatch(new RegExp(`\\s${script}\\s+#!/bin/sh`));
    expect(info.stdout).toMatch(/^ Maintainer: .+ <[^@\s]+@[^@\s]+\.[a-z]+>$/m);
    expect(info.stdout).not.toMatch(/^ Maintainer: .*@localhost/m);
  });

  it('follows the Debian packaging rules lintian checks: xz, ≤ 30 MB, stripped runtime, changelog, systemd through the helpers', async () => {
    // Debian 12 has no lintian here; these are the tags it raised on the earlier package.
    expect(statSync(DEB()).size).toBeLessThanOrEqual(30 * 1024 * 1024);
    const members = await run('ar', ['t', DEB()]);
    expect(members.stdout.split('\n')).toContain('data.tar.xz');
    const x = mkdtempSync(join(tmpdir(), 'mamori-deb-x-'));
    try {
      expect((await run('dpkg-deb', ['-R', DEB(), x])).code).toBe(0);
      // unstripped-binary-or-object: no symbol table left in the runtime
      const sections = await run('readelf', ['-S', '-W', join(x, 'usr/lib/mamori-agent/node/bin/node')]);
      expect(sections.code).toBe(0);
      expect(sections.stdout).not.toMatch(/\.symtab/);
      // debian-changelog-file-missing: policy 12.7, gzip-compressed
      const changelog = gunzipSync(readFileSync(join(x, 'usr/share/doc/mamori-agent/changelog.gz'))).toString();
      expect(changelog).toMatch(new RegExp(`^mamori-agent \\(${VERSION.replace(/\./g, '\\.')}\\) stable; urgency=medium$`, 'm'));
      expect(changelog).toMatch(/^ -- .+ <.+>  [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$/m);
      // maintainer-script-calls-systemctl: only daemon-reload, the rest through deb-systemd-helper/-invoke
      for (const script of ['preinst', 'postinst', 'prerm', 'postrm']) {
        const text = readFileSync(join(x, 'DEBIAN', script), 'utf8');
        const calls = text.split('\n').filter((l) => /^\s*[^#\s].*\bsystemctl\b/.test(l));
        expect(calls.filter((l) => !/systemctl --system daemon-reload/.test(l)), script).toEqual([]);
      }
      const postinst = readFileSync(join(x, 'DEBIAN/postinst'), 'utf8');
      // Enabled only where it was enabled before (first install): an administrator's disable survives upgrades.
      expect(postinst).toMatch(/if deb-systemd-helper --quiet was-enabled mamori-agent\.service; then\n\s+deb-systemd-helper enable/);
    } finally {
      rmSync(x, { recursive: true, force: true });
    }
  });

  it('ships the bundle, config/, a Node runtime and the unit, and nothing of the collector', async () => {
    const list = await run('dpkg-deb', ['-c', DEB()]);
    expect(list.code).toBe(0);
    // "-rwxr-xr-x root/root 126595440 1985-10-26 08:15 ./usr/lib/mamori-agent/node/bin/node"
    const entries = new Map(
      list.stdout
        .trim()
        .split('\n')
        .map((line) => {
          const cols = line.split(/\s+/);
          return [cols.slice(5).join(' ').replace(/^\.\//, '/'), { perms: cols[0]!, owner: cols[1]! }] as const;
        }),
    );
    expect(entries.get('/usr/lib/mamori-agent/node/bin/node')?.perms).toBe('-rwxr-xr-x');
    expect(entries.get('/usr/lib/mamori-agent/mamori-agent.mjs')?.perms).toBe('-rw-r--r--');
    expect(entries.has('/usr/lib/mamori-agent/config/sources.yml')).toBe(true);
    expect(entries.has('/usr/lib/mamori-agent/config/eol/catalogue.yml')).toBe(true);
    expect(entries.has('/lib/systemd/system/mamori-agent.service')).toBe(true);
    expect(entries.get('/usr/sbin/mamori-agent')?.perms).toBe('-rwxr-xr-x');
    expect([...entries.values()].every((e) => e.owner === 'root/root')).toBe(true);
    const paths = [...entries.keys()];
    // The one package beside the bundle: usb with the prebuilt addon of amd64 only, no collector packages.
    expect(paths.filter((p) => /node_modules\/.+[^/]$|\.node$|better.sqlite/.test(p)).sort()).toEqual(USB_PACKAGE_FILES);
    expect(entries.get(`${USB_ADDON}`)?.perms).toBe('-rw-r--r--');
    // Every file lives under the package's own locations.
    expect(paths.filter((p) => !/^\/($|lib\/($|systemd\/($|system\/($|mamori-agent\.service$)))|usr\/($|lib\/($|mamori-agent\/)|sbin\/($|mamori-agent$)|share\/($|doc\/($|mamori-agent\/))))/.test(p))).toEqual([]);
  });

  const PIN = 'c0'.repeat(32);
  it.each([
    ['no settings at all', {}, 'MAMORI_COLLECTOR がありません'],
    ['no CA pin', { MAMORI_COLLECTOR: 'wss://c.example.lg.jp:8470/agent', MAMORI_TOKEN: 'mmr1.a.b' }, 'MAMORI_CA_PIN がありません'],
    ['a malformed CA pin', { MAMORI_COLLECTOR: 'wss://c.example.lg.jp:8470/agent', MAMORI_TOKEN: 'mmr1.a.b', MAMORI_CA_PIN: 'c0c0' }, 'MAMORI_CA_PIN: SHA-256'],
    ['no token', { MAMORI_COLLECTOR: 'wss://c.example.lg.jp:8470/agent', MAMORI_CA_PIN: PIN }, 'no enrollment token'],
    ['an unreadable token file', { MAMORI_COLLECTOR: 'wss://c.example.lg.jp:8470/agent', MAMORI_CA_PIN: PIN, MAMORI_TOKEN_FILE: '/nonexistent/token' }, 'cannot read the token file'],
    ['a plain ws:// collector', { MAMORI_COLLECTOR: 'ws://c.example.lg.jp:8470/agent', MAMORI_CA_PIN: PIN, MAMORI_TOKEN: 'mmr1.a.b' }, 'only wss://'],
    ['an unknown segment', { MAMORI_COLLECTOR: 'wss://c.example.lg.jp:8470/agent', MAMORI_CA_PIN: PIN, MAMORI_TOKEN: 'mmr1.a.b', MAMORI_SEGMENT: 'dmz' }, 'MAMORI_SEGMENT=dmz'],
  ])('a first install with %s fails before unpacking: nothing installed, dpkg/apt stay usable', async (_label, env: Record<string, string>, message) => {
    const r = await dpkg(['-i', DEB()], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain('nothing was installed');
    // dpkg --audit lists half-installed / half-configured packages (the state that blocks apt-get); none.
    const audit = await run('dpkg', [`--root=${root}`, '--audit']);
    expect(audit.code, audit.stderr).toBe(0);
    expect(audit.stdout).toBe('');
    const status = await run('dpkg-query', [`--admindir=${root}/var/lib/dpkg`, '-W', '-f=${Status}', 'mamori-agent']);
    expect(status.stdout).toMatch(/^(|.* not-installed)$/);
    expect(existsSync(join(root, 'usr/lib/mamori-agent'))).toBe(false);
    expect(existsSync(join(root, 'etc/mamori/agent.yml'))).toBe(false);
  });

  /** A first install that the collector (or the pin) refuses: dpkg fails before unpacking, with the reason in Japanese. */
  async function expectRefusedInstall(env: Record<string, string>, reason: string) {
    const r = await dpkg(['-i', DEB()], env);
    expect(r.code, r.stdout + r.stderr).not.toBe(0);
    expect(r.stderr).toContain(reason);
    expect(r.stderr).toContain('nothing was installed');
    const audit = await run('dpkg', [`--root=${root}`, '--audit']);
    expect(audit.code, audit.stderr).toBe(0);
    expect(audit.stdout).toBe('');
    const status = await run('dpkg-query', [`--admindir=${root}/var/lib/dpkg`, '-W', '-f=${Status}', 'mamori-agent']);
    expect(status.stdout).toMatch(/^(|.* not-installed)$/);
    expect(existsSync(join(root, 'usr/lib/mamori-agent'))).toBe(false);
    expect(existsSync(join(root, 'etc/mamori/agent.yml'))).toBe(false);
  }

  it('a first install with a wrong CA pin fails before unpacking and sends nothing', async () => {
    const { token } = await createEnrollmentToken(collector.store, { segment: 'lgwan', expiresInMs: 10 * 60_000, singleUse: true });
    const tokenFile = join(work, 'pin-token');
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    await expectRefusedInstall({ MAMORI_COLLECTOR: collector.agentUrl, MAMORI_TOKEN_FILE: tokenFile, MAMORI_CA_PIN: PIN }, 'CA ピンが収集サーバーの証明書と一致しません');
    // The token never reached the collector: still unused, and nothing was recorded.
    expect((await collector.store.listTokens()).find((t) => token.includes(t.id))?.usedCount).toBe(0);
    expect(await new EnrollmentRefusals(collector.store.sql).list()).toEqual([]);
  });

  it('a first install with a bogus token fails before unpacking; the collector records the PC', async () => {
    const bogus = `mmr1.${'0'.repeat(16)}.${'ab'.repeat(32)}`;
    await expectRefusedInstall({ MAMORI_COLLECTOR: collector.agentUrl, MAMORI_TOKEN: bogus, MAMORI_CA_PIN: collector.caFingerprint! }, REFUSAL_TEXT.unknown);
    const [refusal] = await new EnrollmentRefusals(collector.store.sql).list();
    expect(refusal).toMatchObject({ hostname: hostname(), address: '127.0.0.1', reason: 'unknown', stage: 'install-check', tokenId: '0'.repeat(16), attempts: 1 });
  });

  it('a first install with a used one-time token fails before unpacking', async () => {
    const { token, record } = await createEnrollmentToken(collector.store, { segment: 'lgwan', expiresInMs: 10 * 60_000, singleUse: true });
    const [, , secret] = token.split('.');
    expect((await collector.store.redeemToken(record.id, sha256Hex(secret!), new Date().toISOString())).ok).toBe(true);
    await expectRefusedInstall({ MAMORI_COLLECTOR: collector.agentUrl, MAMORI_TOKEN: token, MAMORI_CA_PIN: collector.caFingerprint! }, REFUSAL_TEXT.used);
    const refusals = await new EnrollmentRefusals(collector.store.sql).list();
    expect(refusals.find((r) => r.reason === 'used')).toMatchObject({ hostname: hostname(), tokenId: record.id, stage: 'install-check' });
  });

  it('installs silently from the environment: root-only config, state and log directories', async () => {
    const { token } = await createEnrollmentToken(collector.store, { segment: 'mynumber', expiresInMs: 10 * 60_000, singleUse: true, note: 'installer test' });
    expect(collector.agentUrl).toMatch(/^wss:/);
    const tokenFile = join(work, 'token');
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    const r = await dpkg(['-i', DEB()], { MAMORI_COLLECTOR: collector.agentUrl, MAMORI_TOKEN_FILE: tokenFile, MAMORI_CA_PIN: collector.caFingerprint!, MAMORI_SEGMENT: 'mynumber' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${root}/etc/mamori/agent.yml を書き込みました`);
    // The collector was reachable: preinst asked about the token, postinst enrolled.
    expect(r.stderr).toContain('登録トークンを確認しました (区分 mynumber)');
    expect(r.stdout).toMatch(/収集サーバーに登録しました: ag_\w+ \(系統 mynumber\)/);
    const status = await run('dpkg-query', [`--admindir=${root}/var/lib/dpkg`, '-W', '-f=${Status} ${Version}', 'mamori-agent']);
    expect(status.stdout).toBe(`install ok installed ${VERSION}`);

    const configFile = join(root, 'etc/mamori/agent.yml');
    expect(mode(configFile)).toBe('600');
    for (const dir of ['etc/mamori', 'var/lib/mamori', 'var/log/mamori']) expect(mode(join(root, dir))).toBe('700');
    const text = readFileSync(configFile, 'utf8');
    const config = AgentConfig.parse(parse(text));
    expect(config).toMatchObject({ collector: collector.agentUrl, stateDir: '/var/lib/mamori', logDir: '/var/log/mamori' });
    expect(config.caFingerprint).toBe(formatFingerprint(collector.caFingerprint!));
    expect(text).toMatch(/^# segment requested at install time .*: mynumber$/m);
    // Enrolled: the token is gone from the configuration, the PC is on the collector.
    expect(parse(text)).not.toHaveProperty('enrollToken');
    expect(text).not.toContain(token.split('.').pop());
    const identity = JSON.parse(readFileSync(join(root, 'var/lib/mamori/identity.json'), 'utf8')) as { agentId: string; segment: string };
    expect(identity.segment).toBe('mynumber');
    expect(mode(join(root, 'var/lib/mamori/identity.json'))).toBe('600');
    expect((await collector.store.getAgent(identity.agentId))?.hostname).toBe(hostname());
    expect(existsSync(join(root, 'var/lib/mamori.enrollment.json'))).toBe(false);
  });

  it('postinst hands MAMORI_TOKEN to the agent on standard input, never as a process argument', async () => {
    // The bundled runtime is replaced by a wrapper that records every argument it is started with.
    const bin = join(root, 'usr/lib/mamori-agent/node/bin');
    const argvLog = join(work, 'node-argv.log');
    renameSync(join(bin, 'node'), join(bin, 'node.real'));
    writeFileSync(join(bin, 'node'), `#!/bin/sh\nprintf '%s\\n' "$@" >> '${argvLog}'\nexec "$(dirname "$0")/node.real" "$@"\n`, { mode: 0o755 });
    try {
      const config = join(root, 'etc/mamori/agent.yml');
      const { token } = await createEnrollmentToken(collector.store, { segment: 'mynumber', expiresInMs: 10 * 60_000, singleUse: true });
      const postinst = join(root, 'var/lib/dpkg/info/mamori-agent.postinst');
      const r = await run('sh', [postinst, 'configure', VERSION], { env: { ...process.env, DPKG_ROOT: root, MAMORI_TOKEN: token } });
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(argvLog, 'utf8')).toContain('--token-stdin');
      expect(readFileSync(argvLog, 'utf8')).not.toContain(token.split('.').pop());
      // Already enrolled: the token handed over is not kept either.
      expect(r.stdout).toMatch(/agent\.yml から登録トークンを削除しました\n登録済みです: ag_/);
      expect(AgentConfig.parse(parse(readFileSync(config, 'utf8'))).enrollToken).toBeUndefined();

      // A configuration the agent refuses leaves the package "not configured", said so, and dpkg usable.
      const refused = await run('sh', [postinst, 'configure', VERSION], { env: { ...process.env, DPKG_ROOT: root, MAMORI_COLLECTOR: 'ws://plain.example.lg.jp/agent' } });
      expect(refused.code).toBe(0);
      expect(refused.stderr).toContain('wss:// (TLS) でだけ通信します');
      expect(refused.stderr).toContain('NOT CONFIGURED');
      expect(AgentConfig.parse(parse(readFileSync(config, 'utf8'))).collector).toBe(collector.agentUrl);
    } finally {
      rmSync(join(bin, 'node'));
      renameSync(join(bin, 'node.real'), join(bin, 'node'));
    }
  });

  it('bundles a Node runtime that is an LTS line not past its end of support', async () => {
    const node = join(root, 'usr/lib/mamori-agent/node/bin/node');
    const r = await run(node, ['-p', 'process.version + " " + process.release.lts']);
    expect(r.code).toBe(0);
    const [version, lts] = r.stdout.trim().split(' ');
    expect(lts).not.toBe('undefined'); // an LTS codename, e.g. "Krypton"
    const major = version!.replace(/^v/, '').split('.')[0]!;
    expect(Number(major)).toBeGreaterThanOrEqual(22);
    const nodejs = loadEolCatalogue().products.find((p) => p.id === 'nodejs');
    const cycle = nodejs?.cycles.find((c) => c.cycle === major);
    expect(cycle, `Node ${major} is in config/eol/catalogue.yml`).toBeDefined();
    const eol = resolveEolDate(cycle!.eol);
    if (eol !== null) expect(eol > new Date().toISOString().slice(0, 10)).toBe(true);
  });

  it('the bundled runtime loads the shipped usb package from where the bundle imports it', async () => {
    const lib = join(root, 'usr/lib/mamori-agent');
    // A module beside mamori-agent.mjs resolves `import('usb')` as the bundle does (lib/node_modules).
    const probe = join(lib, 'usb-probe.mjs');
    writeFileSync(probe, "const { usb } = await import('usb'); console.log(JSON.stringify(await usb.getDevices().then((d) => ({ devices: d.length }), (e) => ({ error: e.message }))));\n");
    try {
      const r = await run(join(lib, 'node/bin/node'), [probe]);
      expect(r.code, r.stderr).toBe(0);
      const answer = JSON.parse(r.stdout) as { devices?: number; error?: string };
      // This machine may have no USB bus at all: then usb 3.x says so instead of listing devices.
      if (existsSync('/sys/bus/usb/devices')) expect(answer.devices).toBeGreaterThanOrEqual(0);
      else expect(answer.error).toMatch(/\/sys\/bus\/usb\/devices\/ not found/);
    } finally {
      rmSync(probe);
    }
  });

  it('has a systemd unit that systemd-analyze verify accepts without a warning', async () => {
    // The test root needs the standard targets the unit refers to (sysinit.target, network-online.target…).
    const units = join(root, 'lib/systemd/system');
    for (const f of readdirSync('/lib/systemd/system').filter((n) => n.endsWith('.target') || n.endsWith('.slice'))) {
      if (!existsSync(join(units, f))) cpSync(join('/lib/systemd/system', f), join(units, f));
    }
    const r = await run('systemd-analyze', ['verify', `--root=${root}`, '/lib/systemd/system/mamori-agent.service']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const unit = readFileSync(join(units, 'mamori-agent.service'), 'utf8');
    for (const line of ['Restart=always', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=read-only', 'PrivateTmp=yes', 'UMask=0077']) expect(unit).toMatch(new RegExp(`^${line}$`, 'm'));
    expect(unit).toMatch(/^CapabilityBoundingSet=(CAP_[A-Z_]+ ?)+$/m);
    expect(unit).not.toMatch(/^CapabilityBoundingSet=.*CAP_SYS_ADMIN/m);
    // systemd's own exposure rating of the sandbox (0 = fully locked down, 10 = none): 3.9 when written.
    const security = await run('systemd-analyze', ['security', '--offline=true', `--root=${root}`, '/lib/systemd/system/mamori-agent.service']);
    const level = /Overall exposure level for mamori-agent\.service: ([\d.]+)/.exec(security.stdout + security.stderr);
    expect(level, security.stdout + security.stderr).not.toBeNull();
    expect(Number(level![1])).toBeLessThanOrEqual(4.5);
  });

  it('the installed agent enrolls with the collector and its events arrive in the store', async () => {
    // As the unit runs it, but with the paths inside the test root and an empty recording
    // (so no check touches this machine).
    const installed = parseDocument(readFileSync(join(root, 'etc/mamori/agent.yml'), 'utf8'));
    installed.set('stateDir', join(root, 'var/lib/mamori'));
    installed.set('logDir', join(root, 'var/log/mamori'));
    const runConfig = join(work, 'run.yml');
    writeFileSync(runConfig, installed.toString(), { mode: 0o600 });
    const replay = join(work, 'empty-recording');
    mkdirSync(replay);
    writeFileSync(join(replay, 'meta.json'), JSON.stringify({ platform: 'linux', recordedAt: '2026-11-23T00:00:00.000Z', hostname: 'installer-test', source: 'made by test/installer/deb.test.ts: an empty recording (every probe unrecorded)' }));

    // The unit's environment (Node's compile cache in the state directory) and its command with
    // the V8 flags (a flag the bundled Node does not know stops it at start), moved into the test root.
    const unit = readFileSync(join(root, 'lib/systemd/system/mamori-agent.service'), 'utf8');
    const unitEnv = /^Environment=NODE_COMPILE_CACHE=(\/var\/lib\/mamori\/\S+)$/m.exec(unit);
    expect(unitEnv).not.toBeNull();
    const compileCache = join(root, unitEnv![1]!);
    const execStart = /^ExecStart=\/usr\/lib\/mamori-agent\/node\/bin\/node ((?:--[a-z-]+(?:=\S+)? )+)\/usr\/lib\/mamori-agent\/mamori-agent\.mjs agent run /m.exec(unit);
    expect(execStart, 'ExecStart: the bundled node, its flags, the bundle').not.toBeNull();
    const v8Flags = execStart![1]!.trim().split(' ');
    const agent = spawn(join(root, 'usr/lib/mamori-agent/node/bin/node'), [...v8Flags, join(root, 'usr/lib/mamori-agent/mamori-agent.mjs'), 'agent', 'run', '--config', runConfig, '--state', join(root, 'var/lib/mamori'), '--replay', replay], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_COMPILE_CACHE: compileCache } });
    let stderr = '';
    agent.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => agent.on('exit', (code) => resolve(code)));
    try {
      // Enrolled at install time: the service starts with that identity.
      const identity = JSON.parse(readFileSync(join(root, 'var/lib/mamori/identity.json'), 'utf8')) as { agentId: string; segment: string };
      const stored = await waitFor('the agent record and its first events', async () => {
        const events = await eventsOf(identity.agentId);
        return events.some((e) => e.kind === 'facts') && events.some((e) => e.event.kind === 'agent.notice' && e.event.notice === 'started') ? events : undefined;
      }, 60_000);
      const record = await collector.store.getAgent(identity.agentId);
      expect(record?.agentVersion).toBe(VERSION);
      expect(record?.os.platform).toBe('linux');
      expect(stored.filter((e) => e.kind === 'facts').length).toBeGreaterThanOrEqual(1);
      expect(readdirSync(join(root, 'var/log/mamori')).some((f) => f.startsWith('agent') && f.endsWith('.log'))).toBe(true);
      // The running agent wrote the compiled bundle for its next start (not only at exit).
      expect(readdirSync(compileCache, { recursive: true }).length).toBeGreaterThan(0);
    } finally {
      agent.kill('SIGTERM');
    }
    expect(await exited, stderr).toBe(0);
  });

  it('reinstalling (upgrade path) keeps the identity, the outbox and the configuration', async () => {
    const identity = join(root, 'var/lib/mamori/identity.json');
    const config = join(root, 'etc/mamori/agent.yml');
    const before = { identity: sha256(identity), config: sha256(config), outbox: readdirSync(join(root, 'var/lib/mamori/outbox')).sort() };
    const r = await dpkg(['-i', DEB()]);
    expect(r.code).toBe(0);
    expect({ identity: sha256(identity), config: sha256(config), outbox: readdirSync(join(root, 'var/lib/mamori/outbox')).sort() }).toEqual(before);
  });

  it('removal tells the collector "uninstalling" and keeps the state; purge deletes it', async () => {
    const { agentId } = JSON.parse(readFileSync(join(root, 'var/lib/mamori/identity.json'), 'utf8')) as { agentId: string };
    const removed = await dpkg(['-r', 'mamori-agent'], { MAMORI_NOTIFY_TIMEOUT: '20' });
    expect(removed.code).toBe(0);
    expect(removed.stdout).toContain('アンインストールを収集サーバーに知らせました');
    const events = await eventsOf(agentId);
    expect(events.some((e) => e.event.kind === 'agent.notice' && e.event.notice === 'uninstalling')).toBe(true);
    expect(existsSync(join(root, 'usr/lib/mamori-agent'))).toBe(false);
    expect(existsSync(join(root, 'var/lib/mamori/identity.json'))).toBe(true);

    const purged = await dpkg(['--purge', 'mamori-agent']);
    expect(purged.code).toBe(0);
    for (const dir of ['etc/mamori', 'var/lib/mamori', 'var/log/mamori']) expect(existsSync(join(root, dir))).toBe(false);
  });
});

describe.skipIf(skip)('mamori-agent .deb on a PC that cannot reach the collector at install time', { timeout: 240_000 }, () => {
  let offline: string;
  let later: RunningCollector | undefined;
  afterAll(async () => {
    await later?.close();
    if (offline) rmSync(offline, { recursive: true, force: true });
  });

  it('installs and says it enrolls later; the agent keeps trying, says why, backs off, and enrolls once given a good token', async () => {
    // The collector of this PC: its CA exists (the pin is known), but it is not listening yet.
    const dir = join(work, 'later-collector');
    const { material } = await initTls(dir);
    const port = await freePort();
    const url = `wss://127.0.0.1:${port}/agent`;
    offline = makeDpkgRoot();
    const bogus = `mmr1.${'1'.repeat(16)}.${'cd'.repeat(32)}`;
    const r = await run('dpkg', [`--root=${offline}`, '--force-not-root', '--force-script-chrootless', '--force-depends', '--log=/dev/null', '-i', DEB()], { env: { ...process.env, MAMORI_COLLECTOR: url, MAMORI_TOKEN: bogus, MAMORI_CA_PIN: material.caFingerprint, MAMORI_ENROLL_TIMEOUT: '5' }, timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('接続できるようになるとエージェントが自動で登録します');
    expect(r.stdout).toContain('登録は後で自動で行います');
    const status = await run('dpkg-query', [`--admindir=${offline}/var/lib/dpkg`, '-W', '-f=${Status}', 'mamori-agent']);
    expect(status.stdout).toBe('install ok installed');
    expect(existsSync(join(offline, 'var/lib/mamori/identity.json'))).toBe(false);
    const stateDir = join(offline, 'var/lib/mamori');
    const statusFile = join(offline, 'var/lib/mamori.enrollment.json');
    expect(JSON.parse(readFileSync(statusFile, 'utf8'))).toMatchObject({ state: 'failing', kind: 'unreachable', collector: url });
    expect(mode(statusFile)).toBe('644');

    // The service, as the unit runs it (paths inside the test root, short waits between attempts).
    const installed = parseDocument(readFileSync(join(offline, 'etc/mamori/agent.yml'), 'utf8'));
    installed.set('stateDir', stateDir);
    installed.set('logDir', join(offline, 'var/log/mamori'));
    installed.set('enrollRetry', { minSeconds: 1, maxSeconds: 4 });
    const runConfig = join(offline, 'run.yml');
    writeFileSync(runConfig, installed.toString(), { mode: 0o600 });
    const replay = join(offline, 'empty-recording');
    mkdirSync(replay);
    writeFileSync(join(replay, 'meta.json'), JSON.stringify({ platform: 'linux', recordedAt: '2026-11-23T00:00:00.000Z', hostname: 'installer-test', source: 'made by test/installer/deb.test.ts: an empty recording (every probe unrecorded)' }));
    const node = join(offline, 'usr/lib/mamori-agent/node/bin/node');
    const bundle = join(offline, 'usr/lib/mamori-agent/mamori-agent.mjs');
    const agent = spawn(node, [bundle, 'agent', 'run', '--config', runConfig, '--state', stateDir, '--replay', replay], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    agent.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => agent.on('exit', (code) => resolve(code)));
    const readStatus = () => (existsSync(statusFile) ? (JSON.parse(readFileSync(statusFile, 'utf8')) as { kind: string; attempts: number; reason: string; lastAttemptAt: string; nextAttemptAt: string }) : undefined);
    try {
      // Offline: attempt after attempt, said in the status file.
      const first = readStatus()!.attempts;
      await waitFor('two more failed attempts while the collector is down', () => (readStatus()!.attempts >= first + 2 ? true : undefined), 60_000);
      expect(readStatus()!.kind).toBe('unreachable');

      // The collector comes up; the token is refused: said locally, recorded there, waits grow.
      const store = openDefaultStore(dir);
      await store.migrate();
      const { token: good } = await createEnrollmentToken(store, { segment: 'internet', expiresInMs: 10 * 60_000, singleUse: true });
      await store.close();
      later = await startCollector({ dataDir: dir, tls: material, port, log: createLogger({ component: 'collector', console: false }) });
      const refused: { lastAttemptAt: string; nextAttemptAt: string }[] = [];
      await waitFor('three refused attempts', () => {
        const s = readStatus();
        if (s?.kind === 'refused' && !refused.some((x) => x.lastAttemptAt === s.lastAttemptAt)) refused.push(s);
        return refused.length >= 3 ? true : undefined;
      }, 90_000);
      const waits = refused.map((s) => Date.parse(s.nextAttemptAt) - Date.parse(s.lastAttemptAt));
      expect(waits[1]!).toBeGreaterThan(waits[0]!);
      expect(waits[2]!).toBeGreaterThan(waits[1]!);
      expect(readStatus()!.reason).toBe(REFUSAL_TEXT.unknown);
      const shown = await run(node, [bundle, 'status', '--state', stateDir]);
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout).toContain('この PC は収集サーバーに登録できていません');
      expect(shown.stdout).toContain(REFUSAL_TEXT.unknown);
      const logs = readdirSync(join(offline, 'var/log/mamori')).filter((f) => f.endsWith('.log')).map((f) => readFileSync(join(offline, 'var/log/mamori', f), 'utf8')).join('');
      expect(logs).toContain('収集サーバーに登録できません');
      const [row] = await new EnrollmentRefusals(later.store.sql).list();
      expect(row).toMatchObject({ hostname: hostname(), address: '127.0.0.1', reason: 'unknown', stage: 'enroll' });
      expect(row!.attempts).toBeGreaterThanOrEqual(3);
      expect(agent.exitCode).toBeNull();

      // The administrator gives a good token the documented way: the running agent uses it.
      const tokenFile = join(offline, 'good-token');
      writeFileSync(tokenFile, `${good}\n`, { mode: 0o600 });
      const configured = await run(node, [bundle, 'agent', 'configure', '--config', runConfig, '--token-file', tokenFile]);
      expect(configured.code, configured.stderr).toBe(0);
      const identity = await waitFor('identity.json', () => (existsSync(join(stateDir, 'identity.json')) ? (JSON.parse(readFileSync(join(stateDir, 'identity.json'), 'utf8')) as { agentId: string; segment: string }) : undefined), 60_000);
      expect(identity.segment).toBe('internet');
      await waitFor('the status file removed', () => (existsSync(statusFile) ? undefined : true), 30_000);
      expect(parse(readFileSync(runConfig, 'utf8'))).not.toHaveProperty('enrollToken');
      await waitFor('the refusals of this PC settled', async () => ((await new EnrollmentRefusals(later!.store.sql).list()).length === 0 ? true : undefined), 30_000);
      expect((await later.store.getAgent(identity.agentId))?.hostname).toBe(hostname());
      // …and goes on as the agent: its first events arrive.
      await waitFor('the agent started', async () => ((await later!.store.listEvents(identity.agentId, 0, 100)).some((e) => e.event.kind === 'agent.notice' && e.event.notice === 'started') ? true : undefined), 60_000);
    } finally {
      agent.kill('SIGTERM');
    }
    expect(await exited, stderr).toBe(0);
  });
});

/** A TCP port nobody listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
