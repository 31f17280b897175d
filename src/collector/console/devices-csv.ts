/**
 * 端末一覧 as CSV for Excel on Japanese Windows (csv.ts): Japanese headers and values, times in
 * JST (2026/12/06 21:44:05), one row per PC with its compliance per check.
 */
import { jstNumeric } from '../../shared/i18n/index.js';
import { toCsv } from './csv.js';
import type { AreaStatus, PcView } from './fleet.js';

const CHECKS: [string, string][] = [
  ['usb-media', 'USB媒体'],
  ['software', 'ソフトウェア'],
  ['antivirus', 'ウイルス対策'],
  ['screen-lock', '画面ロック'],
  ['os-patches', 'OS更新'],
  ['beyond', 'その他 (FW・暗号化・時刻)'],
];
const SEGMENT: Record<string, string> = { mynumber: 'マイナンバー利用事務系', lgwan: 'LGWAN接続系', internet: 'インターネット接続系' };
const STATUS: Record<AreaStatus, string> = { pass: '適合', fail: '違反', unknown: '不明', excepted: '例外', none: '' };

/** An ISO time as CSV files show it: 2026/12/06 21:44:05 (JST); '' for none. */
const csvTime = (iso: string | null): string => (iso ? jstNumeric(iso, { seconds: true }) : '');

/** The JST day for file names: 2026-12-06. */
export function fileDay(d: Date): string {
  return jstNumeric(d).slice(0, 10).replace(/\//g, '-');
}

export const PCS_CSV_HEADER = ['端末名', '接続', '最終通信', '系統', '所属 (課)', 'グループ', 'OS', 'エージェント', 'ポリシー版', '未解決違反', ...CHECKS.map(([, name]) => name), '登録日時', '端末ID'];

export function pcsCsv(pcs: readonly PcView[]): string {
  return toCsv(
    PCS_CSV_HEADER,
    pcs.map((p) => [
      p.hostname,
      p.online ? 'オンライン' : 'オフライン',
      csvTime(p.lastSeenAt),
      SEGMENT[p.segment] ?? p.segment,
      p.department ?? '',
      p.group ?? '',
      `${p.os.name ?? p.os.platform} ${p.os.release}`.trim(),
      p.agentVersion,
      p.policyVersion,
      p.openViolations,
      ...CHECKS.map(([id]) => STATUS[p.compliance[id] ?? 'none']),
      csvTime(p.enrolledAt),
      p.id,
    ]),
  );
}
