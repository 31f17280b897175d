/** local-accounts collector on Windows (windows-script.ts, windows-parse.ts). */
import type { Collector } from '../types.js';
import { unknownOutput } from '../types.js';
import type { LocalAccountsFacts } from './facts.js';
import { readPowerShellJson } from '../software/windows-common.js';
import { LOCAL_ACCOUNTS_SCRIPT } from './windows-script.js';
import { LocalAccountsDocument, localAccountsFacts } from './windows-parse.js';

/** Probe key of the script; also the file name in a recording (`win.local-accounts.out`). */
export const LOCAL_ACCOUNTS_KEY = 'win.local-accounts';

export const collect: Collector<LocalAccountsFacts> = async (ctx) => {
  const outcome = await ctx.probes.powershell(LOCAL_ACCOUNTS_KEY, LOCAL_ACCOUNTS_SCRIPT, { timeoutMs: 60_000, lane: 'inventory' });
  const doc = readPowerShellJson(LOCAL_ACCOUNTS_KEY, outcome, LocalAccountsDocument);
  if (!doc.ok) return unknownOutput(doc.why);
  return localAccountsFacts(doc.data);
};
