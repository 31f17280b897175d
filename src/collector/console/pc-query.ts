/**
 * 端末一覧 in the database (both stores, portable SQL): search, filters, sort and paging of the
 * enrolled PCs with the exact number that match, so a list of 10,000 PCs never loads them all.
 *
 * The filters are a table (PC_FILTERS): each reads its own value from the query string and
 * adds one condition over `a` (agents) and `p` (console_pc_assignments). A new column or
 * filter of the list (inventory, …) is one entry here and one in ui/pcs.js.
 */
import type { SqlRunner, SqlValue } from '../store/sql.js';
import { likePattern } from '../store/violation-query.js';

export interface PcFilter {
  /** Its name in the query string (?segment=lgwan). */
  name: string;
  /** The condition for a value, or null when the value is not one this filter knows (ignored). */
  where(value: string): { sql: string; args: SqlValue[] } | null;
}

const cond = (sql: string, ...args: SqlValue[]) => ({ sql, args });

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

export interface PcRow {
  id: string;
  group: string | null;
  openViolations: number;
  /** The agents row (rows.ts agentFromRow reads it). */
  row: Record<string, unknown>;
}

export const MAX_PC_PAGE = 5000;

function whereOf(q: PcPageQuery): { sql: string; args: SqlValue[] } {
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

const FROM = 'FROM agents a LEFT JOIN console_pc_assignments p ON p.agent_id = a.id';

/** One page of PCs and the exact number that match. */
export async function queryPcPage(sql: SqlRunner, q: PcPageQuery): Promise<{ total: number; offset: number; rows: PcRow[] }> {
  const { sql: where, args } = whereOf(q);
  const sort = PC_SORTS[q.sort ?? 'hostname'] ?? PC_SORTS.hostname!;
  const dir = (q.dir ?? sort.natural) === 'asc' ? 'ASC' : 'DESC';
  const limit = Math.max(0, Math.min(q.limit ?? 50, MAX_PC_PAGE));
  const offset = Math.max(0, q.offset ?? 0);
  const count = await sql.get<{ n: number | string }>(`SELECT COUNT(*) AS n ${FROM} ${where}`, args);
  const rows =
    limit === 0
      ? []
      : await sql.all<Record<string, unknown>>(`SELECT a.*, p.group_name AS group_name, ${OPEN_COUNT_SQL} AS open_count ${FROM} ${where} ORDER BY ${sort.expr} ${dir}, LOWER(a.hostname), a.id LIMIT ? OFFSET ?`, [...args, limit, offset]);
  return {
    total: Number(count?.n ?? 0),
    offset,
    rows: rows.map((r) => ({ id: String(r.id), group: (r.group_name as string | null) ?? null, openViolations: Number(r.open_count ?? 0), row: r })),
  };
}

/** Ids of every PC that matches (a bulk action on "all PCs of the list"), in the list's order. */
export async function queryPcIds(sql: SqlRunner, q: Omit<PcPageQuery, 'offset' | 'limit'>): Promise<string[]> {
  const { sql: where, args } = whereOf(q);
  const rows = await sql.all<{ id: string }>(`SELECT a.id AS id ${FROM} ${where} ORDER BY LOWER(a.hostname), a.id`, args);
  return rows.map((r) => String(r.id));
}
