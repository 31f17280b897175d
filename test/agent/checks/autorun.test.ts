/**
 * autorun check: AutoPlay/AutoRun, removable drives scanned, writing to unprotected removable drives —
 * through the recordings in test/fixtures/replay (READMEs there for provenance), the real gsettings of
 * this machine, and failed parts.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKS } from '../../../agent/checks/registry.js';
import { autorunFacts } from '../../../agent/checks/autorun/windows-parse.js';
import { AUTORUN_SCRIPT } from '../../../agent/checks/autorun/windows-script.js';
import { localCheck } from '../../../agent/local-check.js';
import { InMemoryCheckMemory } from '../../../agent/memory.js';
import { LiveProbes } from '../../../agent/probes/live.js';
import { ReplayProbes } from '../../../agent/probes/replay.js';
import { runLinuxCheck } from '../../helpers/linux-context.js';
import { ScriptedProbes } from '../../helpers/linux-probes.js';

const ROOT = join(import.meta.dirname, '../../fixtures/replay');
const def = CHECKS.find((c) => c.id === 'autorun')!;

async function collect(recording: string) {
  const probes = new ReplayProbes(join(ROOT, recording));
  const collector = await def.platforms[probes.platform]!();
  return collector({ probes, params: { ...def.params }, memory: { get: () => undefined, set() {} }, log: { debug() {}, warn() {} } }) as Promise<{ status: string; facts: Record<string, unknown>; unknownFacts: Record<string, string> }>;
}
async function verdicts(recording: string): Promise<Record<string, string>> {
  const r = await localCheck({ replayDir: join(ROOT, recording), checks: ['autorun'], memory: new InMemoryCheckMemory(), policy: { enabledRules: ['MEDIA-003'] } });
  return Object.fromEntries(r.checks.flatMap((c) => c.rules.map((x) => [x.ruleId, x.result])));
}

describe('autorun on Windows recordings (registry values and Defender properties, Japanese and English)', () => {
  it('Japanese domain PC: AutoPlay off for all drives, Defender scans removable drives, BitLocker To Go required', async () => {
    const r = await collect('windows/w11-24h2-ent-ja-gpo');
    expect(r.facts).toMatchObject({ autoPlayOff: true, autoRunOff: true, removableDriveScan: true, removableWriteDenied: true });
    expect(r.facts.removableWriteControl).toMatch(/^FVE RDVDenyWriteAccess=1/);
    expect(await verdicts('windows/w11-24h2-ent-ja-gpo')).toEqual({ 'MEDIA-001': 'pass', 'MEDIA-002': 'pass', 'MEDIA-003': 'pass' });
  });
  it('Japanese kiosk: mask 0x95 leaves CD/DVD AutoPlay on; removable drives excluded from scanning', async () => {
    const r = await collect('windows/w10-ltsc2021-ja-kiosk');
    expect(r.facts).toMatchObject({ autoPlayOff: false, autoRunOff: true, removableDriveScan: false, removableWriteDenied: false, removableWriteControl: null });
    expect(r.facts.autoPlaySource).toContain('NoDriveTypeAutoRun=0x95');
    expect(await verdicts('windows/w10-ltsc2021-ja-kiosk')).toEqual({ 'MEDIA-001': 'fail', 'MEDIA-002': 'fail', 'MEDIA-003': 'fail' });
  });
  it('English PC with Trellix: no AutoPlay policy; whether removable drives are scanned cannot be told', async () => {
    const r = await collect('windows/w11-23h2-ent-en-trellix');
    expect(r.facts).toMatchObject({ autoPlayOff: false, autoRunOff: false });
    expect(r.unknownFacts.removableDriveScan).toMatch(/^NOT_DETERMINABLE: Microsoft Defender の状態を読めない/);
    expect(await verdicts('windows/w11-23h2-ent-en-trellix')).toEqual({ 'MEDIA-001': 'fail', 'MEDIA-002': 'unknown', 'MEDIA-003': 'fail' });
  });
  it('Removable Disks Deny_Write counts as write denial', async () => {
    expect((await collect('windows/w11-24h2-ent-en-denywrite')).facts.removableWriteControl).toMatch(/Deny_Write=1/);
  });
  it('Defender in passive mode: not determinable; a failed registry part is unknown', () => {
    const r = autorunFacts({ schema: 'mamori.win.autorun/1', explorer: null, defender: { AMRunningMode: 'Passive Mode', RealTimeProtectionEnabled: false, DisableRemovableDriveScanning: false }, removable: null, errors: [{ part: 'explorer', message: 'Requested registry access is not allowed.' }] });
    expect(r.unknownFacts.removableDriveScan).toMatch(/Passive Mode/);
    expect(r.unknownFacts.autoPlayOff).toBe('SCRIPT_ERROR: explorer: Requested registry access is not allowed.');
    expect(r.status).toBe('unknown');
  });
  it('the script reads the machine policy values, not localised text', () => {
    expect(AUTORUN_SCRIPT).toContain("'NoDriveTypeAutoRun'");
    expect(AUTORUN_SCRIPT).toContain('{53f5630d-b6bf-11d0-94f2-00a0c91efb8b}');
    expect(AUTORUN_SCRIPT).not.toMatch(/netsh|-ErrorAction\s+SilentlyContinue/i);
  });
});

describe('autorun on Linux (GNOME media handling)', () => {
  it('Ubuntu 24.04 GNOME: autorun-never and automount-open set and locked by dconf', async () => {
    expect((await collect('linux/ubuntu2404-gnome-clamav')).facts).toMatchObject({ autoPlayOff: true, autoRunOff: null });
    expect(await verdicts('linux/ubuntu2404-gnome-clamav')).toEqual({ 'MEDIA-001': 'pass', 'MEDIA-002': 'not_applicable', 'MEDIA-003': 'not_applicable' });
  });
  it('Xubuntu 22.04: shipped defaults that the user can change', async () => {
    expect((await collect('linux/ubuntu2204-xfce-noav')).facts.autoPlaySource).toContain('利用者が変更可能: autorun-never, automount-open');
    expect((await verdicts('linux/ubuntu2204-xfce-noav'))['MEDIA-001']).toBe('fail');
  });
  it('RHEL 9 KDE without the GNOME schema: unknown with the reason', async () => {
    const r = await collect('linux/rhel9-kde-mdatp');
    expect(r.unknownFacts.autoPlayOff).toMatch(/No such schema/);
    expect((await verdicts('linux/rhel9-kde-mdatp'))['MEDIA-001']).toBe('unknown');
  });
  it('this machine (real gsettings): GNOME defaults, not locked, as recorded', async () => {
    const live = await runLinuxCheck('autorun', new LiveProbes());
    expect(live.facts).toEqual((await collect('linux/debian12-this-machine')).facts);
    expect(live.facts.autoPlayOff).toBe(false);
  });
  it('a key set but unlocked is not off; a writable probe that fails is unknown', async () => {
    const list = 'org.gnome.desktop.media-handling automount-open false\norg.gnome.desktop.media-handling autorun-never true\n';
    const unlocked = await runLinuxCheck('autorun', new ScriptedProbes({ 'gsettings.media-handling': list, 'gsettings.media-handling.writable.autorun-never': 'false\n', 'gsettings.media-handling.writable.automount-open': 'true\n' }));
    expect(unlocked.facts.autoPlayOff).toBe(false);
    const failing = await runLinuxCheck('autorun', new ScriptedProbes({ 'gsettings.media-handling': list, 'gsettings.media-handling.writable.autorun-never': { ok: false, failure: 'EXEC_FAILED', detail: 'exited 1' } }));
    expect(failing.unknownFacts.autoPlayOff).toMatch(/EXEC_FAILED/);
  });
});
