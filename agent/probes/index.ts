/** Probes for this PC: on Windows with the agent's PowerShell hosts, one per lane (./powershell.ts). */
import { LiveProbes } from './live.js';
import { windowsPowerShellLanes } from './powershell-host.js';

/** `programsBelowAgent`: programs run at a lower CPU priority than the agent (the agent daemon). */
export function liveProbes(opts: { programsBelowAgent?: boolean } = {}): LiveProbes {
  return new LiveProbes(process.platform === 'win32' ? windowsPowerShellLanes() : undefined, opts.programsBelowAgent ?? false);
}
