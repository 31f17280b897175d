import type { CheckDefinition } from '../types.js';
import { MfaFacts } from './facts.js';

export const definition: CheckDefinition<MfaFacts> = {
  id: 'mfa',
  title: { ja: '多要素認証', en: 'Multi-factor sign-in' },
  facts: MfaFacts,
  params: { pamDir: '/etc/pam.d' },
  platforms: {
    linux: async () => (await import('./linux.js')).collect,
    windows: async () => (await import('./windows.js')).collect,
  },
};
