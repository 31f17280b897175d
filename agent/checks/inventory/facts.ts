/**
 * Facts of the inventory check: the hardware and network inventory of the PC (資産管理台帳),
 * the same shape on Linux (systeminformation, ./linux.ts) and Windows (one CIM batch, ./windows.ts).
 * A part that could not be read is an unknown fact with its reason; a value the firmware leaves
 * empty (a VM without a serial) is null.
 */
import { z } from 'zod';

const text = z.string().max(256).nullable();
const count = z.number().int().nonnegative().nullable();

export const SystemFacts = z.object({
  manufacturer: text,
  model: text,
  serial: text,
  uuid: text,
  sku: text,
  virtual: z.boolean().nullable(),
});

export const BiosFacts = z.object({
  vendor: text,
  version: text,
  releaseDate: text,
  /** UEFI or legacy BIOS boot; null when the OS does not say. */
  firmware: z.enum(['uefi', 'bios']).nullable(),
});

export const ChassisFacts = z.object({
  /** SMBIOS chassis type in words (Desktop, Notebook, Mini PC …). */
  type: text,
  serial: text,
  assetTag: text,
});

export const CpuFacts = z.object({
  manufacturer: text,
  brand: text,
  cores: count,
  physicalCores: count,
  speedGHz: z.number().nonnegative().nullable(),
});

export const MemoryModule = z.object({
  /** Bank or slot label as SMBIOS names it (e.g. "DIMM 0", "ChannelA-DIMM0"). */
  slot: z.string().max(128),
  sizeBytes: count,
  type: text,
  speedMHz: count,
  manufacturer: text,
  partNumber: text,
  serial: text,
});
export type MemoryModule = z.infer<typeof MemoryModule>;

export const MemoryFacts = z.object({
  totalBytes: count,
  modules: z.array(MemoryModule).max(64),
});

export const Disk = z.object({
  /** Device name (sda, nvme0n1) or Windows device id (\\.\PHYSICALDRIVE0). */
  device: z.string().max(128),
  model: text,
  serial: text,
  sizeBytes: count,
  /** SSD, HDD or NVMe; null when unknown. */
  type: text,
  /** Bus or interface (SATA, NVMe, USB, SCSI …). */
  interface: text,
  firmware: text,
  /** SMART overall status where the OS reports it; null where it does not. */
  smart: z.enum(['ok', 'predicted_failure']).nullable(),
});
export type Disk = z.infer<typeof Disk>;

export const NetworkInterface = z.object({
  name: z.string().max(256),
  mac: text,
  ipv4: z.array(z.string().max(64)).max(64),
  ipv6: z.array(z.string().max(64)).max(64),
  dhcp: z.boolean().nullable(),
  speedMbps: z.number().nonnegative().nullable(),
  kind: z.enum(['wired', 'wireless', 'virtual', 'other']),
});
export type NetworkInterface = z.infer<typeof NetworkInterface>;

export const Display = z.object({
  vendor: text,
  model: text,
  serial: text,
  resolution: text,
});

export const OsFacts = z.object({
  name: text,
  edition: text,
  version: text,
  build: text,
  arch: text,
  installDate: z.iso.datetime({ offset: true }).nullable(),
  lastBoot: z.iso.datetime({ offset: true }).nullable(),
});

export const DomainFacts = z.object({
  name: text,
  kind: z.enum(['domain', 'workgroup', 'none']),
});

export const ChangeKind = z.enum([
  'system.serial.changed',
  'cpu.changed',
  'memory.added',
  'memory.removed',
  'memory.replaced',
  'memory.total.changed',
  'disk.added',
  'disk.removed',
  'disk.replaced',
  'nic.added',
  'nic.removed',
  'mac.changed',
]);
export type ChangeKind = z.infer<typeof ChangeKind>;

/** One change of the hardware between two inventory runs, kept for `changeWindowDays`. */
export const InventoryChange = z.object({
  /** Stable key of the change: kind and subject, e.g. "disk.replaced:S4EVNX0N123456". */
  id: z.string().max(512),
  at: z.iso.datetime({ offset: true }),
  kind: ChangeKind,
  /** The thing that changed: a disk or module serial, a slot, an interface name. */
  subject: z.string().max(256),
  before: z.string().max(512).nullable(),
  after: z.string().max(512).nullable(),
});
export type InventoryChange = z.infer<typeof InventoryChange>;

export const InventoryFacts = z.object({
  system: SystemFacts.describe('maker, model, serial number and UUID of the PC'),
  bios: BiosFacts.describe('BIOS / UEFI vendor, version and date'),
  chassis: ChassisFacts.describe('chassis type, serial and asset tag'),
  cpu: CpuFacts.describe('processor'),
  memory: MemoryFacts.describe('memory: total and modules'),
  disks: z.array(Disk).max(64).describe('physical disks'),
  network: z.array(NetworkInterface).max(64).describe('network interfaces'),
  displays: z.array(Display).max(16).describe('displays'),
  os: OsFacts.describe('OS name, edition, build, install date, last boot'),
  users: z.array(z.string().max(256)).max(64).describe('users logged on now'),
  domain: DomainFacts.describe('domain or workgroup'),
  agentVersion: z.string().max(64).describe("the agent's own version"),
  changes: z.array(InventoryChange).max(500).describe('hardware changes seen within changeWindowDays'),
});
export type InventoryFacts = z.infer<typeof InventoryFacts>;
export type SystemFacts = z.infer<typeof SystemFacts>;
export type BiosFacts = z.infer<typeof BiosFacts>;
export type ChassisFacts = z.infer<typeof ChassisFacts>;
export type CpuFacts = z.infer<typeof CpuFacts>;
export type MemoryFacts = z.infer<typeof MemoryFacts>;
export type OsFacts = z.infer<typeof OsFacts>;
export type DomainFacts = z.infer<typeof DomainFacts>;
export type Display = z.infer<typeof Display>;
