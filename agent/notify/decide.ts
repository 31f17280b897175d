/**
 * Whether a violation just opened is shown to the person at the PC now: the rule must notify,
 * outside the quiet hours (JST), and not within the rate limit of the same rule and subject.
 */
import type { NoticePolicy } from '../../src/shared/protocol/messages.js';

export type NoticeDecision = { show: true } | { show: false; why: 'not-notifying' | 'disabled' | 'quiet-hours' | 'rate-limited' };

/** Japan has had no daylight saving time since 1951: JST is always UTC+9. */
const JST_OFFSET_MINUTES = 9 * 60;

function minutesOfDay(hhmm: string): number {
  const [h = 0, m = 0] = hhmm.split(':').map(Number);
  return h * 60 + m;
}

export function inQuietHours(quiet: NoticePolicy['quietHours'], now: Date): boolean {
  if (!quiet) return false;
  const jst = (now.getUTCHours() * 60 + now.getUTCMinutes() + JST_OFFSET_MINUTES) % (24 * 60);
  const from = minutesOfDay(quiet.from);
  const to = minutesOfDay(quiet.to);
  // A window such as 22:00–07:00 wraps past midnight.
  return from <= to ? jst >= from && jst < to : jst >= from || jst < to;
}

export function decideNotice(ruleId: string, policy: NoticePolicy & { enabled: boolean }, lastShownAt: string | undefined, now: Date): NoticeDecision {
  if (!policy.rules.includes(ruleId)) return { show: false, why: 'not-notifying' };
  if (!policy.enabled) return { show: false, why: 'disabled' };
  if (lastShownAt && now.getTime() - Date.parse(lastShownAt) < policy.rateLimitMinutes * 60_000) return { show: false, why: 'rate-limited' };
  if (inQuietHours(policy.quietHours, now)) return { show: false, why: 'quiet-hours' };
  return { show: true };
}
