/** Probes for this PC: on Windows with the agent's PowerShell hosts, one per lane (./powershell.ts). */
import type { ProgramLauncher } from './launcher.js';
import { LiveProbes } from './live.js';
import { windowsPowerShellLanes } from './powershell-host.js';

/** `launcher`: start programs from a worker thread (the agent daemon, ./launcher.ts). */
export function liveProbes(launcher?: ProgramLauncher): LiveProbes {
  return new LiveProbes(process.platform === 'win32' ? windowsPowerShellLanes() : undefined, launcher);
}
