/** Facts of the sign-in check: automatic logon, blank passwords, lockout and the password policy in force. */
import { z } from 'zod';

export const SignInFacts = z.object({
  autoLogonEnabled: z.boolean().describe('The PC signs a user in without a password (Winlogon AutoAdminLogon=1; GDM AutomaticLoginEnable/TimedLoginEnable, LightDM autologin-user, SDDM [Autologin] User)'),
  autoLogonSource: z.string().nullable().describe('Which setting turns automatic logon on (e.g. "/etc/gdm3/custom.conf [daemon] AutomaticLoginEnable"); null when off'),
  autoLogonPasswordStored: z.boolean().nullable().describe('A logon password is stored in clear in the registry (Winlogon DefaultPassword exists); null on Linux, which has no such store'),
  blankPasswordsAllowed: z.boolean().describe('An empty password is possible: Windows minimum password length 0; Linux pam_unix with nullok in the auth stack'),
  lockoutThreshold: z.number().int().describe('Failed sign-ins before the account is locked; 0 = never locked (Windows LockoutBadCount; pam_faillock deny)'),
  minPasswordLength: z.number().int().nullable().describe('Minimum password length enforced (Windows MinimumPasswordLength; pam_pwquality/pam_cracklib minlen); null = no quality module enforces one'),
  passwordComplexity: z.boolean().describe('Passwords must mix at least three character classes (Windows PasswordComplexity=1; pwquality minclass >= 3 or three required classes)'),
  maxPasswordAgeDays: z.number().int().nullable().describe('Days before a password must be changed; null = never (Windows MaximumPasswordAge; Linux PASS_MAX_DAYS of login.defs, which applies to accounts created from now on)'),
  passwordHistory: z.number().int().describe('Previous passwords that cannot be reused; 0 = none remembered (Windows PasswordHistorySize; pam_pwhistory/pam_unix remember)'),
});
export type SignInFacts = z.infer<typeof SignInFacts>;
