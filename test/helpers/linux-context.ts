/** Test helpers for the Linux collectors: a context around any Probes, and running one check's Linux collector. */
import { ReplayProbes } from '../../agent/probes/replay.js';
import type { Probes } from '../../agent/probes/types.js';
import { checkById } from '../../agent/checks/registry.js';
import type { CheckContext, CheckId, CheckMemory, CheckOutput } from '../../agent/checks/types.js';

/** In-memory CheckMemory; `data` is exposed so tests can seed and inspect it. */
export class MapMemory implements CheckMemory {
  readonly data = new Map<string, unknown>();
  get<T>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }
  set(key: string, value: unknown): void {
    this.data.set(key, value);
  }
}

export function linuxContext(probes: Probes, params: Record<string, unknown> = {}, memory = new MapMemory()): CheckContext {
  return { probes, params, memory, log: { debug: () => undefined, warn: () => undefined } };
}

/** Run the Linux collector of a check with the definition's default params merged under `params`. */
export async function runLinuxCheck(id: CheckId, probes: Probes, params: Record<string, unknown> = {}, memory = new MapMemory()): Promise<CheckOutput<Record<string, unknown>>> {
  const def = checkById(id);
  if (!def?.platforms.linux) throw new Error(`no linux collector for ${id}`);
  const collect = await def.platforms.linux();
  return (await collect(linuxContext(probes, { ...def.params, ...params }, memory))) as CheckOutput<Record<string, unknown>>;
}

/** Replay a recording directory through one check. */
export function replayLinuxCheck(id: CheckId, dir: string, params: Record<string, unknown> = {}, memory = new MapMemory()): Promise<CheckOutput<Record<string, unknown>>> {
  return runLinuxCheck(id, new ReplayProbes(dir), params, memory);
}

export const LINUX_CHECKS: CheckId[] = ['usb-media', 'software', 'antivirus', 'screen-lock', 'os-patches', 'beyond', 'sign-in', 'autorun', 'services', 'logging', 'wireless', 'mfa', 'cloud-accounts', 'local-accounts'];
