/**
 * apt security classification on this machine, checked against a second apt view: `apt-cache madison`
 * lists every (version, archive) pair, so a pending update is security when its candidate version
 * appears in a *-security archive.
 */
import { execFileSync } from 'node:child_process';
import { expect, test } from 'vitest';
import { parseAptSimulation } from '../../../agent/checks/os-patches/linux-parse.js';
import { LiveProbes } from '../../../agent/probes/live.js';
import { runLinuxCheck } from '../../helpers/linux-context.js';
import { requireTools, skipReal } from '../../helpers/linux-real.js';

const TOOLS = ['/usr/bin/apt-get', '/usr/bin/apt-cache'];
const run = (file: string, args: string[]): string => execFileSync(file, args, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 64 << 20 });

test.skipIf(skipReal(TOOLS, 'apt'))('pending security updates = candidates published in a -security archive (apt-cache madison)', async () => {
  requireTools(TOOLS, 'apt');
  const r = await runLinuxCheck('os-patches', new LiveProbes());
  const inst = parseAptSimulation(run('/usr/bin/apt-get', ['-s', '-o', 'Debug::NoLocking=1', 'dist-upgrade']));
  expect(r.facts.pendingUpdatesTotal).toBe(inst.length);
  const expected: string[] = [];
  if (inst.length) {
    const madison = run('/usr/bin/apt-cache', ['madison', ...inst.map((i) => i.name)]);
    for (const i of inst) {
      const lines = madison.split('\n').map((l) => l.split('|').map((c) => c.trim())).filter((c) => c[0] === i.name.replace(/:.*$/, '') && c[1] === i.candidate);
      if (lines.some((c) => /-security\//.test(c[2] ?? ''))) expected.push(i.name);
    }
  }
  const got = (r.facts.pendingSecurityUpdates as { name: string }[]).map((u) => u.name);
  expect(got.sort()).toEqual(expected.sort());
  console.log(`apt on this machine: ${inst.length} pending, ${got.length} security`);
}, 180_000);
