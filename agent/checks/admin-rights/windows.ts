/** admin-rights collector on Windows (windows-script.ts, windows-parse.ts). */
import type { Collector } from '../types.js';
import { unknownOutput } from '../types.js';
import type { AdminRightsFacts } from './facts.js';
import { readPowerShellJson } from '../software/windows-common.js';
import { ADMIN_RIGHTS_SCRIPT } from './windows-script.js';
import { AdminRightsDocument, adminRightsFacts } from './windows-parse.js';

/** Probe key of the script; also the file name in a recording (`win.admin-rights.out`). */
export const ADMIN_RIGHTS_KEY = 'win.admin-rights';

export const collect: Collector<AdminRightsFacts> = async (ctx) => {
  const outcome = await ctx.probes.powershell(ADMIN_RIGHTS_KEY, ADMIN_RIGHTS_SCRIPT, { timeoutMs: 60_000, lane: 'inventory' });
  const doc = readPowerShellJson(ADMIN_RIGHTS_KEY, outcome, AdminRightsDocument);
  if (!doc.ok) return unknownOutput(doc.why);
  return adminRightsFacts(doc.data);
};
