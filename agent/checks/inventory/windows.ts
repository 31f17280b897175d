/** inventory on Windows: one CIM batch on the agent's inventory PowerShell process (./windows-script.ts). */
import type { Collector } from '../types.js';
import { unknownOutput } from '../types.js';
import { readPowerShellJson } from '../software/windows-common.js';
import type { InventoryFacts } from './facts.js';
import { finishInventory } from './finish.js';
import { INVENTORY_SCRIPT } from './windows-script.js';
import { InventoryDocument, inventoryFacts } from './windows-parse.js';

/** Probe key of the script; also the file name in a recording (`win.inventory.out`). */
export const INVENTORY_KEY = 'win.inventory';

export const collect: Collector<InventoryFacts> = async (ctx) => {
  const outcome = await ctx.probes.powershell(INVENTORY_KEY, INVENTORY_SCRIPT, { timeoutMs: 120_000, lane: 'inventory' });
  const doc = readPowerShellJson(INVENTORY_KEY, outcome, InventoryDocument);
  if (!doc.ok) return unknownOutput(doc.why);
  const { facts, ...unknown } = inventoryFacts(doc.data);
  return finishInventory(ctx, facts, unknown);
};
