/** The agent's USB enforcement step: only unregistered storage, only on a live PC, reported as notices. */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { enforceUsb, enforcementNotices } from '../../../agent/enforce/index.js';
import type { UsbDevice } from '../../../agent/checks/usb-media/facts.js';
import type { Probes } from '../../../agent/probes/types.js';
import { PolicyDocument } from '../../../src/shared/protocol/messages.js';

function sysfs(devices: { loc: string; classes: string[] }[]): string {
  const root = mkdtempSync(join(tmpdir(), 'mamori-enforce-'));
  for (const d of devices) {
    const dir = join(root, 'bus/usb/devices', d.loc);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'authorized'), '1\n');
    writeFileSync(join(dir, 'bDeviceClass'), '00\n');
    d.classes.forEach((c, i) => {
      mkdirSync(join(root, 'bus/usb/devices', `${d.loc}:1.${i}`), { recursive: true });
      writeFileSync(join(root, 'bus/usb/devices', `${d.loc}:1.${i}`, 'bInterfaceClass'), `${c}\n`);
    });
  }
  return root;
}
const device = (fingerprint: string, location: string, interfaceClasses: string[]): UsbDevice => ({ fingerprint, location, interfaceClasses, vendorId: '0781', productId: '5583', serial: 'X', manufacturer: null, product: null, storageWithHid: false, sizeBytes: null, mountPoints: [], readOnly: null, duplicateSerial: false });
const probes = (mode: 'live' | 'replay'): Probes => ({ mode, platform: 'linux' } as Probes);

describe('enforceUsb (block mode)', () => {
  it('de-authorises only the storage devices that are not in the 媒体管理台帳', async () => {
    const root = sysfs([{ loc: '2-1', classes: ['08'] }, { loc: '2-2', classes: ['08'] }]);
    const policy = PolicyDocument.parse({ version: 3, lists: { registeredMedia: ['0781:5583:REGISTERED'] } });
    const results = await enforceUsb(probes('live'), [device('0781:5583:REGISTERED', '2-1', ['08:06:50']), device('0781:5583:STRANGER', '2-2', ['08:06:50'])], policy, root);
    expect(results).toEqual([{ fingerprint: '0781:5583:STRANGER', action: 'deauthorized', reason: 'authorized=0 on 2-2' }]);
    expect(readFileSync(join(root, 'bus/usb/devices/2-1/authorized'), 'utf8').trim()).toBe('1');
    expect(readFileSync(join(root, 'bus/usb/devices/2-2/authorized'), 'utf8').trim()).toBe('0');
    expect(enforcementNotices(results)[0]).toMatchObject({ kind: 'agent.notice', notice: 'usb.blocked', detail: { fingerprint: '0781:5583:STRANGER' } });
  });

  it('reports a refusal (keyboard inside the stick) as usb.block-failed, and does nothing when replaying a recording', async () => {
    const root = sysfs([{ loc: '3-1', classes: ['08', '03'] }]);
    const policy = PolicyDocument.parse({ version: 1 });
    const results = await enforceUsb(probes('live'), [device('0781:5583:BADUSB', '3-1', ['08:06:50', '03:01:01'])], policy, root);
    expect(results[0]).toMatchObject({ action: 'refused' });
    expect(enforcementNotices(results)[0]).toMatchObject({ notice: 'usb.block-failed' });
    expect(readFileSync(join(root, 'bus/usb/devices/3-1/authorized'), 'utf8').trim()).toBe('1');
    expect(await enforceUsb(probes('replay'), [device('0781:5583:STRANGER', '3-1', ['08:06:50'])], policy, root)).toEqual([]);
  });
});
