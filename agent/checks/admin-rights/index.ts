import type { CheckDefinition } from '../types.js';
import { AdminRightsFacts } from './facts.js';

export const definition: CheckDefinition<AdminRightsFacts> = {
  id: 'admin-rights',
  title: { ja: '管理者権限', en: 'Administrator rights' },
  facts: AdminRightsFacts,
  params: { loginctlPath: '/usr/bin/loginctl', passwdPath: '/etc/passwd', groupPath: '/etc/group', passwdCmdPath: '/usr/bin/passwd' },
  platforms: {
    linux: async () => (await import('./linux.js')).collect,
    windows: async () => (await import('./windows.js')).collect,
  },
};
