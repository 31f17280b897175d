/**
 * Console API of the audit log: entries and the verification of its chain.
 */
import type { RouteDef } from './http.js';
import { query } from './route-util.js';
import type { ConsoleServices } from './services.js';

export function auditRoutes(s: ConsoleServices): RouteDef[] {
  const { audit } = s;
  return [
    {
      method: 'GET',
      url: '/api/v1/audit',
      access: 'audit.read',
      audit: 'audit.read',
      async handler(req) {
        const q = query(req);
        return { entries: await audit.list({ limit: Number(q.limit ?? 200) || 200, ...(q.before ? { beforeSeq: Number(q.before) } : {}), ...(q.action ? { action: q.action } : {}), ...(q.actor ? { actor: q.actor } : {}) }) };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/audit/verify',
      access: 'audit.read',
      audit: 'audit.verified',
      async handler() {
        return audit.verify();
      },
    },
  ];
}
