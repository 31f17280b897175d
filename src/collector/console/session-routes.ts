/**
 * Console API of the session (sign-in, sign-out, password) and of personal API tokens.
 */
import { msg } from '../../shared/i18n/index.js';
import { z } from 'zod';
import { ROLE_PERMISSIONS } from './authz.js';
import { forbidden, notFound } from './errors.js';
import type { RouteDef } from './http.js';
import { parseCookies, SESSION_COOKIE, sessionCookie } from './http.js';
import { me, params, parse } from './route-util.js';
import type { ConsoleServices } from './services.js';

export function sessionRoutes(s: ConsoleServices): RouteDef[] {
  const { accounts, audit, fleet } = s;
  return [
    {
      method: 'POST',
      url: '/api/v1/session',
      access: 'public',
      async handler(req, reply) {
        const b = parse(z.object({ username: z.string().max(64), password: z.string().max(256) }), req.body);
        try {
          const session = await accounts.login(b.username, b.password, req.ip);
          await audit.append({ actor: session.user.username, role: session.user.role, ip: req.ip }, 'session.login', session.user.username);
          reply.header('set-cookie', sessionCookie(session.sessionId, Math.floor(accounts.options.absoluteMs / 1000), req.protocol === 'https'));
          return { user: s.describe(session.user), csrfToken: session.csrfToken, expiresAt: session.expiresAt };
        } catch (err) {
          await audit.append({ actor: b.username, role: '-', ip: req.ip }, 'session.login_failed', b.username, { why: (err as { why?: string }).why ?? (err as Error).message });
          throw err;
        }
      },
    },
    {
      method: 'GET',
      url: '/api/v1/session',
      access: 'authenticated',
      async handler(req, _reply, p) {
        const user = await accounts.get(me(p).userId);
        if (!user) throw notFound(msg('error.account.gone'));
        return { user: s.describe(user), csrfToken: req.mamori?.csrfToken ?? null, permissions: [...ROLE_PERMISSIONS[user.role]], departments: fleet.departments(), groups: fleet.groups(), areas: [...new Set(s.catalogue.rules.map((r) => r.check))] };
      },
    },
    {
      method: 'DELETE',
      url: '/api/v1/session',
      access: 'authenticated',
      async handler(req, reply, p) {
        const sid = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
        if (sid) await accounts.endSession(sid);
        s.stream?.disconnectUser(me(p).userId);
        reply.header('set-cookie', `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`);
        return { ok: true };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/session/password',
      access: 'authenticated',
      audit: 'account.password_changed',
      async handler(req, _reply, p) {
        const b = parse(z.object({ current: z.string().max(256), next: z.string().max(256) }), req.body);
        await accounts.changePassword(me(p).userId, b.current, b.next, parseCookies(req.headers.cookie).get(SESSION_COOKIE));
        s.initialAdminChanged(me(p).username);
        return { ok: true };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/tokens',
      access: 'authenticated',
      audit: 'token.created',
      async handler(req, _reply, p) {
        const b = parse(z.object({ name: z.string().min(1).max(64), days: z.number().int().min(1).max(366).default(90) }), req.body);
        if (me(p).mustChangePassword) throw forbidden(msg('error.password.changeFirst'));
        return accounts.createApiToken(me(p).userId, b.name, b.days * 86_400_000);
      },
    },
    {
      method: 'DELETE',
      url: '/api/v1/tokens/:id',
      access: 'authenticated',
      audit: 'token.revoked',
      async handler(req, _reply, p) {
        await accounts.revokeApiToken(params(req).id!, me(p).userId);
        return { ok: true };
      },
    },
  ];
}
