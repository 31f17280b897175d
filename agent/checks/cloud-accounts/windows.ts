/** cloud-accounts collector on Windows (windows-script.ts, windows-parse.ts). */
import type { Collector } from '../types.js';
import { unknownOutput } from '../types.js';
import type { CloudAccountsFacts } from './facts.js';
import { readPowerShellJson } from '../software/windows-common.js';
import { CLOUD_ACCOUNTS_SCRIPT } from './windows-script.js';
import { CloudAccountsDocument, cloudAccountsFacts } from './windows-parse.js';

/** Probe key of the script; also the file name in a recording (`win.cloud-accounts.out`). */
export const CLOUD_ACCOUNTS_KEY = 'win.cloud-accounts';

export const collect: Collector<CloudAccountsFacts> = async (ctx) => {
  const outcome = await ctx.probes.powershell(CLOUD_ACCOUNTS_KEY, CLOUD_ACCOUNTS_SCRIPT, { timeoutMs: 60_000, lane: 'inventory' });
  const doc = readPowerShellJson(CLOUD_ACCOUNTS_KEY, outcome, CloudAccountsDocument);
  if (!doc.ok) return unknownOutput(doc.why);
  return cloudAccountsFacts(doc.data);
};
