/** services collector on Windows (windows-script.ts, windows-parse.ts). */
import type { Collector } from '../types.js';
import { unknownOutput } from '../types.js';
import type { ServicesFacts } from './facts.js';
import { readPowerShellJson } from '../software/windows-common.js';
import { SERVICES_SCRIPT } from './windows-script.js';
import { ServicesDocument, servicesFacts } from './windows-parse.js';

/** Probe key of the script; also the file name in a recording (`win.services.out`). */
export const SERVICES_KEY = 'win.services';

export const collect: Collector<ServicesFacts> = async (ctx) => {
  // Get-WindowsOptionalFeature goes through DISM and takes seconds; the inventory lane runs it off the interactive path.
  const outcome = await ctx.probes.powershell(SERVICES_KEY, SERVICES_SCRIPT, { timeoutMs: 120_000, lane: 'inventory' });
  const doc = readPowerShellJson(SERVICES_KEY, outcome, ServicesDocument);
  if (!doc.ok) return unknownOutput(doc.why);
  return servicesFacts(doc.data);
};
