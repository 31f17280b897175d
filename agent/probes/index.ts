/** Probes for this PC: on Windows with the agent's one long-lived PowerShell host. */
import { LiveProbes } from './live.js';
import { PowerShellHostProcess } from './powershell-host.js';

export function liveProbes(): LiveProbes {
  return new LiveProbes(process.platform === 'win32' ? new PowerShellHostProcess() : undefined);
}
