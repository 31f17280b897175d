/**
 * sign-in check: PAM/login.defs/display-manager parsing and the secedit template on Windows,
 * through recordings (test/fixtures/replay, README there for provenance), scripted failures and,
 * where this machine has them, the real PAM files.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKS } from '../../../agent/checks/registry.js';
import { SignInFacts } from '../../../agent/checks/sign-in/facts.js';
import { gdmAutoLogin, lightdmAutoLogin, parsePamStack, requiredClasses, sddmAutoLogin, parseConfValues } from '../../../agent/checks/sign-in/linux-parse.js';
import { signInFacts, systemAccess } from '../../../agent/checks/sign-in/windows-parse.js';
import { SIGN_IN_SCRIPT } from '../../../agent/checks/sign-in/windows-script.js';
import { localCheck } from '../../../agent/local-check.js';
import { InMemoryCheckMemory } from '../../../agent/memory.js';
import { LiveProbes } from '../../../agent/probes/live.js';
import { ReplayProbes } from '../../../agent/probes/replay.js';
import { runLinuxCheck } from '../../helpers/linux-context.js';
import { ScriptedProbes } from '../../helpers/linux-probes.js';

const ROOT = join(import.meta.dirname, '../../fixtures/replay');
const def = CHECKS.find((c) => c.id === 'sign-in')!;

async function collect(recording: string) {
  const probes = new ReplayProbes(join(ROOT, recording));
  const collector = await def.platforms[probes.platform]!();
  return collector({ probes, params: { ...def.params }, memory: { get: () => undefined, set() {} }, log: { debug() {}, warn() {} } });
}
async function verdicts(recording: string): Promise<Record<string, string>> {
  const r = await localCheck({ replayDir: join(ROOT, recording), checks: ['sign-in'], memory: new InMemoryCheckMemory() });
  return Object.fromEntries(r.checks.flatMap((c) => c.rules.map((x) => [x.ruleId, x.result])));
}

describe('sign-in Linux parsers', () => {
  it('PAM lines: bracketed controls, a leading dash, comments and module paths', () => {
    const lines = parsePamStack('# c\nauth [success=1 default=ignore]\tpam_unix.so nullok\n-auth optional /usr/lib/security/pam_gnome_keyring.so\n@include common-auth\npassword requisite pam_pwquality.so retry=3 minlen=14\n');
    expect(lines).toEqual([
      { type: 'auth', control: '[success=1 default=ignore]', module: 'pam_unix.so', args: ['nullok'] },
      { type: 'auth', control: 'optional', module: 'pam_gnome_keyring.so', args: [] },
      { type: 'password', control: 'requisite', module: 'pam_pwquality.so', args: ['retry=3', 'minlen=14'] },
    ]);
  });
  it('display managers: only a setting that is on counts', () => {
    expect(gdmAutoLogin('[daemon]\nAutomaticLoginEnable=True\nAutomaticLogin=tanaka\n')).toBe('[daemon] AutomaticLoginEnable');
    expect(gdmAutoLogin('[daemon]\n#AutomaticLoginEnable=true\nTimedLoginEnable=false\n')).toBeNull();
    expect(lightdmAutoLogin('[SeatDefaults]\nautologin-user=kiosk\n')).toBe('[SeatDefaults] autologin-user');
    expect(lightdmAutoLogin('[Seat:*]\nautologin-user=\n')).toBeNull();
    expect(sddmAutoLogin('[Autologin]\nUser=\nSession=plasma\n')).toBeNull();
    expect(sddmAutoLogin('[Autologin]\nUser=sato\n')).toBe('[Autologin] User');
  });
  it('pwquality classes: minclass or credits below zero', () => {
    expect(requiredClasses(parseConfValues('minclass = 3\n'))).toBe(3);
    expect(requiredClasses(parseConfValues('dcredit = -1\nucredit = -1\nlcredit = -1\n'))).toBe(3);
    expect(requiredClasses(parseConfValues('dcredit = 1\n# minclass = 4\n'))).toBe(0);
  });
});

describe('sign-in on Linux recordings', () => {
  it('this Debian 12 machine (real files): nullok, no lockout, no quality module, no expiry', async () => {
    const r = await collect('linux/debian12-this-machine');
    expect(SignInFacts.parse(r.facts)).toEqual({ autoLogonEnabled: false, autoLogonSource: null, autoLogonPasswordStored: null, blankPasswordsAllowed: true, lockoutThreshold: 0, minPasswordLength: null, passwordComplexity: false, maxPasswordAgeDays: null, passwordHistory: 0 });
    expect(await verdicts('linux/debian12-this-machine')).toEqual({ 'AUTH-001': 'fail', 'AUTH-002': 'fail', 'AUTH-003': 'fail', 'AUTH-004': 'fail' });
  });
  it('RHEL 9 authselect with faillock, pwquality and pwhistory from their conf files; SDDM with an empty autologin user', async () => {
    const r = await collect('linux/rhel9-kde-mdatp');
    expect(r.unknownFacts).toEqual({});
    expect(r.facts).toMatchObject({ autoLogonEnabled: false, blankPasswordsAllowed: false, lockoutThreshold: 5, minPasswordLength: 12, passwordComplexity: true, maxPasswordAgeDays: 90, passwordHistory: 5 });
    expect(await verdicts('linux/rhel9-kde-mdatp')).toEqual({ 'AUTH-001': 'pass', 'AUTH-002': 'pass', 'AUTH-003': 'pass', 'AUTH-004': 'pass' });
  });
  it('Xubuntu 22.04 with LightDM automatic login', async () => {
    const r = await collect('linux/ubuntu2204-xfce-noav');
    expect(r.facts).toMatchObject({ autoLogonEnabled: true, autoLogonSource: '/etc/lightdm/lightdm.conf [Seat:*] autologin-user' });
    expect((await verdicts('linux/ubuntu2204-xfce-noav'))['AUTH-001']).toBe('fail');
  });
  it('a recording without sign-in outputs is unknown, never a pass', async () => {
    const v = await verdicts('linux/ubuntu2404-gnome-clamav');
    expect(Object.values(v)).toEqual(['unknown', 'unknown', 'unknown', 'unknown']);
  });
});

describe('sign-in on Linux: unreadable sources give unknown', () => {
  const debian = { 'pam.common-auth': 'auth required pam_faillock.so preauth\nauth [success=1 default=ignore] pam_unix.so\n', 'pam.common-password': 'password requisite pam_pwquality.so\npassword required pam_pwhistory.so\n', 'login.defs': 'PASS_MAX_DAYS 60\n' };
  it('module defaults when the conf files are absent: deny 3, minlen 8, remember 10', async () => {
    const r = await runLinuxCheck('sign-in', new ScriptedProbes(debian));
    expect(r.facts).toMatchObject({ lockoutThreshold: 3, minPasswordLength: 8, passwordComplexity: false, passwordHistory: 10, maxPasswordAgeDays: 60, autoLogonEnabled: false });
  });
  it('a PAM stack that cannot be read, faillock.conf denied, a display-manager file denied', async () => {
    const denied = { ok: false as const, failure: 'ACCESS_DENIED' as const, detail: 'permission denied' };
    const r1 = await runLinuxCheck('sign-in', new ScriptedProbes({ ...debian, 'pam.common-auth': denied }));
    expect(Object.keys(r1.unknownFacts).sort()).toEqual(['blankPasswordsAllowed', 'lockoutThreshold', 'minPasswordLength', 'passwordComplexity', 'passwordHistory']);
    const r2 = await runLinuxCheck('sign-in', new ScriptedProbes({ ...debian, 'faillock.conf': denied, 'lightdm.conf': denied }));
    expect(r2.unknownFacts.lockoutThreshold).toMatch(/ACCESS_DENIED/);
    expect(r2.unknownFacts.autoLogonEnabled).toMatch(/lightdm\.conf: ACCESS_DENIED/);
    expect(r2.facts.lockoutThreshold).toBeUndefined();
  });
});

describe.runIf(existsSync('/etc/pam.d/common-auth') && existsSync('/etc/login.defs'))('sign-in on this machine (real PAM files)', () => {
  it('reads what the files say', async () => {
    const r = await runLinuxCheck('sign-in', new LiveProbes());
    expect(r.unknownFacts).toEqual({});
    const auth = readFileSync('/etc/pam.d/common-auth', 'utf8');
    expect(r.facts.blankPasswordsAllowed).toBe(/^\s*auth\s.*pam_unix\.so.*\bnullok/m.test(auth));
    expect(r.facts.lockoutThreshold === 0).toBe(!/^\s*auth\s.*pam_faillock\.so/m.test(auth));
    const maxDays = /^PASS_MAX_DAYS\s+(\d+)/m.exec(readFileSync('/etc/login.defs', 'utf8'))?.[1];
    expect(r.facts.maxPasswordAgeDays).toBe(maxDays === undefined || Number(maxDays) >= 99999 ? null : Number(maxDays));
  });
});

describe('sign-in on Windows recordings (documented secedit template shape, Japanese and English)', () => {
  it('Japanese domain PC: GPO policy, no automatic logon', async () => {
    const r = await collect('windows/w11-24h2-ent-ja-gpo');
    expect(r.facts).toEqual({ minPasswordLength: 10, blankPasswordsAllowed: false, passwordComplexity: true, lockoutThreshold: 10, maxPasswordAgeDays: 90, passwordHistory: 24, autoLogonEnabled: false, autoLogonSource: null, autoLogonPasswordStored: false });
    expect(await verdicts('windows/w11-24h2-ent-ja-gpo')).toEqual({ 'AUTH-001': 'pass', 'AUTH-002': 'pass', 'AUTH-003': 'pass', 'AUTH-004': 'pass' });
  });
  it('Japanese kiosk: AutoAdminLogon with a stored password, passwords never expire, no lockout', async () => {
    const r = await collect('windows/w10-ltsc2021-ja-kiosk');
    expect(r.facts).toMatchObject({ autoLogonEnabled: true, autoLogonPasswordStored: true, maxPasswordAgeDays: null, lockoutThreshold: 0 });
    expect(await verdicts('windows/w10-ltsc2021-ja-kiosk')).toEqual({ 'AUTH-001': 'fail', 'AUTH-002': 'fail', 'AUTH-003': 'pass', 'AUTH-004': 'fail' });
  });
  it('English PC with the local defaults: length 0 allows blank passwords', async () => {
    expect(await verdicts('windows/w11-23h2-ent-en-trellix')).toEqual({ 'AUTH-001': 'fail', 'AUTH-002': 'pass', 'AUTH-003': 'fail', 'AUTH-004': 'fail' });
  });
  it('a failed secedit export or a template without [System Access] is unknown', () => {
    const failed = signInFacts({ schema: 'mamori.win.sign-in/1', securityTemplate: null, winlogon: { AutoAdminLogon: null, DefaultPasswordPresent: false }, errors: [{ part: 'secedit', message: 'secedit /export exited with code 3' }] });
    expect(failed.unknownFacts.lockoutThreshold).toBe('SCRIPT_ERROR: secedit: secedit /export exited with code 3');
    expect(failed.facts).toEqual({ autoLogonEnabled: false, autoLogonSource: null, autoLogonPasswordStored: false });
    expect(systemAccess('\uFEFF[Unicode]\r\nUnicode=yes\r\n[Version]\r\n')).toBeNull();
    const partial = signInFacts({ schema: 'mamori.win.sign-in/1', securityTemplate: '[System Access]\r\nMinimumPasswordLength = 8\r\n', winlogon: null, errors: [{ part: 'winlogon', message: 'Access denied' }] });
    expect(partial.facts).toEqual({ minPasswordLength: 8, blankPasswordsAllowed: false });
    expect(partial.unknownFacts.lockoutThreshold).toMatch(/^NOT_FOUND: LockoutBadCount/);
    expect(partial.unknownFacts.autoLogonEnabled).toBe('SCRIPT_ERROR: winlogon: Access denied');
  });
});

describe('sign-in Windows script', () => {
  it('stops at errors, lets only secedit run under Continue, reads the template as UTF-16LE, never the password', () => {
    expect(SIGN_IN_SCRIPT).toContain("$ErrorActionPreference = 'Stop'");
    expect(SIGN_IN_SCRIPT).not.toMatch(/-ErrorAction\s+SilentlyContinue/i);
    const native = SIGN_IN_SCRIPT.indexOf('secedit.exe');
    expect(SIGN_IN_SCRIPT.lastIndexOf("$ErrorActionPreference = 'Continue'", native)).toBeGreaterThan(0);
    expect(SIGN_IN_SCRIPT.indexOf("$ErrorActionPreference = 'Stop'", native)).toBeGreaterThan(native);
    expect(SIGN_IN_SCRIPT).toContain('[System.Text.Encoding]::Unicode');
    expect(SIGN_IN_SCRIPT).toContain('System32\\secedit.exe');
    expect(SIGN_IN_SCRIPT).not.toMatch(/Get-MamoriRegValue\s+\S+\s+'DefaultPassword'/);
  });
});
