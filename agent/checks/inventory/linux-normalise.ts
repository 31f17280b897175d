/**
 * systeminformation results (Linux) → inventory facts. The input is what each call returned,
 * as recorded (`linux.inventory.<call>.out`); field names are those of systeminformation's
 * typings (node_modules/systeminformation/lib/index.d.ts, Systeminformation.*Data).
 * Empty strings and SMBIOS placeholders become null (./common.ts).
 */
import type { Msg } from '../../../src/shared/i18n/index.js';
import { because, setUnknown, type Why } from '../why.js';
import type { Disk, Display, InventoryFacts, MemoryModule, NetworkInterface } from './facts.js';
import { clean, int, iso, mac, unique } from './common.js';

/** The systeminformation calls the Linux inventory makes, in this order. */
export const LINUX_CALLS = ['system', 'bios', 'chassis', 'uuid', 'osInfo', 'time', 'cpu', 'mem', 'memLayout', 'diskLayout', 'networkInterfaces', 'graphics', 'users'] as const;
export type LinuxCall = (typeof LINUX_CALLS)[number];

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v.map(obj) : []);

function diskType(d: Obj): string | null {
  const t = clean(d.type);
  if (t === 'HD') return 'HDD';
  return t;
}

function smart(value: unknown): Disk['smart'] {
  const s = String(value ?? '').toLowerCase();
  if (s === 'ok') return 'ok';
  if (s.includes('fail')) return 'predicted_failure';
  return null;
}

function nicKind(n: Obj): NetworkInterface['kind'] {
  if (n.virtual === true || n.type === 'virtual') return 'virtual';
  if (n.type === 'wireless') return 'wireless';
  if (n.type === 'wired') return 'wired';
  return 'other';
}

export function normaliseLinux(raw: Partial<Record<LinuxCall, unknown>>, unread: Partial<Record<LinuxCall, Why>>): { facts: Partial<InventoryFacts>; unknownFacts: Record<string, string>; unknownMsgs?: Record<string, Msg> } {
  const facts: Partial<InventoryFacts> = {};
  const unknown: { unknownFacts: Record<string, string>; unknownMsgs?: Record<string, Msg> } = { unknownFacts: {} };
  const missing = (fact: keyof InventoryFacts, ...calls: LinuxCall[]): boolean => {
    const gone = calls.find((c) => raw[c] === undefined);
    if (gone) setUnknown(unknown, fact, unread[gone] ?? because('NOT_RECORDED', 'why.inventory.notRecorded', { call: gone }));
    return gone !== undefined;
  };

  if (!missing('system', 'system')) {
    const s = obj(raw.system);
    const hardwareUuid = raw.uuid !== undefined ? clean(obj(raw.uuid).hardware) : null;
    facts.system = { manufacturer: clean(s.manufacturer), model: clean(s.model), serial: clean(s.serial), uuid: clean(s.uuid) ?? hardwareUuid, sku: clean(s.sku), virtual: typeof s.virtual === 'boolean' ? s.virtual : null };
  }
  if (!missing('bios', 'bios')) {
    const b = obj(raw.bios);
    const uefi = raw.osInfo !== undefined ? obj(raw.osInfo).uefi : undefined;
    facts.bios = { vendor: clean(b.vendor), version: clean(b.version), releaseDate: clean(b.releaseDate), firmware: uefi === true ? 'uefi' : uefi === false ? 'bios' : null };
  }
  if (!missing('chassis', 'chassis')) {
    const c = obj(raw.chassis);
    facts.chassis = { type: clean(c.type), serial: clean(c.serial), assetTag: clean(c.assetTag) };
  }
  if (!missing('cpu', 'cpu')) {
    const c = obj(raw.cpu);
    const speed = typeof c.speed === 'number' && c.speed > 0 ? c.speed : null;
    facts.cpu = { manufacturer: clean(c.manufacturer), brand: [clean(c.manufacturer), clean(c.brand)].filter(Boolean).join(' ') || null, cores: int(c.cores), physicalCores: int(c.physicalCores), speedGHz: speed };
  }
  if (!missing('memory', 'mem')) {
    // Modules come from dmidecode (root); without it systeminformation returns one entry with
    // the total and no bank, which is not a module.
    const modules: MemoryModule[] = arr(raw.memLayout)
      .filter((m) => clean(m.bank) || clean(m.serialNum) || clean(m.partNum))
      .map((m, i) => ({ slot: clean(m.bank) ?? `#${i}`, sizeBytes: int(m.size), type: clean(m.type), speedMHz: int(m.clockSpeed) || null, manufacturer: clean(m.manufacturer), partNumber: clean(m.partNum), serial: clean(m.serialNum) }));
    facts.memory = { totalBytes: int(obj(raw.mem).total), modules };
  }
  if (!missing('disks', 'diskLayout')) {
    facts.disks = arr(raw.diskLayout).map((d) => ({ device: String(d.device ?? '').slice(0, 128), model: clean(d.name), serial: clean(d.serialNum), sizeBytes: int(d.size), type: diskType(d), interface: clean(d.interfaceType), firmware: clean(d.firmwareRevision), smart: smart(d.smartStatus) }));
  }
  if (!missing('network', 'networkInterfaces')) {
    facts.network = arr(raw.networkInterfaces)
      .filter((n) => n.internal !== true)
      .map((n) => ({
        name: String(n.iface ?? '').slice(0, 256),
        mac: mac(n.mac),
        ipv4: clean(n.ip4) ? [String(n.ip4)] : [],
        ipv6: clean(n.ip6) ? [String(n.ip6)] : [],
        dhcp: typeof n.dhcp === 'boolean' ? n.dhcp : null,
        speedMbps: typeof n.speed === 'number' && n.speed > 0 ? n.speed : null,
        kind: nicKind(n),
      }));
  }
  if (!missing('displays', 'graphics')) {
    facts.displays = arr(obj(raw.graphics).displays).map((d): Display => {
      const x = int(d.currentResX) || int(d.resolutionX);
      const y = int(d.currentResY) || int(d.resolutionY);
      return { vendor: clean(d.vendor), model: clean(d.model), serial: clean(d.serial), resolution: x && y ? `${x}x${y}` : null };
    });
  }
  if (!missing('os', 'osInfo')) {
    const o = obj(raw.osInfo);
    const t = raw.time !== undefined ? obj(raw.time) : undefined;
    const boot = t && typeof t.current === 'number' && typeof t.uptime === 'number' ? iso(t.current - t.uptime * 1000) : null;
    // Linux keeps no install date the way Windows does (Win32_OperatingSystem.InstallDate).
    facts.os = { name: clean(o.distro), edition: clean(o.codename), version: clean(o.release), build: clean(o.kernel), arch: clean(o.arch), installDate: null, lastBoot: boot };
    const fqdn = clean(o.fqdn);
    const dot = fqdn?.indexOf('.') ?? -1;
    facts.domain = fqdn && dot > 0 ? { name: fqdn.slice(dot + 1), kind: 'domain' } : { name: null, kind: 'none' };
  } else setUnknown(unknown, 'domain', { text: unknown.unknownFacts.os!, msg: unknown.unknownMsgs!.os! });
  if (!missing('users', 'users')) facts.users = unique(arr(raw.users).map((u) => clean(u.user)).filter((u): u is string => u !== null));
  return { facts, ...unknown };
}
