/** Whole-machine recordings replayed through the six Linux collectors. */
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CHECKS } from '../../../agent/checks/registry.js';
import { MapMemory, replayLinuxCheck } from '../../helpers/linux-context.js';
import { localCheck } from '../../../agent/local-check.js';

const machine = (name: string): string => join(import.meta.dirname, '../../fixtures/replay/linux', name);

/** Every fact a collector returns must satisfy the check's schema. */
async function replayAll(name: string, memory = new MapMemory()): Promise<Record<string, Awaited<ReturnType<typeof replayLinuxCheck>>>> {
  const out: Record<string, Awaited<ReturnType<typeof replayLinuxCheck>>> = {};
  for (const def of CHECKS) {
    const r = await replayLinuxCheck(def.id, machine(name), {}, memory);
    def.facts.partial().parse(r.facts);
    // A fact both read and unknown can only be a list read in part.
    for (const k of Object.keys(r.unknownFacts)) if (k in r.facts) expect(Array.isArray(r.facts[k])).toBe(true);
    out[def.id] = r;
  }
  return out;
}

describe('replay: Ubuntu 24.04 GNOME with locked dconf keys and ClamAV', () => {
  test('facts', async () => {
    const r = await replayAll('ubuntu2404-gnome-clamav');
    expect(r['screen-lock']!.facts.sessions).toEqual([{ user: 'tanaka', desktop: 'gnome', lockEnabled: true, idleToLockSeconds: 300, enforced: true, source: 'gsettings (dconf lock: idle-delay,lock-enabled,lock-delay,disable-lock-screen)' }]);
    expect(r.antivirus!.facts).toMatchObject({ installed: true, primaryProduct: 'ClamAV 1.0.7', running: true, realTimeProtection: true, signatureUpdatedAt: '2025-11-19T10:10:02.000Z', lastFullScanAt: null });
    expect(r['os-patches']!.facts).toMatchObject({ osId: 'ubuntu-24.04', pendingUpdatesTotal: 5, rebootRequired: true, updateSourceAgeHours: 28, lastSuccessfulUpdateAt: '2025-11-12T03:30:09.000Z' });
    expect((r['os-patches']!.facts.pendingSecurityUpdates as { name: string }[]).map((u) => u.name)).toEqual(['libssl3t64', 'openssl', 'linux-image-6.8.0-49-generic']);
    expect(r.beyond!.facts).toMatchObject({ firewallEnabled: true, firewallFrontend: 'ufw', systemDiskEncrypted: true, encryptionMethod: 'luks2', clockSynchronized: true });
    expect(r['usb-media']!.facts).toMatchObject({ exportBlocked: false, enforcement: 'audit' });
    expect(r['usb-media']!.facts.devices).toEqual([
      expect.objectContaining({ fingerprint: '0951:1666:E0D55EA573DCF450E97C0F9A', location: '3-2', mountPoints: ['/media/tanaka/KINGSTON USB'], sizeBytes: 60555264 * 512, readOnly: false }),
    ]);
    const pkgs = r.software!.facts.packages as { name: string; source: string }[];
    expect(pkgs.filter((p) => p.source === 'snap')).toHaveLength(7);
    expect((r.software!.facts.processes as { name: string; user: string }[]).find((p) => p.name === 'firefox')?.user).toBe('tanaka');
  });
});

describe('replay: RHEL 9 KDE with Microsoft Defender for Endpoint', () => {
  test('facts', async () => {
    const r = await replayAll('rhel9-kde-mdatp');
    expect(r['screen-lock']!.facts.sessions).toEqual([{ user: 'sato', desktop: 'kde', lockEnabled: true, idleToLockSeconds: 600, enforced: true, source: 'kscreenlockerrc [Daemon] ([$i]: Autolock,Timeout,Lock,LockGrace)' }]);
    expect(r.antivirus!.facts).toMatchObject({ installed: true, primaryProduct: 'Microsoft Defender for Endpoint', running: true, realTimeProtection: true, productExpired: false, tamperProtected: true });
    expect(r['os-patches']!.facts).toMatchObject({ osId: 'rhel-9', pendingUpdatesTotal: 5, rebootRequired: false, updateSourceAgeHours: 7.3 });
    expect((r['os-patches']!.facts.pendingSecurityUpdates as unknown[]).length).toBe(4);
    expect(r.beyond!.facts).toMatchObject({ firewallEnabled: true, firewallFrontend: 'firewalld', systemDiskEncrypted: false, encryptionMethod: null, clockSynchronized: true, timeSource: 'chrony 169.254.169.123' });
    expect(r['usb-media']!.facts).toMatchObject({ devices: [], exportBlocked: true, exportBlockMechanism: 'usbguard: block with-interface 08:*:*' });
    expect((r.software!.facts.packages as { source: string }[]).map((p) => p.source)).toEqual(['rpm', 'rpm', 'rpm', 'rpm', 'flatpak']);
  });
});

describe('replay: Ubuntu 22.04 Xfce without anti-malware, pending security updates', () => {
  test('facts', async () => {
    const r = await replayAll('ubuntu2204-xfce-noav');
    expect(r['screen-lock']!.facts.sessions).toEqual([{ user: 'suzuki', desktop: 'xfce', lockEnabled: true, idleToLockSeconds: 660, enforced: false, source: 'xfce4-screensaver xfconf' }]);
    expect(r.antivirus!.facts).toMatchObject({ installed: false, products: [], running: false });
    expect(r['os-patches']!.facts).toMatchObject({ osId: 'ubuntu-22.04', pendingUpdatesTotal: 2, rebootRequired: false, oldestPendingSecuritySince: null, oldestUndatedPendingSecuritySince: '2025-11-19T10:00:02.000Z' });
    expect((r['os-patches']!.facts.pendingSecurityUpdates as { name: string }[]).map((u) => u.name)).toEqual(['libc6', 'openssh-client']);
    expect(r['os-patches']!.unknownFacts.lastSuccessfulUpdateAt).toMatch(/history\.log\.1\.gz/);
    expect((r.software!.facts.packages as { name: string }[]).map((p) => p.name)).toEqual(['xfce4-session', 'openssh-client', 'libc6', 'core20', 'snapd']);
    expect(r.beyond!.facts).toMatchObject({ firewallEnabled: false, firewallFrontend: 'ufw', systemDiskEncrypted: false, clockSynchronized: false, timeSource: null });
  });
});

describe('replay: this Debian 12 machine (real recording)', () => {
  test('facts', async () => {
    const r = await replayAll('debian12-this-machine');
    expect(r['os-patches']!.facts).toMatchObject({ osId: 'debian-12', osName: 'Debian GNU/Linux 12 (bookworm)', osEndOfSupport: expect.stringMatching(/^20\d\d-/) });
    expect(r['screen-lock']!.status).toBe('unknown'); // no systemd-logind here
    expect(r['screen-lock']!.reason).toMatch(/systemd/);
    expect(r['usb-media']!.facts).toMatchObject({ devices: [] }); // no USB bus in this VM
    expect(r.antivirus!.facts).toMatchObject({ installed: true, running: false, signatureUpdatedAt: null });
    expect((r.software!.facts.packages as { name: string }[]).some((p) => p.name === 'clamav')).toBe(true);
    expect(r.beyond!.unknownFacts.clockSynchronized).toMatch(/timedatectl/);
  });
});

/** The oldest supported releases: every command in the shape their tool versions print (README.md there). */
describe('replay: oldest supported releases', () => {
  test('Debian 11: util-linux 2.36 lsblk without MOUNTPOINTS, bullseye-security, ClamAV 0.103', async () => {
    const r = await replayAll('debian11-gnome-clamav');
    expect(r.beyond!.facts).toMatchObject({ systemDiskEncrypted: true, encryptionMethod: 'luks2' });
    expect(r.antivirus!.facts).toMatchObject({ installed: true, primaryProduct: 'ClamAV 0.103.12', running: true, realTimeProtection: true });
    expect(r['os-patches']!.facts).toMatchObject({ osId: 'debian-11', pendingUpdatesTotal: 3, rebootRequired: false, oldestPendingSecuritySince: null, oldestUndatedPendingSecuritySince: '2025-11-19T10:00:02.000Z' });
    expect((r['os-patches']!.facts.pendingSecurityUpdates as { name: string }[]).map((u) => u.name)).toEqual(['libssl1.1', 'openssl']);
    expect(r['screen-lock']!.facts.sessions).toEqual([expect.objectContaining({ user: 'tanaka', desktop: 'gnome', idleToLockSeconds: 300 })]);
  });

  test('Ubuntu 20.04: util-linux 2.34 lsblk, focal-security behind focal-updates, newer kernel installed', async () => {
    const r = await replayAll('ubuntu2004-xfce-noav');
    expect(r.beyond!.facts).toMatchObject({ systemDiskEncrypted: false, encryptionMethod: null });
    expect(r['os-patches']!.facts).toMatchObject({ osId: 'ubuntu-20.04', osSupported: false, pendingUpdatesTotal: 2, rebootRequired: true });
    expect((r['os-patches']!.facts.pendingSecurityUpdates as { name: string; publishedAt: null }[]).map((u) => [u.name, u.publishedAt])).toEqual([['libssl1.1', null], ['openssl', null]]);
    expect((r.software!.facts.packages as { name: string; source: string }[]).filter((p) => p.source === 'snap').map((p) => p.name)).toContain('snap-store');
    expect(r['screen-lock']!.facts.sessions).toEqual([expect.objectContaining({ user: 'suzuki', desktop: 'xfce' })]);
  });

  test('Rocky 8: util-linux 2.32 lsblk (no PATH, string JSON), dnf 4 advisory dates, mdatp camelCase JSON', async () => {
    const r = await replayAll('rocky8-kde-firewalld');
    expect(r.beyond!.facts).toMatchObject({ systemDiskEncrypted: false, firewallEnabled: true, firewallFrontend: 'firewalld', clockSynchronized: true });
    expect(r['os-patches']!.facts).toMatchObject({ osId: 'rocky-8', pendingUpdatesTotal: 3, rebootRequired: false, oldestPendingSecuritySince: '2025-05-20T03:02:11.000Z', oldestUndatedPendingSecuritySince: null });
    expect(r.antivirus!.facts).toMatchObject({ primaryProduct: 'Microsoft Defender for Endpoint', realTimeProtection: true, tamperProtected: true, signatureUpdatedAt: '2025-11-19T08:25:02.000Z' });
    expect((r.software!.facts.packages as { name: string }[]).map((p) => p.name)).toContain('plasma-workspace');
  });

  test('verdicts through localCheck', async () => {
    const verdicts = async (name: string) => {
      const rep = await localCheck({ replayDir: machine(name), segment: 'mynumber' });
      return Object.fromEntries(rep.checks.flatMap((c) => c.rules.map((x) => [x.ruleId, x.result])));
    };
    // An apt security update seen for the first time is not yet late; a dnf one published six months ago is.
    expect(await verdicts('debian11-gnome-clamav')).toMatchObject({ 'PATCH-001': 'pass', 'ENC-001': 'pass', 'AV-001': 'pass', 'AV-004': 'pass' });
    expect(await verdicts('ubuntu2004-xfce-noav')).toMatchObject({ 'PATCH-001': 'pass', 'PATCH-002': 'fail', 'PATCH-003': 'fail', 'AV-001': 'fail', 'ENC-001': 'fail' });
    expect(await verdicts('rocky8-kde-firewalld')).toMatchObject({ 'PATCH-001': 'fail', 'AV-002': 'pass', 'AV-003': 'pass', 'ENC-001': 'fail', 'NET-001': 'pass' });
  });
});
