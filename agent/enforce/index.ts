/**
 * USB enforcement (off by default): with `usbEnforcement: block`, every attached storage
 * device that is not in the 媒体管理台帳 is de-authorised (Linux sysfs `authorized`, as
 * USBGuard does) or disabled (Windows Disable-PnpDevice). Keyboards, mice, HID and hubs are
 * never touched (each platform module refuses them). What was done is reported as an
 * agent.notice so the collector shows it next to the violation.
 */
import type { UsbDevice } from '../checks/usb-media/facts.js';
import type { Probes } from '../probes/types.js';
import type { NewAgentEvent, PolicyDocument } from '../../src/shared/protocol/messages.js';

export interface UsbEnforcementResult {
  fingerprint: string;
  action: string;
  reason: string;
}

export async function enforceUsb(probes: Probes, devices: readonly UsbDevice[], policy: PolicyDocument, sysfsRoot = '/sys'): Promise<UsbEnforcementResult[]> {
  const registered = new Set(policy.lists.registeredMedia ?? []);
  const unregistered = devices.filter((d) => !registered.has(d.fingerprint));
  if (unregistered.length === 0 || probes.mode !== 'live') return [];
  // Each platform's module is loaded on that platform only, when there is something to block.
  if (probes.platform === 'linux') {
    const { blockDevice } = await import('./linux-usb.js');
    return unregistered.map((d) => {
      const r = blockDevice(sysfsRoot, d.location, d.interfaceClasses);
      return { fingerprint: d.fingerprint, action: r.action, reason: r.action === 'refused' ? r.reason : `authorized=0 on ${r.location}` };
    });
  }
  const host = { run: (script: string, timeoutMs?: number) => probes.powershell('win.enforce-usb', script, timeoutMs ? { timeoutMs } : {}), close: async () => undefined };
  const { enforceWindowsUsb } = await import('./windows-usb.js');
  const actions = await enforceWindowsUsb('block', devices, registered, host);
  return actions.map((a) => ({ fingerprint: a.fingerprint, action: a.action, reason: a.reason }));
}

export function enforcementNotices(results: readonly UsbEnforcementResult[]): NewAgentEvent[] {
  const at = new Date().toISOString();
  return results.map((r) => ({ at, kind: 'agent.notice' as const, notice: r.action === 'deauthorized' || r.action === 'disabled' ? 'usb.blocked' : 'usb.block-failed', detail: { ...r } }));
}
