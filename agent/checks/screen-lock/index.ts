import type { CheckDefinition } from '../types.js';
import { ScreenLockFacts } from './facts.js';

export const definition: CheckDefinition<ScreenLockFacts> = {
  id: 'screen-lock',
  title: { ja: '画面ロック', en: 'Screen lock' },
  facts: ScreenLockFacts,
  params: { loginctlPath: '/usr/bin/loginctl', gsettingsPath: '/usr/bin/gsettings', passwdPath: '/etc/passwd', runtimeDirRoot: '/run/user', xdgSystemConfigDir: '/etc/xdg', dconfProfile: null },
  platforms: {
    linux: async () => (await import('./linux.js')).collect,
    windows: async () => (await import('./windows.js')).collect,
  },
};
