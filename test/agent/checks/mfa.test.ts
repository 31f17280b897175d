/**
 * mfa check: a second factor required to sign in to a マイナンバー利用事務系 PC — through the recordings
 * in test/fixtures/replay (READMEs there for provenance), this machine's real PAM files, and cases
 * that cannot be told.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKS } from '../../../agent/checks/registry.js';
import { includedStacks, mandatorySecondFactor } from '../../../agent/checks/mfa/linux.js';
import { mfaFacts } from '../../../agent/checks/mfa/windows-parse.js';
import { MFA_SCRIPT } from '../../../agent/checks/mfa/windows-script.js';
import { parsePamStack } from '../../../agent/checks/sign-in/linux-parse.js';
import { localCheck } from '../../../agent/local-check.js';
import { InMemoryCheckMemory } from '../../../agent/memory.js';
import { LiveProbes } from '../../../agent/probes/live.js';
import { ReplayProbes } from '../../../agent/probes/replay.js';
import { runLinuxCheck } from '../../helpers/linux-context.js';
import { ScriptedProbes } from '../../helpers/linux-probes.js';

const ROOT = join(import.meta.dirname, '../../fixtures/replay');
const def = CHECKS.find((c) => c.id === 'mfa')!;

async function collect(recording: string) {
  const probes = new ReplayProbes(join(ROOT, recording));
  const collector = await def.platforms[probes.platform]!();
  return collector({ probes, params: { ...def.params }, memory: { get: () => undefined, set() {} }, log: { debug() {}, warn() {} } }) as Promise<{ status: string; facts: Record<string, unknown>; unknownFacts: Record<string, string> }>;
}
async function verdict(recording: string, segment: 'mynumber' | 'lgwan' = 'mynumber'): Promise<string> {
  const r = await localCheck({ replayDir: join(ROOT, recording), checks: ['mfa'], memory: new InMemoryCheckMemory(), segment });
  return r.checks[0]!.rules.find((x) => x.ruleId === 'MFA-001')!.result;
}
const MS = 'CN=Microsoft Windows, O=Microsoft Corporation, L=Redmond, S=Washington, C=US';
const password = { clsid: '{60b78e88-ead8-445c-9cfd-0b87f74ea6cd}', name: 'PasswordProvider', dll: 'authui.dll', signer: MS };

describe('PAM second factor', () => {
  it('required and bracketed die are mandatory; sufficient is an alternative; pam_sss only with require_cert_auth', () => {
    expect(mandatorySecondFactor(parsePamStack('auth required pam_u2f.so cue\n'))).toBe('pam_u2f.so required');
    expect(mandatorySecondFactor(parsePamStack('auth [success=ok default=die] pam_google_authenticator.so\n'))).toBe('pam_google_authenticator.so [success=ok default=die]');
    expect(mandatorySecondFactor(parsePamStack('auth sufficient pam_u2f.so\nauth sufficient pam_unix.so\n'))).toBeNull();
    expect(mandatorySecondFactor(parsePamStack('auth sufficient pam_sss.so forward_pass\n'))).toBeNull();
    expect(mandatorySecondFactor(parsePamStack('auth required pam_sss.so require_cert_auth\n'))).toBe('pam_sss.so required');
  });
  it('includes: Debian @include of auth stacks, RHEL include/substack', () => {
    expect(includedStacks('@include common-auth\n@include common-account\nauth substack system-auth\nauth include postlogin\n')).toEqual(['common-auth', 'system-auth', 'postlogin']);
  });
});

describe('mfa on Windows recordings (registry values and signer subjects, Japanese and English)', () => {
  it('Japanese GPO PC: smart card required', async () => {
    expect((await collect('windows/w11-24h2-ent-ja-gpo')).facts).toEqual({ multiFactorEnforced: true, multiFactorSource: 'スマートカードまたは Windows Hello for Business が必須 (scforceoption=1)', thirdPartyCredentialProviders: [] });
    expect(await verdict('windows/w11-24h2-ent-ja-gpo')).toBe('pass');
  });
  it('Japanese kiosk: the password alone signs in', async () => {
    expect(await verdict('windows/w10-ltsc2021-ja-kiosk')).toBe('fail');
    expect(await verdict('windows/w10-ltsc2021-ja-kiosk', 'lgwan')).toBe('not_applicable');
  });
  it('English PC with another vendor\'s credential provider: unknown with the reason, never a pass', async () => {
    const r = await collect('windows/w11-23h2-ent-en-trellix');
    expect(r.facts.thirdPartyCredentialProviders).toEqual(['ExampleAuth Credential Provider {7A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D}']);
    expect(r.unknownFacts.multiFactorEnforced).toMatch(/^NOT_DETERMINABLE: 他社の資格情報プロバイダー/);
    expect(await verdict('windows/w11-23h2-ent-en-trellix')).toBe('unknown');
  });
  it('password provider excluded with Windows Hello for Business: enforced; Hello alone: not', () => {
    const base = { schema: 'mamori.win.mfa/1' as const, scforceoption: null, excluded: null, providers: [password], errors: [] };
    expect(mfaFacts({ ...base, helloForBusiness: 1, excluded: '{60B78E88-EAD8-445C-9CFD-0B87F74EA6CD}' }).facts.multiFactorEnforced).toBe(true);
    expect(mfaFacts({ ...base, helloForBusiness: 1 }).facts).toMatchObject({ multiFactorEnforced: false, multiFactorSource: 'Windows Hello for Business は有効だが、パスワードだけでもサインインできる' });
    expect(mfaFacts({ ...base, helloForBusiness: null, providers: null, errors: [{ part: 'providers', message: 'denied' }] }).status).toBe('unknown');
  });
  it('an unsigned provider DLL counts as another vendor\'s', () => {
    const r = mfaFacts({ schema: 'mamori.win.mfa/1', scforceoption: null, helloForBusiness: null, excluded: null, providers: [password, { clsid: '{X}', name: '', dll: null, signer: null }], errors: [] });
    expect(r.unknownFacts.multiFactorEnforced).toContain('(名前なし) {X}');
  });
  it('the script decides Microsoft by signature, not by a list of GUIDs', () => {
    expect(MFA_SCRIPT).toContain('Get-AuthenticodeSignature');
    expect(MFA_SCRIPT).toContain("'scforceoption'");
  });
});

describe('mfa on Linux recordings', () => {
  it('Debian 11 GNOME: pam_u2f required in common-auth, which login and gdm-password include', async () => {
    expect((await collect('linux/debian11-gnome-clamav')).facts.multiFactorSource).toBe('pam_u2f.so required (common-auth)');
    expect(await verdict('linux/debian11-gnome-clamav')).toBe('pass');
  });
  it('Xubuntu 22.04 and RHEL 9: password only', async () => {
    expect((await collect('linux/ubuntu2204-xfce-noav')).facts.multiFactorSource).toBe('二要素目の PAM モジュールが必須になっていないサインイン: login, lightdm');
    expect(await verdict('linux/ubuntu2204-xfce-noav')).toBe('fail');
    expect((await collect('linux/rhel9-kde-mdatp')).facts.multiFactorSource).toBe('二要素目の PAM モジュールが必須になっていないサインイン: login, sddm');
  });
  it('this Debian 12 machine (real PAM files): password only, as recorded', async () => {
    const live = await runLinuxCheck('mfa', new LiveProbes());
    expect(live.facts).toEqual((await collect('linux/debian12-this-machine')).facts);
    expect(await verdict('linux/debian12-this-machine')).toBe('fail');
  });
  it('an unreadable stack is unknown; a second factor only in gdm-password leaves the console without one', async () => {
    const denied = await runLinuxCheck('mfa', new ScriptedProbes({ 'pam.login': { ok: false, failure: 'ACCESS_DENIED', detail: 'denied' } }));
    expect(denied.reason).toMatch(/^ACCESS_DENIED: /);
    const gdmOnly = await runLinuxCheck('mfa', new ScriptedProbes({ 'pam.login': '@include common-auth\n', 'pam.gdm-password': 'auth required pam_pkcs11.so\n@include common-auth\n', 'pam.common-auth': 'auth required pam_unix.so\n' }));
    expect(gdmOnly.facts).toMatchObject({ multiFactorEnforced: false, multiFactorSource: '二要素目の PAM モジュールが必須になっていないサインイン: login' });
  });
});
