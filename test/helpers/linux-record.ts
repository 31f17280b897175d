/**
 * Record this Linux machine for replay: every Linux collector runs once against the live OS
 * through RecordingProbes, which writes each probe outcome into DIR (agent/probes/replay.ts format).
 */
import { LiveProbes } from '../../agent/probes/live.js';
import { RecordingProbes } from '../../agent/probes/replay.js';
import { hostname } from 'node:os';
import { LINUX_CHECKS, runLinuxCheck } from './linux-context.js';
import type { CheckOutput } from '../../agent/checks/types.js';

export async function recordThisLinuxMachine(dir: string, source: string): Promise<Record<string, CheckOutput<Record<string, unknown>>>> {
  const probes = new RecordingProbes(new LiveProbes(), dir, { hostname: hostname(), source });
  const results: Record<string, CheckOutput<Record<string, unknown>>> = {};
  for (const id of LINUX_CHECKS) results[id] = await runLinuxCheck(id, probes);
  return results;
}
