/**
 * Console API of 例外措置: request, approve or reject (by another person), revoke.
 */
import { z } from 'zod';
import type { RouteDef } from './http.js';
import { me, params, parse, query } from './route-util.js';
import type { ConsoleServices } from './services.js';

export function exceptionRoutes(s: ConsoleServices): RouteDef[] {
  const { fleet, exceptions } = s;
  return [
    {
      method: 'GET',
      url: '/api/v1/exceptions',
      access: 'exceptions.read',
      async handler(req) {
        const q = query(req);
        const int = (v: string | undefined): number | undefined => (v && /^\d{1,9}$/.test(v) ? Number(v) : undefined);
        // The PC by its name, as everywhere else in the console (not its agent id).
        const page = await exceptions.page({ ...(q.state ? { state: q.state } : {}), ...(q.q ? { text: q.q } : {}), ...(int(q.offset) !== undefined ? { offset: int(q.offset)! } : {}), limit: int(q.limit) ?? 2000 });
        return { total: page.total, offset: page.offset, exceptions: page.rows };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/exceptions',
      access: 'exceptions.request',
      audit: 'exception.requested',
      async handler(req, _reply, p) {
        const b = parse(z.object({ ruleId: z.string().max(64), subject: z.string().max(256).optional(), agentId: z.string().max(64).nullable().optional(), reason: z.string().max(2000), until: z.string().max(40) }), req.body);
        if (b.agentId) await fleet.pc(me(p), b.agentId);
        const e = await exceptions.request(b, me(p).username);
        req.mamori!.auditTarget = e.id;
        return { exception: e };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/exceptions/:id/approve',
      access: 'exceptions.decide',
      audit: 'exception.approved',
      async handler(req, _reply, p) {
        const b = parse(z.object({ comment: z.string().max(2000).default('') }), req.body);
        const e = await s.decide(params(req).id!, true, me(p), b.comment, req.ip);
        return { exception: e };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/exceptions/:id/reject',
      access: 'exceptions.decide',
      audit: 'exception.rejected',
      async handler(req, _reply, p) {
        const b = parse(z.object({ comment: z.string().max(2000).default('') }), req.body);
        return { exception: await s.decide(params(req).id!, false, me(p), b.comment, req.ip) };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/exceptions/:id/revoke',
      access: 'exceptions.decide',
      audit: 'exception.revoked',
      async handler(req, _reply, p) {
        const b = parse(z.object({ comment: z.string().max(2000).default('') }), req.body);
        const e = await exceptions.revoke(params(req).id!, me(p).username, b.comment);
        await s.policyChanged();
        return { exception: e };
      },
    },
  ];
}
