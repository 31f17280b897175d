/** What every console route does with a request: validate its body, know who asks, read its path and query. */
import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Principal } from './authz.js';
import { forbidden, parseInput } from './errors.js';

/** Check a body or query against its schema: a 400 naming the first wrong field, in Japanese and English. */
export function parse<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  return parseInput(schema, value);
}

export const me = (p: Principal | undefined): Principal => {
  if (!p) throw forbidden();
  return p;
};

export const params = (req: FastifyRequest): Record<string, string> => req.params as Record<string, string>;
export const query = (req: FastifyRequest): Record<string, string | undefined> => req.query as Record<string, string | undefined>;
export const list = (v: string | undefined): string[] => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : []);
