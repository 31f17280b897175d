/**
 * Optional USB enforcement on Windows (off by default: the usb-media check's `enforcement`
 * parameter must be 'block'): disable the storage function of a USB device that is not in the
 * media ledger (媒体管理台帳).
 *
 * Only the disk node is disabled (PnP class DiskDrive under the device: USBSTOR\… or, for UAS,
 * SCSI\…), never the USB device node itself: a composite stick that is also a keyboard, any
 * keyboard/mouse/HID, and hubs must keep working — disabling an input device or a hub can
 * lock the user (and the keyboard-and-mouse of a whole desk) out. `Disable-PnpDevice
 * -InstanceId … -Confirm:$false` needs administrator rights (learn.microsoft.com
 * disable-pnpdevice), which the SYSTEM service has.
 */
import { z } from 'zod';
import type { PowerShellHost } from '../probes/powershell.js';
import type { UsbDevice } from '../checks/usb-media/facts.js';

/** PnP device list script: Get-PnpDevice -PresentOnly with each device's parent. */
export const PNP_LIST_SCRIPT = [
  '[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding($false)',
  '$list = @()',
  'foreach ($d in @(Get-PnpDevice -PresentOnly)) {',
  "  $parent = $null; try { $parent = (Get-PnpDeviceProperty -InstanceId $d.InstanceId -KeyName 'DEVPKEY_Device_Parent').Data } catch { $parent = $null }",
  '  $list += ,([ordered]@{ InstanceId = $d.InstanceId; Class = $d.Class; FriendlyName = $d.FriendlyName; Status = $d.Status; Parent = $parent })',
  '}',
  '[Console]::Out.WriteLine((ConvertTo-Json -InputObject ([ordered]@{ devices = @($list) }) -Depth 4 -Compress))',
].join('\n');

export const PnpDevice = z.object({
  InstanceId: z.string(),
  Class: z.string().nullable(),
  FriendlyName: z.string().nullable().optional(),
  Status: z.string().nullable().optional(),
  Parent: z.string().nullable().optional(),
});
export type PnpDevice = z.infer<typeof PnpDevice>;
export const PnpList = z.object({ devices: z.array(PnpDevice) });

/** Setup classes that are never disabled, whatever else is true. */
const PROTECTED_CLASSES = new Set(['keyboard', 'mouse', 'hidclass', 'usb', 'system', 'bluetooth', 'net', 'display', 'monitor', 'audioendpoint', 'media']);
const PROTECTED_IDS = /^(HID\\|USB\\ROOT_HUB|ACPI\\|PCI\\)/i;

export interface EnforcementAction {
  fingerprint: string;
  instanceId: string | null;
  action: 'disable' | 'disabled' | 'refused' | 'failed';
  reason: string;
}

/** Whether an instance may be disabled: only disk drives, never input devices, HID or hubs. */
export function mayDisable(dev: PnpDevice): boolean {
  return (dev.Class ?? '').toLowerCase() === 'diskdrive' && !PROTECTED_CLASSES.has((dev.Class ?? '').toLowerCase()) && !PROTECTED_IDS.test(dev.InstanceId);
}

function descendants(rootId: string, pnp: readonly PnpDevice[]): PnpDevice[] {
  const out: PnpDevice[] = [];
  const queue = [rootId.toUpperCase()];
  while (queue.length > 0) {
    const id = queue.shift()!;
    for (const d of pnp) {
      if ((d.Parent ?? '').toUpperCase() === id && !out.includes(d)) {
        out.push(d);
        queue.push(d.InstanceId.toUpperCase());
      }
    }
  }
  return out;
}

/**
 * What to do for the attached devices: for each device whose fingerprint is not registered,
 * the DiskDrive nodes below its USB device node (`location`). A device with no disk node
 * below it is refused, never widened to its parent.
 */
export function planUsbEnforcement(devices: readonly UsbDevice[], registered: ReadonlySet<string>, pnp: readonly PnpDevice[]): EnforcementAction[] {
  const actions: EnforcementAction[] = [];
  for (const dev of devices) {
    if (registered.has(dev.fingerprint)) continue;
    const below = descendants(dev.location, pnp);
    const disks = below.filter(mayDisable);
    if (disks.length === 0) {
      actions.push({ fingerprint: dev.fingerprint, instanceId: null, action: 'refused', reason: 'no disk-drive node below the USB device: nothing that is safe to disable' });
      continue;
    }
    for (const disk of disks) {
      if ((disk.Status ?? '').toLowerCase() === 'error' || (disk.Status ?? '').toLowerCase() === 'degraded') {
        actions.push({ fingerprint: dev.fingerprint, instanceId: disk.InstanceId, action: 'refused', reason: `disk node status ${disk.Status}` });
      } else {
        actions.push({ fingerprint: dev.fingerprint, instanceId: disk.InstanceId, action: 'disable', reason: 'not in the media ledger (媒体管理台帳)' });
      }
    }
  }
  return actions;
}

/** PowerShell single-quoted literal. */
function psQuote(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** The command that disables one instance. */
export function disableCommand(instanceId: string): string {
  return `Disable-PnpDevice -InstanceId ${psQuote(instanceId)} -Confirm:$false\n[Console]::Out.WriteLine('{"done":true}')`;
}

/**
 * Enforce: in 'audit' mode nothing is done and nothing is returned. In 'block' mode the PnP
 * list is read, the plan made, and each planned disk node disabled; returns what was done.
 */
export async function enforceWindowsUsb(
  mode: 'audit' | 'block',
  devices: readonly UsbDevice[],
  registered: ReadonlySet<string>,
  host: PowerShellHost,
): Promise<EnforcementAction[]> {
  if (mode !== 'block') return [];
  if (devices.every((d) => registered.has(d.fingerprint))) return [];
  const listed = await host.run(PNP_LIST_SCRIPT, 60_000);
  let pnp: PnpDevice[];
  try {
    if (!listed.ok) throw new Error(`${listed.failure}: ${listed.detail}`);
    pnp = PnpList.parse(JSON.parse(listed.stdout.replace(/^\uFEFF/, '').trim())).devices;
  } catch (err) {
    return devices
      .filter((d) => !registered.has(d.fingerprint))
      .map((d) => ({ fingerprint: d.fingerprint, instanceId: null, action: 'failed' as const, reason: `PnP device list not readable: ${(err as Error).message}` }));
  }
  const plan = planUsbEnforcement(devices, registered, pnp);
  for (const step of plan) {
    if (step.action !== 'disable' || !step.instanceId) continue;
    const res = await host.run(disableCommand(step.instanceId), 30_000);
    if (res.ok && res.stdout.includes('"done":true')) {
      step.action = 'disabled';
    } else {
      step.action = 'failed';
      step.reason = res.ok ? 'Disable-PnpDevice printed no confirmation' : `${res.failure}: ${res.detail}`;
    }
  }
  return plan;
}
