/** USB enforcement on a temporary fake sysfs tree (never the real /sys). */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, expect, test } from 'vitest';
import { blockDevice } from '../../../agent/enforce/linux-usb.js';

const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

/** A sysfs tree with one device at `loc` whose interfaces have the given classes. */
function tree(loc: string, deviceClass: string, ifaceClasses: string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'mamori-sysfs-'));
  roots.push(root);
  const dev = join(root, 'bus/usb/devices', loc);
  mkdirSync(dev, { recursive: true });
  writeFileSync(join(dev, 'authorized'), '1\n');
  writeFileSync(join(dev, 'bDeviceClass'), `${deviceClass}\n`);
  ifaceClasses.forEach((c, i) => {
    const d = join(root, 'bus/usb/devices', `${loc}:1.${i}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'bInterfaceClass'), `${c}\n`);
  });
  return root;
}
const authorized = (root: string, loc: string): string => readFileSync(join(root, 'bus/usb/devices', loc, 'authorized'), 'utf8').trim();

test('plain mass storage is de-authorised (0 written to authorized)', () => {
  const root = tree('2-1', '00', ['08']);
  expect(blockDevice(root, '2-1', ['08:06:50'])).toEqual({ action: 'deauthorized', location: '2-1' });
  expect(authorized(root, '2-1')).toBe('0');
});

test('storage + keyboard (BadUSB pattern) is NOT de-authorised; nor a hub, a mouse, or a root hub', () => {
  const bad = tree('2-2', '00', ['08', '03']);
  expect(blockDevice(bad, '2-2', ['08:06:50'])).toMatchObject({ action: 'refused', reason: expect.stringMatching(/HID/) });
  expect(authorized(bad, '2-2')).toBe('1');
  const hub = tree('1-1', '09', ['09']);
  expect(blockDevice(hub, '1-1', ['08:06:50']).action).toBe('refused');
  expect(authorized(hub, '1-1')).toBe('1');
  const mouse = tree('1-3', '00', ['03']);
  expect(blockDevice(mouse, '1-3', []).action).toBe('refused');
  expect(authorized(mouse, '1-3')).toBe('1');
  expect(blockDevice(mouse, 'usb1', ['08:06:50'])).toMatchObject({ action: 'refused', reason: 'not a USB device port path' });
  expect(blockDevice(mouse, '../../etc', ['08:06:50']).action).toBe('refused');
});

test('the caller claiming storage-only does not override a HID interface found in sysfs', () => {
  const root = tree('3-4.1', '00', ['03', '08']);
  expect(blockDevice(root, '3-4.1', ['08:06:50']).action).toBe('refused');
  expect(authorized(root, '3-4.1')).toBe('1');
});

test('property: any device with a class-03 interface or hub class is never de-authorised', () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom('01', '02', '03', '07', '08', '09', '0a', 'e0', 'ff'), { minLength: 1, maxLength: 4 }), fc.constantFrom('00', '09', 'ef'), (ifaces, devClass) => {
      const root = tree('4-1', devClass, ifaces);
      const r = blockDevice(root, '4-1', ifaces.map((c) => `${c}:00:00`));
      if (ifaces.includes('03') || ifaces.includes('09') || devClass === '09') expect(authorized(root, '4-1')).toBe('1');
      if (r.action === 'deauthorized') expect(ifaces.includes('08') && !ifaces.includes('03')).toBe(true);
    }),
    { numRuns: 60 },
  );
});
