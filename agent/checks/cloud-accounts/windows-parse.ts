/** Parser of the `win.cloud-accounts` document (see windows-script.ts). */
import { z } from 'zod';
import type { CheckOutput } from '../types.js';
import type { CloudAccount, CloudAccountsFacts } from './facts.js';
import { partWhy, SERVICE_SID } from '../software/windows-common.js';
import { because, setUnknown } from '../why.js';
import { unknownOutput } from '../types.js';

export const CloudAccountsDocument = z.object({
  schema: z.literal('mamori.win.cloud-accounts/1'),
  users: z.array(z.object({ sid: z.string(), name: z.string().nullable(), onedrive: z.array(z.string()), dropbox: z.array(z.string()).nullable(), driveFs: z.array(z.string()), error: z.string().nullable() })).nullable(),
  errors: z.array(z.object({ part: z.string(), message: z.string() })),
});
export type CloudAccountsDocument = z.infer<typeof CloudAccountsDocument>;

export function cloudAccountsFacts(doc: CloudAccountsDocument): CheckOutput<CloudAccountsFacts> {
  if (!doc.users) return unknownOutput(partWhy(doc.errors, 'users') ?? because('SCRIPT_ERROR', 'why.cloud.noUsers', {}));
  const accounts: CloudAccount[] = [];
  const failed: string[] = [];
  for (const u of doc.users.filter((x) => !SERVICE_SID.test(x.sid))) {
    const user = u.name ?? u.sid;
    if (u.error) failed.push(`${user} (${u.error})`);
    for (const key of u.onedrive) {
      if (key === 'Personal') accounts.push({ user, service: 'onedrive-personal' });
      else if (/^Business\d+$/.test(key)) accounts.push({ user, service: 'onedrive-business' });
    }
    for (const key of u.dropbox ?? []) if (key === 'personal' || key === 'business') accounts.push({ user, service: `dropbox-${key}` });
    if (u.driveFs.length > 0) accounts.push({ user, service: 'google-drive' });
  }
  const out: CheckOutput<CloudAccountsFacts> = { status: 'ok', facts: { cloudAccounts: accounts }, unknownFacts: {} };
  if (failed.length > 0) setUnknown(out, 'cloudAccounts', because('SCRIPT_ERROR', 'why.cloud.profilesUnread', { users: failed }));
  return out;
}
