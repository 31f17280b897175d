/**
 * Linux collector of the screen-lock check: the graphical sessions logind knows, then per user
 * the settings of that user's desktop (GNOME gsettings/dconf, KDE kscreenlockerrc, Xfce xfconf).
 */
import { allOf, because, inPart, probeWhy, setUnknown, type Why } from '../why.js';
import { keyPart } from '../../probes/types.js';
import type { CheckContext, CheckOutput, Collector } from '../types.js';
import { parsePasswd } from '../software/linux-proc.js';
import type { PasswdEntry } from '../software/linux-proc.js';
import type { LockSession, ScreenLockFacts } from './facts.js';
import { classifySession, gnomeEffective, kdeEffective, parseGsettingsList, parseGVariant, parseKConfig, parseKeyValues, parseSessionIds, parseXfconfXml, xfceEffective } from './linux-parse.js';
import type { GraphicalSession } from './linux-parse.js';

/** Defaults of the OS paths (the check's `params`). */
export const LINUX_SCREEN_LOCK_PARAMS = {
  loginctlPath: '/usr/bin/loginctl',
  gsettingsPath: '/usr/bin/gsettings',
  passwdPath: '/etc/passwd',
  runtimeDirRoot: '/run/user',
  xdgSystemConfigDir: '/etc/xdg',
  /** DCONF_PROFILE for the gsettings calls; null = dconf's default (/etc/dconf/profile/user). */
  dconfProfile: null as string | null,
};
type Params = typeof LINUX_SCREEN_LOCK_PARAMS;

type SessionResult = { ok: true; session: LockSession } | { ok: false; reason: Why };

function unknownSessions(out: CheckOutput<ScreenLockFacts>, sessions: Why, whole: Why): CheckOutput<ScreenLockFacts> {
  setUnknown(out, 'sessions', sessions);
  return { ...out, status: 'unknown', reason: whole.text, reasonMsg: whole.msg };
}

export const collect: Collector<ScreenLockFacts> = async (ctx) => {
  const p = { ...LINUX_SCREEN_LOCK_PARAMS, ...ctx.params } as Params;
  const out: CheckOutput<ScreenLockFacts> = { status: 'ok', facts: { machineInactivityLimitSeconds: null }, unknownFacts: {} };

  const list = await ctx.probes.exec('loginctl.sessions', p.loginctlPath, ['list-sessions', '--no-legend']);
  if (!list.ok) return unknownSessions(out, probeWhy(list), because('NOT_READ', 'why.lock.sessionsUnlisted', { cause: probeWhy(list).msg }));
  const graphical: GraphicalSession[] = [];
  let sessionUnread: Why | undefined;
  for (const id of parseSessionIds(list.stdout)) {
    const show = await ctx.probes.exec(`loginctl.session.${keyPart(id)}`, p.loginctlPath, ['show-session', id, '-p', 'Name', '-p', 'User', '-p', 'Type', '-p', 'Class', '-p', 'Desktop', '-p', 'Remote', '-p', 'Active']);
    if (!show.ok) {
      // A session that ended between the two calls is simply gone.
      if (/No session/i.test(show.detail)) continue;
      sessionUnread = inPart(`session ${id}`, probeWhy(show));
      continue;
    }
    const s = classifySession(id, parseKeyValues(show.stdout));
    if (s && !graphical.some((g) => g.user === s.user && g.desktop === s.desktop)) graphical.push(s);
  }
  if (sessionUnread) return unknownSessions(out, sessionUnread, sessionUnread);

  const passwdOut = graphical.length ? await ctx.probes.readFile('passwd', p.passwdPath) : null;
  const users = passwdOut?.ok ? parsePasswd(passwdOut.stdout) : [];
  const sessions: LockSession[] = [];
  const problems: Why[] = [];
  for (const g of graphical) {
    const account = users.find((u) => u.name === g.user);
    let r: SessionResult;
    if (!account) r = { ok: false, reason: passwdOut && !passwdOut.ok ? probeWhy(passwdOut) : because('NOT_FOUND', 'why.lock.userNotInPasswd', { user: g.user, file: p.passwdPath }) };
    else if (g.desktop === 'gnome') r = await readGnome(ctx, p, account, g.desktopName);
    else if (g.desktop === 'kde') r = await readKde(ctx, p, account);
    else if (g.desktop === 'xfce') r = await readXfce(ctx, p, account);
    else r = { ok: false, reason: because('UNSUPPORTED', 'why.lock.desktopUnsupported', { desktop: { q: g.desktopName || '-' }, user: g.user }) };
    if (r.ok) sessions.push(r.session);
    else problems.push(inPart(g.user, r.reason));
  }
  // One unreadable session makes the list incomplete: the facts must not look compliant because a session was skipped.
  if (problems.length) {
    return unknownSessions(out, allOf(problems), because('NOT_READ', 'why.lock.notEverySession', { causes: allOf(problems).msg }));
  }
  out.facts.sessions = sessions;
  return out;
};

/**
 * GNOME: gsettings run as the user with that session's environment gives the effective value
 * (user db, system db, vendor override and schema default); `gsettings writable` is false for a
 * key an administrator locked in a dconf `locks/` file.
 */
export async function readGnome(ctx: CheckContext, p: Params, u: PasswdEntry, desktopName: string): Promise<SessionResult> {
  const env: Record<string, string> = {
    HOME: u.home,
    USER: u.name,
    XDG_RUNTIME_DIR: `${p.runtimeDirRoot}/${u.uid}`,
    DBUS_SESSION_BUS_ADDRESS: `unix:path=${p.runtimeDirRoot}/${u.uid}/bus`,
    // Vendor overrides are keyed by XDG_CURRENT_DESKTOP; Ubuntu's session "ubuntu" runs as "ubuntu:GNOME".
    XDG_CURRENT_DESKTOP: desktopName === 'ubuntu' ? 'ubuntu:GNOME' : desktopName || 'GNOME',
  };
  if (p.dconfProfile) env.DCONF_PROFILE = p.dconfProfile;
  const asUser = { uid: u.uid, gid: u.gid, env };
  const k = keyPart(u.name);
  const values = new Map<string, number | boolean | string>();
  for (const schema of ['org.gnome.desktop.session', 'org.gnome.desktop.screensaver', 'org.gnome.desktop.lockdown']) {
    const r = await ctx.probes.exec(`gsettings.${k}.${schema.split('.').pop()}`, p.gsettingsPath, ['list-recursively', schema], asUser);
    if (!r.ok) return { ok: false, reason: probeWhy(r) };
    for (const [key, v] of parseGsettingsList(r.stdout)) values.set(`${schema} ${key}`, v);
  }
  const num = (key: string): number | null => (typeof values.get(key) === 'number' ? (values.get(key) as number) : null);
  const bool = (key: string): boolean | null => (typeof values.get(key) === 'boolean' ? (values.get(key) as boolean) : null);
  const idleDelay = num('org.gnome.desktop.session idle-delay');
  const lockEnabled = bool('org.gnome.desktop.screensaver lock-enabled');
  const lockDelay = num('org.gnome.desktop.screensaver lock-delay');
  const disableLockScreen = bool('org.gnome.desktop.lockdown disable-lock-screen');
  if (idleDelay === null || lockEnabled === null || lockDelay === null || disableLockScreen === null) {
    return { ok: false, reason: because('PARSE_FAILED', 'why.lock.gsettingsIncomplete', { user: u.name }) };
  }
  const deciding: [string, string][] = [
    ['org.gnome.desktop.session', 'idle-delay'],
    ['org.gnome.desktop.screensaver', 'lock-enabled'],
    ['org.gnome.desktop.screensaver', 'lock-delay'],
    ['org.gnome.desktop.lockdown', 'disable-lock-screen'],
  ];
  const locked: string[] = [];
  for (const [schema, key] of deciding) {
    const r = await ctx.probes.exec(`gsettings.${k}.writable.${key}`, p.gsettingsPath, ['writable', schema, key], asUser);
    if (!r.ok) return { ok: false, reason: probeWhy(r) };
    if (parseGVariant(r.stdout) === false) locked.push(key);
  }
  const eff = gnomeEffective({ idleDelay, lockEnabled, lockDelay, disableLockScreen });
  return {
    ok: true,
    session: {
      user: u.name,
      desktop: 'gnome',
      ...eff,
      enforced: locked.length === deciding.length,
      source: `gsettings${locked.length ? ` (dconf lock: ${locked.join(',')})` : ''}`,
    },
  };
}

async function readOptional(ctx: CheckContext, key: string, path: string): Promise<{ ok: true; text: string | null } | { ok: false; reason: Why }> {
  const r = await ctx.probes.readFile(key, path);
  if (r.ok) return { ok: true, text: r.stdout };
  if (r.failure === 'NOT_FOUND') return { ok: true, text: null };
  return { ok: false, reason: probeWhy(r) };
}

async function readKde(ctx: CheckContext, p: Params, u: PasswdEntry): Promise<SessionResult> {
  const sys = await readOptional(ctx, 'kde.system.kscreenlockerrc', `${p.xdgSystemConfigDir}/kscreenlockerrc`);
  if (!sys.ok) return sys;
  const usr = await readOptional(ctx, `kde.${keyPart(u.name)}.kscreenlockerrc`, `${u.home}/.config/kscreenlockerrc`);
  if (!usr.ok) return usr;
  const eff = kdeEffective(sys.text === null ? null : parseKConfig(sys.text), usr.text === null ? null : parseKConfig(usr.text));
  return { ok: true, session: { user: u.name, desktop: 'kde', lockEnabled: eff.lockEnabled, idleToLockSeconds: eff.idleToLockSeconds, enforced: eff.enforced, source: eff.source } };
}

async function readXfce(ctx: CheckContext, p: Params, u: PasswdEntry): Promise<SessionResult> {
  const autostart = await readOptional(ctx, 'xfce.autostart.xfce4-screensaver', `${p.xdgSystemConfigDir}/autostart/xfce4-screensaver.desktop`);
  if (!autostart.ok) return autostart;
  if (autostart.text === null) {
    const light = await readOptional(ctx, 'xfce.autostart.light-locker', `${p.xdgSystemConfigDir}/autostart/light-locker.desktop`);
    if (!light.ok) return light;
    if (light.text !== null) return { ok: false, reason: because('UNSUPPORTED', 'why.lock.lightLocker', { user: u.name }) };
    return { ok: true, session: { user: u.name, desktop: 'xfce', lockEnabled: false, idleToLockSeconds: null, enforced: false, source: 'autostart: xfce4-screensaver.desktop=- light-locker.desktop=-' } };
  }
  const rel = 'xfce4/xfconf/xfce-perchannel-xml/xfce4-screensaver.xml';
  const sys = await readOptional(ctx, 'xfce.system.xfce4-screensaver', `${p.xdgSystemConfigDir}/${rel}`);
  if (!sys.ok) return sys;
  const usr = await readOptional(ctx, `xfce.${keyPart(u.name)}.xfce4-screensaver`, `${u.home}/.config/${rel}`);
  if (!usr.ok) return usr;
  const eff = xfceEffective(sys.text === null ? null : parseXfconfXml(sys.text), usr.text === null ? null : parseXfconfXml(usr.text));
  return { ok: true, session: { user: u.name, desktop: 'xfce', lockEnabled: eff.lockEnabled, idleToLockSeconds: eff.idleToLockSeconds, enforced: eff.enforced, source: eff.source } };
}
