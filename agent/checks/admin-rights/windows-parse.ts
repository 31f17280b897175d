/** Parser of the `win.admin-rights` document (see windows-script.ts). */
import { z } from 'zod';
import type { CheckOutput } from '../types.js';
import type { AdminRightsFacts, InteractiveUser } from './facts.js';
import { partWhy } from '../software/windows-common.js';
import { msg, type Msg } from '../../../src/shared/i18n/index.js';
import { allOf, because, setUnknown } from '../why.js';

const Member = z.object({ path: z.string(), sid: z.string().nullable(), class: z.string() });
export const AdminRightsDocument = z.object({
  schema: z.literal('mamori.win.admin-rights/1'),
  sessions: z.array(z.object({ logonId: z.string(), logonType: z.number().int(), domain: z.string().nullable(), name: z.string().nullable() })).nullable(),
  administrators: z.array(Member).nullable(),
  nested: z.array(z.object({ group: z.string(), members: z.array(Member).nullable(), error: z.string().nullable() })).nullable(),
  EnableLUA: z.number().int().nullable(),
  builtinAdmin: z.object({ Name: z.string(), Disabled: z.boolean(), SID: z.string() }).nullable(),
  errors: z.array(z.object({ part: z.string(), message: z.string() })),
});
export type AdminRightsDocument = z.infer<typeof AdminRightsDocument>;

/** `WinNT://CITY/yamada` or `WinNT://WORKGROUP/PC01/admin` → `city\yamada` / `pc01\admin` (lower case). */
export function winntAccount(path: string): string {
  const parts = path.replace(/^WinNT:\/\//i, '').split('/');
  return parts.slice(-2).join('\\').toLowerCase();
}

/** The built-in name of the RID-500 account on every display language (it is not translated). */
const BUILTIN_ADMIN_NAME = 'administrator';

export function adminRightsFacts(doc: AdminRightsDocument): CheckOutput<AdminRightsFacts> {
  const out: CheckOutput<AdminRightsFacts> = { status: 'ok', facts: {}, unknownFacts: {} };

  if (doc.sessions === null || doc.administrators === null) {
    setUnknown(out, 'interactiveUsers', partWhy(doc.errors, 'sessions') ?? partWhy(doc.errors, 'administrators') ?? because('SCRIPT_ERROR', 'why.admin.noSessions', {}));
  } else {
    const direct = new Map(doc.administrators.filter((m) => m.class.toLowerCase() === 'user').map((m) => [winntAccount(m.path), 'Administrators']));
    const unresolved: Msg[] = [];
    for (const g of doc.administrators.filter((m) => m.class.toLowerCase() === 'group')) {
      const n = doc.nested?.find((x) => x.group === g.path);
      if (!n || n.members === null) {
        unresolved.push(msg('why.admin.groupNotExpanded', { group: winntAccount(g.path), cause: n?.error ?? msg(g.sid?.startsWith('S-1-12-1-') ? 'why.admin.entraRole' : 'why.admin.notExpanded') }));
        continue;
      }
      for (const m of n.members) {
        if (m.class.toLowerCase() === 'user') direct.set(winntAccount(m.path), winntAccount(g.path));
        else unresolved.push(msg('why.admin.nestedGroup', { member: winntAccount(m.path), group: winntAccount(g.path) }));
      }
    }
    const users: InteractiveUser[] = [];
    const undecided: string[] = [];
    const seen = new Set<string>();
    for (const s of doc.sessions) {
      if (!s.name) continue;
      const user = `${s.domain ?? ''}\\${s.name}`;
      if (seen.has(user.toLowerCase())) continue;
      seen.add(user.toLowerCase());
      const via = direct.get(user.toLowerCase());
      if (via) users.push({ user, admin: true, via });
      else if (unresolved.length > 0) undecided.push(user);
      else users.push({ user, admin: false, via: null });
    }
    // Membership through a group that could not be expanded is not "no membership".
    if (undecided.length > 0) setUnknown(out, 'interactiveUsers', because('GROUP_NOT_EXPANDED', 'why.admin.mayBeAdmin', { users: undecided.join(', '), groups: unresolved }));
    else out.facts.interactiveUsers = users;
  }

  const uacError = partWhy(doc.errors, 'uac');
  if (uacError) setUnknown(out, 'uacEnabled', uacError);
  else out.facts.uacEnabled = doc.EnableLUA === null ? true : doc.EnableLUA !== 0;

  if (doc.builtinAdmin) {
    out.facts.builtinAdminName = doc.builtinAdmin.Name;
    out.facts.builtinAdminProtected = doc.builtinAdmin.Disabled || doc.builtinAdmin.Name.toLowerCase() !== BUILTIN_ADMIN_NAME;
  } else {
    setUnknown(out, ['builtinAdminProtected', 'builtinAdminName'], partWhy(doc.errors, 'builtin-admin') ?? because('NOT_FOUND', 'why.admin.noRid500', {}));
  }
  if (Object.keys(out.facts).length === 0) {
    out.status = 'unknown';
    const all = allOf(Object.keys(out.unknownFacts).map((f) => ({ text: out.unknownFacts[f]!, msg: out.unknownMsgs![f]! })));
    out.reason = all.text;
    out.reasonMsg = all.msg;
  }
  return out;
}
