/**
 * Console API of agent updates (src/collector/updates): the uploaded packages and the state of
 * every PC of each rollout, and a new rollout of an uploaded package — to PCs named by host name
 * (the canary group), a 課, a segment or every PC. A 課-scoped account sees and rolls out to the
 * PCs of its own 課 only.
 */
import { z } from 'zod';
import { UpdateError, AgentUpdates } from '../updates/rollouts.js';
import type { Selection } from '../updates/rollouts.js';
import { inScope } from './authz.js';
import type { Principal } from './authz.js';
import { badRequest, conflict, forbidden, parseInput } from './errors.js';
import { msg, type Msg } from '../../shared/i18n/index.js';
import type { RouteDef } from './http.js';
import type { ConsoleServices } from './services.js';

const NewRollout = z.object({
  packageId: z.string().min(1).max(100),
  selection: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('agents'), hostnames: z.array(z.string().trim().min(1).max(255)).min(1).max(1000) }),
    z.object({ kind: z.literal('department'), name: z.string().trim().min(1).max(200) }),
    z.object({ kind: z.literal('segment'), segment: z.enum(['mynumber', 'lgwan', 'internet']) }),
    z.object({ kind: z.literal('all') }),
  ]),
  /** Time the new agent has to come back before the PC goes back (default 10 minutes). */
  deadlineMinutes: z.number().int().min(1).max(24 * 60).optional(),
});

/** What the rollout service refused, for people (its own messages are for the CLI's log). */
const REFUSED: Record<UpdateError['code'], (e: UpdateError) => Msg> = {
  'canary-first': (e) => msg('error.update.canaryFirst', { detail: e.message }),
  'no-pcs': () => msg('error.update.noPcs'),
  'no-package': () => msg('error.update.noPackage'),
  'bad-selection': (e) => msg('error.update.badSelection', { detail: e.message }),
  'bad-statement': (e) => msg('text', { text: e.message }),
  'hash-mismatch': (e) => msg('text', { text: e.message }),
  duplicate: (e) => msg('text', { text: e.message }),
};

export function updateRoutes(s: ConsoleServices): RouteDef[] {
  const updates = new AgentUpdates(s.ctx.store.sql, s.ctx.dataDir);

  /** The rollout's selection for this account: host names become agent ids; a 課-scoped account reaches its own 課 only. */
  const selectionFor = async (p: Principal, sel: z.infer<typeof NewRollout>['selection']): Promise<Selection> => {
    const scoped = p.departments.length > 0;
    switch (sel.kind) {
      case 'agents': {
        const names = [...new Set(sel.hostnames)];
        const rows = await s.ctx.store.sql.all<{ id: string; hostname: string; department: string | null }>(`SELECT id, hostname, department FROM agents WHERE revoked_at IS NULL AND hostname IN (${names.map(() => '?').join(', ')})`, names);
        const ids: string[] = [];
        for (const name of names) {
          const found = rows.filter((r) => r.hostname === name && inScope(p, r.department));
          if (found.length === 0) throw badRequest(msg(scoped ? 'error.update.unknownPcScoped' : 'error.update.unknownPc', { name }));
          if (found.length > 1) throw badRequest(msg('error.update.sameName', { name, n: found.length }));
          ids.push(found[0]!.id);
        }
        return { kind: 'agents', ids };
      }
      case 'department':
        if (!inScope(p, sel.name)) throw forbidden(msg('error.update.notYourDepartment', { department: sel.name }));
        return sel;
      default:
        if (scoped) throw forbidden(msg('error.update.scopedSelection'));
        return sel;
    }
  };

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
    {
      method: 'POST',
      url: '/api/v1/updates/rollouts',
      access: 'updates.rollout',
      audit: 'update.rollout_created',
      async handler(req, _reply, p) {
        if (!p) throw forbidden();
        const b = parseInput(NewRollout, req.body);
        const selection = await selectionFor(p, b.selection);
        try {
          return await updates.createRollout({ packageId: b.packageId, selection, createdBy: p.username, ...(b.deadlineMinutes ? { deadlineSeconds: b.deadlineMinutes * 60 } : {}) });
        } catch (err) {
          if (err instanceof UpdateError) throw (err.code === 'canary-first' || err.code === 'no-pcs' ? conflict : badRequest)(REFUSED[err.code](err));
          throw err;
        }
      },
    },
  ];
}
