/**
 * Console API of 自己点検 and 概要.
 */
import type { RouteDef } from './http.js';
import { Reports } from './reports.js';
import { me, query } from './route-util.js';
import type { ConsoleServices } from './services.js';

export function reportRoutes(s: ConsoleServices): RouteDef[] {
  const { fleet, reports } = s;
  return [
    {
      method: 'GET',
      url: '/api/v1/reports/self-inspection',
      access: 'reports.read',
      audit: 'report.viewed',
      async handler(req, _reply, p) {
        const dep = query(req).department || null;
        return reports.selfInspection(me(p), s.scopedDepartment(me(p), dep));
      },
    },
    {
      method: 'GET',
      url: '/api/v1/reports/self-inspection.csv',
      access: 'reports.read',
      audit: 'report.exported',
      async handler(req, reply, p) {
        const q = query(req);
        const dep = s.scopedDepartment(me(p), q.department || null);
        const report = await reports.selfInspection(me(p), dep);
        const lang = q.lang === 'en' ? 'en' : 'ja';
        const day = report.generatedAt.slice(0, 10);
        reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="self-inspection-${day}.csv"; filename*=UTF-8''${encodeURIComponent(`自己点検_${dep ?? '全庁'}_${day}.csv`)}`);
        return Reports.csv(report, lang);
      },
    },
    {
      method: 'GET',
      url: '/api/v1/reports/overview',
      access: 'violations.read',
      async handler(_req, _reply, p) {
        const open = await fleet.violations(me(p), { state: 'open', limit: 5000 });
        const pcs = await fleet.pcs(me(p));
        const bySeverity: Record<string, number> = {};
        const byCheck: Record<string, number> = {};
        for (const v of open) {
          if (v.exceptionId) continue;
          bySeverity[v.severity] = (bySeverity[v.severity] ?? 0) + 1;
          byCheck[v.checkId] = (byCheck[v.checkId] ?? 0) + 1;
        }
        return { pcs: pcs.length, online: pcs.filter((x) => x.online).length, openViolations: open.filter((v) => !v.exceptionId).length, excepted: open.filter((v) => v.exceptionId).length, bySeverity, byCheck };
      },
    },
  ];
}
