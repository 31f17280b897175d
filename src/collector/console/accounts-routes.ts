/**
 * Console API of the accounts: list, create (with a one-time password), change, reset, unlock.
 */
import { msg } from '../../shared/i18n/index.js';
import { z } from 'zod';
import { Accounts } from './accounts.js';
import { ROLES } from './authz.js';
import { badRequest, notFound } from './errors.js';
import type { RouteDef } from './http.js';
import { me, pageOf, params, parse, query } from './route-util.js';
import type { ConsoleServices } from './services.js';

export function accountRoutes(s: ConsoleServices): RouteDef[] {
  const { accounts } = s;
  return [
    {
      method: 'GET',
      url: '/api/v1/users',
      access: 'users.manage',
      async handler(req) {
        const q = query(req);
        const text = q.q?.trim().toLowerCase();
        const all = (await accounts.list()).filter((u) => (!q.role || u.role === q.role) && (!text || [u.username, u.displayName, ...u.departments].some((x) => x.toLowerCase().includes(text))));
        const page = pageOf(all, q, 1000);
        return { total: page.total, offset: page.offset, users: page.rows.map((u) => s.describe(u)), roles: ROLES };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/users',
      access: 'users.manage',
      audit: 'account.created',
      async handler(req, _reply, p) {
        const b = parse(z.object({ username: z.string().max(64), displayName: z.string().max(100).optional(), role: z.enum(ROLES), departments: z.array(z.string().max(64)).max(100).default([]) }), req.body);
        const password = Accounts.oneTimePassword();
        const user = await accounts.create({ ...b, password, temporary: true, createdBy: me(p).username });
        req.mamori!.auditTarget = user.username;
        return { user: s.describe(user), oneTimePassword: password };
      },
    },
    {
      method: 'PUT',
      url: '/api/v1/users/:id',
      access: 'users.manage',
      audit: 'account.updated',
      async handler(req, _reply, p) {
        const b = parse(z.object({ role: z.enum(ROLES).optional(), departments: z.array(z.string().max(64)).max(100).optional(), displayName: z.string().max(100).optional(), disabled: z.boolean().optional() }), req.body);
        if (params(req).id === me(p).userId && (b.disabled || (b.role && b.role !== 'admin'))) throw badRequest(msg('error.account.self'));
        const user = await accounts.update(params(req).id!, b);
        if (b.disabled) s.stream?.disconnectUser(user.id);
        return { user: s.describe(user) };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/users/:id/reset-password',
      access: 'users.manage',
      audit: 'account.password_reset',
      async handler(req) {
        const password = await accounts.resetPassword(params(req).id!);
        s.stream?.disconnectUser(params(req).id!);
        return { oneTimePassword: password };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/users/:id/unlock',
      access: 'users.manage',
      audit: 'account.unlocked',
      async handler(req) {
        const user = await accounts.get(params(req).id!);
        if (!user) throw notFound(msg('error.account.notFound'));
        req.mamori!.auditTarget = user.username;
        return { user: s.describe(await accounts.unlock(user.username)) };
      },
    },
  ];
}
