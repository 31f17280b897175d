/** What every console route does with a request: validate its body, know who asks, read its path and query. */
import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Principal } from './authz.js';
import { badRequest, forbidden } from './errors.js';

export function parse<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const r = schema.safeParse(value ?? {});
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw badRequest(`${i.path.join('.') || 'body'}: ${i.message}`);
  }
  return r.data;
}

export const me = (p: Principal | undefined): Principal => {
  if (!p) throw forbidden();
  return p;
};

export const params = (req: FastifyRequest): Record<string, string> => req.params as Record<string, string>;
export const query = (req: FastifyRequest): Record<string, string | undefined> => req.query as Record<string, string | undefined>;
export const list = (v: string | undefined): string[] => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : []);
