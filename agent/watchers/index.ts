/** The event sources of this platform, started by `mamori agent run`. */
import type { Logger } from '../../src/shared/log.js';
import { linuxWatchers } from './linux.js';
import type { Watcher } from './types.js';
import { windowsWatchers } from './windows.js';

export interface WatcherOptions {
  log: Logger;
}

export function platformWatchers(opts: WatcherOptions): Watcher[] {
  const log = { warn: (m: string, meta?: Record<string, unknown>) => opts.log.warn(m, meta), info: (m: string) => opts.log.info(m) };
  if (process.platform === 'win32') return windowsWatchers({ log });
  if (process.platform === 'linux') return linuxWatchers({ log });
  return [];
}
