/**
 * Tells the person at the PC, in Japanese, when a violation they caused or can fix is opened,
 * and keeps the status file of `mamori status` current. Every notice shown, skipped for the
 * quiet hours or the rate limit, or that could not be shown, is an agent.notice event the administrator sees
 * (user.notified / user.notify-skipped / user.notify-failed).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../src/shared/log.js';
import type { Catalogue } from '../../src/shared/catalogue/load.js';
import type { NewAgentEvent, PolicyDocument, Violation } from '../../src/shared/protocol/messages.js';
import type { FindingsState } from '../findings.js';
import { decideNotice } from './decide.js';
import type { NoticeDelivery } from './delivery.js';
import { BackgroundFile } from '../background-file.js';
import { buildStatus, statusPath, statusText } from './status.js';
import { composeNotice, effectiveNoticePolicy, loadNotices } from './texts.js';
import type { NoticesFile } from './texts.js';

export interface UserNoticesOptions {
  stateDir: string;
  log: Logger;
  policy: () => PolicyDocument;
  catalogue: () => Catalogue;
  /** Whether to notify at all (not when replaying recordings: nobody sits at that PC). */
  notify: boolean;
  /** Where notices go; none = notices are recorded as not shown (no desktop delivery on this platform). */
  delivery?: NoticeDelivery;
  append: (events: NewAgentEvent[]) => void;
  notices?: NoticesFile;
  now?: () => Date;
}

export class UserNotices {
  private readonly shownPath: string;
  /** When each "ruleId\u0000subject" was last shown (the rate limit survives restarts). */
  private shown: Record<string, string>;
  private readonly pending = new Set<Promise<void>>();
  /** The status file, written off the main thread (a USB event may be waiting on it). */
  private readonly statusFile: BackgroundFile;

  constructor(private readonly o: UserNoticesOptions) {
    this.shownPath = join(o.stateDir, 'notices.json');
    this.statusFile = new BackgroundFile(statusPath(o.stateDir), { mode: 0o644, onError: (err) => o.log.warn('status file not written', { error: err.message }) });
    this.shown = this.loadShown();
  }

  private loadShown(): Record<string, string> {
    if (!existsSync(this.shownPath)) return {};
    try {
      return JSON.parse(readFileSync(this.shownPath, 'utf8')) as Record<string, string>;
    } catch {
      return {};
    }
  }

  private get notices(): NoticesFile {
    return this.o.notices ?? loadNotices();
  }

  /** After a check run: notify for the violations it opened and rewrite the status file (both in the background). */
  afterFindings(events: readonly NewAgentEvent[], state: FindingsState): void {
    try {
      this.statusFile.write(statusText(buildStatus(state.open, this.o.catalogue().rules, this.o.catalogue().sources, this.notices, this.o.policy(), this.now())));
    } catch (err) {
      this.o.log.warn('status file not written', { error: (err as Error).message });
    }
    if (!this.o.notify) return;
    for (const e of events) {
      if (e.kind !== 'violation.opened') continue;
      const p = this.notify(e.violation).catch((err: Error) => {
        this.o.log.error('notice failed', { error: err.message });
      });
      this.pending.add(p);
      void p.finally(() => this.pending.delete(p));
    }
  }

  /** Wait for the notices under way and the status file's write (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    await this.statusFile.idle();
  }

  private now(): Date {
    return this.o.now?.() ?? new Date();
  }

  private async notify(v: Violation): Promise<void> {
    const notices = this.notices;
    const policy = effectiveNoticePolicy(notices, this.o.policy());
    const key = `${v.ruleId}\u0000${v.subject}`;
    const now = this.now();
    const decision = decideNotice(v.ruleId, policy, this.shown[key], now);
    const about = { ruleId: v.ruleId, subject: v.subject };
    if (!decision.show) {
      this.o.log.debug(`notice not shown: ${v.ruleId} ${v.subject} (${decision.why})`);
      // A rule that does not notify, or notices switched off by the policy, is no notice at all;
      // a notice held back by the quiet hours or the rate limit is one the administrator sees.
      if (decision.why === 'quiet-hours') this.record('user.notify-skipped', { ...about, reason: '通知しない時間帯 (quietHours) のため表示しませんでした' });
      if (decision.why === 'rate-limited') this.record('user.notify-skipped', { ...about, reason: `同じ規則・対象の通知を ${policy.rateLimitMinutes} 分以内に表示済みのため表示しませんでした` });
      return;
    }
    const notice = composeNotice(v, notices, policy, this.o.catalogue().sources);
    if (!notice) return this.record('user.notify-failed', { ...about, reason: `config/notices.yml に ${v.ruleId} の文面がありません` });
    if (!this.o.delivery) return this.record('user.notify-failed', { ...about, reason: 'この OS では利用者への通知に対応していません' });
    let results;
    try {
      results = await this.o.delivery.deliver(notice, v.user ? { user: v.user } : {});
    } catch (err) {
      return this.record('user.notify-failed', { ...about, reason: `ログオン中のセッションを取得できません: ${(err as Error).message}`.slice(0, 500) });
    }
    const shownTo = results.flatMap((r) => (r.ok ? [{ session: r.session, user: r.user, ...(r.shownAs ? { shownAs: r.shownAs } : {}) }] : []));
    const failed = results.flatMap((r) => (r.ok ? [] : [{ session: r.session, user: r.user, reason: r.reason }]));
    if (shownTo.length > 0) {
      this.shown[key] = now.toISOString();
      this.saveShown();
      return this.record('user.notified', { ...about, title: notice.summary, sessions: shownTo, ...(failed.length ? { failed } : {}) });
    }
    this.record('user.notify-failed', { ...about, reason: results.length === 0 ? 'ログオン中の画面 (グラフィカルセッション) がありません' : '通知を表示できませんでした', failed });
  }

  private record(notice: string, detail: Record<string, unknown>): void {
    this.o.append([{ at: this.now().toISOString(), kind: 'agent.notice', notice, detail }]);
  }

  private saveShown(): void {
    writeFileSync(`${this.shownPath}.tmp`, JSON.stringify(this.shown), { mode: 0o600 });
    renameSync(`${this.shownPath}.tmp`, this.shownPath);
  }
}
