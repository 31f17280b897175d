import { describe, expect, test } from 'vitest';
import { parseLsblk } from '../../../agent/checks/beyond/linux-lsblk.js';
import { cryptMethodFromDmUuid, nftBlocksInbound, parseChronyTracking, parseNftInputChains, parseTimedatectl, parseUfwConf, parseUfwStatus, rootEncryption } from '../../../agent/checks/beyond/linux-parse.js';
import { BeyondFacts } from '../../../agent/checks/beyond/facts.js';
import { runLinuxCheck } from '../../helpers/linux-context.js';
import { FAILURES, ScriptedProbes, fixture, fixtureJson } from '../../helpers/linux-probes.js';

const F = (n: string): string => fixture('beyond', n);

describe('beyond Linux parsers', () => {
  test.each(['ubuntu2404-lvm-luks', 'rhel8-plain', 'container'])('lsblk tree → root encryption: %s', (c) => {
    expect(rootEncryption(parseLsblk(F(`${c}.lsblk.json`))!)).toEqual(fixtureJson('beyond', `${c}.facts.json`));
  });
  test('old lsblk strings are normalised', () => {
    const root = parseLsblk(F('rhel8-plain.lsblk.json'))![0]!;
    expect(root).toMatchObject({ removable: false, readOnly: false, sizeBytes: 107374182400 });
    expect(root.children[1]!.children[1]!.mountpoints).toEqual(['[SWAP]']);
    expect(parseLsblk('lsblk: unknown column')).toBeNull();
  });
  test.each(['rhel9-firewalld', 'docker-only'])('nft -j input chains: %s', (c) => {
    const chains = parseNftInputChains(F(`${c}.nft.json`))!;
    expect({ chains, blocksInbound: nftBlocksInbound(chains) }).toEqual(fixtureJson('beyond', `${c}.facts.json`));
  });
  test.each(['ubuntu2204-ufw', 'inactive'])('ufw status verbose: %s', (c) => {
    expect(parseUfwStatus(F(`${c}.ufw-status.txt`))).toEqual(fixtureJson('beyond', `${c}.facts.json`));
  });
  test('ufw.conf, dm uuid, timedatectl show, chronyc', () => {
    expect(parseUfwConf('# comment\nENABLED=yes\nLOGLEVEL=low\n')).toBe(true);
    expect(parseUfwConf('ENABLED="no"\n')).toBe(false);
    expect(cryptMethodFromDmUuid('CRYPT-LUKS2-8f3c0b3e6d5a4b2c9e1f0a7b6c5d4e3f-dm_crypt-0\n')).toBe('luks2');
    expect(parseTimedatectl(F('ubuntu2404.timedatectl.txt'))).toEqual(fixtureJson('beyond', 'ubuntu2404.facts.json'));
    expect(parseTimedatectl('Local time: Wed\nSystem clock synchronized: yes\n')).toBeNull();
    expect(parseChronyTracking(F('rhel9.chronyc-tracking.csv'))).toEqual(fixtureJson('beyond', 'rhel9.facts.json'));
    expect(parseChronyTracking(F('unsynced.chronyc-tracking.csv'))).toEqual(fixtureJson('beyond', 'unsynced.facts.json'));
  });
});

const luksDesktop = {
  'ufw.conf': 'ENABLED=yes\n',
  'ufw.status': F('ubuntu2204-ufw.ufw-status.txt'),
  'lsblk.tree': F('ubuntu2404-lvm-luks.lsblk.json'),
  'dm.uuid': 'CRYPT-LUKS2-8f3c0b3e6d5a4b2c9e1f0a7b6c5d4e3f-dm_crypt-0\n',
  'timedatectl.show': F('ubuntu2404.timedatectl.txt'),
  'timedatectl.timesync-server': 'ntp.nict.jp\n',
};

describe('beyond Linux collector', () => {
  test('ufw active, LUKS2 under LVM, timesyncd synchronised', async () => {
    const r = await runLinuxCheck('beyond', new ScriptedProbes(luksDesktop));
    expect(BeyondFacts.parse(r.facts)).toBeTruthy();
    expect(r.facts).toMatchObject({ firewallEnabled: true, firewallFrontend: 'ufw', systemDiskEncrypted: true, encryptionMethod: 'luks2', clockSynchronized: true, timeSource: 'systemd-timesyncd ntp.nict.jp' });
  });
  test('ufw.conf ENABLED=yes but ufw status refused (non-root) → firewall unknown, not enabled', async () => {
    const r = await runLinuxCheck('beyond', new ScriptedProbes({ ...luksDesktop, 'ufw.status': { ok: false, failure: 'EXEC_FAILED', detail: 'ERROR: You need to be root to run this script', exitCode: 1 } }));
    expect(r.facts.firewallEnabled).toBeUndefined();
    expect(r.unknownFacts.firewallEnabled).toMatch(/ENABLED=yes/);
  });
  test('Docker tables only → firewall off', async () => {
    const r = await runLinuxCheck('beyond', new ScriptedProbes({ ...luksDesktop, 'ufw.conf': FAILURES.missing!, 'ufw.status': FAILURES.missing!, 'nft.ruleset': F('docker-only.nft.json') }));
    expect(r.facts).toMatchObject({ firewallEnabled: false, firewallFrontend: null });
  });
  test('firewalld polkit refusal → unknown; firewalld running → enabled', async () => {
    const base = { ...luksDesktop, 'ufw.conf': FAILURES.missing!, 'ufw.status': FAILURES.missing! };
    const refused = await runLinuxCheck('beyond', new ScriptedProbes({ ...base, 'firewalld.state': { ok: false, failure: 'EXEC_FAILED', detail: 'Authorization failed.', exitCode: 1 } }));
    expect(refused.unknownFacts.firewallEnabled).toMatch(/Authorization failed/);
    const running = await runLinuxCheck('beyond', new ScriptedProbes({ ...base, 'firewalld.state': 'running\n', 'nft.ruleset': F('rhel9-firewalld.nft.json') }));
    expect(running.facts).toMatchObject({ firewallEnabled: true, firewallFrontend: 'firewalld' });
  });
  test('old util-linux: MOUNTPOINTS unknown → retried with MOUNTPOINT', async () => {
    const r = await runLinuxCheck('beyond', new ScriptedProbes({ ...luksDesktop, 'lsblk.tree': { ok: false, failure: 'EXEC_FAILED', detail: '/usr/bin/lsblk exited 1: lsblk: unknown column: MOUNTPOINTS', exitCode: 1 }, 'lsblk.tree-old': F('rhel8-plain.lsblk.json') }));
    expect(r.facts).toMatchObject({ systemDiskEncrypted: false, encryptionMethod: null });
  });
  test.each([
    ['empty', FAILURES.empty!],
    ['garbled', FAILURES.garbled!],
    ['accessDenied', FAILURES.accessDenied!],
    ['timeout', FAILURES.timeout!],
    ['missing', FAILURES.missing!],
  ])('lsblk %s → encryption unknown', async (_n, outcome) => {
    const r = await runLinuxCheck('beyond', new ScriptedProbes({ ...luksDesktop, 'lsblk.tree': outcome }));
    expect(r.facts.systemDiskEncrypted).toBeUndefined();
    expect(r.unknownFacts.systemDiskEncrypted).toBeTruthy();
  });
  test('root on overlay (container) → encryption unknown with the reason', async () => {
    const r = await runLinuxCheck('beyond', new ScriptedProbes({ ...luksDesktop, 'lsblk.tree': F('container.lsblk.json') }));
    expect(r.unknownFacts.systemDiskEncrypted).toMatch(/^NOT_A_BLOCK_DEVICE/);
  });
  test('no timedatectl (no systemd) → chrony decides; neither → unknown', async () => {
    const chrony = await runLinuxCheck('beyond', new ScriptedProbes({ ...luksDesktop, 'timedatectl.show': FAILURES.missing!, 'chronyc.tracking': F('unsynced.chronyc-tracking.csv') }));
    expect(chrony.facts).toMatchObject({ clockSynchronized: false, timeSource: null });
    const none = await runLinuxCheck('beyond', new ScriptedProbes({ ...luksDesktop, 'timedatectl.show': FAILURES.timeout! }));
    expect(none.unknownFacts.clockSynchronized).toMatch(/PROBE_TIMEOUT/);
  });
});
