/** The notice delivery for this platform, if there is one. */
import type { NoticeDelivery } from './delivery.js';
import { linuxDelivery } from './linux.js';

export function platformDelivery(platform: string): NoticeDelivery | undefined {
  return platform === 'linux' ? linuxDelivery() : undefined;
}
export { UserNotices } from './user-notices.js';
