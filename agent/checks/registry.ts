/** The one list of checks. Adding a check: a folder here, one line below, a rules file, a test. */
import type { CheckDefinition, CheckId } from './types.js';
import { definition as usbMedia } from './usb-media/index.js';
import { definition as software } from './software/index.js';
import { definition as antivirus } from './antivirus/index.js';
import { definition as screenLock } from './screen-lock/index.js';
import { definition as osPatches } from './os-patches/index.js';
import { definition as beyond } from './beyond/index.js';
import { definition as signIn } from './sign-in/index.js';
import { definition as adminRights } from './admin-rights/index.js';
import { definition as autorun } from './autorun/index.js';
import { definition as services } from './services/index.js';
import { definition as logging } from './logging/index.js';
import { definition as wireless } from './wireless/index.js';
import { definition as inventory } from './inventory/index.js';
import { definition as mfa } from './mfa/index.js';
import { definition as cloudAccounts } from './cloud-accounts/index.js';
import { definition as localAccounts } from './local-accounts/index.js';

export const CHECKS: readonly CheckDefinition<never>[] = [usbMedia, software, antivirus, screenLock, osPatches, beyond, signIn, adminRights, autorun, services, logging, wireless, inventory, mfa, cloudAccounts, localAccounts] as unknown as CheckDefinition<never>[];

export function checkById(id: CheckId): CheckDefinition<never> | undefined {
  return CHECKS.find((c) => c.id === id);
}
