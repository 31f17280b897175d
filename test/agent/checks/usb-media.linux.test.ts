import { describe, expect, test } from 'vitest';
import { fingerprint, interfaceTriple, parseModprobeBlocks, parseMountinfo, parseUsbguardDaemonConf, usbguardBlocksStorage } from '../../../agent/checks/usb-media/linux-parse.js';
import { UsbMediaFacts } from '../../../agent/checks/usb-media/facts.js';
import { runLinuxCheck } from '../../helpers/linux-context.js';
import { FAILURES, ScriptedProbes, dir, fixture, fixtureJson } from '../../helpers/linux-probes.js';

const F = (n: string): string => fixture('usb-media', n);

describe('usb-media Linux parsers', () => {
  test.each(['cis', 'not-blocking'])('modprobe.d: %s', (c) => {
    expect(parseModprobeBlocks([{ name: `${c}.conf`, text: F(`${c}.modprobe-conf.txt`) }])).toEqual(fixtureJson('usb-media', `${c}.facts.json`));
  });
  test.each(['block08', 'registered-stick'])('USBGuard rules: %s', (c) => {
    const want = fixtureJson<{ implicitTarget: string; blocked: boolean }>('usb-media', `${c}.facts.json`);
    expect(usbguardBlocksStorage(F(`${c}.usbguard-rules.txt`), want.implicitTarget)).toBe(want.blocked);
    expect(parseUsbguardDaemonConf('RuleFile=/etc/usbguard/rules.conf\nImplicitPolicyTarget=block\n')).toEqual({ implicitTarget: 'block', ruleFile: '/etc/usbguard/rules.conf' });
  });
  test('mountinfo with an escaped space', () => {
    expect(parseMountinfo(F('ubuntu2404.mountinfo.txt'))).toEqual(fixtureJson('usb-media', 'ubuntu2404.facts.json'));
    expect(parseMountinfo('garbage')).toEqual([]);
  });
  test('fingerprint: serial upper-cased; serial-less hash stable per model, differs across models', () => {
    const base = { vendorId: '0781', productId: '5583', manufacturer: 'SanDisk', product: 'Ultra Fit', bcdDevice: '0100', interfaceClasses: ['08:06:50'] };
    expect(fingerprint({ ...base, serial: ' 4c530001280621119131 ' })).toBe('0781:5583:4C530001280621119131');
    const a = fingerprint({ ...base, serial: null });
    expect(a).toMatch(/^0781:5583:nos-[0-9a-f]{12}$/);
    expect(fingerprint({ ...base, serial: '' })).toBe(a);
    expect(fingerprint({ ...base, serial: null, product: 'Cruzer' })).not.toBe(a);
    expect(interfaceTriple('8', '6', '50')).toBe('08:06:50');
  });
});

/** A sysfs tree with a SanDisk stick on 2-1 (mounted), a keyboard on 1-3 and a serial-less card reader on 1-4 (no medium). */
const sysfs: Record<string, string> = {
  'usb.devices': dir(['1-0:1.0', '1-3', '1-3:1.0', '1-4', '1-4:1.0', '2-0:1.0', '2-1', '2-1:1.0', 'usb1', 'usb2']),
  'usb.1-3_1.0.class': '03\n', 'usb.1-3_1.0.subclass': '01\n', 'usb.1-3_1.0.protocol': '01\n',
  'usb.1-4_1.0.class': '08\n', 'usb.1-4_1.0.subclass': '06\n', 'usb.1-4_1.0.protocol': '50\n',
  'usb.2-1_1.0.class': '08\n', 'usb.2-1_1.0.subclass': '06\n', 'usb.2-1_1.0.protocol': '50\n',
  'usb.1-0_1.0.class': '09\n', 'usb.2-0_1.0.class': '09\n',
  'usb.2-1.idvendor': '0781\n', 'usb.2-1.idproduct': '5583\n', 'usb.2-1.serial': '4C530001280621119131\n', 'usb.2-1.manufacturer': 'SanDisk\n', 'usb.2-1.product': 'Ultra Fit\n', 'usb.2-1.bcddevice': '0100\n',
  'usb.1-4.idvendor': '0bda\n', 'usb.1-4.idproduct': '0158\n', 'usb.1-4.manufacturer': 'Generic\n', 'usb.1-4.product': 'USB2.0-CRW\n', 'usb.1-4.bcddevice': '5841\n',
  'usb.2-1_1.0.hosts': dir(['authorized', 'bInterfaceClass', 'driver', 'ep_02', 'host6', 'power', 'uevent']),
  'usb.2-1_1.0.host6': dir(['power', 'scsi_host', 'subsystem', 'target6:0:0', 'uevent']),
  'usb.2-1_1.0.target6_0_0': dir(['6:0:0:0', 'power', 'subsystem', 'uevent']),
  'usb.2-1_1.0.6_0_0_0.block': dir(['sdb']),
  'block.sdb.size': '60062500\n', 'block.sdb.ro': '0\n', 'block.sdb.dev': '8:16\n',
  'block.sdb.list': dir(['alignment_offset', 'bdi', 'dev', 'holders', 'queue', 'ro', 'sdb1', 'size']),
  'block.sdb.sdb1.dev': '8:17\n',
  'usb.1-4_1.0.hosts': dir(['host7']), 'usb.1-4_1.0.host7': dir(['target7:0:0']), 'usb.1-4_1.0.target7_0_0': dir(['7:0:0:0']), 'usb.1-4_1.0.7_0_0_0.block': dir(['sdc']),
  'block.sdc.size': '0\n', 'block.sdc.ro': '0\n', 'block.sdc.dev': '8:32\n', 'block.sdc.list': dir(['dev', 'size']),
  mountinfo: '22 1 259:3 / / rw - ext4 /dev/nvme0n1p2 rw\n412 29 8:17 / /media/tanaka/SANDISK rw,nosuid - vfat /dev/sdb1 rw\n',
  'modprobe.0.list': dir([]),
};

describe('usb-media Linux collector on a sysfs tree', () => {
  test('storage devices only, identity, size, mounts; keyboard left out; export not blocked', async () => {
    const r = await runLinuxCheck('usb-media', new ScriptedProbes(sysfs));
    expect(UsbMediaFacts.parse(r.facts)).toBeTruthy();
    const devs = r.facts.devices as { location: string }[];
    expect(devs.map((d) => d.location)).toEqual(['1-4', '2-1']);
    expect(devs[1]).toEqual({ fingerprint: '0781:5583:4C530001280621119131', vendorId: '0781', productId: '5583', serial: '4C530001280621119131', manufacturer: 'SanDisk', product: 'Ultra Fit', interfaceClasses: ['08:06:50'], storageWithHid: false, sizeBytes: 60062500 * 512, mountPoints: ['/media/tanaka/SANDISK'], readOnly: false, duplicateSerial: false, location: '2-1' });
    expect(devs[0]).toMatchObject({ serial: null, sizeBytes: null, mountPoints: [], fingerprint: expect.stringMatching(/^0bda:0158:nos-/) });
    expect(r.facts).toMatchObject({ exportBlocked: false, exportBlockMechanism: null, enforcement: 'audit' });
  });
  test('modprobe.d blocks usb_storage and uas, modules not loaded, nothing mounted → blocked', async () => {
    const r = await runLinuxCheck('usb-media', new ScriptedProbes({ 'usb.devices': FAILURES.missing!, 'sysfs.bus': dir(['pci']), 'modprobe.0.list': dir(['cis.conf']), 'modprobe.0.cis.conf': F('cis.modprobe-conf.txt') }));
    expect(r.facts).toMatchObject({ devices: [], exportBlocked: true, exportBlockMechanism: 'modprobe.d: install usb_storage (/etc/modprobe.d/cis.conf), install uas (/etc/modprobe.d/cis.conf)' });
  });
  test('blocked in modprobe.d but usb_storage already loaded → not blocked', async () => {
    const r = await runLinuxCheck('usb-media', new ScriptedProbes({ 'usb.devices': dir([]), 'modprobe.0.list': dir(['cis.conf']), 'modprobe.0.cis.conf': F('cis.modprobe-conf.txt'), 'module.usb_storage': dir(['refcnt']) }));
    expect(r.facts.exportBlocked).toBe(false);
  });
  test('same serial on two sticks → duplicateSerial on both', async () => {
    const twin = { ...sysfs, 'usb.1-4.serial': '4c530001280621119131\n' };
    const r = await runLinuxCheck('usb-media', new ScriptedProbes(twin));
    expect((r.facts.devices as { duplicateSerial: boolean }[]).map((d) => d.duplicateSerial)).toEqual([true, true]);
  });
  test.each([
    ['accessDenied', FAILURES.accessDenied!],
    ['timeout', FAILURES.timeout!],
    ['garbled', FAILURES.garbled!],
  ])('sysfs device listing %s → devices unknown', async (_n, outcome) => {
    const r = await runLinuxCheck('usb-media', new ScriptedProbes({ ...sysfs, 'usb.devices': outcome }));
    expect(r.facts.devices).toBeUndefined();
    expect(r.unknownFacts.devices).toBeTruthy();
  });
  test('a storage device whose idVendor cannot be read → devices unknown, not silently dropped', async () => {
    const r = await runLinuxCheck('usb-media', new ScriptedProbes({ ...sysfs, 'usb.2-1.idvendor': FAILURES.accessDenied! }));
    expect(r.unknownFacts.devices).toMatch(/^ACCESS_DENIED/);
  });
  test('no /sys at all → devices unknown', async () => {
    const r = await runLinuxCheck('usb-media', new ScriptedProbes({ 'modprobe.0.list': FAILURES.accessDenied! }));
    expect(r.status).toBe('unknown');
  });
});
