/** Pure parsers and decision functions of the Linux screen-lock probes (logind, GNOME, KDE, Xfce). */

/** `loginctl list-sessions --no-legend`: the session id is the first column in every systemd version (later columns moved). */
export function parseSessionIds(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((id) => /^[A-Za-z0-9_-]+$/.test(id));
}

/** `Key=Value` lines (`loginctl show-session -p …`, `timedatectl show`, os-release without quotes). */
export function parseKeyValues(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return out;
}

/** A logind session of interest: a graphical (x11/wayland) user session. */
export interface GraphicalSession {
  id: string;
  user: string;
  uid: number | null;
  desktop: 'gnome' | 'kde' | 'xfce' | 'other';
  desktopName: string;
  remote: boolean;
}

/**
 * Classify one `loginctl show-session ID -p Name -p User -p Type -p Class -p Desktop -p Remote -p Active`.
 * Graphical = Type x11/wayland/mir and Class user (greeters and lock screens are not users).
 * Desktop is XDG_SESSION_DESKTOP: `gnome`, `ubuntu` (Ubuntu's GNOME session), `KDE`, `plasma`,
 * `xfce`, `xubuntu` (Xubuntu's Xfce session); display managers differ in case.
 */
export function classifySession(id: string, props: Map<string, string>): GraphicalSession | null {
  const type = (props.get('Type') ?? '').toLowerCase();
  const cls = (props.get('Class') ?? '').toLowerCase();
  const user = props.get('Name') ?? '';
  if (!['x11', 'wayland', 'mir'].includes(type) || cls !== 'user' || user === '') return null;
  const desktopName = props.get('Desktop') ?? '';
  const d = desktopName.toLowerCase();
  const desktop = /gnome|^ubuntu$/.test(d) ? 'gnome' : /kde|plasma/.test(d) ? 'kde' : /xfce|xubuntu/.test(d) ? 'xfce' : 'other';
  const uid = /^\d+$/.test(props.get('User') ?? '') ? Number(props.get('User')) : null;
  return { id, user, uid, desktop, desktopName, remote: props.get('Remote') === 'yes' };
}

/**
 * A GVariant text value as gsettings prints it: `uint32 300`, `300`, `true`, `'text'`,
 * `@as []`. Numbers and booleans are returned as such, anything else as the raw text.
 */
export function parseGVariant(text: string): number | boolean | string {
  const t = text.trim().replace(/^(u?int(16|32|64)|byte|double|@[a-z]+)\s+/, '');
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  return t.replace(/^'(.*)'$/, '$1');
}

/** `gsettings list-recursively SCHEMA`: `schema key value…` lines → `key` → parsed value (the schema is the caller's). */
export function parseGsettingsList(text: string): Map<string, number | boolean | string> {
  const out = new Map<string, number | boolean | string>();
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(\S+)\s+(.*)$/.exec(line.trim());
    if (m?.[2] && m[3] !== undefined) out.set(m[2], parseGVariant(m[3]));
  }
  return out;
}

/** What decides GNOME's automatic lock (gsettings-desktop-schemas; GNOME Shell screenShield). */
export interface GnomeLockSettings {
  idleDelay: number;
  lockEnabled: boolean;
  lockDelay: number;
  disableLockScreen: boolean;
}

/**
 * GNOME locks `idle-delay + lock-delay` seconds after the last input iff idle-delay > 0,
 * lock-enabled and not lockdown disable-lock-screen (idle-delay 0 = never idle; the old
 * `idle-activation-enabled` key is ignored by current GNOME).
 */
export function gnomeEffective(s: GnomeLockSettings): { lockEnabled: boolean; idleToLockSeconds: number | null } {
  const on = s.idleDelay > 0 && s.lockEnabled && !s.disableLockScreen;
  return { lockEnabled: on, idleToLockSeconds: on ? s.idleDelay + s.lockDelay : null };
}

/** A KConfig file: groups of keys with the kiosk `[$i]` immutability markers. */
export interface KConfigFile {
  /** `[$i]` on a line of its own before any group: the whole file is immutable. */
  fileImmutable: boolean;
  groups: Map<string, { immutable: boolean; keys: Map<string, { value: string; immutable: boolean }> }>;
}

/**
 * KConfig INI (KDE Frameworks "KConfig kiosk" documentation): `[Group]`, `[Group][$i]` (group
 * immutable), `Key=Value`, `Key[$i]=Value` (key immutable), `Key[$e]` (shell expansion, value kept
 * as is), `Key[ja]` (localised; ignored), `#` comments.
 */
export function parseKConfig(text: string): KConfigFile {
  const file: KConfigFile = { fileImmutable: false, groups: new Map() };
  let current: { immutable: boolean; keys: Map<string, { value: string; immutable: boolean }> } | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line === '[$i]' && current === null) {
      file.fileImmutable = true;
      continue;
    }
    const g = /^\[([^\]]+)\]((?:\[[^\]]*\])*)$/.exec(line);
    if (g?.[1]) {
      const name = g[1];
      const existing = file.groups.get(name) ?? { immutable: false, keys: new Map() };
      if ((g[2] ?? '').includes('[$i]')) existing.immutable = true;
      file.groups.set(name, existing);
      current = existing;
      continue;
    }
    const kv = /^([^=[]+?)\s*((?:\[[^\]]*\])*)\s*=\s*(.*)$/.exec(line);
    if (!kv?.[1] || current === null) continue;
    const opts = kv[2] ?? '';
    if (/\[[a-z]{2}(_[A-Z]{2})?\]/.test(opts)) continue; // a translation
    current.keys.set(kv[1], { value: kv[3] ?? '', immutable: /\$[a-z]*i/.test(opts) });
  }
  return file;
}

const KDE_DEFAULTS = { Autolock: 'true', Timeout: '5', Lock: 'true', LockGrace: '5' } as const;
type KdeKey = keyof typeof KDE_DEFAULTS;

/**
 * KDE kscreenlocker, group [Daemon] (kscreenlocker `kscreenlockersettings.kcfg` defaults:
 * Autolock true, Timeout 5 minutes, Lock true, LockGrace 5 s). The system file (/etc/xdg) gives
 * defaults; the user file overrides unless the system key, group or file is `[$i]`.
 * ksldapp: an idle timeout is armed only when Autolock and Timeout > 0; with Lock=false the
 * grace is unlimited, i.e. the screen blanks but never asks for the password.
 */
export function kdeEffective(system: KConfigFile | null, user: KConfigFile | null): { lockEnabled: boolean; idleToLockSeconds: number | null; enforced: boolean; source: string } {
  const sysGroup = system?.groups.get('Daemon');
  const usrGroup = user?.groups.get('Daemon');
  const lockedKeys: KdeKey[] = [];
  const value = (k: KdeKey): string => {
    const sk = sysGroup?.keys.get(k);
    const immutable = Boolean(system?.fileImmutable || sysGroup?.immutable || sk?.immutable);
    if (immutable) lockedKeys.push(k);
    if (!immutable && usrGroup?.keys.has(k)) return usrGroup.keys.get(k)!.value;
    return sk?.value ?? KDE_DEFAULTS[k];
  };
  const autolock = value('Autolock') !== 'false';
  const timeoutMin = Number(value('Timeout'));
  const lock = value('Lock') !== 'false';
  const grace = Number(value('LockGrace'));
  const on = autolock && lock && Number.isFinite(timeoutMin) && timeoutMin > 0;
  const enforced = (['Autolock', 'Timeout', 'Lock', 'LockGrace'] as const).every((k) => lockedKeys.includes(k));
  return {
    lockEnabled: on,
    idleToLockSeconds: on ? Math.round(timeoutMin * 60 + (Number.isFinite(grace) && grace > 0 ? grace : 0)) : null,
    enforced,
    source: `kscreenlockerrc [Daemon]${lockedKeys.length ? ` ([$i]: ${lockedKeys.join(',')})` : ''}`,
  };
}

/** One xfconf channel file: property path → typed value and lock. */
export interface XfconfChannel {
  locked: boolean;
  properties: Map<string, { value: string; locked: boolean }>;
}

/**
 * xfconf per-channel XML (`xfce-perchannel-xml/<channel>.xml`): nested `<property name type value>`
 * elements; paths join the names with `/`. `locked="…"` on the channel or a property (xfconf
 * kiosk, system files only) makes it read-only for users.
 */
export function parseXfconfXml(xml: string): XfconfChannel | null {
  if (!/<channel\b/.test(xml)) return null;
  const channel: XfconfChannel = { locked: false, properties: new Map() };
  const stack: string[] = [];
  const tag = /<(\/?)(channel|property)\b([^>]*?)(\/?)>/g;
  for (let m = tag.exec(xml); m; m = tag.exec(xml)) {
    const [, closing, kind, attrText = '', selfClosing] = m;
    const attrs = new Map<string, string>();
    for (const a of attrText.matchAll(/([a-zA-Z-]+)="([^"]*)"/g)) attrs.set(a[1]!, unescapeXml(a[2]!));
    if (kind === 'channel') {
      if (!closing) channel.locked = Boolean(attrs.get('locked'));
      continue;
    }
    if (closing) {
      stack.pop();
      continue;
    }
    const path = `${stack.join('')}/${attrs.get('name') ?? ''}`;
    if (attrs.has('value')) channel.properties.set(path, { value: attrs.get('value')!, locked: Boolean(attrs.get('locked')) });
    if (!selfClosing) stack.push(`/${attrs.get('name') ?? ''}`);
  }
  return channel;
}

function unescapeXml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

const XFCE_DEFAULTS: Record<string, string> = {
  '/saver/enabled': 'true',
  '/saver/idle-activation/enabled': 'true',
  '/saver/idle-activation/delay': '5',
  '/lock/enabled': 'true',
  '/lock/saver-activation/enabled': 'true',
  '/lock/saver-activation/delay': '0',
};

/**
 * xfce4-screensaver (`src/gs-prefs.h` defaults above; delays in minutes): it locks
 * `idle delay + lock delay` minutes after the last input iff the saver, its idle activation,
 * the lock and lock-on-activation are all enabled and the idle delay is > 0.
 */
export function xfceEffective(system: XfconfChannel | null, user: XfconfChannel | null): { lockEnabled: boolean; idleToLockSeconds: number | null; enforced: boolean; source: string } {
  const lockedPaths: string[] = [];
  const value = (path: string): string => {
    const sp = system?.properties.get(path);
    const locked = Boolean(system?.locked || sp?.locked);
    if (locked) lockedPaths.push(path);
    if (!locked && user?.properties.has(path)) return user.properties.get(path)!.value;
    return sp?.value ?? XFCE_DEFAULTS[path]!;
  };
  const enabled = ['/saver/enabled', '/saver/idle-activation/enabled', '/lock/enabled', '/lock/saver-activation/enabled'].every((k) => value(k) === 'true');
  const idle = Number(value('/saver/idle-activation/delay'));
  const lockDelay = Number(value('/lock/saver-activation/delay'));
  const on = enabled && Number.isFinite(idle) && idle > 0;
  return {
    lockEnabled: on,
    idleToLockSeconds: on ? Math.round((idle + (Number.isFinite(lockDelay) ? lockDelay : 0)) * 60) : null,
    enforced: Object.keys(XFCE_DEFAULTS).every((k) => lockedPaths.includes(k)),
    // "locked" as xfconf's kiosk files name it.
    source: `xfce4-screensaver xfconf${lockedPaths.length ? ` (locked: ${lockedPaths.join(',')})` : ''}`,
  };
}
