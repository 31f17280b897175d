/**
 * Filtering, sorting and paging of violations in the database (both stores, portable SQL):
 * the console asks for one page and the exact number of rows that match, so a list never
 * hides rows it did not load. Department and segment are the PC's (agents table); the text
 * search matches the host name, the subject, the user and the rule id, case-insensitively.
 */
import type { Segment, Severity } from '../../shared/protocol/messages.js';
import { violationFromRow } from './rows.js';
import type { Row } from './rows.js';
import type { SqlRunner, SqlValue } from './sql.js';
import type { ViolationRecord } from './store.js';

export const VIOLATION_SORTS = ['severity', 'openedAt', 'updatedAt', 'hostname', 'ruleId'] as const;
export type ViolationSort = (typeof VIOLATION_SORTS)[number];

export interface ViolationPageQuery {
  /** Absent: open and closed. */
  state?: 'open' | 'closed';
  severity?: readonly Severity[];
  checkId?: string;
  ruleId?: string;
  agentId?: string;
  segment?: Segment;
  /** One 課; null: PCs with no 課. */
  department?: string | null;
  /** Only PCs of these 課 (an account limited to its departments); absent: every PC. */
  departments?: readonly string[];
  /** Substring of host name, subject, user or rule id. */
  text?: string;
  /** Default: severity (worst first), then newest first. */
  sort?: ViolationSort;
  dir?: 'asc' | 'desc';
  offset?: number;
  limit?: number;
}

export interface ViolationPage {
  /** Every row matching the filters (not only this page). */
  total: number;
  offset: number;
  rows: ViolationRecord[];
}

export const MAX_VIOLATION_PAGE = 5000;
/** The host name shown for violations the collector raises about itself. */
const COLLECTOR_HOSTNAME = 'mamori-collector';

const SEVERITY_RANK_SQL = "CASE v.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END";

const SORT_SQL: Record<ViolationSort, { expr: string; natural: 'asc' | 'desc' }> = {
  severity: { expr: SEVERITY_RANK_SQL, natural: 'asc' },
  openedAt: { expr: 'v.opened_at', natural: 'desc' },
  updatedAt: { expr: 'v.updated_at', natural: 'desc' },
  hostname: { expr: `LOWER(COALESCE(a.hostname, '${COLLECTOR_HOSTNAME}'))`, natural: 'asc' },
  ruleId: { expr: 'v.rule_id', natural: 'asc' },
};

/** `%` and `_` of the user's text match themselves. */
export const likePattern = (text: string): string => `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

function whereOf(q: ViolationPageQuery): { sql: string; args: SqlValue[] } {
  const where: string[] = [];
  const args: SqlValue[] = [];
  const add = (clause: string, ...values: SqlValue[]): void => {
    where.push(clause);
    args.push(...values);
  };
  if (q.state) add('v.state = ?', q.state);
  if (q.severity?.length) add(`v.severity IN (${q.severity.map(() => '?').join(', ')})`, ...q.severity);
  if (q.checkId) add('v.check_id = ?', q.checkId);
  if (q.ruleId) add('v.rule_id = ?', q.ruleId);
  if (q.agentId) add('v.agent_id = ?', q.agentId);
  if (q.segment) add('a.segment = ?', q.segment);
  if (q.department === null) add('a.department IS NULL');
  else if (q.department !== undefined) add('a.department = ?', q.department);
  if (q.departments) {
    if (q.departments.length === 0) add('1 = 0');
    else add(`a.department IN (${q.departments.map(() => '?').join(', ')})`, ...q.departments);
  }
  const text = q.text?.trim();
  if (text) {
    const p = likePattern(text);
    add(`(LOWER(COALESCE(a.hostname, '${COLLECTOR_HOSTNAME}')) LIKE ? ESCAPE '\\' OR LOWER(v.subject) LIKE ? ESCAPE '\\' OR LOWER(COALESCE(v.user_name, '')) LIKE ? ESCAPE '\\' OR LOWER(v.rule_id) LIKE ? ESCAPE '\\')`, p, p, p, p);
  }
  return { sql: where.length ? `WHERE ${where.join(' AND ')}` : '', args };
}

export async function queryViolationPage(sql: SqlRunner, q: ViolationPageQuery): Promise<ViolationPage> {
  const { sql: where, args } = whereOf(q);
  // Violations the collector raises about itself (FWD-001, agent id "") have no agent row.
  const from = `FROM violations v LEFT JOIN agents a ON a.id = v.agent_id ${where}`;
  const sort = SORT_SQL[q.sort ?? 'severity'];
  const dir = (q.dir ?? sort.natural) === 'asc' ? 'ASC' : 'DESC';
  // Open before closed, then the chosen column, then newest first and the key: a stable order for paging.
  const order = `ORDER BY CASE v.state WHEN 'open' THEN 0 ELSE 1 END, ${sort.expr} ${dir}, v.opened_at DESC, v.agent_id, v.rule_id, v.subject`;
  const limit = Math.max(0, Math.min(q.limit ?? 50, MAX_VIOLATION_PAGE));
  const offset = Math.max(0, q.offset ?? 0);
  const count = await sql.get<{ n: number | string }>(`SELECT COUNT(*) AS n ${from}`, args);
  const rows = limit === 0 ? [] : await sql.all<Row>(`SELECT v.*, COALESCE(a.hostname, '${COLLECTOR_HOSTNAME}') AS hostname ${from} ${order} LIMIT ? OFFSET ?`, [...args, limit, offset]);
  return { total: Number(count?.n ?? 0), offset, rows: rows.map(violationFromRow) };
}

/** Set (or clear) the 課 of many PCs in one statement per chunk; returns how many PCs changed. */
export async function setAgentDepartments(sql: SqlRunner, agentIds: readonly string[], department: string | null): Promise<number> {
  let changed = 0;
  await sql.transaction(async (tx) => {
    for (let i = 0; i < agentIds.length; i += 500) {
      const chunk = agentIds.slice(i, i + 500);
      const marks = chunk.map(() => '?').join(', ');
      // Only the PCs whose 課 differs: the count is of real changes.
      changed += department === null ? await tx.run(`UPDATE agents SET department = NULL WHERE department IS NOT NULL AND id IN (${marks})`, chunk) : await tx.run(`UPDATE agents SET department = ? WHERE (department IS NULL OR department <> ?) AND id IN (${marks})`, [department, department, ...chunk]);
    }
  });
  return changed;
}
