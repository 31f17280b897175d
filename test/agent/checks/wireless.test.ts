/**
 * wireless check: Wi-Fi adapters on マイナンバー利用事務系 PCs and the networks connected elsewhere —
 * through the recordings in test/fixtures/replay (READMEs there for provenance) and failed parts.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKS } from '../../../agent/checks/registry.js';
import { terseFields, terseProperties } from '../../../agent/checks/wireless/linux.js';
import { wirelessFacts } from '../../../agent/checks/wireless/windows-parse.js';
import { WIRELESS_SCRIPT } from '../../../agent/checks/wireless/windows-script.js';
import { localCheck } from '../../../agent/local-check.js';
import { InMemoryCheckMemory } from '../../../agent/memory.js';
import { ReplayProbes } from '../../../agent/probes/replay.js';
import type { Segment } from '../../../src/shared/protocol/messages.js';
import { runLinuxCheck } from '../../helpers/linux-context.js';
import { ScriptedProbes } from '../../helpers/linux-probes.js';

const ROOT = join(import.meta.dirname, '../../fixtures/replay');
const def = CHECKS.find((c) => c.id === 'wireless')!;

async function collect(recording: string) {
  const probes = new ReplayProbes(join(ROOT, recording));
  const collector = await def.platforms[probes.platform]!();
  return collector({ probes, params: { ...def.params }, memory: { get: () => undefined, set() {} }, log: { debug() {}, warn() {} } }) as Promise<{ status: string; facts: Record<string, unknown>; unknownFacts: Record<string, string>; reason?: string }>;
}
async function verdicts(recording: string, segment: Segment): Promise<Record<string, string>> {
  const r = await localCheck({ replayDir: join(ROOT, recording), checks: ['wireless'], memory: new InMemoryCheckMemory(), segment });
  return Object.fromEntries(r.checks.flatMap((c) => c.rules.map((x) => [x.ruleId, x.result])));
}

describe('nmcli terse output', () => {
  it('escaped colons stay in the value', () => {
    expect(terseFields('Büro\\:WLAN:uuid-1:802-11-wireless:wlan0')).toEqual(['Büro:WLAN', 'uuid-1', '802-11-wireless', 'wlan0']);
    expect(terseProperties('802-11-wireless.ssid:A\\:B\n802-11-wireless-security.key-mgmt:\n')).toEqual(new Map([['802-11-wireless.ssid', 'A:B'], ['802-11-wireless-security.key-mgmt', '']]));
  });
});

describe('wireless on Windows recordings (MSFT_NetAdapter numbers and WLAN profile XML, Japanese and English)', () => {
  it('Japanese desktop without Wi-Fi: nothing to report in any segment', async () => {
    expect((await collect('windows/w11-24h2-ent-ja-gpo')).facts).toEqual({ wifiAdapters: [], wifiConnections: [] });
    expect(await verdicts('windows/w11-24h2-ent-ja-gpo', 'mynumber')).toEqual({ 'WIFI-001': 'pass', 'WIFI-002': 'pass' });
  });
  it('Japanese kiosk on a guest network with a pre-shared key: both rules fail in the マイナンバー利用事務系', async () => {
    expect((await collect('windows/w10-ltsc2021-ja-kiosk')).facts.wifiConnections).toEqual([{ ssid: 'CITY-GUEST', security: 'WPA2PSK', enterprise: false }]);
    expect(await verdicts('windows/w10-ltsc2021-ja-kiosk', 'mynumber')).toEqual({ 'WIFI-001': 'fail', 'WIFI-002': 'fail' });
  });
  it('English notebook with WPA2-Enterprise: allowed in the LGWAN接続系, a violation in the マイナンバー利用事務系', async () => {
    expect(await verdicts('windows/w11-23h2-ent-en-trellix', 'lgwan')).toEqual({ 'WIFI-001': 'not_applicable', 'WIFI-002': 'pass' });
    expect((await verdicts('windows/w11-23h2-ent-en-trellix', 'mynumber'))['WIFI-001']).toBe('fail');
  });
  it('a disabled adapter passes WIFI-001', async () => {
    expect((await collect('windows/w11-24h2-pro-ja-entra')).facts.wifiAdapters).toEqual([{ name: 'Wi-Fi', enabled: false, connected: false }]);
    expect((await verdicts('windows/w11-24h2-pro-ja-entra', 'mynumber'))['WIFI-001']).toBe('pass');
  });
  it('profiles that cannot be exported leave the connections unknown; a renamed network profile is matched', () => {
    const a = { Name: 'Wi-Fi', InterfaceIndex: 5, State: 2, InterfaceAdminStatus: 1, MediaConnectState: 1 };
    const failed = wirelessFacts({ schema: 'mamori.win.wireless/1', adapters: [a], connectedProfiles: ['X'], wlanProfiles: null, errors: [{ part: 'wlan-profiles', message: 'netsh wlan export profile exited with code 1' }] });
    expect(failed.unknownFacts.wifiConnections).toMatch(/^SCRIPT_ERROR: wlan-profiles/);
    const renamed = wirelessFacts({ schema: 'mamori.win.wireless/1', adapters: [a], connectedProfiles: ['CITY-LGWAN 2'], wlanProfiles: [{ name: 'CITY-LGWAN', ssid: 'CITY-LGWAN', authentication: 'WPA3ENT192' }], errors: [] });
    expect(renamed.facts.wifiConnections).toEqual([{ ssid: 'CITY-LGWAN', security: 'WPA3ENT192', enterprise: true }]);
  });
  it('the script never reads netsh\'s localised text', () => {
    expect(WIRELESS_SCRIPT).not.toMatch(/show interfaces/);
    expect(WIRELESS_SCRIPT).toContain('NdisPhysicalMedium -eq 9');
  });
});

describe('wireless on Linux recordings', () => {
  it('Ubuntu 24.04 notebook on WPA2-Enterprise (wpa-eap); the Wi-Fi Direct device is not an adapter', async () => {
    expect((await collect('linux/ubuntu2404-gnome-clamav')).facts).toEqual({ wifiAdapters: [{ name: 'wlp0s20f3', enabled: true, connected: true }], wifiConnections: [{ ssid: 'CITY-LGWAN', security: 'wpa-eap', enterprise: true }] });
    expect(await verdicts('linux/ubuntu2404-gnome-clamav', 'lgwan')).toEqual({ 'WIFI-001': 'not_applicable', 'WIFI-002': 'pass' });
  });
  it('Xubuntu 22.04 on a home router with a pre-shared key', async () => {
    expect(await verdicts('linux/ubuntu2204-xfce-noav', 'internet')).toEqual({ 'WIFI-001': 'not_applicable', 'WIFI-002': 'fail' });
  });
  it('RHEL 9 wired desktop', async () => {
    expect(await verdicts('linux/rhel9-kde-mdatp', 'mynumber')).toEqual({ 'WIFI-001': 'pass', 'WIFI-002': 'pass' });
  });
  it('this Debian 12 machine (real): no nmcli, and /sys/class/net shows no wireless interface', async () => {
    expect((await collect('linux/debian12-this-machine')).facts).toEqual({ wifiAdapters: [], wifiConnections: [] });
  });
  it('no nmcli but a wireless interface in sysfs: unknown, not pass', async () => {
    const r = await runLinuxCheck('wireless', new ScriptedProbes({ 'net.interfaces': '["lo","wlan0"]', 'net.wlan0.wireless': '[]' }));
    expect(r.status).toBe('unknown');
    expect(r.reason).toMatch(/^NOT_FOUND: NetworkManager .*wlan0/);
  });
});
