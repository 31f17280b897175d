/**
 * antivirus collector on Windows: Get-MpComputerStatus for Defender, SecurityCenter2 for
 * third-party products (windows-script.ts); windows-parse.ts decides which product is the
 * active one and turns the document into facts.
 */
import type { Collector } from '../types.js';
import { unknownOutput } from '../types.js';
import type { AntivirusFacts } from './facts.js';
import { readPowerShellJson } from '../software/windows-common.js';
import { ANTIVIRUS_SCRIPT } from './windows-script.js';
import { AntivirusDocument, antivirusFacts } from './windows-parse.js';

/** Probe key of the script; also the file name in a recording (`win.antivirus.out`). */
export const ANTIVIRUS_KEY = 'win.antivirus';

export const collect: Collector<AntivirusFacts> = async (ctx) => {
  const outcome = await ctx.probes.powershell(ANTIVIRUS_KEY, ANTIVIRUS_SCRIPT, { timeoutMs: 60_000, lane: 'inventory' });
  const doc = readPowerShellJson(ANTIVIRUS_KEY, outcome, AntivirusDocument);
  if (!doc.ok) return unknownOutput(doc.why);
  return antivirusFacts(doc.data);
};
