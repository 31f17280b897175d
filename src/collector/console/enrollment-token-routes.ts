/**
 * Console API of enrollment tokens: list, create (the token text is in that answer only) and
 * revoke. A token may carry a 課: every PC enrolled with it lands in that 課 (tokens.ts). An
 * administrator limited to some 課 sees and makes tokens of those 課 only.
 */
import { msg } from '../../shared/i18n/index.js';
import { z } from 'zod';
import { Segment } from '../../shared/protocol/messages.js';
import type { TokenRecord } from '../store/store.js';
import { createEnrollmentToken } from '../tokens.js';
import { requireScope } from './authz.js';
import { notFound } from './errors.js';
import type { RouteDef } from './http.js';
import { me, params, parse } from './route-util.js';
import type { ConsoleServices } from './services.js';

const NewToken = z.object({
  segment: Segment,
  department: z.string().max(64).nullable().optional(),
  days: z.number().int().min(1).max(366).default(7),
  singleUse: z.boolean().default(false),
  note: z.string().max(200).optional(),
});

/** A token as the console shows it: never its secret's hash. */
const view = (t: TokenRecord) => ({ id: t.id, segment: t.segment, department: t.department ?? null, expiresAt: t.expiresAt, singleUse: t.singleUse, usedCount: t.usedCount, revokedAt: t.revokedAt, createdAt: t.createdAt, note: t.note });

export function enrollmentTokenRoutes(s: ConsoleServices): RouteDef[] {
  const visible = async (departments: readonly string[]) => (await s.ctx.store.listTokens()).filter((t) => !departments.length || (t.department && departments.includes(t.department)));
  return [
    {
      method: 'GET',
      url: '/api/v1/enrollment-tokens',
      access: 'pcs.assign',
      async handler(_req, _reply, p) {
        return { tokens: (await visible(me(p).departments)).reverse().map(view) };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/enrollment-tokens',
      access: 'pcs.assign',
      audit: 'enrollment_token.created',
      async handler(req, _reply, p) {
        const b = parse(NewToken, req.body);
        const department = b.department?.trim() || null;
        requireScope(department, { ja: '登録トークンの課', en: 'the department of an enrollment token' });
        const { token, record } = await createEnrollmentToken(s.ctx.store, { segment: b.segment, department, expiresInMs: b.days * 86_400_000, singleUse: b.singleUse, ...(b.note ? { note: b.note } : {}) });
        req.mamori!.auditTarget = record.id;
        req.mamori!.auditDetail = { segment: record.segment, department, days: b.days, singleUse: b.singleUse };
        return { token, record: view(record) };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/enrollment-tokens/:id/revoke',
      access: 'pcs.assign',
      audit: 'enrollment_token.revoked',
      async handler(req, _reply, p) {
        const id = params(req).id!;
        if (!(await visible(me(p).departments)).some((t) => t.id === id)) throw notFound(msg('error.token.notFound', { id }));
        if (!(await s.ctx.store.revokeToken(id, new Date().toISOString()))) throw notFound(msg('error.token.revoked', { id }));
        req.mamori!.auditTarget = id;
        return { ok: true };
      },
    },
  ];
}
