import type { CheckDefinition } from '../types.js';
import { OsPatchesFacts } from './facts.js';

export const definition: CheckDefinition<OsPatchesFacts> = {
  id: 'os-patches',
  title: { ja: 'OS更新プログラム', en: 'OS patches' },
  facts: OsPatchesFacts,
  params: {},
  platforms: {
    linux: async () => (await import('./linux.js')).collect,
    windows: async () => (await import('./windows.js')).collect,
  },
};
