/**
 * The Linux event sources: USB storage (usb-media) and install locations (software).
 *
 * USB: udev's events where udev runs (systemd-udevd's control socket /run/udev/control exists),
 * else the `usb` package's hot-plug (the addon reads the kernel's uevents itself: containers and
 * minimal systems without udevd). Not both at once: the udev event comes after udev has created
 * the device node and its properties, which the usb-media check reads; BENCHMARKS.md ("USB on a
 * real kernel") has which of the two arrives first.
 */
import { existsSync } from 'node:fs';
import { LinuxUdevWatcher } from './linux-udev.js';
import { SoftwareFilesWatcher } from './software-files.js';
import { UsbHotplugWatcher } from './usb-hotplug.js';
import type { Watcher } from './types.js';

export interface LinuxWatcherOptions {
  log?: { warn(message: string): void; info(message: string): void };
  /** sysfs mount point (default /sys). */
  sysfsRoot?: string;
  udevadmPath?: string;
  /** systemd-udevd's control socket: its presence means udev runs (default /run/udev/control, udev(7)). */
  udevControlPath?: string;
  softwarePaths?: string[];
}

export function linuxWatchers(opts: LinuxWatcherOptions = {}): Watcher[] {
  const log = opts.log ? { log: opts.log } : {};
  const udevRuns = existsSync(opts.udevControlPath ?? '/run/udev/control');
  if (!udevRuns) opts.log?.info('udev is not running here: USB changes come from the usb package hot-plug events');
  return [
    udevRuns
      ? new LinuxUdevWatcher({ ...(opts.udevadmPath ? { command: opts.udevadmPath } : {}), ...log })
      : new UsbHotplugWatcher({ sysfsDevicesDir: `${opts.sysfsRoot ?? '/sys'}/bus/usb/devices`, ...log }),
    new SoftwareFilesWatcher({ ...(opts.softwarePaths ? { paths: opts.softwarePaths } : {}), ...log }),
  ];
}
