import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { SoftwareFilesWatcher, userApplicationDirs } from '../../../agent/watchers/software-files.js';

const root = mkdtempSync(join(tmpdir(), 'mamori-swwatch-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

test('users application dirs from passwd', () => {
  expect(userApplicationDirs('root:x:0:0::/root:/bin/bash\ntanaka:x:1000:1000::/home/tanaka:/bin/bash\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n')).toEqual(['/home/tanaka/.local/share/applications']);
});

test('a burst of installs in watched folders → one debounced software trigger, and the next file its own; missing paths skipped', async () => {
  const opt = join(root, 'opt');
  const apps = join(root, 'home/tanaka/.local/share/applications');
  mkdirSync(opt, { recursive: true });
  mkdirSync(apps, { recursive: true });
  const passwd = join(root, 'passwd');
  writeFileSync(passwd, `tanaka:x:1000:1000::${join(root, 'home/tanaka')}:/bin/bash\n`);
  const w = new SoftwareFilesWatcher({ paths: [opt, join(root, 'does-not-exist')], passwdPath: passwd, debounceMs: 300 });
  const triggers: [string, string][] = [];
  await w.start((id, reason) => triggers.push([id, reason]));
  mkdirSync(join(opt, 'vendor/app'), { recursive: true });
  writeFileSync(join(opt, 'vendor/app/run'), '#!/bin/sh\n');
  writeFileSync(join(apps, 'dropbox.desktop'), '[Desktop Entry]\n');
  const waitFor = async (n: number) => {
    const deadline = Date.now() + 20_000;
    while (triggers.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  };
  await waitFor(1);
  // Then one more file, written only now: the next trigger must be for it alone. A burst that gave
  // more than one trigger would show a second one before it, or its files in it.
  const marker = join(apps, 'marker.desktop');
  writeFileSync(marker, '[Desktop Entry]\n');
  await waitFor(2);
  await w.stop();
  expect(triggers).toHaveLength(2);
  expect(triggers[0]![0]).toBe('software');
  expect(triggers[0]![1]).toMatch(/dropbox\.desktop|vendor/);
  expect(triggers[0]![1]).not.toContain('marker');
  expect(triggers[1]).toEqual(['software', `files changed: ${marker}`]);
}, 30_000);
