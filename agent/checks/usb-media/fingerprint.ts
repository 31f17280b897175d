/**
 * The identity of a USB medium in the 媒体管理台帳, the same on Windows and Linux for the
 * same stick: "vvvv:pppp:SERIAL" (ids lower-case hex, serial trimmed and upper-cased, because
 * Windows upper-cases instance ids while sysfs keeps the device's case), or, for a device
 * without a serial, "vvvv:pppp:nos-<hash12>" with SHA-256 over ids, bcdDevice and the USB
 * product string — the descriptors both OSes expose (sysfs bcdDevice/product; Windows
 * REV_xxxx of the hardware id and DEVPKEY_Device_BusReportedDeviceDesc). Such a device is
 * recognisable as a model, never as one particular stick.
 */
import { createHash } from 'node:crypto';

export interface UsbIdentityParts {
  vendorId: string;
  productId: string;
  serial: string | null;
  bcdDevice: string | null;
  product: string | null;
}

export function normaliseSerial(serial: string | null): string | null {
  const s = serial?.trim().toUpperCase() ?? '';
  return s === '' ? null : s;
}

export function usbFingerprint(id: UsbIdentityParts): string {
  const vp = `${id.vendorId.toLowerCase()}:${id.productId.toLowerCase()}`;
  const serial = normaliseSerial(id.serial);
  if (serial) return `${vp}:${serial}`;
  const material = [vp, (id.bcdDevice ?? '').trim().toLowerCase(), (id.product ?? '').trim()].join('\n');
  return `${vp}:nos-${createHash('sha256').update(material).digest('hex').slice(0, 12)}`;
}
