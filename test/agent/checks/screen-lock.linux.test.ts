import { describe, expect, test } from 'vitest';
import { classifySession, gnomeEffective, kdeEffective, parseGsettingsList, parseGVariant, parseKConfig, parseKeyValues, parseSessionIds, parseXfconfXml, xfceEffective } from '../../../agent/checks/screen-lock/linux-parse.js';
import { ScreenLockFacts } from '../../../agent/checks/screen-lock/facts.js';
import { runLinuxCheck } from '../../helpers/linux-context.js';
import { FAILURES, ScriptedProbes, fixture, fixtureJson } from '../../helpers/linux-probes.js';

const F = (n: string): string => fixture('screen-lock', n);
const kcfg = (n: string): ReturnType<typeof parseKConfig> | null => {
  try {
    return parseKConfig(F(n));
  } catch {
    return null;
  }
};

describe('screen-lock Linux parsers', () => {
  test('loginctl: ids from the first column, graphical user session classified by properties', () => {
    const want = fixtureJson<{ ids: string[]; session: unknown }>('screen-lock', 'ubuntu2404-gnome.facts.json');
    expect(parseSessionIds(F('ubuntu2404-gnome.loginctl-sessions.txt'))).toEqual(want.ids);
    expect(classifySession('2', parseKeyValues(F('ubuntu2404-gnome.loginctl-show.txt')))).toEqual(want.session);
    expect(classifySession('c1', parseKeyValues('Name=gdm\nUser=120\nType=wayland\nClass=greeter\nDesktop=\n'))).toBeNull();
    expect(classifySession('3', parseKeyValues('Name=tanaka\nType=tty\nClass=user\n'))).toBeNull();
  });
  test('GVariant text and gsettings list-recursively (GNOME on Ubuntu 24.04)', () => {
    expect(parseGVariant('uint32 300')).toBe(300);
    expect(parseGVariant('true\n')).toBe(true);
    expect(parseGVariant("'ubuntu'")).toBe('ubuntu');
    const v = new Map([...parseGsettingsList(F('ubuntu2404-gnome.gsettings-session.txt')), ...parseGsettingsList(F('ubuntu2404-gnome.gsettings-screensaver.txt')), ...parseGsettingsList(F('ubuntu2404-gnome.gsettings-lockdown.txt'))]);
    const s = { idleDelay: v.get('idle-delay') as number, lockEnabled: v.get('lock-enabled') as boolean, lockDelay: v.get('lock-delay') as number, disableLockScreen: v.get('disable-lock-screen') as boolean };
    const want = fixtureJson<Record<string, unknown>>('screen-lock', 'ubuntu2404-gnome.gsettings.facts.json');
    expect({ ...s, effective: gnomeEffective(s) }).toEqual(want);
  });
  test('GNOME: idle-delay 0, lock disabled or lockdown → never locks', () => {
    const on = { idleDelay: 300, lockEnabled: true, lockDelay: 0, disableLockScreen: false };
    expect(gnomeEffective({ ...on, idleDelay: 0 })).toEqual({ lockEnabled: false, idleToLockSeconds: null });
    expect(gnomeEffective({ ...on, lockEnabled: false }).lockEnabled).toBe(false);
    expect(gnomeEffective({ ...on, disableLockScreen: true }).lockEnabled).toBe(false);
  });
  test.each(['kde-locked', 'kde-user', 'kde-keylock'])('KDE kscreenlockerrc cascade with [$i]: %s', (c) => {
    const sys = kcfg(`${c}.etc-xdg-kscreenlockerrc.ini`);
    const usr = kcfg(`${c}.user-kscreenlockerrc.ini`);
    expect(kdeEffective(sys, usr)).toEqual(fixtureJson('screen-lock', `${c}.facts.json`));
  });
  test('KDE with no files at all → kcfg defaults (5 min + 5 s grace), not enforced', () => {
    expect(kdeEffective(null, null)).toMatchObject({ lockEnabled: true, idleToLockSeconds: 305, enforced: false });
  });
  test.each(['xfce-user', 'xfce-nolock'])('Xfce xfconf channel: %s', (c) => {
    expect(xfceEffective(null, parseXfconfXml(F(`${c}.user-xfce4-screensaver.xml`)))).toEqual(fixtureJson('screen-lock', `${c}.facts.json`));
  });
  test('Xfce locked channel in /etc/xdg wins over the user file', () => {
    const sys = parseXfconfXml('<channel name="xfce4-screensaver" version="1.0" locked="*"><property name="saver" type="empty"><property name="idle-activation" type="empty"><property name="delay" type="int" value="3"/></property></property></channel>');
    const eff = xfceEffective(sys, parseXfconfXml(F('xfce-user.user-xfce4-screensaver.xml')));
    expect(eff).toMatchObject({ lockEnabled: true, idleToLockSeconds: 180, enforced: true });
    expect(parseXfconfXml('not xml')).toBeNull();
  });
});

const gnomeMachine = {
  'loginctl.sessions': F('ubuntu2404-gnome.loginctl-sessions.txt'),
  'loginctl.session.2': F('ubuntu2404-gnome.loginctl-show.txt'),
  'loginctl.session.c1': 'Name=gdm\nUser=120\nType=wayland\nClass=greeter\nDesktop=\nRemote=no\nActive=no\n',
  passwd: 'root:x:0:0:root:/root:/bin/bash\ntanaka:x:1000:1000:田中:/home/tanaka:/bin/bash\n',
  'gsettings.tanaka.session': F('ubuntu2404-gnome.gsettings-session.txt'),
  'gsettings.tanaka.screensaver': F('ubuntu2404-gnome.gsettings-screensaver.txt'),
  'gsettings.tanaka.lockdown': F('ubuntu2404-gnome.gsettings-lockdown.txt'),
  'gsettings.tanaka.writable.idle-delay': 'true\n',
  'gsettings.tanaka.writable.lock-enabled': 'true\n',
  'gsettings.tanaka.writable.lock-delay': 'true\n',
  'gsettings.tanaka.writable.disable-lock-screen': 'true\n',
};

describe('screen-lock Linux collector', () => {
  test('GNOME user session: 300 s idle + 30 s lock delay, not enforced; greeter skipped', async () => {
    const r = await runLinuxCheck('screen-lock', new ScriptedProbes(gnomeMachine));
    expect(ScreenLockFacts.parse(r.facts)).toBeTruthy();
    expect(r.facts.sessions).toEqual([{ user: 'tanaka', desktop: 'gnome', lockEnabled: true, idleToLockSeconds: 330, enforced: false, source: 'gsettings' }]);
  });
  test('nobody logged on → empty session list (a fact)', async () => {
    const r = await runLinuxCheck('screen-lock', new ScriptedProbes({ 'loginctl.sessions': '' }));
    expect(r.status).toBe('ok');
    expect(r.facts.sessions).toEqual([]);
  });
  test.each([
    ['accessDenied', FAILURES.accessDenied!],
    ['timeout', FAILURES.timeout!],
    ['missing', FAILURES.missing!],
  ])('gsettings %s for the user → sessions unknown, never "not locked"', async (_n, outcome) => {
    const r = await runLinuxCheck('screen-lock', new ScriptedProbes({ ...gnomeMachine, 'gsettings.tanaka.screensaver': outcome }));
    expect(r.status).toBe('unknown');
    expect(r.facts.sessions).toBeUndefined();
    expect(r.unknownFacts.sessions).toContain(outcome.ok ? '' : outcome.failure);
  });
  test('garbled gsettings output → unknown with PARSE_FAILED', async () => {
    const r = await runLinuxCheck('screen-lock', new ScriptedProbes({ ...gnomeMachine, 'gsettings.tanaka.session': FAILURES.garbled! }));
    expect(r.unknownFacts.sessions).toMatch(/PARSE_FAILED/);
  });
  test('loginctl unavailable (no systemd) → check unknown with the reason', async () => {
    const r = await runLinuxCheck('screen-lock', new ScriptedProbes({ 'loginctl.sessions': { ok: false, failure: 'EXEC_FAILED', detail: 'System has not been booted with systemd' } }));
    expect(r.status).toBe('unknown');
    expect(r.reason).toMatch(/systemd/);
  });
  test('unsupported desktop (Cinnamon) → unknown, not assumed locked', async () => {
    const r = await runLinuxCheck('screen-lock', new ScriptedProbes({ ...gnomeMachine, 'loginctl.session.2': 'Name=tanaka\nUser=1000\nType=x11\nClass=user\nDesktop=X-Cinnamon\n' }));
    expect(r.unknownFacts.sessions).toMatch(/UNSUPPORTED/);
  });
  test('Xfce without xfce4-screensaver or light-locker → no lock', async () => {
    const r = await runLinuxCheck('screen-lock', new ScriptedProbes({ ...gnomeMachine, 'loginctl.session.2': 'Name=tanaka\nUser=1000\nType=x11\nClass=user\nDesktop=XFCE\n' }));
    expect(r.facts.sessions).toEqual([{ user: 'tanaka', desktop: 'xfce', lockEnabled: false, idleToLockSeconds: null, enforced: false, source: 'autostart: xfce4-screensaver.desktop=- light-locker.desktop=-' }]);
  });
});
