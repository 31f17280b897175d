/**
 * inventory on Linux: systeminformation reads the hardware (it runs dmidecode, lsblk, ip, lspci
 * and reads /proc and /sys itself, so the agent cannot record those commands one by one: the
 * library exposes no hook for its command execution). Each systeminformation call therefore
 * goes through the probe layer as one unit (`probes.library`): its result JSON is what
 * `collect --save` records (`linux.inventory.<call>.out`) and what `--replay` feeds to the same
 * normaliser (./linux-normalise.ts), without the library.
 *
 * Calls run one after another (systeminformation spawns several processes per call) and only
 * at start, once a day and on a helpdesk scan (agent/agent.ts), so the idle agent pays nothing.
 * The library is imported only when the check runs live.
 */
import type { CheckContext, Collector, CheckOutput } from '../types.js';
import { unknownOutput } from '../types.js';
import type { InventoryFacts } from './facts.js';
import { LINUX_CALLS, normaliseLinux } from './linux-normalise.js';
import type { LinuxCall } from './linux-normalise.js';
import { finishInventory } from './finish.js';

type Si = Record<LinuxCall, () => Promise<unknown>>;

export const collect: Collector<InventoryFacts> = async (ctx: CheckContext): Promise<CheckOutput<InventoryFacts>> => {
  let si: Si | undefined;
  const library = async (): Promise<Si> => (si ??= ((await import('systeminformation')).default as unknown as Si));
  const raw: Partial<Record<LinuxCall, unknown>> = {};
  const unread: Partial<Record<LinuxCall, string>> = {};
  for (const call of LINUX_CALLS) {
    const key = `linux.inventory.${call.toLowerCase()}`;
    const outcome = await ctx.probes.library(key, async () => (await library())[call](), { timeoutMs: 30_000 });
    if (!outcome.ok) {
      unread[call] = `${outcome.failure}: ${outcome.detail}`;
      continue;
    }
    try {
      raw[call] = JSON.parse(outcome.stdout);
    } catch {
      unread[call] = `EXEC_FAILED: ${key} is not JSON`;
    }
  }
  if (Object.keys(raw).length === 0) return unknownOutput(`no inventory could be read: ${Object.values(unread)[0] ?? ''}`);
  const { facts, unknownFacts } = normaliseLinux(raw, unread);
  return finishInventory(ctx, facts, unknownFacts);
};
