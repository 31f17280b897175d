/**
 * Re-records test/fixtures/replay/linux/debian12-this-machine from the live machine when
 * MAMORI_RECORD_LINUX=1 (a maintenance step, not part of the normal run):
 *   MAMORI_RECORD_LINUX=1 npx vitest run test/agent/real/record-this-machine.linux.test.ts
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { recordThisLinuxMachine } from '../../helpers/linux-record.js';

const dir = join(import.meta.dirname, '../../fixtures/replay/linux/debian12-this-machine');

test.runIf(process.env.MAMORI_RECORD_LINUX === '1' && process.platform === 'linux')('record this Debian 12 machine for replay', async () => {
  rmSync(dir, { recursive: true, force: true });
  const results = await recordThisLinuxMachine(dir, 'real machine: the Debian 12 development VM, recorded with RecordingProbes (test/helpers/linux-record.ts)');
  expect(results['os-patches']?.facts.osId).toBe('debian-12');
}, 180_000);
