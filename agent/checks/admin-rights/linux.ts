/**
 * Linux collector of the admin-rights check: the users of logind sessions of class `user`, whether
 * each may administer the PC through sudo/wheel/admin (group(5), passwd(5)), and whether root's
 * password is locked, from `passwd -S root` (never /etc/shadow itself, which a recording would copy).
 * Rules granted to single users in /etc/sudoers are not read.
 */
import { allOf, because, inPart, probeWhy, setUnknown, type Why } from '../why.js';
import type { ProbeOutcome } from '../../probes/types.js';
import { keyPart } from '../../probes/types.js';
import type { CheckOutput, Collector } from '../types.js';
import { parseKeyValues, parseSessionIds } from '../screen-lock/linux-parse.js';
import type { AdminRightsFacts, InteractiveUser } from './facts.js';

const PARAMS = { loginctlPath: '/usr/bin/loginctl', passwdPath: '/etc/passwd', groupPath: '/etc/group', passwdCmdPath: '/usr/bin/passwd' };
/** Groups whose members may run anything as root in the sudoers files Debian/Ubuntu (sudo, older Ubuntu admin) and RHEL (wheel) ship. */
export const ADMIN_GROUPS = ['sudo', 'wheel', 'admin'];

/** group(5) lines → name, gid, members. */
export function parseGroups(text: string): { name: string; gid: number; members: string[] }[] {
  return text.split('\n').map((l) => l.split(':')).filter((f) => f.length >= 4 && f[0] !== '').map((f) => ({ name: f[0]!, gid: Number(f[2]), members: f[3]!.split(',').map((m) => m.trim()).filter((m) => m !== '') }));
}

/** The group that makes `user` an administrator, 'root' for root, or null. */
export function adminVia(user: string, primaryGid: number | null, groups: ReturnType<typeof parseGroups>): string | null {
  if (user === 'root') return 'root';
  const hit = groups.find((g) => ADMIN_GROUPS.includes(g.name) && (g.members.includes(user) || g.gid === primaryGid));
  return hit ? hit.name : null;
}

/**
 * `passwd -S root`: the second field is the password state — `L` (Debian, shadow-utils) or `LK`
 * (RHEL's passwd) locked, `NP` no password, `P`/`PS` a usable password (passwd(1) of both).
 */
export function rootLocked(status: string): boolean | null {
  const f = status.trim().split(/\s+/);
  if (f[0] !== 'root' || !f[1]) return null;
  if (f[1] === 'L' || f[1] === 'LK') return true;
  if (['P', 'PS', 'NP'].includes(f[1])) return false;
  return null;
}

export const collect: Collector<AdminRightsFacts> = async (ctx) => {
  const p = { ...PARAMS, ...ctx.params } as typeof PARAMS;
  const out: CheckOutput<AdminRightsFacts> = { status: 'ok', facts: { uacEnabled: null }, unknownFacts: {} };

  // Root only; otherwise "You may not view or modify password information for root" and a non-zero exit.
  const status = await ctx.probes.exec('passwd.status.root', p.passwdCmdPath, ['-S', 'root']);
  const locked = status.ok ? rootLocked(status.stdout) : null;
  if (locked === null) setUnknown(out, ['builtinAdminProtected', 'builtinAdminName'], status.ok ? because('PARSE_FAILED', 'why.admin.passwdStatus', { output: { q: status.stdout.trim().slice(0, 80) } }) : probeWhy(status));
  else {
    out.facts.builtinAdminProtected = locked;
    out.facts.builtinAdminName = 'root';
  }

  const list = await ctx.probes.exec('loginctl.sessions', p.loginctlPath, ['list-sessions', '--no-legend']);
  if (!list.ok) setUnknown(out, 'interactiveUsers', because('NOT_READ', 'why.lock.sessionsUnlisted', { cause: probeWhy(list).msg }));
  else {
    const names = new Set<string>();
    let problem: Why | null = null;
    for (const id of parseSessionIds(list.stdout)) {
      // The same question as the screen-lock check asks, so one recording answers both.
      const show = await ctx.probes.exec(`loginctl.session.${keyPart(id)}`, p.loginctlPath, ['show-session', id, '-p', 'Name', '-p', 'User', '-p', 'Type', '-p', 'Class', '-p', 'Desktop', '-p', 'Remote', '-p', 'Active']);
      if (!show.ok) {
        if (!/No session/i.test(show.detail)) problem = inPart(`session ${id}`, probeWhy(show));
        continue;
      }
      const props = parseKeyValues(show.stdout);
      if ((props.get('Class') ?? '').toLowerCase() === 'user' && props.get('Name')) names.add(props.get('Name')!);
    }
    const users: InteractiveUser[] = [];
    if (!problem && names.size > 0) {
      const passwd = await ctx.probes.readFile('passwd', p.passwdPath);
      const group = await ctx.probes.readFile('group', p.groupPath);
      if (!passwd.ok || !group.ok) problem = allOf([passwd, group].filter((o): o is Extract<ProbeOutcome, { ok: false }> => !o.ok).map(probeWhy));
      else {
        const groups = parseGroups(group.stdout);
        for (const name of [...names].sort()) {
          const entry = passwd.stdout.split('\n').map((l) => l.split(':')).find((f) => f[0] === name);
          const via = adminVia(name, entry && /^\d+$/.test(entry[3] ?? '') ? Number(entry[3]) : null, groups);
          users.push({ user: name, admin: via !== null, via });
        }
      }
    }
    if (problem) setUnknown(out, 'interactiveUsers', problem);
    else out.facts.interactiveUsers = users;
  }
  if (Object.keys(out.facts).length <= 1) {
    out.status = 'unknown';
    const all = allOf(Object.keys(out.unknownFacts).map((f) => ({ text: out.unknownFacts[f]!, msg: out.unknownMsgs![f]! })));
    out.reason = all.text;
    out.reasonMsg = all.msg;
  }
  return out;
};
