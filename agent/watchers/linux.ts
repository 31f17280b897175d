/** The Linux event sources: udev (usb-media), the usb package's hot-plug (usb-media), install locations (software). */
import { LinuxUdevWatcher } from './linux-udev.js';
import { SoftwareFilesWatcher } from './software-files.js';
import { UsbHotplugWatcher } from './usb-hotplug.js';
import type { Watcher } from './types.js';

export interface LinuxWatcherOptions {
  log?: { warn(message: string): void; info(message: string): void };
  /** sysfs mount point (default /sys). */
  sysfsRoot?: string;
  udevadmPath?: string;
  softwarePaths?: string[];
}

export function linuxWatchers(opts: LinuxWatcherOptions = {}): Watcher[] {
  return [
    new LinuxUdevWatcher({ ...(opts.udevadmPath ? { command: opts.udevadmPath } : {}), ...(opts.log ? { log: opts.log } : {}) }),
    new UsbHotplugWatcher({ sysfsDevicesDir: `${opts.sysfsRoot ?? '/sys'}/bus/usb/devices`, ...(opts.log ? { log: opts.log } : {}) }),
    new SoftwareFilesWatcher({ ...(opts.softwarePaths ? { paths: opts.softwarePaths } : {}), ...(opts.log ? { log: opts.log } : {}) }),
  ];
}
