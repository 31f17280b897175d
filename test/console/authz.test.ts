/**
 * Every role against every route, generated from the route table (and again below from a table
 * written by hand, which catches a route declared with the wrong permission): a role gets 403 exactly
 * when it lacks the route's permission; anonymous callers get 401. Routes that forget their
 * check fail closed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { can, ROLES } from '../../src/collector/console/authz.js';
import type { Permission, Role } from '../../src/collector/console/authz.js';
import { consoleOf } from '../../src/collector/console/plugin.js';
import type { CollectorPlugin } from '../../src/collector/plugins.js';
import { adminClient, Client, startTestCollector, userClient } from './helpers.js';
import type { TestCollector } from './helpers.js';

const seen: RouteOptions[] = [];
const recordRoutes: CollectorPlugin = async (app: FastifyInstance) => {
  app.addHook('onRoute', (r) => void seen.push(r));
};
const forgetful: CollectorPlugin = async (app: FastifyInstance) => {
  // A route someone added without going through the console's table.
  app.get('/api/v1/forgotten', async () => ({ secret: 'leaked' }));
  // One that declares a permission but is mounted without the console's check.
  app.get('/api/v1/declared-but-unchecked', { config: { access: 'pcs.read' } }, async () => ({ secret: 'leaked' }));
};

let t: TestCollector;
const tokens = new Map<Role, string>();
let admin: Client;

beforeAll(async () => {
  t = await startTestCollector({ prePlugins: [recordRoutes], extraPlugins: [forgetful] });
  admin = await adminClient(t);
  for (const role of ROLES) {
    const c = role === 'admin' ? admin : await userClient(t, admin, `matrix-${role}`, role);
    const r = await c.request('POST', '/api/v1/tokens', { name: 'matrix' });
    expect(r.status).toBe(200);
    tokens.set(role, r.json.token);
  }
});
afterAll(async () => t?.close());

/**
 * Who may use each route, written out by hand from the roles of seed-requirements §4.3 (not from
 * the route table or can()): the administrator everything; the helpdesk PCs, violations, scans,
 * media at the desk and requests for 例外措置, never policy, reports, accounts or the audit log;
 * the auditor reads (violations, PCs, policy, ledger, 例外措置, reports, audit log) and writes
 * nothing. A route declared with another permission than this, or a route missing here, fails.
 */
const ALL = ['admin', 'helpdesk', 'auditor'] as const;
const DESK = ['admin', 'helpdesk'] as const;
const READERS = ['admin', 'auditor'] as const;
const ADMIN = ['admin'] as const;
const EXPECTED: Record<string, readonly Role[]> = {
  'GET /api/v1/session': ALL,
  'DELETE /api/v1/session': ALL,
  'POST /api/v1/session/password': ALL,
  'POST /api/v1/tokens': ALL,
  'DELETE /api/v1/tokens/:id': ALL,
  'GET /api/v1/violations': ALL,
  'GET /api/v1/violations/notes': ALL,
  'GET /api/v1/violations.csv': ALL,
  'POST /api/v1/violations/ack': DESK,
  'POST /api/v1/violations/ack-bulk': DESK,
  'POST /api/v1/violations/comment': DESK,
  'GET /api/v1/pcs': ALL,
  'GET /api/v1/pcs.csv': ALL,
  'GET /api/v1/pcs/:id': ALL,
  'GET /api/v1/pcs/:id/inventory': ALL,
  'GET /api/v1/pcs/:id/notices': ALL,
  'GET /api/v1/inventory': ALL,
  'GET /api/v1/inventory.csv': ALL,
  'GET /api/v1/enrollment/refusals': ALL,
  'GET /api/v1/updates': ALL,
  'POST /api/v1/updates/rollouts': ADMIN,
  'PUT /api/v1/pcs/:id/assignment': ADMIN,
  'POST /api/v1/pcs/assignment': ADMIN,
  'POST /api/v1/pcs/assignment.csv': ADMIN,
  'GET /api/v1/enrollment-tokens': ADMIN,
  'POST /api/v1/enrollment-tokens': ADMIN,
  'POST /api/v1/enrollment-tokens/:id/revoke': ADMIN,
  'POST /api/v1/scans': DESK,
  'GET /api/v1/scans': DESK,
  'GET /api/v1/policy': READERS,
  'GET /api/v1/policy/history': READERS,
  'GET /api/v1/policy/status': READERS,
  'PUT /api/v1/policy': ADMIN,
  'GET /api/v1/media': ALL,
  'GET /api/v1/media.csv': ALL,
  'GET /api/v1/media/:id/loans': ALL,
  'POST /api/v1/media': DESK,
  'PUT /api/v1/media/:id': DESK,
  'POST /api/v1/media/:id/loans': DESK,
  'POST /api/v1/media/:id/return': DESK,
  'POST /api/v1/media/import': ADMIN,
  'GET /api/v1/exceptions': ALL,
  'POST /api/v1/exceptions': DESK,
  'POST /api/v1/exceptions/:id/approve': ADMIN,
  'POST /api/v1/exceptions/:id/reject': ADMIN,
  'POST /api/v1/exceptions/:id/revoke': ADMIN,
  'GET /api/v1/reports/overview': ALL,
  'GET /api/v1/reports/trends': ALL,
  'GET /api/v1/reports/self-inspection': READERS,
  'GET /api/v1/reports/self-inspection.csv': READERS,
  'GET /api/v1/reports/settings': READERS,
  'GET /api/v1/reports/clause-map.csv': READERS,
  'PUT /api/v1/reports/settings': ADMIN,
  'POST /api/v1/reports/clause-map': ADMIN,
  'GET /api/v1/audit': READERS,
  'GET /api/v1/audit.csv': READERS,
  'GET /api/v1/audit/verify': READERS,
  'GET /api/v1/users': ADMIN,
  'POST /api/v1/users': ADMIN,
  'PUT /api/v1/users/:id': ADMIN,
  'POST /api/v1/users/:id/reset-password': ADMIN,
  'POST /api/v1/users/:id/unlock': ADMIN,
  'GET /api/v1/forwarders': ADMIN,
  'POST /api/v1/forwarders': ADMIN,
  'POST /api/v1/forwarders/:id/secret': ADMIN,
  'DELETE /api/v1/forwarders/:id': ADMIN,
};

const fill = (url: string): string => url.replace(/:([a-zA-Z]+)/g, 'nonexistent');

describe('authorization matrix (generated from the route table)', () => {
  it('covers every route under /api/v1 with a declared permission', async () => {
    const routes = consoleOf(t.collector.app).routes;
    expect(routes.length).toBeGreaterThan(30);
    const table = new Set(routes.map((r) => `${r.method} ${r.url}`));
    const mounted = seen.filter((r) => r.url.startsWith('/api/v1') && !r.url.includes('forgotten') && !r.url.includes('declared-but-unchecked'));
    expect(mounted.length).toBeGreaterThan(30);
    // Every /api/v1 route on the server is in the table, so the matrix below covers it.
    for (const r of mounted) {
      for (const m of [r.method].flat()) if (m !== 'HEAD') expect(table.has(`${m} ${r.url}`), `${m} ${r.url} is not in the route table`).toBe(true);
    }
  });

  it('gives each role exactly its permissions on each route, and 401 without login', async () => {
    const routes = consoleOf(t.collector.app).routes;
    const failures: string[] = [];
    for (const route of routes) {
      const url = fill(route.url);
      const body = route.method === 'GET' ? undefined : {};
      const anon = await new Client(t.base).request(route.method, url, body);
      if (route.access === 'public') {
        if (anon.status === 401 || anon.status === 403) failures.push(`anonymous ${route.method} ${route.url}: ${anon.status}`);
      } else if (anon.status !== 401) failures.push(`anonymous ${route.method} ${route.url}: expected 401, got ${anon.status}`);

      for (const role of ROLES) {
        if (route.url === '/api/v1/session' && route.method === 'POST') continue;
        const c = new Client(t.base);
        const r = await c.request(route.method, url, body, { authorization: `Bearer ${tokens.get(role)}` });
        const allowed = route.access === 'public' || route.access === 'authenticated' || can(role, route.access as Permission);
        if (allowed && (r.status === 401 || r.status === 403)) failures.push(`${role} ${route.method} ${route.url}: allowed but got ${r.status} ${r.text}`);
        if (!allowed && r.status !== 403) failures.push(`${role} ${route.method} ${route.url}: should be 403, got ${r.status}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('fails closed for a route that runs no authorization check', async () => {
    const forgot = await admin.request('GET', '/api/v1/forgotten');
    expect(forgot.status).toBe(403);
    expect(forgot.text).not.toContain('leaked');
    const unchecked = await admin.request('GET', '/api/v1/declared-but-unchecked');
    expect(unchecked.status).toBe(403);
    expect(unchecked.text).not.toContain('leaked');
  });

  it('keeps the helpdesk away from policy and the auditor away from every write', async () => {
    const helpdesk = new Client(t.base);
    expect((await helpdesk.request('GET', '/api/v1/policy', undefined, { authorization: `Bearer ${tokens.get('helpdesk')}` })).status).toBe(403);
    const auditor = { authorization: `Bearer ${tokens.get('auditor')}` };
    expect((await new Client(t.base).request('POST', '/api/v1/media', { stickerNo: 'A-1', fingerprint: '0781:5567:ABC', owner: 'x', department: 'y' }, auditor)).status).toBe(403);
    expect((await new Client(t.base).request('POST', '/api/v1/scans', { hosts: ['pc'] }, auditor)).status).toBe(403);
    expect((await new Client(t.base).request('GET', '/api/v1/audit', undefined, auditor)).status).toBe(200);
  });

  it('records denied attempts in the audit log', async () => {
    await new Client(t.base).request('PUT', '/api/v1/policy', {}, { authorization: `Bearer ${tokens.get('helpdesk')}` });
    const log = await admin.request('GET', '/api/v1/audit?action=authz.denied');
    expect(log.json.entries.some((e: { actor: string; target: string }) => e.actor === 'matrix-helpdesk' && e.target === 'PUT /api/v1/policy')).toBe(true);
  });
});

describe('authorization as written by hand', () => {
  it('lists every route of the console, and no route that is gone', () => {
    const routes = consoleOf(t.collector.app).routes.filter((r) => !(r.method === 'POST' && r.url === '/api/v1/session'));
    expect(routes.map((r) => `${r.method} ${r.url}`).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it('lets exactly the roles written above through each route', async () => {
    const failures: string[] = [];
    for (const [key, roles] of Object.entries(EXPECTED)) {
      const [method, url] = key.split(' ') as [string, string];
      for (const role of ROLES) {
        const r = await new Client(t.base).request(method, fill(url), method === 'GET' ? undefined : {}, { authorization: `Bearer ${tokens.get(role)}` });
        const refused = r.status === 401 || r.status === 403;
        if (roles.includes(role) === refused) failures.push(`${role} ${key}: ${refused ? 'refused' : 'let through'} (${r.status})`);
      }
    }
    expect(failures).toEqual([]);
  });
});
