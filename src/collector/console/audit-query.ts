/**
 * 操作記録 (the console audit log) as the screen and its CSV export ask for it: filtered by
 * actor, action, target text and period (JST days), newest first, one page at a time with
 * the exact number of rows that match.
 */
import { msg } from '../../shared/i18n/index.js';
import type { SqlRunner, SqlValue } from '../store/sql.js';
import type { AuditEntry } from './audit.js';
import { entryOf } from './audit.js';
import { badRequest } from './errors.js';
import { likePattern } from '../store/violation-query.js';

export interface AuditQuery {
  actor?: string;
  /** An action or the start of one: "media." matches every ledger action. */
  action?: string;
  /** Substring of the target, case-insensitive. */
  text?: string;
  /** JST days YYYY-MM-DD, both included. */
  from?: string;
  to?: string;
  /** Rows older than this one only (keyset paging of the export, unaffected by rows added meanwhile). */
  beforeSeq?: number;
  offset?: number;
  limit?: number;
}

export const MAX_AUDIT_PAGE = 1000;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const JST_MS = 9 * 3_600_000;

/** The UTC instant at which a JST day starts, as the ISO text the `at` column holds. */
function jstDayStart(day: string, field: string): string {
  if (!DAY.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00Z`))) throw badRequest(msg('error.day', { field, value: day }));
  return new Date(Date.parse(`${day}T00:00:00Z`) - JST_MS).toISOString();
}

function whereOf(q: AuditQuery): { sql: string; args: SqlValue[] } {
  const where: string[] = [];
  const args: SqlValue[] = [];
  if (q.beforeSeq !== undefined) (where.push('seq < ?'), args.push(q.beforeSeq));
  if (q.actor) (where.push('actor = ?'), args.push(q.actor));
  if (q.action) (where.push("action LIKE ? ESCAPE '\\'"), args.push(`${q.action.replace(/[\\%_]/g, (c) => `\\${c}`)}%`));
  if (q.text?.trim()) (where.push("LOWER(target) LIKE ? ESCAPE '\\'"), args.push(likePattern(q.text.trim())));
  if (q.from) (where.push('at >= ?'), args.push(jstDayStart(q.from, '開始日')));
  if (q.to) (where.push('at < ?'), args.push(new Date(Date.parse(jstDayStart(q.to, '終了日')) + 86_400_000).toISOString()));
  return { sql: where.length ? `WHERE ${where.join(' AND ')}` : '', args };
}

export async function queryAudit(sql: SqlRunner, q: AuditQuery): Promise<{ total: number; offset: number; entries: AuditEntry[] }> {
  const { sql: where, args } = whereOf(q);
  const limit = Math.max(1, Math.min(q.limit ?? 100, MAX_AUDIT_PAGE));
  const offset = Math.max(0, q.offset ?? 0);
  const count = await sql.get<{ n: number | string }>(`SELECT COUNT(*) AS n FROM console_audit ${where}`, args);
  const rows = await sql.all<Record<string, unknown>>(`SELECT * FROM console_audit ${where} ORDER BY seq DESC LIMIT ? OFFSET ?`, [...args, limit, offset]);
  return { total: Number(count?.n ?? 0), offset, entries: rows.map(entryOf) };
}

/** Every matching row, newest first, in pages (for the CSV export). */
export async function* allAudit(sql: SqlRunner, q: AuditQuery): AsyncGenerator<AuditEntry> {
  let beforeSeq: number | undefined;
  for (;;) {
    const page = await queryAudit(sql, { ...q, ...(beforeSeq !== undefined ? { beforeSeq } : {}), offset: 0, limit: MAX_AUDIT_PAGE });
    yield* page.entries;
    if (page.entries.length < MAX_AUDIT_PAGE) return;
    beforeSeq = page.entries[page.entries.length - 1]!.seq;
  }
}
