import type { CheckDefinition } from '../types.js';
import { BeyondFacts } from './facts.js';

export const definition: CheckDefinition<BeyondFacts> = {
  id: 'beyond',
  title: { ja: 'ファイアウォール・暗号化・時刻同期', en: 'Firewall, encryption, time' },
  facts: BeyondFacts,
  params: { ufwConfPath: '/etc/ufw/ufw.conf', ufwPath: '/usr/sbin/ufw', firewallCmdPath: '/usr/bin/firewall-cmd', nftPath: '/usr/sbin/nft', iptablesPath: '/usr/sbin/iptables', lsblkPath: '/usr/bin/lsblk', sysfsRoot: '/sys', timedatectlPath: '/usr/bin/timedatectl', chronycPath: '/usr/bin/chronyc' },
  platforms: {
    linux: async () => (await import('./linux.js')).collect,
    windows: async () => (await import('./windows.js')).collect,
  },
};
