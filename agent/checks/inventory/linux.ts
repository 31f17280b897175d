/**
 * inventory on Linux: systeminformation reads the hardware (it runs dmidecode, lsblk, ip, lspci
 * and reads /proc and /sys itself, so the agent cannot record those commands one by one: the
 * library exposes no hook for its command execution). Each systeminformation call therefore
 * goes through the probe layer as one unit (`probes.library`): its result JSON is what
 * `collect --save` records (`linux.inventory.<call>.out`) and what `--replay` feeds to the same
 * normaliser (./linux-normalise.ts), without the library.
 *
 * Calls run one after another (systeminformation spawns several processes per call) and only
 * at start, once a day and on a helpdesk scan (agent/agent.ts). The library is imported only when
 * the check runs live; the daemon goes further and runs the calls in a short-lived child process
 * of its own program (`selfCommand`, `mamori agent inventory-calls`): loading systeminformation
 * and the garbage of its 13 calls cost about 20 MB of RSS in a bare Node process, which the
 * daemon would otherwise keep for the rest of its life.
 */
import { because, probeWhy, type Why } from '../why.js';
import type { CheckContext, Collector, CheckOutput } from '../types.js';
import { unknownOutput } from '../types.js';
import type { InventoryFacts } from './facts.js';
import { LINUX_CALLS, normaliseLinux } from './linux-normalise.js';
import type { LinuxCall } from './linux-normalise.js';
import { finishInventory } from './finish.js';
import { runProgram } from '../../probes/live.js';

type Si = Record<LinuxCall, () => Promise<unknown>>;

/** Every call's result (or its error), as `mamori agent inventory-calls` prints them. */
export async function runInventoryCalls(): Promise<Record<string, unknown>> {
  const si = (await import('systeminformation')).default as unknown as Si;
  const out: Record<string, unknown> = {};
  for (const call of LINUX_CALLS) {
    try {
      out[call] = (await si[call]()) ?? null;
    } catch (err) {
      out[call] = { _error: String((err as Error)?.message ?? err).slice(0, 300) };
    }
  }
  return out;
}

/** The calls run by a child process of the agent's own program, once for all of them. */
function childCalls(selfCommand: readonly string[]): () => Promise<Record<string, unknown>> {
  let results: Promise<Record<string, unknown>> | undefined;
  return () =>
    (results ??= runProgram(selfCommand[0]!, [...selfCommand.slice(1), 'agent', 'inventory-calls'], { timeoutMs: 120_000 }).then((o) => {
      if (!o.ok) throw new Error(`${o.failure}: ${o.detail}`);
      return JSON.parse(o.stdout) as Record<string, unknown>;
    }));
}

export const collect: Collector<InventoryFacts> = async (ctx: CheckContext): Promise<CheckOutput<InventoryFacts>> => {
  let si: Si | undefined;
  const library = async (): Promise<Si> => (si ??= ((await import('systeminformation')).default as unknown as Si));
  const self = Array.isArray(ctx.params.selfCommand) && ctx.params.selfCommand.length >= 2 ? childCalls(ctx.params.selfCommand as string[]) : undefined;
  const run = async (call: LinuxCall): Promise<unknown> => {
    if (!self) return (await library())[call]();
    const value = (await self())[call];
    const error = (value as { _error?: unknown } | null)?._error;
    if (typeof error === 'string') throw new Error(error);
    return value;
  };
  const raw: Partial<Record<LinuxCall, unknown>> = {};
  const unread: Partial<Record<LinuxCall, Why>> = {};
  for (const call of LINUX_CALLS) {
    const key = `linux.inventory.${call.toLowerCase()}`;
    const outcome = await ctx.probes.library(key, () => run(call), { timeoutMs: self ? 130_000 : 30_000 });
    if (!outcome.ok) {
      unread[call] = probeWhy(outcome);
      continue;
    }
    try {
      raw[call] = JSON.parse(outcome.stdout);
    } catch {
      unread[call] = because('EXEC_FAILED', 'why.inventory.notJson', { key });
    }
  }
  const first = Object.values(unread)[0];
  if (Object.keys(raw).length === 0) return unknownOutput(because('NOT_READ', 'why.inventory.nothingRead', { cause: first?.msg ?? '-' }));
  const { facts, ...unknown } = normaliseLinux(raw, unread);
  return finishInventory(ctx, facts, unknown);
};
