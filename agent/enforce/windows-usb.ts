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
 *
 * Windows PowerShell reports most cmdlet failures as non-terminating errors: the script goes
 * on to its next line (about_Preference_Variables, $ErrorActionPreference = 'Continue' by
 * default). Every script here therefore runs with $ErrorActionPreference = 'Stop' inside
 * try/catch and prints a JSON document saying what failed, and a disable counts only when
 * the disk node reads back as disabled afterwards.
 */
import { z } from 'zod';
import type { PowerShellHost } from '../probes/powershell.js';
import type { ProbeOutcome } from '../probes/types.js';
import type { UsbDevice } from '../checks/usb-media/facts.js';

/** PnP device list script: Get-PnpDevice -PresentOnly with each device's parent. */
export const PNP_LIST_SCRIPT = [
  "$ErrorActionPreference = 'Stop'",
  '[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding($false)',
  'try {',
  '  $list = @()',
  '  foreach ($d in @(Get-PnpDevice -PresentOnly)) {',
  // A device without a parent property (the root) is normal: its parent stays null.
  "    $parent = $null; try { $parent = (Get-PnpDeviceProperty -InstanceId $d.InstanceId -KeyName 'DEVPKEY_Device_Parent').Data } catch { $parent = $null }",
  '    $list += ,([ordered]@{ InstanceId = $d.InstanceId; Class = $d.Class; FriendlyName = $d.FriendlyName; Status = $d.Status; Parent = $parent })',
  '  }',
  '  [Console]::Out.WriteLine((ConvertTo-Json -InputObject ([ordered]@{ devices = @($list) }) -Depth 4 -Compress))',
  '} catch {',
  "  [Console]::Out.WriteLine((ConvertTo-Json -InputObject ([ordered]@{ fatal = [string]$_.Exception.Message; errorId = [string]$_.FullyQualifiedErrorId }) -Compress))",
  '}',
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

/**
 * The script that disables one instance and reads it back. Win32_PnPEntity (what
 * Get-PnpDevice returns) has ConfigManagerErrorCode 22 "This device is disabled"
 * (learn.microsoft.com/windows/win32/cimwin32prov/win32-pnpentity); anything else after the
 * disable means the stick is still usable.
 */
export function disableCommand(instanceId: string): string {
  const id = psQuote(instanceId);
  return [
    "$ErrorActionPreference = 'Stop'",
    'try {',
    `  Disable-PnpDevice -InstanceId ${id} -Confirm:$false -ErrorAction Stop`,
    `  $after = Get-PnpDevice -InstanceId ${id} -ErrorAction Stop`,
    '  [Console]::Out.WriteLine((ConvertTo-Json -InputObject ([ordered]@{ done = ([int]$after.ConfigManagerErrorCode -eq 22); configManagerErrorCode = [int]$after.ConfigManagerErrorCode; status = [string]$after.Status }) -Compress))',
    '} catch {',
    '  [Console]::Out.WriteLine((ConvertTo-Json -InputObject ([ordered]@{ done = $false; error = [string]$_.Exception.Message; errorId = [string]$_.FullyQualifiedErrorId }) -Compress))',
    '}',
  ].join('\n');
}

/** What disableCommand prints. */
const DisableResult = z.union([
  z.object({ done: z.boolean(), configManagerErrorCode: z.number().int(), status: z.string().nullable().optional() }),
  z.object({ done: z.literal(false), error: z.string(), errorId: z.string().nullable().optional() }),
]);

/** Whether the disable took effect, or why not (the reason names Windows' own error text). */
export function disableOutcome(res: ProbeOutcome): { ok: true } | { ok: false; reason: string } {
  if (!res.ok) return { ok: false, reason: `${res.failure}: ${res.detail}` };
  let parsed: z.infer<typeof DisableResult>;
  try {
    parsed = DisableResult.parse(JSON.parse(res.stdout.replace(/^\uFEFF/, '').trim()));
  } catch {
    return { ok: false, reason: `Disable-PnpDevice printed no readable result: ${res.stdout.trim().slice(0, 200)}` };
  }
  if ('error' in parsed) return { ok: false, reason: `Disable-PnpDevice failed: ${parsed.error}${parsed.errorId ? ` (${parsed.errorId})` : ''}` };
  if (!parsed.done) return { ok: false, reason: `the disk node is still enabled after Disable-PnpDevice (ConfigManagerErrorCode ${parsed.configManagerErrorCode}, status ${parsed.status ?? 'unknown'})` };
  return { ok: true };
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
    const raw = JSON.parse(listed.stdout.replace(/^\uFEFF/, '').trim()) as { fatal?: unknown };
    if (typeof raw.fatal === 'string') throw new Error(`Get-PnpDevice failed: ${raw.fatal}`);
    pnp = PnpList.parse(raw).devices;
  } catch (err) {
    return devices
      .filter((d) => !registered.has(d.fingerprint))
      .map((d) => ({ fingerprint: d.fingerprint, instanceId: null, action: 'failed' as const, reason: `PnP device list not readable: ${(err as Error).message}` }));
  }
  const plan = planUsbEnforcement(devices, registered, pnp);
  for (const step of plan) {
    if (step.action !== 'disable' || !step.instanceId) continue;
    const outcome = disableOutcome(await host.run(disableCommand(step.instanceId), 30_000));
    if (outcome.ok) {
      step.action = 'disabled';
    } else {
      step.action = 'failed';
      step.reason = outcome.reason;
    }
  }
  return plan;
}
