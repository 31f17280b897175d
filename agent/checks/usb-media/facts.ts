/** Facts of the usb-media check: the USB mass-storage devices attached now, and the storage policy of the PC. */
import { z } from 'zod';

export const UsbDevice = z.object({
  fingerprint: z
    .string()
    .describe(
      'Identity used by the 媒体管理台帳: "VVVV:PPPP:SERIAL" (hex ids lower-case, serial upper-case and trimmed), or "VVVV:PPPP:nos-<hash12>" for a device without a serial (hash over its descriptors).',
    ),
  vendorId: z.string().describe('USB idVendor, 4 lower-case hex digits'),
  productId: z.string().describe('USB idProduct, 4 lower-case hex digits'),
  serial: z.string().nullable().describe('The device serial (iSerial), upper-cased; null when the device has none (Windows-generated ids count as none)'),
  manufacturer: z.string().nullable(),
  product: z.string().nullable(),
  interfaceClasses: z.array(z.string()).describe('Interfaces as "cc:ss:pp" hex (08:06:50 = mass storage, SCSI, bulk-only)'),
  storageWithHid: z.boolean().describe('The device is mass storage and also a keyboard/HID (a BadUSB pattern)'),
  sizeBytes: z.number().nullable().describe('Size of the medium, null when no medium or unknown'),
  mountPoints: z.array(z.string()),
  readOnly: z.boolean().nullable(),
  duplicateSerial: z.boolean().describe('Another attached device reports the same serial'),
  location: z.string().describe('Where the OS sees it: sysfs port path ("2-1") or PnP instance id'),
});
export type UsbDevice = z.infer<typeof UsbDevice>;

export const UsbMediaFacts = z.object({
  devices: z.array(UsbDevice).describe('USB mass-storage devices attached now'),
  exportBlocked: z
    .boolean()
    .describe('Writing to USB storage is technically prevented on this PC (Windows: RemovableStorageDevices Deny_All/Deny_Write or USBSTOR disabled; Linux: usb-storage/uas blacklisted or USBGuard blocks class 08)'),
  exportBlockMechanism: z.string().nullable().describe('Which mechanism blocks export, e.g. "RemovableStorageDevices\\Deny_All"'),
  enforcement: z.enum(['audit', 'block']).describe('Agent enforcement mode: block de-authorises unregistered storage devices'),
});
export type UsbMediaFacts = z.infer<typeof UsbMediaFacts>;
