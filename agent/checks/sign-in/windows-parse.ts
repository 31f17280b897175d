/** Parser of the `win.sign-in` document (see windows-script.ts): the security template and Winlogon values. */
import { z } from 'zod';
import type { CheckOutput } from '../types.js';
import type { SignInFacts } from './facts.js';
import { partWhy } from '../software/windows-common.js';
import { because, setUnknown } from '../why.js';

export const SignInDocument = z.object({
  schema: z.literal('mamori.win.sign-in/1'),
  securityTemplate: z.string().nullable(),
  winlogon: z.object({ AutoAdminLogon: z.string().nullable(), DefaultPasswordPresent: z.boolean() }).nullable(),
  errors: z.array(z.object({ part: z.string(), message: z.string() })),
});
export type SignInDocument = z.infer<typeof SignInDocument>;

/** `[System Access]` of a security template (INF: `Key = value` lines; `;` comments). */
export function systemAccess(template: string): Map<string, string> | null {
  const out = new Map<string, string>();
  let inSection = false;
  let seen = false;
  for (const raw of template.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('[')) {
      inSection = line.toLowerCase() === '[system access]';
      seen ||= inSection;
      continue;
    }
    if (!inSection || line === '' || line.startsWith(';')) continue;
    const eq = line.indexOf('=');
    if (eq > 0) out.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1'));
  }
  return seen ? out : null;
}

const POLICY_FACTS = ['blankPasswordsAllowed', 'lockoutThreshold', 'minPasswordLength', 'passwordComplexity', 'maxPasswordAgeDays', 'passwordHistory'] as const;

export function signInFacts(doc: SignInDocument): CheckOutput<SignInFacts> {
  const out: CheckOutput<SignInFacts> = { status: 'ok', facts: {}, unknownFacts: {} };

  const seceditError = partWhy(doc.errors, 'secedit');
  const access = doc.securityTemplate === null ? null : systemAccess(doc.securityTemplate);
  if (!access) {
    setUnknown(out, POLICY_FACTS, seceditError ?? because('PARSE_FAILED', 'why.signin.noSystemAccess', {}));
  } else {
    const int = (key: string, fact: (typeof POLICY_FACTS)[number], use: (n: number) => void): void => {
      const v = access.get(key);
      const n = Number(v);
      if (v !== undefined && v !== '' && Number.isInteger(n)) use(n);
      else setUnknown(out, fact, v === undefined ? because('NOT_FOUND', 'why.signin.notInSystemAccess', { key }) : because('PARSE_FAILED', 'why.signin.badSetting', { setting: `${key} = ${v}` }));
    };
    int('MinimumPasswordLength', 'minPasswordLength', (n) => {
      out.facts.minPasswordLength = n;
      // Length 0 is "no password required" ("Minimum password length" policy reference, learn.microsoft.com).
      out.facts.blankPasswordsAllowed = n === 0;
    });
    if (out.unknownFacts.minPasswordLength) setUnknown(out, 'blankPasswordsAllowed', { text: out.unknownFacts.minPasswordLength, msg: out.unknownMsgs!.minPasswordLength! });
    int('PasswordComplexity', 'passwordComplexity', (n) => (out.facts.passwordComplexity = n === 1));
    int('LockoutBadCount', 'lockoutThreshold', (n) => (out.facts.lockoutThreshold = n));
    // "Maximum password age": 0 = never expires; the template writes -1 for "never" (secedit exports of that setting).
    int('MaximumPasswordAge', 'maxPasswordAgeDays', (n) => (out.facts.maxPasswordAgeDays = n <= 0 ? null : n));
    int('PasswordHistorySize', 'passwordHistory', (n) => (out.facts.passwordHistory = n));
  }

  if (doc.winlogon) {
    // AutoAdminLogon is REG_SZ; only "1" turns it on (the Winlogon article above).
    const on = (doc.winlogon.AutoAdminLogon ?? '').trim() === '1';
    out.facts.autoLogonEnabled = on;
    out.facts.autoLogonSource = on ? 'HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon AutoAdminLogon' : null;
    out.facts.autoLogonPasswordStored = doc.winlogon.DefaultPasswordPresent;
  } else {
    setUnknown(out, ['autoLogonEnabled', 'autoLogonSource', 'autoLogonPasswordStored'], partWhy(doc.errors, 'winlogon') ?? because('SCRIPT_ERROR', 'why.beyond.notRead', { part: 'winlogon' }));
  }
  if (Object.keys(out.facts).length === 0) {
    out.status = 'unknown';
    out.reason = Object.values(out.unknownFacts).join('; ');
  }
  return out;
}
