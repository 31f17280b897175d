/**
 * Linux delivery: a notification on the session bus of each active graphical session, as
 * notify-send does (org.freedesktop.Notifications.Notify, Desktop Notifications Specification 1.2),
 * sent as the session's user. Sessions come from logind (loginctl(1)).
 */
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import type { ComposedNotice } from './texts.js';
import type { DeliveryResult, NoticeDelivery, NoticeTarget } from './delivery.js';

export interface LogindSession {
  id: string;
  user: string;
  uid: number;
  type: string;
  state: string;
  active: boolean;
  remote: boolean;
  class: string;
}

export const LOGIND_PROPERTIES = ['Id', 'Name', 'User', 'Type', 'State', 'Active', 'Remote', 'Class'];

/**
 * `loginctl show-session ID… -p Id -p Name …` prints one Key=Value line per property and a blank
 * line between sessions (loginctl(1) "show-session", properties of org.freedesktop.login1.Session:
 * User is the uid, Active/Remote are yes/no, Type is x11/wayland/mir/tty/unspecified).
 */
export function parseShowSession(stdout: string): LogindSession[] {
  return stdout
    .split(/\n\s*\n/)
    .map((block) => Object.fromEntries(block.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])))
    .filter((p) => p.Id && p.User && /^\d+$/.test(p.User))
    .map((p) => ({ id: p.Id!, user: p.Name ?? '', uid: Number(p.User), type: p.Type ?? '', state: p.State ?? '', active: p.Active === 'yes', remote: p.Remote === 'yes', class: p.Class ?? '' }));
}

/** The sessions a person is looking at: graphical, a user's (not the greeter's), active. */
export function graphicalSessions(sessions: readonly LogindSession[]): LogindSession[] {
  return sessions.filter((s) => ['x11', 'wayland', 'mir'].includes(s.type) && s.class === 'user' && s.active);
}

/** A string in GVariant text format (gdbus call parses every argument as GVariant text). */
export function gvariantString(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/**
 * A daemon that announces "body-markup" reads the body as markup (Desktop Notifications
 * Specification 1.2, "Markup"): a program name such as "A&B" must reach it escaped.
 */
export function escapeMarkup(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const BUS_ARGS = ['--session', '--dest', 'org.freedesktop.Notifications', '--object-path', '/org/freedesktop/Notifications'];

/**
 * gdbus arguments of Notify(app_name, replaces_id, app_icon, summary, body, actions, hints,
 * expire_timeout). Timeout 0 = stays until the user closes it; urgency 1 (normal): critical
 * notices may be drawn over full-screen programs, which the notice must not disturb.
 */
export function notifyArgs(notice: ComposedNotice, bodyMarkup: boolean): string[] {
  return [
    'call', ...BUS_ARGS, '--method', 'org.freedesktop.Notifications.Notify',
    gvariantString('mamori'), '0', gvariantString('dialog-warning'), gvariantString(notice.summary), gvariantString(bodyMarkup ? escapeMarkup(notice.body) : notice.body),
    '[]', '{"urgency": <byte 1>, "desktop-entry": <"mamori">}', '0',
  ];
}

type Run = (cmd: string, args: string[], env?: NodeJS.ProcessEnv) => Promise<{ ok: boolean; stdout: string; stderr: string }>;

const run: Run = (cmd, args, env) =>
  new Promise((resolve) => {
    execFile(cmd, args, { timeout: 10_000, encoding: 'utf8', env: env ?? process.env }, (err, stdout, stderr) => resolve({ ok: !err, stdout, stderr: stderr || (err ? err.message : '') }));
  });

export interface LinuxDeliveryOptions {
  /** Where each user's runtime directory is (default /run/user/UID, pam_systemd). */
  runtimeDir?: (uid: number) => string;
  /** The sessions to notify (default: logind's active graphical sessions). */
  sessions?: () => Promise<LogindSession[]>;
  run?: Run;
}

async function logindSessions(exec: Run): Promise<LogindSession[]> {
  const list = await exec('/usr/bin/loginctl', ['list-sessions', '--no-legend', '--no-pager']);
  if (!list.ok) throw new Error(`loginctl list-sessions: ${list.stderr.trim().slice(0, 200)}`);
  const ids = list.stdout.split('\n').map((l) => l.trim().split(/\s+/)[0]).filter((x): x is string => Boolean(x));
  if (ids.length === 0) return [];
  const show = await exec('/usr/bin/loginctl', ['show-session', ...ids, '--no-pager', ...LOGIND_PROPERTIES.flatMap((p) => ['-p', p])]);
  if (!show.ok) throw new Error(`loginctl show-session: ${show.stderr.trim().slice(0, 200)}`);
  return parseShowSession(show.stdout);
}

export function linuxDelivery(o: LinuxDeliveryOptions = {}): NoticeDelivery {
  const exec = o.run ?? run;
  const runtimeDir = o.runtimeDir ?? ((uid: number) => `/run/user/${uid}`);
  return {
    async deliver(notice: ComposedNotice, target: NoticeTarget): Promise<DeliveryResult[]> {
      const all = graphicalSessions(await (o.sessions ?? (() => logindSessions(exec)))());
      const sessions = target.user ? all.filter((s) => s.user === target.user) : all;
      const results: DeliveryResult[] = [];
      for (const s of sessions) {
        const dir = runtimeDir(s.uid);
        const bus = `${dir}/bus`;
        if (!existsSync(bus)) {
          results.push({ session: s.id, user: s.user, ok: false, reason: `${bus} がありません (セッションバスなし)` });
          continue;
        }
        // Sent as the user: a session bus accepts only its owner. The runtime directory's group is the user's primary group.
        const gid = statSync(dir).gid;
        const env = { PATH: '/usr/bin:/bin', DBUS_SESSION_BUS_ADDRESS: `unix:path=${bus}`, XDG_RUNTIME_DIR: dir, LANG: 'C.UTF-8' };
        const asUser = [`--reuid=${s.uid}`, `--regid=${gid}`, '--clear-groups', '--', '/usr/bin/gdbus'];
        // GetCapabilities answers "(['actions', 'body', 'body-markup', …],)".
        const caps = await exec('/usr/bin/setpriv', [...asUser, 'call', ...BUS_ARGS, '--method', 'org.freedesktop.Notifications.GetCapabilities'], env);
        const r = await exec('/usr/bin/setpriv', [...asUser, ...notifyArgs(notice, caps.stdout.includes("'body-markup'"))], env);
        // gdbus prints the reply as GVariant text: "(uint32 7,)".
        const id = /\(uint32 (\d+),\)/.exec(r.stdout)?.[1];
        results.push(r.ok && id ? { session: s.id, user: s.user, ok: true, notificationId: Number(id) } : { session: s.id, user: s.user, ok: false, reason: (r.stderr || r.stdout).trim().slice(0, 300) });
      }
      return results;
    },
  };
}
