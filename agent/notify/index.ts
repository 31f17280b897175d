/** The notice delivery for this platform, if there is one. */
import type { NoticeDelivery } from './delivery.js';
import { linuxDelivery } from './linux.js';
import { windowsDelivery } from './windows.js';

export function platformDelivery(platform: string): NoticeDelivery | undefined {
  if (platform === 'linux') return linuxDelivery();
  if (platform === 'windows') return windowsDelivery();
  return undefined;
}
export { UserNotices } from './user-notices.js';
