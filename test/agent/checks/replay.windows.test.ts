/**
 * Replays the Windows recordings in test/fixtures/replay/windows/<machine>/ (README there says
 * where their shape comes from) through the Windows collectors and through localCheck — the
 * same path as `mamori agent check --replay DIR --json` — and asserts the result of every rule
 * of the six areas per machine, plus the facts that make each machine special.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { localCheck } from '../../../agent/local-check.js';
import type { LocalReport } from '../../../agent/local-check.js';
import { CHECKS } from '../../../agent/checks/registry.js';
import { InMemoryCheckMemory, scopedMemory } from '../../../agent/memory.js';
import { ReplayProbes, readRecordingMeta } from '../../../agent/probes/replay.js';
import type { CheckId } from '../../../src/shared/protocol/messages.js';

const ROOT = join(import.meta.dirname, '../../fixtures/replay/windows');
/** The media ledger (媒体管理台帳) of the test municipality: only the Kingston stick is registered. */
const POLICY = { lists: { registeredMedia: ['0951:1666:001CC07CEB39FBB1C91A24D0'] } };

async function collect(machine: string, id: CheckId) {
  const def = CHECKS.find((c) => c.id === id)!;
  const collector = await def.platforms.windows!();
  const probes = new ReplayProbes(join(ROOT, machine));
  return collector({ probes, params: { ...def.params }, memory: scopedMemory(new InMemoryCheckMemory(), id), log: { debug() {}, warn() {} } }) as Promise<{
    status: string; facts: Record<string, any>; unknownFacts: Record<string, string>; reason?: string;
  }>;
}

const reports = new Map<string, LocalReport>();
/** The six areas the table below covers; checks added later have tests of their own. */
const TABLE_CHECKS: CheckId[] = ['usb-media', 'software', 'antivirus', 'screen-lock', 'os-patches', 'beyond'];
async function report(machine: string): Promise<LocalReport> {
  if (!reports.has(machine)) reports.set(machine, await localCheck({ replayDir: join(ROOT, machine), segment: 'mynumber', policy: POLICY, checks: TABLE_CHECKS }));
  return reports.get(machine)!;
}
function results(r: LocalReport): Record<string, string> {
  return Object.fromEntries(r.checks.flatMap((c) => c.rules.map((x) => [x.ruleId, x.result])));
}
/** Expected results in rule order: USB-001..005 SW-001..006 AV-001..008 LOCK-001..002 PATCH-001..006 NET-001 ENC-001 TIME-001. */
const RULES = ['USB-001', 'USB-002', 'USB-003', 'USB-004', 'USB-005', 'SW-001', 'SW-002', 'SW-003', 'SW-004', 'SW-005', 'SW-006', 'AV-001', 'AV-002', 'AV-003', 'AV-004', 'AV-005', 'AV-006', 'AV-007', 'AV-008', 'LOCK-001', 'LOCK-002', 'PATCH-001', 'PATCH-002', 'PATCH-003', 'PATCH-004', 'PATCH-005', 'PATCH-006', 'NET-001', 'ENC-001', 'TIME-001'];
const P = 'pass', F = 'fail', U = 'unknown', N = 'not_applicable';
// SW-005 (allow-list mode) is not_applicable everywhere: the test policy has no allow list.
const EXPECTED: Record<string, string[]> = {
  // AV-008 judges the SecurityCenter2 "signatures up to date" bit only where no signature date can be read.
  //                                  USB 1-5          SW 1-6              AV 1-8                    LOCK  PATCH 1-6          NET ENC TIME
  'w11-24h2-ent-ja-gpo':             [P, P, P, P, P,   P, P, F, P, N, P,   P, P, P, P, P, P, P, N,   P, P, P, P, P, P, P, P,   P, P, P],
  'w10-22h2-pro-ja-eset':            [F, P, P, P, F,   P, P, F, P, N, P,   P, P, P, U, U, P, U, P,   F, F, F, F, F, P, F, P,   F, F, P],
  'w11-24h2-pro-en-stale-defender':  [F, F, P, P, F,   P, P, P, P, N, P,   P, P, P, F, F, P, F, N,   F, F, P, P, F, P, P, P,   P, F, P],
  // no BitLocker feature (InvalidNamespace): not encrypted
  'ws2022-std-en-nosc2':             [P, P, P, P, F,   P, P, P, P, N, P,   P, P, P, P, F, P, F, N,   N, N, F, F, P, P, P, P,   P, F, P],
  'w10-22h2-ent-ja-trend':           [F, P, P, P, F,   P, P, F, P, N, P,   P, P, P, U, U, P, U, P,   P, P, P, P, F, P, P, F,   P, P, P],
  'w11-23h2-pro-ja-sophos-passive':  [F, P, P, F, F,   P, P, P, P, N, P,   P, P, P, U, U, P, U, P,   P, P, P, P, F, P, P, P,   P, P, P],
  'w11-24h2-ent-en-denywrite':       [P, P, P, P, P,   P, P, P, P, N, P,   P, P, P, P, P, P, P, N,   P, F, P, P, P, P, P, P,   P, P, F],
  'w10-1909-pro-ja-legacy':          [P, P, P, P, F,   U, P, F, U, N, P,   P, P, P, F, F, P, N, N,   F, F, U, P, F, P, F, U,   P, F, U],
  'w11-23h2-ent-ja-usbstor-off':     [P, P, P, P, P,   P, P, P, P, N, P,   P, P, P, P, P, P, P, N,   N, N, P, P, F, P, P, P,   F, F, P],
  'w11-24h2-home-ja-shellbitlocker': [P, P, P, P, F,   P, P, P, P, N, F,   P, P, P, P, F, P, P, N,   F, F, P, F, F, P, P, P,   P, P, F],
  // W32Time running but no Time-Service event shows a synchronisation: undecided, no longer a pass
  'w10-ltsc2021-ja-kiosk':           [P, P, P, P, P,   P, P, F, P, N, P,   P, P, P, P, P, P, P, N,   N, N, F, P, P, F, P, P,   P, P, U],
  // productState 266256 without a readable date: AV-008 fails
  'w11-23h2-pro-en-symantec-sticks': [F, P, F, P, F,   P, P, P, P, N, P,   P, P, P, U, U, P, U, F,   P, F, F, P, F, P, P, P,   F, P, P],
  'w11-24h2-ent-ja-cu-failing':      [P, P, P, P, P,   P, P, F, P, N, P,   P, P, P, P, P, P, P, N,   P, P, F, P, P, P, F, P,   P, P, P],
  'w11-24h2-pro-ja-entra':           [P, P, P, P, F,   P, P, P, P, N, P,   P, P, P, F, F, P, F, N,   F, F, P, P, F, P, P, P,   P, F, P],
  // third-party products whose vendor keeps the signature date on the PC (windows-vendors.ts)
  'w11-23h2-ent-ja-trend-stale-cmos': [P, P, P, P, F,  P, P, P, P, N, P,   P, P, P, F, U, P, U, N,   P, P, P, P, F, P, P, P,   P, P, F],
  'w11-24h2-pro-ja-eset-dated':      [P, P, P, P, F,   P, P, P, P, N, P,   P, P, P, P, U, P, U, N,   P, P, P, P, F, P, P, P,   U, P, P],
  'w11-24h2-ent-en-kaspersky':       [P, P, P, P, F,   P, P, P, P, N, P,   P, P, P, F, P, P, U, N,   P, P, P, P, P, P, P, P,   P, P, P],
  'w11-23h2-ent-en-trellix':         [P, P, P, P, F,   P, P, P, P, N, P,   P, P, P, P, U, P, U, N,   P, P, P, P, F, P, P, P,   P, P, P],
  'w11-23h2-pro-ja-sep-definfo':     [P, P, P, P, F,   P, P, P, P, N, P,   P, P, P, P, U, P, U, N,   P, P, P, P, F, P, P, P,   P, P, P],
  'w11-24h2-pro-ja-sophos-dated':    [P, P, P, P, F,   P, P, P, P, N, P,   P, P, P, P, U, P, U, N,   P, P, P, P, F, P, P, P,   P, P, P],
  'ws2022-std-ja-nobitlocker':       [P, P, P, P, F,   P, P, P, P, N, P,   P, P, P, P, P, P, F, N,   N, N, P, P, P, P, P, P,   P, F, P],
};

describe('Windows recordings through localCheck: every rule', () => {
  for (const [machine, expected] of Object.entries(EXPECTED)) {
    it(machine, async () => {
      const r = await report(machine);
      expect(r.platform).toBe('windows');
      expect(r.mode).toBe('replay');
      const got = results(r);
      expect(Object.keys(got).sort()).toEqual([...RULES].sort());
      expect(RULES.map((id) => `${id}=${got[id]}`)).toEqual(RULES.map((id, i) => `${id}=${expected[i]}`));
    });
  }
  it('covers every complete recording in the folder (no failed probe, not a broken one)', () => {
    const complete = (name: string) => !name.startsWith('broken-') && !readdirSync(join(ROOT, name)).some((f) => f.endsWith('.status.json'));
    const folders = readdirSync(ROOT, { withFileTypes: true }).filter((d) => d.isDirectory() && complete(d.name)).map((d) => d.name);
    expect(Object.keys(EXPECTED).sort()).toEqual(folders.sort());
  });
});

describe('Windows recordings through the collectors: what makes each machine special', () => {
  it('Japanese names survive: DisplayNames, user names, EOL matching of 一太郎 and Office 2016 - ja-jp', async () => {
    const sw = await collect('w11-24h2-ent-ja-gpo', 'software');
    const names = sw.facts.packages.map((p: { name: string }) => p.name);
    expect(names).toContain('ジャストシステム 一太郎 2023');
    expect(names).toContain('Microsoft Office Professional Plus 2016 - ja-jp');
    // hidden (SystemComponent=1), nameless and update (ParentKeyName) entries are not products
    expect(names).not.toContain('Microsoft Office Proofing (Japanese) 2016');
    expect(names.some((n: string) => n.startsWith('Security Update for Microsoft Office'))).toBe(false);
    expect(sw.facts.packages.find((p: { name: string }) => p.name.startsWith('Zoom')).user).toBe('CITY\\山田太郎');
    expect(sw.facts.endOfSupport.map((m: { product: string; cycle: string }) => `${m.product}:${m.cycle}`).sort()).toEqual(['ichitaro:2023', 'microsoft-office:2016']);
    expect(sw.facts.processes.find((p: { name: string }) => p.name === 'TARO.EXE').user).toBe('CITY\\山田太郎');
    const lock = await collect('w11-24h2-ent-ja-gpo', 'screen-lock');
    expect(lock.facts.sessions.map((s: { user: string }) => s.user)).toEqual(['CITY\\山田太郎', 'CITY\\佐藤花子']);
    // the policy's 600 s secure saver beats the user's own 1800 s non-secure one, and is enforced
    expect(lock.facts.sessions[0]).toMatchObject({ idleToLockSeconds: 600, enforced: true, lockEnabled: true });
  });

  it('unregistered stick with a Japanese volume label: fingerprint as the ledger spells it', async () => {
    const usb = await collect('w10-22h2-pro-ja-eset', 'usb-media');
    expect(usb.facts.devices).toEqual([
      expect.objectContaining({ fingerprint: '0781:5581:4C530001090622117433', vendorId: '0781', productId: '5581', serial: '4C530001090622117433', interfaceClasses: ['08:06:50'], mountPoints: ['E:\\'], sizeBytes: 30752636928 }),
    ]);
    expect(usb.facts.exportBlocked).toBe(false);
  });

  it('serial-less stick: Windows-generated instance id is no serial', async () => {
    const usb = await collect('w11-24h2-pro-en-stale-defender', 'usb-media');
    expect(usb.facts.devices[0].serial).toBeNull();
    expect(usb.facts.devices[0].fingerprint).toMatch(/^0ea0:2168:nos-[0-9a-f]{12}$/);
  });

  it('UAS SSD (InterfaceType SCSI) is found through BusType and identified by its USB parent', async () => {
    const usb = await collect('w10-22h2-ent-ja-trend', 'usb-media');
    expect(usb.facts.devices[0]).toMatchObject({ vendorId: '04e8', productId: '4001', interfaceClasses: ['08:06:62'], mountPoints: ['G:\\', 'C:\\Data\\T7\\'] });
  });

  it('composite stick with a keyboard interface is flagged; duplicate serials are flagged', async () => {
    const badusb = await collect('w11-23h2-pro-ja-sophos-passive', 'usb-media');
    expect(badusb.facts.devices[0]).toMatchObject({ storageWithHid: true, interfaceClasses: ['03:01:01', '08:06:50'], serial: 'A1B2C3D4E5F6' });
    const twins = await collect('w11-23h2-pro-en-symantec-sticks', 'usb-media');
    expect(twins.facts.devices.map((d: { duplicateSerial: boolean }) => d.duplicateSerial)).toEqual([true, true, false]);
    expect(twins.facts.devices[2]).toMatchObject({ sizeBytes: null, mountPoints: [] });
  });

  it('export-block mechanisms: Deny_All, Deny_Write, USBSTOR Start=4', async () => {
    expect((await collect('w11-24h2-ent-ja-gpo', 'usb-media')).facts.exportBlockMechanism).toBe('RemovableStorageDevices\\Deny_All');
    expect((await collect('w11-24h2-ent-en-denywrite', 'usb-media')).facts.exportBlockMechanism).toBe('RemovableStorageDevices\\{53f5630d-b6bf-11d0-94f2-00a0c91efb8b}\\Deny_Write');
    expect((await collect('w11-23h2-ent-ja-usbstor-off', 'usb-media')).facts.exportBlockMechanism).toBe('Services\\USBSTOR\\Start=4');
  });

  it('Defender passive next to Sophos, stale Norton entry: Sophos is primary, Norton is not running', async () => {
    const av = await collect('w11-23h2-pro-ja-sophos-passive', 'antivirus');
    expect(av.facts.primaryProduct).toBe('Sophos Anti-Virus');
    const byName = Object.fromEntries(av.facts.products.map((p: { name: string }) => [p.name, p]));
    expect(byName['Microsoft Defender Antivirus']).toMatchObject({ passive: true, realTimeProtection: false });
    expect(byName['Norton 360']).toMatchObject({ running: false, kind: 'third-party' });
  });

  it('Get-MpComputerStatus throwing falls back to SecurityCenter2', async () => {
    const av = await collect('w10-22h2-pro-ja-eset', 'antivirus');
    expect(av.facts).toMatchObject({ installed: true, primaryProduct: 'ESET Endpoint Security', running: true, realTimeProtection: true });
    expect(av.unknownFacts.signatureUpdatedAt).toMatch(/^NOT_EXPOSED/);
    const sep = await collect('w11-23h2-pro-en-symantec-sticks', 'antivirus');
    expect(sep.facts.products.find((p: { name: string }) => p.name === 'Symantec Endpoint Protection').signaturesUpToDate).toBe(false);
  });

  it('Windows Server without SecurityCenter2 is not a crash and still sees Defender', async () => {
    const av = await collect('ws2022-std-en-nosc2', 'antivirus');
    expect(av.status).toBe('ok');
    expect(av.facts.primaryProduct).toBe('Microsoft Defender Antivirus');
    const os = await collect('ws2022-std-en-nosc2', 'os-patches');
    expect(os.facts).toMatchObject({ osId: 'windows-server-2022', osEndOfSupport: '2031-10-14', rebootRequired: true });
  });

  it('Windows 11 is told by build even though ProductName says "Windows 10"', async () => {
    const os = await collect('w11-24h2-ent-ja-gpo', 'os-patches');
    expect(os.facts).toMatchObject({ osName: 'Windows 11 Enterprise 24H2', osId: 'windows-11-24h2-enterprise', osBuild: '26100.2314', osSupported: true });
    const legacy = await collect('w10-1909-pro-ja-legacy', 'os-patches');
    expect(legacy.facts).toMatchObject({ osId: 'windows-10-1909-pro', osSupported: false });
    expect(legacy.unknownFacts.pendingSecurityUpdates).toMatch(/0x8024401C/);
    const ltsc = await collect('w10-ltsc2021-ja-kiosk', 'os-patches');
    expect(ltsc.facts.osId).toBe('windows-10-ltsc-2021');
  });

  it('pending security updates by CategoryID only; definition updates are not security updates', async () => {
    const os = await collect('w10-22h2-pro-ja-eset', 'os-patches');
    expect(os.facts.pendingUpdatesTotal).toBe(2);
    expect(os.facts.pendingSecurityUpdates).toEqual([expect.objectContaining({ version: 'KB5046613', severity: 'Critical' })]);
    const upper = await collect('w11-23h2-pro-en-symantec-sticks', 'os-patches');
    expect(upper.facts.pendingSecurityUpdates.map((u: { version: string }) => u.version)).toEqual(['KB5046633', 'KB5044285']);
  });

  it('Defender definition updates are not "last successful update": cumulative updates failing since September fail PATCH-005', async () => {
    const os = await collect('w11-24h2-ent-ja-cu-failing', 'os-patches');
    // newest history entries are KB2267602 (Definition Updates); the last succeeded Security Update is the 2026-08 one
    expect(os.facts.lastSuccessfulUpdateAt).toBe('2026-08-14T04:12:37.000Z');
    const patch005 = (await report('w11-24h2-ent-ja-cu-failing')).checks.find((c) => c.id === 'os-patches')!.rules.find((r) => r.ruleId === 'PATCH-005')!;
    expect(patch005.result).toBe('fail');
    // every shipped machine's history also ends with a definition update; the cumulative update before it is what counts
    expect((await collect('w10-22h2-pro-ja-eset', 'os-patches')).facts.lastSuccessfulUpdateAt).toBe('2026-10-16T01:10:00.000Z');
  });

  it('Windows Update dates are UTC as documented, not shifted by the PC\'s time zone (recording taken in JST)', async () => {
    const os = await collect('w11-24h2-ent-ja-cu-failing', 'os-patches');
    // LastSearchSuccessDate 2026-11-30T23:30 UTC (08:30 JST), recorded at 2026-12-01T01:00Z: 1.5 h, not 10.5 h
    expect(os.facts.updateSourceAgeHours).toBe(1.5);
    // LastDeploymentChangeTime 2026-11-11T18:00 UTC is the published date of the pending update, and its age starts there
    expect(os.facts.pendingSecurityUpdates).toEqual([expect.objectContaining({ version: 'KB5046617', publishedAt: '2026-11-11T18:00:00.000Z', firstSeenAt: '2026-11-11T18:00:00.000Z' })]);
    expect(os.facts.oldestPendingSecuritySince).toBe('2026-11-11T18:00:00.000Z');
    // Windows Update dates every pending update: nothing is "pending since at least"
    expect(os.facts.oldestUndatedPendingSecuritySince).toBeNull();
  });

  it('BitLocker suspended is not encrypted; the shell fallback counts only 1/6; Server without the feature is not encrypted (English and Japanese)', async () => {
    expect((await collect('w11-24h2-pro-en-stale-defender', 'beyond')).facts.systemDiskEncrypted).toBe(false);
    expect((await collect('w11-24h2-home-ja-shellbitlocker', 'beyond')).facts).toMatchObject({ systemDiskEncrypted: true, encryptionMethod: null });
    for (const server of ['ws2022-std-en-nosc2', 'ws2022-std-ja-nobitlocker']) {
      const beyond = await collect(server, 'beyond');
      expect(beyond.facts, server).toMatchObject({ systemDiskEncrypted: false, encryptionMethod: null });
      expect(beyond.unknownFacts.systemDiskEncrypted, server).toBeUndefined();
    }
  });

  it('third-party signature dates come from each vendor\'s own registry value or definitions file', async () => {
    const cases: [string, string, string, RegExp][] = [
      ['w11-23h2-ent-ja-trend-stale-cmos', 'ウイルスバスター Corp.クライアント', '2026-10-15T00:00:00.000Z', /PC-cillinNTCorp\\CurrentVersion\\Misc\.\\PatternDate$/],
      ['w11-24h2-pro-ja-eset-dated', 'ESET Endpoint Antivirus', '2026-11-30T00:00:00.000Z', /ESET Security\\CurrentVersion\\Info\\ScannerVersion$/],
      ['w11-24h2-ent-en-kaspersky', 'Kaspersky Endpoint Security for Windows', '2026-11-26T04:10:00.000Z', /AVState\\Protection_BasesDate$/],
      ['w11-23h2-ent-en-trellix', 'Trellix Endpoint Security', '2026-11-30T00:00:00.000Z', /AVSolution\\DS\\DS\\szContentCreationDate$/],
      ['w11-23h2-pro-ja-sep-definfo', 'Symantec Endpoint Protection', '2026-11-30T00:00:00.000Z', /definfo\.dat CurDefs$/],
      ['w11-24h2-pro-ja-sophos-dated', 'Sophos Anti-Virus', '2026-11-30T22:00:00.000Z', /AutoUpdate\\UpdateStatus\\LastUpdateTime$/],
    ];
    for (const [machine, product, at, from] of cases) {
      const av = await collect(machine, 'antivirus');
      expect(av.facts, machine).toMatchObject({ primaryProduct: product, signatureUpdatedAt: at, signaturesReportedUpToDate: null });
      expect(av.facts.products.find((p: { name: string }) => p.name === product).source, machine).toMatch(from);
    }
    // Kaspersky also keeps the last full scan; the others do not document one
    expect((await collect('w11-24h2-ent-en-kaspersky', 'antivirus')).facts.lastFullScanAt).toBe('2026-11-22T13:00:00.000Z');
    expect((await collect('w11-24h2-pro-ja-eset-dated', 'antivirus')).unknownFacts.lastFullScanAt).toMatch(/eset はフルスキャンの日時を端末に記録する方法を公開していません/);
  });

  it('a pattern that stopped updating is a violation: by its date (Trend Micro) or by productState 266256 when no date exists (Symantec)', async () => {
    const trend = (await report('w11-23h2-ent-ja-trend-stale-cmos')).checks.find((c) => c.id === 'antivirus')!;
    expect(trend.rules.find((r) => r.ruleId === 'AV-004')).toMatchObject({ result: 'fail' });
    const sep = await collect('w11-23h2-pro-en-symantec-sticks', 'antivirus');
    expect(sep.facts.signaturesReportedUpToDate).toBe(false);
    expect(sep.unknownFacts.signatureUpdatedAt).toMatch(/symantec の定義ファイルの日付がレジストリにもディスクにもありません/);
  });

  it('time: the NTP client switched off is the Local CMOS Clock (fail); a failed firewall-service query is unknown with its reason', async () => {
    expect((await collect('w11-23h2-ent-ja-trend-stale-cmos', 'beyond')).facts).toMatchObject({ clockSynchronized: false, timeSource: 'Local CMOS Clock' });
    expect((await collect('w11-24h2-home-ja-shellbitlocker', 'beyond')).facts).toMatchObject({ clockSynchronized: false, timeSource: 'Local CMOS Clock' });
    const eset = await collect('w11-24h2-pro-ja-eset-dated', 'beyond');
    expect(eset.facts.firewallEnabled).toBeUndefined();
    expect(eset.unknownFacts.firewallEnabled).toMatch(/サービス \(MpsSvc\) の状態が分かりません: 調査スクリプトがエラーを返しました \(SCRIPT_ERROR\): firewall-service: プロバイダーの読み込みエラーです。/);
    // a disabled profile stays a fail even when the service state is unknown
    expect((await collect('w11-23h2-pro-en-symantec-sticks', 'beyond')).facts.firewallEnabled).toBe(false);
  });

  it('a Microsoft Entra ID user (S-1-12-1-…) is a user: their screen lock is judged and their per-user software is theirs', async () => {
    const lock = await collect('w11-24h2-pro-ja-entra', 'screen-lock');
    expect(lock.facts.sessions).toEqual([expect.objectContaining({ user: 'AzureAD\\SasakiShinichi', lockEnabled: false })]);
    const lock001 = (await report('w11-24h2-pro-ja-entra')).checks.find((c) => c.id === 'screen-lock')!.rules.find((r) => r.ruleId === 'LOCK-001')!;
    expect(lock001.result).toBe('fail');
    const sw = await collect('w11-24h2-pro-ja-entra', 'software');
    expect(sw.facts.packages.find((p: { name: string }) => p.name.startsWith('Zoom')).user).toBe('AzureAD\\SasakiShinichi');
  });

  it('the screen lock source names the deciding settings by their registry names and values only, the same in every language', async () => {
    // InactivityTimeoutSecs=900 | <key> ScreenSaveTimeOut=600 | the values read when nothing locks; then a DelayLockInterval if set.
    const desktop = String.raw`(?:Policies\\Microsoft\\Windows\\)?Control Panel\\Desktop`;
    const chosen = String.raw`InactivityTimeoutSecs=\d+|${desktop} ScreenSaveTimeOut=\d+|InactivityTimeoutSecs=- ScreenSaveActive=\S+ ScreenSaverIsSecure=\S+ ScreenSaveTimeOut=\S+ SCRNSAVE\.EXE=\S+`;
    const grammar = new RegExp(String.raw`^(?:${chosen})(?:; DelayLockInterval=(?:never|\d+))?$`);
    const machines = readdirSync(ROOT, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    let sessions = 0;
    let noLock = 0;
    for (const machine of machines) {
      const lock = await collect(machine, 'screen-lock');
      for (const s of (lock.facts.sessions ?? []) as { source: string; lockEnabled: boolean }[]) {
        sessions++;
        expect(s.source, machine).toMatch(grammar);
        if (!s.lockEnabled) (noLock++, expect(s.source, machine).toMatch(/^InactivityTimeoutSecs=- ScreenSaveActive=/));
      }
    }
    expect(sessions).toBeGreaterThan(5);
    expect(noLock).toBeGreaterThan(0);
  });

  it('a service account hive without a desktop is not a session', async () => {
    const lock = await collect('w11-24h2-ent-en-denywrite', 'screen-lock');
    expect(lock.facts.sessions.map((s: { user: string }) => s.user)).toEqual(['CITY\\admin.kato', 'CITY\\kimura']);
  });
});

describe('every Windows recording says, per probe key, whether it comes from documentation or a real PC', () => {
  it('meta.json provenance names each recorded key', () => {
    const dirs = readdirSync(ROOT, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    expect(dirs.length).toBeGreaterThanOrEqual(15);
    for (const dir of dirs) {
      const meta = readRecordingMeta(join(ROOT, dir));
      const keys = [...new Set(readdirSync(join(ROOT, dir)).filter((f) => f !== 'meta.json').map((f) => f.replace(/\.(out|status\.json)$/, '')))].sort();
      expect(Object.keys(meta.provenance ?? {}).sort(), dir).toEqual(keys);
      for (const text of Object.values(meta.provenance ?? {})) expect(text).toMatch(/^(documentation|real PC): \S/);
    }
  });
});

describe('broken recordings give unknown with a reason, never a crash or a pass', () => {
  for (const machine of ['broken-truncated', 'broken-missing-keys', 'broken-script-error']) {
    it(machine, async () => {
      const r = await report(machine);
      for (const check of r.checks) {
        expect(check.status, check.id).toBe('unknown');
        expect(check.reason, check.id).toMatch(/^(INVALID_JSON|UNEXPECTED_SHAPE|SCRIPT_ERROR|EMPTY_OUTPUT|PROBE_TIMEOUT|ACCESS_DENIED|EXEC_FAILED):/);
        for (const rule of check.rules) expect(['unknown', 'not_applicable'], `${rule.ruleId}`).toContain(rule.result);
      }
    });
  }
});
