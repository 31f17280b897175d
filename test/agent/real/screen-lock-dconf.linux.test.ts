/**
 * GNOME settings through the real gsettings with a REAL compiled dconf database holding locks
 * (dconf compile + DCONF_PROFILE; nothing under /etc is touched).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { LINUX_SCREEN_LOCK_PARAMS, readGnome } from '../../../agent/checks/screen-lock/linux.js';
import { LiveProbes } from '../../../agent/probes/live.js';
import { linuxContext } from '../../helpers/linux-context.js';
import { requireTools, skipReal } from '../../helpers/linux-real.js';

const TOOLS = ['/usr/bin/gsettings', '/usr/bin/dconf', '/usr/share/glib-2.0/schemas/org.gnome.desktop.screensaver.gschema.xml'];
const PKGS = 'libglib2.0-bin dconf-cli dconf-gsettings-backend gsettings-desktop-schemas';
const work = mkdtempSync(join(tmpdir(), 'mamori-dconf-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function dconfDb(name: string, keyfile: string, locks: string[]): string {
  const dir = join(work, `${name}.d`);
  mkdirSync(join(dir, 'locks'), { recursive: true });
  writeFileSync(join(dir, '00-screenlock'), keyfile);
  writeFileSync(join(dir, 'locks', '00-screenlock'), locks.map((l) => `${l}\n`).join(''));
  const db = join(work, name);
  execFileSync('/usr/bin/dconf', ['compile', db, dir]);
  const profile = join(work, `${name}.profile`);
  writeFileSync(profile, `user-db:user\nfile-db:${db}\n`);
  return profile;
}

const me = { name: 'tester', uid: process.getuid!(), gid: process.getgid!(), home: join(work, 'home'), shell: '/bin/bash' };
const KEYFILE = "[org/gnome/desktop/session]\nidle-delay=uint32 600\n\n[org/gnome/desktop/screensaver]\nlock-enabled=true\nlock-delay=uint32 15\n\n[org/gnome/desktop/lockdown]\ndisable-lock-screen=false\n";

test.skipIf(skipReal(TOOLS, PKGS))('all deciding keys locked in the dconf db → enforced, values from the db', async () => {
  requireTools(TOOLS, PKGS);
  mkdirSync(me.home, { recursive: true });
  const profile = dconfDb('locked', KEYFILE, ['/org/gnome/desktop/session/idle-delay', '/org/gnome/desktop/screensaver/lock-enabled', '/org/gnome/desktop/screensaver/lock-delay', '/org/gnome/desktop/lockdown/disable-lock-screen']);
  const r = await readGnome(linuxContext(new LiveProbes()), { ...LINUX_SCREEN_LOCK_PARAMS, dconfProfile: profile }, me, 'GNOME');
  expect(r).toEqual({ ok: true, session: { user: 'tester', desktop: 'gnome', lockEnabled: true, idleToLockSeconds: 615, enforced: true, source: 'gsettings (dconf lock: idle-delay,lock-enabled,lock-delay,disable-lock-screen)' } });
}, 30_000);

test.skipIf(skipReal(TOOLS, PKGS))('only idle-delay locked → not enforced; lock disabled in the db → not locking', async () => {
  requireTools(TOOLS, PKGS);
  mkdirSync(me.home, { recursive: true });
  const profile = dconfDb('partial', KEYFILE.replace('lock-enabled=true', 'lock-enabled=false'), ['/org/gnome/desktop/session/idle-delay']);
  const r = await readGnome(linuxContext(new LiveProbes()), { ...LINUX_SCREEN_LOCK_PARAMS, dconfProfile: profile }, me, 'GNOME');
  expect(r).toEqual({ ok: true, session: { user: 'tester', desktop: 'gnome', lockEnabled: false, idleToLockSeconds: null, enforced: false, source: 'gsettings (dconf lock: idle-delay)' } });
}, 30_000);

test.skipIf(skipReal(TOOLS, PKGS))('no admin db → schema defaults (300 s, lock on), not enforced', async () => {
  requireTools(TOOLS, PKGS);
  mkdirSync(me.home, { recursive: true });
  const profile = join(work, 'plain.profile');
  writeFileSync(profile, 'user-db:user\n');
  const r = await readGnome(linuxContext(new LiveProbes()), { ...LINUX_SCREEN_LOCK_PARAMS, dconfProfile: profile }, me, 'GNOME');
  expect(r).toEqual({ ok: true, session: { user: 'tester', desktop: 'gnome', lockEnabled: true, idleToLockSeconds: 300, enforced: false, source: 'gsettings' } });
}, 30_000);
