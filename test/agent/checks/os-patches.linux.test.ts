import { describe, expect, test } from 'vitest';
import { render } from '../../../src/shared/i18n/index.js';
import { compareVersions, isSecurityCandidate, lastAptUpgrade, newerKernelInstalled, osIdFromRelease, parseAptPolicy, parseAptSimulation, parseDnfAdvisoryDates, parseDnfCheckUpdate, parseDnfUpdateinfo, parseOsRelease, parseUtcOffset } from '../../../agent/checks/os-patches/linux-parse.js';
import { FIRST_SEEN_MEMORY_KEY } from '../../../agent/checks/os-patches/linux.js';
import { OsPatchesFacts } from '../../../agent/checks/os-patches/facts.js';
import { MapMemory, runLinuxCheck } from '../../helpers/linux-context.js';
import { FAILURES, ScriptedProbes, dir, fixture, fixtureJson } from '../../helpers/linux-probes.js';
import type { Scripted } from '../../helpers/linux-probes.js';
import { localCheck } from '../../../agent/local-check.js';
import type { ProbeOutcome, Probes } from '../../../agent/probes/types.js';

const F = (n: string): string => fixture('os-patches', n);

describe('os-patches Linux parsers', () => {
  test('apt simulation + apt-cache policy: every origin of the candidate decides (Ubuntu undercount)', () => {
    const want = fixtureJson<{ total: number; security: string[]; securityFromInstLinesOnly: string[] }>('os-patches', 'ubuntu2404.facts.json');
    const inst = parseAptSimulation(F('ubuntu2404.apt-simulate.txt'));
    expect(inst).toHaveLength(want.total);
    expect(inst[2]).toEqual({ name: 'linux-image-6.8.0-49-generic', installed: null, candidate: '6.8.0-49.49', origins: ['Ubuntu:24.04/noble-updates', 'Ubuntu:24.04/noble-security'] });
    const policy = parseAptPolicy(F('ubuntu2404.apt-policy.txt'));
    expect(inst.filter((i) => isSecurityCandidate(policy.get(i.name)!)).map((i) => i.name)).toEqual(want.security);
    // What counting "-security" on the Inst line would have given: fewer.
    expect(inst.filter((i) => i.origins.some((o) => o.endsWith('-security'))).map((i) => i.name)).toEqual(want.securityFromInstLinesOnly);
  });
  test('apt history: newest upgrade without Error, local time → UTC', () => {
    const want = fixtureJson<{ utcOffset: string; lastUpgrade: string }>('os-patches', 'debian12.facts.json');
    expect(lastAptUpgrade(F('debian12.history-log.txt'), parseUtcOffset(want.utcOffset)!)).toBe(want.lastUpgrade);
    expect(lastAptUpgrade('', 540)).toBeNull();
    expect(parseUtcOffset('-0330')).toBe(-210);
    expect(parseUtcOffset('JST')).toBeNull();
  });
  test('dnf updateinfo and check-update (RHEL 9)', () => {
    const want = fixtureJson<{ advisories: unknown[]; checkUpdateTotal: number }>('os-patches', 'rhel9.facts.json');
    expect(parseDnfUpdateinfo(F('rhel9.dnf-updateinfo.txt'))).toEqual(want.advisories);
    expect(parseDnfCheckUpdate(F('rhel9.dnf-check-update.txt'))).toHaveLength(want.checkUpdateTotal);
  });
  test.each(fixtureJson<{ text: string; osId: string | null }[]>('os-patches', 'os-release.cases.json').map((c) => [c.osId, c.text] as const))('os-release → %s', (osId, text) => {
    expect(osIdFromRelease(parseOsRelease(text))).toBe(osId);
  });
  test('kernel comparison', () => {
    expect(compareVersions('6.1.0-30-amd64', '6.1.0-9-amd64')).toBeGreaterThan(0);
    expect(newerKernelInstalled(['config-6.1.0-9-amd64', 'vmlinuz-6.1.0-9-amd64', 'vmlinuz-6.1.0-30-amd64'], '6.1.0-9-amd64')).toBe(true);
    expect(newerKernelInstalled(['vmlinuz-6.1.0-30-amd64'], '6.1.0-30-amd64')).toBe(false);
    expect(newerKernelInstalled([], '6.18.44-fc')).toBeNull();
  });
});

const ubuntu = {
  'os-release.0': 'PRETTY_NAME="Ubuntu 24.04.1 LTS"\nID=ubuntu\nVERSION_ID="24.04"\n',
  'kernel-release': '6.8.0-48-generic\n',
  'apt.simulate': F('ubuntu2404.apt-simulate.txt'),
  'apt.policy': F('ubuntu2404.apt-policy.txt'),
  'apt.lists.list': dir(['jp.archive.ubuntu.com_ubuntu_dists_noble-updates_InRelease', 'lock', 'partial']),
  'apt.lists.mtime': `${Date.parse('2025-11-18T10:00:02Z') / 1000}\n`,
  'date.utc-offset': '+0900\n',
  'apt.history': F('debian12.history-log.txt'),
  'boot.list': dir(['vmlinuz-6.8.0-48-generic', 'vmlinuz-6.8.0-49-generic']),
};

describe('os-patches Linux collector', () => {
  test('Ubuntu 24.04: 3 security of 5, firstSeen kept across runs, newer kernel → reboot', async () => {
    const mem = new MapMemory();
    mem.set(FIRST_SEEN_MEMORY_KEY, { openssl: '2025-11-01T00:00:00.000Z', 'gone-package': '2025-10-01T00:00:00.000Z' });
    const r = await runLinuxCheck('os-patches', new ScriptedProbes(ubuntu), {}, mem);
    expect(OsPatchesFacts.parse(r.facts)).toBeTruthy();
    expect(r.facts).toMatchObject({ osId: 'ubuntu-24.04', osBuild: '6.8.0-48-generic', pendingUpdatesTotal: 5, oldestPendingSecuritySince: null, oldestUndatedPendingSecuritySince: '2025-11-01T00:00:00.000Z', updateSourceAgeHours: 24, lastSuccessfulUpdateAt: '2025-06-24T05:36:25.000Z', rebootRequired: true });
    expect((r.facts.pendingSecurityUpdates as { name: string }[]).map((u) => u.name)).toEqual(['libssl3t64', 'openssl', 'linux-image-6.8.0-49-generic']);
    expect(Object.keys(mem.get<Record<string, string>>(FIRST_SEEN_MEMORY_KEY)!)).not.toContain('gone-package');
    expect(typeof r.facts.osSupported).toBe('boolean');
  });
  test.each([
    ['/boot unreadable', { 'boot.list': FAILURES.accessDenied! }, /ACCESS_DENIED/],
    ['/boot not recorded', { 'boot.list': { ok: false, failure: 'NOT_RECORDED', detail: 'no recording' } }, /NOT_RECORDED/],
    ['running kernel unreadable', { 'kernel-release': FAILURES.accessDenied! }, /running kernel release could not be read/],
    ['running kernel not among the installed ones', { 'boot.list': dir(['vmlinuz-6.8.0-50-generic', 'grub']) }, /is not in \/boot/],
  ] as const)('no reboot flag and %s → rebootRequired unknown, not false', async (_n, changed, reason) => {
    const r = await runLinuxCheck('os-patches', new ScriptedProbes({ ...ubuntu, ...changed }));
    expect(r.facts.rebootRequired).toBeUndefined();
    // The reason in English (the console's switch); the text the agent sends is Japanese.
    expect(render(r.unknownMsgs!.rebootRequired!, 'en')).toMatch(reason);
    expect(r.unknownFacts.rebootRequired).toMatch(/^(\/boot: )?[A-Z_]+: /);
  });
  test('no reboot flag and no kernel image installed (a container) → no reboot pending', async () => {
    expect((await runLinuxCheck('os-patches', new ScriptedProbes({ ...ubuntu, 'boot.list': FAILURES.missing! }))).facts.rebootRequired).toBe(false);
    expect((await runLinuxCheck('os-patches', new ScriptedProbes({ ...ubuntu, 'boot.list': dir([]) }))).facts.rebootRequired).toBe(false);
  });
  test('reboot-required flag wins', async () => {
    const r = await runLinuxCheck('os-patches', new ScriptedProbes({ ...ubuntu, 'boot.list': dir([]), 'reboot-required': '*** System restart required ***\n' }));
    expect(r.facts.rebootRequired).toBe(true);
  });
  test.each([
    ['accessDenied', FAILURES.accessDenied!],
    ['timeout', FAILURES.timeout!],
  ])('apt-cache policy %s → pending security unknown (no guessing from Inst lines)', async (_n, outcome) => {
    const r = await runLinuxCheck('os-patches', new ScriptedProbes({ ...ubuntu, 'apt.policy': outcome }));
    expect(r.facts.pendingSecurityUpdates).toBeUndefined();
    expect(r.unknownFacts.pendingSecurityUpdates).toMatch(/apt-cache policy/);
  });
  test('garbled apt-cache policy → PARSE_FAILED', async () => {
    const r = await runLinuxCheck('os-patches', new ScriptedProbes({ ...ubuntu, 'apt.policy': FAILURES.garbled! }));
    expect(r.unknownFacts.pendingSecurityUpdates).toMatch(/PARSE_FAILED/);
  });
  test('empty simulation → no pending updates; missing history with rotated logs → unknown, not "never"', async () => {
    const r = await runLinuxCheck('os-patches', new ScriptedProbes({ ...ubuntu, 'apt.simulate': '', 'apt.history': FAILURES.missing!, 'apt.logdir': dir(['history.log.1.gz', 'term.log']) }));
    expect(r.facts).toMatchObject({ pendingSecurityUpdates: [], pendingUpdatesTotal: 0, oldestPendingSecuritySince: null });
    expect(r.unknownFacts.lastSuccessfulUpdateAt).toMatch(/^NOT_READ: history\.log に更新の記録がなく、それより前の更新は history\.log\.1\.gz/);
    expect(render(r.unknownMsgs!.lastSuccessfulUpdateAt!, 'en')).toMatch(/older upgrades may be in history\.log\.1\.gz.*\(rotated logs are not read\)/);
  });
  test('RHEL 9 with dnf: severities, reboot from needs-restarting', async () => {
    const r = await runLinuxCheck('os-patches', new ScriptedProbes({
      'os-release.0': 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nVERSION_ID="9.4"\nPRETTY_NAME="Red Hat Enterprise Linux 9.4 (Plow)"\n',
      'kernel-release': '5.14.0-427.13.1.el9_4.x86_64\n',
      'dnf.updateinfo': F('rhel9.dnf-updateinfo.txt'),
      'dnf.check-update': { ok: true, stdout: F('rhel9.dnf-check-update.txt'), exitCode: 100 },
      'dnf.cache.list': dir(['baseos.solv', 'appstream.solv', 'expired_repos.json']),
      'dnf.cache.mtime': `${Date.parse('2025-11-19T04:00:02Z') / 1000}\n`,
      'rpm.installtimes': '1700000000\n1763000000\n',
      'needs-restarting': { ok: true, stdout: 'Core libraries or services have been updated since boot-up:\n  * kernel\n\nReboot is required to fully utilize these updates.\n', exitCode: 1 },
    }));
    expect(r.facts).toMatchObject({ osId: 'rhel-9', pendingUpdatesTotal: 5, updateSourceAgeHours: 6, rebootRequired: true, lastSuccessfulUpdateAt: new Date(1763000000 * 1000).toISOString() });
    expect(r.facts.pendingSecurityUpdates).toEqual([
      expect.objectContaining({ name: 'nghttp2-libs', severity: 'Important' }),
      expect.objectContaining({ name: 'openssl', severity: 'Critical', version: '1:3.0.7-28.el9_4' }),
      expect.objectContaining({ name: 'openssl-libs', severity: 'Moderate' }),
      expect.objectContaining({ name: 'python3', severity: null }),
    ]);
  });
  const rhel9: Record<string, Scripted> = {
    'os-release.0': 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nVERSION_ID="9.4"\nPRETTY_NAME="Red Hat Enterprise Linux 9.4 (Plow)"\n',
    'kernel-release': '5.14.0-427.13.1.el9_4.x86_64\n',
    'dnf.updateinfo': F('rhel9.dnf-updateinfo.txt'),
    'dnf.updateinfo-info': F('rhel9.dnf-updateinfo-info.txt'),
    'date.utc-offset': '+0900\n',
    'dnf.check-update': { ok: true, stdout: F('rhel9.dnf-check-update.txt'), exitCode: 100 },
    'dnf.cache.list': dir(['baseos.solv']),
    'dnf.cache.mtime': `${Date.parse('2025-11-19T04:00:02Z') / 1000}\n`,
    'rpm.installtimes': '1763000000\n',
    'needs-restarting': { ok: true, stdout: 'No core libraries or services have been updated since boot-up.\nReboot should not be necessary.\n', exitCode: 0 },
  };
  test('dnf: publication dates from updateinfo info (local time → UTC), the oldest advisory of a package counts', async () => {
    const r = await runLinuxCheck('os-patches', new ScriptedProbes(rhel9));
    const byName = Object.fromEntries((r.facts.pendingSecurityUpdates as { name: string; publishedAt: string | null }[]).map((u) => [u.name, u.publishedAt]));
    // openssl is named by RHSA-2024:4231 (2024-07-02) and RHSA-2024:4312 (2024-07-08): pending since the first.
    expect(byName).toEqual({ 'nghttp2-libs': '2024-06-03T05:05:10.000Z', openssl: '2024-07-02T01:20:00.000Z', 'openssl-libs': '2024-07-02T01:20:00.000Z', python3: '2024-07-08T23:00:00.000Z' });
    expect(r.facts).toMatchObject({ oldestPendingSecuritySince: '2024-06-03T05:05:10.000Z', oldestUndatedPendingSecuritySince: null });
  });
  test('dnf 4.0 layout (`Update ID : …`) is read the same; an advisory without a date is undated', () => {
    const dates = parseDnfAdvisoryDates(F('rhel80.dnf-updateinfo-info.txt'), 0);
    expect([...dates]).toEqual([['RLSA-2026:7015', '2026-09-15T09:00:00.000Z'], ['RLSA-2026:8120', '2026-10-30T18:30:00.000Z']]);
    expect(parseDnfAdvisoryDates('  Update ID: X-1\n       Type: security\n', 0).size).toBe(0);
  });
  test('dnf updateinfo info failing → the dates are unknown, never "undated" (which would count from now)', async () => {
    const r = await runLinuxCheck('os-patches', new ScriptedProbes({ ...rhel9, 'dnf.updateinfo-info': FAILURES.timeout! }));
    expect(r.facts.pendingSecurityUpdates).toHaveLength(4);
    expect(r.facts.oldestPendingSecuritySince).toBeUndefined();
    expect(r.unknownFacts.oldestUndatedPendingSecuritySince).toMatch(/dnf updateinfo info: PROBE_TIMEOUT/);
  });
  test('dnf check-update failing keeps the security advisories already read; only the total is unknown', async () => {
    const r = await runLinuxCheck('os-patches', new ScriptedProbes({ ...rhel9, 'dnf.check-update': { ok: false, failure: 'EXEC_FAILED', detail: 'exited 1: Cache-only enabled but no cache', exitCode: 1 } }));
    expect(r.facts.pendingSecurityUpdates).toHaveLength(4);
    expect(r.facts.oldestPendingSecuritySince).toBe('2024-06-03T05:05:10.000Z');
    expect(r.unknownFacts.pendingUpdatesTotal).toMatch(/^dnf check-update: EXEC_FAILED/);
  });
  test('apt-get failing (not absent) does not stop dnf from being tried', async () => {
    const r = await runLinuxCheck('os-patches', new ScriptedProbes({ ...rhel9, 'apt.simulate': { ok: false, failure: 'NOT_RECORDED', detail: 'no recording for probe apt.simulate' } }));
    expect(r.facts.pendingSecurityUpdates).toHaveLength(4);
    expect(r.facts.rebootRequired).toBe(false);
    const both = await runLinuxCheck('os-patches', new ScriptedProbes({ ...rhel9, 'apt.simulate': FAILURES.accessDenied!, 'dnf.updateinfo': FAILURES.timeout! }));
    expect(both.unknownFacts.pendingSecurityUpdates).toMatch(/^apt: ACCESS_DENIED.*; dnf: PROBE_TIMEOUT/);
  });
  test('apt: every pending security update is undated, pending since at least first seen', async () => {
    const r = await runLinuxCheck('os-patches', new ScriptedProbes(ubuntu));
    expect((r.facts.pendingSecurityUpdates as { publishedAt: unknown }[]).every((u) => u.publishedAt === null)).toBe(true);
    expect(r.facts).toMatchObject({ oldestPendingSecuritySince: null, oldestUndatedPendingSecuritySince: '2025-11-19T10:00:02.000Z' });
  });
  test('missing os-release and no package manager → unknown facts, status unknown only when nothing was read', async () => {
    const r = await runLinuxCheck('os-patches', new ScriptedProbes({}));
    expect(r.unknownFacts.osId).toMatch(/^NOT_FOUND/);
    expect(r.unknownFacts.pendingSecurityUpdates).toMatch(/^NOT_FOUND: \/usr\/bin\/apt-get も \/usr\/bin\/dnf もインストールされていません$/);
    expect(render(r.unknownMsgs!.pendingSecurityUpdates!, 'en')).toBe('not found (NOT_FOUND): neither /usr/bin/apt-get nor /usr/bin/dnf is installed');
  });
});

/**
 * The daemon's probes (mode live) with scripted answers; `apt.simulate` answers only when the
 * test releases it, as a slow simulation on a PC whose package cache is rebuilt.
 */
class SlowAptProbes extends ScriptedProbes {
  override readonly mode = 'live' as unknown as 'replay';
  private release: (outcome: ProbeOutcome) => void = () => undefined;
  private simulation = new Promise<ProbeOutcome>((r) => (this.release = r));
  simulations = 0;
  constructor(private readonly scripted: Record<string, Scripted>) {
    super(scripted);
  }
  /** Answer the simulation in flight with the scripted one (or `outcome`); the next one waits again. */
  finishSimulation(outcome?: ProbeOutcome): void {
    const scripted = this.scripted['apt.simulate'];
    this.release(outcome ?? (typeof scripted === 'string' ? { ok: true, stdout: scripted, exitCode: 0 } : scripted!));
    this.simulation = new Promise<ProbeOutcome>((r) => (this.release = r));
  }
  override async exec(key: string, file: string): Promise<ProbeOutcome> {
    if (key !== 'apt.simulate') return super.exec(key, file);
    this.simulations++;
    this.calls.push(key);
    return this.simulation;
  }
}

describe('os-patches Linux: the apt simulation in the background (daemon)', () => {
  const PENDING = ['pendingSecurityUpdates', 'pendingUpdatesTotal', 'oldestPendingSecuritySince', 'oldestUndatedPendingSecuritySince', 'updateSourceAgeHours'];
  const run = (probes: Probes, memory: MapMemory, again: Promise<unknown>[]) =>
    localCheck({ probes, checks: ['os-patches'], memory, checkParams: { 'os-patches': { aptWaitSeconds: 0 } }, runAgainAfter: (id, work) => (expect(id).toBe('os-patches'), again.push(work)) });

  test('a run does not wait: pending facts unknown (never pass) until the simulation ends, then the run it asked for has them', async () => {
    const probes = new SlowAptProbes({ ...ubuntu, 'dnf.updateinfo': '', 'dnf.check-update': '' });
    const memory = new MapMemory();
    const again: Promise<unknown>[] = [];
    const first = (await run(probes, memory, again)).checks[0]!;
    for (const fact of PENDING) expect(first.unknownFacts[fact], fact).toMatch(/^apt: APT_SIMULATION_RUNNING: /);
    expect(render(first.unknownMsgs!.pendingSecurityUpdates!, 'en')).toMatch(/apt simulation \(apt-get -s\) is running since .*runs again when it ends/);
    // What did not wait for apt is there.
    expect(first.facts).toMatchObject({ osId: 'ubuntu-24.04', rebootRequired: true });
    for (const rule of first.rules.filter((r) => r.ruleId === 'PATCH-001' || r.ruleId === 'PATCH-006')) expect(rule.result, rule.ruleId).toBe('unknown');
    expect(again).toHaveLength(1);
    // apt is there and manages this PC: dnf (installed beside it on some PCs) is not asked meanwhile.
    expect(probes.calls.filter((c) => c.startsWith('dnf.'))).toEqual([]);

    // A run meanwhile joins the simulation in flight instead of starting another.
    const meanwhile = (await run(probes, memory, again)).checks[0]!;
    expect(meanwhile.unknownFacts.pendingSecurityUpdates).toMatch(/^apt: APT_SIMULATION_RUNNING: /);
    expect(probes.simulations).toBe(1);

    probes.finishSimulation();
    await again[0];
    const rerun = (await run(probes, memory, again)).checks[0]!;
    expect(rerun.facts).toMatchObject({ pendingUpdatesTotal: 5, updateSourceAgeHours: 24 });
    expect((rerun.facts.pendingSecurityUpdates as { name: string }[]).map((u) => u.name)).toEqual(['libssl3t64', 'openssl', 'linux-image-6.8.0-49-generic']);
    expect(rerun.unknownFacts.pendingSecurityUpdates).toBeUndefined();
    expect(probes.simulations).toBe(1);
    expect(again).toHaveLength(2);
  });

  test('a simulation that fails late: the run after it reports the failure, and asks for no further run', async () => {
    const probes = new SlowAptProbes(ubuntu);
    const memory = new MapMemory();
    const again: Promise<unknown>[] = [];
    await run(probes, memory, again);
    probes.finishSimulation(FAILURES.timeout!);
    await again[0];
    const rerun = (await run(probes, memory, again)).checks[0]!;
    expect(rerun.unknownFacts.pendingSecurityUpdates).toMatch(/^apt: PROBE_TIMEOUT: /);
    expect(again).toHaveLength(1);
    // The next scheduled run simulates again.
    await run(probes, memory, again);
    expect(probes.simulations).toBe(2);
  });

  test('a result is not used when the package lists changed while it ran; an unchanged one is reused from memory', async () => {
    const inputs = { 'apt.inputs.list': dir(['deb.debian.org_debian_dists_bookworm_InRelease']), 'apt.inputs.stat': '/var/lib/dpkg/status 1700000000 100\n' };
    const scripted: Record<string, Scripted> = { ...ubuntu, ...inputs };
    const probes = new SlowAptProbes(scripted);
    const memory = new MapMemory();
    const again: Promise<unknown>[] = [];
    await run(probes, memory, again);
    probes.finishSimulation();
    await again[0];
    scripted['apt.inputs.stat'] = '/var/lib/dpkg/status 1700000500 120\n';
    const changed = (await run(probes, memory, again)).checks[0]!;
    expect(changed.unknownFacts.pendingSecurityUpdates).toMatch(/^apt: APT_SIMULATION_RUNNING: /);
    expect(probes.simulations).toBe(2);
    probes.finishSimulation();
    await again[1];
    expect((await run(probes, memory, again)).checks[0]!.facts.pendingUpdatesTotal).toBe(5);
    expect((await run(probes, memory, again)).checks[0]!.facts.pendingUpdatesTotal).toBe(5);
    expect(probes.simulations).toBe(2);
  });

  test('a one-shot check (no wait given) waits for the simulation', async () => {
    const probes = new SlowAptProbes(ubuntu);
    const report = localCheck({ probes, checks: ['os-patches'], memory: new MapMemory() });
    await new Promise((r) => setImmediate(r));
    probes.finishSimulation();
    expect((await report).checks[0]!.facts.pendingUpdatesTotal).toBe(5);
  });
});
