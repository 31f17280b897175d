import type { CheckDefinition } from '../types.js';
import { BeyondFacts } from './facts.js';

export const definition: CheckDefinition<BeyondFacts> = {
  id: 'beyond',
  title: { ja: 'ファイアウォール・暗号化・時刻同期', en: 'Firewall, encryption, time' },
  facts: BeyondFacts,
  params: {},
  platforms: {
    linux: async () => (await import('./linux.js')).collect,
    windows: async () => (await import('./windows.js')).collect,
  },
};
