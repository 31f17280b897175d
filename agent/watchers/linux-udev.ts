/**
 * udev events → re-run of the usb-media check. Spawns
 * `udevadm monitor --udev --property --subsystem-match=usb --subsystem-match=block` and parses its
 * blank-line separated blocks. udev (not kernel) events are used where udevd runs because udev
 * has created the /dev node and its properties when it emits them (libusb/libusb#1571). Identity
 * is cached at `add`: at `remove` the sysfs attributes are already gone. udevadm is restarted
 * with backoff if it dies.
 *
 * Where udevd does not run (minimal systems, containers with a USB bus passed through) there are
 * no udev events, and the `usb` package hears nothing either (usb 3.x follows udevd's
 * broadcasts; measured on a real kernel, BENCHMARKS.md "USB on a real kernel"). The kernel's own
 * uevents still come: `udevadm monitor --kernel` prints them in the same block shape, without
 * udev's ID_* properties. A mass-storage interface (`INTERFACE=8/…`) identifies a stick there.
 *
 * No waiting to batch events: the first event that identifies a stick (the USB device with its
 * serial, or its block disk) triggers the check at once, and each later one (the disk after the
 * device, a medium change) triggers it again. The agent runs one check at a time per check and
 * queues one re-run behind a run in progress (agent/check-lanes.ts); the findings keep one open
 * violation per stick, so re-judging never reports it twice.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Trigger, Watcher } from './types.js';

/** One udev event block. */
export interface UdevEvent {
  action: string;
  devpath: string;
  subsystem: string;
  properties: Map<string, string>;
}

/**
 * Incremental parser of `udevadm monitor --udev --property` output (and `--kernel`, whose blocks
 * start with `KERNEL[…]`). A block starts with
 * `UDEV  [1234.567890] add      /devices/… (usb)` followed by `KEY=value` lines and ends with a
 * blank line; the two banner lines at start ("monitor will print …", "UDEV - the event …") are
 * not blocks. Chunks may split lines anywhere.
 */
export class UdevBlockParser {
  private buffer = '';

  push(chunk: string): UdevEvent[] {
    this.buffer += chunk;
    const events: UdevEvent[] = [];
    let sep: number;
    while ((sep = this.buffer.search(/\n[ \t]*\n/)) >= 0) {
      const block = this.buffer.slice(0, sep);
      this.buffer = this.buffer.slice(sep).replace(/^\n[ \t]*\n/, '');
      const ev = parseUdevBlock(block);
      if (ev) events.push(ev);
    }
    return events;
  }
}

/** Parse one block; null for banners and blocks without ACTION/DEVPATH. */
export function parseUdevBlock(block: string): UdevEvent | null {
  const properties = new Map<string, string>();
  for (const line of block.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && /^[A-Z0-9_.]+$/.test(line.slice(0, eq))) properties.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const action = properties.get('ACTION');
  const devpath = properties.get('DEVPATH');
  if (!action || !devpath) return null;
  return { action, devpath, subsystem: properties.get('SUBSYSTEM') ?? '', properties };
}

/** What the watcher remembers of a USB storage device from its `add` event. */
export interface CachedIdentity {
  vendorId: string;
  productId: string;
  serial: string | null;
}

/** `ID_USB_INTERFACES=:080650:030102:` → has a mass-storage (class 08) interface. */
export function hasStorageInterface(interfaces: string | undefined): boolean {
  return (interfaces ?? '').split(':').some((i) => /^08[0-9a-f]{4}$/i.test(i));
}

/**
 * Decide whether an event concerns USB storage, keeping the identity cache current.
 * usb_device add/remove with a class-08 interface, and block disks on the USB bus (a medium
 * inserted into a card reader is a `change` of the disk).
 */
export function usbStorageReason(ev: UdevEvent, cache: Map<string, CachedIdentity>): string | null {
  const p = ev.properties;
  if (ev.subsystem === 'usb' && p.get('DEVTYPE') === 'usb_device') {
    if (ev.action === 'add' || ev.action === 'bind') {
      if (!hasStorageInterface(p.get('ID_USB_INTERFACES'))) return null;
      const id: CachedIdentity = { vendorId: p.get('ID_VENDOR_ID') ?? '????', productId: p.get('ID_MODEL_ID') ?? '????', serial: p.get('ID_SERIAL_SHORT') ?? null };
      const known = cache.has(ev.devpath);
      cache.set(ev.devpath, id);
      return known ? null : `udev add ${describe(ev.devpath, id)}`;
    }
    if (ev.action === 'remove') {
      const id = cache.get(ev.devpath);
      if (!id) return null;
      cache.delete(ev.devpath);
      return `udev remove ${describe(ev.devpath, id)}`;
    }
    return null;
  }
  if (ev.subsystem === 'block' && p.get('ID_BUS') === 'usb' && p.get('DEVTYPE') === 'disk' && ['add', 'remove', 'change'].includes(ev.action)) {
    return `udev ${ev.action} ${p.get('DEVNAME') ?? ev.devpath}`;
  }
  return null;
}

/**
 * The same decision on kernel uevents (`udevadm monitor --kernel`): the usb_device's own `add`
 * comes before its interfaces exist, so a stick is recognised by the `add` of its interface with
 * class 08 (`INTERFACE=8/6/80`, class/subclass/protocol in decimal, drivers/usb/core/message.c
 * usb_if_uevent); the device's ids come from that event's `PRODUCT=vid/pid/bcd` (hex without
 * leading zeros) and the serial from sysfs, read while the device is there. Disks on the USB bus
 * are block events whose DEVPATH runs through a USB device (`…/usb2/2-1/2-1:1.0/host0/…`).
 */
export function kernelUsbStorageReason(ev: UdevEvent, cache: Map<string, CachedIdentity>, readSerial: (devicePath: string) => string | null): string | null {
  const p = ev.properties;
  if (ev.subsystem === 'usb' && p.get('DEVTYPE') === 'usb_interface' && (ev.action === 'add' || ev.action === 'bind')) {
    if (!/^8\//.test(p.get('INTERFACE') ?? '')) return null;
    const device = ev.devpath.slice(0, ev.devpath.lastIndexOf('/'));
    if (cache.has(device)) return null;
    const [vid, pid] = (p.get('PRODUCT') ?? '').split('/');
    const hex = (v: string | undefined) => (v && /^[0-9a-f]{1,4}$/i.test(v) ? v.toLowerCase().padStart(4, '0') : '????');
    const id: CachedIdentity = { vendorId: hex(vid), productId: hex(pid), serial: readSerial(device) };
    cache.set(device, id);
    return `kernel add ${describe(device, id)}`;
  }
  if (ev.subsystem === 'usb' && p.get('DEVTYPE') === 'usb_device' && ev.action === 'remove') {
    const id = cache.get(ev.devpath);
    if (!id) return null;
    cache.delete(ev.devpath);
    return `kernel remove ${describe(ev.devpath, id)}`;
  }
  if (ev.subsystem === 'block' && p.get('DEVTYPE') === 'disk' && /\/usb\d+\//.test(ev.devpath) && ['add', 'remove', 'change'].includes(ev.action)) {
    return `kernel ${ev.action} ${p.get('DEVNAME') ?? ev.devpath}`;
  }
  return null;
}

/** The serial string of a USB device from sysfs (absent when the device has none, drivers/usb/core/sysfs.c). */
export function sysfsSerial(sysfsRoot: string): (devicePath: string) => string | null {
  return (devicePath) => {
    try {
      return readFileSync(`${sysfsRoot}${devicePath}/serial`, 'utf8').trim() || null;
    } catch {
      return null;
    }
  };
}

function describe(devpath: string, id: CachedIdentity): string {
  return `${devpath.split('/').pop()} ${id.vendorId}:${id.productId}${id.serial ? ` serial ${id.serial}` : ' (no serial)'}`;
}

export interface UdevWatcherOptions {
  /** Program and arguments; the default is udevadm monitor. Tests pass a recorded event stream. */
  command?: string;
  args?: string[];
  /** First restart delay after udevadm exits; doubles up to maxBackoffMs, reset after 30 s of stable running. */
  backoffMs?: number;
  maxBackoffMs?: number;
  log?: { warn(message: string): void; info(message: string): void };
  /** udev's events (default) or, where udevd does not run, the kernel's uevents. */
  source?: 'udev' | 'kernel';
  /** sysfs mount point, for a stick's serial with kernel events (default /sys). */
  sysfsRoot?: string;
}

export const UDEVADM_ARGS = ['monitor', '--udev', '--property', '--subsystem-match=usb', '--subsystem-match=block'];
export const UDEVADM_KERNEL_ARGS = ['monitor', '--kernel', '--property', '--subsystem-match=usb', '--subsystem-match=block'];

/** The udev watcher (or, with source 'kernel', the kernel uevent watcher): triggers 'usb-media'. */
export class LinuxUdevWatcher implements Watcher {
  readonly name: string;
  private child: ChildProcess | null = null;
  private stopped = true;
  private backoff: number;
  private restartTimer: NodeJS.Timeout | null = null;
  readonly identities = new Map<string, CachedIdentity>();
  /** How often udevadm was (re)started. */
  starts = 0;

  private readonly reasonOf: (ev: UdevEvent) => string | null;

  constructor(private readonly opts: UdevWatcherOptions = {}) {
    this.backoff = opts.backoffMs ?? 1000;
    const kernel = opts.source === 'kernel';
    this.name = kernel ? 'linux-uevent' : 'linux-udev';
    const serial = sysfsSerial(opts.sysfsRoot ?? '/sys');
    this.reasonOf = kernel ? (ev) => kernelUsbStorageReason(ev, this.identities, serial) : (ev) => usbStorageReason(ev, this.identities);
  }

  async start(trigger: Trigger): Promise<void> {
    this.stopped = false;
    this.spawn(trigger);
  }

  private spawn(trigger: Trigger): void {
    const command = this.opts.command ?? '/usr/bin/udevadm';
    const startedAt = Date.now();
    const parser = new UdevBlockParser();
    const child = spawn(command, this.opts.args ?? (this.opts.source === 'kernel' ? UDEVADM_KERNEL_ARGS : UDEVADM_ARGS), { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, LC_ALL: 'C' } });
    this.child = child;
    this.starts++;
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      for (const ev of parser.push(chunk)) {
        const reason = this.reasonOf(ev);
        if (reason) trigger('usb-media', reason);
      }
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      // No udevadm (containers, minimal installs): the scheduled runs cover usb-media.
      if (err.code === 'ENOENT') {
        this.opts.log?.warn(`udev watcher: ${command} not found; USB changes are seen at the next scheduled check`);
        this.stopped = true;
      }
    });
    child.on('close', () => {
      if (this.child === child) this.child = null;
      if (this.stopped) return;
      if (Date.now() - startedAt > 30_000) this.backoff = this.opts.backoffMs ?? 1000;
      const delay = this.backoff;
      this.backoff = Math.min(this.backoff * 2, this.opts.maxBackoffMs ?? 60_000);
      this.opts.log?.warn(`udev watcher: ${command} exited; restarting in ${delay} ms`);
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        if (!this.stopped) this.spawn(trigger);
      }, delay);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const child = this.child;
    this.child = null;
    if (child && child.exitCode === null) {
      const closed = new Promise((r) => child.once('close', r));
      child.kill('SIGTERM');
      await closed;
    }
  }
}
