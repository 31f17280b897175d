/**
 * The `usb` package (3.x, WebUSB-style) as an extra "something was plugged" trigger for
 * usb-media. Guarded: usb 3.x reads /sys/bus/usb/devices itself and, where that does not exist
 * (VMs, containers, CI), its listener setup ends in an unhandled rejection that kills Node
 * (its internal `nativeGetDevices()` has no catch). So the watcher starts only when the folder
 * exists AND a first `getDevices()` succeeds (its rejection is caught here).
 */
import { existsSync } from 'node:fs';
import type { Trigger, Watcher } from './types.js';

export interface UsbHotplugOptions {
  /** Where usb 3.x looks; the guard checks the same place. */
  sysfsDevicesDir?: string;
  log?: { warn(message: string): void; info(message: string): void };
  /** The module loader (tests inject one); default imports `usb`. */
  load?: () => Promise<{ usb: UsbLike }>;
}

/** The part of usb 3.x's WebUSB object this watcher uses. */
export interface UsbLike {
  getDevices(): Promise<unknown[]>;
  addEventListener(type: 'connect' | 'disconnect', listener: (ev: { device?: { vendorId?: number; productId?: number } }) => void): void;
  removeEventListener(type: 'connect' | 'disconnect', listener: (ev: { device?: { vendorId?: number; productId?: number } }) => void): void;
}

export class UsbHotplugWatcher implements Watcher {
  readonly name = 'usb-hotplug';
  private usb: UsbLike | null = null;
  private listener: ((ev: { device?: { vendorId?: number; productId?: number } }) => void) | null = null;
  /** Why it did not start, when it did not. */
  notStarted: string | null = null;

  constructor(private readonly opts: UsbHotplugOptions = {}) {}

  async start(trigger: Trigger): Promise<void> {
    const dir = this.opts.sysfsDevicesDir ?? '/sys/bus/usb/devices';
    if (!existsSync(dir)) {
      this.notStarted = `${dir} does not exist (no USB subsystem)`;
      this.opts.log?.info(`usb hotplug watcher not started: ${this.notStarted}`);
      return;
    }
    try {
      const mod = await (this.opts.load ?? (async () => (await import('usb')) as unknown as { usb: UsbLike }))();
      await mod.usb.getDevices();
      this.usb = mod.usb;
    } catch (err) {
      this.notStarted = `usb module unusable: ${(err as Error).message}`;
      this.opts.log?.warn(`usb hotplug watcher not started: ${this.notStarted}`);
      return;
    }
    const hex = (n: number | undefined): string => (n ?? 0).toString(16).padStart(4, '0');
    this.listener = (ev) => trigger('usb-media', `usb hotplug ${hex(ev.device?.vendorId)}:${hex(ev.device?.productId)}`);
    this.usb.addEventListener('connect', this.listener);
    this.usb.addEventListener('disconnect', this.listener);
  }

  async stop(): Promise<void> {
    if (this.usb && this.listener) {
      this.usb.removeEventListener('connect', this.listener);
      this.usb.removeEventListener('disconnect', this.listener);
    }
    this.usb = null;
    this.listener = null;
  }
}
