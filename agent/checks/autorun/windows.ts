/** autorun collector on Windows (windows-script.ts, windows-parse.ts). */
import type { Collector } from '../types.js';
import { unknownOutput } from '../types.js';
import type { AutorunFacts } from './facts.js';
import { readPowerShellJson } from '../software/windows-common.js';
import { AUTORUN_SCRIPT } from './windows-script.js';
import { AutorunDocument, autorunFacts } from './windows-parse.js';

/** Probe key of the script; also the file name in a recording (`win.autorun.out`). */
export const AUTORUN_KEY = 'win.autorun';

export const collect: Collector<AutorunFacts> = async (ctx) => {
  const outcome = await ctx.probes.powershell(AUTORUN_KEY, AUTORUN_SCRIPT, { timeoutMs: 60_000, lane: 'inventory' });
  const doc = readPowerShellJson(AUTORUN_KEY, outcome, AutorunDocument);
  if (!doc.ok) return unknownOutput(doc.why);
  return autorunFacts(doc.data);
};
