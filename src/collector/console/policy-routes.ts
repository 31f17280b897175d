/**
 * Console API of the policy: the current revision and its rules, saving a revision, history, which PCs have applied it.
 */
import { z } from 'zod';
import { Segment } from '../../shared/protocol/messages.js';
import type { RouteDef } from './http.js';
import { PolicySettings } from './policy.js';
import { me, parse } from './route-util.js';
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
        req.mamori!.auditTarget = `policy revision ${rev.version}`;
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
      async handler(_req, _reply, p) {
        const epoch = await policy.epoch();
        const pcs = await fleet.pcs(me(p));
        // Each PC's own version: it moves only when that PC's policy changed (policy-delivery.ts).
        const expected = await s.expectedPolicies(pcs);
        return {
          epoch,
          pcs: pcs.map((pc) => {
            const e = expected.get(pc.id)!;
            return { id: pc.id, hostname: pc.hostname, online: pc.online, policyVersion: pc.policyVersion, expectedVersion: e.version, revision: e.revision, current: pc.policyVersion === e.version };
          }),
        };
      },
    },
  ];
}
