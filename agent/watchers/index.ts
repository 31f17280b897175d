/** The event sources of this platform, started by `mamori agent run`. */
import type { Logger } from '../../src/shared/log.js';
import type { Watcher } from './types.js';

export interface WatcherOptions {
  log: Logger;
  usbEnforcement: 'audit' | 'block';
}

export function platformWatchers(opts: WatcherOptions): Watcher[] {
  void opts;
  return [];
}
