/** logging collector on Windows (windows-script.ts, windows-parse.ts). */
import type { Collector } from '../types.js';
import { unknownOutput } from '../types.js';
import type { LoggingFacts } from './facts.js';
import { readPowerShellJson } from '../software/windows-common.js';
import { LOGGING_SCRIPT } from './windows-script.js';
import { LoggingDocument, loggingFacts } from './windows-parse.js';

/** Probe key of the script; also the file name in a recording (`win.logging.out`). */
export const LOGGING_KEY = 'win.logging';

export const collect: Collector<LoggingFacts> = async (ctx) => {
  const outcome = await ctx.probes.powershell(LOGGING_KEY, LOGGING_SCRIPT, { timeoutMs: 60_000, lane: 'inventory' });
  const doc = readPowerShellJson(LOGGING_KEY, outcome, LoggingDocument);
  if (!doc.ok) return unknownOutput(doc.why);
  return loggingFacts(doc.data);
};
