/** wireless collector on Windows (windows-script.ts, windows-parse.ts). */
import type { Collector } from '../types.js';
import { unknownOutput } from '../types.js';
import type { WirelessFacts } from './facts.js';
import { readPowerShellJson } from '../software/windows-common.js';
import { WIRELESS_SCRIPT } from './windows-script.js';
import { WirelessDocument, wirelessFacts } from './windows-parse.js';

/** Probe key of the script; also the file name in a recording (`win.wireless.out`). */
export const WIRELESS_KEY = 'win.wireless';

export const collect: Collector<WirelessFacts> = async (ctx) => {
  const outcome = await ctx.probes.powershell(WIRELESS_KEY, WIRELESS_SCRIPT, { timeoutMs: 60_000, lane: 'inventory' });
  const doc = readPowerShellJson(WIRELESS_KEY, outcome, WirelessDocument);
  if (!doc.ok) return unknownOutput(doc.why);
  return wirelessFacts(doc.data);
};
