/**
 * The agent's PowerShell host on Windows. Implemented in agent/probes/powershell-host.ts;
 * this interface is what LiveProbes needs from it.
 */
import type { ProbeOutcome } from './types.js';

export interface PowerShellHost {
  run(script: string, timeoutMs?: number): Promise<ProbeOutcome>;
  close(): Promise<void>;
}
