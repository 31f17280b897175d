/**
 * Hardware changes between inventory runs (R-HW-1: 「変更時の設定及び構成情報等は記録し、履歴として
 * 保存する」). The check keeps the last hardware it saw in its memory (the agent's state
 * directory) and reports what differs as changes; each change stays in the facts for
 * `changeWindowDays`, so a rule that flags it (HW-001) keeps its violation open that long and
 * the collector records it once in the PC's history (by its id).
 *
 * Identity: disks by serial (model and size when the firmware gives no serial), memory modules
 * by slot, network interfaces by name (a NIC whose MAC changes is the same NIC, a changed MAC).
 * Virtual interfaces (docker0, vEthernet, VPN adapters) come and go and are not compared.
 * A part that could not be read this run is not compared and its last known state is kept.
 */
import type { CheckMemory } from '../types.js';
import type { ChangeKind, Disk, InventoryChange, InventoryFacts, MemoryModule, NetworkInterface } from './facts.js';

/** The parts of an inventory that changes are computed from. */
export interface HardwareBaseline {
  systemSerial?: string | null;
  cpu?: string | null;
  memoryTotal?: number | null;
  modules?: Record<string, string>;
  disks?: Record<string, string>;
  nics?: Record<string, string | null>;
}

const BASELINE_KEY = 'baseline';
const CHANGES_KEY = 'changes';

function moduleText(m: MemoryModule): string {
  return [m.sizeBytes !== null ? `${Math.round(m.sizeBytes / 2 ** 30)}GB` : null, m.manufacturer, m.partNumber, m.serial].filter(Boolean).join(' ');
}

function diskKey(d: Disk): string {
  return d.serial ?? `${d.model ?? d.device}/${d.sizeBytes ?? '?'}`;
}

function diskText(d: Disk): string {
  return [d.model, d.serial, d.sizeBytes !== null ? `${Math.round(d.sizeBytes / 1e9)}GB` : null].filter(Boolean).join(' ');
}

function comparedNics(list: readonly NetworkInterface[]): NetworkInterface[] {
  return list.filter((n) => n.kind === 'wired' || n.kind === 'wireless');
}

export function baselineOf(facts: Partial<InventoryFacts>): HardwareBaseline {
  const b: HardwareBaseline = {};
  if (facts.system) b.systemSerial = facts.system.serial;
  if (facts.cpu) b.cpu = facts.cpu.brand;
  if (facts.memory) {
    b.memoryTotal = facts.memory.totalBytes;
    b.modules = Object.fromEntries(facts.memory.modules.map((m) => [m.slot, moduleText(m)]));
  }
  if (facts.disks) b.disks = Object.fromEntries(facts.disks.map((d) => [diskKey(d), diskText(d)]));
  if (facts.network) b.nics = Object.fromEntries(comparedNics(facts.network).map((n) => [n.name, n.mac]));
  return b;
}

function change(at: string, kind: ChangeKind, subject: string, before: string | null, after: string | null): InventoryChange {
  return { id: `${kind}:${subject}:${at}`.slice(0, 512), at, kind, subject: subject.slice(0, 256), before: before?.slice(0, 512) ?? null, after: after?.slice(0, 512) ?? null };
}

/** Changes from `prev` to `next`; parts absent from either side are not compared. */
export function diffBaselines(prev: HardwareBaseline, next: HardwareBaseline, at: string): InventoryChange[] {
  const out: InventoryChange[] = [];
  if (prev.systemSerial !== undefined && next.systemSerial !== undefined && prev.systemSerial !== next.systemSerial) {
    out.push(change(at, 'system.serial.changed', 'system', prev.systemSerial, next.systemSerial));
  }
  if (prev.cpu !== undefined && next.cpu !== undefined && prev.cpu !== next.cpu) out.push(change(at, 'cpu.changed', 'cpu', prev.cpu, next.cpu));
  if (prev.modules && next.modules) {
    for (const [slot, text] of Object.entries(next.modules)) {
      const before = prev.modules[slot];
      if (before === undefined) out.push(change(at, 'memory.added', slot, null, text));
      else if (before !== text) out.push(change(at, 'memory.replaced', slot, before, text));
    }
    for (const [slot, text] of Object.entries(prev.modules)) if (!(slot in next.modules)) out.push(change(at, 'memory.removed', slot, text, null));
  }
  // Modules can be unreadable (a VM, dmidecode without root) while the total still tells a change.
  const moduleChanged = out.some((c) => c.kind.startsWith('memory.'));
  if (!moduleChanged && prev.memoryTotal != null && next.memoryTotal != null && prev.memoryTotal !== next.memoryTotal) {
    out.push(change(at, 'memory.total.changed', 'memory', String(prev.memoryTotal), String(next.memoryTotal)));
  }
  if (prev.disks && next.disks) {
    const added = Object.keys(next.disks).filter((k) => !(k in prev.disks!));
    const removed = Object.keys(prev.disks).filter((k) => !(k in next.disks!));
    // A disk gone and another one new in the same run is a replaced disk (the serial changed).
    while (added.length > 0 && removed.length > 0) {
      const a = added.shift()!;
      const r = removed.shift()!;
      out.push(change(at, 'disk.replaced', a, prev.disks[r]!, next.disks[a]!));
    }
    for (const a of added) out.push(change(at, 'disk.added', a, null, next.disks[a]!));
    for (const r of removed) out.push(change(at, 'disk.removed', r, prev.disks[r]!, null));
  }
  if (prev.nics && next.nics) {
    for (const [name, mac] of Object.entries(next.nics)) {
      if (!(name in prev.nics)) out.push(change(at, 'nic.added', name, null, mac));
      else if (prev.nics[name] !== mac) out.push(change(at, 'mac.changed', name, prev.nics[name] ?? null, mac));
    }
    for (const [name, mac] of Object.entries(prev.nics)) if (!(name in next.nics)) out.push(change(at, 'nic.removed', name, mac, null));
  }
  return out;
}

/** Keep each part of the new baseline that was read; keep the old one for parts that were not. */
function mergeBaseline(prev: HardwareBaseline, next: HardwareBaseline): HardwareBaseline {
  return { ...prev, ...Object.fromEntries(Object.entries(next).filter(([, v]) => v !== undefined)) };
}

/**
 * Compare with the baseline in memory, store the new one, and return the changes of the last
 * `windowDays` (the first run only records the baseline: nothing to compare with).
 */
export function trackChanges(memory: CheckMemory, facts: Partial<InventoryFacts>, now: Date, windowDays: number): InventoryChange[] {
  const at = now.toISOString();
  const prev = memory.get<HardwareBaseline>(BASELINE_KEY);
  const next = baselineOf(facts);
  const fresh = prev ? diffBaselines(prev, next, at) : [];
  memory.set(BASELINE_KEY, mergeBaseline(prev ?? {}, next));
  const since = now.getTime() - windowDays * 86_400_000;
  const kept = [...(memory.get<InventoryChange[]>(CHANGES_KEY) ?? []), ...fresh].filter((c) => Date.parse(c.at) >= since).slice(-500);
  memory.set(CHANGES_KEY, kept);
  return kept;
}
