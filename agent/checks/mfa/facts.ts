/** Facts of the multi-factor check: whether signing in to the PC needs a second factor. */
import { z } from 'zod';

export const MfaFacts = z.object({
  multiFactorEnforced: z.boolean().describe('Signing in needs two factors: Windows smart card required (scforceoption=1), or the password provider excluded while Windows Hello for Business, smart card or a third-party provider remains; Linux a second-factor PAM module required in every sign-in stack'),
  multiFactorSource: z.string().describe('What decides it, e.g. "スマートカード必須 (scforceoption=1)" or "pam_u2f.so required (common-auth)"'),
  thirdPartyCredentialProviders: z.array(z.string()).describe('Windows credential providers registered by other vendors than Microsoft (name and CLSID); empty on Linux'),
});
export type MfaFacts = z.infer<typeof MfaFacts>;
