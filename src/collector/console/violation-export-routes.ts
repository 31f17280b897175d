/**
 * The violation list's CSV export (the filters of the screen applied, every matching row, not
 * one page) and 確認 of many violations at once (the rows ticked on the screen).
 */
import { msg } from '../../shared/i18n/index.js';
import { z } from 'zod';
import type { Principal } from './authz.js';
import { inScope } from './authz.js';
import { toCsv } from './csv.js';
import { forbidden, notFound, parseInput } from './errors.js';
import type { ViolationView } from './fleet.js';
import { violationKey } from './fleet.js';
import type { RouteDef } from './http.js';
import { jstNumeric, term, type Lang } from '../../shared/i18n/index.js';
import { violationQueryOf } from './violations-routes.js';
import type { ConsoleServices } from './services.js';
import { newId, systemClock } from './util.js';

const me = (p: Principal | undefined): Principal => {
  if (!p) throw forbidden();
  return p;
};

const PAGE = 5000;

function stateOf(v: ViolationView, lang: Lang): string {
  return term('violationState', v.state === 'closed' ? 'closed' : v.exceptionId ? 'excepted' : v.result === 'unknown' ? 'unknown' : 'open', lang);
}

/** The columns of the violations CSV in each language (Japanese by default; `lang=en` with the console's switch). */
const HEADERS: Record<Lang, string[]> = {
  ja: ['状態', '重要度', 'PC', '課', 'セグメント', '利用者', 'ルール', '内容', '詳細', '理由', '対象', '条項', '発生日時', '解決日時', '解決の理由', '確認者', '確認日時'],
  en: ['State', 'Severity', 'PC', 'Department', 'Segment', 'User', 'Rule', 'Title', 'Message', 'Reason', 'Subject', 'Clauses', 'Opened (JST)', 'Closed (JST)', 'Closing reason', 'Acknowledged by', 'Acknowledged (JST)'],
};

const Keys = z.object({ keys: z.array(z.object({ agentId: z.string().min(1).max(64), ruleId: z.string().min(1).max(64), subject: z.string().max(256) })).min(1).max(1000), comment: z.string().max(4000).default('') });

export function violationExportRoutes(s: ConsoleServices): RouteDef[] {
  const { fleet } = s;
  const sql = s.ctx.store.sql;
  const clock = s.options.clock ?? systemClock;
  return [
    {
      method: 'GET',
      url: '/api/v1/violations.csv',
      access: 'violations.read',
      audit: 'violation.exported',
      async handler(req, reply, p) {
        const query = req.query as Record<string, string | undefined>;
        const lang: Lang = query.lang === 'en' ? 'en' : 'ja';
        const { offset: _o, limit: _l, ...q } = violationQueryOf(query);
        const rows: unknown[][] = [];
        for (let offset = 0; ; offset += PAGE) {
          const page = await fleet.violationPage(me(p), { ...q, offset, limit: PAGE });
          for (const v of page.violations) {
            rows.push([stateOf(v, lang), term('severity', v.severity, lang), v.hostname, v.department ?? '', v.segment ? term('segment', v.segment, lang) : '', v.user ?? '', v.ruleId, v.title[lang], v.message[lang], v.reasonText[lang], v.subject, v.clauses.map((c) => `${c.title} ${c.ref}`).join(' / '), jstNumeric(v.openedAt), v.closedAt ? jstNumeric(v.closedAt) : '', v.closedReasonText?.[lang] ?? '', v.acknowledgedBy ?? '', v.acknowledgedAt ? jstNumeric(v.acknowledgedAt) : '']);
          }
          if (page.violations.length < PAGE) break;
        }
        req.mamori!.auditDetail = { rows: rows.length };
        reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="violations.csv"; filename*=UTF-8''${encodeURIComponent('違反一覧.csv')}`);
        return toCsv(HEADERS[lang], rows);
      },
    },
    {
      method: 'POST',
      url: '/api/v1/violations/ack-bulk',
      access: 'violations.annotate',
      audit: 'violation.acknowledged_bulk',
      async handler(req, _reply, p) {
        const body = parseInput(Keys, req.body);
        const keys = body.keys;
        // One query for every key (not one violation list per key): each must exist and be in the account's 課.
        const found = new Map<string, string | null>();
        for (let i = 0; i < keys.length; i += 200) {
          const chunk = keys.slice(i, i + 200);
          const rows = await sql.all<{ agent_id: string; rule_id: string; subject: string; department: string | null }>(
            `SELECT v.agent_id, v.rule_id, v.subject, a.department FROM violations v LEFT JOIN agents a ON a.id = v.agent_id WHERE ${chunk.map(() => '(v.agent_id = ? AND v.rule_id = ? AND v.subject = ?)').join(' OR ')}`,
            chunk.flatMap((k) => [k.agentId, k.ruleId, k.subject]),
          );
          for (const row of rows) found.set(violationKey(row.agent_id, row.rule_id, row.subject), row.department ?? null);
        }
        for (const k of keys) {
          const key = violationKey(k.agentId, k.ruleId, k.subject);
          if (!found.has(key) || !inScope(me(p), found.get(key)!)) throw notFound(msg('error.violation.notFound', { key: `${k.agentId}/${k.ruleId}/${k.subject}` }));
        }
        const at = clock.now().toISOString();
        await sql.transaction(async (tx) => {
          for (const k of keys) await tx.run("INSERT INTO console_violation_notes (id, agent_id, rule_id, subject, kind, author, at, text) VALUES (?, ?, ?, ?, 'ack', ?, ?, ?)", [newId('note'), k.agentId, k.ruleId, k.subject, me(p).username, at, body.comment.trim()]);
        });
        req.mamori!.auditTarget = `×${keys.length}`;
        req.mamori!.auditDetail = { keys: keys.map((k) => `${k.agentId}/${k.ruleId}/${k.subject}`) };
        return { acknowledged: keys.length, at };
      },
    },
  ];
}
