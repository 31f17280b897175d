import type { CheckDefinition } from '../types.js';
import { CloudAccountsFacts } from './facts.js';

export const definition: CheckDefinition<CloudAccountsFacts> = {
  id: 'cloud-accounts',
  title: { ja: '個人向けクラウドストレージ', en: 'Personal cloud storage' },
  facts: CloudAccountsFacts,
  params: { passwdPath: '/etc/passwd' },
  platforms: {
    linux: async () => (await import('./linux.js')).collect,
    windows: async () => (await import('./windows.js')).collect,
  },
};
