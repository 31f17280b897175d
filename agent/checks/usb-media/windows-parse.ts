/**
 * Parser of the `win.usb-media` document (see windows-script.ts) into usb-media facts.
 * Pure: no OS access, so it runs on recordings and in CI.
 */
import { usbFingerprint } from './fingerprint.js';
import { z } from 'zod';
import type { CheckOutput } from '../types.js';
import type { UsbDevice, UsbMediaFacts } from './facts.js';
import type { ScriptError } from '../software/windows-common.js';
import { partWhy } from '../software/windows-common.js';
import { msg, type Msg } from '../../../src/shared/i18n/index.js';
import { because, setUnknown } from '../why.js';

const nullableString = z.string().nullable().optional();
// DEVPKEY values arrive as null when the property is absent; @() of $null is an empty array.
const stringList = z.array(z.string().nullable()).transform((xs) => xs.filter((x): x is string => typeof x === 'string'));

const Volume = z.object({ accessPaths: stringList, label: nullableString, fileSystem: nullableString });

const Disk = z.object({
  index: z.number().int(),
  model: nullableString,
  pnpDeviceId: z.string(),
  interfaceType: nullableString,
  serialNumber: nullableString,
  /** Win32_DiskDrive.Size (uint64); absent when no medium is inserted (card readers). */
  size: z.number().nullable().optional(),
  mediaType: nullableString,
  usbInstanceId: z.string().nullable(),
  usbHardwareIds: stringList,
  usbCompatibleIds: stringList,
  busReportedName: nullableString,
  interfaces: z.array(z.object({ instanceId: z.string(), compatibleIds: stringList })),
  isReadOnly: z.boolean().nullable(),
  volumes: z.array(Volume),
});

const RegNumber = z.number().nullable().optional();

export const UsbMediaDocument = z.object({
  schema: z.literal('mamori.win.usb-media/1'),
  disks: z.array(Disk),
  policy: z
    .object({
      denyAll: RegNumber,
      removableDisksDenyWrite: RegNumber,
      diskDrivesDenyWrite: RegNumber,
      storageWriteProtect: RegNumber,
      usbstorStart: RegNumber,
    })
    .nullable(),
  errors: z.array(z.object({ part: z.string(), message: z.string() })),
});
export type UsbMediaDocument = z.infer<typeof UsbMediaDocument>;

const USB_ID = /^USB\\VID_([0-9A-F]{4})&PID_([0-9A-F]{4})\\(.+)$/i;
const CLASS_ID = /^USB\\Class_([0-9A-F]{2})&SubClass_([0-9A-F]{2})&Prot_([0-9A-F]{2})$/i;
const REVISION = /&REV_([0-9A-F]{4})$/i;

/** The USB identity in a device instance id `USB\VID_0781&PID_5583\4C530001234567890123`. */
export function parseUsbInstanceId(instanceId: string): { vendorId: string; productId: string; serial: string | null } | undefined {
  const m = USB_ID.exec(instanceId);
  if (!m) return undefined;
  const last = (m[3] ?? '').trim();
  // A second character '&' marks an id Windows generated because the device reports no
  // iSerial (e.g. 5&2eab04ab&0&1) — artefacts.help "Windows devices terminology", platform-probes.md §1.1.
  const serial = last.length === 0 || last.charAt(1) === '&' ? null : last.toUpperCase();
  return { vendorId: (m[1] ?? '').toLowerCase(), productId: (m[2] ?? '').toLowerCase(), serial };
}

/** "cc:ss:pp" interface classes from compatible ids (`USB\Class_08&SubClass_06&Prot_50` → 08:06:50). */
export function interfaceClassesOf(compatibleIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const id of compatibleIds) {
    const m = CLASS_ID.exec(id);
    if (m) out.push(`${m[1]}:${m[2]}:${m[3]}`.toLowerCase());
  }
  return out;
}

/** SCSI vendor of a USBSTOR disk (`USBSTOR\DISK&VEN_SANDISK&PROD_…`): the only vendor text Windows gives without reading descriptors. */
function scsiVendor(pnpDeviceId: string): string | null {
  const m = /&VEN_([^&\\]*)/i.exec(pnpDeviceId);
  const v = m?.[1]?.replace(/_/g, ' ').trim();
  return v ? v : null;
}

function toDevice(disk: z.infer<typeof Disk>): UsbDevice | Msg {
  if (!disk.usbInstanceId) return msg('why.usb.noDeviceNode', { disk: disk.index, pnp: disk.pnpDeviceId });
  const ids = parseUsbInstanceId(disk.usbInstanceId);
  if (!ids) return msg('why.usb.badInstanceId', { disk: disk.index, id: disk.usbInstanceId });
  const revision = disk.usbHardwareIds.map((h) => REVISION.exec(h)?.[1]).find((r) => r !== undefined) ?? null;
  const classes = new Set(interfaceClassesOf(disk.usbCompatibleIds));
  for (const iface of disk.interfaces) for (const c of interfaceClassesOf(iface.compatibleIds)) classes.add(c);
  const interfaceClasses = [...classes].sort();
  const product = disk.busReportedName?.trim() || disk.model?.trim() || null;
  const isStorage = interfaceClasses.some((c) => c.startsWith('08:')) || /^(USBSTOR|SCSI)\\/i.test(disk.pnpDeviceId);
  const mountPoints = disk.volumes.flatMap((v) => v.accessPaths).filter((p) => p.length > 0);
  return {
    fingerprint: usbFingerprint({ vendorId: ids.vendorId, productId: ids.productId, serial: ids.serial, bcdDevice: revision, product }),
    vendorId: ids.vendorId,
    productId: ids.productId,
    serial: ids.serial,
    manufacturer: scsiVendor(disk.pnpDeviceId),
    product,
    interfaceClasses,
    storageWithHid: isStorage && interfaceClasses.some((c) => c.startsWith('03:')),
    sizeBytes: typeof disk.size === 'number' && disk.size > 0 ? disk.size : null,
    mountPoints,
    readOnly: disk.isReadOnly,
    duplicateSerial: false,
    location: disk.usbInstanceId,
  };
}

/** Which policy blocks writing to USB storage, or null when none does. */
export function exportBlockMechanism(policy: NonNullable<UsbMediaDocument['policy']>): string | null {
  if (policy.denyAll === 1) return 'RemovableStorageDevices\\Deny_All';
  if (policy.removableDisksDenyWrite === 1) return 'RemovableStorageDevices\\{53f5630d-b6bf-11d0-94f2-00a0c91efb8b}\\Deny_Write';
  if (policy.diskDrivesDenyWrite === 1) return 'RemovableStorageDevices\\{53f56307-b6bf-11d0-94f2-00a0c91efb8b}\\Deny_Write';
  // USBSTOR Start=4 only holds while the driver is installed (Windows resets it to 3 on reinstall) and does not cover UAS (platform-probes.md §1.1).
  if (policy.usbstorStart === 4) return 'Services\\USBSTOR\\Start=4';
  if (policy.storageWriteProtect === 1) return 'StorageDevicePolicies\\WriteProtect';
  return null;
}

/** Turn the document into facts; `enforcement` comes from the check parameters. */
export function usbMediaFacts(doc: UsbMediaDocument, enforcement: 'audit' | 'block'): CheckOutput<UsbMediaFacts> {
  const facts: Partial<UsbMediaFacts> = { enforcement };
  const out: CheckOutput<UsbMediaFacts> = { status: 'ok', facts, unknownFacts: {} };
  const errors: ScriptError[] = doc.errors;

  const disksError = partWhy(errors, 'disks') ?? partWhy(errors, 'physicaldisk');
  if (disksError) {
    setUnknown(out, 'devices', disksError);
  } else {
    const devices: UsbDevice[] = [];
    const problems: Msg[] = [];
    for (const disk of doc.disks) {
      const d = toDevice(disk);
      if ('vendorId' in d) devices.push(d);
      else problems.push(d);
    }
    if (problems.length > 0) {
      setUnknown(out, 'devices', because('USB_IDENTITY_UNREADABLE', 'why.usb.identities', { disks: problems }));
    } else {
      const counts = new Map<string, number>();
      for (const d of devices) if (d.serial) counts.set(`${d.serial}`, (counts.get(d.serial) ?? 0) + 1);
      for (const d of devices) d.duplicateSerial = d.serial !== null && (counts.get(d.serial) ?? 0) > 1;
      facts.devices = devices;
    }
  }

  const policyError = partWhy(errors, 'policy');
  if (policyError || !doc.policy) {
    setUnknown(out, ['exportBlocked', 'exportBlockMechanism'], policyError ?? because('SCRIPT_ERROR', 'why.usb.noPolicy', {}));
  } else {
    const mechanism = exportBlockMechanism(doc.policy);
    facts.exportBlocked = mechanism !== null;
    facts.exportBlockMechanism = mechanism;
  }
  return out;
}
