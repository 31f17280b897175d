/**
 * USB enforcement on Windows against a recorded PnP device list
 * (agent/checks/usb-media/fixtures/windows/pnp-devices.json, provenance in its README).
 * The PowerShell host is a recording fake: it returns the PnP list and records every command.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PnpList, disableCommand, enforceWindowsUsb, mayDisable, planUsbEnforcement } from '../../../agent/enforce/windows-usb.js';
import type { UsbDevice } from '../../../agent/checks/usb-media/facts.js';
import type { PowerShellHost } from '../../../agent/probes/powershell.js';

const pnpText = readFileSync(join(import.meta.dirname, '../../../agent/checks/usb-media/fixtures/windows/pnp-devices.json'), 'utf8');
const pnp = PnpList.parse(JSON.parse(pnpText)).devices;

const device = (fingerprint: string, location: string): UsbDevice => ({
  fingerprint, vendorId: fingerprint.slice(0, 4), productId: fingerprint.slice(5, 9), serial: fingerprint.slice(10), manufacturer: null, product: null,
  interfaceClasses: ['08:06:50'], storageWithHid: false, sizeBytes: 1, mountPoints: [], readOnly: false, duplicateSerial: false, location,
});
const sandisk = device('0781:5581:4C530001090622117433', 'USB\\VID_0781&PID_5581\\4C530001090622117433');
const badusb = device('1a86:e429:A1B2C3D4E5F6', 'USB\\VID_1A86&PID_E429\\A1B2C3D4E5F6');
const kingston = device('0951:1666:001CC07CEB39FBB1C91A24D0', 'USB\\VID_0951&PID_1666\\001CC07CEB39FBB1C91A24D0');
const keyboardOnly = device('046d:c31c:X', 'USB\\VID_046D&PID_C31C\\5&1B8E2F6C&0&3');
const registered = new Set([kingston.fingerprint]);

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '../../../agent/checks/usb-media/fixtures/windows', name), 'utf8');

/** Replays recorded outputs: the PnP list, and for each disable the given recorded result. */
class FakeHost implements PowerShellHost {
  commands: string[] = [];
  constructor(private readonly disableOutput: string | 'host-failure' = fixture('disable-succeeded.json')) {}
  async run(script: string) {
    this.commands.push(script);
    if (script.includes('Get-PnpDevice -PresentOnly')) return { ok: true as const, stdout: pnpText, exitCode: 0 };
    if (this.disableOutput === 'host-failure') return { ok: false as const, failure: 'ACCESS_DENIED' as const, detail: 'Access is denied' };
    return { ok: true as const, stdout: this.disableOutput, exitCode: 0 };
  }
  async close() {}
}

describe('Windows USB enforcement', () => {
  it('never disables keyboards, HID, USB device nodes or hubs', () => {
    for (const d of pnp) if (d.Class !== 'DiskDrive') expect(mayDisable(d), d.InstanceId).toBe(false);
    expect(pnp.filter(mayDisable).map((d) => d.Class)).toEqual(['DiskDrive', 'DiskDrive', 'DiskDrive']);
  });

  it('plans the disk node of each unregistered stick, including the storage half of a BadUSB composite', () => {
    const plan = planUsbEnforcement([sandisk, badusb, kingston], registered, pnp);
    expect(plan).toEqual([
      expect.objectContaining({ fingerprint: sandisk.fingerprint, action: 'disable', instanceId: 'USBSTOR\\DISK&VEN_SANDISK&PROD_ULTRA&REV_1.00\\4C530001090622117433&0' }),
      expect.objectContaining({ fingerprint: badusb.fingerprint, action: 'disable', instanceId: 'USBSTOR\\DISK&VEN_GENERIC&PROD_FLASH_DISK&REV_8.07\\7&3B2A1C0D&0&A1B2C3D4E5F6&0' }),
    ]);
  });

  it('refuses when no disk node is below the device instead of widening to it', () => {
    expect(planUsbEnforcement([keyboardOnly], registered, pnp)).toEqual([expect.objectContaining({ action: 'refused', instanceId: null })]);
  });

  it('audit mode (the default) does nothing at all', async () => {
    const host = new FakeHost();
    expect(await enforceWindowsUsb('audit', [sandisk], registered, host)).toEqual([]);
    expect(host.commands).toEqual([]);
  });

  it('block mode runs Disable-PnpDevice per planned disk and reports it', async () => {
    const host = new FakeHost();
    const done = await enforceWindowsUsb('block', [sandisk, kingston], registered, host);
    expect(done).toEqual([expect.objectContaining({ fingerprint: sandisk.fingerprint, action: 'disabled' })]);
    expect(host.commands[1]).toBe(disableCommand('USBSTOR\\DISK&VEN_SANDISK&PROD_ULTRA&REV_1.00\\4C530001090622117433&0'));
    expect(host.commands[1]).toMatch(/Disable-PnpDevice -InstanceId '.*' -Confirm:\$false -ErrorAction Stop/);
  });

  it('a host failure during the disable is reported as failed with the reason', async () => {
    const done = await enforceWindowsUsb('block', [sandisk], registered, new FakeHost('host-failure'));
    expect(done).toEqual([expect.objectContaining({ action: 'failed', reason: 'ACCESS_DENIED: Access is denied' })]);
  });

  it('a Disable-PnpDevice that throws is a failure carrying Windows\' error, never "disabled"', async () => {
    const done = await enforceWindowsUsb('block', [sandisk], registered, new FakeHost(fixture('disable-failed.json')));
    expect(done).toEqual([expect.objectContaining({ action: 'failed', reason: 'Disable-PnpDevice failed: 一般エラーです  (HRESULT 0x80041001,Disable-PnpDevice)' })]);
  });

  it('a disable that returned but left the disk enabled is a failure', async () => {
    const done = await enforceWindowsUsb('block', [sandisk], registered, new FakeHost(fixture('disable-still-enabled.json')));
    expect(done).toEqual([expect.objectContaining({ action: 'failed', reason: expect.stringContaining('still enabled after Disable-PnpDevice (ConfigManagerErrorCode 0') })]);
  });

  it('the disable script stops at the first error and prints success only from the device state read back', () => {
    const script = disableCommand('USBSTOR\\X');
    expect(script.split('\n')[0]).toBe("$ErrorActionPreference = 'Stop'");
    expect(script).toMatch(/try \{[\s\S]*Disable-PnpDevice[\s\S]*\} catch \{[\s\S]*done = \$false; error = /);
    expect(script).not.toContain('{"done":true}');
    expect(script).toContain('ConfigManagerErrorCode -eq 22');
  });

  it('a PnP list the script could not read is a failure with its reason', async () => {
    const host: PowerShellHost = { run: async () => ({ ok: true, stdout: '{"fatal":"アクセスが拒否されました。","errorId":"HRESULT 0x80041003,Get-PnpDevice"}', exitCode: 0 }), close: async () => undefined };
    const done = await enforceWindowsUsb('block', [sandisk], registered, host);
    expect(done).toEqual([expect.objectContaining({ action: 'failed', reason: 'PnP device list not readable: Get-PnpDevice failed: アクセスが拒否されました。' })]);
  });

  it('instance ids are quoted for PowerShell', () => {
    expect(disableCommand("USB\\X'Y")).toContain("-InstanceId 'USB\\X''Y'");
  });
});
