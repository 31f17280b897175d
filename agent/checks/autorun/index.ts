import type { CheckDefinition } from '../types.js';
import { AutorunFacts } from './facts.js';

export const definition: CheckDefinition<AutorunFacts> = {
  id: 'autorun',
  title: { ja: '自動再生・外部媒体', en: 'Autorun and removable media' },
  facts: AutorunFacts,
  params: { gsettingsPath: '/usr/bin/gsettings' },
  platforms: {
    linux: async () => (await import('./linux.js')).collect,
    windows: async () => (await import('./windows.js')).collect,
  },
};
