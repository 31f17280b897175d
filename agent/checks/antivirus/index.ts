import type { CheckDefinition } from '../types.js';
import { AntivirusFacts } from './facts.js';

export const definition: CheckDefinition<AntivirusFacts> = {
  id: 'antivirus',
  title: { ja: '不正プログラム対策', en: 'Anti-malware' },
  facts: AntivirusFacts,
  params: {},
  platforms: {
    linux: async () => (await import('./linux.js')).collect,
    windows: async () => (await import('./windows.js')).collect,
  },
};
