import type { CheckDefinition } from '../types.js';
import { SoftwareFacts } from './facts.js';

export const definition: CheckDefinition<SoftwareFacts> = {
  id: 'software',
  title: { ja: 'ソフトウェア', en: 'Software' },
  facts: SoftwareFacts,
  params: {},
  platforms: {
    linux: async () => (await import('./linux.js')).collect,
    windows: async () => (await import('./windows.js')).collect,
  },
};
