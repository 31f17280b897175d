/** Console API of agent updates: the uploaded packages and the state of every PC of each rollout (src/collector/updates). */
import { AgentUpdates } from '../updates/rollouts.js';
import { inScope } from './authz.js';
import type { RouteDef } from './http.js';
import type { ConsoleServices } from './services.js';

export function updateRoutes(s: ConsoleServices): RouteDef[] {
  const updates = new AgentUpdates(s.ctx.store.sql, s.ctx.dataDir);
  return [
    {
      method: 'GET',
      url: '/api/v1/updates',
      access: 'pcs.read',
      async handler(_req, _reply, principal) {
        const packages = (await updates.listPackages()).map(({ file: _file, signature: _signature, ...p }) => p);
        // A 課-scoped account sees the PCs of its own 課 only.
        const pcs = (await updates.status()).filter((r) => !principal || inScope(principal, r.department));
        return { packages, pcs };
      },
    },
  ];
}
