/**
 * Console API of the forwarders: list them with their backlog and last error, add one
 * (a webhook's secret is in that answer only), rotate a webhook secret, remove one.
 */
import { z } from 'zod';
import { Severity } from '../../shared/protocol/messages.js';
import { forbidden, parseInput } from './errors.js';
import type { RouteDef } from './http.js';
import { pageOf, query } from './route-util.js';
import type { ConsoleServices } from './services.js';

const body = parseInput;

const NewForwarder = z.object({
  kind: z.string().max(16),
  target: z.string().max(500),
  minSeverity: Severity.optional(),
  /** Send the violations already in the store too (default: only those received from now on). */
  includeHistory: z.boolean().optional(),
  secret: z.string().max(256).optional(),
  caPem: z.string().max(20_000).optional(),
});

export function forwarderRoutes(s: ConsoleServices): RouteDef[] {
  const { forwarders } = s;
  const idOf = (req: { params: unknown }) => (req.params as Record<string, string>).id!;
  return [
    {
      method: 'GET',
      url: '/api/v1/forwarders',
      access: 'forwarders.manage',
      async handler(req) {
        const page = pageOf(await forwarders.listWithStatus(), query(req), 1000);
        return { total: page.total, offset: page.offset, forwarders: page.rows };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/forwarders',
      access: 'forwarders.manage',
      audit: 'forwarder.added',
      async handler(req, _reply, p) {
        if (!p) throw forbidden();
        return forwarders.add(body(NewForwarder, req.body), p.username);
      },
    },
    {
      method: 'POST',
      url: '/api/v1/forwarders/:id/secret',
      access: 'forwarders.manage',
      audit: 'forwarder.secret_rotated',
      async handler(req) {
        const b = body(z.object({ secret: z.string().max(256).optional() }), req.body);
        return { secret: await forwarders.rotateSecret(idOf(req), b.secret) };
      },
    },
    {
      method: 'DELETE',
      url: '/api/v1/forwarders/:id',
      access: 'forwarders.manage',
      audit: 'forwarder.removed',
      async handler(req) {
        await forwarders.remove(idOf(req));
        return { ok: true };
      },
    },
  ];
}
