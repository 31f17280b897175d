/** Parser of the `win.mfa` document (see windows-script.ts). */
import { z } from 'zod';
import type { CheckOutput } from '../types.js';
import type { MfaFacts } from './facts.js';
import { partWhy } from '../software/windows-common.js';
import { because, setUnknown } from '../why.js';
import { unknownOutput } from '../types.js';

export const MfaDocument = z.object({
  schema: z.literal('mamori.win.mfa/1'),
  scforceoption: z.number().int().nullable(),
  helloForBusiness: z.number().int().nullable(),
  excluded: z.string().nullable(),
  providers: z.array(z.object({ clsid: z.string(), name: z.string(), dll: z.string().nullable(), signer: z.string().nullable() })).nullable(),
  errors: z.array(z.object({ part: z.string(), message: z.string() })),
});
export type MfaDocument = z.infer<typeof MfaDocument>;

/** The inbox password provider (PasswordProvider, "Credential providers in Windows", learn.microsoft.com). */
export const PASSWORD_PROVIDER = '{60B78E88-EAD8-445C-9CFD-0B87F74EA6CD}';
const MICROSOFT = /(^|,\s*)O=Microsoft Corporation(,|$)/;

export function mfaFacts(doc: MfaDocument): CheckOutput<MfaFacts> {
  const out: CheckOutput<MfaFacts> = { status: 'ok', facts: {}, unknownFacts: {} };
  const policies = partWhy(doc.errors, 'policies');
  if (policies) return unknownOutput(policies);
  if (!doc.providers) return unknownOutput(partWhy(doc.errors, 'providers') ?? because('SCRIPT_ERROR', 'why.mfa.noProviders', {}));

  // A provider whose DLL is not signed by Microsoft (or not signed, or missing) is another vendor's.
  const thirdParty = doc.providers.filter((p) => !p.signer || !MICROSOFT.test(p.signer));
  out.facts.thirdPartyCredentialProviders = thirdParty.map((p) => `${p.name || '(名前なし)'} ${p.clsid}`);
  const excluded = (doc.excluded ?? '').split(',').map((g) => g.trim().toUpperCase());
  const passwordExcluded = excluded.includes(PASSWORD_PROVIDER);
  const hello = doc.helloForBusiness === 1;

  if (doc.scforceoption === 1) {
    out.facts.multiFactorEnforced = true;
    out.facts.multiFactorSource = 'スマートカードまたは Windows Hello for Business が必須 (scforceoption=1)';
  } else if (passwordExcluded && (hello || thirdParty.length > 0)) {
    out.facts.multiFactorEnforced = true;
    out.facts.multiFactorSource = `パスワードのプロバイダーを除外 (ExcludedCredentialProviders)、${hello ? 'Windows Hello for Business' : '他社の資格情報プロバイダー'}でサインイン`;
  } else if (thirdParty.length > 0) {
    // Such a product may wrap or filter the password provider; whether it demands a second factor is its own setting.
    setUnknown(out, ['multiFactorEnforced', 'multiFactorSource'], because('NOT_DETERMINABLE', 'why.mfa.thirdParty', { providers: out.facts.thirdPartyCredentialProviders }));
  } else {
    out.facts.multiFactorEnforced = false;
    out.facts.multiFactorSource = hello ? 'Windows Hello for Business は有効だが、パスワードだけでもサインインできる' : 'パスワードだけでサインインできる';
  }
  return out;
}
