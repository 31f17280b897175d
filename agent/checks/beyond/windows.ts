/**
 * beyond collector on Windows: firewall profiles (ActiveStore), BitLocker of the system drive
 * and W32Time state (windows-script.ts, windows-parse.ts).
 */
import type { Collector } from '../types.js';
import { unknownOutput } from '../types.js';
import type { BeyondFacts } from './facts.js';
import { readPowerShellJson } from '../software/windows-common.js';
import { BEYOND_SCRIPT } from './windows-script.js';
import { BeyondDocument, beyondFacts } from './windows-parse.js';

/** Probe key of the script; also the file name in a recording (`win.beyond.out`). */
export const BEYOND_KEY = 'win.beyond';

export const collect: Collector<BeyondFacts> = async (ctx) => {
  const outcome = await ctx.probes.powershell(BEYOND_KEY, BEYOND_SCRIPT, { timeoutMs: 60_000, lane: 'inventory' });
  const doc = readPowerShellJson(BEYOND_KEY, outcome, BeyondDocument);
  if (!doc.ok) return unknownOutput(doc.why);
  return beyondFacts(doc.data);
};
