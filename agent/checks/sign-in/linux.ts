/**
 * Linux collector of the sign-in check: PAM stacks (pam_unix nullok, pam_faillock, pam_pwquality /
 * pam_cracklib, pam_pwhistory) with their configuration files, login.defs and display-manager
 * automatic login (GDM, LightDM, SDDM).
 */
import { allOf, because, inPart, probeWhy, setUnknown, type Why } from '../why.js';
import { keyPart } from '../../probes/types.js';
import type { CheckContext, CheckOutput, Collector } from '../types.js';
import type { SignInFacts } from './facts.js';
import { LINUX_SIGN_IN_PARAMS } from './linux-paths.js';
import { gdmAutoLogin, lightdmAutoLogin, maxDaysFromLoginDefs, pamArgs, parseConfValues, parsePamStack, requiredClasses, sddmAutoLogin } from './linux-parse.js';
import type { PamLine } from './linux-parse.js';

type Params = typeof LINUX_SIGN_IN_PARAMS;

/** The stacks every sign-in goes through: Debian/Ubuntu include common-*, RHEL system-auth/password-auth (authselect). */
const PAM_STACKS = ['common-auth', 'common-password', 'system-auth', 'password-auth'];

export const collect: Collector<SignInFacts> = async (ctx) => {
  const p = { ...LINUX_SIGN_IN_PARAMS, ...ctx.params } as Params;
  const out: CheckOutput<SignInFacts> = { status: 'ok', facts: { autoLogonPasswordStored: null }, unknownFacts: {} };
  await autoLogin(ctx, p, out);
  await pamPolicy(ctx, p, out);
  const defs = await ctx.probes.readFile('login.defs', p.loginDefsPath);
  if (defs.ok) out.facts.maxPasswordAgeDays = maxDaysFromLoginDefs(defs.stdout);
  else setUnknown(out, 'maxPasswordAgeDays', probeWhy(defs));
  if (Object.keys(out.facts).length <= 1) {
    out.status = 'unknown';
    const none = because('NOT_READ', 'why.signin.nothingRead', { causes: [...new Set(Object.values(out.unknownMsgs ?? {}))] });
    out.reason = none.text;
    out.reasonMsg = none.msg;
  }
  return out;
};

/** A file that may be absent: its text, null when it does not exist, or the failure. */
async function optionalFile(ctx: CheckContext, key: string, path: string): Promise<{ text: string | null } | { error: Why }> {
  const r = await ctx.probes.readFile(key, path);
  if (r.ok) return { text: r.stdout };
  return r.failure === 'NOT_FOUND' ? { text: null } : { error: inPart(path, probeWhy(r)) };
}

/** The `*.conf` files of a drop-in directory, in the lexical order the programs read them. */
async function dropIns(ctx: CheckContext, key: string, dir: string): Promise<{ files: { key: string; path: string }[] } | { error: Why }> {
  const ls = await ctx.probes.listDir(`${key}.list`, dir);
  if (!ls.ok) return ls.failure === 'NOT_FOUND' ? { files: [] } : { error: inPart(dir, probeWhy(ls)) };
  let names: unknown;
  try {
    names = JSON.parse(ls.stdout);
  } catch {
    return { error: because('PARSE_FAILED', 'why.listing', { dir }) };
  }
  if (!Array.isArray(names)) return { error: because('PARSE_FAILED', 'why.listing', { dir }) };
  return { files: names.filter((n): n is string => typeof n === 'string' && n.endsWith('.conf')).sort().map((n) => ({ key: `${key}.${keyPart(n)}`, path: `${dir}/${n}` })) };
}

async function autoLogin(ctx: CheckContext, p: Params, out: CheckOutput<SignInFacts>): Promise<void> {
  const sources: { key: string; path: string; read: (t: string) => string | null }[] = [
    ...p.gdmConfPaths.map((path, i) => ({ key: `gdm.custom.${i}`, path, read: gdmAutoLogin })),
    { key: 'lightdm.conf', path: p.lightdmConfPath, read: lightdmAutoLogin },
    { key: 'sddm.conf', path: p.sddmConfPath, read: sddmAutoLogin },
  ];
  const problems: Why[] = [];
  for (const [key, dir, read] of [['lightdm.conf-d', p.lightdmConfDir, lightdmAutoLogin], ['sddm.conf-d', p.sddmConfDir, sddmAutoLogin]] as const) {
    const d = await dropIns(ctx, key, dir);
    if ('error' in d) problems.push(d.error);
    else sources.push(...d.files.map((f) => ({ ...f, read })));
  }
  for (const s of sources) {
    const f = await optionalFile(ctx, s.key, s.path);
    if ('error' in f) {
      problems.push(f.error);
      continue;
    }
    const hit = f.text === null ? null : s.read(f.text);
    if (hit) {
      // One setting that turns it on is enough to know; an unreadable other file changes nothing.
      out.facts.autoLogonEnabled = true;
      out.facts.autoLogonSource = `${s.path} ${hit}`;
      return;
    }
  }
  if (problems.length > 0) setUnknown(out, ['autoLogonEnabled', 'autoLogonSource'], allOf(problems));
  else {
    out.facts.autoLogonEnabled = false;
    out.facts.autoLogonSource = null;
  }
}

async function pamPolicy(ctx: CheckContext, p: Params, out: CheckOutput<SignInFacts>): Promise<void> {
  const lines: PamLine[] = [];
  const problems: Why[] = [];
  let found = 0;
  for (const name of PAM_STACKS) {
    const f = await optionalFile(ctx, `pam.${name}`, `${p.pamDir}/${name}`);
    if ('error' in f) problems.push(f.error);
    else if (f.text !== null) {
      found++;
      lines.push(...parsePamStack(f.text));
    }
  }
  const pamFacts = ['blankPasswordsAllowed', 'lockoutThreshold', 'minPasswordLength', 'passwordComplexity', 'passwordHistory'] as const;
  if (problems.length > 0 || found === 0) {
    setUnknown(out, pamFacts, problems.length > 0 ? allOf(problems) : because('NOT_FOUND', 'why.signin.noPamStack', { stacks: PAM_STACKS.join(', '), dir: p.pamDir }));
    return;
  }
  const auth = lines.filter((l) => l.type === 'auth');
  const password = lines.filter((l) => l.type === 'password');

  // pam_unix(8): nullok lets an account with an empty password sign in (nullok_secure: Debian's older variant).
  out.facts.blankPasswordsAllowed = auth.some((l) => l.module === 'pam_unix.so' && (l.args.includes('nullok') || l.args.includes('nullok_secure')));

  await lockout(ctx, p, auth, out);
  await quality(ctx, p, password, out);
  await history(ctx, p, password, out);
}

/** pam_faillock(8): `deny` from the module line, else faillock.conf, else 3 (faillock.conf(5)). pam_tally2 (old systems): deny= only. */
async function lockout(ctx: CheckContext, p: Params, auth: PamLine[], out: CheckOutput<SignInFacts>): Promise<void> {
  const faillock = auth.filter((l) => l.module === 'pam_faillock.so');
  const tally = auth.find((l) => l.module === 'pam_tally2.so');
  if (faillock.length > 0) {
    const arg = faillock.map(pamArgs).find((a) => a.has('deny'))?.get('deny');
    let deny = arg;
    if (deny === undefined) {
      const conf = await optionalFile(ctx, 'faillock.conf', `${p.securityDir}/faillock.conf`);
      if ('error' in conf) {
        setUnknown(out, 'lockoutThreshold', conf.error);
        return;
      }
      deny = (conf.text === null ? undefined : parseConfValues(conf.text).get('deny')) ?? '3';
    }
    const n = Number(deny);
    if (Number.isInteger(n) && n >= 0) out.facts.lockoutThreshold = n;
    else setUnknown(out, 'lockoutThreshold', because('PARSE_FAILED', 'why.signin.badSetting', { setting: `pam_faillock deny=${deny}` }));
    return;
  }
  const tallyDeny = tally ? Number(pamArgs(tally).get('deny') ?? '0') : 0;
  out.facts.lockoutThreshold = Number.isInteger(tallyDeny) && tallyDeny > 0 ? tallyDeny : 0;
}

/**
 * pam_pwquality(8): pwquality.conf, then pwquality.conf.d/*.conf, then the module's arguments
 * (which win); libpwquality's default minlen is 8. pam_cracklib(8) reads only its arguments, minlen default 9.
 */
async function quality(ctx: CheckContext, p: Params, password: PamLine[], out: CheckOutput<SignInFacts>): Promise<void> {
  const pwq = password.find((l) => l.module === 'pam_pwquality.so');
  const cracklib = password.find((l) => l.module === 'pam_cracklib.so');
  if (!pwq && !cracklib) {
    out.facts.minPasswordLength = null;
    out.facts.passwordComplexity = false;
    return;
  }
  const settings = new Map<string, string>([['minlen', pwq ? '8' : '9']]);
  if (pwq) {
    const files = [{ key: 'pwquality.conf', path: `${p.securityDir}/pwquality.conf` }];
    const d = await dropIns(ctx, 'pwquality.conf-d', `${p.securityDir}/pwquality.conf.d`);
    const problems: Why[] = 'error' in d ? [d.error] : [];
    if (!('error' in d)) files.push(...d.files);
    for (const f of files) {
      const r = await optionalFile(ctx, f.key, f.path);
      if ('error' in r) problems.push(r.error);
      else if (r.text !== null) for (const [k, v] of parseConfValues(r.text)) settings.set(k, v);
    }
    if (problems.length > 0) {
      setUnknown(out, ['minPasswordLength', 'passwordComplexity'], allOf(problems));
      return;
    }
  }
  for (const [k, v] of pamArgs((pwq ?? cracklib)!)) settings.set(k, v);
  const minlen = Number(settings.get('minlen'));
  if (Number.isInteger(minlen)) out.facts.minPasswordLength = minlen;
  else setUnknown(out, 'minPasswordLength', because('PARSE_FAILED', 'why.signin.badSetting', { setting: `minlen=${settings.get('minlen')}` }));
  out.facts.passwordComplexity = requiredClasses(settings) >= 3;
}

/** pam_pwhistory(8): remember= from the line, else pwhistory.conf, else 10; pam_unix(8) remember=N keeps its own history. */
async function history(ctx: CheckContext, p: Params, password: PamLine[], out: CheckOutput<SignInFacts>): Promise<void> {
  const counts: number[] = [];
  const unix = password.find((l) => l.module === 'pam_unix.so');
  if (unix && pamArgs(unix).has('remember')) counts.push(Number(pamArgs(unix).get('remember')));
  const pwh = password.find((l) => l.module === 'pam_pwhistory.so');
  if (pwh) {
    let remember = pamArgs(pwh).get('remember');
    if (remember === undefined) {
      const conf = await optionalFile(ctx, 'pwhistory.conf', `${p.securityDir}/pwhistory.conf`);
      if ('error' in conf) {
        setUnknown(out, 'passwordHistory', conf.error);
        return;
      }
      remember = (conf.text === null ? undefined : parseConfValues(conf.text).get('remember')) ?? '10';
    }
    counts.push(Number(remember));
  }
  if (counts.some((n) => !Number.isInteger(n))) setUnknown(out, 'passwordHistory', because('PARSE_FAILED', 'why.signin.rememberNotNumber', {}));
  else out.facts.passwordHistory = Math.max(0, ...counts);
}
