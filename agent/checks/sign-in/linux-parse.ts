/**
 * Pure parsers of the Linux sign-in sources: PAM stacks (pam.conf(5)), the `key = value` files of
 * pam_faillock, pam_pwquality and pam_pwhistory, login.defs(5) and the display managers' INI files.
 */

/** One PAM rule line: `type control module-path args…` (pam.conf(5)). */
export interface PamLine {
  type: string;
  /** `required`, `requisite`… or the bracketed `[value=action …]` form as written. */
  control: string;
  /** Module file name without directory (`pam_unix.so`). */
  module: string;
  args: string[];
}

/**
 * A PAM stack file. Comments (`#`) and `@include` lines are skipped; a leading `-` on the type
 * ("skip silently when the module is missing", pam.d(5)) is dropped; `[...]` controls may contain
 * spaces. Continuation lines (`\` at the end) are joined.
 */
export function parsePamStack(text: string): PamLine[] {
  const out: PamLine[] = [];
  for (const raw of text.replace(/\\\n/g, ' ').split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '' || line.startsWith('@')) continue;
    const m = /^-?(\S+)\s+(\[[^\]]*\]|\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    out.push({ type: m[1]!.toLowerCase(), control: m[2]!, module: m[3]!.split('/').pop()!, args: m[4]!.split(/\s+/).filter((a) => a !== '') });
  }
  return out;
}

/** `name=value` arguments of a PAM module line; flag arguments (`nullok`) map to ''. */
export function pamArgs(line: PamLine): Map<string, string> {
  return new Map(line.args.map((a) => {
    const eq = a.indexOf('=');
    return eq < 0 ? [a, ''] : [a.slice(0, eq), a.slice(eq + 1)];
  }));
}

/**
 * `key = value` configuration (faillock.conf(5), pwquality.conf(5), pwhistory.conf(5),
 * login.defs(5) with whitespace instead of `=`): comments start with `#`; a key without a value
 * is a flag ('').
 */
export function parseConfValues(text: string, separator: 'equals' | 'space' = 'equals'): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const m = separator === 'equals' ? /^([A-Za-z_][\w-]*)\s*(?:=\s*(.*))?$/.exec(line) : /^([A-Za-z_]\w*)(?:\s+(.*))?$/.exec(line);
    if (m) out.set(m[1]!, (m[2] ?? '').trim().replace(/^"(.*)"$/, '$1'));
  }
  return out;
}

/** An INI file as GDM, LightDM and SDDM read it (GKeyFile / QSettings): `[Group]` → key → value. */
export function parseIni(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let group: Map<string, string> | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const g = /^\[(.+)\]$/.exec(line);
    if (g) {
      group = out.get(g[1]!) ?? new Map();
      out.set(g[1]!, group);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0 && group) group.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return out;
}

const truthy = (v: string | undefined): boolean => v !== undefined && /^(true|1|yes)$/i.test(v.trim());

/** GDM custom.conf: `[daemon] AutomaticLoginEnable=true` or `TimedLoginEnable=true` (GDM admin guide, "Automatic login"). */
export function gdmAutoLogin(text: string): string | null {
  const d = parseIni(text).get('daemon');
  if (truthy(d?.get('AutomaticLoginEnable'))) return '[daemon] AutomaticLoginEnable';
  if (truthy(d?.get('TimedLoginEnable'))) return '[daemon] TimedLoginEnable';
  return null;
}

/** LightDM: a non-empty `autologin-user` in `[Seat:*]` / `[Seat:<name>]` or the old `[SeatDefaults]` (lightdm.conf example). */
export function lightdmAutoLogin(text: string): string | null {
  for (const [name, keys] of parseIni(text)) {
    if ((name.startsWith('Seat:') || name === 'SeatDefaults') && (keys.get('autologin-user') ?? '') !== '') return `[${name}] autologin-user`;
  }
  return null;
}

/** SDDM: a non-empty `User` in `[Autologin]` (sddm.conf(5)). */
export function sddmAutoLogin(text: string): string | null {
  return (parseIni(text).get('Autologin')?.get('User') ?? '') !== '' ? '[Autologin] User' : null;
}

/** Classes a pwquality/cracklib configuration demands: minclass, or the credits set below zero ("at least one of"). */
export function requiredClasses(settings: Map<string, string>): number {
  const minclass = Number(settings.get('minclass') ?? '0');
  const credits = ['dcredit', 'ucredit', 'lcredit', 'ocredit'].filter((k) => Number(settings.get(k) ?? '0') < 0).length;
  return Math.max(Number.isFinite(minclass) ? minclass : 0, credits);
}

/** login.defs PASS_MAX_DAYS: 99999 (the shipped value) or a negative number means no expiry (shadow(5)). */
export function maxDaysFromLoginDefs(text: string): number | null {
  const v = parseConfValues(text, 'space').get('PASS_MAX_DAYS');
  if (v === undefined) return null;
  const n = Number(v);
  return !Number.isInteger(n) || n < 0 || n >= 99999 ? null : n;
}
