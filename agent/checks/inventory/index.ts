import type { CheckDefinition } from '../types.js';
import { InventoryFacts } from './facts.js';
import { DEFAULT_CHANGE_WINDOW_DAYS } from './finish.js';

export const definition: CheckDefinition<InventoryFacts> = {
  id: 'inventory',
  title: { ja: '資産管理台帳 (ハードウェア・ネットワーク)', en: 'Hardware and network inventory' },
  facts: InventoryFacts,
  params: { changeWindowDays: DEFAULT_CHANGE_WINDOW_DAYS },
  platforms: {
    linux: async () => (await import('./linux.js')).collect,
    windows: async () => (await import('./windows.js')).collect,
  },
};
