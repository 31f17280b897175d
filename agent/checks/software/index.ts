import { loadEolCatalogue } from '../../../src/shared/eol/index.js';
import type { CheckDefinition } from '../types.js';
import { SoftwareFacts } from './facts.js';

export const definition: CheckDefinition<SoftwareFacts> = {
  id: 'software',
  title: { ja: 'ソフトウェア', en: 'Software' },
  facts: SoftwareFacts,
  params: { dpkgStatusPath: '/var/lib/dpkg/status', rpmPath: '/usr/bin/rpm', snapPath: '/usr/bin/snap', snapsDir: '/var/lib/snapd/snaps', flatpakPath: '/usr/bin/flatpak', procRoot: '/proc', findPath: '/usr/bin/find', passwdPath: '/etc/passwd' },
  platforms: {
    linux: async () => (await import('./linux.js')).collect,
    windows: async () => (await import('./windows.js')).collect,
  },
  // The end-of-life catalogue (YAML, ~300 ms on a loaded PC, seconds on a slow one).
  prepare: () => void loadEolCatalogue(),
};
