import type { CheckDefinition } from '../types.js';
import { ServicesFacts } from './facts.js';

export const definition: CheckDefinition<ServicesFacts> = {
  id: 'services',
  title: { ja: 'サービス・機能', en: 'Services and features' },
  facts: ServicesFacts,
  params: { systemctlPath: '/usr/bin/systemctl', ssPath: '/usr/bin/ss' },
  platforms: {
    linux: async () => (await import('./linux.js')).collect,
    windows: async () => (await import('./windows.js')).collect,
  },
};
