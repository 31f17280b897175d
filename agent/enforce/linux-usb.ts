/**
 * Optional USB enforcement on Linux (`enforcement: block`; the default `audit` never calls this):
 * de-authorise an unregistered USB storage device by writing 0 to its sysfs `authorized`
 * attribute, as USBGuard does (kernel Documentation/usb/authorization.rst). The kernel then
 * unbinds its drivers; the device stays visible but unusable until re-authorised or re-plugged.
 *
 * Safety: a device with any HID interface (class 03: keyboard, mouse — a BadUSB stick also
 * types), a hub (class 09), a root hub, or a device without a mass-storage interface is never
 * de-authorised — the PC must stay operable. The classes are re-read from sysfs; the caller's list
 * is only a cross-check.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type BlockResult =
  | { action: 'deauthorized'; location: string }
  | { action: 'refused'; location: string; reason: string };

/** sysfs port path of a device: `2-1`, `1-4.2` (not a root hub `usb1`, not an interface `2-1:1.0`). */
const LOCATION = /^\d+-\d+(\.\d+)*$/;

function readClass(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim().toLowerCase().padStart(2, '0');
  } catch {
    return null;
  }
}

/**
 * De-authorise the USB device at `location` under `<sysfsRoot>/bus/usb/devices`, if it is plain
 * mass storage. `interfaceClasses` are the `cc:ss:pp` triples the usb-media facts reported.
 */
export function blockDevice(sysfsRoot: string, location: string, interfaceClasses: readonly string[]): BlockResult {
  const refuse = (reason: string): BlockResult => ({ action: 'refused', location, reason });
  if (!LOCATION.test(location)) return refuse('not a USB device port path');
  const dir = join(sysfsRoot, 'bus', 'usb', 'devices', location);
  if (!existsSync(join(dir, 'authorized'))) return refuse(`${dir}/authorized does not exist`);

  const classes = new Set(interfaceClasses.map((c) => c.slice(0, 2).toLowerCase()));
  const deviceClass = readClass(join(dir, 'bDeviceClass'));
  if (deviceClass === null) return refuse('bDeviceClass unreadable');
  classes.add(deviceClass);
  let entries: string[];
  try {
    entries = readdirSync(join(sysfsRoot, 'bus', 'usb', 'devices'));
  } catch {
    return refuse('interfaces unreadable');
  }
  for (const iface of entries.filter((n) => n.startsWith(`${location}:`))) {
    const c = readClass(join(sysfsRoot, 'bus', 'usb', 'devices', iface, 'bInterfaceClass'));
    if (c === null) return refuse(`${iface}: bInterfaceClass unreadable`);
    classes.add(c);
  }
  if (classes.has('03')) return refuse('has a HID interface (keyboard/mouse): never blocked');
  if (classes.has('09')) return refuse('is a hub: never blocked');
  if (!classes.has('08')) return refuse('has no mass-storage interface');
  try {
    writeFileSync(join(dir, 'authorized'), '0');
  } catch (err) {
    return refuse(`write failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return { action: 'deauthorized', location };
}
