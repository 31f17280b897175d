/**
 * The Linux event sources: USB storage (usb-media) and install locations (software).
 *
 * USB: udev's events where udev runs (systemd-udevd's control socket /run/udev/control exists),
 * else the `usb` package's hot-plug. Not both at once: on a real kernel (QEMU, BENCHMARKS.md
 * "USB on a real kernel") the usb package's connect event came with udev's (median 9 ms after,
 * from 56 ms before to 344 ms after), so running it beside udev only adds a second run of the
 * check. Without
 * udevd it stayed silent there (it follows udevd's broadcasts, not the kernel's uevents): where
 * udevd is absent, USB changes are seen at the next scheduled run.
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
