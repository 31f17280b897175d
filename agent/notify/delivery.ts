/** How a composed notice reaches the screens of the people at the PC (one implementation per platform). */
import type { ComposedNotice } from './texts.js';

export interface NoticeTarget {
  /** Only this user's sessions (a violation about one account); all active sessions when absent. */
  user?: string;
}

/** shownAs (Windows): a toast, a plain window (toasts off), or pending (waiting for a full-screen program to end). */
export type DeliveryResult = { session: string; user: string; ok: true; notificationId?: number; shownAs?: 'toast' | 'window' | 'pending' } | { session: string; user: string; ok: false; reason: string };

export interface NoticeDelivery {
  /** One result per session tried; [] when nobody is at the PC. Throws when the sessions cannot be listed. */
  deliver(notice: ComposedNotice, target: NoticeTarget): Promise<DeliveryResult[]>;
}
