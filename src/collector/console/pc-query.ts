/**
 * 端末一覧 in the database (both stores, portable SQL): search, filters, sort and paging of the
 * enrolled PCs with the exact number that match, so a list of 10,000 PCs never loads them all.
 *
 * The filters are a table (PC_FILTERS): each reads its own value from the query string and
 * adds one condition over `a` (agents) and `p` (console_pc_assignments). A new column or
 * filter of the list (inventory, …) is one entry here and one in ui/pcs.js.
 */
import { msg } from '../../shared/i18n/index.js';
import type { SqlRunner, SqlValue } from '../store/sql.js';
import { likePattern } from '../store/violation-query.js';
import { badRequest } from './errors.js';
import { ipv4Range } from './inventory.js';

export interface PcFilter {
  /** Its name in the query string (?segment=lgwan). */
  name: string;
  /** The condition for a value, or null when the value is not one this filter knows (ignored). */
  where(value: string): { sql: string; args: SqlValue[] } | null;
}

const cond = (sql: string, ...args: SqlValue[]) => ({ sql, args });

/** A memory filter in GB; a typed error for anything else (a filter that silently matched everything would mislead). */
function gigabytes(name: string, v: string): number {
  if (!/^\d{1,5}(\.\d{1,2})?$/.test(v.trim())) throw badRequest(msg('error.gigabytes', { name, value: v }));
  return Number(v);
}

/** Results of a PC's rules, worst first: 違反あり, 不明あり, 準拠 (pass, excepted, not applicable). */
export const PC_COMPLIANCE = ['fail', 'unknown', 'pass', 'none'] as const;
export type PcCompliance = (typeof PC_COMPLIANCE)[number];

const hasResult = (results: string) => `EXISTS (SELECT 1 FROM rule_results r WHERE r.agent_id = a.id AND r.result IN (${results}))`;
const COMPLIANCE_SQL: Record<PcCompliance, string> = {
  fail: hasResult("'fail'"),
  unknown: `${hasResult("'unknown'")} AND NOT ${hasResult("'fail'")}`,
  pass: `NOT ${hasResult("'fail', 'unknown'")} AND EXISTS (SELECT 1 FROM rule_results r WHERE r.agent_id = a.id)`,
  none: 'NOT EXISTS (SELECT 1 FROM rule_results r WHERE r.agent_id = a.id)',
};

/** The platform as the agent reports it (os.platform of Node: win32 is stored as windows). */
export const PC_PLATFORMS = ['windows', 'linux', 'darwin'] as const;

export const PC_FILTERS: PcFilter[] = [
  // Host name or agent id, anywhere in it, case-insensitive.
  { name: 'q', where: (v) => (v.trim() ? cond("(LOWER(a.hostname) LIKE ? ESCAPE '\\' OR LOWER(a.id) LIKE ? ESCAPE '\\')", likePattern(v.trim().slice(0, 200)), likePattern(v.trim().slice(0, 200))) : null) },
  { name: 'department', where: (v) => (v === '-' ? cond('a.department IS NULL') : cond('a.department = ?', v)) },
  { name: 'group', where: (v) => (v === '-' ? cond('p.group_name IS NULL') : cond('p.group_name = ?', v)) },
  { name: 'segment', where: (v) => (['mynumber', 'lgwan', 'internet'].includes(v) ? cond('a.segment = ?', v) : null) },
  // os_json is JSON.stringify of the agent's OsInfo: no spaces, so the pair is matched exactly.
  { name: 'os', where: (v) => ((PC_PLATFORMS as readonly string[]).includes(v) ? cond('a.os_json LIKE ?', `%"platform":"${v}"%`) : null) },
  { name: 'online', where: (v) => (v === 'true' || v === 'false' ? cond('a.online = ?', v === 'true' ? 1 : 0) : null) },
  { name: 'compliance', where: (v) => ((PC_COMPLIANCE as readonly string[]).includes(v) ? cond(COMPLIANCE_SQL[v as PcCompliance]) : null) },
  // 資産管理台帳 (inventory_latest `i`, console/inventory.ts): maker or model anywhere in it, an OS
  // build from its start, memory in GB (a module is never exactly 16.0 GiB of usable memory: ±0.5),
  // an IPv4 address or range (CIDR or from-to) of a wired or wireless interface.
  { name: 'model', where: (v) => (v.trim() ? cond("(LOWER(COALESCE(i.model, '')) LIKE ? ESCAPE '\\' OR LOWER(COALESCE(i.manufacturer, '')) LIKE ? ESCAPE '\\')", likePattern(v.trim().slice(0, 100)), likePattern(v.trim().slice(0, 100))) : null) },
  { name: 'osBuild', where: (v) => (v.trim() ? cond("i.os_build LIKE ? ESCAPE '\\'", `${v.trim().slice(0, 40).replace(/[\\%_]/g, (c) => `\\${c}`)}%`) : null) },
  { name: 'memoryMin', where: (v) => cond('i.memory_mib >= ?', Math.round(gigabytes('memoryMin', v) * 1024) - 512) },
  { name: 'memoryMax', where: (v) => cond('i.memory_mib <= ?', Math.round(gigabytes('memoryMax', v) * 1024) + 512) },
  { name: 'ip', where: (v) => (v.trim() ? cond('EXISTS (SELECT 1 FROM inventory_addresses ia WHERE ia.agent_id = a.id AND ia.ipv4_hex BETWEEN ? AND ?)', ...ipv4Range(v)) : null) },
  // An exact host name or id (the CLI's `--host`).
  { name: 'host', where: (v) => cond('(a.hostname = ? OR a.id = ?)', v, v) },
];

const OPEN_COUNT_SQL = "(SELECT COUNT(*) FROM violations v WHERE v.agent_id = a.id AND v.state = 'open')";
const WORST_SQL = "(SELECT MIN(CASE r.result WHEN 'fail' THEN 0 WHEN 'unknown' THEN 1 ELSE 2 END) FROM rule_results r WHERE r.agent_id = a.id)";

/** Sortable columns: the SQL and the direction a click gives first. */
export const PC_SORTS: Record<string, { expr: string; natural: 'asc' | 'desc' }> = {
  hostname: { expr: 'LOWER(a.hostname)', natural: 'asc' },
  lastSeenAt: { expr: "COALESCE(a.last_seen_at, '')", natural: 'desc' },
  department: { expr: "COALESCE(a.department, '')", natural: 'asc' },
  segment: { expr: 'a.segment', natural: 'asc' },
  online: { expr: 'a.online', natural: 'desc' },
  openViolations: { expr: OPEN_COUNT_SQL, natural: 'desc' },
  // Worst first; PCs with no results yet last.
  compliance: { expr: `COALESCE(${WORST_SQL}, 3)`, natural: 'asc' },
  model: { expr: "LOWER(COALESCE(i.model, ''))", natural: 'asc' },
  osBuild: { expr: "COALESCE(i.os_build, '')", natural: 'asc' },
  memory: { expr: 'COALESCE(i.memory_mib, 0)', natural: 'desc' },
};

export interface PcPageQuery {
  /** Values from the query string, by filter name (unknown names and values are ignored). */
  filters?: Record<string, string | undefined>;
  /** Only PCs of these 課 (an account limited to its departments); absent: every PC. */
  departments?: readonly string[];
  /** Only these PCs (a selection). */
  agentIds?: readonly string[];
  sort?: string;
  dir?: 'asc' | 'desc';
  offset?: number;
  limit?: number;
}

/** The PC's latest inventory as 端末一覧 shows it; null before the first one. */
export interface PcInventorySummary {
  manufacturer: string | null;
  model: string | null;
  osBuild: string | null;
  memoryGb: number | null;
  ipv4: string[];
  collectedAt: string;
}

function inventoryOf(r: Record<string, unknown>): PcInventorySummary | null {
  if (r.inv_collected_at === null || r.inv_collected_at === undefined) return null;
  const mib = r.inv_memory_mib === null || r.inv_memory_mib === undefined ? null : Number(r.inv_memory_mib);
  return {
    manufacturer: (r.inv_manufacturer as string | null) ?? null,
    model: (r.inv_model as string | null) ?? null,
    osBuild: (r.inv_os_build as string | null) ?? null,
    memoryGb: mib === null ? null : Math.round((mib / 1024) * 10) / 10,
    ipv4: r.inv_ipv4 ? String(r.inv_ipv4).split(' ') : [],
    collectedAt: String(r.inv_collected_at),
  };
}

export interface PcRow {
  id: string;
  inventory: PcInventorySummary | null;
  group: string | null;
  openViolations: number;
  /** The agents row (rows.ts agentFromRow reads it). */
  row: Record<string, unknown>;
}

export const MAX_PC_PAGE = 5000;

/** The WHERE clause of a PC query over `a`, `p` and `i` (PC_FROM): the filters, the acting account's 課, a selection. */
export function whereOf(q: PcPageQuery): { sql: string; args: SqlValue[] } {
  const where = ['a.revoked_at IS NULL'];
  const args: SqlValue[] = [];
  for (const f of PC_FILTERS) {
    const value = q.filters?.[f.name];
    if (value === undefined || value === '') continue;
    const c = f.where(value);
    if (!c) continue;
    where.push(c.sql);
    args.push(...c.args);
  }
  if (q.departments) {
    if (q.departments.length === 0) where.push('1 = 0');
    else (where.push(`a.department IN (${q.departments.map(() => '?').join(', ')})`), args.push(...q.departments));
  }
  if (q.agentIds) {
    if (q.agentIds.length === 0) where.push('1 = 0');
    else (where.push(`a.id IN (${q.agentIds.map(() => '?').join(', ')})`), args.push(...q.agentIds));
  }
  return { sql: `WHERE ${where.join(' AND ')}`, args };
}

export const PC_FROM = 'FROM agents a LEFT JOIN console_pc_assignments p ON p.agent_id = a.id LEFT JOIN inventory_latest i ON i.agent_id = a.id';
/** The 資産管理台帳 columns of a PC's row (PcRow.inventory). */
const INVENTORY_COLUMNS = 'i.manufacturer AS inv_manufacturer, i.model AS inv_model, i.os_build AS inv_os_build, i.memory_mib AS inv_memory_mib, i.ipv4_text AS inv_ipv4, i.collected_at AS inv_collected_at';

/** One page of PCs and the exact number that match. */
export async function queryPcPage(sql: SqlRunner, q: PcPageQuery): Promise<{ total: number; offset: number; rows: PcRow[] }> {
  const { sql: where, args } = whereOf(q);
  const sort = PC_SORTS[q.sort ?? 'hostname'] ?? PC_SORTS.hostname!;
  const dir = (q.dir ?? sort.natural) === 'asc' ? 'ASC' : 'DESC';
  const limit = Math.max(0, Math.min(q.limit ?? 50, MAX_PC_PAGE));
  const offset = Math.max(0, q.offset ?? 0);
  const count = await sql.get<{ n: number | string }>(`SELECT COUNT(*) AS n ${PC_FROM} ${where}`, args);
  const rows =
    limit === 0
      ? []
      : await sql.all<Record<string, unknown>>(`SELECT a.*, p.group_name AS group_name, ${INVENTORY_COLUMNS}, ${OPEN_COUNT_SQL} AS open_count ${PC_FROM} ${where} ORDER BY ${sort.expr} ${dir}, LOWER(a.hostname), a.id LIMIT ? OFFSET ?`, [...args, limit, offset]);
  return {
    total: Number(count?.n ?? 0),
    offset,
    rows: rows.map((r) => ({ id: String(r.id), group: (r.group_name as string | null) ?? null, openViolations: Number(r.open_count ?? 0), inventory: inventoryOf(r), row: r })),
  };
}

/** Ids of every PC that matches (a bulk action on "all PCs of the list"), in the list's order. */
export async function queryPcIds(sql: SqlRunner, q: Omit<PcPageQuery, 'offset' | 'limit'>): Promise<string[]> {
  const { sql: where, args } = whereOf(q);
  const rows = await sql.all<{ id: string }>(`SELECT a.id AS id ${PC_FROM} ${where} ORDER BY LOWER(a.hostname), a.id`, args);
  return rows.map((r) => String(r.id));
}
