/**
 * screen-lock collector on Windows: machine inactivity limit and each logged-on user's
 * screen-saver settings from the registry (windows-script.ts, windows-parse.ts).
 */
import type { Collector } from '../types.js';
import { unknownOutput } from '../types.js';
import type { ScreenLockFacts } from './facts.js';
import { readPowerShellJson } from '../software/windows-common.js';
import { SCREEN_LOCK_SCRIPT } from './windows-script.js';
import { ScreenLockDocument, screenLockFacts } from './windows-parse.js';

/** Probe key of the script; also the file name in a recording (`win.screen-lock.out`). */
export const SCREEN_LOCK_KEY = 'win.screen-lock';

export const collect: Collector<ScreenLockFacts> = async (ctx) => {
  const outcome = await ctx.probes.powershell(SCREEN_LOCK_KEY, SCREEN_LOCK_SCRIPT, { timeoutMs: 30_000, lane: 'inventory' });
  const doc = readPowerShellJson(SCREEN_LOCK_KEY, outcome, ScreenLockDocument);
  if (!doc.ok) return unknownOutput(doc.why);
  return screenLockFacts(doc.data);
};
