/** Probes for this PC: on Windows with the agent's PowerShell hosts, one per lane (./powershell.ts). */
import { LiveProbes } from './live.js';
import { windowsPowerShellLanes } from './powershell-host.js';

export function liveProbes(): LiveProbes {
  return new LiveProbes(process.platform === 'win32' ? windowsPowerShellLanes() : undefined);
}
