/**
 * Console API of 媒体管理台帳: media, loans, CSV export and import, registration from a violation.
 */
import { msg } from '../../shared/i18n/index.js';
import { z } from 'zod';
import { badRequest } from './errors.js';
import type { RouteDef } from './http.js';
import { ENCRYPTION, MEDIA_STATUS } from './media.js';
import { me, params, parse, query } from './route-util.js';
import { ViolationKey } from './violations-routes.js';
import type { ConsoleServices } from './services.js';

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

export function mediaRoutes(s: ConsoleServices): RouteDef[] {
  const { fleet, media } = s;
  return [
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
          if (v.checkId !== 'usb-media') throw badRequest(msg('error.media.notUsb'));
          // The facts excerpt is the device itself (an `each` rule) or the check's whole facts with `devices`.
          type Device = { fingerprint?: string; product?: string | null };
          const facts = v.facts as Device & { devices?: Device[] };
          const dev = facts.devices?.find((d) => d.fingerprint === v.subject) ?? (facts.fingerprint === v.subject ? facts : undefined);
          input.fingerprint = v.subject;
          if (dev?.product && !input.label) input.label = dev.product;
        }
        const rec = await media.register(input, me(p).username);
        req.mamori!.auditTarget = `${rec.stickerNo} ${rec.fingerprint}`;
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
      async handler(req, reply, p) {
        reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="media-ledger.csv"; filename*=UTF-8''${encodeURIComponent('媒体管理台帳.csv')}`);
        return media.exportCsv(me(p).departments.length ? me(p).departments : undefined, query(req).lang === 'en' ? 'en' : 'ja');
      },
    },
    {
      method: 'POST',
      url: '/api/v1/media/import',
      access: 'media.import',
      bodyLimit: 10 * 1024 * 1024,
      audit: 'media.imported',
      async handler(req, _reply, p) {
        if (typeof req.body !== 'string') throw badRequest(msg('error.csvBody'));
        const result = await media.importCsv(req.body, me(p).username);
        req.mamori!.auditDetail = result;
        await s.policyChanged();
        return result;
      },
    },
  ];
}
