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
import { TRIGRAM_MIN_CHARS, trigramPhrase } from './sqlite/text-search.js';

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

/** The expression of the index violations_page_severity (migration 202612063101): ORDER BY must use the same text to read that index. */
const SEVERITY_RANK_SQL = "CASE v.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END";
const SEVERITY_RANK: Record<Severity, number> = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };
const HOSTNAME_SQL = `LOWER(COALESCE(a.hostname, '${COLLECTOR_HOSTNAME}'))`;

const SORT_SQL: Record<ViolationSort, { expr: string; natural: 'asc' | 'desc'; needsAgent?: true }> = {
  severity: { expr: SEVERITY_RANK_SQL, natural: 'asc' },
  openedAt: { expr: 'v.opened_at', natural: 'desc' },
  updatedAt: { expr: 'v.updated_at', natural: 'desc' },
  hostname: { expr: HOSTNAME_SQL, natural: 'asc', needsAgent: true },
  ruleId: { expr: 'v.rule_id', natural: 'asc' },
};

/** `%` and `_` of the user's text match themselves. */
export const likePattern = (text: string): string => `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** Violations the collector raises about itself (FWD-001, agent id "") have no agent row. */
const NO_AGENT_ROW = 'v.agent_id NOT IN (SELECT id FROM agents)';

/**
 * The filters as conditions on the violations table alone: a condition on the PC is a set of
 * agent ids (answered by the agents' indexes once), so counting never joins 100,000 rows to
 * their PCs. Each reads as the same condition on `violations LEFT JOIN agents` would.
 */
function whereOf(q: ViolationPageQuery, dialect: SqlRunner['dialect']): { sql: string; args: SqlValue[]; byRowid: boolean } {
  const where: string[] = [];
  let byRowid = false;
  const args: SqlValue[] = [];
  const add = (clause: string, ...values: SqlValue[]): void => {
    where.push(clause);
    args.push(...values);
  };
  if (q.state) add('v.state = ?', q.state);
  // By rank, as the index holds it (every stored severity is one of the five: the protocol refuses others).
  if (q.severity?.length) add(`${SEVERITY_RANK_SQL} IN (${q.severity.map(() => '?').join(', ')})`, ...q.severity.map((x) => SEVERITY_RANK[x]));
  if (q.checkId) add('v.check_id = ?', q.checkId);
  if (q.ruleId) add('v.rule_id = ?', q.ruleId);
  if (q.agentId) add('v.agent_id = ?', q.agentId);
  if (q.segment) add('v.agent_id IN (SELECT id FROM agents WHERE segment = ?)', q.segment);
  // No 課: a PC without one, or the collector itself (no PC at all).
  if (q.department === null) add(`(v.agent_id IN (SELECT id FROM agents WHERE department IS NULL) OR ${NO_AGENT_ROW})`);
  else if (q.department !== undefined) add('v.agent_id IN (SELECT id FROM agents WHERE department = ?)', q.department);
  if (q.departments) {
    if (q.departments.length === 0) add('1 = 0');
    else add(`v.agent_id IN (SELECT id FROM agents WHERE department IN (${q.departments.map(() => '?').join(', ')}))`, ...q.departments);
  }
  const text = q.text?.trim();
  if (text) {
    const p = likePattern(text);
    const collector = COLLECTOR_HOSTNAME.includes(text.toLowerCase()) ? ` OR ${NO_AGENT_ROW}` : '';
    // PostgreSQL: the PCs as an array (ANY) rather than a subquery (IN), so that each condition of
    // the OR is an index scan (violations_agent_state, and the trigram index of text-search.ts) and
    // only the matching rows are read.
    const byHost = dialect === 'postgres' ? "v.agent_id = ANY(ARRAY(SELECT id FROM agents WHERE LOWER(hostname) LIKE ? ESCAPE '\\'))" : "v.agent_id IN (SELECT id FROM agents WHERE LOWER(hostname) LIKE ? ESCAPE '\\')";
    const byColumns = "LOWER(v.subject) LIKE ? ESCAPE '\\' OR LOWER(COALESCE(v.user_name, '')) LIKE ? ESCAPE '\\' OR LOWER(v.rule_id) LIKE ? ESCAPE '\\'";
    const lower = text.toLowerCase();
    if (dialect === 'sqlite' && [...lower].length >= TRIGRAM_MIN_CHARS) {
      // The rows of the matching PCs and those the trigram index (sqlite/text-search.ts) gives,
      // matched again by the same condition as the scan; read by rowid (NOT INDEXED below), not
      // by walking every open violation in an index as SQLite would choose.
      const collectorRows = collector ? ' UNION ALL SELECT rowid FROM violations WHERE agent_id NOT IN (SELECT id FROM agents)' : '';
      add(
        `v.rowid IN (SELECT rowid FROM violations WHERE agent_id IN (SELECT id FROM agents WHERE LOWER(hostname) LIKE ? ESCAPE '\\') UNION ALL SELECT rowid FROM violations_text WHERE violations_text MATCH ?${collectorRows})`,
        p,
        trigramPhrase(lower),
      );
      byRowid = true;
    }
    add(`(${byHost}${collector} OR ${byColumns})`, p, p, p, p);
  }
  return { sql: where.length ? `WHERE ${where.join(' AND ')}` : '', args, byRowid };
}

/**
 * The count reads only the violations' indexes; the page is chosen on the key columns first
 * (sorted by an index where one fits: violations_page_severity for the default order) and only
 * its rows are read in full — sorting 100,000 whole rows (their JSON columns) to show 50 cost
 * seconds.
 */
export async function queryViolationPage(sql: SqlRunner, q: ViolationPageQuery): Promise<ViolationPage> {
  const { sql: where, args, byRowid } = whereOf(q, sql.dialect);
  const from = `violations v${byRowid ? ' NOT INDEXED' : ''}`;
  const sort = SORT_SQL[q.sort ?? 'severity'];
  const dir = (q.dir ?? sort.natural) === 'asc' ? 'ASC' : 'DESC';
  // Open before closed (when both are asked for), then the chosen column, then newest first and the key: a stable order for paging.
  const order = [...(q.state ? [] : ["CASE v.state WHEN 'open' THEN 0 ELSE 1 END"]), `${sort.expr} ${dir}`, ...(q.sort === 'openedAt' ? [] : ['v.opened_at DESC']), 'v.agent_id', 'v.rule_id', 'v.subject'].join(', ');
  const limit = Math.max(0, Math.min(q.limit ?? 50, MAX_VIOLATION_PAGE));
  const offset = Math.max(0, q.offset ?? 0);
  const agentJoin = 'LEFT JOIN agents a ON a.id = v.agent_id';
  const keys = `SELECT v.agent_id, v.rule_id, v.subject FROM ${from} ${sort.needsAgent ? agentJoin : ''} ${where} ORDER BY ${order} LIMIT ? OFFSET ?`;
  // On PostgreSQL the count and the page run side by side on two connections of the pool.
  const [count, rows] = await Promise.all([
    sql.get<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${from} ${where}`, args),
    limit === 0 ? []
    : sql.all<Row>(
        `SELECT v.*, COALESCE(a.hostname, '${COLLECTOR_HOSTNAME}') AS hostname FROM (${keys}) k JOIN violations v ON v.agent_id = k.agent_id AND v.rule_id = k.rule_id AND v.subject = k.subject ${agentJoin} ORDER BY ${order}`,
        [...args, limit, offset],
      ),
  ]);
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
