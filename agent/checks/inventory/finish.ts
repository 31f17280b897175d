/** What both platforms add to the inventory they read: the agent's version and the hardware changes. */
import packageJson from '../../../package.json' with { type: 'json' };
import type { CheckContext, CheckOutput } from '../types.js';
import type { InventoryFacts } from './facts.js';
import { trackChanges } from './changes.js';

export const DEFAULT_CHANGE_WINDOW_DAYS = 30;

export function finishInventory(ctx: CheckContext, facts: Partial<InventoryFacts>, unknown: Pick<CheckOutput<InventoryFacts>, 'unknownFacts' | 'unknownMsgs'>): CheckOutput<InventoryFacts> {
  const windowDays = typeof ctx.params.changeWindowDays === 'number' ? ctx.params.changeWindowDays : DEFAULT_CHANGE_WINDOW_DAYS;
  const changes = trackChanges(ctx.memory, facts, ctx.probes.now(), windowDays);
  return { status: 'ok', facts: { ...facts, agentVersion: packageJson.version, changes }, ...unknown };
}
