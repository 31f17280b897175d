import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { LinuxUdevWatcher, UdevBlockParser, hasStorageInterface, kernelUsbStorageReason, sysfsSerial, usbStorageReason } from '../../../agent/watchers/linux-udev.js';
import type { CachedIdentity } from '../../../agent/watchers/linux-udev.js';
import { udevStreamCommand } from '../../helpers/linux-udev-stream.js';
import { tempDir } from '../../helpers/processes.js';

const recording = join(import.meta.dirname, '../../fixtures/replay/linux/udev-monitor/stick-plug-unplug.txt');
/** Kernel uevents of a real 6.1 kernel without udevd: a 0781:5581 gadget stick plugged and unplugged (README.md there). */
const kernelRecording = join(import.meta.dirname, '../../fixtures/replay/linux/udev-monitor/kernel-gadget-stick.txt');
const STICK_DEVPATH = '/devices/platform/dummy_hcd.0/usb3/3-1';

/** A sysfs tree holding only the recorded stick's serial file (read at its interface's add, while it is plugged in). */
function stickSysfs(): string {
  const root = tempDir('kernel-uevent-sysfs');
  mkdirSync(join(root, STICK_DEVPATH), { recursive: true });
  writeFileSync(join(root, STICK_DEVPATH, 'serial'), 'MAMORI-TEST-0001\n');
  return root;
}

describe('udev block parsing', () => {
  test('blocks split across arbitrary chunks; banner is not an event', () => {
    const text = readFileSync(recording, 'utf8');
    const parser = new UdevBlockParser();
    const events = [];
    for (let i = 0; i < text.length; i += 37) events.push(...parser.push(text.slice(i, i + 37)));
    expect(events.map((e) => `${e.action} ${e.subsystem}`)).toEqual(['add usb', 'add usb', 'add block', 'add block', 'add usb', 'remove block', 'remove block', 'remove usb']);
    expect(events[0]!.properties.get('ID_SERIAL_SHORT')).toBe('E0D55EA573DCF450E97C0F9A');
  });
  test('storage decision and the identity cache (remove has no ID_* properties)', () => {
    const parser = new UdevBlockParser();
    const events = parser.push(readFileSync(recording, 'utf8'));
    const cache = new Map<string, CachedIdentity>();
    const reasons = events.map((e) => usbStorageReason(e, cache));
    expect(reasons).toEqual([
      'udev add 3-2 0951:1666 serial E0D55EA573DCF450E97C0F9A',
      null, // interface event
      'udev add /dev/sda',
      null, // partition
      null, // the mouse
      null,
      'udev remove /dev/sda',
      'udev remove 3-2 0951:1666 serial E0D55EA573DCF450E97C0F9A',
    ]);
    expect(cache.size).toBe(0);
    expect(hasStorageInterface(':030102:080650:')).toBe(true);
    expect(hasStorageInterface(':030102:')).toBe(false);
  });
});

describe('kernel uevents (no udevd)', () => {
  test('the mass-storage interface identifies the stick; disk events re-judge; the device remove closes, with the cached identity', () => {
    const events = new UdevBlockParser().push(readFileSync(kernelRecording, 'utf8'));
    expect(events.map((e) => `${e.action} ${e.properties.get('DEVTYPE')}`)).toEqual(['add usb_device', 'add usb_interface', 'bind usb_interface', 'bind usb_device', 'add disk', 'remove disk', 'unbind usb_interface', 'remove usb_interface', 'unbind usb_device', 'remove usb_device']);
    const cache = new Map<string, CachedIdentity>();
    const reasons = events.map((e) => kernelUsbStorageReason(e, cache, sysfsSerial(stickSysfs())));
    expect(reasons).toEqual([
      null, // the device's add: its interfaces do not exist yet
      'kernel add 3-1 0781:5581 serial MAMORI-TEST-0001',
      null, // usb-storage binding the same interface
      null,
      'kernel add /dev/sda',
      'kernel remove /dev/sda',
      null,
      null,
      null,
      'kernel remove 3-1 0781:5581 serial MAMORI-TEST-0001',
    ]);
    expect(cache.size).toBe(0);
  });
  test('a keyboard interface is no trigger, a stick without a serial file is one', () => {
    const [device, iface] = new UdevBlockParser().push(readFileSync(kernelRecording, 'utf8'));
    const keyboard = { ...iface!, properties: new Map([...iface!.properties, ['INTERFACE', '3/1/1']]) };
    expect(kernelUsbStorageReason(keyboard, new Map(), () => null)).toBeNull();
    expect(kernelUsbStorageReason(device!, new Map(), () => null)).toBeNull();
    expect(kernelUsbStorageReason(iface!, new Map(), sysfsSerial(tempDir('no-serial')))).toBe('kernel add 3-1 0781:5581 (no serial)');
  });
  test('LinuxUdevWatcher with source kernel on the recorded stream: one trigger per identifying event', { timeout: 20_000 }, async () => {
    const { command, args } = udevStreamCommand(kernelRecording, 0.1, true);
    const triggers: string[] = [];
    const w = new LinuxUdevWatcher({ command, args, source: 'kernel', sysfsRoot: stickSysfs() });
    expect(w.name).toBe('linux-uevent');
    await w.start((id, reason) => triggers.push(`${id}: ${reason}`));
    const until = Date.now() + 15_000;
    while (triggers.length < 4 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    await w.stop();
    expect(triggers).toEqual(['usb-media: kernel add 3-1 0781:5581 serial MAMORI-TEST-0001', 'usb-media: kernel add /dev/sda', 'usb-media: kernel remove /dev/sda', 'usb-media: kernel remove 3-1 0781:5581 serial MAMORI-TEST-0001']);
  });
});

describe('LinuxUdevWatcher on a real process stream', () => {
  test('recorded plug/unplug with timing → a usb-media trigger at each event that identifies the stick, none batched', { timeout: 20_000 }, async () => {
    // Scaled to 1/10: the plug's usb and block events are ~110 ms apart, the unplug comes ~1.7 s later.
    const { command, args } = udevStreamCommand(recording, 0.1, true);
    const triggers: [string, string][] = [];
    const w = new LinuxUdevWatcher({ command, args });
    await w.start((id, reason) => triggers.push([id, reason]));
    const until = Date.now() + 15_000;
    while (triggers.length < 4 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    await w.stop();
    expect(triggers.map((t) => t[0])).toEqual(['usb-media', 'usb-media', 'usb-media', 'usb-media']);
    expect(triggers.map((t) => t[1])).toEqual(['udev add 3-2 0951:1666 serial E0D55EA573DCF450E97C0F9A', 'udev add /dev/sda', 'udev remove /dev/sda', 'udev remove 3-2 0951:1666 serial E0D55EA573DCF450E97C0F9A']);
  });
  test('udevadm dying is restarted with backoff', async () => {
    const { command, args } = udevStreamCommand(recording, 0, false);
    const w = new LinuxUdevWatcher({ command, args, backoffMs: 50, maxBackoffMs: 200 });
    const triggers: string[] = [];
    await w.start((_id, reason) => triggers.push(reason));
    const until = Date.now() + 20_000;
    while ((w.starts < 3 || triggers.length < 2) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    await w.stop();
    expect(w.starts).toBeGreaterThanOrEqual(3);
    expect(triggers.length).toBeGreaterThanOrEqual(2);
  });
  test('missing udevadm: no crash, no restart loop', async () => {
    const warnings: string[] = [];
    const w2 = new LinuxUdevWatcher({ command: '/nonexistent/udevadm', backoffMs: 10, log: { warn: (m) => warnings.push(m), info: () => undefined } });
    await w2.start(() => undefined);
    const until = Date.now() + 15_000;
    while (warnings.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(warnings[0]).toMatch(/not found/);
    // What is asserted is an absence: with a restart delay of 10 ms, a restart loop would have
    // started udevadm again many times within 20 delays (see docs/testing.md, quiet periods).
    await new Promise((r) => setTimeout(r, 20 * 10));
    expect(w2.starts).toBe(1);
    expect(warnings).toHaveLength(1);
    await w2.stop();
  });
});
