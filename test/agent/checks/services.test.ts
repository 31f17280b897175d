/**
 * services check: services and features the baseline forbids, listening sockets outside the baseline —
 * through the recordings in test/fixtures/replay (READMEs there for provenance), the real ss of this
 * machine, and failed parts.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKS } from '../../../agent/checks/registry.js';
import { isLoopback, parseSs, parseUnits, splitAddress } from '../../../agent/checks/services/linux-parse.js';
import { servicesFacts } from '../../../agent/checks/services/windows-parse.js';
import { SERVICES_SCRIPT } from '../../../agent/checks/services/windows-script.js';
import { localCheck } from '../../../agent/local-check.js';
import { InMemoryCheckMemory } from '../../../agent/memory.js';
import { LiveProbes } from '../../../agent/probes/live.js';
import { ReplayProbes } from '../../../agent/probes/replay.js';
import { runLinuxCheck } from '../../helpers/linux-context.js';

const ROOT = join(import.meta.dirname, '../../fixtures/replay');
const def = CHECKS.find((c) => c.id === 'services')!;

async function collect(recording: string) {
  const probes = new ReplayProbes(join(ROOT, recording));
  const collector = await def.platforms[probes.platform]!();
  return collector({ probes, params: { ...def.params }, memory: { get: () => undefined, set() {} }, log: { debug() {}, warn() {} } }) as Promise<{ status: string; facts: Record<string, unknown>; unknownFacts: Record<string, string> }>;
}
async function rules(recording: string) {
  const r = await localCheck({ replayDir: join(ROOT, recording), checks: ['services'], memory: new InMemoryCheckMemory() });
  return Object.fromEntries(r.checks.flatMap((c) => c.rules.map((x) => [x.ruleId, x])));
}
async function verdicts(recording: string): Promise<Record<string, string>> {
  return Object.fromEntries(Object.entries(await rules(recording)).map(([id, r]) => [id, r.result]));
}

describe('services parsers', () => {
  it('ss addresses: IPv4 with interface, IPv6 in brackets, wildcard', () => {
    expect(splitAddress('127.0.0.53%lo:53')).toEqual({ address: '127.0.0.53%lo', port: 53 });
    expect(splitAddress('[::]:22')).toEqual({ address: '[::]', port: 22 });
    expect(splitAddress('*:21')).toEqual({ address: '*', port: 21 });
    expect(isLoopback('[::1]')).toBe(true);
    expect(isLoopback('0.0.0.0%lo')).toBe(true);
    expect(isLoopback('0.0.0.0%wlp0s20f3')).toBe(false);
    expect(isLoopback('[::]')).toBe(false);
  });
  it('ss without a header, a socket without its process, and text that is not ss output', () => {
    const r = parseSs('tcp LISTEN 0 128 0.0.0.0:2024 0.0.0.0:*\nudp UNCONN 0 0 0.0.0.0:68 0.0.0.0:* users:(("dhclient",pid=5,fd=6))\n');
    expect(r).toEqual({ unnamed: ['0.0.0.0:2024/tcp'], listeners: [{ proto: 'udp', address: '0.0.0.0', port: 68, process: 'dhclient', loopbackOnly: false }] });
    expect(parseSs('Cannot open netlink socket: Protocol not supported\n')).toBeNull();
  });
  it('systemctl list-units --plain, with an old "●" mark', () => {
    expect(parseUnits('● telnet.socket loaded active listening Telnet Server Activation Socket\nsshd.service loaded active running OpenSSH\n')).toEqual([
      { name: 'telnet.socket', state: 'listening', startMode: null },
      { name: 'sshd.service', state: 'running', startMode: null },
    ]);
  });
});

describe('services on Windows recordings (service key names and FeatureName, Japanese and English)', () => {
  it('Japanese GPO PC: nothing denied runs, SMB1 is not enabled', async () => {
    expect(await verdicts('windows/w11-24h2-ent-ja-gpo')).toEqual({ 'SVC-001': 'pass', 'SVC-002': 'pass', 'SVC-003': 'not_applicable' });
  });
  it('Japanese kiosk: RemoteRegistry starts automatically, the SMB 1.0/CIFS client is on', async () => {
    const r = await rules('windows/w10-ltsc2021-ja-kiosk');
    expect(r['SVC-001']!.result).toBe('fail');
    expect(r['SVC-001']!.subjects.filter((s) => s.result === 'fail').map((s) => s.subject)).toEqual(['RemoteRegistry']);
    expect(r['SVC-002']!.subjects.filter((s) => s.result === 'fail').map((s) => s.subject)).toEqual(['SMB1Protocol', 'SMB1Protocol-Client', 'SMB1Protocol-Deprecation']);
  });
  it('English PC: a stopped but automatic RemoteRegistry and the Telnet client fail', async () => {
    expect(await verdicts('windows/w11-23h2-ent-en-trellix')).toEqual({ 'SVC-001': 'fail', 'SVC-002': 'fail', 'SVC-003': 'not_applicable' });
  });
  it('a failed DISM query leaves the features unknown, the services known', () => {
    const r = servicesFacts({ schema: 'mamori.win.services/1', services: [{ name: 'Dhcp', state: 'Running', startMode: 'Auto' }], features: null, errors: [{ part: 'features', message: 'Class not registered' }] });
    expect(r.unknownFacts.enabledFeatures).toBe('SCRIPT_ERROR: features: Class not registered');
    expect(r.facts.runningServices).toHaveLength(1);
  });
  it('the script prints key names, not display names', () => {
    expect(SERVICES_SCRIPT).toContain('[string]$s.Name');
    expect(SERVICES_SCRIPT).not.toContain('DisplayName');
  });
});

describe('services on Linux recordings', () => {
  it('Ubuntu 24.04: everything but the DHCP client on loopback', async () => {
    expect(await verdicts('linux/ubuntu2404-gnome-clamav')).toEqual({ 'SVC-001': 'pass', 'SVC-002': 'not_applicable', 'SVC-003': 'pass' });
  });
  it('Xubuntu 22.04: vsftpd runs and listens on every address, avahi answers mDNS', async () => {
    const r = await rules('linux/ubuntu2204-xfce-noav');
    expect(r['SVC-001']!.subjects.filter((s) => s.result === 'fail').map((s) => s.subject)).toEqual(['vsftpd.service']);
    expect([...new Set(r['SVC-003']!.subjects.filter((s) => s.result === 'fail').map((s) => s.subject))]).toEqual(['avahi-daemon', 'vsftpd']);
  });
  it('RHEL 9: sshd on every address is outside the default baseline; a site that allows it passes', async () => {
    expect((await verdicts('linux/rhel9-kde-mdatp'))['SVC-003']).toBe('fail');
    const allowed = await localCheck({ replayDir: join(ROOT, 'linux/rhel9-kde-mdatp'), checks: ['services'], memory: new InMemoryCheckMemory(), policy: { lists: { allowedListeners: ['sshd', 'chronyd'] } } });
    expect(allowed.checks[0]!.rules.find((x) => x.ruleId === 'SVC-003')!.result).toBe('pass');
  });
  it('this Debian 12 machine (real): no systemd, and a socket whose process ss does not show keeps SVC-003 from passing', async () => {
    const r = await collect('linux/debian12-this-machine');
    expect(r.unknownFacts.runningServices).toMatch(/EXEC_FAILED/);
    expect(r.unknownFacts.listeners).toMatch(/^PROCESS_UNKNOWN: .*0\.0\.0\.0:2024\/tcp/);
    expect(await verdicts('linux/debian12-this-machine')).toEqual({ 'SVC-001': 'unknown', 'SVC-002': 'not_applicable', 'SVC-003': 'unknown' });
  });
  it('the real ss of this machine parses by structure', async () => {
    const live = await runLinuxCheck('services', new LiveProbes());
    expect(Array.isArray(live.facts.listeners)).toBe(true);
    expect((live.facts.listeners as { port: number }[]).length).toBeGreaterThan(0);
  });
});
