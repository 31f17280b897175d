/** One stick, one identity in the 媒体管理台帳, whichever OS reads it. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { normaliseSerial, usbFingerprint } from '../../../agent/checks/usb-media/fingerprint.js';
import { fingerprint as linuxFingerprint } from '../../../agent/checks/usb-media/linux-parse.js';

describe('usbFingerprint', () => {
  it('gives Linux (sysfs case, hex as read) and Windows (upper-cased instance id, REV_ of the hardware id) the same identity', () => {
    // sysfs: idVendor "0781", serial as the device reports it (mixed case), bcdDevice "0100", product "Ultra".
    const linux = linuxFingerprint({ vendorId: '0781', productId: '5583', serial: '4c530001280621119131 ', bcdDevice: '0100', manufacturer: 'SanDisk', product: 'Ultra', interfaceClasses: ['08:06:50'] } as never);
    // Windows: USB\VID_0781&PID_5583\4C530001280621119131, REV_0100, bus-reported name "Ultra".
    const windows = usbFingerprint({ vendorId: '0781', productId: '5583', serial: '4C530001280621119131', bcdDevice: '0100', product: 'Ultra' });
    expect(linux).toBe('0781:5583:4C530001280621119131');
    expect(windows).toBe(linux);
  });

  it('gives a serial-less stick the same model identity on both, and different models different ones', () => {
    const linux = linuxFingerprint({ vendorId: '0EA0', productId: '2168', serial: null, bcdDevice: '0200', manufacturer: 'LG', product: 'FlashDrive', interfaceClasses: ['08:06:50'] } as never);
    const windows = usbFingerprint({ vendorId: '0ea0', productId: '2168', serial: null, bcdDevice: '0200', product: 'FlashDrive ' });
    expect(linux).toMatch(/^0ea0:2168:nos-[0-9a-f]{12}$/);
    expect(windows).toBe(linux);
    expect(usbFingerprint({ vendorId: '0ea0', productId: '2168', serial: '', bcdDevice: '0100', product: 'FlashDrive' })).not.toBe(linux);
  });

  it('keeps the identity of a serial-less stick stable: SHA-256 over "vvvv:pppp", bcdDevice and product, one per line', () => {
    // Entries already in a site's 媒体管理台帳 must keep matching after an upgrade: the hash is pinned here.
    const expected = createHash('sha256').update('0ea0:2168\n0a00\nFlashDrive').digest('hex').slice(0, 12);
    expect(usbFingerprint({ vendorId: '0EA0', productId: '2168', serial: null, bcdDevice: ' 0A00 ', product: ' FlashDrive ' })).toBe(`0ea0:2168:nos-${expected}`);
    // Missing descriptors count as empty, whichever way the OS reports them.
    const bare = createHash('sha256').update('0ea0:2168\n\n').digest('hex').slice(0, 12);
    expect(usbFingerprint({ vendorId: '0ea0', productId: '2168', serial: null, bcdDevice: null, product: null })).toBe(`0ea0:2168:nos-${bare}`);
    expect(usbFingerprint({ vendorId: '0ea0', productId: '2168', serial: null, bcdDevice: '', product: '' })).toBe(`0ea0:2168:nos-${bare}`);
  });

  it('treats a serial of only spaces as no serial, and a second stick of the same model as another identity', () => {
    const model = { vendorId: '0781', productId: '5583', bcdDevice: '0100', product: 'Ultra' };
    expect(usbFingerprint({ ...model, serial: '   ' })).toBe(usbFingerprint({ ...model, serial: null }));
    expect(usbFingerprint({ ...model, serial: '   ' })).toMatch(/^0781:5583:nos-/);
    const first = usbFingerprint({ ...model, serial: '4C530001280621119131' });
    const second = usbFingerprint({ ...model, serial: '4C530001280621119132' });
    expect(second).toBe('0781:5583:4C530001280621119132');
    expect(second).not.toBe(first);
  });

  it('tells apart serial-less sticks of one vendor and product id that differ in revision or product string', () => {
    const base = { vendorId: '0ea0', productId: '2168', serial: null };
    const a = usbFingerprint({ ...base, bcdDevice: '0200', product: 'FlashDrive' });
    expect(usbFingerprint({ ...base, bcdDevice: '0201', product: 'FlashDrive' })).not.toBe(a);
    expect(usbFingerprint({ ...base, bcdDevice: '0200', product: 'FlashDrive2' })).not.toBe(a);
    // The product string keeps its case: it is the device's own text on both OSes.
    expect(usbFingerprint({ ...base, bcdDevice: '0200', product: 'FLASHDRIVE' })).not.toBe(a);
  });

  it('writes vendor and product ids lower-case, as sysfs does, when Windows upper-cases them (USB\\VID_1005&PID_B113)', () => {
    expect(usbFingerprint({ vendorId: '1005', productId: 'B113', serial: 'AB12', bcdDevice: null, product: null })).toBe('1005:b113:AB12');
  });

  it('normalises a serial as the 媒体管理台帳 keys it: trimmed, upper-cased, none when empty or blank', () => {
    expect(normaliseSerial(' 4c53x ')).toBe('4C53X');
    expect(normaliseSerial('   ')).toBeNull();
    expect(normaliseSerial('')).toBeNull();
    expect(normaliseSerial(null)).toBeNull();
  });
});
