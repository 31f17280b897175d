/**
 * 資産管理台帳 on the collector: the latest hardware and network inventory of each PC and the
 * hardware changes, from the facts of the agents' `inventory` check.
 *
 * The store keeps every check's latest facts (facts_latest, written in the ingest transaction);
 * this service keeps beside it only what the console filters and exports on: one row per PC
 * (inventory_latest, with model, OS build, memory and IPv4 addresses as columns) and each change
 * once (inventory_changes, keyed by the agent's change id). It follows the bus after each stored
 * event, and at start catches up with facts stored while it was not running (a crash between
 * the store's commit and this write, or an older collector).
 */
import { msg } from '../../shared/i18n/index.js';
import type { InventoryChange, InventoryFacts } from '../../../agent/checks/inventory/facts.js';
import { CHANGE_LABELS, WORDS, diskText, gib, jst, nicText, physicalNics } from '../../shared/inventory/labels.js';
import type { StoredAgentEvent } from '../bus.js';
import type { SqlRunner, SqlValue } from '../store/sql.js';
import type { Store } from '../store/store.js';
import type { Principal } from './authz.js';
import { inScope } from './authz.js';
import { toCsv } from './csv.js';
import { badRequest } from './errors.js';
import type { Assignment } from './fleet.js';
import type { Clock } from './util.js';

/** What the PC list filters the inventory on (all optional, combined with AND). */
export interface InventoryFilter {
  /** Part of the maker or model name, case-insensitive. */
  model?: string;
  /** OS build, from its start: "26100" matches 26100.2314. */
  osBuild?: string;
  memoryMinGb?: number;
  memoryMaxGb?: number;
  /** An IPv4 address, a CIDR range (10.20.0.0/16) or a from-to range (10.20.30.1-10.20.30.99). */
  ip?: string;
}

export interface InventorySummary {
  agentId: string;
  hostname: string;
  department: string | null;
  group: string | null;
  collectedAt: string;
  manufacturer: string | null;
  model: string | null;
  serial: string | null;
  osName: string | null;
  osVersion: string | null;
  osBuild: string | null;
  memoryGb: number | null;
  ipv4: string[];
  lastChangeAt: string | null;
}

export interface ChangeRecord {
  changeId: string;
  at: string;
  kind: string;
  label: { ja: string; en: string };
  subject: string;
  before: string | null;
  after: string | null;
}

function ipv4Hex(ip: string): string | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip.trim());
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return parts.map((p) => p.toString(16).padStart(2, '0')).join('');
}

/** An IPv4 filter → the inclusive range of 8-hex-digit addresses; a typed error when it is not one. */
export function ipv4Range(text: string): [string, string] {
  const t = text.trim();
  const cidr = /^([\d.]+)\/(\d{1,2})$/.exec(t);
  if (cidr) {
    const base = ipv4Hex(cidr[1]!);
    const bits = Number(cidr[2]);
    if (!base || bits > 32) throw badRequest(msg('error.ipRange', { value: t, example: '10.20.0.0/16' }));
    const n = parseInt(base, 16);
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    const lo = (n & mask) >>> 0;
    const hi = (lo | (~mask >>> 0)) >>> 0;
    return [lo.toString(16).padStart(8, '0'), hi.toString(16).padStart(8, '0')];
  }
  const span = /^([\d.]+)\s*-\s*([\d.]+)$/.exec(t);
  if (span) {
    const a = ipv4Hex(span[1]!);
    const b = ipv4Hex(span[2]!);
    if (!a || !b || a > b) throw badRequest(msg('error.ipRange', { value: t, example: '10.20.30.1-10.20.30.99' }));
    return [a, b];
  }
  const one = ipv4Hex(t);
  if (!one) throw badRequest(msg('error.ipAddress', { value: t, example: '10.20.0.0/16' }));
  return [one, one];
}

const CSV_HEADER_EN = ['Host name', 'Department', 'Group', 'Manufacturer', 'Model', 'Serial number', 'UUID', 'Chassis', 'Asset tag', 'BIOS/UEFI', 'CPU', 'Memory (GB)', 'Memory modules', 'Disks', 'Network', 'IP addresses', 'MAC addresses', 'Displays', 'OS', 'OS version', 'OS build', 'OS installed (JST)', 'Last boot (JST)', 'Logged-on users', 'Domain/workgroup', 'Agent', 'Collected (JST)', 'Last change (JST)', 'Last change'];
const CSV_HEADER = ['ホスト名', '課', 'グループ', 'メーカー', '機種', '製造番号', 'UUID', '筐体', '資産番号', 'BIOS/UEFI', 'CPU', 'メモリ (GB)', 'メモリモジュール', 'ディスク', 'ネットワーク', 'IPアドレス', 'MACアドレス', 'ディスプレイ', 'OS', 'OS バージョン', 'OS ビルド', 'OS インストール日', '最終起動', 'ログオン中のユーザー', 'ドメイン/ワークグループ', 'エージェント', '収集日時', '最終変更', '最終変更の内容'];

interface LatestRow {
  agent_id: string;
  collected_at: string;
  manufacturer: string | null;
  model: string | null;
  serial: string | null;
  os_name: string | null;
  os_version: string | null;
  os_build: string | null;
  memory_mib: number | null;
  ipv4_text: string;
  inventory_json: string;
}

export class InventoryLedger {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly assignmentOf: (agentId: string) => Assignment,
    private readonly clock: Clock,
  ) {}

  private get sql(): SqlRunner {
    return this.store.sql;
  }

  /** Bus listener: an inventory facts event was stored. Writes run one after another. */
  readonly onEvent = (e: StoredAgentEvent): void => {
    const ev = e.event;
    if (ev.kind !== 'facts' || ev.checkId !== 'inventory' || ev.status !== 'ok') return;
    this.chain = this.chain.then(() => this.apply(e.agentId, ev.at, ev.facts)).catch(() => undefined);
  };

  /** Wait until the writes queued so far are done (tests, shutdown). */
  async idle(): Promise<void> {
    await this.chain;
  }

  /** Catch up with inventory facts stored while this service was not listening. */
  async catchUp(): Promise<number> {
    const rows = await this.sql.all<{ agent_id: string; facts_json: string; at: string; collected_at: string | null }>(
      "SELECT f.agent_id, f.facts_json, f.at, l.collected_at FROM facts_latest f LEFT JOIN inventory_latest l ON l.agent_id = f.agent_id WHERE f.check_id = 'inventory' AND f.status = 'ok' AND (l.collected_at IS NULL OR l.collected_at < f.at)",
    );
    for (const r of rows) await this.apply(r.agent_id, r.at, JSON.parse(r.facts_json) as Record<string, unknown>);
    return rows.length;
  }

  /** Store one inventory: replace the PC's latest row and addresses, add its changes not yet recorded. */
  async apply(agentId: string, at: string, facts: Record<string, unknown>): Promise<void> {
    const inv = facts as Partial<InventoryFacts>;
    const ipv4 = [...new Set(physicalNics(inv).flatMap((n) => n.ipv4))];
    const hexes = [...new Set(ipv4.map(ipv4Hex).filter((x): x is string => x !== null))];
    const now = this.clock.now().toISOString();
    const memory = inv.memory?.totalBytes ? Math.round(inv.memory.totalBytes / 2 ** 20) : null;
    await this.sql.transaction(async (tx) => {
      const current = await tx.get<{ collected_at: string }>('SELECT collected_at FROM inventory_latest WHERE agent_id = ?', [agentId]);
      if (!current || current.collected_at <= at) {
        await tx.run(
          'INSERT INTO inventory_latest (agent_id, collected_at, manufacturer, model, serial, os_name, os_version, os_build, memory_mib, ipv4_text, inventory_json, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (agent_id) DO UPDATE SET collected_at = excluded.collected_at, manufacturer = excluded.manufacturer, model = excluded.model, serial = excluded.serial, os_name = excluded.os_name, os_version = excluded.os_version, os_build = excluded.os_build, memory_mib = excluded.memory_mib, ipv4_text = excluded.ipv4_text, inventory_json = excluded.inventory_json, updated_at = excluded.updated_at',
          [agentId, at, inv.system?.manufacturer ?? null, inv.system?.model ?? null, inv.system?.serial ?? null, inv.os?.name ?? null, inv.os?.version ?? null, inv.os?.build ?? null, memory, ipv4.join(' '), JSON.stringify(facts), now],
        );
        await tx.run('DELETE FROM inventory_addresses WHERE agent_id = ?', [agentId]);
        for (const hex of hexes) await tx.run('INSERT INTO inventory_addresses (agent_id, ipv4_hex) VALUES (?, ?)', [agentId, hex]);
      }
      for (const c of (inv.changes ?? []) as InventoryChange[]) {
        await tx.run('INSERT INTO inventory_changes (agent_id, change_id, at, kind, subject, before_value, after_value, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (agent_id, change_id) DO NOTHING', [agentId, c.id, c.at, c.kind, c.subject, c.before, c.after, now]);
      }
    });
  }

  /** The latest inventory of one PC and all its recorded changes (newest first); null before the first inventory. */
  async ofPc(agentId: string): Promise<{ collectedAt: string; inventory: Record<string, unknown> } | null> {
    const row = await this.sql.get<{ inventory_json: string; collected_at: string }>('SELECT inventory_json, collected_at FROM inventory_latest WHERE agent_id = ?', [agentId]);
    return row ? { collectedAt: row.collected_at, inventory: JSON.parse(row.inventory_json) as Record<string, unknown> } : null;
  }

  async changes(agentId: string): Promise<ChangeRecord[]> {
    const rows = await this.sql.all<{ change_id: string; at: string; kind: string; subject: string; before_value: string | null; after_value: string | null }>('SELECT change_id, at, kind, subject, before_value, after_value FROM inventory_changes WHERE agent_id = ? ORDER BY at DESC, change_id', [agentId]);
    return rows.map((r) => ({ changeId: r.change_id, at: r.at, kind: r.kind, label: CHANGE_LABELS[r.kind as keyof typeof CHANGE_LABELS] ?? { ja: r.kind, en: r.kind }, subject: r.subject, before: r.before_value, after: r.after_value }));
  }

  /** The PCs whose latest inventory matches the filter, within the caller's 課. Filtering happens in the store. */
  async list(principal: Principal, filter: InventoryFilter = {}): Promise<InventorySummary[]> {
    const where: string[] = [];
    const args: SqlValue[] = [];
    if (filter.model) {
      where.push("(LOWER(COALESCE(l.model, '')) LIKE ? OR LOWER(COALESCE(l.manufacturer, '')) LIKE ?)");
      const like = `%${filter.model.toLowerCase().replace(/[%_\\]/g, '')}%`;
      args.push(like, like);
    }
    if (filter.osBuild) {
      where.push('l.os_build LIKE ?');
      args.push(`${filter.osBuild.replace(/[%_\\]/g, '')}%`);
    }
    if (filter.memoryMinGb !== undefined) {
      where.push('l.memory_mib >= ?');
      args.push(Math.round(filter.memoryMinGb * 1024) - 512);
    }
    if (filter.memoryMaxGb !== undefined) {
      where.push('l.memory_mib <= ?');
      args.push(Math.round(filter.memoryMaxGb * 1024) + 512);
    }
    if (filter.ip) {
      const [lo, hi] = ipv4Range(filter.ip);
      where.push('EXISTS (SELECT 1 FROM inventory_addresses a WHERE a.agent_id = l.agent_id AND a.ipv4_hex BETWEEN ? AND ?)');
      args.push(lo, hi);
    }
    const rows = await this.sql.all<LatestRow & { hostname: string; last_change: string | null }>(
      `SELECT l.*, g.hostname, (SELECT MAX(c.at) FROM inventory_changes c WHERE c.agent_id = l.agent_id) AS last_change FROM inventory_latest l JOIN agents g ON g.id = l.agent_id WHERE g.revoked_at IS NULL${where.length ? ` AND ${where.join(' AND ')}` : ''} ORDER BY g.hostname`,
      args,
    );
    return rows
      .map((r) => ({ r, a: this.assignmentOf(r.agent_id) }))
      .filter(({ a }) => inScope(principal, a.department))
      .map(({ r, a }) => ({
        agentId: r.agent_id,
        hostname: r.hostname,
        department: a.department,
        group: a.group,
        collectedAt: r.collected_at,
        manufacturer: r.manufacturer,
        model: r.model,
        serial: r.serial,
        osName: r.os_name,
        osVersion: r.os_version,
        osBuild: r.os_build,
        memoryGb: r.memory_mib !== null ? Math.round((Number(r.memory_mib) / 1024) * 10) / 10 : null,
        ipv4: r.ipv4_text ? r.ipv4_text.split(' ') : [],
        lastChangeAt: r.last_change,
      }));
  }

  /** The 資産管理台帳 as CSV: one row per PC (of the filter), Japanese headers, JST times. */
  /** The register as CSV: Japanese headers and words by default, English ones with `lang`; times in JST either way. */
  async csv(principal: Principal, filter: InventoryFilter = {}, lang: 'ja' | 'en' = 'ja'): Promise<string> {
    const pcs = await this.list(principal, filter);
    const rows: unknown[][] = [];
    for (const pc of pcs) {
      const inv = ((await this.ofPc(pc.agentId))?.inventory ?? {}) as Partial<InventoryFacts>;
      const last = (await this.changes(pc.agentId))[0];
      const nics = physicalNics(inv);
      rows.push([
        pc.hostname,
        pc.department ?? '',
        pc.group ?? '',
        inv.system?.manufacturer,
        inv.system?.model,
        inv.system?.serial,
        inv.system?.uuid,
        inv.chassis?.type,
        inv.chassis?.assetTag,
        inv.bios ? [inv.bios.vendor, inv.bios.version, inv.bios.releaseDate].filter(Boolean).join(' ') : '',
        inv.cpu?.brand,
        pc.memoryGb ?? '',
        (inv.memory?.modules ?? []).map((m) => `${m.slot}: ${gib(m.sizeBytes)}${m.serial ? ` S/N ${m.serial}` : ''}`).join(' / '),
        (inv.disks ?? []).map((d) => diskText(d, lang)).join(' / '),
        nics.map((n) => nicText(n, lang)).join(' / '),
        nics.flatMap((n) => n.ipv4).join(' '),
        nics.map((n) => n.mac).filter(Boolean).join(' '),
        (inv.displays ?? []).map((d) => [d.vendor, d.model, d.resolution].filter(Boolean).join(' ')).join(' / '),
        [inv.os?.name, inv.os?.edition].filter(Boolean).join(' '),
        inv.os?.version,
        inv.os?.build,
        jst(inv.os?.installDate),
        jst(inv.os?.lastBoot),
        (inv.users ?? []).join(' '),
        inv.domain?.name ? `${inv.domain.name} (${WORDS[inv.domain.kind === 'domain' ? 'domain' : 'workgroup'][lang]})` : '',
        inv.agentVersion,
        jst(pc.collectedAt),
        jst(last?.at),
        last ? `${last.label[lang]}: ${last.subject}` : '',
      ]);
    }
    return toCsv(lang === 'ja' ? CSV_HEADER : CSV_HEADER_EN, rows);
  }
}
