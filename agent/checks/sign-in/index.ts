import type { CheckDefinition } from '../types.js';
import { SignInFacts } from './facts.js';
import { LINUX_SIGN_IN_PARAMS } from './linux-paths.js';

export const definition: CheckDefinition<SignInFacts> = {
  id: 'sign-in',
  title: { ja: 'サインインとパスワード', en: 'Sign-in and passwords' },
  facts: SignInFacts,
  params: { ...LINUX_SIGN_IN_PARAMS },
  platforms: {
    linux: async () => (await import('./linux.js')).collect,
    windows: async () => (await import('./windows.js')).collect,
  },
};
