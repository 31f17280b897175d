/**
 * Linux collector of the multi-factor check: the PAM auth stacks of the ways a person signs in at the
 * PC — console `login`, GDM `gdm-password`, LightDM `lightdm`, SDDM `sddm` — with the common stacks
 * they include (`@include common-auth` on Debian/Ubuntu, `auth include|substack system-auth` on RHEL;
 * pam.conf(5)), one level deep. A stack asks for a second factor when a second-factor module runs in
 * it as `required` or `requisite` (or with a bracket control whose default is die/bad): pam_u2f,
 * pam_google_authenticator, pam_oath, pam_yubico, pam_duo, pam_pkcs11 (smart card with PIN), pam_sss
 * with `require_cert_auth` (authselect with-smartcard-required). As `sufficient` it is an alternative
 * to the password, not a second factor. The rule holds when every sign-in stack present asks for one.
 */
import { because, failedTo, type Why } from '../why.js';
import { unknownOutput } from '../types.js';
import type { CheckOutput, Collector } from '../types.js';
import { pamArgs, parsePamStack } from '../sign-in/linux-parse.js';
import type { PamLine } from '../sign-in/linux-parse.js';
import type { MfaFacts } from './facts.js';

const SIGN_IN_STACKS = ['login', 'gdm-password', 'lightdm', 'sddm'];
const SECOND_FACTOR = new Set(['pam_u2f.so', 'pam_google_authenticator.so', 'pam_oath.so', 'pam_yubico.so', 'pam_duo.so', 'pam_pkcs11.so']);

/**
 * Auth stacks a stack pulls in: `auth include|substack name`, and `@include name` of the auth stacks
 * (Debian's `@include common-auth`; its common-account/-session/-password hold no auth lines).
 */
export function includedStacks(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const at = /^@include\s+(\S+)/.exec(line);
    if (at && /auth/.test(at[1]!)) out.push(at[1]!);
    const inc = /^-?auth\s+(include|substack)\s+(\S+)/.exec(line);
    if (inc) out.push(inc[2]!);
  }
  return out;
}

/** The auth line that makes a second factor mandatory, as "module control", or null. */
export function mandatorySecondFactor(lines: PamLine[]): string | null {
  for (const l of lines) {
    if (l.type !== 'auth') continue;
    const second = SECOND_FACTOR.has(l.module) || (l.module === 'pam_sss.so' && pamArgs(l).has('require_cert_auth'));
    if (!second) continue;
    const c = l.control.toLowerCase();
    if (c === 'required' || c === 'requisite' || (c.startsWith('[') && /default=(die|bad)/.test(c))) return `${l.module} ${l.control}`;
  }
  return null;
}

class PamUnreadable extends Error {
  constructor(readonly why: Why) {
    super(why.text);
  }
}

export const collect: Collector<MfaFacts> = async (ctx) => {
  const pamDir = String(ctx.params.pamDir ?? '/etc/pam.d');
  const texts = new Map<string, string | null>();
  const read = async (name: string): Promise<string | null> => {
    if (!texts.has(name)) {
      const r = await ctx.probes.readFile(`pam.${name}`, `${pamDir}/${name}`);
      if (!r.ok && r.failure !== 'NOT_FOUND') throw new PamUnreadable(failedTo(r, 'why.fileUnread', { file: `${pamDir}/${name}` }));
      texts.set(name, r.ok ? r.stdout : null);
    }
    return texts.get(name)!;
  };
  const results: { stack: string; hit: string | null }[] = [];
  try {
    for (const stack of SIGN_IN_STACKS) {
      const text = await read(stack);
      if (text === null) continue;
      let hit = mandatorySecondFactor(parsePamStack(text));
      if (hit) hit = `${hit} (${stack})`;
      for (const inc of includedStacks(text)) {
        if (hit) break;
        const t = await read(inc);
        const h = t === null ? null : mandatorySecondFactor(parsePamStack(t));
        if (h) hit = `${h} (${inc})`;
      }
      results.push({ stack, hit });
    }
  } catch (err) {
    if (err instanceof PamUnreadable) return unknownOutput(err.why);
    throw err;
  }
  if (results.length === 0) return unknownOutput(because('NOT_FOUND', 'why.mfa.noPamStacks', { dir: pamDir, stacks: SIGN_IN_STACKS.join(', ') }));
  const missing = results.filter((r) => !r.hit).map((r) => r.stack);
  const out: CheckOutput<MfaFacts> = { status: 'ok', facts: { thirdPartyCredentialProviders: [], multiFactorEnforced: missing.length === 0 }, unknownFacts: {} };
  out.facts.multiFactorSource = missing.length === 0 ? [...new Set(results.map((r) => r.hit!))].join('、') : `二要素目の PAM モジュールが必須になっていないサインイン: ${missing.join(', ')}`;
  return out;
};
