/**
 * logging check: sign-ins recorded, the Security log size, the log service — through the recordings
 * in test/fixtures/replay (READMEs there for provenance), this machine's real files, and failed parts.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKS } from '../../../agent/checks/registry.js';
import { activeStates, journaldStorage } from '../../../agent/checks/logging/linux.js';
import { AUDIT_LOGON, auditSettings, loggingFacts } from '../../../agent/checks/logging/windows-parse.js';
import { LOGGING_SCRIPT } from '../../../agent/checks/logging/windows-script.js';
import { localCheck } from '../../../agent/local-check.js';
import { InMemoryCheckMemory } from '../../../agent/memory.js';
import { ReplayProbes } from '../../../agent/probes/replay.js';
import { runLinuxCheck } from '../../helpers/linux-context.js';
import { ScriptedProbes } from '../../helpers/linux-probes.js';

const ROOT = join(import.meta.dirname, '../../fixtures/replay');
const def = CHECKS.find((c) => c.id === 'logging')!;

async function collect(recording: string) {
  const probes = new ReplayProbes(join(ROOT, recording));
  const collector = await def.platforms[probes.platform]!();
  return collector({ probes, params: { ...def.params }, memory: { get: () => undefined, set() {} }, log: { debug() {}, warn() {} } }) as Promise<{ status: string; facts: Record<string, unknown>; unknownFacts: Record<string, string> }>;
}
async function verdicts(recording: string): Promise<Record<string, string>> {
  const r = await localCheck({ replayDir: join(ROOT, recording), checks: ['logging'], memory: new InMemoryCheckMemory() });
  return Object.fromEntries(r.checks.flatMap((c) => c.rules.map((x) => [x.ruleId, x.result])));
}

describe('logging parsers', () => {
  it('auditpol /backup lines by position: GUID and number, localised names ignored, options and per-user lines skipped', () => {
    const csv = '\uFEFFコンピューター名,ポリシーの対象,サブカテゴリ,サブカテゴリ GUID,包含設定,除外設定,設定値\r\nPC,System,ログオン,{0cce9215-69ae-11d9-bed3-505054503030},成功および失敗,,3\r\nPC,S-1-5-21-1-2-3-1001,ログオン,{0cce9215-69ae-11d9-bed3-505054503030},成功,,1\r\nPC,,Option:CrashOnAuditFail,,Disabled,,0\r\n';
    expect(auditSettings(csv)).toEqual(new Map([[AUDIT_LOGON, 3]]));
    expect(auditSettings('PC,System,Logon,{0cce9215-69ae-11d9-bed3-505054503030},Success,,x\r\n')).toBeNull();
  });
  it('journald.conf Storage= and systemctl is-active lines', () => {
    expect(journaldStorage('[Journal]\n#Storage=auto\n')).toBeNull();
    expect(journaldStorage('[Journal]\nStorage=Persistent\n')).toBe('persistent');
    expect(activeStates('active\ninactive\nactive\n', ['a', 'b', 'c'])).toEqual(new Map([['a', 'active'], ['b', 'inactive'], ['c', 'active']]));
    expect(activeStates('active\n', ['a', 'b'])).toBeNull();
  });
});

describe('logging on Windows recordings (audit GUIDs and setting values, Japanese and English)', () => {
  it('Japanese GPO PC: logon success and failure audited, 192 MB Security log, EventLog running', async () => {
    const r = await collect('windows/w11-24h2-ent-ja-gpo');
    expect(r.facts).toEqual({ logonEventsRecorded: true, logonEventsSource: '監査ポリシー ログオン=成功と失敗 ログオフ=成功', securityLogMaxMB: 192, securityLogMode: 'Circular', logServiceRunning: true });
    expect(await verdicts('windows/w11-24h2-ent-ja-gpo')).toEqual({ 'LOG-001': 'pass', 'LOG-002': 'pass', 'LOG-003': 'pass' });
  });
  it('Japanese kiosk: a 20 MB Security log that overwrites', async () => {
    expect(await verdicts('windows/w10-ltsc2021-ja-kiosk')).toEqual({ 'LOG-001': 'pass', 'LOG-002': 'fail', 'LOG-003': 'pass' });
  });
  it('English PC: failed logons not audited, EventLog stopped, so the Security log cannot be listed', async () => {
    const r = await collect('windows/w11-23h2-ent-en-trellix');
    expect(r.facts.logonEventsSource).toBe('監査ポリシー ログオン=成功 ログオフ=成功');
    expect(r.unknownFacts.securityLogMaxMB).toBe('SCRIPT_ERROR: security-log: The RPC server is unavailable');
    expect(await verdicts('windows/w11-23h2-ent-en-trellix')).toEqual({ 'LOG-001': 'fail', 'LOG-002': 'unknown', 'LOG-003': 'fail' });
  });
  it('a failed auditpol is unknown, not "not audited"', () => {
    const r = loggingFacts({ schema: 'mamori.win.logging/1', auditBackup: null, securityLog: null, eventLogService: { State: 'Running', StartMode: 'Auto' }, errors: [{ part: 'auditpol', message: 'auditpol /backup exited with code 87' }] });
    expect(r.unknownFacts.logonEventsRecorded).toBe('SCRIPT_ERROR: auditpol: auditpol /backup exited with code 87');
  });
  it('the script reads numbers, not the localised /get text', () => {
    expect(LOGGING_SCRIPT).toContain('/backup');
    expect(LOGGING_SCRIPT).not.toMatch(/\/get|wevtutil/);
  });
});

describe('logging on Linux recordings', () => {
  it('Ubuntu 24.04: Storage=auto with /var/log/journal, rsyslog; auditd not installed', async () => {
    expect((await collect('linux/ubuntu2404-gnome-clamav')).facts.logonEventsSource).toBe('journald Storage=auto (既定値、/var/log/journal あり)、rsyslog が動作中');
    expect(await verdicts('linux/ubuntu2404-gnome-clamav')).toEqual({ 'LOG-001': 'pass', 'LOG-002': 'not_applicable', 'LOG-003': 'pass' });
  });
  it('Xubuntu 22.04: a drop-in makes the journal volatile and rsyslog was removed', async () => {
    expect((await collect('linux/ubuntu2204-xfce-noav')).facts.logonEventsSource).toBe('journald Storage=volatile (/etc/systemd/journald.conf.d/50-volatile.conf)');
    expect(await verdicts('linux/ubuntu2204-xfce-noav')).toEqual({ 'LOG-001': 'fail', 'LOG-002': 'not_applicable', 'LOG-003': 'pass' });
  });
  it('RHEL 9: journal on disk and auditd', async () => {
    expect(await verdicts('linux/rhel9-kde-mdatp')).toEqual({ 'LOG-001': 'pass', 'LOG-002': 'not_applicable', 'LOG-003': 'pass' });
  });
  it('this Debian 12 machine (real): no systemd as PID 1, so nothing can be told', async () => {
    expect(await verdicts('linux/debian12-this-machine')).toEqual({ 'LOG-001': 'unknown', 'LOG-002': 'not_applicable', 'LOG-003': 'unknown' });
  });
  it('journald stopped with a volatile journal fails; an unreadable drop-in with auditd running still records', async () => {
    const stopped = await runLinuxCheck('logging', new ScriptedProbes({ 'systemctl.is-active.logging': 'inactive\ninactive\ninactive\n', 'journald.conf': '[Journal]\nStorage=persistent\n', 'journal.dir': '[]' }));
    expect(stopped.facts).toMatchObject({ logServiceRunning: false, logonEventsRecorded: false });
    const denied = await runLinuxCheck('logging', new ScriptedProbes({ 'systemctl.is-active.logging': 'active\nactive\ninactive\n', 'journald.conf': { ok: false, failure: 'ACCESS_DENIED', detail: 'denied' } }));
    expect(denied.facts).toMatchObject({ logonEventsRecorded: true, logonEventsSource: 'auditd が動作中' });
    const deniedAlone = await runLinuxCheck('logging', new ScriptedProbes({ 'systemctl.is-active.logging': 'active\ninactive\ninactive\n', 'journald.conf': { ok: false, failure: 'ACCESS_DENIED', detail: 'denied' } }));
    expect(deniedAlone.unknownFacts.logonEventsRecorded).toMatch(/^ACCESS_DENIED: /);
  });
});
