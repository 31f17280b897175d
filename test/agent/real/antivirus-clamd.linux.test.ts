/**
 * The real clamd, started by the test with a signature the test makes (sigtool --md5 of a
 * clamav-testfiles sample → .hdb; official databases are not available offline). The collector
 * must see it running and take the signature time from the database file.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { LiveProbes } from '../../../agent/probes/live.js';
import { runLinuxCheck } from '../../helpers/linux-context.js';
import { requireTools, skipReal } from '../../helpers/linux-real.js';

const SAMPLE = '/usr/share/clamav-testfiles/clam.exe';
const TOOLS = ['/usr/sbin/clamd', '/usr/bin/sigtool', SAMPLE];
const PKGS = 'clamav clamav-daemon clamav-testfiles';
const work = mkdtempSync(join(tmpdir(), 'mamori-clamd-'));
let clamd: ChildProcess | undefined;
afterAll(() => {
  if (clamd?.pid && clamd.exitCode === null) clamd.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
});

async function waitFor(path: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!existsSync(path)) {
    if (Date.now() > end) throw new Error(`${path} did not appear within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test.skipIf(skipReal(TOOLS, PKGS))('clamd running with a self-made signature: running, signature time, not on-access', async () => {
  requireTools(TOOLS, PKGS);
  const db = join(work, 'db');
  execFileSync('/usr/bin/mkdir', ['-p', db]);
  writeFileSync(join(db, 'mamori-test.hdb'), execFileSync('/usr/bin/sigtool', ['--md5', SAMPLE], { encoding: 'utf8' }).replace(/:[^:\n]*$/m, ':Mamori.Test.ClamExe'));
  const conf = join(work, 'clamd.conf');
  const socket = join(work, 'clamd.sock');
  writeFileSync(conf, `LocalSocket ${socket}\nDatabaseDirectory ${db}\nForeground yes\nLogFile ${join(work, 'clamd.log')}\nPidFile ${join(work, 'clamd.pid')}\nUser root\n`);
  clamd = spawn('/usr/sbin/clamd', ['-c', conf], { stdio: 'ignore' });
  await waitFor(socket, 20_000);

  const r = await runLinuxCheck('antivirus', new LiveProbes(), { clamdConfPaths: [conf] });
  const hdbTime = new Date(Math.floor(statSync(join(db, 'mamori-test.hdb')).mtimeMs / 1000) * 1000).toISOString();
  expect(r.facts).toMatchObject({ installed: true, running: true, realTimeProtection: false, signatureUpdatedAt: hdbTime, lastFullScanAt: null });
  expect(r.facts.primaryProduct).toMatch(/^ClamAV \d/);

  clamd.kill('SIGTERM');
  await new Promise((res) => clamd!.once('exit', res));
  const after = await runLinuxCheck('antivirus', new LiveProbes(), { clamdConfPaths: [conf] });
  expect(after.facts).toMatchObject({ installed: true, running: false });
}, 60_000);
