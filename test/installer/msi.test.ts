/**
 * The Windows MSI, as built on Linux by scripts/package.mjs (wixl + msibuild), read back with
 * msitools: the tables that make it a silent, service-installing package are really in it.
 * The configure custom action's command line is then run (with the properties substituted as
 * msiexec would) through the same bundle on this machine's Node, so the MSI and the CLI cannot
 * drift apart. Not exercised here: Windows Installer itself, the SCM and icacls (no Windows);
 * wine.test.ts runs the Windows node.exe and service host under wine.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startCollector } from '../../src/collector/collector.js';
import { createEnrollmentToken } from '../../src/collector/tokens.js';
import { AgentConfig } from '../../src/shared/config/agent.js';
import { createLogger } from '../../src/shared/log.js';
import { REFUSAL_TEXT } from '../../src/shared/protocol/enrollment-refusal.js';
import { initTls } from '../../src/shared/tls/material.js';
import { requireTools, skipReal } from '../helpers/linux-real.js';
import { VERSION, buildPackages, run } from './helpers.js';

let out: string;
let msi: string;

/** One table exported by msiinfo: header line of column names, two type/key lines, then rows (CRLF). */
async function table(name: string): Promise<Record<string, string>[]> {
  const r = await run('msiinfo', ['export', msi, name]);
  expect(r.code, r.stderr).toBe(0);
  const lines = r.stdout.split('\r\n').filter((l) => l !== '');
  const columns = lines[0]!.split('\t');
  return lines.slice(3).map((line) => Object.fromEntries(line.split('\t').map((v, i) => [columns[i]!, v])));
}

/** Split a Windows command line the way the MS C runtime does for these simple cases (quotes, no escapes). */
function splitCommandLine(text: string): string[] {
  return [...text.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

const TOOLS = ['/usr/bin/wixl', '/usr/bin/wixl-heat', '/usr/bin/msiinfo', '/usr/bin/msibuild', '/usr/bin/msiextract', '/usr/bin/x86_64-w64-mingw32-gcc'];
const PACKAGES = 'wixl wixl-data msitools gcc-mingw-w64-x86-64-win32';
const skip = skipReal(TOOLS, PACKAGES);

beforeAll(async () => {
  if (skip) return;
  requireTools(TOOLS, PACKAGES);
  out = await buildPackages(['msi']);
  msi = join(out, `mamori-agent-${VERSION}-x64.msi`);
}, 300_000);

afterAll(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

describe.skipIf(skip)('mamori-agent .msi', { timeout: 60_000 }, () => {
  it('is an x64 MSI package of this version', async () => {
    const info = await run('msiinfo', ['suminfo', msi]);
    expect(info.stdout).toMatch(/^Template: x64;\d+$/m);
    const props = Object.fromEntries((await table('Property')).map((r) => [r.Property, r.Value]));
    expect(props.ProductVersion).toBe(VERSION);
    expect(props.ProductName).toBe('mamori agent');
    expect(props.ALLUSERS).toBe('1');
    expect(props.UpgradeCode).toMatch(/^\{[0-9A-F-]{36}\}$/);
  });

  it('installs node.exe, the service host, the bundle and config/ under Program Files\\mamori', async () => {
    const files = await table('File');
    const names = files.map((f) => f.FileName!.split('|').pop());
    expect(names).toEqual(expect.arrayContaining(['node.exe', 'mamori-service.exe', 'mamori-notice.exe', 'mamori-agent.mjs', 'sources.yml', 'catalogue.yml']));
    const dirs = Object.fromEntries((await table('Directory')).map((d) => [d.Directory, d]));
    expect(dirs.INSTALLDIR?.Directory_Parent).toBe('ProgramFiles64Folder');
    expect(dirs.INSTALLDIR?.DefaultDir).toBe('mamori');
    const components = await table('Component');
    // msidbComponentAttributes64bit = 256: installed as 64-bit components
    for (const c of components) expect(Number(c.Attributes) & 256).toBe(256);
    const node = files.find((f) => f.FileName!.endsWith('node.exe'))!;
    expect(Number(node.FileSize)).toBeGreaterThan(50 * 1024 * 1024);
    // The files really are in the embedded cabinet: extract and look at the two executables.
    const extracted = mkdtempSync(join(tmpdir(), 'mamori-msi-'));
    try {
      const x = await run('msiextract', ['-C', extracted, msi]);
      expect(x.code, x.stderr).toBe(0);
      // msiextract drops the well-known folder (ProgramFiles64Folder) and keeps the tree below it.
      const base = join(extracted, 'mamori');
      for (const exe of ['node.exe', 'mamori-service.exe', 'mamori-notice.exe']) expect(readFileSync(join(base, exe)).subarray(0, 2).toString()).toBe('MZ');
      expect(statSync(join(base, 'node.exe')).size).toBe(Number(node.FileSize));
      expect(readFileSync(join(base, 'mamori-agent.mjs'), 'utf8')).toContain('notify-uninstall');
    } finally {
      rmSync(extracted, { recursive: true, force: true });
    }
  });

  it('installs and starts the mamori-agent service under LocalSystem, automatic start', async () => {
    const [svc] = await table('ServiceInstall');
    expect(svc).toMatchObject({ Name: 'mamori-agent', ServiceType: '16', StartType: '2', ErrorControl: '1', StartName: '', Component_: 'ServiceHost' });
    // 16 = SERVICE_WIN32_OWN_PROCESS, 2 = SERVICE_AUTO_START; empty StartName = LocalSystem
    const args = splitCommandLine(svc!.Arguments!);
    expect(args.slice(args.indexOf('--'))).toEqual(['--', 'agent', 'run', '--config', '[CommonAppDataFolder]mamori\\agent.yml', '--state', '[CommonAppDataFolder]mamori']);
    const component = (await table('Component')).find((c) => c.Component === 'ServiceHost');
    const keyFile = (await table('File')).find((f) => f.File === component?.KeyPath);
    expect(keyFile?.FileName).toMatch(/mamori-service\.exe$/);
    const [control] = await table('ServiceControl');
    // 1 start on install | 2 stop on install | 32 stop on uninstall | 128 delete on uninstall
    expect(control).toMatchObject({ Name: 'mamori-agent', Event: String(1 | 2 | 32 | 128), Wait: '1' });
  });

  it('takes COLLECTOR, TOKEN, CA_PIN and SEGMENT as secure properties into the configure action', async () => {
    const props = Object.fromEntries((await table('Property')).map((r) => [r.Property, r.Value]));
    expect(props.SecureCustomProperties!.split(';')).toEqual(expect.arrayContaining(['COLLECTOR', 'TOKEN', 'TOKEN_FILE', 'CA_PIN', 'SEGMENT']));
    // Kept out of verbose logs (MsiHiddenProperties, Microsoft Learn): the token and where it is.
    expect(props.MsiHiddenProperties!.split(';').sort()).toEqual(['TOKEN', 'TOKEN_FILE']);
    // No default value of either is built into the package.
    expect(props.TOKEN).toBeUndefined();
    expect(props.TOKEN_FILE).toBeUndefined();
    const actions = Object.fromEntries((await table('CustomAction')).map((a) => [a.Action, a]));
    const configure = actions.WriteAgentConfig!;
    const type = Number(configure.Type);
    // 18 = exe from an installed file; 0x400 deferred; 0x800 no impersonation (LocalSystem); 0x2000 hide target (token)
    expect(type & 0x3f).toBe(18);
    expect(type & 0x400).toBe(0x400);
    expect(type & 0x800).toBe(0x800);
    expect(type & 0x2000).toBe(0x2000);
    expect(configure.Source).toBe('NodeExe');
    for (const p of ['[COLLECTOR]', '[TOKEN]', '[CA_PIN]', '[SEGMENT]']) expect(configure.Target).toContain(p);
    expect(configure.Target).toContain('--token-file "[TOKEN_FILE]"');
    // Enrollment at install: as LocalSystem after the configuration, its failure fails (and rolls back) the install.
    const enrollAction = actions.EnrollAgent!;
    expect(Number(enrollAction.Type) & 0x3f).toBe(18);
    expect(Number(enrollAction.Type) & 0xc00).toBe(0xc00);
    expect(Number(enrollAction.Type) & 0x40).toBe(0);
    expect(enrollAction.Target).toBe('"[#AgentBundleMjs]" agent enroll --config "[CommonAppDataFolder]mamori\\agent.yml" --state "[CommonAppDataFolder]mamori"');
    expect(enrollAction.Target).not.toMatch(/TOKEN/);
    const notify = actions.NotifyUninstall!;
    expect(Number(notify.Type) & 0x40).toBe(0x40); // return ignored: never blocks the removal
    expect(notify.Target).toContain('agent notify-uninstall');
  });

  it('a rebuilt MSI of the same version upgrades the installed one (one product), an older one is refused unless ALLOW_DOWNGRADE=1', async () => {
    const rows = await table('Upgrade');
    const upgrade = rows.find((r) => r.ActionProperty === 'WIX_UPGRADE_DETECTED')!;
    const downgrade = rows.find((r) => r.ActionProperty === 'WIX_DOWNGRADE_DETECTED')!;
    // msidbUpgradeAttributesVersionMaxInclusive = 0x200, VersionMinInclusive = 0x100, OnlyDetect = 2 (Upgrade table, Microsoft Learn)
    expect(upgrade).toMatchObject({ VersionMin: '', VersionMax: VERSION });
    expect(Number(upgrade.Attributes) & 0x200).toBe(0x200);
    expect(Number(upgrade.Attributes) & 2).toBe(0);
    expect(downgrade).toMatchObject({ VersionMin: VERSION, VersionMax: '' });
    expect(Number(downgrade.Attributes) & 0x100).toBe(0);
    // A newer product is refused by the launch condition unless ALLOW_DOWNGRADE=1 (the update guard going
    // back); then it is removed as an upgrade removes an older one (not OnlyDetect).
    expect(Number(downgrade.Attributes) & 2).toBe(0);
    expect(await table('LaunchCondition')).toEqual([{ Condition: 'NOT WIX_DOWNGRADE_DETECTED OR ALLOW_DOWNGRADE = "1"', Description: 'A newer version of the mamori agent is already installed.' }]);
    expect(Object.fromEntries((await table('Property')).map((r) => [r.Property, r.Value])).SecureCustomProperties!.split(';')).toContain('ALLOW_DOWNGRADE');
    expect(upgrade.UpgradeCode).toBe(Object.fromEntries((await table('Property')).map((r) => [r.Property, r.Value])).UpgradeCode);
  });

  it('puts the service executable path in quotes after creating the service, before starting it', async () => {
    const action = (await table('CustomAction')).find((a) => a.Action === 'QuoteServicePath')!;
    const type = Number(action.Type);
    expect(type & 0x3f).toBe(18); // exe from an installed file
    expect(action.Source).toBe('ServiceHostExe');
    expect(action.Target).toBe('--quote-service-path');
    expect(type & 0x400).toBe(0x400); // deferred
    expect(type & 0x800).toBe(0x800); // as LocalSystem
    expect(type & 0x40).toBe(0); // its failure fails the install
    const seq = Object.fromEntries((await table('InstallExecuteSequence')).map((r) => [r.Action, { n: Number(r.Sequence), condition: r.Condition }]));
    expect(seq.QuoteServicePath!.n).toBeGreaterThan(seq.InstallServices!.n);
    expect(seq.QuoteServicePath!.n).toBeLessThan(seq.StartServices!.n);
    expect(seq.QuoteServicePath!.condition).toBe('NOT REMOVE~="ALL"');
  });

  it('writes the configuration after the files and before the service starts; notifies after the stop', async () => {
    const seq = Object.fromEntries((await table('InstallExecuteSequence')).map((r) => [r.Action, { n: Number(r.Sequence), condition: r.Condition }]));
    expect(seq.WriteAgentConfig!.n).toBeGreaterThan(seq.InstallFiles!.n);
    expect(seq.WriteAgentConfig!.n).toBeLessThan(seq.StartServices!.n);
    expect(seq.WriteAgentConfig!.condition).toBe('NOT REMOVE~="ALL"');
    // Enrolls after the configuration is written and before the service starts (they never race for a one-time token).
    expect(seq.EnrollAgent!.n).toBeGreaterThan(seq.WriteAgentConfig!.n);
    expect(seq.EnrollAgent!.n).toBeGreaterThan(seq.QuoteServicePath!.n);
    expect(seq.EnrollAgent!.n).toBeLessThan(seq.StartServices!.n);
    expect(seq.EnrollAgent!.condition).toBe('NOT REMOVE~="ALL"');
    expect(seq.NotifyUninstall!.n).toBeGreaterThan(seq.StopServices!.n);
    expect(seq.NotifyUninstall!.n).toBeLessThan(seq.RemoveFiles!.n);
    expect(seq.NotifyUninstall!.condition).toBe('REMOVE~="ALL" AND NOT UPGRADINGPRODUCTCODE');
    // A major upgrade uninstalls the old version before anything new is written.
    expect(seq.RemoveExistingProducts!.n).toBeLessThan(seq.InstallInitialize!.n);
    expect(seq.RemoveExistingProducts!.n).toBeGreaterThan(seq.InstallValidate!.n);
  });

  it('the configure command line of the MSI writes a valid agent configuration (properties as msiexec substitutes them)', async () => {
    const target = (await table('CustomAction')).find((a) => a.Action === 'WriteAgentConfig')!.Target!;
    const dataDir = mkdtempSync(join(tmpdir(), 'mamori-programdata-'));
    try {
      const props: Record<string, string> = {
        '[#AgentBundleMjs]': join(out, 'agent', 'mamori-agent.mjs'),
        '[CommonAppDataFolder]': `${dataDir}/`,
        '[COLLECTOR]': 'wss://collector.example.lg.jp:8470/agent',
        '[TOKEN_FILE]': '',
        '[TOKEN]': 'mmr1.0123456789abcdef.' + 'f'.repeat(64),
        '[CA_PIN]': 'sha256:' + 'c0'.repeat(32),
        '[SEGMENT]': 'lgwan',
      };
      // Windows paths in the action become this machine's paths.
      const argv = splitCommandLine(target).map((a) => Object.entries(props).reduce((s, [k, v]) => s.split(k).join(v), a).replace(/\\/g, '/'));
      const r = await run(process.execPath, argv);
      expect(r.code, r.stderr).toBe(0);
      const file = join(dataDir, 'mamori', 'agent.yml');
      const config = AgentConfig.parse(parse(readFileSync(file, 'utf8')));
      expect(config).toMatchObject({ collector: props['[COLLECTOR]'], enrollToken: props['[TOKEN]'], stateDir: `${dataDir}/mamori` });
      expect(config.caFingerprint).toBe(Array(32).fill('C0').join(':'));
      expect((statSync(file).mode & 0o777).toString(8)).toBe('600');

      // Upgrade: the same action with no properties keeps what is there.
      const before = readFileSync(file, 'utf8');
      // (an empty property means "not given")
      const bare = splitCommandLine(target).map((a) => Object.entries({ ...props, '[COLLECTOR]': '', '[TOKEN]': '', '[CA_PIN]': '', '[SEGMENT]': '' }).reduce((s, [k, v]) => s.split(k).join(v), a).replace(/\\/g, '/'));
      expect((await run(process.execPath, bare)).code).toBe(0);
      expect(AgentConfig.parse(parse(readFileSync(file, 'utf8')))).toEqual(AgentConfig.parse(parse(before)));
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('enrolls at install through TOKEN_FILE; a refused token fails the action with the reason and leaves no token behind', async () => {
    const actions = Object.fromEntries((await table('CustomAction')).map((a) => [a.Action, a.Target!]));
    const work = mkdtempSync(join(tmpdir(), 'mamori-msi-enroll-'));
    const { material } = await initTls(join(work, 'collector'));
    const collector = await startCollector({ dataDir: join(work, 'collector'), tls: material, log: createLogger({ component: 'collector', console: false }) });
    const programData = join(work, 'ProgramData');
    const tokenFile = join(work, 'token.txt');
    const commandLine = (target: string, given: Record<string, string>) =>
      splitCommandLine(target).map((a) =>
        a
          .split('[#AgentBundleMjs]')
          .join(join(out, 'agent', 'mamori-agent.mjs'))
          .split('[CommonAppDataFolder]')
          .join(`${programData}/`)
          .replace(/\[([A-Z_]+)\]/g, (_m, name: string) => given[name] ?? '')
          .replace(/\\/g, '/'),
      );
    const install = async (token: string) => {
      writeFileSync(tokenFile, `${token}\r\n`, { mode: 0o600 });
      const properties = { COLLECTOR: collector.agentUrl, TOKEN_FILE: tokenFile, CA_PIN: collector.caFingerprint!, SEGMENT: 'lgwan' };
      const configure = await run(process.execPath, commandLine(actions.WriteAgentConfig!, properties));
      expect(configure.code, configure.stderr).toBe(0);
      return run(process.execPath, commandLine(actions.EnrollAgent!, properties));
    };
    try {
      const refused = await install(`mmr1.${'7'.repeat(16)}.${'ee'.repeat(32)}`);
      expect(refused.code).toBe(3); // msiexec fails the install (1603) and rolls back
      expect(refused.stderr).toContain(`登録できませんでした: ${REFUSAL_TEXT.unknown}`);
      const config = readFileSync(join(programData, 'mamori', 'agent.yml'), 'utf8');
      expect(parse(config)).not.toHaveProperty('enrollToken');
      // install.ps1 reads the reason from here (world-readable, beside the owner-only folder).
      expect(JSON.parse(readFileSync(join(programData, 'mamori.enrollment.json'), 'utf8'))).toMatchObject({ kind: 'refused', reason: REFUSAL_TEXT.unknown });

      const { token } = await createEnrollmentToken(collector.store, { segment: 'lgwan', expiresInMs: 60_000, singleUse: true });
      const enrolled = await install(token);
      expect(enrolled.code, enrolled.stderr).toBe(0);
      expect(enrolled.stdout).toMatch(/収集サーバーに登録しました: ag_\w+ \(系統 lgwan\)/);
      expect(readFileSync(join(programData, 'mamori', 'agent.yml'), 'utf8')).not.toContain(token.split('.').pop());
      expect(existsSync(join(programData, 'mamori.enrollment.json'))).toBe(false);
    } finally {
      await collector.close();
      rmSync(work, { recursive: true, force: true });
    }
  }, 300_000);

  it.each([
    ['no COLLECTOR', {}, '収集サーバーの指定がありません'],
    ['a plain ws:// COLLECTOR', { COLLECTOR: 'ws://collector:8470/agent', CA_PIN: 'c0'.repeat(32) }, 'wss:// (TLS) でだけ通信します'],
    ['no CA_PIN', { COLLECTOR: 'wss://collector:8470/agent' }, 'CA ピンがありません'],
    ['a malformed CA_PIN', { COLLECTOR: 'wss://collector:8470/agent', CA_PIN: 'c0c0' }, '--ca-pin'],
    ['an unknown SEGMENT', { COLLECTOR: 'wss://collector:8470/agent', CA_PIN: 'c0'.repeat(32), SEGMENT: 'dmz' }, '--segment dmz'],
  ])('refuses a first install with %s (the action fails, so msiexec rolls back)', async (_label, given: Record<string, string>, message) => {
    const target = (await table('CustomAction')).find((a) => a.Action === 'WriteAgentConfig')!.Target!;
    const dataDir = mkdtempSync(join(tmpdir(), 'mamori-programdata-'));
    try {
      const argv = splitCommandLine(target).map((a) =>
        a
          .split('[#AgentBundleMjs]')
          .join(join(out, 'agent', 'mamori-agent.mjs'))
          .split('[CommonAppDataFolder]')
          .join(`${dataDir}/`)
          .replace(/\[([A-Z_]+)\]/g, (_m, name: string) => given[name] ?? '')
          .replace(/\\/g, '/'),
      );
      const r = await run(process.execPath, argv);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(message);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
