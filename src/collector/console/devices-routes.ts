/**
 * Console API of 端末一覧 and scans: one page of PCs with its exact total, their CSV, one PC's
 * page (open violations, history, software), its 課 and group, scans.
 */
import { msg } from '../../shared/i18n/index.js';
import { z } from 'zod';
import { CheckId } from '../../shared/protocol/messages.js';
import { badRequest, notFound } from './errors.js';
import { planDepartments } from './devices-import.js';
import type { RouteDef } from './http.js';
import { fileDay, pcsCsv } from './devices-csv.js';
import { PC_SORTS } from './pc-query.js';
import type { PcPageQuery } from './pc-query.js';
import { list, me, params, parse, query } from './route-util.js';
import type { ConsoleServices } from './services.js';

const BulkAssignment = z.object({
  agentIds: z.array(z.string().max(64)).max(20_000).optional(),
  /** 端末一覧's filters (pc-query.ts): every PC of the list. */
  filters: z.record(z.string().max(32), z.string().max(200)).optional(),
  department: z.string().max(64).nullable().optional(),
  group: z.string().max(64).nullable().optional(),
});

/** A scan: PCs by id or host name, a group, or every PC of 端末一覧's filters (the scan screen's "all PCs of the list"). */
const ScanRequest = z.object({
  agentIds: z.array(z.string().max(64)).max(20_000).optional(),
  hosts: z.array(z.string().max(255)).max(20_000).optional(),
  group: z.string().max(64).optional(),
  filters: z.record(z.string().max(32), z.string().max(200)).optional(),
  checks: z.array(CheckId).max(16).optional(),
});
/** A city's whole fleet; more at once is a mistake rather than a plan. */
const MAX_SCAN_TARGETS = 20_000;

const int = (v: string | undefined): number | undefined => (v && /^\d{1,9}$/.test(v) ? Number(v) : undefined);

/** 端末一覧's filters, sort and page from the query string (the filter names are pc-query.ts's PC_FILTERS). */
export function pcQueryOf(q: Record<string, string | undefined>): Omit<PcPageQuery, 'departments'> & { filters: Record<string, string | undefined> } {
  const { sort, dir, offset, limit, ...filters } = q;
  const o = int(offset);
  const l = int(limit);
  return {
    filters,
    ...(sort && sort in PC_SORTS ? { sort } : {}),
    ...(dir === 'asc' || dir === 'desc' ? { dir } : {}),
    ...(o !== undefined ? { offset: o } : {}),
    ...(l !== undefined ? { limit: l } : {}),
  };
}

export function deviceRoutes(s: ConsoleServices): RouteDef[] {
  const { fleet, ctx } = s;
  return [
    {
      method: 'GET',
      url: '/api/v1/pcs',
      access: 'pcs.read',
      async handler(req, _reply, p) {
        const page = await fleet.pcPage(me(p), pcQueryOf(query(req)));
        return { ...page, departments: fleet.departments(), groups: fleet.groups() };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/pcs.csv',
      access: 'pcs.read',
      audit: 'pcs.exported',
      async handler(req, reply, p) {
        const q = pcQueryOf(query(req));
        const pcs = await fleet.pcs(me(p), q.filters, undefined, q.sort, q.dir);
        req.mamori!.auditDetail = { filters: q.filters, rows: pcs.length };
        const day = fileDay(new Date());
        reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="pcs-${day}.csv"; filename*=UTF-8''${encodeURIComponent(`端末一覧_${day}.csv`)}`);
        return pcsCsv(pcs, query(req).lang === 'en' ? 'en' : 'ja');
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
        const all = await fleet.violations(me(p), { state: 'all', agentId: id, sort: 'updatedAt', limit: 2000 });
        const software = facts.find((f) => f.checkId === 'software')?.facts;
        return {
          pc,
          facts,
          // The software check reports its inventory as `packages` (agent/checks/software/facts.ts); null: not read yet.
          software: Array.isArray((software as { packages?: unknown } | undefined)?.packages) ? (software as { packages: unknown[] }).packages : null,
          usbHistory: await fleet.usbHistory(id),
          violations: { open: all.filter((v) => v.state === 'open'), closed: all.filter((v) => v.state === 'closed') },
          ruleResults: await fleet.ruleResults(id),
          history: await fleet.history(id),
          // The version the PC runs and the one the collector sends it (the policy screen counts the same).
          policy: await (async () => {
            const e = (await s.expectedPolicies([pc])).get(id)!;
            return { applied: pc.policyVersion, expected: e.version, revision: e.revision };
          })(),
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
        // A 課 does not change a PC's policy; its group may (pushed only if it did).
        await s.policyChangedFor([params(req).id!]);
        return result;
      },
    },
    {
      method: 'POST',
      url: '/api/v1/pcs/assignment',
      access: 'pcs.assign',
      audit: 'pcs.assigned',
      async handler(req, _reply, p) {
        const b = parse(BulkAssignment, req.body);
        if (!b.agentIds && !b.filters) throw badRequest(msg('error.pcs.noTarget'));
        if (!('department' in b) && !('group' in b)) throw badRequest(msg('error.pcs.noChange'));
        const change = { ...('department' in b ? { department: b.department ?? null } : {}), ...('group' in b ? { group: b.group ?? null } : {}) };
        const result = await fleet.assignMany(me(p), { ...(b.agentIds ? { agentIds: b.agentIds } : {}), ...(b.filters ? { filters: b.filters } : {}) }, change, me(p).username);
        req.mamori!.auditTarget = `×${result.assigned}`;
        req.mamori!.auditDetail = { ...change, assigned: result.assigned, changed: result.changed, ...(b.filters ? { filters: b.filters } : {}) };
        if (result.groupChanged.length) await s.policyChangedFor(result.groupChanged);
        return { assigned: result.assigned, changed: result.changed };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/pcs/assignment.csv',
      access: 'pcs.assign',
      bodyLimit: 10 * 1024 * 1024,
      audit: 'pcs.assigned',
      async handler(req, _reply, p) {
        if (typeof req.body !== 'string') throw badRequest(msg('error.csvBody'));
        const plan = planDepartments(req.body, await fleet.idsByHostname(me(p)));
        let assigned = 0;
        let changed = 0;
        for (const [department, agentIds] of plan.byDepartment) {
          const r = await fleet.assignMany(me(p), { agentIds }, { department }, me(p).username);
          assigned += r.assigned;
          changed += r.changed;
        }
        req.mamori!.auditTarget = `×${assigned}`;
        req.mamori!.auditDetail = { csv: true, assigned, changed, departments: [...plan.byDepartment.keys()] };
        return { assigned, changed };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/scans',
      access: 'scan.request',
      audit: 'scan.requested',
      async handler(req, _reply, p) {
        const b = parse(ScanRequest, req.body);
        const hosts = new Set(b.hosts ?? []);
        const ids = new Set(b.agentIds ?? []);
        let targets;
        if (b.filters) targets = await fleet.pcs(me(p), b.filters);
        else if (ids.size && !hosts.size && b.group === undefined) targets = await fleet.pcs(me(p), {}, [...ids]);
        else {
          const pcs = await fleet.pcs(me(p), b.group !== undefined && !ids.size && !hosts.size ? { group: b.group } : {});
          targets = pcs.filter((pc) => ids.has(pc.id) || hosts.has(pc.hostname) || (b.group !== undefined && pc.group === b.group));
        }
        if (targets.length === 0) throw notFound(msg('error.scan.noPc'));
        if (targets.length > MAX_SCAN_TARGETS) throw badRequest(msg('error.scan.tooMany', { max: MAX_SCAN_TARGETS, n: targets.length }));
        const checks = b.checks?.length ? b.checks : CheckId.options;
        const requests = [];
        for (const pc of targets) {
          const r = await ctx.requestScan(pc.id, checks, me(p).username);
          requests.push({ id: r.id, agentId: pc.id, hostname: pc.hostname, online: pc.online, state: r.state, requestedAt: r.requestedAt, sentAt: r.sentAt, completedAt: r.completedAt, result: r.result });
        }
        req.mamori!.auditTarget = `×${targets.length}`;
        req.mamori!.auditDetail = { targets: targets.length > 100 ? targets.length : targets.map((t) => t.hostname), ...(b.filters ? { filters: b.filters } : {}) };
        return { requests };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/scans',
      access: 'scan.request',
      async handler(req, _reply, p) {
        const ids = list(query(req).ids).slice(0, 10_000);
        const found = [];
        for (const id of ids) {
          const r = await ctx.store.getScanRequest(id);
          if (r) found.push(r);
        }
        const visible = new Set((await fleet.pcs(me(p), {}, [...new Set(found.map((r) => r.agentId))])).map((pc) => pc.id));
        const out = found.filter((r) => visible.has(r.agentId));
        return { requests: out };
      },
    },
  ];
}
