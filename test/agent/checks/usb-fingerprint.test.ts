/** One stick, one identity in the 媒体管理台帳, whichever OS reads it. */
import { describe, expect, it } from 'vitest';
import { usbFingerprint } from '../../../agent/checks/usb-media/fingerprint.js';
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
});
