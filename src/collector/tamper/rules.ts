/**
 * Violations the collector itself raises about an agent (the agent cannot report its own
 * silence, stop or removal). Clause references were checked against the seeds:
 *   R-LOG-5 「ログが取得できなくなった場合の対処等について定め」 003 第8章3(2)ウ, 004 §8.1(6)イ
 *   R-LOG-4 ログの改ざん・消去からの保護 003 第8章3(2)イ; R-HW-3 設定ファイルの改ざんの検査 004 §8.5(1)エ
 *   R-TIME-1 正確な時刻 000 §8(1)②, 003 第8章3(3), 004 §9.1イ
 * No seed gives a number for the silence or the clock tolerance: both are site parameters
 * with a product default (see TamperOptions).
 */
import type { ClauseRef, Severity } from '../../shared/protocol/messages.js';

export interface TamperRule {
  id: 'AGENT-001' | 'AGENT-002' | 'AGENT-003' | 'AGENT-004' | 'AGENT-005' | 'AGENT-006' | 'AGENT-008' | 'TIME-002';
  severity: Severity;
  title: { ja: string; en: string };
  message: { ja: string; en: string };
  clauses: ClauseRef[];
}

const LOG_LOSS: ClauseRef[] = [
  { source: '003', ref: '第8章3(2)ウ' },
  { source: '004', ref: '§8.1(6)イ' },
];

export const TAMPER_RULES = {
  silent: {
    id: 'AGENT-001',
    severity: 'high',
    title: { ja: 'エージェントからの報告が途絶えている', en: 'The agent has stopped reporting' },
    message: { ja: 'この端末のエージェントから一定時間報告がありません。停止・削除・ネットワーク遮断の可能性があります。', en: 'The agent of this PC has not reported for longer than the site limit: it may have been stopped, removed or cut off.' },
    clauses: LOG_LOSS,
  },
  stopped: {
    id: 'AGENT-002',
    severity: 'high',
    title: { ja: 'エージェントが停止された', en: 'The agent was stopped' },
    message: { ja: '端末のシャットダウン以外の理由でエージェントが停止されました。', en: 'The agent was stopped while the PC kept running.' },
    clauses: LOG_LOSS,
  },
  uninstalled: {
    id: 'AGENT-003',
    severity: 'critical',
    title: { ja: 'エージェントがアンインストールされた', en: 'The agent was uninstalled' },
    message: { ja: 'この端末からエージェントが削除されました。以後この端末の点検結果は届きません。', en: 'The agent was removed from this PC; no further results will arrive from it.' },
    clauses: LOG_LOSS,
  },
  tampered: {
    id: 'AGENT-004',
    severity: 'high',
    title: { ja: 'エージェントの設定またはプログラムが変更された', en: "The agent's configuration or program changed" },
    message: { ja: '前回の起動時からエージェントの設定ファイル、ルール定義またはプログラムが変更されています。正規の更新か確認してください。', en: "The agent's configuration, rule catalogue or program differs from its previous start; confirm it was an authorised update." },
    clauses: [{ source: '003', ref: '第8章3(2)イ' }, { source: '004', ref: '§8.5(1)エ' }],
  },
  watcherDown: {
    id: 'AGENT-005',
    severity: 'medium',
    title: { ja: 'エージェントの機器監視が停止している', en: "The agent's device watch has stopped" },
    message: { ja: 'USB 機器の接続を即時に検知する監視が繰り返し失敗しています。接続は定期点検まで検知されません。', en: 'The watch that detects USB devices as they are plugged in keeps failing; devices are only seen at the next scheduled check.' },
    clauses: LOG_LOSS,
  },
  /**
   * The collector held events above the highest sequence number the agent itself has given
   * out: frames in this agent's name that its outbox never made (a forged frame), or the agent's
   * state was restored from a backup. Those events are moved aside (events_disowned) and the
   * agent's own counter is followed. R-LOG-4 (003 第8章3(2)イ) and R-LOG-5.
   */
  seqDisagreement: {
    id: 'AGENT-006',
    severity: 'high',
    title: { ja: 'エージェントの送信記録とコレクターの記録が食い違っている', en: "The agent's sequence disagrees with the collector's" },
    message: {
      ja: 'この端末のエージェントが付けた番号より先の記録がコレクターにありました。なりすましによる偽の送信、または端末の状態の巻き戻しの可能性があります。食い違った記録は証跡として別に保管しています。',
      en: 'The collector held records beyond the highest number this agent has given out: frames forged in its name, or its state was rolled back. Those records are kept aside as evidence.',
    },
    clauses: [{ source: '003', ref: '第8章3(2)イ' }, ...LOG_LOSS],
  },
  /**
   * The agent stopped itself over its CPU or memory limit (agent/watchdog.ts, agent.notice
   * 'watchdog.limit'); the service manager starts it again. Medium for one stop; high once it
   * stopped `watchdogRepeat` times within `watchdogWindowMs` (TamperOptions): then it is not a
   * passing load but an agent that keeps failing, and it stays open until the window passes
   * without a stop. R-LOG-5: the PC is not watched while the agent is down.
   */
  watchdog: {
    id: 'AGENT-008',
    severity: 'medium',
    title: { ja: 'エージェントが資源の上限を超えて停止した', en: 'The agent stopped itself over its resource limit' },
    message: {
      ja: 'エージェントが CPU またはメモリの上限を超えたため自ら停止しました。停止している間、この端末は点検されません。繰り返す場合は端末の負荷や他のソフトウェアとの干渉を確認してください。',
      en: 'The agent stopped itself because it went over its CPU or memory limit; the PC is not checked while it is down. If it repeats, look at the load of the PC and at software that interferes with the agent.',
    },
    clauses: LOG_LOSS,
  },
  clockSkew: {
    id: 'TIME-002',
    severity: 'medium',
    title: { ja: '端末の時刻がずれている', en: "The PC's clock is off" },
    message: { ja: '端末の時刻がコレクターの時刻から許容範囲を超えてずれています。', en: "The PC's clock differs from the collector's by more than the site limit." },
    clauses: [
      { source: '000', ref: '§8(1)②' },
      { source: '003', ref: '第8章3(3)' },
      { source: '004', ref: '§9.1イ' },
    ],
  },
} as const satisfies Record<string, TamperRule>;

export type TamperKind = keyof typeof TAMPER_RULES;
