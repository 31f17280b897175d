import { describe, expect, test } from 'vitest';
import { render } from '../../../src/shared/i18n/index.js';
import { findResidentProducts, parseClamConf, parseClamVersion, parseCvdHeader, parseMdatpHealth } from '../../../agent/checks/antivirus/linux-parse.js';
import { CLAMAV_FULL_SCAN_MEMORY_KEY } from '../../../agent/checks/antivirus/linux.js';
import { AntivirusFacts } from '../../../agent/checks/antivirus/facts.js';
import { MapMemory, runLinuxCheck } from '../../helpers/linux-context.js';
import { FAILURES, ScriptedProbes, dir, fixture, fixtureJson } from '../../helpers/linux-probes.js';

process.env.TZ = 'UTC';
const now = new Date('2025-11-19T10:00:02Z');

describe('antivirus Linux parsers', () => {
  test('daily.cld header → build time from the epoch field', () => {
    expect(parseCvdHeader(fixture('antivirus', 'daily-cld.daily-header.bin'))).toEqual(fixtureJson('antivirus', 'daily-cld.facts.json'));
    expect(parseCvdHeader(fixture('antivirus', 'garbled.daily-header.bin'))).toEqual(fixtureJson('antivirus', 'garbled.facts.json'));
    expect(parseCvdHeader('')).toBeNull();
    expect(parseCvdHeader('ClamAV-VDB:only:three')).toBeNull();
  });
  test('clamd.conf (Debian 12 generated file)', () => {
    const c = parseClamConf(fixture('antivirus', 'debian12.clamd-conf.txt'));
    const want = fixtureJson<Record<string, unknown>>('antivirus', 'debian12.facts.json');
    for (const k of ['DatabaseDirectory', 'LocalSocket', 'OnAccessIncludePath']) expect(c.options.get(k)).toBe(want[k]);
    expect(c.example).toBe(want.example);
    expect(parseClamConf('# sample\nExample\nDatabaseDirectory /x\n').example).toBe(true);
  });
  test('clamd --version with and without official database', () => {
    expect(parseClamVersion('ClamAV 1.0.9/27825/Wed Nov 19 10:10:02 2025\n')).toEqual({ engine: '1.0.9', dbVersion: 27825 });
    expect(parseClamVersion('ClamAV 1.4.6\n')).toEqual({ engine: '1.4.6', dbVersion: null });
    expect(parseClamVersion('clamd: error')).toBeNull();
  });
  test('mdatp health JSON: managed {value,scope} objects and bare values', () => {
    expect(parseMdatpHealth(fixture('antivirus', 'rhel9.mdatp-health.json'), now)).toEqual(fixtureJson('antivirus', 'rhel9.facts.json'));
    expect(parseMdatpHealth(fixture('antivirus', 'passive-unlicensed.mdatp-health.json'), now)).toEqual(fixtureJson('antivirus', 'passive-unlicensed.facts.json'));
    // The snake_case names are the text output's: in JSON they are not the fields, so nothing is read from them.
    expect(parseMdatpHealth('{"real_time_protection_enabled": true, "passive_mode_enabled": false}', now)).toMatchObject({ realTimeProtection: null, passive: null });
    expect(parseMdatpHealth('{"definitionsStatus": {"$type": "up_to_date"}, "definitionsUpdated": 1763530000}', now)).toMatchObject({ definitionsUpToDate: true, definitionsUpdatedAt: '2025-11-19T05:26:40.000Z' });
    expect(parseMdatpHealth('ERROR: daemon not running', now)).toBeNull();
    expect(parseMdatpHealth('[]', now)).toBeNull();
  });
  test('resident products by /opt folder and process; generic names need the exe path', () => {
    const r = findResidentProducts(['CrowdStrike', 'google'], [{ name: 'falcon-sensor', exe: '/opt/CrowdStrike/falcon-sensor' }, { name: 'startd', exe: '/usr/bin/startd' }]);
    expect(r.map((x) => [x.product.name, x.running])).toEqual([['CrowdStrike Falcon', true]]);
    expect(findResidentProducts(['eset'], [])[0]).toMatchObject({ installed: true, running: false });
  });
});

const procs = (names: Record<number, string>): Record<string, string> => {
  const out: Record<string, string> = { 'proc.list': dir(['1', ...Object.keys(names)]), 'proc.exe': '', 'proc.1.status': 'Name:\tsystemd\nPPid:\t0\nUid:\t0\t0\t0\t0\n' };
  for (const [pid, n] of Object.entries(names)) out[`proc.${pid}.status`] = `Name:\t${n}\nPPid:\t1\nUid:\t0\t0\t0\t0\n`;
  return out;
};
const clamInstalled = {
  'clamav.clamd-version': 'ClamAV 1.0.9/27825/Wed Nov 19 10:10:02 2025\n',
  'clamav.conf.0': fixture('antivirus', 'debian12.clamd-conf.txt'),
  'clamav.db.list': dir(['bytecode.cvd', 'daily.cld', 'freshclam.dat', 'main.cvd']),
  'clamav.daily-header': fixture('antivirus', 'daily-cld.daily-header.bin'),
  'opt.list': dir([]),
};

describe('antivirus Linux collector: distinct states', () => {
  test('nothing installed → installed false, not an unknown', async () => {
    const r = await runLinuxCheck('antivirus', new ScriptedProbes({ ...procs({}), 'opt.list': dir(['google']) }, now));
    expect(r.status).toBe('ok');
    expect(r.facts).toMatchObject({ installed: false, products: [], primaryProduct: null, running: false, realTimeProtection: false });
  });
  test('ClamAV installed, clamd not running', async () => {
    const r = await runLinuxCheck('antivirus', new ScriptedProbes({ ...procs({ 50: 'bash' }), ...clamInstalled }, now));
    expect(r.facts).toMatchObject({ installed: true, primaryProduct: 'ClamAV 1.0.9', running: false, realTimeProtection: false, signatureUpdatedAt: '2025-11-19T10:10:02.000Z', lastFullScanAt: null, productExpired: false, tamperProtected: null });
  });
  test('clamd + clamonacc running, full scan recorded by the agent', async () => {
    const mem = new MapMemory();
    mem.set(CLAMAV_FULL_SCAN_MEMORY_KEY, '2025-11-10T03:00:00.000Z');
    const r = await runLinuxCheck('antivirus', new ScriptedProbes({ ...procs({ 50: 'clamd', 51: 'clamonacc', 52: 'freshclam' }), ...clamInstalled }, now), {}, mem);
    expect(AntivirusFacts.parse(r.facts)).toBeTruthy();
    expect(r.facts).toMatchObject({ running: true, realTimeProtection: true, lastFullScanAt: '2025-11-10T03:00:00.000Z' });
  });
  test('mdatp active is primary over a stopped ClamAV', async () => {
    const r = await runLinuxCheck('antivirus', new ScriptedProbes({ ...procs({ 60: 'wdavdaemon' }), ...clamInstalled, 'mdatp.health': fixture('antivirus', 'rhel9.mdatp-health.json') }, now));
    expect(r.facts).toMatchObject({ primaryProduct: 'Microsoft Defender for Endpoint', running: true, realTimeProtection: true, signatureUpdatedAt: '2025-11-19T08:25:02.000Z', productExpired: false, tamperProtected: true });
    expect(r.unknownFacts.lastFullScanAt).toMatch(/^UNSUPPORTED/);
  });
  test('third-party EDR by process: protection state unknown, not assumed', async () => {
    const r = await runLinuxCheck('antivirus', new ScriptedProbes({ ...procs({ 70: 'falcon-sensor' }), 'opt.list': dir(['CrowdStrike']) }, now));
    expect(r.facts).toMatchObject({ installed: true, primaryProduct: 'CrowdStrike Falcon', running: true });
    expect(r.facts.realTimeProtection).toBeUndefined();
    expect(r.unknownFacts.realTimeProtection).toMatch(/^UNSUPPORTED/);
  });
  test.each([
    ['accessDenied', FAILURES.accessDenied!],
    ['timeout', FAILURES.timeout!],
    ['garbled', FAILURES.garbled!],
    ['empty', FAILURES.empty!],
  ])('daily header %s → signatureUpdatedAt unknown, the rest still known', async (_n, outcome) => {
    const r = await runLinuxCheck('antivirus', new ScriptedProbes({ ...procs({ 50: 'clamd' }), ...clamInstalled, 'clamav.daily-header': outcome }, now));
    expect(r.facts.signatureUpdatedAt).toBeUndefined();
    expect(r.unknownFacts.signatureUpdatedAt).toBeTruthy();
    expect(r.facts.running).toBe(true);
  });
  test.each([
    ['one version answer not recorded', { 'clamav.clamd-version': FAILURES.missing!, 'clamav.clamscan-version': { ok: false, failure: 'NOT_RECORDED', detail: 'no recording' } }],
    ['clamscan --version failing', { 'clamav.clamscan-version': { ok: false, failure: 'EXEC_FAILED', detail: 'exited 1', exitCode: 1 } }],
    ['mdatp health failing without wdavdaemon', { 'mdatp.health': { ok: false, failure: 'EXEC_FAILED', detail: 'exited 1', exitCode: 1 } }],
    ['mdatp health timing out', { 'mdatp.health': FAILURES.timeout! }],
  ] as const)('no product answered and %s → unknown, never "installed"', async (_n, failing) => {
    const r = await runLinuxCheck('antivirus', new ScriptedProbes({ ...procs({ 50: 'bash' }), 'opt.list': dir([]), ...failing }, now));
    expect(r.status).toBe('unknown');
    expect(r.reason).toMatch(/^AV_NOT_OBSERVABLE: 不正プログラム対策ソフトウェアが見つからず、一部の情報源を読み取れませんでした: .*がインストールされているか分かりません/);
    expect(render(r.reasonMsg!, 'en')).toMatch(/no anti-malware product found, and some sources could not be read: .*is installed is unknown/);
    expect(r.facts.installed).toBeUndefined();
  });
  test('a failed version answer with clamd running is still ClamAV, running', async () => {
    const r = await runLinuxCheck('antivirus', new ScriptedProbes({ ...procs({ 50: 'clamd' }), 'clamav.clamd-version': FAILURES.timeout!, 'opt.list': dir([]) }, now));
    expect(r.facts).toMatchObject({ installed: true, primaryProduct: 'ClamAV', running: true, realTimeProtection: false });
  });
  test('a process whose status cannot be read leaves "not running" unknown', async () => {
    const r = await runLinuxCheck('antivirus', new ScriptedProbes({ ...procs({ 50: 'bash' }), 'proc.list': dir(['50', '51']), 'proc.51.status': FAILURES.accessDenied!, ...clamInstalled }, now));
    expect(r.facts.installed).toBe(true);
    expect(r.facts.running).toBeUndefined();
    expect(r.unknownFacts.running).toMatch(/^ACCESS_DENIED: プロセス 1 個を読み取れません \(51: ACCESS_DENIED\)/);
    expect(render(r.unknownMsgs!.running!, 'en')).toBe('access denied (ACCESS_DENIED): 1 processes could not be read (51: ACCESS_DENIED)');
  });
  test('process list unreadable → running unknown; nothing found and a source unreadable → check unknown', async () => {
    const r = await runLinuxCheck('antivirus', new ScriptedProbes({ ...clamInstalled, 'proc.list': FAILURES.accessDenied! }, now));
    expect(r.unknownFacts.running).toMatch(/^ACCESS_DENIED/);
    const r2 = await runLinuxCheck('antivirus', new ScriptedProbes({ 'proc.list': FAILURES.timeout!, 'opt.list': FAILURES.accessDenied! }, now));
    expect(r2.status).toBe('unknown');
  });
  test('unofficial databases only: newest file time stands for the signature time', async () => {
    const r = await runLinuxCheck('antivirus', new ScriptedProbes({ ...procs({ 50: 'clamd' }), ...clamInstalled, 'clamav.db.list': dir(['local.hdb', 'local.ndb']), 'clamav.db.mtime': '1763500000\n1763540000\n' }, now));
    expect(r.facts.signatureUpdatedAt).toBe(new Date(1763540000 * 1000).toISOString());
  });
});
