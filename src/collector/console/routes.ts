/**
 * The console API under /api/v1, by resource (each beside its service): every route with the
 * permission it needs. The screens and the `mamori` CLI use exactly these routes.
 */
import { accountRoutes } from './accounts-routes.js';
import { auditRoutes } from './audit-routes.js';
import { deviceRoutes } from './devices-routes.js';
import { enrollmentTokenRoutes } from './enrollment-token-routes.js';
import { exceptionRoutes } from './exceptions-routes.js';
import { forwarderRoutes } from './forwarders-routes.js';
import { enrollmentRoutes } from './enrollment-routes.js';
import { updateRoutes } from './update-routes.js';
import type { RouteDef } from './http.js';
import { mediaRoutes } from './media-routes.js';
import { policyRoutes } from './policy-routes.js';
import { reportRoutes } from './report-routes.js';
import type { ConsoleServices } from './services.js';
import { sessionRoutes } from './session-routes.js';
import { violationExportRoutes } from './violation-export-routes.js';
import { violationRoutes } from './violations-routes.js';

export function consoleRoutes(s: ConsoleServices): RouteDef[] {
  return [...sessionRoutes(s), ...violationRoutes(s), ...deviceRoutes(s), ...enrollmentTokenRoutes(s), ...policyRoutes(s), ...mediaRoutes(s), ...exceptionRoutes(s), ...reportRoutes(s), ...auditRoutes(s), ...accountRoutes(s), ...forwarderRoutes(s), ...enrollmentRoutes(s), ...violationExportRoutes(s), ...updateRoutes(s)];
}
