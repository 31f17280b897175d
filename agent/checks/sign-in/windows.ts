/** sign-in collector on Windows: security template export and Winlogon values (windows-script.ts, windows-parse.ts). */
import type { Collector } from '../types.js';
import { unknownOutput } from '../types.js';
import type { SignInFacts } from './facts.js';
import { readPowerShellJson } from '../software/windows-common.js';
import { SIGN_IN_SCRIPT } from './windows-script.js';
import { SignInDocument, signInFacts } from './windows-parse.js';

/** Probe key of the script; also the file name in a recording (`win.sign-in.out`). */
export const SIGN_IN_KEY = 'win.sign-in';

export const collect: Collector<SignInFacts> = async (ctx) => {
  const outcome = await ctx.probes.powershell(SIGN_IN_KEY, SIGN_IN_SCRIPT, { timeoutMs: 60_000, lane: 'inventory' });
  const doc = readPowerShellJson(SIGN_IN_KEY, outcome, SignInDocument);
  if (!doc.ok) return unknownOutput(doc.why);
  return signInFacts(doc.data);
};
