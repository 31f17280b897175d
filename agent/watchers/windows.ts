/** The watchers the agent runs on Windows. */
import type { Watcher } from './types.js';
import type { WindowsDeviceWatcherOptions } from './windows-devices.js';
import { WindowsDeviceWatcher } from './windows-devices.js';

export function windowsWatchers(opts: WindowsDeviceWatcherOptions = {}): Watcher[] {
  return [new WindowsDeviceWatcher(opts)];
}
