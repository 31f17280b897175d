/**
 * /api/v1 routes of the 資産管理台帳 (src/collector/console/inventory.ts):
 *   GET /api/v1/inventory?model=&osBuild=&memoryMin=&memoryMax=&ip=   the PCs that match, one summary row each
 *   GET /api/v1/inventory.csv?(same filters)                          the register as CSV (Excel, Japanese headers, JST)
 *   GET /api/v1/pcs/:id/inventory                                     one PC: its latest inventory and its changes
 */
import type { FastifyRequest } from 'fastify';
import type { InventoryFacts } from '../../../agent/checks/inventory/facts.js';
import { inventoryLines } from '../../shared/inventory/labels.js';
import { causeOf, msg, MsgSchema, render } from '../../shared/i18n/index.js';
import type { Lang } from '../../shared/i18n/index.js';
import type { Principal } from './authz.js';
import { badRequest, forbidden } from './errors.js';
import type { RouteDef } from './http.js';
import type { InventoryFilter } from './inventory.js';
import type { ConsoleServices } from './services.js';

const me = (p: Principal | undefined): Principal => {
  if (!p) throw forbidden();
  return p;
};

function gigabytes(name: string, v: string | undefined): number | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  if (!/^\d{1,5}(\.\d{1,2})?$/.test(v.trim())) throw badRequest(msg('error.gigabytes', { name, value: v }));
  return Number(v);
}

/** Why each unknown fact of the inventory could not be read, in the language: its message (agents that send them), else its text with the code in words. */
function unknownIn(inventory: Record<string, unknown>, lang: Lang): Record<string, string> {
  const texts = (inventory._unknown ?? {}) as Record<string, string>;
  const msgs = (inventory._unknownMsg ?? {}) as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(texts).map(([fact, text]) => {
      const m = MsgSchema.safeParse(msgs[fact]);
      return [fact, m.success ? render(m.data, lang) : render(msg('text', { text: causeOf(text) }), lang)];
    }),
  );
}

export function inventoryFilterOf(req: FastifyRequest): InventoryFilter {
  const q = req.query as Record<string, string | undefined>;
  const text = (v: string | undefined) => (v && v.trim() ? v.trim().slice(0, 100) : undefined);
  const f: InventoryFilter = {};
  const model = text(q.model);
  const osBuild = text(q.osBuild);
  const ip = text(q.ip);
  const memoryMinGb = gigabytes('memoryMin', q.memoryMin);
  const memoryMaxGb = gigabytes('memoryMax', q.memoryMax);
  if (model) f.model = model;
  if (osBuild) f.osBuild = osBuild;
  if (ip) f.ip = ip;
  if (memoryMinGb !== undefined) f.memoryMinGb = memoryMinGb;
  if (memoryMaxGb !== undefined) f.memoryMaxGb = memoryMaxGb;
  return f;
}

export function inventoryRoutes(s: ConsoleServices): RouteDef[] {
  return [
    {
      method: 'GET',
      url: '/api/v1/inventory',
      access: 'pcs.read',
      async handler(req, _reply, p) {
        return { pcs: await s.inventory.list(me(p), inventoryFilterOf(req)) };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/inventory.csv',
      access: 'pcs.read',
      audit: 'inventory.exported',
      async handler(req, reply, p) {
        const csv = await s.inventory.csv(me(p), inventoryFilterOf(req), (req.query as { lang?: string }).lang === 'en' ? 'en' : 'ja');
        const day = new Date(Date.now() + 9 * 3_600_000).toISOString().slice(0, 10);
        reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="asset-register-${day}.csv"; filename*=UTF-8''${encodeURIComponent(`資産管理台帳_${day}.csv`)}`);
        return csv;
      },
    },
    {
      method: 'GET',
      url: '/api/v1/pcs/:id/inventory',
      access: 'pcs.read',
      async handler(req, _reply, p) {
        const id = (req.params as { id: string }).id;
        // Same access as the PC page: an unknown PC or another 課's PC is not found.
        const pc = await s.fleet.pc(me(p), id);
        // Inventory facts stored just now (a helpdesk scan) are written to the register right after.
        await s.inventory.idle();
        const latest = await s.inventory.ofPc(id);
        const unknown = (latest?.inventory._unknown ?? {}) as Record<string, string>;
        return {
          hostname: pc.hostname,
          collectedAt: latest?.collectedAt ?? null,
          inventory: latest?.inventory ?? null,
          // The register as labelled lines (what the PC page and `mamori scan --inventory` show), in Japanese and in English.
          lines: latest ? inventoryLines(latest.inventory as Partial<InventoryFacts>, unknown, 'ja') : [],
          linesEn: latest ? inventoryLines(latest.inventory as Partial<InventoryFacts>, unknownIn(latest.inventory, 'en'), 'en') : [],
          changes: await s.inventory.changes(id),
        };
      },
    },
  ];
}
