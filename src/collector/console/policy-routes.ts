/**
 * Console API of the policy: the current revision and its rules, saving a revision, history, which PCs have applied it.
 */
import { z } from 'zod';
import { Segment } from '../../shared/protocol/messages.js';
import type { RouteDef } from './http.js';
import { PolicySettings } from './policy.js';
import { PC_FROM, whereOf } from './pc-query.js';
import { queryPolicyStatus } from './policy-status.js';
import { me, parse, query } from './route-util.js';

const int = (v: string | undefined): number | undefined => (v && /^\d{1,9}$/.test(v) ? Number(v) : undefined);
import type { ConsoleServices } from './services.js';

export function policyRoutes(s: ConsoleServices): RouteDef[] {
  const { fleet, policy } = s;
  return [
    {
      method: 'GET',
      url: '/api/v1/policy',
      access: 'policy.read',
      async handler() {
        const cur = await policy.current();
        return {
          revision: cur,
          epoch: await policy.epoch(),
          rules: s.catalogue.rules.map((r) => ({ id: r.id, check: r.check, name: r.name, severity: r.severity, obligation: r.obligation, segments: r.segments ?? null, defaultEnabled: r.defaultEnabled, params: r.params, clauses: fleet.clauseViews(r.clauses, r.id) })),
          segments: Segment.options,
          groups: fleet.groups(),
        };
      },
    },
    {
      method: 'PUT',
      url: '/api/v1/policy',
      access: 'policy.write',
      audit: 'policy.saved',
      async handler(req, _reply, p) {
        const b = parse(z.object({ settings: PolicySettings, basedOn: z.number().int().nonnegative(), comment: z.string().min(1).max(1000) }), req.body);
        const rev = await policy.save(b.settings, me(p).username, b.comment, b.basedOn);
        await s.pushChanged();
        req.mamori!.auditTarget = `#${rev.version}`;
        return { revision: rev, epoch: await policy.epoch() };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/policy/history',
      access: 'policy.read',
      async handler() {
        return { history: await policy.history() };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/policy/status',
      access: 'policy.read',
      async handler(req, _reply, p) {
        const { state, offset, limit, ...filters } = query(req);
        const scope = me(p).departments.length ? { departments: me(p).departments } : {};
        // Each PC's own version moves only when that PC's policy changed (policy-delivery.ts):
        // bring the versions the PCs are given up to date, then count and page in the database.
        const all = await s.ctx.store.sql.all<{ id: string; segment: Segment }>(`SELECT a.id, a.segment ${PC_FROM} ${whereOf(scope).sql}`, whereOf(scope).args);
        await s.expectedPolicies(all);
        const page = await queryPolicyStatus(s.ctx.store.sql, { filters, ...scope, ...(state ? { state } : {}), ...(int(offset) !== undefined ? { offset: int(offset)! } : {}), ...(int(limit) !== undefined ? { limit: int(limit)! } : {}) });
        return { epoch: await policy.epoch(), ...page };
      },
    },
  ];
}
