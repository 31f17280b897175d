import type { CheckDefinition } from '../types.js';
import { AntivirusFacts } from './facts.js';

export const definition: CheckDefinition<AntivirusFacts> = {
  id: 'antivirus',
  title: { ja: '不正プログラム対策', en: 'Anti-malware' },
  facts: AntivirusFacts,
  params: { clamdPath: '/usr/sbin/clamd', clamscanPath: '/usr/bin/clamscan', clamdConfPaths: ['/etc/clamav/clamd.conf', '/etc/clamd.d/scan.conf'], clamDatabaseDir: '/var/lib/clamav', headPath: '/usr/bin/head', statPath: '/usr/bin/stat', mdatpPath: '/usr/bin/mdatp', optDir: '/opt', procRoot: '/proc', findPath: '/usr/bin/find' },
  platforms: {
    linux: async () => (await import('./linux.js')).collect,
    windows: async () => (await import('./windows.js')).collect,
  },
};
