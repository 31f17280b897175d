/**
 * The agent's PowerShell hosts on Windows. Implemented in agent/probes/powershell-host.ts;
 * these are what LiveProbes needs from them.
 *
 * A host runs one request at a time, so work that can take minutes must not share a host with
 * work a user waits for. Each lane is its own powershell.exe:
 * - `interactive` (default): the USB check and USB blocking — what a USB event waits for;
 * - `inventory`: every other check (software inventory, update history, antivirus, firewall and
 *   BitLocker, screen lock: seconds of CIM, Appx and COM calls on a busy PC, each with a
 *   timeout of up to 2 minutes);
 * - `wua`: the Windows Update Agent search (up to minutes, can hang); its process ends after
 *   each search so it costs no memory between searches.
 */
import type { ProbeOutcome } from './types.js';

export interface PowerShellHost {
  run(script: string, timeoutMs?: number): Promise<ProbeOutcome>;
  close(): Promise<void>;
}

export type PowerShellLane = 'interactive' | 'inventory' | 'wua';

/** One host per lane, made on first use. */
export class PowerShellLanes {
  private readonly hosts = new Map<PowerShellLane, PowerShellHost>();

  constructor(private readonly make: (lane: PowerShellLane) => PowerShellHost) {}

  host(lane: PowerShellLane = 'interactive'): PowerShellHost {
    let host = this.hosts.get(lane);
    if (!host) {
      host = this.make(lane);
      this.hosts.set(lane, host);
    }
    return host;
  }

  async close(): Promise<void> {
    await Promise.all([...this.hosts.values()].map((h) => h.close()));
  }
}
