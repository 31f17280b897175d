/** Facts of the local-accounts check: local accounts and when each last signed in. */
import { z } from 'zod';

export const LocalAccount = z.object({
  name: z.string().describe('Account name'),
  enabled: z.boolean().describe('The account can sign in: Windows Enabled; Linux a login shell (not nologin/false)'),
  lastLogonAt: z.string().nullable().describe('Last sign-in (ISO time); null = never signed in on this PC'),
});
export type LocalAccount = z.infer<typeof LocalAccount>;

export const LocalAccountsFacts = z.object({
  localAccounts: z.array(LocalAccount).describe('Windows local accounts (Get-LocalUser); Linux accounts of people (UID 1000–59999) with their lastlog entry. Domain accounts are reviewed centrally.'),
});
export type LocalAccountsFacts = z.infer<typeof LocalAccountsFacts>;
