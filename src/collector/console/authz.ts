/**
 * Who may do what in the console. Every API route declares one permission; the route's
 * onRequest hook checks it (before the body is read) and marks the request as checked. A backstop (see plugin.ts) fails any
 * /api/v1 request with 403 when no check ran — a route that forgets its permission fails
 * closed (the pattern of Fleet's authzcheck middleware).
 *
 * Roles follow seed-requirements §4.3: admin (policy, ledger, approvals, accounts), helpdesk
 * (PCs, violations, scans, media registration at the desk) and auditor (read-only, reports,
 * the console audit trail). Policy thresholds are sensitive configuration (003 第12章10), so
 * the helpdesk does not read them.
 */
import { msg, type Localized } from '../../shared/i18n/index.js';
import { AsyncLocalStorage } from 'node:async_hooks';
import { forbidden } from './errors.js';

export const ROLES = ['admin', 'helpdesk', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  'violations.read',
  'violations.annotate',
  'pcs.read',
  'pcs.assign',
  'scan.request',
  'policy.read',
  'policy.write',
  'media.read',
  'media.register',
  'media.lend',
  'media.import',
  'exceptions.read',
  'exceptions.request',
  'exceptions.decide',
  'reports.read',
  'audit.read',
  'users.manage',
  'forwarders.manage',
  'updates.rollout',
  'stream.watch',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/**
 * What a route needs: a permission, or `public` (no session: login page, static files) or
 * `authenticated` (any logged-in account acting on itself: who am I, change my password).
 */
export type RouteAccess = Permission | 'public' | 'authenticated';

export const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  admin: new Set(PERMISSIONS),
  helpdesk: new Set<Permission>([
    'violations.read',
    'violations.annotate',
    'pcs.read',
    'scan.request',
    'media.read',
    'media.register',
    'media.lend',
    'exceptions.read',
    'exceptions.request',
    'stream.watch',
  ]),
  auditor: new Set<Permission>(['violations.read', 'pcs.read', 'policy.read', 'media.read', 'exceptions.read', 'reports.read', 'audit.read', 'stream.watch']),
};

/** The account a request acts as. */
export interface Principal {
  userId: string;
  username: string;
  displayName: string;
  role: Role;
  /** 課 this account is limited to; empty = the whole organisation. */
  departments: string[];
  /** How it authenticated: a browser session (needs CSRF on writes) or an API token. */
  via: 'session' | 'token';
  mustChangePassword: boolean;
}

export function can(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].has(permission);
}

/** Throws 403 unless the principal's role holds the permission. */
export function requirePermission(principal: Principal, permission: Permission): void {
  if (!can(principal.role, permission)) throw forbidden(msg('error.role.notAllowed', { role: msg(`role.${principal.role}`), permission }));
}

/**
 * Department scope: a scoped account sees PCs and records of its own 課 only. Records with no
 * department are visible to organisation-wide accounts only.
 */
export function inScope(principal: Principal, department: string | null | undefined): boolean {
  if (principal.departments.length === 0) return true;
  return department !== null && department !== undefined && principal.departments.includes(department);
}

/**
 * The account the current request acts as, for checks deep in the services (the 課 scope of a
 * record found by id). The console's route plumbing runs every handler inside actingAs; work
 * outside a request (housekeeping, the local `mamori admin` commands) has no acting account.
 */
const acting = new AsyncLocalStorage<Principal>();

export function actingAs<T>(principal: Principal, fn: () => Promise<T>): Promise<T> {
  return acting.run(principal, fn);
}

/** Throws 403 unless the acting account (if any) may see records of this 課. */
export function requireScope(department: string | null | undefined, what: Localized): void {
  const p = acting.getStore();
  if (p && !inScope(p, department)) throw forbidden(msg('error.outOfScope', { what, department: department ?? msg('error.noDepartment') }));
}

/** The acting account's 課 (undefined: the whole organisation). */
export function scopeDepartments(): string[] | undefined {
  const p = acting.getStore();
  return p && p.departments.length > 0 ? p.departments : undefined;
}
