/**
 * Japanese (and English) words of the 資産管理台帳: change kinds, and the one-line summaries the
 * console, the CSV export and `mamori scan --inventory` print. Times are JST (municipal users
 * read local time; Japan has no daylight saving time, so +09:00 is exact).
 */
import type { ChangeKind, Disk, InventoryFacts, NetworkInterface } from '../../../agent/checks/inventory/facts.js';

export const CHANGE_LABELS: Record<ChangeKind, { ja: string; en: string }> = {
  'system.serial.changed': { ja: '本体の製造番号が変化', en: 'PC serial number changed' },
  'cpu.changed': { ja: 'CPU の交換', en: 'CPU changed' },
  'memory.added': { ja: 'メモリの増設', en: 'memory module added' },
  'memory.removed': { ja: 'メモリの取り外し', en: 'memory module removed' },
  'memory.replaced': { ja: 'メモリの交換', en: 'memory module replaced' },
  'memory.total.changed': { ja: 'メモリ容量の変化', en: 'memory size changed' },
  'disk.added': { ja: 'ディスクの増設', en: 'disk added' },
  'disk.removed': { ja: 'ディスクの取り外し', en: 'disk removed' },
  'disk.replaced': { ja: 'ディスクの交換 (シリアル番号の変化)', en: 'disk replaced (serial changed)' },
  'nic.added': { ja: 'ネットワークアダプターの追加', en: 'network adapter added' },
  'nic.removed': { ja: 'ネットワークアダプターの取り外し', en: 'network adapter removed' },
  'mac.changed': { ja: 'MAC アドレスの変化', en: 'MAC address changed' },
};

/** "2026/12/01 10:00" in JST; "" for no time. */
export function jst(iso: string | null | undefined): string {
  if (!iso) return '';
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '';
  const d = new Date(t + 9 * 3_600_000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`;
}

export function gib(bytes: number | null | undefined): string {
  return typeof bytes === 'number' && bytes > 0 ? `${Math.round((bytes / 2 ** 30) * 10) / 10}GB` : '';
}

function gb(bytes: number | null): string {
  return bytes ? `${Math.round(bytes / 1e9)}GB` : '';
}

export function diskText(d: Disk, lang: 'ja' | 'en' = 'ja'): string {
  return [d.model, gb(d.sizeBytes), d.type, d.serial ? `S/N ${d.serial}` : null, d.smart === 'predicted_failure' ? (lang === 'ja' ? 'SMART 異常予測' : 'SMART predicts failure') : null].filter(Boolean).join(' ');
}

const KIND: Record<NetworkInterface['kind'], { ja: string; en: string }> = {
  wired: { ja: '有線', en: 'wired' },
  wireless: { ja: '無線', en: 'wireless' },
  virtual: { ja: '仮想', en: 'virtual' },
  other: { ja: 'その他', en: 'other' },
};

export function nicText(n: NetworkInterface, lang: 'ja' | 'en' = 'ja'): string {
  const addr = [...n.ipv4, ...n.ipv6.filter((a) => !a.startsWith('fe80:'))].join(' ');
  return [`${n.name} (${KIND[n.kind][lang]})`, n.mac, addr, n.dhcp === true ? 'DHCP' : n.dhcp === false ? (lang === 'ja' ? '固定' : 'static') : null, n.speedMbps ? `${n.speedMbps}Mbps` : null].filter(Boolean).join(' ');
}

/** The physical interfaces (wired, wireless): what an administrator means by the PC's NICs. */
export function physicalNics(inv: Partial<InventoryFacts>): NetworkInterface[] {
  return (inv.network ?? []).filter((n) => n.kind === 'wired' || n.kind === 'wireless' || n.kind === 'other');
}

/** The labels of the register's lines, in both languages. */
const LINE_LABELS = {
  manufacturer: { ja: 'メーカー', en: 'Manufacturer' },
  model: { ja: '機種', en: 'Model' },
  serial: { ja: '製造番号', en: 'Serial number' },
  uuid: { ja: 'UUID', en: 'UUID' },
  chassis: { ja: '筐体', en: 'Chassis' },
  bios: { ja: 'BIOS/UEFI', en: 'BIOS/UEFI' },
  cpu: { ja: 'CPU', en: 'CPU' },
  memory: { ja: 'メモリ', en: 'Memory' },
  disks: { ja: 'ディスク', en: 'Disks' },
  network: { ja: 'ネットワーク', en: 'Network' },
  displays: { ja: 'ディスプレイ', en: 'Displays' },
  os: { ja: 'OS', en: 'OS' },
  osBuild: { ja: 'OS ビルド', en: 'OS build' },
  installDate: { ja: 'OS インストール日', en: 'OS installed' },
  lastBoot: { ja: '最終起動', en: 'Last boot' },
  users: { ja: 'ログオン中のユーザー', en: 'Signed-in users' },
  domain: { ja: 'ドメイン/ワークグループ', en: 'Domain/workgroup' },
  agent: { ja: 'エージェント', en: 'Agent' },
} as const;

/** Words of the inventory's lines and CSV columns, in both languages. */
export const WORDS = {
  unknown: { ja: '不明', en: 'unknown' },
  assetTag: { ja: '資産番号', en: 'asset tag' },
  cores: { ja: 'コア', en: ' cores' },
  threads: { ja: 'スレッド', en: ' threads' },
  domain: { ja: 'ドメイン', en: 'domain' },
  workgroup: { ja: 'ワークグループ', en: 'workgroup' },
  none: { ja: 'なし', en: 'none' },
} as const;

/**
 * The 資産管理台帳 of one PC as labelled lines, in Japanese or English. `unknown` holds why a fact
 * could not be read, in the language of the lines.
 */
export function inventoryLines(inv: Partial<InventoryFacts>, unknown: Record<string, string> = {}, lang: 'ja' | 'en' = 'ja'): [string, string][] {
  const w = (k: keyof typeof WORDS) => WORDS[k][lang];
  const u = (fact: string, value: string | undefined): string => (value !== undefined && value !== '' ? value : unknown[fact] ? `${w('unknown')} (${unknown[fact]})` : '—');
  const s = inv.system;
  const o = inv.os;
  const domainKind = inv.domain?.kind === 'domain' ? w('domain') : inv.domain?.kind === 'workgroup' ? w('workgroup') : w('none');
  const lines: [keyof typeof LINE_LABELS, string][] = [
    ['manufacturer', u('system', s?.manufacturer ?? undefined)],
    ['model', u('system', s?.model ?? undefined)],
    ['serial', u('system', s?.serial ?? undefined)],
    ['uuid', u('system', s?.uuid ?? undefined)],
    ['chassis', u('chassis', [inv.chassis?.type, inv.chassis?.assetTag ? `${w('assetTag')} ${inv.chassis.assetTag}` : null].filter(Boolean).join(' '))],
    ['bios', u('bios', inv.bios ? [inv.bios.vendor, inv.bios.version, inv.bios.releaseDate, inv.bios.firmware?.toUpperCase()].filter(Boolean).join(' ') : undefined)],
    ['cpu', u('cpu', inv.cpu ? [inv.cpu.brand, inv.cpu.physicalCores ? `${inv.cpu.physicalCores}${w('cores')}` : null, inv.cpu.cores ? `${inv.cpu.cores}${w('threads')}` : null].filter(Boolean).join(' ') : undefined)],
    ['memory', u('memory', inv.memory ? [gib(inv.memory.totalBytes), inv.memory.modules.length ? `(${inv.memory.modules.map((m) => `${m.slot}: ${gib(m.sizeBytes)} ${m.type ?? ''}`.trim()).join(', ')})` : null].filter(Boolean).join(' ') : undefined)],
    ['disks', u('disks', inv.disks?.map((d) => diskText(d, lang)).join(' / '))],
    ['network', u('network', inv.network ? physicalNics(inv).map((n) => nicText(n, lang)).join(' / ') : undefined)],
    ['displays', u('displays', inv.displays?.map((d) => [d.vendor, d.model, d.resolution].filter(Boolean).join(' ')).join(' / '))],
    ['os', u('os', o ? [o.name, o.edition, o.version].filter(Boolean).join(' ') : undefined)],
    ['osBuild', u('os', o?.build ?? undefined)],
    ['installDate', u('os', o ? jst(o.installDate) : undefined)],
    ['lastBoot', u('os', o ? jst(o.lastBoot) : undefined)],
    ['users', u('users', inv.users?.join(', '))],
    ['domain', u('domain', inv.domain ? `${inv.domain.name ?? ''} (${domainKind})`.trim() : undefined)],
    ['agent', u('agentVersion', inv.agentVersion)],
  ];
  return lines.map(([k, v]) => [LINE_LABELS[k][lang], v]);
}
