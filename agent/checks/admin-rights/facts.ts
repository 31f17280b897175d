/** Facts of the admin-rights check: who signed in holds administrator rights, UAC, the built-in administrator. */
import { z } from 'zod';

export const InteractiveUser = z.object({
  user: z.string().describe('DOMAIN\\name on Windows, the login name on Linux'),
  admin: z.boolean().describe('Member of the local Administrators group (S-1-5-32-544), directly or through a domain group; on Linux root or a member of sudo/wheel/admin'),
  via: z.string().nullable().describe('The membership that grants it, e.g. "CITY\\Domain Admins" or "sudo"'),
});
export type InteractiveUser = z.infer<typeof InteractiveUser>;

export const AdminRightsFacts = z.object({
  interactiveUsers: z.array(InteractiveUser).describe('Accounts signed in interactively now (console, remote desktop, Linux logind sessions of class user); empty when nobody is'),
  uacEnabled: z.boolean().nullable().describe('User Account Control is on (EnableLUA, default 1); null on Linux'),
  builtinAdminProtected: z.boolean().describe('The built-in administrator cannot be used as installed: Windows RID-500 account renamed or disabled; Linux root password locked (passwd -S root)'),
  builtinAdminName: z.string().nullable().describe('Name of the built-in administrator account (Windows RID 500, Linux root)'),
});
export type AdminRightsFacts = z.infer<typeof AdminRightsFacts>;
