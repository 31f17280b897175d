/**
 * Garbage against the collector's HTTP endpoints (/healthz and every /api/v1 route the
 * console mounts): random methods, paths, parameters, headers, bodies and content types, with
 * and without an administrator session. Every answer is a 2xx–4xx, never a 5xx and never a
 * crash. Bounded property-based run (fast-check, fixed seed) through fastify's injector, which
 * runs the same routing, parsing and handlers as a socket does.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteOptions } from 'fastify';
import { consoleOf, consolePlugin } from '../../src/collector/console/plugin.js';
import type { CollectorPlugin } from '../../src/collector/plugins.js';
import { startTlsCollector } from './helpers.js';
import type { TlsCollector } from './helpers.js';

let collector: TlsCollector;
const routes: { method: string; url: string }[] = [];
let session: { cookie: string; csrf: string } | undefined;

const recordRoutes: CollectorPlugin = async (app) => {
  // /healthz is registered by the collector before any plugin.
  routes.push({ method: 'GET', url: '/healthz' }, { method: 'GET', url: '/' });
  app.addHook('onRoute', (r: RouteOptions) => {
    for (const m of [r.method].flat()) if (m !== 'HEAD') routes.push({ method: m, url: r.url });
  });
};

beforeAll(async () => {
  collector = await startTlsCollector({ plugins: [recordRoutes, consolePlugin()] });
  const admin = consoleOf(collector.app).initialAdmin!;
  const login = await collector.app.inject({ method: 'POST', url: '/api/v1/session', payload: { username: admin.username, password: admin.password } });
  if (login.statusCode === 200) session = { cookie: String(login.headers['set-cookie']).split(';')[0]!, csrf: (login.json() as { csrfToken: string }).csrfToken };
});
afterAll(async () => {
  await collector?.close();
});

const junkText = fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.constantFrom('../../etc/passwd', '%00', '%', '%zz', "' OR 1=1 --", '<script>', '\u0000', 'ａｂｃ', '🙂', 'a'.repeat(5000)));
const junkJson = fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.anything({ maxDepth: 3 }).map((v) => { try { return JSON.parse(JSON.stringify(v) ?? 'null'); } catch { return null; } }));

function fill(url: string, params: string[]): string {
  let k = 0;
  return url.replace(/:[A-Za-z_]+|\*/g, () => encodeURIComponent(params[k++ % Math.max(1, params.length)] ?? 'x'));
}

describe('HTTP endpoints under hostile input', () => {
  it('mounts the console routes it fuzzes', () => {
    expect(routes.some((r) => r.url.startsWith('/api/v1/'))).toBe(true);
    expect(routes.filter((r) => r.url.startsWith('/api/v1/')).length).toBeGreaterThan(10);
  });

  it('answers every malformed, oversized or type-confused request with a status below 500', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          route: fc.nat(),
          method: fc.oneof(fc.constant(''), fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS')),
          params: fc.array(junkText, { maxLength: 3 }),
          query: fc.dictionary(fc.string({ maxLength: 10 }), junkText, { maxKeys: 4 }),
          body: fc.oneof(junkJson.map((v) => ({ json: v })), junkText.map((t) => ({ raw: t })), fc.constant({ big: true })),
          contentType: fc.constantFrom('application/json', 'text/csv', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', ''),
          authed: fc.boolean(),
          badCookie: fc.option(junkText),
        }),
        async (r) => {
          const route = routes[r.route % routes.length]!;
          const method = (r.method || route.method) as 'GET';
          const url = fill(route.url, r.params);
          const headers: Record<string, string> = {};
          if (r.contentType) headers['content-type'] = r.contentType;
          if (r.authed && session) Object.assign(headers, { cookie: session.cookie, 'x-csrf-token': session.csrf });
          else if (r.badCookie !== null) headers.cookie = `mamori_session=${encodeURIComponent(r.badCookie)}`;
          const payload = 'big' in r.body ? 'x'.repeat(2 * 1024 * 1024) : 'json' in r.body ? JSON.stringify(r.body.json) ?? 'null' : r.body.raw;
          const res = await collector.app.inject({ method, url, query: r.query, headers, ...(method === 'GET' ? {} : { payload }) });
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
          if (res.statusCode >= 500) throw new Error(`${method} ${url} → ${res.statusCode} ${res.body.slice(0, 300)}`);
        },
      ),
      { numRuns: 1500, seed: 20260402 },
    );
    // The run reached handlers (2xx/4xx other than 404), not only the router.
    expect([...statuses.keys()].some((s) => s !== 404)).toBe(true);
    const health = await collector.app.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(200);
  }, 120_000);
});
