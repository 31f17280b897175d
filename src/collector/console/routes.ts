/**
 * The console API under /api/v1: one table, each route with the permission it needs. The
 * screens and the `mamori` CLI use exactly these routes.
 */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CheckId, Segment, Severity } from '../../shared/protocol/messages.js';
import { Accounts } from './accounts.js';
import { ROLE_PERMISSIONS, ROLES } from './authz.js';
import type { Principal } from './authz.js';
import { badRequest, forbidden, notFound, parseInput } from './errors.js';
import { auditRoutes } from './audit-routes.js';
import { forwarderRoutes } from './forwarders-routes.js';
import { reportRoutes } from './report-routes.js';
import { violationExportRoutes } from './violation-export-routes.js';
import type { RouteDef } from './http.js';
import { SESSION_COOKIE, sessionCookie } from './http.js';
import { MEDIA_STATUS, ENCRYPTION } from './media.js';
import { PolicySettings } from './policy.js';
import type { ViolationQuery } from './fleet.js';
import { VIOLATION_SORTS } from '../store/violation-query.js';
import type { ConsoleServices } from './services.js';
import { parseCookies } from './http.js';

const parse = parseInput;

const me = (p: Principal | undefined): Principal => {
  if (!p) throw forbidden();
  return p;
};

const params = (req: FastifyRequest): Record<string, string> => req.params as Record<string, string>;
const query = (req: FastifyRequest): Record<string, string | undefined> => req.query as Record<string, string | undefined>;
const list = (v: string | undefined): string[] => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : []);

const ViolationKey = z.object({ agentId: z.string().min(1).max(64), ruleId: z.string().min(1).max(64), subject: z.string().max(256) });
const MediaBody = z.object({
  stickerNo: z.string().max(64),
  fingerprint: z.string().max(600).optional(),
  vendorId: z.string().max(8).optional(),
  productId: z.string().max(8).optional(),
  serial: z.string().max(256).nullable().optional(),
  label: z.string().max(200).optional(),
  owner: z.string().max(100),
  department: z.string().max(64),
  encryption: z.enum(ENCRYPTION).optional(),
  status: z.enum(MEDIA_STATUS).optional(),
  note: z.string().max(2000).optional(),
  /** Register the medium of an "unregistered medium" violation (USB-001): its subject is the fingerprint. */
  fromViolation: ViolationKey.optional(),
});

/**
 * The filters of a violation list from the query string: state, severity (comma list), check,
 * rule, agent, department ("-" = no 課), segment, q (text), sort, dir, offset, limit.
 */
export function violationQueryOf(q: Record<string, string | undefined>): ViolationQuery {
  const state = q.state === 'closed' || q.state === 'all' ? q.state : 'open';
  const sev = list(q.severity).filter((x): x is Severity => Severity.safeParse(x).success);
  const seg = q.segment && Segment.safeParse(q.segment).success ? (q.segment as Segment) : undefined;
  const sort = VIOLATION_SORTS.find((x) => x === q.sort);
  const int = (v: string | undefined): number | undefined => (v && /^\d{1,9}$/.test(v) ? Number(v) : undefined);
  const offset = int(q.offset);
  const limit = int(q.limit);
  return {
    state,
    ...(sev.length ? { severity: sev } : {}),
    ...(q.check ? { checkId: q.check } : {}),
    ...(q.rule ? { ruleId: q.rule } : {}),
    ...(q.agent ? { agentId: q.agent } : {}),
    ...(q.department ? { department: q.department === '-' ? null : q.department } : {}),
    ...(seg ? { segment: seg } : {}),
    ...(q.q ? { text: q.q.slice(0, 200) } : {}),
    ...(sort ? { sort } : {}),
    ...(q.dir === 'asc' || q.dir === 'desc' ? { dir: q.dir } : {}),
    ...(offset !== undefined ? { offset } : {}),
    ...(limit !== undefined ? { limit } : {}),
  };
}

export function consoleRoutes(s: ConsoleServices): RouteDef[] {
  const { accounts, audit, fleet, media, exceptions, policy, ctx } = s;
  return [
    // ------------------------------------------------------------------ session
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
        if (!user) throw notFound({ ja: 'アカウントが削除されています', en: 'account gone' });
        return { user: s.describe(user), csrfToken: req.mamori?.csrfToken ?? null, permissions: [...ROLE_PERMISSIONS[user.role]], departments: fleet.departments(), groups: fleet.groups() };
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
        if (me(p).mustChangePassword) throw forbidden({ ja: '先に一時パスワードを変更してください', en: 'change the one-time password first' });
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

    // ------------------------------------------------------------------ violations
    {
      method: 'GET',
      url: '/api/v1/violations',
      access: 'violations.read',
      async handler(req, _reply, p) {
        return fleet.violationPage(me(p), violationQueryOf(query(req)));
      },
    },
    {
      method: 'GET',
      url: '/api/v1/violations/notes',
      access: 'violations.read',
      async handler(req, _reply, p) {
        const k = parse(ViolationKey, req.query);
        await fleet.findViolation(me(p), k.agentId, k.ruleId, k.subject);
        return { notes: await fleet.notes(k.agentId, k.ruleId, k.subject) };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/violations/ack',
      access: 'violations.annotate',
      audit: 'violation.acknowledged',
      async handler(req, _reply, p) {
        const b = parse(ViolationKey.extend({ comment: z.string().max(4000).default('') }), req.body);
        req.mamori!.auditTarget = `${b.agentId}/${b.ruleId}/${b.subject}`;
        return fleet.addNote(me(p), b, 'ack', b.comment);
      },
    },
    {
      method: 'POST',
      url: '/api/v1/violations/comment',
      access: 'violations.annotate',
      audit: 'violation.commented',
      async handler(req, _reply, p) {
        const b = parse(ViolationKey.extend({ comment: z.string().min(1).max(4000) }), req.body);
        req.mamori!.auditTarget = `${b.agentId}/${b.ruleId}/${b.subject}`;
        return fleet.addNote(me(p), b, 'comment', b.comment);
      },
    },

    // ------------------------------------------------------------------ PCs and scans
    {
      method: 'GET',
      url: '/api/v1/pcs',
      access: 'pcs.read',
      async handler(req, _reply, p) {
        const q = query(req);
        return { pcs: await fleet.pcs(me(p), { ...(q.host ? { host: q.host } : {}), ...(q.group ? { group: q.group } : {}), ...(q.department ? { department: q.department } : {}) }), departments: fleet.departments(), groups: fleet.groups() };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/pcs/:id',
      access: 'pcs.read',
      audit: 'pc.viewed',
      async handler(req, _reply, p) {
        const id = params(req).id!;
        const pc = await fleet.pc(me(p), id);
        const facts = await ctx.store.latestFacts(id);
        const all = await fleet.violations(me(p), { state: 'all', agentId: id, limit: 2000 });
        const software = facts.find((f) => f.checkId === 'software')?.facts;
        return {
          pc,
          facts,
          // The software check reports its inventory as `packages` (agent/checks/software/facts.ts); null: not read yet.
          software: Array.isArray((software as { packages?: unknown } | undefined)?.packages) ? (software as { packages: unknown[] }).packages : null,
          usbHistory: await fleet.usbHistory(id),
          violations: { open: all.filter((v) => v.state === 'open'), closed: all.filter((v) => v.state === 'closed') },
          ruleResults: (await fleet.ruleResults()).filter((r) => r.agentId === id),
        };
      },
    },
    {
      method: 'PUT',
      url: '/api/v1/pcs/:id/assignment',
      access: 'pcs.assign',
      audit: 'pc.assigned',
      async handler(req, _reply, p) {
        const b = parse(z.object({ department: z.string().max(64).nullable(), group: z.string().max(64).nullable() }), req.body);
        const result = await fleet.assign(params(req).id!, b, me(p).username);
        await s.policyChanged();
        return result;
      },
    },
    {
      method: 'POST',
      url: '/api/v1/scans',
      access: 'scan.request',
      audit: 'scan.requested',
      async handler(req, _reply, p) {
        const b = parse(z.object({ agentIds: z.array(z.string().max(64)).max(10_000).optional(), hosts: z.array(z.string().max(255)).max(10_000).optional(), group: z.string().max(64).optional(), checks: z.array(CheckId).max(16).optional() }), req.body);
        const pcs = await fleet.pcs(me(p));
        const targets = pcs.filter((pc) => b.agentIds?.includes(pc.id) || b.hosts?.includes(pc.hostname) || (b.group !== undefined && pc.group === b.group));
        if (targets.length === 0) throw notFound({ ja: '該当する端末がありません (ホスト名・グループと、担当の課を確認してください)', en: 'no PC matches (check the host name or group, and your department scope)' });
        const checks = b.checks?.length ? b.checks : CheckId.options;
        const requests = [];
        for (const pc of targets) {
          const r = await ctx.requestScan(pc.id, checks, me(p).username);
          requests.push({ id: r.id, agentId: pc.id, hostname: pc.hostname, online: pc.online, state: r.state, requestedAt: r.requestedAt, sentAt: r.sentAt, completedAt: r.completedAt, result: r.result });
        }
        req.mamori!.auditDetail = { targets: targets.map((t) => t.hostname) };
        return { requests };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/scans',
      access: 'scan.request',
      async handler(req, _reply, p) {
        const ids = list(query(req).ids).slice(0, 10_000);
        const visible = new Set((await fleet.pcs(me(p))).map((pc) => pc.id));
        const out = [];
        for (const id of ids) {
          const r = await ctx.store.getScanRequest(id);
          if (r && visible.has(r.agentId)) out.push(r);
        }
        return { requests: out };
      },
    },

    // ------------------------------------------------------------------ policy
    {
      method: 'GET',
      url: '/api/v1/policy',
      access: 'policy.read',
      async handler() {
        const cur = await policy.current();
        return {
          revision: cur,
          epoch: await policy.epoch(),
          rules: s.catalogue.rules.map((r) => ({ id: r.id, check: r.check, name: r.name, severity: r.severity, obligation: r.obligation, segments: r.segments ?? null, defaultEnabled: r.defaultEnabled, params: r.params, clauses: fleet.clauseViews(r.clauses, r.id) })),
          segments: Segment.options,
          groups: fleet.groups(),
        };
      },
    },
    {
      method: 'PUT',
      url: '/api/v1/policy',
      access: 'policy.write',
      audit: 'policy.saved',
      async handler(req, _reply, p) {
        const b = parse(z.object({ settings: PolicySettings, basedOn: z.number().int().nonnegative(), comment: z.string().min(1).max(1000) }), req.body);
        const rev = await policy.save(b.settings, me(p).username, b.comment, b.basedOn);
        await s.pushAll();
        req.mamori!.auditTarget = `policy revision ${rev.version}`;
        return { revision: rev, epoch: await policy.epoch() };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/policy/history',
      access: 'policy.read',
      async handler() {
        return { history: await policy.history() };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/policy/status',
      access: 'policy.read',
      async handler(_req, _reply, p) {
        const epoch = await policy.epoch();
        const pcs = await fleet.pcs(me(p));
        return { epoch, pcs: pcs.map((pc) => ({ id: pc.id, hostname: pc.hostname, online: pc.online, policyVersion: pc.policyVersion, current: pc.policyVersion === epoch })) };
      },
    },

    // ------------------------------------------------------------------ 媒体管理台帳
    {
      method: 'GET',
      url: '/api/v1/media',
      access: 'media.read',
      async handler(_req, _reply, p) {
        return { media: await media.list(me(p).departments.length ? { departments: me(p).departments } : {}) };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/media',
      access: 'media.register',
      audit: 'media.registered',
      async handler(req, _reply, p) {
        const b = parse(MediaBody, req.body);
        const input = { ...b };
        delete input.fromViolation;
        if (b.fromViolation) {
          const v = await fleet.findViolation(me(p), b.fromViolation.agentId, b.fromViolation.ruleId, b.fromViolation.subject);
          if (v.checkId !== 'usb-media') throw badRequest({ ja: '媒体管理台帳に登録できるのは USB媒体の違反だけです', en: 'only a USB medium violation can be registered in the ledger' });
          // The facts excerpt is the device itself (an `each` rule) or the check's whole facts with `devices`.
          type Device = { fingerprint?: string; product?: string | null };
          const facts = v.facts as Device & { devices?: Device[] };
          const dev = facts.devices?.find((d) => d.fingerprint === v.subject) ?? (facts.fingerprint === v.subject ? facts : undefined);
          input.fingerprint = v.subject;
          if (dev?.product && !input.label) input.label = dev.product;
        }
        const rec = await media.register(input, me(p).username);
        req.mamori!.auditTarget = `media ${rec.stickerNo} ${rec.fingerprint}`;
        await s.policyChanged();
        return { media: rec };
      },
    },
    {
      method: 'PUT',
      url: '/api/v1/media/:id',
      access: 'media.register',
      audit: 'media.updated',
      async handler(req) {
        const b = parse(MediaBody.omit({ fromViolation: true }).partial(), req.body);
        const rec = await media.update(params(req).id!, b as never);
        await s.policyChanged();
        return { media: rec };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/media/:id/loans',
      access: 'media.read',
      async handler(req) {
        return { loans: await media.loans(params(req).id!) };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/media/:id/loans',
      access: 'media.lend',
      audit: 'media.lent',
      async handler(req, _reply, p) {
        const b = parse(z.object({ borrower: z.string().max(100), department: z.string().max(64), purpose: z.string().max(500), dueAt: z.string().max(40).nullable().optional() }), req.body);
        return { loan: await media.lend(params(req).id!, b, me(p).username) };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/media/:id/return',
      access: 'media.lend',
      audit: 'media.returned',
      async handler(req, _reply, p) {
        return { loan: await media.giveBack(params(req).id!, me(p).username) };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/media.csv',
      access: 'media.read',
      audit: 'media.exported',
      async handler(_req, reply, p) {
        reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="media-ledger.csv"; filename*=UTF-8''${encodeURIComponent('媒体管理台帳.csv')}`);
        return media.exportCsv(me(p).departments.length ? me(p).departments : undefined);
      },
    },
    {
      method: 'POST',
      url: '/api/v1/media/import',
      access: 'media.import',
      bodyLimit: 10 * 1024 * 1024,
      audit: 'media.imported',
      async handler(req, _reply, p) {
        if (typeof req.body !== 'string') throw badRequest({ ja: 'CSV (text/csv) を送ってください', en: 'send the CSV as text/csv' });
        const result = await media.importCsv(req.body, me(p).username);
        req.mamori!.auditDetail = result;
        await s.policyChanged();
        return result;
      },
    },

    // ------------------------------------------------------------------ 例外措置
    {
      method: 'GET',
      url: '/api/v1/exceptions',
      access: 'exceptions.read',
      async handler() {
        return { exceptions: await exceptions.list() };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/exceptions',
      access: 'exceptions.request',
      audit: 'exception.requested',
      async handler(req, _reply, p) {
        const b = parse(z.object({ ruleId: z.string().max(64), subject: z.string().max(256).optional(), agentId: z.string().max(64).nullable().optional(), reason: z.string().max(2000), until: z.string().max(40) }), req.body);
        if (b.agentId) await fleet.pc(me(p), b.agentId);
        const e = await exceptions.request(b, me(p).username);
        req.mamori!.auditTarget = `exception ${e.id}`;
        return { exception: e };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/exceptions/:id/approve',
      access: 'exceptions.decide',
      audit: 'exception.approved',
      async handler(req, _reply, p) {
        const b = parse(z.object({ comment: z.string().max(2000).default('') }), req.body);
        const e = await s.decide(params(req).id!, true, me(p), b.comment, req.ip);
        return { exception: e };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/exceptions/:id/reject',
      access: 'exceptions.decide',
      audit: 'exception.rejected',
      async handler(req, _reply, p) {
        const b = parse(z.object({ comment: z.string().max(2000).default('') }), req.body);
        return { exception: await s.decide(params(req).id!, false, me(p), b.comment, req.ip) };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/exceptions/:id/revoke',
      access: 'exceptions.decide',
      audit: 'exception.revoked',
      async handler(req, _reply, p) {
        const b = parse(z.object({ comment: z.string().max(2000).default('') }), req.body);
        const e = await exceptions.revoke(params(req).id!, me(p).username, b.comment);
        await s.policyChanged();
        return { exception: e };
      },
    },

    // ------------------------------------------------------------------ accounts, forwarders
    {
      method: 'GET',
      url: '/api/v1/users',
      access: 'users.manage',
      async handler() {
        return { users: (await accounts.list()).map((u) => s.describe(u)), roles: ROLES };
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
        req.mamori!.auditTarget = `account ${user.username}`;
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
        if (params(req).id === me(p).userId && (b.disabled || (b.role && b.role !== 'admin'))) throw badRequest({ ja: '自分のアカウントを無効にしたり、管理者から外したりはできません', en: 'you cannot disable or demote your own account' });
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
        if (!user) throw notFound({ ja: 'そのアカウントはありません', en: 'no such account' });
        req.mamori!.auditTarget = `account ${user.username}`;
        return { user: s.describe(await accounts.unlock(user.username)) };
      },
    },
    ...forwarderRoutes(s),
    ...reportRoutes(s),
    ...auditRoutes(s),
    ...violationExportRoutes(s),
  ];
}

