/**
 * The console plugin: schema, services, the /api/v1 routes with their permissions and the
 * fail-closed backstop, the live stream upgrade at /api/v1/stream, and the static UI.
 */
import { msg, renderBoth } from '../../shared/i18n/index.js';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { loadCatalogue } from '../../shared/catalogue/load.js';
import { configDir } from '../../shared/paths.js';
import type { CollectorContext } from '../context.js';
import type { CollectorPlugin } from '../plugins.js';
import { ConsoleError } from './errors.js';
import { authenticate, installBackstop, mountRoutes } from './http.js';
import { migrateConsole } from './migrations.js';
import { consoleRoutes } from './routes.js';
import { inventoryRoutes } from './inventory-routes.js';
import { pcNoticesRoutes } from './pc-notices.js';
import type { ConsoleOptions } from './services.js';
import { ConsoleServices } from './services.js';
import { ConsoleStream } from './stream.js';

const registry = new WeakMap<FastifyInstance, ConsoleServices>();

/** The console services of a running collector (tests, the CLI's local commands). */
export function consoleOf(app: FastifyInstance): ConsoleServices {
  const s = registry.get(app);
  if (!s) throw new Error('the console plugin is not mounted on this collector');
  return s;
}

/** Where the static UI lives: MAMORI_CONSOLE_UI_DIR, or src/collector/console/ui found by walking up from this module (sources and dist/ alike). */
export function findUiDir(): string {
  if (process.env.MAMORI_CONSOLE_UI_DIR) return resolve(process.env.MAMORI_CONSOLE_UI_DIR);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    for (const candidate of [join(dir, 'ui'), join(dir, 'src', 'collector', 'console', 'ui'), join(dir, 'console-ui')]) {
      if (existsSync(join(candidate, 'index.html'))) return candidate;
    }
    dir = dirname(dir);
  }
  throw new Error('console UI files not found (set MAMORI_CONSOLE_UI_DIR)');
}

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.json': 'application/json; charset=utf-8', '.svg': 'image/svg+xml' };
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/**
 * Headers on every answer of the collector (console pages, the API, errors, 404s): HSTS
 * (browsers ignore it over plain HTTP, RFC 6797 §8.1, so it is harmless with --insecure-plain),
 * no sniffing, no framing, no referrer, no caching of API data. A page or file sets its own
 * content-security-policy and cache-control; those already set are kept.
 */
const EVERY_RESPONSE_HEADERS = {
  'strict-transport-security': 'max-age=31536000',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

function installSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (_req, reply, payload) => {
    for (const [name, value] of Object.entries(EVERY_RESPONSE_HEADERS)) if (!reply.hasHeader(name)) reply.header(name, value);
    return payload;
  });
}

function mountUi(app: FastifyInstance, uiDir: string): void {
  const send = (file: string) => {
    const body = readFileSync(join(uiDir, file));
    return { body, type: TYPES[extname(file)] ?? 'application/octet-stream' };
  };
  app.get('/', { config: { access: 'public' } }, async (_req, reply) => {
    const f = send('index.html');
    return reply.headers(SECURITY_HEADERS).type(f.type).send(f.body);
  });
  app.get('/ui/:file', { config: { access: 'public' } }, async (req, reply) => {
    const name = (req.params as { file: string }).file;
    // Flat directory, plain names only: no path can leave it.
    if (!/^[a-z0-9][a-z0-9.-]*\.(js|css|json|svg|html)$/.test(name) || !existsSync(join(uiDir, name))) return reply.code(404).send({ error: 'NOT_FOUND' });
    const f = send(name);
    return reply.headers(SECURITY_HEADERS).type(f.type).send(f.body);
  });
}

export function consolePlugin(options: ConsoleOptions = {}): CollectorPlugin {
  return async (app: FastifyInstance, ctx: CollectorContext) => {
    await migrateConsole(ctx.store.sql);
    const catalogue = options.catalogue ?? loadCatalogue(configDir());
    const services = new ConsoleServices(ctx, catalogue, options);
    registry.set(app, services);

    app.setErrorHandler((err, req, reply) => {
      if (err instanceof ConsoleError) return reply.code(err.status).send({ error: err.code, message: err.text.ja, messageEn: err.text.en, ...('lockedUntil' in err && err.lockedUntil ? { lockedUntil: err.lockedUntil } : {}) });
      const status = (err as { statusCode?: number }).statusCode;
      // Fastify's own refusals (body too large, bad JSON …): its English text, after a Japanese lead.
      if (status && status >= 400 && status < 500) {
        const text = renderBoth(msg('error.request', { detail: (err as Error).message }));
        return reply.code(status).send({ error: (err as { code?: string }).code ?? 'BAD_REQUEST', message: text.ja, messageEn: text.en });
      }
      ctx.log.error('console request failed', { url: req.url, error: (err as Error).stack ?? String(err) });
      const text = renderBoth(msg('error.internal'));
      return reply.code(500).send({ error: 'INTERNAL', message: text.ja, messageEn: text.en });
    });
    app.addContentTypeParser(['text/csv', 'text/plain'], { parseAs: 'string', bodyLimit: 10 * 1024 * 1024 }, (_req, body, done) => done(null, body));
    installSecurityHeaders(app);
    installBackstop(app);
    services.routes = [...consoleRoutes(services), ...inventoryRoutes(services), ...pcNoticesRoutes(services)];
    mountRoutes(app, services.routes, services.accounts, services.audit);
    mountUi(app, options.uiDir ?? findUiDir());

    services.stream = new ConsoleStream({
      ctx,
      authenticate: async (req) => (await authenticate(services.accounts, { authorization: req.headers.authorization, cookie: req.headers.cookie }))?.principal,
      render: (e) => services.render(e),
      departmentOf: (agentId) => services.fleet.assignmentOf(agentId).department,
    });
    ctx.registerUpgrade('/api/v1/stream', services.stream.handleUpgrade);
    await services.start();
    // Before the server waits for its connections to end: the live streams of open tabs are among them.
    app.addHook('preClose', async () => services.stream?.shutdown());
    app.addHook('onClose', async () => services.stop());
  };
}
