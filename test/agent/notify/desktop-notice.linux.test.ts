/**
 * The Linux desktop notice end to end with real parts: an X server (Xvfb), a session bus
 * (dbus-daemon) and a notification daemon (dunst) run as an unprivileged user, as on a staff PC;
 * the agent's delivery sends the notice for a violation judged from a recorded PC as that user,
 * through its session bus. What the daemon received is captured with dbus-monitor on that bus,
 * and a screenshot of the screen is kept in test-results/desktop-notice/ as evidence.
 *
 * logind is not running in the test container: the session is given as logind would describe
 * it; reading logind's answer is tested on loginctl's documented output below.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { emptyFindingsState, findingsToEvents } from '../../../agent/findings.js';
import { localCheck, productCatalogue } from '../../../agent/local-check.js';
import { escapeMarkup, graphicalSessions, gvariantString, linuxDelivery, parseShowSession } from '../../../agent/notify/linux.js';
import type { LogindSession } from '../../../agent/notify/linux.js';
import { UserNotices } from '../../../agent/notify/user-notices.js';
import { silentLogger } from '../../../src/shared/log.js';
import { PolicyDocument } from '../../../src/shared/protocol/messages.js';
import type { NewAgentEvent } from '../../../src/shared/protocol/messages.js';
import { ROOT } from '../../helpers/processes.js';
import { requireTools, skipReal } from '../../helpers/linux-real.js';

const run = promisify(execFile);
const TOOLS = ['/usr/bin/Xvfb', '/usr/bin/dbus-daemon', '/usr/bin/dbus-monitor', '/usr/bin/dunst', '/usr/bin/gdbus', '/usr/bin/import', '/usr/bin/setpriv'];
const PKGS = 'xvfb dbus-daemon dbus-bin libglib2.0-bin dunst imagemagick util-linux fonts-noto-cjk';
const EVIDENCE = join(ROOT, 'test-results', 'desktop-notice');
const NOBODY = 65534;
const AS_NOBODY = ['/usr/bin/setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--'];

const children: ChildProcess[] = [];
const work = mkdtempSync(join(tmpdir(), 'mamori-desktop-'));
// The user must reach its runtime directory inside (as /run/user is world-traversable).
chmodSync(work, 0o755);
afterAll(() => {
  for (const c of children.reverse()) c.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
});

/** Start a program and wait until its output matches (generous deadline: the machine is shared). */
function startUntil(cmd: string[], env: NodeJS.ProcessEnv, ready: RegExp, stdio3 = false): Promise<{ child: ChildProcess; out: () => string; match: RegExpMatchArray }> {
  const child = spawn(cmd[0]!, cmd.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe', ...(stdio3 ? (['pipe'] as const) : [])] });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${cmd.join(' ')} not ready: ${out.slice(-500)}`)), 60_000);
    const on = (b: Buffer) => {
      out += b.toString('utf8');
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, out: () => out, match: m });
      }
    };
    child.stdout!.on('data', on);
    child.stderr!.on('data', on);
    if (stdio3) (child.stdio[3] as NodeJS.ReadableStream).on('data', on);
    child.once('exit', (code) => reject(new Error(`${cmd[0]} exited ${code}: ${out.slice(-500)}`)));
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Unique colours of a screenshot: a bare Xvfb root window has one. */
async function colours(png: string): Promise<number> {
  const r = await run('/usr/bin/convert', [png, '-format', '%k', 'info:']);
  return Number(r.stdout.trim());
}

describe('logind sessions (loginctl show-session output, loginctl(1) and org.freedesktop.login1.Session properties)', () => {
  // The shape loginctl prints for `show-session 2 c1 5 -p Id -p Name -p User -p Type -p State -p Active -p Remote -p Class`:
  // Key=Value per property, a blank line between sessions (loginctl(1), "show-session"; values per org.freedesktop.login1(5)).
  const SHOWN = 'Id=2\nName=suzuki\nUser=1000\nType=x11\nState=active\nActive=yes\nRemote=no\nClass=user\n\nId=c1\nName=lightdm\nUser=113\nType=x11\nState=online\nActive=no\nRemote=no\nClass=greeter\n\nId=5\nName=sato\nUser=1001\nType=tty\nState=active\nActive=yes\nRemote=yes\nClass=user\n\nId=7\nName=tanaka\nUser=1002\nType=wayland\nState=online\nActive=no\nRemote=no\nClass=user\n';
  it('only the active graphical sessions of users are notified', () => {
    const sessions = parseShowSession(SHOWN);
    expect(sessions.map((s) => s.id)).toEqual(['2', 'c1', '5', '7']);
    expect(graphicalSessions(sessions)).toEqual([{ id: '2', user: 'suzuki', uid: 1000, type: 'x11', state: 'active', active: true, remote: false, class: 'user' }]);
  });
  it('GVariant text quoting keeps quotes, backslashes and line breaks of the Japanese text', () => {
    expect(gvariantString('「A」"B"\\C\n次')).toBe('"「A」\\"B\\"\\\\C\\n次"');
  });
  it('markup characters of a program name are escaped for daemons that read markup', () => {
    expect(escapeMarkup('「AT&T <beta>」')).toBe('「AT&amp;T &lt;beta&gt;」');
  });
});

/** Starting the user's bus and daemon as another user needs root (CI runs as root). */
function notRoot(): boolean {
  if (process.getuid?.() === 0) return false;
  console.warn('skipping the desktop notice test: it must run as root to start the session as an unprivileged user');
  return true;
}

describe('a notice on a real notification daemon', () => {
  it.skipIf(skipReal(TOOLS, PKGS) || notRoot())('the person at the PC sees the USB notice in Japanese; the daemon received it on their session bus', async () => {
    requireTools(TOOLS, PKGS);
    mkdirSync(EVIDENCE, { recursive: true });
    // The user's runtime directory, as pam_systemd makes /run/user/UID: owned by the user, 0700.
    const runtime = join(work, 'run-user');
    const home = join(work, 'home');
    for (const d of [runtime, home]) {
      mkdirSync(d, { mode: 0o700 });
      chownSync(d, NOBODY, NOBODY);
    }
    // -ac: the X server lets the unprivileged user draw without an Xauthority file (test display only).
    const x = await startUntil(['/usr/bin/Xvfb', '-displayfd', '3', '-ac', '-nolisten', 'tcp', '-screen', '0', '1024x600x24'], process.env, /^(\d+)\n/m, true);
    const display = `:${x.match[1]}`;
    const userEnv = { PATH: '/usr/bin:/bin', HOME: home, XDG_RUNTIME_DIR: runtime, DISPLAY: display, LANG: 'C.UTF-8' };
    const bus = `unix:path=${runtime}/bus`;
    await startUntil([...AS_NOBODY, '/usr/bin/dbus-daemon', '--session', `--address=${bus}`, '--nofork', '--print-address'], userEnv, /unix:path=/);
    const busEnv = { ...userEnv, DBUS_SESSION_BUS_ADDRESS: bus };
    const monitor = await startUntil([...AS_NOBODY, '/usr/bin/dbus-monitor', '--address', bus, "type='method_call',interface='org.freedesktop.Notifications',member='Notify'"], busEnv, /NameLost|NameAcquired/);
    await startUntil([...AS_NOBODY, '/usr/bin/dunst', '-verbosity', 'info'], busEnv, /./);
    await until('dunst on the session bus', async () => {
      const r = await run(AS_NOBODY[0]!, [...AS_NOBODY.slice(1), '/usr/bin/gdbus', 'call', '--session', '--dest', 'org.freedesktop.DBus', '--object-path', '/org/freedesktop/DBus', '--method', 'org.freedesktop.DBus.NameHasOwner', 'org.freedesktop.Notifications'], { env: busEnv });
      return r.stdout.includes('true') ? true : undefined;
    });
    const before = join(EVIDENCE, 'before.png');
    await run('/usr/bin/import', ['-display', display, '-window', 'root', before]);
    expect(await colours(before)).toBe(1);

    // A real judgement: debian11-gnome-clamav has an unregistered USB stick attached.
    const report = await localCheck({ replayDir: join(import.meta.dirname, '../../fixtures/replay/linux/debian11-gnome-clamav'), checks: ['usb-media'] });
    const { events, state } = findingsToEvents(report, productCatalogue().rules, emptyFindingsState());
    const session: LogindSession = { id: '2', user: 'nobody', uid: NOBODY, type: 'x11', state: 'active', active: true, remote: false, class: 'user' };
    const stateDir = join(work, 'state');
    mkdirSync(stateDir, { mode: 0o700 });
    const recorded: NewAgentEvent[] = [];
    // Noon JST: outside the default quiet hours.
    const notices = new UserNotices({ stateDir, log: silentLogger(), policy: () => PolicyDocument.parse({ version: 1 }), catalogue: productCatalogue, append: (e) => recorded.push(...e), notify: true, delivery: linuxDelivery({ sessions: async () => [session], runtimeDir: () => runtime }), now: () => new Date('2026-12-07T03:00:00Z') });
    notices.afterFindings(events, state);
    await notices.idle();

    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ kind: 'agent.notice', notice: 'user.notified', detail: { ruleId: 'USB-001', subject: '0951:1666:E0D55EA573DCF450E97C0F9A', sessions: [{ session: '2', user: 'nobody' }] } });

    // What the daemon received, as the bus carried it (sender uid is the user's, not root's).
    const received = await until('the Notify call on the bus', async () => (monitor.out().includes('member=Notify') && monitor.out().includes('helpdesk@example.lg.jp') ? monitor.out() : undefined));
    writeFileSync(join(EVIDENCE, 'dbus-monitor.txt'), received);
    expect(received).toContain('string "mamori"');
    expect(received).toContain('string "【情報セキュリティ】登録されていないUSBメモリが接続されました"');
    expect(received).toContain('媒体管理台帳に登録されていないUSB記憶媒体 (0951:1666:E0D55EA573DCF450E97C0F9A) がこのパソコンに接続されました。\n規程: 川崎市情報セキュリティ基準 第4章4(1)ア、第9章8(8)\n対応: すぐに取り外してください。');
    expect(received).toContain('連絡先: 情報セキュリティ管理者 (情報政策課 ヘルプデスク 内線 1234 helpdesk@example.lg.jp)');
    expect(received).toMatch(/int32 0\n/); // expire_timeout 0: stays until the user closes it

    // The daemon drew it: the screen is no longer the bare root window.
    const shot = join(EVIDENCE, 'notice-USB-001.png');
    await until('the notice on the screen', async () => {
      await run('/usr/bin/import', ['-display', display, '-window', 'root', shot]);
      return (await colours(shot)) > 1 ? true : undefined;
    });
    expect(existsSync(shot)).toBe(true);
    console.info(`desktop notice evidence: ${shot}, ${join(EVIDENCE, 'dbus-monitor.txt')}`);
  }, 180_000);
});
