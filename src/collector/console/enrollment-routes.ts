/** Console API of the PCs that tried to enroll and were refused (src/collector/enrollment/refusals.ts). */
import { EnrollmentRefusals } from '../enrollment/refusals.js';
import type { RouteDef } from './http.js';
import type { ConsoleServices } from './services.js';

export function enrollmentRoutes(s: ConsoleServices): RouteDef[] {
  const refusals = new EnrollmentRefusals(s.ctx.store.sql);
  return [
    {
      method: 'GET',
      url: '/api/v1/enrollment/refusals',
      access: 'pcs.read',
      async handler() {
        return { refusals: await refusals.list() };
      },
    },
  ];
}
