import type { CheckDefinition } from '../types.js';
import { LocalAccountsFacts } from './facts.js';

export const definition: CheckDefinition<LocalAccountsFacts> = {
  id: 'local-accounts',
  title: { ja: 'ローカルアカウント', en: 'Local accounts' },
  facts: LocalAccountsFacts,
  params: { passwdPath: '/etc/passwd', lastlogPath: '/usr/bin/lastlog', lastlog2Path: '/usr/bin/lastlog2' },
  platforms: {
    linux: async () => (await import('./linux.js')).collect,
    windows: async () => (await import('./windows.js')).collect,
  },
};
