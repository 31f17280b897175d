/**
 * Unit tests of the Windows parsers (pure functions) and of the PowerShell scripts' hygiene.
 * The productState vectors are the known-values table of platform-probes.md §3.2
 * (agent/checks/antivirus/fixtures/windows/product-state-vectors.json, with their sources).
 */
import { render } from '../../../src/shared/i18n/index.js';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AntivirusDocument, antivirusFacts, decodeProductState } from '../../../agent/checks/antivirus/windows-parse.js';
import { VENDOR_FILES, VENDOR_KEYS, vendorFullScanDate, vendorOf, vendorSignatureDate } from '../../../agent/checks/antivirus/windows-vendors.js';
import type { AvVendor } from '../../../agent/checks/antivirus/windows-vendors.js';
import { ANTIVIRUS_SCRIPT } from '../../../agent/checks/antivirus/windows-script.js';
import { bitlockerState, timeState } from '../../../agent/checks/beyond/windows-parse.js';
import { BEYOND_SCRIPT } from '../../../agent/checks/beyond/windows-script.js';
import { isSecurityUpdate, windowsRelease } from '../../../agent/checks/os-patches/windows-parse.js';
import { OS_PATCHES_SCRIPT, WUA_SEARCH_SCRIPT } from '../../../agent/checks/os-patches/windows-script.js';
import { screenSaverCandidate } from '../../../agent/checks/screen-lock/windows-parse.js';
import { SCREEN_LOCK_SCRIPT } from '../../../agent/checks/screen-lock/windows-script.js';
import { readPowerShellJson } from '../../../agent/checks/software/windows-common.js';
import { SOFTWARE_SCRIPT } from '../../../agent/checks/software/windows-script.js';
import { interfaceClassesOf, parseUsbInstanceId, usbMediaFacts } from '../../../agent/checks/usb-media/windows-parse.js';
import { usbFingerprint as sharedFingerprint } from '../../../agent/checks/usb-media/fingerprint.js';

const usbFingerprint = (vendorId: string, productId: string, serial: string | null, bcdDevice: string | null, product: string | null) => sharedFingerprint({ vendorId, productId, serial, bcdDevice, product });
import { UsbMediaDocument } from '../../../agent/checks/usb-media/windows-parse.js';
import { USB_MEDIA_SCRIPT } from '../../../agent/checks/usb-media/windows-script.js';

const vectors = JSON.parse(readFileSync(join(import.meta.dirname, '../../../agent/checks/antivirus/fixtures/windows/product-state-vectors.json'), 'utf8')) as {
  vectors: { productState: number; state: string; signaturesUpToDate: boolean; microsoft: boolean }[];
};

/** A reason a parser returned (agent/checks/why.ts): its text, and its message in English. */
const text = (r: unknown): string => (r && typeof r === 'object' && 'text' in r ? String(r.text) : r && typeof r === 'object' && 'reason' in r ? text(r.reason) : String(r));
const en = (r: unknown): string => (r && typeof r === 'object' && 'msg' in r ? render(r.msg as never, 'en') : r && typeof r === 'object' && 'reason' in r ? en(r.reason) : String(r));

describe('SecurityCenter2 productState', () => {
  it.each(vectors.vectors)('$productState', (v) => {
    expect(decodeProductState(v.productState)).toEqual({ state: v.state, signaturesUpToDate: v.signaturesUpToDate, microsoft: v.microsoft });
  });
  it('has the eleven known values', () => expect(vectors.vectors.map((v) => v.productState).sort()).toEqual([262144, 262160, 266240, 266256, 331776, 393216, 393472, 397312, 397568, 397584, 462848]));
});

describe('USB identity', () => {
  it('reads VID/PID lower-case and the serial upper-case', () => {
    expect(parseUsbInstanceId('USB\\VID_0781&PID_5583\\0101a1b2c3')).toEqual({ vendorId: '0781', productId: '5583', serial: '0101A1B2C3' });
  });
  it('a second character & is a Windows-generated id, i.e. no serial', () => {
    expect(parseUsbInstanceId('USB\\VID_0EA0&PID_2168\\5&2eab04ab&0&1')?.serial).toBeNull();
  });
  it('rejects interface nodes and non-USB ids', () => {
    expect(parseUsbInstanceId('USB\\VID_1A86&PID_E429&MI_00\\7&3B2A1C0D&0&0000')).toBeUndefined();
    expect(parseUsbInstanceId('USBSTOR\\DISK&VEN_SANDISK&PROD_ULTRA&REV_1.00\\4C530001234567890123&0')).toBeUndefined();
  });
  it('interface classes from compatible ids, ignoring DevClass and COMPOSITE', () => {
    expect(interfaceClassesOf(['USB\\Class_08&SubClass_06&Prot_50', 'USB\\Class_08&SubClass_06', 'USB\\Class_08', 'USB\\DevClass_00&SubClass_00&Prot_00', 'USB\\COMPOSITE'])).toEqual(['08:06:50']);
  });
  it('fingerprints: serial as is; without serial a stable hash that depends on the descriptors', () => {
    expect(usbFingerprint('0781', '5583', '4C53', '0100', 'Ultra')).toBe('0781:5583:4C53');
    const a = usbFingerprint('0ea0', '2168', null, '0200', 'FlashDrive');
    expect(a).toBe(usbFingerprint('0ea0', '2168', null, '0200', 'FlashDrive'));
    expect(a).not.toBe(usbFingerprint('0ea0', '2168', null, '0100', 'FlashDrive'));
  });
});

describe('Windows release identity', () => {
  const os = (v: Record<string, unknown>) => ({ ProductName: 'Windows 10 Pro', CurrentBuild: '19045', UBR: 1, DisplayVersion: '22H2', ReleaseId: '2009', EditionID: 'Professional', InstallationType: 'Client', ...v }) as never;
  it('build >= 22000 is Windows 11 whatever ProductName says', () => {
    expect(windowsRelease(os({ CurrentBuild: '22000', DisplayVersion: '21H2' }))).toMatchObject({ osId: 'windows-11-21h2-pro', osName: 'Windows 11 Pro 21H2' });
    expect(windowsRelease(os({ CurrentBuild: '19045' }))).toMatchObject({ osId: 'windows-10-22h2-pro', osName: 'Windows 10 Pro 22H2' });
  });
  it('edition families, LTSC and Server', () => {
    expect(windowsRelease(os({ CurrentBuild: '22631', DisplayVersion: '23H2', EditionID: 'Education' }))?.osId).toBe('windows-11-23h2-education');
    expect(windowsRelease(os({ CurrentBuild: '22631', DisplayVersion: '23H2', EditionID: 'CoreSingleLanguage' }))?.osId).toBe('windows-11-23h2-home');
    expect(windowsRelease(os({ CurrentBuild: '17763', EditionID: 'EnterpriseS' }))?.osId).toBe('windows-10-ltsc-2019');
    expect(windowsRelease(os({ CurrentBuild: '19044', EditionID: 'IoTEnterpriseS' }))?.osId).toBe('windows-10-ltsc-2021-iot');
    expect(windowsRelease(os({ CurrentBuild: '17763', EditionID: 'ServerDatacenter', InstallationType: 'Server' }))?.osId).toBe('windows-server-2019');
  });
  it('an unreadable build is no identity', () => expect(windowsRelease(os({ CurrentBuild: null }))).toBeUndefined());
  it('security classification by CategoryID, case-insensitive', () => {
    const u = (ids: string[]) => ({ UpdateID: 'x', Title: 'Security Update', CategoryIDs: ids, KBArticleIDs: [] });
    expect(isSecurityUpdate(u(['0FA1201D-4330-4FA8-8AE9-B877473B6441']))).toBe(true);
    expect(isSecurityUpdate(u(['e0789628-ce08-4437-be74-2495b842f43b']))).toBe(false);
  });
});

describe('screen saver lock', () => {
  const d = (v: Record<string, string | null> = {}) => ({ ScreenSaveActive: null, ScreenSaverIsSecure: null, ScreenSaveTimeOut: null, 'SCRNSAVE.EXE': null, DelayLockInterval: null, ...v });
  const full = { ScreenSaveActive: '1', ScreenSaverIsSecure: '1', ScreenSaveTimeOut: '600', 'SCRNSAVE.EXE': 'scrnsave.scr' };
  it('locks only when active, secure, a program is set and the timeout is positive', () => {
    expect(screenSaverCandidate(d(full), d())).toEqual({ seconds: 600, enforced: false, source: 'Control Panel\\Desktop ScreenSaveTimeOut=600' });
    expect(screenSaverCandidate(d({ ...full, 'SCRNSAVE.EXE': null }), d())).toBeUndefined();
    expect(screenSaverCandidate(d({ ...full, ScreenSaverIsSecure: '0' }), d())).toBeUndefined();
    expect(screenSaverCandidate(d({ ...full, ScreenSaveTimeOut: '0' }), d())).toBeUndefined();
  });
  it('policy values win and make it enforced only when all four come from policy', () => {
    expect(screenSaverCandidate(d({ ...full, ScreenSaveTimeOut: '1800' }), d({ ScreenSaveTimeOut: '300' }))).toMatchObject({ seconds: 300, enforced: false });
    expect(screenSaverCandidate(d(), d(full))).toMatchObject({ seconds: 600, enforced: true });
    expect(screenSaverCandidate(d(full), d({ ScreenSaveActive: '0' }))).toBeUndefined();
  });
});

describe('BitLocker and time', () => {
  const bl = (v: Record<string, unknown>) => ({ systemDrive: 'C:', source: 'Win32_EncryptableVolume', ProtectionStatus: 1, ConversionStatus: 1, EncryptionMethod: 7, shellValue: null, wmiError: null, ...v }) as never;
  it('Win32_EncryptableVolume: on and fully encrypted only', () => {
    expect(bitlockerState(bl({}))).toEqual({ encrypted: true, method: 'XtsAes256' });
    expect(bitlockerState(bl({ ProtectionStatus: 0 }))).toMatchObject({ encrypted: false });
    expect(bitlockerState(bl({ ConversionStatus: 2 }))).toMatchObject({ encrypted: false });
    expect(text(bitlockerState(bl({ ProtectionStatus: 2 })))).toMatch(/^BITLOCKER_LOCKED: C: の ProtectionStatus が 2 \(不明\) です$/);
    expect(en(bitlockerState(bl({ ProtectionStatus: 2 })))).toBe('the BitLocker volume is locked (BITLOCKER_LOCKED): C: reports ProtectionStatus 2 (unknown)');
  });
  it.each([[1, true], [6, true], [2, false], [3, undefined], [5, undefined], [null, undefined]])('shell value %s', (value, encrypted) => {
    const r = bitlockerState(bl({ source: 'Shell.Application', shellValue: value, wmiError: 'Access denied' }));
    if (encrypted === undefined) expect(text(r)).toMatch(/^BITLOCKER_UNDECIDABLE: Win32_EncryptableVolume を読めず \(Access denied\)/);
    else expect(r).toMatchObject({ encrypted });
  });
  const t = (v: Record<string, unknown>) => ({ Type: 'NTP', NtpServer: 'ntp.nict.jp,0x9', serviceState: 'Running', serviceStartMode: 'Manual', partOfDomain: false, lastGoodEvent: null, lastBadEvent: null, ...v }) as never;
  it('time: NoSync, disabled service, NT5DS outside a domain are not synchronised', () => {
    expect(timeState(t({ Type: 'NoSync' }))).toMatchObject({ synchronized: false });
    expect(timeState(t({ serviceStartMode: 'Disabled' }))).toMatchObject({ synchronized: false });
    expect(timeState(t({ Type: 'NT5DS' }))).toMatchObject({ synchronized: false });
  });
  it('time: the newer of good/bad Time-Service events decides; nothing observable is unknown', () => {
    expect(timeState(t({ lastGoodEvent: { id: 37, at: '2026-01-02T00:00:00Z' }, lastBadEvent: { id: 36, at: '2026-01-01T00:00:00Z' } }))).toEqual({ synchronized: true, source: 'ntp.nict.jp' });
    expect(timeState(t({ lastGoodEvent: { id: 37, at: '2026-01-01T00:00:00Z' }, lastBadEvent: { id: 36, at: '2026-01-02T00:00:00Z' } }))).toMatchObject({ synchronized: false });
    expect(text(timeState(t({ serviceState: 'Stopped' })))).toMatch(/^TIME_SYNC_UNOBSERVABLE: W32Time は動いておらず/);
  });
});

describe('BitLocker feature, NTP client and service state (registry / CIM facts, no text)', () => {
  const shell = (shellValue: number | null, wmiErrorCode: string | null) => ({ systemDrive: 'C:', source: 'Shell.Application', ProtectionStatus: null, ConversionStatus: null, EncryptionMethod: null, shellValue, wmiError: '無効な名前空間です。 ', wmiErrorCode }) as never;
  it('no MicrosoftVolumeEncryption namespace (Server without the BitLocker feature) is "not encrypted", whatever the message language', () => {
    expect(bitlockerState(shell(null, 'InvalidNamespace'))).toEqual({ encrypted: false, method: null });
    expect(bitlockerState(shell(1, 'InvalidNamespace'))).toEqual({ encrypted: true, method: null });
    expect(text(bitlockerState(shell(null, 'AccessDenied')))).toMatch(/^BITLOCKER_UNDECIDABLE/);
    expect(text(bitlockerState(shell(null, null)))).toMatch(/^BITLOCKER_UNDECIDABLE/);
  });
  const t = (v: Record<string, unknown>) => ({ Type: 'NTP', NtpServer: 'ntp.nict.jp,0x9', NtpClientEnabled: 1, serviceState: 'Running', serviceStartMode: 'Manual', partOfDomain: false, lastGoodEvent: null, lastBadEvent: null, ...v }) as never;
  it('NoSync or the NTP client switched off is the Local CMOS Clock: not synchronised', () => {
    expect(timeState(t({ Type: 'NoSync' }))).toEqual({ synchronized: false, source: 'Local CMOS Clock' });
    expect(timeState(t({ NtpClientEnabled: 0, lastGoodEvent: { id: 37, at: '2026-01-02T00:00:00Z' } }))).toEqual({ synchronized: false, source: 'Local CMOS Clock' });
  });
  it('a running service without a sync event, or an unreadable event log, is not a pass', () => {
    expect(text(timeState(t({})))).toMatch(/^TIME_SYNC_UNOBSERVABLE: W32Time は動いていますが、同期を記録した Time-Service のイベントがありません/);
    expect(en(timeState(t({})))).toMatch(/W32Time is running and no Time-Service event records a synchronisation/);
    expect(text(timeState(t({}), 'SCRIPT_ERROR: time-events: access denied'))).toMatch(/^TIME_SYNC_UNOBSERVABLE: Time-Service のイベントを読めません \(調査スクリプトがエラーを返しました \(SCRIPT_ERROR\): time-events: access denied\)/);
    expect(en(timeState(t({}), 'SCRIPT_ERROR: time-events: access denied'))).toMatch(/the Time-Service events could not be read \(the probe script reported an error \(SCRIPT_ERROR\): time-events: access denied\)/);
  });
});

describe('beyond: documented values (agent/checks/beyond/fixtures/windows/documented-values.json)', () => {
  type Case = Record<string, unknown> & { encrypted?: boolean; method?: string | null; unknown?: string; synchronized?: boolean; timeSource?: string };
  const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '../../../agent/checks/beyond/fixtures/windows/documented-values.json'), 'utf8')) as Record<'bitlocker' | 'nativeErrorCode' | 'time', { source: string; cases: Case[] }>;
  it.each(fixture.bitlocker.cases)('Win32_EncryptableVolume %o', (c) => {
    const r = bitlockerState({ systemDrive: 'C:', source: 'Win32_EncryptableVolume', ProtectionStatus: c.ProtectionStatus as number, ConversionStatus: c.ConversionStatus as number, EncryptionMethod: c.EncryptionMethod as number, shellValue: null, wmiError: null, wmiErrorCode: null });
    if (c.unknown) expect(text(r)).toMatch(new RegExp(`^${c.unknown}`));
    else expect(r).toEqual({ encrypted: c.encrypted, method: c.method });
  });
  it.each(fixture.nativeErrorCode.cases)('failed query %o', (c) => {
    const r = bitlockerState({ systemDrive: 'C:', source: 'Shell.Application', ProtectionStatus: null, ConversionStatus: null, EncryptionMethod: null, shellValue: c.shellValue as number | null, wmiError: 'x', wmiErrorCode: c.wmiErrorCode as string });
    if (c.unknown) expect(text(r)).toMatch(new RegExp(`^${c.unknown}`));
    else expect(r).toMatchObject({ encrypted: c.encrypted });
  });
  it.each(fixture.time.cases)('W32Time %o', (c) => {
    const r = timeState({ Type: c.Type as string, NtpServer: 'ntp.nict.jp,0x9', NtpClientEnabled: c.NtpClientEnabled as number, serviceState: 'Running', serviceStartMode: 'Auto', partOfDomain: true, lastGoodEvent: { id: 37, at: '2026-11-30T00:00:00Z' }, lastBadEvent: null });
    expect(r).toEqual({ synchronized: c.synchronized, source: c.timeSource });
  });
  it('the script reads the conversion state and the cipher from the documented methods', () => {
    expect(BEYOND_SCRIPT).toContain('-MethodName GetConversionStatus');
    expect(BEYOND_SCRIPT).toContain('-MethodName GetEncryptionMethod');
    expect(BEYOND_SCRIPT).not.toMatch(/\$v\.(ConversionStatus|EncryptionMethod|EncryptionPercentage)/);
    expect(BEYOND_SCRIPT).toContain('TimeProviders\\NtpClient');
    // "no event" is told by its FullyQualifiedErrorId; other event-log errors are reported, not swallowed
    expect(BEYOND_SCRIPT).toContain("-notlike 'NoMatchingEventsFound*') { throw }");
    expect(BEYOND_SCRIPT).not.toMatch(/Get-WinEvent[^\n]*SilentlyContinue/);
  });
});

describe('antivirus vendors: signature date from the registry / definition files', () => {
  const key = (vendor: string, values: [string, string, string | number][]) => ({ vendor, key: `HKLM\\SOFTWARE\\${vendor}`, values: values.map(([name, kind, data]) => ({ name, kind, data })) });
  const documented = JSON.parse(readFileSync(join(import.meta.dirname, '../../../agent/checks/antivirus/fixtures/windows/vendor-values.json'), 'utf8')) as {
    values: { vendor: AvVendor; key: string; name: string; kind: string; data: string | number; signatureUpdatedAt: string; source: string }[];
  };
  it('covers the six vendors municipalities run', () => expect(new Set(documented.values.map((v) => v.vendor))).toEqual(new Set(['trendmicro', 'eset', 'symantec', 'sophos', 'mcafee', 'kaspersky'])));
  it.each(documented.values)('$vendor $name $data (vendor-values.json)', (v) => {
    expect(v.source.length).toBeGreaterThan(20);
    expect(vendorSignatureDate(v.vendor, [{ vendor: v.vendor, key: v.key, values: [{ name: v.name, kind: v.kind, data: v.data }] }], [])).toEqual({ at: v.signatureUpdatedAt, from: `${v.key}\\${v.name}` });
  });
  it('a value of another type, another format or an impossible date is a reason, never a date', () => {
    expect(text(vendorSignatureDate('trendmicro', [key('trendmicro', [['PatternDate', 'DWord', 20261130]])], []))).toMatch(/PatternDate は DWord で、yyyyMMdd 形式の REG_SZ ではありません/);
    expect(en(vendorSignatureDate('trendmicro', [key('trendmicro', [['PatternDate', 'DWord', 20261130]])], []))).toMatch(/PatternDate is DWord, expected REG_SZ yyyyMMdd/);
    expect(text(vendorSignatureDate('trendmicro', [key('trendmicro', [['PatternDate', 'String', '2026年11月30日']])], []))).toMatch(/PatternDate の値 「2026年11月30日」 は yyyyMMdd 形式ではありません/);
    expect(vendorSignatureDate('trendmicro', [key('trendmicro', [['PatternDate', 'String', '20260231']])], [])).toHaveProperty('reason');
    expect(vendorSignatureDate('eset', [key('eset', [['ScannerVersion', 'String', '30412']])], [])).toHaveProperty('reason');
    expect(vendorSignatureDate('sophos', [key('sophos', [['LastUpdateTime', 'DWord', -5]])], [])).toHaveProperty('reason');
    expect(vendorSignatureDate('kaspersky', [key('kaspersky', [['Protection_BasesDate', 'String', '2026-11-30 04:10:00']])], [])).toHaveProperty('reason');
    expect(text(vendorSignatureDate('eset', [], []))).toMatch(/^NOT_FOUND: eset の定義ファイルの日付がレジストリにもディスクにもありません/);
    expect(en(vendorSignatureDate('eset', [], []))).toMatch(/no eset signature date in the registry or on disk/);
  });
  it('Symantec: the definfo.dat CurDefs line when public-opstate has no date; a date wins over a bad value', () => {
    const file = (line: string) => [{ vendor: 'symantec', path: 'C:\\ProgramData\\Symantec\\definfo.dat', lines: [line] }];
    expect(vendorSignatureDate('symantec', [], file('CurDefs=20261130.021'))).toMatchObject({ at: '2026-11-30T00:00:00.000Z' });
    expect(vendorSignatureDate('symantec', [], file('CurDefs=garbage'))).toHaveProperty('reason');
    expect(vendorSignatureDate('symantec', [key('symantec', [['LatestVirusDefsDate', 'String', 'Nov 30']])], file('CurDefs=20261130.021'))).toMatchObject({ at: '2026-11-30T00:00:00.000Z' });
  });
  it('full scan: Kaspersky only; the others say why', () => {
    expect(vendorFullScanDate('kaspersky', [key('kaspersky', [['Protection_LastFscan', 'String', '22-11-2026 13-00-00']])])).toMatchObject({ at: '2026-11-22T13:00:00.000Z' });
    expect(en(vendorFullScanDate('symantec', []))).toMatch(/symantec keeps no documented full-scan time on the PC/);
  });
  it('vendors by product name or path, Japanese brand names included', () => {
    expect(vendorOf('ウイルスバスター Corp.クライアント', [])).toBe('trendmicro');
    expect(vendorOf('Endpoint Protection', ['C:\\Program Files\\Symantec\\x.exe'])).toBe('symantec');
    expect(vendorOf('Trellix Endpoint Security', [])).toBe('mcafee');
    expect(vendorOf('Norton 360', ['C:\\Program Files\\Norton Security\\x.exe'])).toBeNull();
  });
  it('the script reads every listed key in both registry views and every listed file', () => {
    for (const k of VENDOR_KEYS) expect(ANTIVIRUS_SCRIPT).toContain(`key = '${k.key}'`);
    for (const f of VENDOR_FILES) expect(ANTIVIRUS_SCRIPT).toContain(`path = '${f.path}'`);
    expect(ANTIVIRUS_SCRIPT).toContain("@('SOFTWARE\\', 'SOFTWARE\\WOW6432Node\\')");
    expect(ANTIVIRUS_SCRIPT).toContain('GetValueKind');
  });

  const doc = (productState: number, vendorRegistry: unknown[]) =>
    AntivirusDocument.parse({
      schema: 'mamori.win.antivirus/1', productType: 1, defender: null, defenderError: 'x',
      securityCenter: { available: true, reason: null, products: [{ displayName: 'Trend Micro Apex One Antivirus', productState, pathToSignedProductExe: 'C:\\Program Files (x86)\\Trend Micro\\Security Agent\\PccNTMon.exe', pathToSignedReportingExe: 'C:\\Program Files (x86)\\Trend Micro\\Security Agent\\NTRTScan.exe', productExe: null, reportingExe: null }] },
      running: [], vendorRegistry, vendorFiles: [], errors: [],
    });
  it('productState 266256 (pattern out of date) without a readable date: the product\'s own flag is the fact', () => {
    const out = antivirusFacts(doc(266256, []));
    expect(out.facts).toMatchObject({ primaryProduct: 'Trend Micro Apex One Antivirus', signaturesReportedUpToDate: false });
    expect(out.unknownFacts.signatureUpdatedAt).toMatch(/^NOT_EXPOSED: .*trendmicro の定義ファイルの日付がレジストリにもディスクにもありません/);
    expect(render(out.unknownMsgs!.signatureUpdatedAt!, 'en')).toMatch(/Trend Micro Apex One Antivirus is seen through SecurityCenter2.*no trendmicro signature date/);
  });
  it('a registry read that failed is named in the reason: "not found" is then not "not there"', () => {
    const d = { ...doc(266240, []), errors: [{ part: 'vendor-registry', message: 'HKLM\\SOFTWARE\\TrendMicro: Requested registry access is not allowed.' }] };
    const out = antivirusFacts(d);
    expect(out.unknownFacts.signatureUpdatedAt).toMatch(/trendmicro の定義ファイルの日付.*SCRIPT_ERROR: vendor-registry: HKLM/);
    expect(out.facts.signaturesReportedUpToDate).toBe(true);
  });
  it('Defender seen only through SecurityCenter2 (Get-MpComputerStatus failed): the flag is judged and the reason names the failure', () => {
    const d = AntivirusDocument.parse({
      schema: 'mamori.win.antivirus/1', productType: 1, defender: null, defenderError: '操作は正常に終了しませんでした。 ',
      securityCenter: { available: true, reason: null, products: [{ displayName: 'Windows Defender', productState: 397584, pathToSignedProductExe: 'windowsdefender://', pathToSignedReportingExe: '%ProgramFiles%\\Windows Defender\\MsMpeng.exe' }] },
      running: [], errors: [],
    });
    const out = antivirusFacts(d);
    expect(out.facts).toMatchObject({ primaryProduct: 'Windows Defender', signaturesReportedUpToDate: false });
    expect(out.unknownFacts.signatureUpdatedAt).toMatch(/Get-MpComputerStatus が失敗しました: 操作は正常に終了しませんでした。/);
  });
  it('with the PatternDate read, the date is the fact and the flag is not judged', () => {
    const out = antivirusFacts(doc(266256, [key('trendmicro', [['PatternDate', 'String', '20261015']])]));
    expect(out.facts).toMatchObject({ signatureUpdatedAt: '2026-10-15T00:00:00.000Z', signaturesReportedUpToDate: null });
    expect(out.facts.products?.[0]?.source).toMatch(/^SecurityCenter2; signatures: HKLM.*PatternDate$/);
  });
});

describe('reading PowerShell output', () => {
  it('accepts the PS 5.1 escaping and a BOM', () => {
    const text = '\uFEFF{"schema":"mamori.win.usb-media/1","disks":[],"policy":null,"errors":[]}\r\n';
    expect(readPowerShellJson('k', { ok: true, stdout: text, exitCode: 0 }, UsbMediaDocument).ok).toBe(true);
  });
  it('a single item unwrapped from its array (what piping would do) is rejected, not accepted as an object', () => {
    const r = readPowerShellJson('k', { ok: true, stdout: '{"schema":"mamori.win.usb-media/1","disks":{"index":1},"policy":null,"errors":[]}', exitCode: 0 }, UsbMediaDocument);
    expect(r).toMatchObject({ ok: false });
    if (!r.ok) expect(r.reason).toMatch(/^UNEXPECTED_SHAPE: k の出力の disks が想定と違います/);
  });
});

describe('PowerShell scripts', () => {
  const scripts = { USB_MEDIA_SCRIPT, SOFTWARE_SCRIPT, ANTIVIRUS_SCRIPT, SCREEN_LOCK_SCRIPT, OS_PATCHES_SCRIPT, WUA_SEARCH_SCRIPT, BEYOND_SCRIPT };
  it.each(Object.entries(scripts))('%s follows the rules of the host and of PS 5.1 JSON', (_name, script) => {
    expect(script).not.toMatch(/\n\s*\n/); // a blank line ends a statement under -Command -
    expect(script).not.toMatch(/@["']\s*$/m); // no here-strings (they need blank-line-free framing too)
    expect(script).toMatch(/^[\x09\x0a\x0d\x20-\x7e]*$/); // ASCII: stdin code page (932 on Japanese Windows) cannot garble it
    expect(script).toContain('ConvertTo-Json -InputObject $Document -Depth 6 -Compress');
    expect(script).toContain('UTF8Encoding($false)');
    expect(script).not.toMatch(/Win32_Product\b/);
    expect(script).not.toMatch(/w32tm|netsh|manage-bde|powercfg/i); // localised text output
    expect(script).not.toMatch(/-EncodedCommand|ExecutionPolicy/i);
    expect(script.match(/Write-MamoriJson \$doc/g)).toHaveLength(1);
  });
  it('BitLocker: only Win32_EncryptableVolume properties (EncryptionPercentage is a GetConversionStatus output, not a property)', () => {
    expect(BEYOND_SCRIPT).not.toContain('EncryptionPercentage');
    expect(BEYOND_SCRIPT).toContain('$_.Exception.NativeErrorCode');
  });
  it('dates are emitted as ISO UTC', () => {
    expect(ANTIVIRUS_SCRIPT).toContain("ToUniversalTime().ToString('o')");
    expect(ANTIVIRUS_SCRIPT).toContain('AntivirusSignatureLastUpdated = ConvertTo-MamoriIso');
  });
});

describe('USB storage whose USB identity cannot be read', () => {
  const disk = (v: Record<string, unknown>) => ({ index: 1, model: 'Generic Flash Disk', pnpDeviceId: 'USBSTOR\\DISK&VEN_GENERIC&PROD_FLASH_DISK\\7&1A2B&0', interfaceType: 'USB', serialNumber: null, size: 8_000_000_000, mediaType: 'Removable Media', usbInstanceId: null, usbHardwareIds: [], usbCompatibleIds: [], busReportedName: null, interfaces: [], isReadOnly: false, volumes: [], ...v });
  const doc = (d: Record<string, unknown>) => UsbMediaDocument.parse({ schema: 'mamori.win.usb-media/1', disks: [disk(d)], policy: null, errors: [] });
  it('names the disk, in Japanese and in English, and is unknown rather than no stick', () => {
    const out = usbMediaFacts(doc({}), 'audit');
    expect(out.facts.devices).toBeUndefined();
    expect(out.unknownFacts.devices).toBe('USB_IDENTITY_UNREADABLE: ディスク 1 (USBSTOR\\DISK&VEN_GENERIC&PROD_FLASH_DISK\\7&1A2B&0) の USB デバイスノードが見つかりません');
    expect(render(out.unknownMsgs!.devices!, 'en')).toBe('USB identity unreadable (USB_IDENTITY_UNREADABLE): disk 1 (USBSTOR\\DISK&VEN_GENERIC&PROD_FLASH_DISK\\7&1A2B&0): its USB device node was not found');
    expect(render(usbMediaFacts(doc({ usbInstanceId: 'HID\\VID_1234' }), 'audit').unknownMsgs!.devices!, 'en')).toMatch(/disk 1: unexpected USB instance id HID\\VID_1234$/);
    // No policy document: the control settings are unknown with why, in both languages.
    expect(render(usbMediaFacts(doc({}), 'audit').unknownMsgs!.exportBlocked!, 'en')).toBe('the probe script reported an error (SCRIPT_ERROR): policy: the storage control settings were not printed');
  });
});
