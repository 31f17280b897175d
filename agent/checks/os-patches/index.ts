import type { CheckDefinition } from '../types.js';
import { OsPatchesFacts } from './facts.js';

export const definition: CheckDefinition<OsPatchesFacts> = {
  id: 'os-patches',
  title: { ja: 'OS更新プログラム', en: 'OS patches' },
  facts: OsPatchesFacts,
  params: { osReleasePaths: ['/etc/os-release', '/usr/lib/os-release'], kernelReleasePath: '/proc/sys/kernel/osrelease', aptGetPath: '/usr/bin/apt-get', aptCachePath: '/usr/bin/apt-cache', aptListsDir: '/var/lib/apt/lists', aptLogDir: '/var/log/apt', rebootRequiredPath: '/var/run/reboot-required', bootDir: '/boot', dnfPath: '/usr/bin/dnf', dnfCacheDir: '/var/cache/dnf', dnfCacheOnly: true, needsRestartingPath: '/usr/bin/needs-restarting', rpmPath: '/usr/bin/rpm', statPath: '/usr/bin/stat', datePath: '/usr/bin/date' },
  platforms: {
    linux: async () => (await import('./linux.js')).collect,
    windows: async () => (await import('./windows.js')).collect,
  },
};
