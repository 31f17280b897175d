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

const whole = (v: string | undefined): number | undefined => (v && /^\d{1,9}$/.test(v) ? Number(v) : undefined);

/**
 * One page of a list that is short by nature (accounts, forwarders: tens, never thousands) and
 * read whole from its service: `offset` and `limit` of the query string, the exact total.
 */
export function pageOf<T>(rows: readonly T[], q: Record<string, string | undefined>, defaultLimit = 50): { total: number; offset: number; rows: T[] } {
  const offset = whole(q.offset) ?? 0;
  const limit = Math.max(1, Math.min(whole(q.limit) ?? defaultLimit, 1000));
  return { total: rows.length, offset, rows: rows.slice(offset, offset + limit) };
}
