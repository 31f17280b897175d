/**
 * The Linux event sources: USB storage (usb-media) and install locations (software).
 *
 * USB, the first that works here:
 * - udev's events where udevd runs (its control socket /run/udev/control exists);
 * - else the kernel's uevents through `udevadm monitor --kernel`, which needs no udevd: on a real
 *   kernel they came before udev's (BENCHMARKS.md "USB on a real kernel"), while the `usb`
 *   package heard nothing without udevd (usb 3.x follows udevd's broadcasts);
 * - else (no udevadm at all) the `usb` package's hot-plug events.
 * Never two at once: each event would only run the check a second time.
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
  const udevadm = opts.udevadmPath ?? '/usr/bin/udevadm';
  const sysfsRoot = opts.sysfsRoot ?? '/sys';
  const udevRuns = existsSync(opts.udevControlPath ?? '/run/udev/control');
  let usb: Watcher;
  if (udevRuns) usb = new LinuxUdevWatcher({ command: udevadm, ...log });
  else if (existsSync(udevadm)) {
    opts.log?.info('udev is not running here: USB changes come from the kernel uevents (udevadm monitor --kernel)');
    usb = new LinuxUdevWatcher({ command: udevadm, source: 'kernel', sysfsRoot, ...log });
  } else {
    opts.log?.info(`neither udev nor ${udevadm} here: USB changes come from the usb package hot-plug events`);
    usb = new UsbHotplugWatcher({ sysfsDevicesDir: `${sysfsRoot}/bus/usb/devices`, ...log });
  }
  return [usb, new SoftwareFilesWatcher({ ...(opts.softwarePaths ? { paths: opts.softwarePaths } : {}), ...log })];
}
