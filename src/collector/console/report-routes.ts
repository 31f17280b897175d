/**
 * Routes of the 概要 and 自己点検 screens: the overview counts and daily trends, the report
 * (JSON and CSV) and the site's report settings and clause map (chosen and imported by an
 * administrator; every change is in the audit log).
 */
import { msg } from '../../shared/i18n/index.js';
import type { FastifyRequest } from 'fastify';
import { forbidden } from './errors.js';
import type { Principal } from './authz.js';
import type { RouteDef } from './http.js';
import { Reports } from './reports.js';
import type { ReportRequest } from './reports.js';
import type { ConsoleServices } from './services.js';
import { ClauseMapError } from './site-standard.js';
import { badRequest } from './errors.js';

const me = (p: Principal | undefined): Principal => {
  if (!p) throw forbidden();
  return p;
};
const query = (req: FastifyRequest): Record<string, string | undefined> => req.query as Record<string, string | undefined>;

/** The report asked for by the query string: department, year (年度), from, to. */
function reportRequest(s: ConsoleServices, p: Principal, q: Record<string, string | undefined>): ReportRequest {
  const year = q.year ? Number(q.year) : undefined;
  if (q.year && !/^\d{4}$/.test(q.year)) throw badRequest(msg('error.report.year', { value: q.year }));
  return {
    department: s.scopedDepartment(p, q.department || null),
    ...(year !== undefined ? { fiscalYear: year } : {}),
    ...(q.from ? { from: q.from } : {}),
    ...(q.to ? { to: q.to } : {}),
  };
}

export function reportRoutes(s: ConsoleServices): RouteDef[] {
  const { reports, standard, overview } = s;
  return [
    {
      method: 'GET',
      url: '/api/v1/reports/overview',
      access: 'violations.read',
      async handler(_req, _reply, p) {
        return { ...(await overview.overview(me(p))), checks: [...new Set(s.catalogue.rules.map((r) => r.check))] };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/reports/trends',
      access: 'violations.read',
      async handler(req, _reply, p) {
        const days = Number(query(req).days ?? 90);
        if (!Number.isInteger(days) || days < 7 || days > 400) throw badRequest(msg('error.report.days'));
        return overview.trends(me(p), days);
      },
    },
    {
      method: 'GET',
      url: '/api/v1/reports/self-inspection',
      access: 'reports.read',
      audit: 'report.viewed',
      async handler(req, _reply, p) {
        return reports.selfInspection(reportRequest(s, me(p), query(req)));
      },
    },
    {
      method: 'GET',
      url: '/api/v1/reports/self-inspection.csv',
      access: 'reports.read',
      audit: 'report.exported',
      async handler(req, reply, p) {
        const q = query(req);
        const report = await reports.selfInspection(reportRequest(s, me(p), q));
        const lang = q.lang === 'en' ? 'en' : 'ja';
        const day = report.period.to;
        reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="self-inspection-${day}.csv"; filename*=UTF-8''${encodeURIComponent(`自己点検_${report.department ?? '全庁'}_${day}.csv`)}`);
        return Reports.csv(report, lang);
      },
    },
    {
      method: 'GET',
      url: '/api/v1/reports/settings',
      access: 'reports.read',
      async handler() {
        return { settings: standard.get(), standard: standard.info(), choices: standard.choices() };
      },
    },
    {
      method: 'PUT',
      url: '/api/v1/reports/settings',
      access: 'policy.write',
      audit: 'report.settings_saved',
      async handler(req) {
        const settings = await standard.save(req.body);
        req.mamori!.auditTarget = settings.standard ?? '-';
        req.mamori!.auditDetail = { ...settings };
        return { settings, standard: standard.info(), choices: standard.choices() };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/reports/clause-map.csv',
      access: 'reports.read',
      async handler(_req, reply) {
        reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="clause-map.csv"; filename*=UTF-8''${encodeURIComponent('条項対応表.csv')}`);
        return standard.clauseMapCsv();
      },
    },
    {
      method: 'POST',
      url: '/api/v1/reports/clause-map',
      access: 'policy.write',
      bodyLimit: 2 * 1024 * 1024,
      audit: 'report.clause_map_imported',
      async handler(req, reply) {
        if (typeof req.body !== 'string') throw badRequest(msg('error.csvBody'));
        try {
          const result = await standard.importClauseMap(req.body);
          req.mamori!.auditDetail = result;
          return result;
        } catch (err) {
          if (!(err instanceof ClauseMapError)) throw err;
          req.mamori!.auditDetail = { refused: err.problems.length };
          return reply.code(400).send({ error: err.code, message: err.summary.ja, messageEn: err.summary.en, errors: err.problems.map((p) => p.ja), errorsEn: err.problems.map((p) => p.en) });
        }
      },
    },
  ];
}
