/** Parser of the `win.local-accounts` document (see windows-script.ts). */
import { z } from 'zod';
import type { CheckOutput } from '../types.js';
import type { LocalAccountsFacts } from './facts.js';
import { isoOrNull, partWhy } from '../software/windows-common.js';
import { because } from '../why.js';
import { unknownOutput } from '../types.js';

export const LocalAccountsDocument = z.object({
  schema: z.literal('mamori.win.local-accounts/1'),
  users: z.array(z.object({ Name: z.string(), SID: z.string(), Enabled: z.boolean(), LastLogon: z.string().nullable() })).nullable(),
  errors: z.array(z.object({ part: z.string(), message: z.string() })),
});
export type LocalAccountsDocument = z.infer<typeof LocalAccountsDocument>;

export function localAccountsFacts(doc: LocalAccountsDocument): CheckOutput<LocalAccountsFacts> {
  if (!doc.users) return unknownOutput(partWhy(doc.errors, 'users') ?? because('SCRIPT_ERROR', 'why.accounts.noUsers', {}));
  return { status: 'ok', facts: { localAccounts: doc.users.map((u) => ({ name: u.Name, enabled: u.Enabled, lastLogonAt: isoOrNull(u.LastLogon) })) }, unknownFacts: {} };
}
