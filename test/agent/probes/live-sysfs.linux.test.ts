/**
 * The live probes read sysfs in place and everything else through the I/O threads; the outcome
 * is the same either way: content, listings, NOT_FOUND for what does not exist.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LiveProbes } from '../../../agent/probes/live.js';

describe('LiveProbes on sysfs', () => {
  const probes = new LiveProbes();
  it('reads a sysfs attribute and lists a sysfs folder as the file system has them', async () => {
    expect(await probes.readFile('sysfs.kernel-mm', '/sys/kernel/mm/transparent_hugepage/enabled')).toEqual({ ok: true, stdout: readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'), exitCode: 0 });
    expect(await probes.listDir('sysfs.class', '/sys/class')).toEqual({ ok: true, stdout: JSON.stringify(readdirSync('/sys/class').sort()), exitCode: 0 });
  });
  it('says NOT_FOUND for a sysfs path that does not exist, as for any other path', async () => {
    for (const path of ['/sys/bus/usb/devices/9-9/serial', '/nonexistent/serial']) {
      expect(await probes.readFile('x', path)).toMatchObject({ ok: false, failure: 'NOT_FOUND' });
      expect(await probes.listDir('x', path)).toMatchObject({ ok: false, failure: 'NOT_FOUND' });
    }
  });
});
