import type { CheckDefinition } from '../types.js';
import { LoggingFacts } from './facts.js';

export const definition: CheckDefinition<LoggingFacts> = {
  id: 'logging',
  title: { ja: 'ログ', en: 'Logging' },
  facts: LoggingFacts,
  params: { systemctlPath: '/usr/bin/systemctl', journaldConfPath: '/etc/systemd/journald.conf', journaldConfDirs: ['/usr/lib/systemd/journald.conf.d', '/etc/systemd/journald.conf.d'], journalDir: '/var/log/journal' },
  platforms: {
    linux: async () => (await import('./linux.js')).collect,
    windows: async () => (await import('./windows.js')).collect,
  },
};
