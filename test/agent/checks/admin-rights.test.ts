/**
 * admin-rights check: who is signed in with administrator rights, UAC, the built-in administrator —
 * through the recordings in test/fixtures/replay (README there for provenance) and scripted failures.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKS } from '../../../agent/checks/registry.js';
import { adminVia, parseGroups, rootLocked } from '../../../agent/checks/admin-rights/linux.js';
import { adminRightsFacts, winntAccount } from '../../../agent/checks/admin-rights/windows-parse.js';
import { ADMIN_RIGHTS_SCRIPT } from '../../../agent/checks/admin-rights/windows-script.js';
import { localCheck } from '../../../agent/local-check.js';
import { InMemoryCheckMemory } from '../../../agent/memory.js';
import { ReplayProbes } from '../../../agent/probes/replay.js';
import { runLinuxCheck } from '../../helpers/linux-context.js';
import { ScriptedProbes } from '../../helpers/linux-probes.js';

const ROOT = join(import.meta.dirname, '../../fixtures/replay');
const def = CHECKS.find((c) => c.id === 'admin-rights')!;

async function collect(recording: string) {
  const probes = new ReplayProbes(join(ROOT, recording));
  const collector = await def.platforms[probes.platform]!();
  return collector({ probes, params: { ...def.params }, memory: { get: () => undefined, set() {} }, log: { debug() {}, warn() {} } }) as Promise<{ status: string; facts: Record<string, unknown>; unknownFacts: Record<string, string> }>;
}
async function verdicts(recording: string): Promise<Record<string, string>> {
  const r = await localCheck({ replayDir: join(ROOT, recording), checks: ['admin-rights'], memory: new InMemoryCheckMemory() });
  return Object.fromEntries(r.checks.flatMap((c) => c.rules.map((x) => [x.ruleId, x.result])));
}

describe('admin-rights parsers', () => {
  it('group(5), primary group, root', () => {
    const groups = parseGroups('sudo:x:27:suzuki,tanaka\nwheel:x:10:\nusers:x:100:\n');
    expect(adminVia('tanaka', 1000, groups)).toBe('sudo');
    expect(adminVia('sato', 10, groups)).toBe('wheel');
    expect(adminVia('sato', 1001, groups)).toBeNull();
    expect(adminVia('root', 0, groups)).toBe('root');
  });
  it('passwd -S root on Debian and RHEL', () => {
    expect(rootLocked('root L 2025-05-20 0 99999 7 -1\n')).toBe(true);
    expect(rootLocked('root LK 2025-10-20 0 99999 7 -1 (Password locked.)\n')).toBe(true);
    expect(rootLocked('root P 2025-05-20 0 99999 7 -1\n')).toBe(false);
    expect(rootLocked('passwd: You may not view or modify password information for root.\n')).toBeNull();
  });
  it('WinNT paths of domain and local accounts', () => {
    expect(winntAccount('WinNT://CITY/admin.kato')).toBe('city\\admin.kato');
    expect(winntAccount('WinNT://WORKGROUP/PC01/Administrator')).toBe('pc01\\administrator');
  });
});

describe('admin-rights on Linux recordings', () => {
  it('Xubuntu: the installer user suzuki is in sudo; root locked', async () => {
    expect((await collect('linux/ubuntu2204-xfce-noav')).facts).toEqual({ uacEnabled: null, builtinAdminProtected: true, builtinAdminName: 'root', interactiveUsers: [{ user: 'suzuki', admin: true, via: 'sudo' }] });
    expect(await verdicts('linux/ubuntu2204-xfce-noav')).toEqual({ 'ADMIN-001': 'fail', 'ADMIN-002': 'not_applicable', 'ADMIN-003': 'pass' });
  });
  it('RHEL 9: sato is not in wheel (LK = locked root)', async () => {
    expect(await verdicts('linux/rhel9-kde-mdatp')).toEqual({ 'ADMIN-001': 'pass', 'ADMIN-002': 'not_applicable', 'ADMIN-003': 'pass' });
  });
  it('this Debian 12 machine (real): no logind, so who is signed in is unknown; root locked', async () => {
    const r = await collect('linux/debian12-this-machine');
    expect(r.facts.builtinAdminProtected).toBe(true);
    expect(r.unknownFacts.interactiveUsers).toMatch(/EXEC_FAILED/);
    expect((await verdicts('linux/debian12-this-machine'))['ADMIN-001']).toBe('unknown');
  });
  it('passwd -S refused or /etc/group unreadable: unknown, not pass', async () => {
    const r = await runLinuxCheck('admin-rights', new ScriptedProbes({
      'passwd.status.root': { ok: false, failure: 'EXEC_FAILED', detail: 'exited 1', exitCode: 1 },
      'loginctl.sessions': '2 1000 tanaka seat0\n',
      'loginctl.session.2': 'Name=tanaka\nUser=1000\nType=wayland\nClass=user\n',
      passwd: 'tanaka:x:1000:1000::/home/tanaka:/bin/bash\n',
      group: { ok: false, failure: 'ACCESS_DENIED', detail: 'denied' },
    }));
    expect(r.unknownFacts.builtinAdminProtected).toMatch(/EXEC_FAILED/);
    expect(r.unknownFacts.interactiveUsers).toMatch(/ACCESS_DENIED/);
  });
});

describe('admin-rights on Windows recordings (documented shapes, Japanese and English)', () => {
  it('Japanese domain PC: 山田太郎 is not an administrator (Domain Admins expanded), UAC on, built-in renamed 市管理者', async () => {
    expect((await collect('windows/w11-24h2-ent-ja-gpo')).facts).toEqual({ interactiveUsers: [{ user: 'CITY\\山田太郎', admin: false, via: null }], uacEnabled: true, builtinAdminProtected: true, builtinAdminName: '市管理者' });
    expect(await verdicts('windows/w11-24h2-ent-ja-gpo')).toEqual({ 'ADMIN-001': 'pass', 'ADMIN-002': 'pass', 'ADMIN-003': 'pass' });
  });
  it('Japanese Entra ID kiosk: a role SID in Administrators cannot be expanded, so the user is unknown; EnableLUA absent = on', async () => {
    const r = await collect('windows/w10-ltsc2021-ja-kiosk');
    expect(r.unknownFacts.interactiveUsers).toMatch(/^GROUP_NOT_EXPANDED: KIOSK-01\\kiosk/);
    expect(await verdicts('windows/w10-ltsc2021-ja-kiosk')).toEqual({ 'ADMIN-001': 'unknown', 'ADMIN-002': 'pass', 'ADMIN-003': 'pass' });
  });
  it('English PC: jsmith is a direct member (console and RDP counted once), UAC off, Administrator enabled', async () => {
    expect((await collect('windows/w11-23h2-ent-en-trellix')).facts.interactiveUsers).toEqual([{ user: 'CONTOSO\\jsmith', admin: true, via: 'Administrators' }]);
    expect(await verdicts('windows/w11-23h2-ent-en-trellix')).toEqual({ 'ADMIN-001': 'fail', 'ADMIN-002': 'fail', 'ADMIN-003': 'fail' });
  });
  it('failed parts are unknown', () => {
    const r = adminRightsFacts({ schema: 'mamori.win.admin-rights/1', sessions: null, administrators: null, nested: null, EnableLUA: null, builtinAdmin: null, errors: [{ part: 'administrators', message: 'Access is denied' }, { part: 'uac', message: 'denied' }] });
    expect(r.status).toBe('unknown');
    expect(r.unknownFacts.interactiveUsers).toBe('SCRIPT_ERROR: administrators: Access is denied');
    expect(r.unknownFacts.uacEnabled).toBe('SCRIPT_ERROR: uac: denied');
  });
  it('the script stops at errors and looks the group up by SID', () => {
    expect(ADMIN_RIGHTS_SCRIPT).toContain("$ErrorActionPreference = 'Stop'");
    expect(ADMIN_RIGHTS_SCRIPT).not.toMatch(/-ErrorAction\s+SilentlyContinue/i);
    expect(ADMIN_RIGHTS_SCRIPT).toContain("SecurityIdentifier('S-1-5-32-544')");
  });
});
