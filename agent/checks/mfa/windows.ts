/** mfa collector on Windows (windows-script.ts, windows-parse.ts). */
import type { Collector } from '../types.js';
import { unknownOutput } from '../types.js';
import type { MfaFacts } from './facts.js';
import { readPowerShellJson } from '../software/windows-common.js';
import { MFA_SCRIPT } from './windows-script.js';
import { MfaDocument, mfaFacts } from './windows-parse.js';

/** Probe key of the script; also the file name in a recording (`win.mfa.out`). */
export const MFA_KEY = 'win.mfa';

export const collect: Collector<MfaFacts> = async (ctx) => {
  const outcome = await ctx.probes.powershell(MFA_KEY, MFA_SCRIPT, { timeoutMs: 60_000, lane: 'inventory' });
  const doc = readPowerShellJson(MFA_KEY, outcome, MfaDocument);
  if (!doc.ok) return unknownOutput(doc.why);
  return mfaFacts(doc.data);
};
