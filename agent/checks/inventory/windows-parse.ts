/**
 * The `win.inventory` document (./windows-script.ts) → inventory facts. The schema follows the
 * script part by part; a part the script could not read is null and named in `errors`, and
 * its facts are unknown with that message.
 */
import { z } from 'zod';
import type { Disk, Display, InventoryFacts, NetworkInterface } from './facts.js';
import { clean, int, iso, mac, unique } from './common.js';
import type { Msg } from '../../../src/shared/i18n/index.js';
import { because, said, setUnknown, type Why } from '../why.js';

const str = z.string().nullable();
const num = z.number().nullable();

export const InventoryDocument = z.object({
  product: z.object({ name: str, vendor: str, identifyingNumber: str, uuid: str }).nullable(),
  computer: z.object({ manufacturer: str, model: str, systemSku: str, hypervisorPresent: z.boolean(), totalPhysicalMemory: num, partOfDomain: z.boolean(), domain: str, workgroup: str, userName: str }).nullable(),
  bios: z.object({ manufacturer: str, smbiosVersion: str, releaseDate: str, serialNumber: str, firmwareType: str }).nullable(),
  enclosure: z.object({ chassisTypes: z.array(z.number()), serialNumber: str, assetTag: str }).nullable(),
  processor: z.array(z.object({ name: str, manufacturer: str, maxClockSpeed: num, cores: num, logical: num })).nullable(),
  memory: z.array(z.object({ bankLabel: str, deviceLocator: str, capacity: num, smbiosMemoryType: num, speed: num, configuredClockSpeed: num, manufacturer: str, partNumber: str, serialNumber: str })).nullable(),
  diskDrives: z.array(z.object({ index: z.number(), deviceId: z.string(), model: str, size: num, serialNumber: str, firmwareRevision: str, interfaceType: str, status: str })).nullable(),
  physicalDisks: z.array(z.object({ deviceId: z.string(), busType: num, mediaType: num, serialNumber: str })).nullable(),
  adapters: z.array(z.object({ interfaceIndex: z.number(), name: str, netConnectionId: str, macAddress: str, speed: num, physicalAdapter: z.boolean(), ipAddress: z.array(z.string()), dhcpEnabled: z.boolean().nullable() })).nullable(),
  netAdapters: z.array(z.object({ interfaceIndex: z.number(), ndisPhysicalMedium: z.number(), virtual: z.boolean() })).nullable(),
  monitors: z.object({ controllers: z.array(z.object({ width: z.number(), height: z.number() })), monitors: z.array(z.object({ manufacturerName: z.array(z.number()), userFriendlyName: z.array(z.number()), serialNumberId: z.array(z.number()) })) }).nullable(),
  os: z.object({ caption: str, version: str, buildNumber: str, osArchitecture: str, installDate: str, lastBootUpTime: str, displayVersion: str, ubr: num, editionId: str }).nullable(),
  users: z.array(z.object({ domain: str, user: str })).nullable(),
  errors: z.array(z.object({ part: z.string(), message: z.string() })),
});
export type InventoryDocument = z.infer<typeof InventoryDocument>;

/** SMBIOS chassis types (DMTF DSP0134 §7.4.1; Win32_SystemEnclosure.ChassisTypes). */
const CHASSIS: Record<number, string> = { 3: 'Desktop', 4: 'Low Profile Desktop', 6: 'Mini Tower', 7: 'Tower', 8: 'Portable', 9: 'Laptop', 10: 'Notebook', 13: 'All in One', 14: 'Sub Notebook', 30: 'Tablet', 31: 'Convertible', 32: 'Detachable', 35: 'Mini PC', 36: 'Stick PC' };

/** SMBIOS memory device types (DSP0134 §7.18.2; Win32_PhysicalMemory.SMBIOSMemoryType). */
const MEMORY_TYPES: Record<number, string> = { 20: 'DDR', 21: 'DDR2', 24: 'DDR3', 26: 'DDR4', 27: 'LPDDR', 28: 'LPDDR2', 29: 'LPDDR3', 30: 'LPDDR4', 34: 'DDR5', 35: 'LPDDR5' };

/** MSFT_PhysicalDisk BusType (learn.microsoft.com msft-physicaldisk). */
const BUS_TYPES: Record<number, string> = { 1: 'SCSI', 3: 'ATA', 6: 'Fibre Channel', 7: 'USB', 8: 'RAID', 10: 'SAS', 11: 'SATA', 12: 'SD', 13: 'MMC', 15: 'File Backed Virtual', 16: 'Storage Spaces', 17: 'NVMe' };

/** WmiMonitorID strings are UInt16 arrays padded with zeros. */
function monitorText(codes: readonly number[]): string | null {
  return clean(String.fromCharCode(...codes.filter((c) => c > 0 && c < 0x10000)));
}

function diskType(busType: number | null | undefined, mediaType: number | null | undefined): string | null {
  if (busType === 17) return 'NVMe';
  // MediaType: 3 HDD, 4 SSD, 5 SCM (learn.microsoft.com msft-physicaldisk).
  if (mediaType === 4) return 'SSD';
  if (mediaType === 3) return 'HDD';
  return null;
}

/** NdisPhysicalMedium (ntddndis.h; MSFT_NetAdapter): 9 Native 802.11, 14 802.3. */
function nicKind(physical: boolean, net: { ndisPhysicalMedium: number; virtual: boolean } | undefined): NetworkInterface['kind'] {
  if (!physical || net?.virtual) return 'virtual';
  if (net?.ndisPhysicalMedium === 9 || net?.ndisPhysicalMedium === 1) return 'wireless';
  if (net?.ndisPhysicalMedium === 14) return 'wired';
  return 'other';
}

export function inventoryFacts(doc: InventoryDocument): { facts: Partial<InventoryFacts>; unknownFacts: Record<string, string>; unknownMsgs?: Record<string, Msg> } {
  const facts: Partial<InventoryFacts> = {};
  const unknown: { unknownFacts: Record<string, string>; unknownMsgs?: Record<string, Msg> } = { unknownFacts: {} };
  const err = (part: string): Why => {
    const e = doc.errors.find((x) => x.part === part);
    return e ? said(`SCRIPT_ERROR: ${part}: ${e.message}`) : because('SCRIPT_ERROR', 'why.beyond.notRead', { part });
  };

  const { product, computer } = doc;
  if (product && computer) {
    facts.system = { manufacturer: clean(computer.manufacturer) ?? clean(product.vendor), model: clean(computer.model) ?? clean(product.name), serial: clean(product.identifyingNumber), uuid: clean(product.uuid), sku: clean(computer.systemSku), virtual: computer.hypervisorPresent && /virtual|vmware|kvm|qemu/i.test(computer.model ?? '') };
  } else setUnknown(unknown, 'system', err(product ? 'computer' : 'product'));
  if (doc.bios) {
    const fw = doc.bios.firmwareType?.toLowerCase();
    facts.bios = { vendor: clean(doc.bios.manufacturer), version: clean(doc.bios.smbiosVersion), releaseDate: iso(doc.bios.releaseDate)?.slice(0, 10) ?? null, firmware: fw === 'uefi' ? 'uefi' : fw === 'legacy' ? 'bios' : null };
  } else setUnknown(unknown, 'bios', err('bios'));
  if (doc.enclosure) {
    const type = doc.enclosure.chassisTypes.map((t) => CHASSIS[t]).find(Boolean) ?? null;
    facts.chassis = { type, serial: clean(doc.enclosure.serialNumber) ?? clean(doc.bios?.serialNumber), assetTag: clean(doc.enclosure.assetTag) };
  } else setUnknown(unknown, 'chassis', err('enclosure'));
  if (doc.processor && doc.processor.length > 0) {
    const p = doc.processor;
    const sum = (f: (x: (typeof p)[number]) => number | null) => p.reduce((a, x) => a + (f(x) ?? 0), 0);
    facts.cpu = { manufacturer: clean(p[0]!.manufacturer), brand: clean(p[0]!.name), cores: sum((x) => x.logical) || null, physicalCores: sum((x) => x.cores) || null, speedGHz: p[0]!.maxClockSpeed ? Math.round(p[0]!.maxClockSpeed / 10) / 100 : null };
  } else setUnknown(unknown, 'cpu', err('processor'));
  if (doc.memory && computer) {
    const modules = doc.memory.map((m, i) => ({
      slot: clean(m.deviceLocator) ?? clean(m.bankLabel) ?? `#${i}`,
      sizeBytes: int(m.capacity),
      type: m.smbiosMemoryType !== null ? (MEMORY_TYPES[m.smbiosMemoryType] ?? null) : null,
      speedMHz: int(m.configuredClockSpeed) || int(m.speed),
      manufacturer: clean(m.manufacturer),
      partNumber: clean(m.partNumber),
      serial: clean(m.serialNumber),
    }));
    const installed = modules.reduce((a, m) => a + (m.sizeBytes ?? 0), 0);
    facts.memory = { totalBytes: installed || int(computer.totalPhysicalMemory), modules };
  } else setUnknown(unknown, 'memory', err(doc.memory ? 'computer' : 'memory'));
  if (doc.diskDrives) {
    const physical = new Map((doc.physicalDisks ?? []).map((d) => [d.deviceId, d]));
    facts.disks = doc.diskDrives.map((d): Disk => {
      const p = physical.get(String(d.index));
      const busType = p?.busType ?? null;
      const status = d.status?.toLowerCase();
      return {
        device: d.deviceId.slice(0, 128),
        model: clean(d.model),
        serial: clean(d.serialNumber) ?? clean(p?.serialNumber),
        sizeBytes: int(d.size),
        type: diskType(busType, p?.mediaType),
        interface: (busType !== null ? BUS_TYPES[busType] : undefined) ?? clean(d.interfaceType),
        firmware: clean(d.firmwareRevision),
        // CIM_ManagedSystemElement.Status: "OK", or "Pred Fail" when SMART predicts a failure.
        smart: status === 'ok' ? 'ok' : status === 'pred fail' ? 'predicted_failure' : null,
      };
    });
  } else setUnknown(unknown, 'disks', err('diskDrives'));
  if (doc.adapters) {
    const net = new Map((doc.netAdapters ?? []).map((n) => [n.interfaceIndex, n]));
    facts.network = doc.adapters.map((a) => ({
      name: (clean(a.netConnectionId) ?? clean(a.name) ?? `#${a.interfaceIndex}`).slice(0, 256),
      mac: mac(a.macAddress),
      ipv4: a.ipAddress.filter((ip) => ip.includes('.')),
      ipv6: a.ipAddress.filter((ip) => ip.includes(':')),
      dhcp: a.dhcpEnabled,
      // Win32_NetworkAdapter.Speed is in bits per second; 2^63-1 when there is no link.
      speedMbps: a.speed !== null && a.speed > 0 && a.speed < 1e15 ? a.speed / 1e6 : null,
      kind: nicKind(a.physicalAdapter, net.get(a.interfaceIndex)),
    }));
  } else setUnknown(unknown, 'network', err('adapters'));
  if (doc.monitors) {
    const only = doc.monitors.controllers.length === 1 && doc.monitors.monitors.length === 1 ? doc.monitors.controllers[0] : undefined;
    facts.displays = doc.monitors.monitors.map((m): Display => ({ vendor: monitorText(m.manufacturerName), model: monitorText(m.userFriendlyName), serial: monitorText(m.serialNumberId), resolution: only ? `${only.width}x${only.height}` : null }));
  } else setUnknown(unknown, 'displays', err('monitors'));
  if (doc.os) {
    const o = doc.os;
    facts.os = {
      name: clean(o.caption),
      edition: clean(o.editionId),
      version: clean(o.displayVersion),
      build: clean(o.buildNumber) ? `${o.buildNumber}${o.ubr !== null ? `.${o.ubr}` : ''}` : null,
      arch: clean(o.osArchitecture),
      installDate: iso(o.installDate),
      lastBoot: iso(o.lastBootUpTime),
    };
  } else setUnknown(unknown, 'os', err('os'));
  if (doc.users) facts.users = unique(doc.users.filter((u) => clean(u.user)).map((u) => (clean(u.domain) ? `${u.domain}\\${u.user}` : u.user!)));
  else setUnknown(unknown, 'users', err('users'));
  if (computer) facts.domain = computer.partOfDomain ? { name: clean(computer.domain), kind: 'domain' } : { name: clean(computer.workgroup), kind: 'workgroup' };
  else setUnknown(unknown, 'domain', err('computer'));
  return { facts, ...unknown };
}
