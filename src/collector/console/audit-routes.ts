/**
 * Routes of 操作記録 (the console audit log): the filtered, paged list, its CSV export with the
 * same filters, and the chain verification. No route changes or deletes a row.
 */
import type { FastifyRequest } from 'fastify';
import type { RouteDef } from './http.js';
import { allAudit, queryAudit } from './audit-query.js';
import type { AuditQuery } from './audit-query.js';
import { toCsv } from './csv.js';
import { jstNumeric, term, type Lang } from '../../shared/i18n/index.js';
import type { ConsoleServices } from './services.js';

const int = (v: string | undefined): number | undefined => (v && /^\d{1,9}$/.test(v) ? Number(v) : undefined);

/** actor, action (prefix), q (target text), from, to (JST days), offset, limit. */
export function auditQueryOf(req: FastifyRequest): AuditQuery {
  const q = req.query as Record<string, string | undefined>;
  const offset = int(q.offset);
  const limit = int(q.limit);
  const before = int(q.before);
  return {
    ...(q.actor ? { actor: q.actor.slice(0, 64) } : {}),
    ...(q.action ? { action: q.action.slice(0, 64) } : {}),
    ...(q.q ? { text: q.q.slice(0, 200) } : {}),
    ...(q.from ? { from: q.from } : {}),
    ...(q.to ? { to: q.to } : {}),
    ...(before !== undefined ? { beforeSeq: before } : {}),
    ...(offset !== undefined ? { offset } : {}),
    ...(limit !== undefined ? { limit } : {}),
  };
}

/** The columns of the audit log CSV in each language (Japanese by default; `lang=en` with the console's switch). */
const HEADERS: Record<Lang, string[]> = {
  ja: ['番号', '日時', '操作者', '役割', '操作', '対象', '接続元', '詳細', 'ハッシュ'],
  en: ['No.', 'Time (JST)', 'Account', 'Role', 'Action', 'Target', 'From', 'Detail', 'Hash'],
};

export function auditRoutes(s: ConsoleServices): RouteDef[] {
  const sql = s.ctx.store.sql;
  return [
    {
      method: 'GET',
      url: '/api/v1/audit',
      access: 'audit.read',
      audit: 'audit.read',
      async handler(req) {
        return queryAudit(sql, auditQueryOf(req));
      },
    },
    {
      method: 'GET',
      url: '/api/v1/audit.csv',
      access: 'audit.read',
      audit: 'audit.exported',
      async handler(req, reply) {
        const lang: Lang = (req.query as { lang?: string }).lang === 'en' ? 'en' : 'ja';
        const { offset: _o, limit: _l, ...q } = auditQueryOf(req);
        const rows: unknown[][] = [];
        for await (const e of allAudit(sql, q)) rows.push([e.seq, jstNumeric(e.at, { seconds: true }), e.actor, term('role', e.role, lang), `${term('audit', e.action, lang)} (${e.action})`, e.target, e.ip, JSON.stringify(e.detail), e.hash]);
        reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="audit-log.csv"; filename*=UTF-8''${encodeURIComponent('操作記録.csv')}`);
        return toCsv(HEADERS[lang], rows);
      },
    },
    {
      method: 'GET',
      url: '/api/v1/audit/verify',
      access: 'audit.read',
      audit: 'audit.verified',
      async handler() {
        return s.audit.verify();
      },
    },
  ];
}
