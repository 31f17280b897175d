/**
 * The inventory check: Linux collected live through systeminformation, recorded and replayed;
 * Windows from recordings of the inventory script; hardware changes between runs; the rules
 * that flag them.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { LiveProbes } from '../../../agent/probes/live.js';
import { RecordingProbes, ReplayProbes } from '../../../agent/probes/replay.js';
import { localCheck } from '../../../agent/local-check.js';
import { InMemoryCheckMemory } from '../../../agent/memory.js';
import { InventoryFacts } from '../../../agent/checks/inventory/facts.js';
import { diffBaselines, trackChanges } from '../../../agent/checks/inventory/changes.js';
import { runLinuxCheck, MapMemory } from '../../helpers/linux-context.js';

const FIXTURES = join(import.meta.dirname, '../../../agent/checks/inventory/fixtures');
const tmp = mkdtempSync(join(tmpdir(), 'mamori-inventory-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function inventoryOf(dir: string, memory = new InMemoryCheckMemory(), enabledRules: string[] = []) {
  const report = await localCheck({ replayDir: dir, checks: ['inventory'], memory, policy: { enabledRules } });
  return report.checks[0]!;
}

describe('inventory of this Linux machine, live through systeminformation', () => {
  test('collected live, recorded per systeminformation call, and replayed to the same facts', async () => {
    const dir = join(tmp, 'live');
    const live = await runLinuxCheck('inventory', new RecordingProbes(new LiveProbes(), dir, { source: 'test' }));
    expect(live.status).toBe('ok');
    expect(InventoryFacts.partial().safeParse(live.facts).success).toBe(true);
    // Independent of systeminformation: the OS name from os-release, the default route's NIC and its MAC from /proc and sysfs.
    const osRelease = readFileSync('/etc/os-release', 'utf8');
    expect(osRelease).toContain(`NAME="${(live.facts.os as { name: string }).name}"`);
    const defaultIface = readFileSync('/proc/net/route', 'utf8').split('\n').map((l) => l.split('\t')).find((f) => f[1] === '00000000')?.[0];
    if (defaultIface) {
      const address = readFileSync(`/sys/class/net/${defaultIface}/address`, 'utf8').trim();
      expect(live.facts.network).toContainEqual(expect.objectContaining({ name: defaultIface, mac: address }));
    }
    expect((live.facts.memory as { totalBytes: number }).totalBytes).toBe(Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024);
    // One recorded unit per systeminformation call.
    expect(readdirSync(dir).filter((f) => f.startsWith('linux.inventory.')).length).toBe(13);
    const replayed = await runLinuxCheck('inventory', new ReplayProbes(dir));
    expect(replayed).toEqual(live);
  });

  test("the daemon's way: the calls run in a child process of the agent's program, with the same facts", async () => {
    const bin = join(import.meta.dirname, '../../../bin/mamori.js');
    const dir = join(tmp, 'child');
    const child = await runLinuxCheck('inventory', new RecordingProbes(new LiveProbes(), dir, { source: 'test' }), { selfCommand: [process.execPath, bin] });
    const here = await runLinuxCheck('inventory', new LiveProbes());
    expect(child.status).toBe('ok');
    expect(child.unknownFacts).toEqual({});
    for (const fact of ['system', 'cpu', 'network', 'disks', 'domain'] as const) expect(child.facts[fact]).toEqual(here.facts[fact]);
    // The boot time is now minus uptime, read a moment apart.
    const os = (f: Record<string, unknown>) => f.os as { lastBoot: string };
    expect({ ...os(child.facts), lastBoot: 0 }).toEqual({ ...os(here.facts), lastBoot: 0 });
    expect(Math.abs(Date.parse(os(child.facts).lastBoot) - Date.parse(os(here.facts).lastBoot))).toBeLessThan(5000);
    expect((child.facts.memory as { totalBytes: number }).totalBytes).toBe((here.facts.memory as { totalBytes: number }).totalBytes);
    // Recorded per call as in-process, and replayed the same.
    expect(readdirSync(dir).filter((f) => f.startsWith('linux.inventory.')).length).toBe(13);
    expect(await runLinuxCheck('inventory', new ReplayProbes(dir))).toEqual(child);
    // A program that does not answer makes the facts unknown with the reason, never a crash.
    const broken = await runLinuxCheck('inventory', new LiveProbes(), { selfCommand: [process.execPath, '-e', 'process.exit(3)'] });
    expect(broken.status).toBe('unknown');
    expect(broken.reason).toMatch(/EXEC_FAILED/);
  });

  test('the shipped recording of the development machine replays', async () => {
    const out = await inventoryOf(join(FIXTURES, 'linux', 'debian12-this-machine'));
    expect(out.status).toBe('ok');
    expect(out.facts).toMatchObject({ os: { name: 'Debian GNU/Linux', version: '12' }, system: { model: 'Docker Container', serial: null, virtual: true }, domain: { kind: 'none' }, agentVersion: expect.any(String) });
    expect(out.facts.network).toEqual([expect.objectContaining({ name: 'eth0', mac: '02:fc:00:00:00:01', ipv4: ['192.0.2.2'], kind: 'wired' })]);
    expect(out.unknownFacts).toEqual({});
  });

  test('a systeminformation call that was not recorded makes only its facts unknown', async () => {
    const dir = join(tmp, 'partial');
    const src = join(FIXTURES, 'linux', 'debian12-this-machine');
    const { cpSync } = await import('node:fs');
    cpSync(src, dir, { recursive: true });
    rmSync(join(dir, 'linux.inventory.disklayout.out'));
    const out = await inventoryOf(dir);
    expect(out.unknownFacts).toEqual({ disks: 'NOT_RECORDED: 調査 linux.inventory.disklayout の記録がありません' });
    expect(out.facts.disks).toBeUndefined();
    expect(out.facts.network).toBeDefined();
  });
});

describe('Windows inventory from recordings of the inventory script', () => {
  test('a domain-joined desktop on Japanese Windows 11', async () => {
    const out = await inventoryOf(join(FIXTURES, 'windows', 'w11-24h2-pro-ja-desktop'));
    expect(out.unknownFacts).toEqual({});
    expect(out.facts).toMatchObject({
      system: { manufacturer: 'Dell Inc.', model: 'OptiPlex 7010', serial: '8K2LMX3', uuid: '4C4C4544-004B-3210-804C-B8C04F4D5833', virtual: false },
      bios: { vendor: 'Dell Inc.', version: '1.18.0', releaseDate: '2024-03-11', firmware: 'uefi' },
      chassis: { type: 'Mini PC', assetTag: 'SOUMU-0123' },
      cpu: { brand: '13th Gen Intel(R) Core(TM) i5-13500T', cores: 20, physicalCores: 14, speedGHz: 1.6 },
      memory: { totalBytes: 17179869184, modules: [{ slot: 'DIMM1', type: 'DDR5', speedMHz: 4800, serial: '2F1A3C4D' }, { slot: 'DIMM2' }] },
      disks: [{ device: '\\\\.\\PHYSICALDRIVE0', model: 'KIOXIA KBG50ZNV512G', type: 'NVMe', interface: 'NVMe', smart: 'ok' }],
      displays: [{ vendor: 'DEL', model: 'DELL P2422H', serial: '7Q3KXG3', resolution: '1920x1080' }],
      os: { name: 'Microsoft Windows 11 Pro', edition: 'Professional', version: '24H2', build: '26100.2314', installDate: '2025-04-01T00:12:45.000Z', lastBoot: '2026-11-30T23:41:07.500Z' },
      users: ['SOUMU\\tanaka'],
      domain: { name: 'soumu.city.example.lg.jp', kind: 'domain' },
      changes: [],
    });
    expect(out.facts.network).toEqual([
      { name: 'イーサネット', mac: '98:e7:43:1a:2b:3c', ipv4: ['10.20.30.41'], ipv6: ['fe80::1c2d:3e4f:5a6b:7c8d'], dhcp: true, speedMbps: 1000, kind: 'wired' },
      { name: 'Wi-Fi', mac: '3c:21:9c:44:55:66', ipv4: [], ipv6: [], dhcp: true, speedMbps: null, kind: 'wireless' },
      { name: 'WAN Miniport (IP)', mac: '6a:11:22:33:44:55', ipv4: [], ipv6: [], dhcp: false, speedMbps: null, kind: 'virtual' },
    ]);
  });

  test('failed parts are unknown with the script error; SMART failure and a workgroup are read', async () => {
    const out = await inventoryOf(join(FIXTURES, 'windows', 'w10-22h2-pro-ja-notebook-wmi-broken'));
    expect(out.unknownFacts).toEqual({ displays: 'SCRIPT_ERROR: monitors: Invalid namespace ' });
    expect(out.facts).toMatchObject({ chassis: { type: 'Notebook', assetTag: null }, domain: { name: 'WORKGROUP', kind: 'workgroup' }, users: [] });
    expect(out.facts.disks).toEqual([{ device: '\\\\.\\PHYSICALDRIVE0', model: 'WDC WD10SPZX-22Z10T1', serial: 'WD-WX12A3456789', sizeBytes: 1000202273280, type: null, interface: 'IDE', firmware: '04.01A04', smart: 'predicted_failure' }]);
  });

  test('a script that printed nothing usable makes the whole check unknown', async () => {
    const dir = join(tmp, 'truncated');
    const { cpSync, writeFileSync } = await import('node:fs');
    cpSync(join(FIXTURES, 'windows', 'w11-24h2-pro-ja-desktop'), dir, { recursive: true });
    writeFileSync(join(dir, 'win.inventory.out'), readFileSync(join(dir, 'win.inventory.out'), 'utf8').slice(0, 300));
    const out = await inventoryOf(dir);
    expect(out.status).toBe('unknown');
    expect(out.reason).toMatch(/^INVALID_JSON: win.inventory/);
  });
});

describe('hardware changes between runs', () => {
  test('a swapped SSD, a removed module, a new USB NIC and a changed MAC are changes; HW-001/HW-002 flag them when switched on', async () => {
    const memory = new InMemoryCheckMemory();
    const first = await inventoryOf(join(FIXTURES, 'windows', 'w11-24h2-pro-ja-desktop'), memory, ['HW-001', 'HW-002']);
    expect(first.facts.changes).toEqual([]);
    expect(first.rules.filter((r) => r.ruleId.startsWith('HW-')).map((r) => r.result)).toEqual(['pass', 'pass']);
    const second = await inventoryOf(join(FIXTURES, 'windows', 'w11-24h2-pro-ja-desktop-swapped'), memory, ['HW-001', 'HW-002']);
    const changes = (second.facts.changes as { kind: string; subject: string; before: string | null; after: string | null; at: string }[]).map(({ kind, subject, before, after, at }) => ({ kind, subject, before, after, at }));
    const at = '2026-12-08T01:00:00.000Z';
    expect(changes).toEqual([
      { kind: 'memory.removed', subject: 'DIMM2', before: '8GB SK Hynix HMCG66AGBSA092N 2F1A3C99', after: null, at },
      { kind: 'disk.replaced', subject: 'S64DNX0T812345A', before: 'KIOXIA KBG50ZNV512G 8D6A_7C21_0042_1234. 512GB', after: 'Samsung SSD 980 500GB S64DNX0T812345A 500GB', at },
      { kind: 'mac.changed', subject: 'イーサネット', before: '98:e7:43:1a:2b:3c', after: '98:e7:43:1a:2b:3d', at },
      { kind: 'nic.added', subject: 'イーサネット 2', before: null, after: '00:e0:4c:68:01:02', at },
    ]);
    const hw = second.rules.filter((r) => r.ruleId.startsWith('HW-'));
    expect(hw.flatMap((r) => r.subjects.filter((x) => x.result === 'fail').map((x) => `${r.ruleId} ${x.subject}`)).sort()).toEqual([
      'HW-001 S64DNX0T812345A',
      `HW-002 mac.changed:イーサネット:${at}`,
      `HW-002 memory.removed:DIMM2:${at}`,
      `HW-002 nic.added:イーサネット 2:${at}`,
    ]);
  });

  test('the rules are off by default: the change is recorded, nothing fails', async () => {
    const memory = new InMemoryCheckMemory();
    await inventoryOf(join(FIXTURES, 'windows', 'w11-24h2-pro-ja-desktop'), memory);
    const second = await inventoryOf(join(FIXTURES, 'windows', 'w11-24h2-pro-ja-desktop-swapped'), memory);
    expect((second.facts.changes as unknown[]).length).toBe(4);
    expect(second.rules.filter((r) => r.ruleId.startsWith('HW-')).map((r) => r.result)).toEqual(['not_applicable', 'not_applicable']);
  });

  test('a part that could not be read is not compared (no false "removed")', () => {
    const prev = { disks: { A: 'disk A' }, modules: { DIMM1: 'x' }, memoryTotal: 8 };
    expect(diffBaselines(prev, { memoryTotal: 8 }, '2026-12-08T01:00:00.000Z')).toEqual([]);
    expect(diffBaselines(prev, { disks: {}, modules: { DIMM1: 'x' }, memoryTotal: 8 }, '2026-12-08T01:00:00.000Z').map((c) => c.kind)).toEqual(['disk.removed']);
  });

  test('changes leave the facts after changeWindowDays', () => {
    const memory = new MapMemory();
    const day = (n: number) => new Date(Date.UTC(2026, 11, n, 1));
    const facts = (serial: string) => ({ disks: [{ device: 'sda', model: 'M', serial, sizeBytes: 1, type: 'SSD', interface: 'SATA', firmware: null, smart: null }] }) as never;
    expect(trackChanges(memory, facts('A'), day(1), 30)).toEqual([]);
    expect(trackChanges(memory, facts('B'), day(2), 30).map((c) => c.kind)).toEqual(['disk.replaced']);
    expect(trackChanges(memory, facts('B'), day(31), 30).map((c) => c.kind)).toEqual(['disk.replaced']);
    expect(trackChanges(memory, facts('B'), day(33), 30)).toEqual([]);
  });
});
