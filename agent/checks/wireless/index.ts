import type { CheckDefinition } from '../types.js';
import { WirelessFacts } from './facts.js';

export const definition: CheckDefinition<WirelessFacts> = {
  id: 'wireless',
  title: { ja: '無線LAN', en: 'Wireless' },
  facts: WirelessFacts,
  params: { nmcliPath: '/usr/bin/nmcli', sysClassNet: '/sys/class/net' },
  platforms: {
    linux: async () => (await import('./linux.js')).collect,
    windows: async () => (await import('./windows.js')).collect,
  },
};
