/** The dpkg inventory the collector reads equals what dpkg-query reports on this machine. */
import { execFileSync } from 'node:child_process';
import { expect, test } from 'vitest';
import { LiveProbes } from '../../../agent/probes/live.js';
import { runLinuxCheck } from '../../helpers/linux-context.js';
import { requireTools, skipReal } from '../../helpers/linux-real.js';

const TOOLS = ['/usr/bin/dpkg-query', '/var/lib/dpkg/status'];

test.skipIf(skipReal(TOOLS, 'dpkg'))('dpkg inventory = dpkg-query -W (installed and held packages)', async () => {
  requireTools(TOOLS, 'dpkg');
  const expected = execFileSync('/usr/bin/dpkg-query', ['-W', '-f', '${db:Status-Status}\t${Package}\t${Version}\n'], { encoding: 'utf8', maxBuffer: 64 << 20 })
    .split('\n')
    .filter((l) => l.startsWith('installed\t'))
    .map((l) => l.split('\t').slice(1).join('\t'))
    .sort();
  const r = await runLinuxCheck('software', new LiveProbes());
  const got = (r.facts.packages as { name: string; version: string; source: string }[]).filter((p) => p.source === 'dpkg').map((p) => `${p.name}\t${p.version}`).sort();
  expect(expected.length).toBeGreaterThan(50);
  expect(got).toEqual(expected);
}, 60_000);
