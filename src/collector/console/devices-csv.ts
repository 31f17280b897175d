/**
 * 端末一覧 as CSV for Excel on Japanese Windows (csv.ts): Japanese headers and values by default,
 * English with the console's switch (`lang=en`); times in JST either way (2026/12/06 21:44:05),
 * one row per PC with its compliance per check.
 */
import { jstNumeric, term, type Lang, type Localized } from '../../shared/i18n/index.js';
import { toCsv } from './csv.js';
import type { AreaStatus, PcView } from './fleet.js';

const CHECKS: [string, Localized][] = [
  ['usb-media', { ja: 'USB媒体', en: 'USB media' }],
  ['software', { ja: 'ソフトウェア', en: 'Software' }],
  ['antivirus', { ja: 'ウイルス対策', en: 'Anti-malware' }],
  ['screen-lock', { ja: '画面ロック', en: 'Screen lock' }],
  ['os-patches', { ja: 'OS更新', en: 'OS updates' }],
  ['beyond', { ja: 'その他 (FW・暗号化・時刻)', en: 'Other (firewall, encryption, time)' }],
];
const STATUS: Record<AreaStatus, Localized> = {
  pass: { ja: '適合', en: 'pass' },
  fail: { ja: '違反', en: 'fail' },
  unknown: { ja: '不明', en: 'unknown' },
  excepted: { ja: '例外', en: 'excepted' },
  none: { ja: '', en: '' },
};
const CONNECTION: Record<'online' | 'offline', Localized> = { online: { ja: 'オンライン', en: 'online' }, offline: { ja: 'オフライン', en: 'offline' } };

/** An ISO time as CSV files show it: 2026/12/06 21:44:05 (JST); '' for none. */
const csvTime = (iso: string | null): string => (iso ? jstNumeric(iso, { seconds: true }) : '');

/** The JST day for file names: 2026-12-06. */
export function fileDay(d: Date): string {
  return jstNumeric(d).slice(0, 10).replace(/\//g, '-');
}

const HEADERS: Record<Lang, string[]> = {
  ja: ['端末名', '接続', '最終通信', '系統', '所属 (課)', 'グループ', 'OS', 'エージェント', 'ポリシー版', '未解決違反', ...CHECKS.map(([, name]) => name.ja), '登録日時', '端末ID'],
  en: ['PC', 'Connection', 'Last contact (JST)', 'Segment', 'Department', 'Group', 'OS', 'Agent', 'Policy version', 'Open violations', ...CHECKS.map(([, name]) => name.en), 'Enrolled (JST)', 'PC ID'],
};

export function pcsCsv(pcs: readonly PcView[], lang: Lang = 'ja'): string {
  return toCsv(
    HEADERS[lang],
    pcs.map((p) => [
      p.hostname,
      CONNECTION[p.online ? 'online' : 'offline'][lang],
      csvTime(p.lastSeenAt),
      term('segment', p.segment, lang),
      p.department ?? '',
      p.group ?? '',
      `${p.os.name ?? p.os.platform} ${p.os.release}`.trim(),
      p.agentVersion,
      p.policyVersion,
      p.openViolations,
      ...CHECKS.map(([id]) => STATUS[p.compliance[id] ?? 'none'][lang]),
      csvTime(p.enrolledAt),
      p.id,
    ]),
  );
}
