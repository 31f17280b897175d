/**
 * The console's HTTP plumbing: the route table type, authentication (session cookie or API
 * token), CSRF for browser sessions, the per-route permission check, the fail-closed backstop
 * and the automatic audit of every state-changing request.
 */
import { msg } from '../../shared/i18n/index.js';
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Accounts } from './accounts.js';
import type { AuditLog } from './audit.js';
import { actorOf } from './audit.js';
import type { Permission, Principal, RouteAccess } from './authz.js';
import { PERMISSIONS, requirePermission } from './authz.js';
import { actingAs } from './authz.js';
import { badRequest, ConsoleError, forbidden, unauthenticated } from './errors.js';

export const SESSION_COOKIE = 'mamori_session';
export const CSRF_HEADER = 'x-csrf-token';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the console's authorization step; `checked` is what the backstop looks at. */
    mamori?: { checked: boolean; principal?: Principal; csrfToken?: string; auditDetail?: Record<string, unknown>; auditTarget?: string };
  }
  interface FastifyContextConfig {
    /** What the route needs; routes under /api/v1 without it fail closed. */
    access?: RouteAccess;
  }
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RouteDef {
  method: HttpMethod;
  url: string;
  access: RouteAccess;
  /** Largest request body in bytes (default DEFAULT_BODY_LIMIT; PUBLIC_BODY_LIMIT on public routes). */
  bodyLimit?: number;
  /** Audit action name; every non-GET route is audited, GET routes only when this is set. */
  audit?: string;
  handler(req: FastifyRequest, reply: FastifyReply, principal: Principal | undefined): Promise<unknown>;
}

/** Cookie header → map (RFC 6265 §5.2, no decoding beyond what we set). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return out;
}

/** Find who is calling: an API token (Authorization: Bearer mmc1…) or a session cookie. */
export async function authenticate(accounts: Accounts, headers: { authorization?: string | undefined; cookie?: string | undefined }): Promise<{ principal: Principal; csrfToken?: string } | undefined> {
  const auth = headers.authorization;
  if (auth?.startsWith('Bearer ')) {
    const p = await accounts.apiToken(auth.slice(7).trim());
    return p ? { principal: p } : undefined;
  }
  const sid = parseCookies(headers.cookie).get(SESSION_COOKIE);
  if (!sid) return undefined;
  return accounts.session(sid);
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Bodies of routes that need a login (JSON forms); the CSV import declares its own larger limit. */
export const DEFAULT_BODY_LIMIT = 256 * 1024;
/** Bodies read before any login (the login form itself). */
export const PUBLIC_BODY_LIMIT = 8 * 1024;

/**
 * Does an Origin header name this very server? `null` (sandboxed frames, file: pages,
 * redirects across origins, RFC 6454 §7.3) and anything that is not a URL are foreign.
 */
function sameOrigin(origin: string, host: string | undefined): boolean {
  if (!URL.canParse(origin)) return false;
  return new URL(origin).host === host;
}

/** Paging parameters (limit, offset, before) are whole numbers ≥ 0 on every route; the services cap limit. */
const PAGING = ['limit', 'offset', 'before'] as const;
function rejectBadPaging(query: unknown): void {
  const q = (query ?? {}) as Record<string, unknown>;
  for (const name of PAGING) {
    const v = q[name];
    if (v === undefined) continue;
    if (typeof v !== 'string' || !/^\d{1,9}$/.test(v)) throw badRequest(msg('error.query.wholeNumber', { name }));
  }
}

function tokensEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const SECRET_KEY = /password|token|secret/i;
function redact(v: unknown): unknown {
  if (Array.isArray(v)) return v.slice(0, 50).map(redact);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, SECRET_KEY.test(k) ? '[redacted]' : redact(x)]));
  if (typeof v === 'string' && v.length > 500) return `${v.slice(0, 500)}…`;
  return v;
}

/**
 * Mount the table. Each route gets a preHandler that authenticates, enforces CSRF on
 * state-changing browser requests, checks the declared permission and marks the request as
 * checked; then the handler runs and, for writes, the action is appended to the audit log.
 */
export function mountRoutes(app: FastifyInstance, routes: readonly RouteDef[], accounts: Accounts, audit: AuditLog): void {
  for (const route of routes) {
    if (route.access !== 'public' && route.access !== 'authenticated' && !PERMISSIONS.includes(route.access as Permission)) throw new Error(`route ${route.method} ${route.url}: unknown permission ${route.access}`);
    app.route({
      method: route.method,
      url: route.url,
      config: { access: route.access },
      // Generous for the CSV import only; every other body is small. Checked while reading.
      bodyLimit: route.bodyLimit ?? (route.access === 'public' ? PUBLIC_BODY_LIMIT : DEFAULT_BODY_LIMIT),
      // onRequest runs before fastify reads the body: an unauthenticated or unauthorised request
      // is answered from its headers alone, and its body is never read into memory.
      onRequest: async (req) => {
        req.mamori = { checked: false };
        rejectBadPaging(req.query);
        const who = await authenticate(accounts, req.headers);
        if (who) Object.assign(req.mamori, who);
        if (route.access === 'public') {
          req.mamori.checked = true;
          return;
        }
        if (!who) throw unauthenticated();
        if (who.principal.via === 'session' && !SAFE.has(req.method)) {
          const sent = req.headers[CSRF_HEADER];
          if (typeof sent !== 'string' || !who.csrfToken || !tokensEqual(sent, who.csrfToken)) throw new ConsoleError('CSRF', 403, msg('error.csrf.token'));
          const origin = req.headers.origin;
          if (origin && !sameOrigin(origin, req.headers.host)) throw new ConsoleError('CSRF', 403, msg('error.csrf.origin'));
        }
        if (route.access !== 'authenticated') {
          if (who.principal.mustChangePassword) throw new ConsoleError('PASSWORD_CHANGE_REQUIRED', 403, msg('error.password.changeFirst'));
          try {
            requirePermission(who.principal, route.access as Permission);
          } catch (err) {
            await audit.append(actorOf(who.principal, req.ip), 'authz.denied', `${route.method} ${route.url}`, { permission: route.access });
            throw err;
          }
        }
        req.mamori.checked = true;
      },
      handler: async (req, reply) => {
        const principal = req.mamori?.principal;
        const result = principal ? await actingAs(principal, () => route.handler(req, reply, principal)) : await route.handler(req, reply, principal);
        if (principal && (route.audit || !SAFE.has(req.method))) {
          const action = route.audit ?? `${route.method} ${route.url}`;
          const target = req.mamori?.auditTarget ?? req.url.split('?')[0] ?? route.url;
          await audit.append(actorOf(principal, req.ip), action, target, (redact({ params: req.params, query: req.query, body: typeof req.body === 'string' ? `(${req.body.length} characters)` : req.body, ...(req.mamori?.auditDetail ?? {}) }) as Record<string, unknown>) ?? {});
        }
        return result;
      },
    });
  }
}

/**
 * The backstop: a request to /api/v1 whose route did not run an authorization check is
 * answered 403, whatever the handler produced (Fleet's authzcheck pattern).
 */
export function installBackstop(app: FastifyInstance): void {
  // Routes added without a declared access under /api/v1 refuse before their handler runs.
  app.addHook('onRoute', (opts) => {
    if (!opts.url.startsWith('/api/v1') || (opts.config as { access?: RouteAccess } | undefined)?.access) return;
    const guard = async () => {
      throw forbidden(msg('error.route.noAccess'));
    };
    const existing = opts.preHandler;
    opts.preHandler = existing ? [guard, ...(Array.isArray(existing) ? existing : [existing])] : [guard];
  });
  app.addHook('onSend', async (req, reply, payload) => {
    if (!req.url.startsWith('/api/v1')) return payload;
    // Unknown URLs stay 404; a matched route must have marked the request checked.
    if (!req.routeOptions.url) return payload;
    if (req.mamori?.checked) return payload;
    // The console's own check ran and refused (401, 403, CSRF): keep its answer.
    if (req.mamori && reply.statusCode >= 400) return payload;
    reply.code(403).type('application/json; charset=utf-8');
    return JSON.stringify({ error: 'FORBIDDEN', message: 'no authorization check ran for this route' });
  });
}

export function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}
