/**
 * The collector process: one HTTP server (fastify) that serves the console and its API, and
 * upgrades /agent to the agent WebSocket gateway. Storage is embedded SQLite under the data
 * directory unless a PostgreSQL URL is given.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../shared/log.js';
import type { CheckId } from '../shared/protocol/messages.js';
import { CollectorBus } from './bus.js';
import type { CollectorContext, PolicyProvider, UpgradeHandler } from './context.js';
import type { Cluster } from './cluster/types.js';
import { AgentGateway } from './gateway/gateway.js';
import type { GatewayOptions } from './gateway/gateway.js';
import { defaultPlugins } from './plugins.js';
import type { CollectorPlugin } from './plugins.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import type { Store } from './store/store.js';

export interface CollectorOptions {
  dataDir: string;
  host?: string;
  /** 0 = any free port. */
  port?: number;
  store?: Store;
  log: Logger;
  nodeId?: string;
  plugins?: CollectorPlugin[];
  gateway?: Partial<Omit<GatewayOptions, 'store' | 'bus' | 'log' | 'nodeId' | 'policyFor'>>;
  /** Other collector nodes on the same database (none for a single node). */
  cluster?: Cluster;
}

export interface RunningCollector extends CollectorContext {
  app: FastifyInstance;
  /** ws://host:port/agent */
  agentUrl: string;
  /** http://host:port/ */
  consoleUrl: string;
  port: number;
  close(): Promise<void>;
}

export function openDefaultStore(dataDir: string): SqliteStore {
  return new SqliteStore(join(dataDir, 'mamori.db'));
}

export async function startCollector(opts: CollectorOptions): Promise<RunningCollector> {
  const store = opts.store ?? openDefaultStore(opts.dataDir);
  await store.migrate();
  const nodeId = opts.nodeId ?? `${hostname()}-${randomBytes(3).toString('hex')}`;
  await store.markNodeOffline(nodeId, new Date().toISOString());
  const bus = new CollectorBus();
  let policyProvider: PolicyProvider | undefined;
  const gateway = new AgentGateway({ store, bus, log: opts.log, nodeId, ...opts.gateway, policyFor: (agent) => policyProvider?.(agent) ?? Promise.resolve(undefined) });
  const cluster = opts.cluster;
  if (cluster) {
    gateway.onStored = (events) => cluster.publish(events);
    await cluster.start({ deliverEvents: (events) => events.forEach((e) => bus.emit('event', e)), sendToLocalAgent: (agentId, frame) => gateway.sendTo(agentId, frame) });
  }
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });

  const requestScan = async (agentId: string, checks: readonly CheckId[], requestedBy: string) => {
    const id = `scan_${randomBytes(10).toString('hex')}`;
    const requestedAt = new Date().toISOString();
    await store.createScanRequest({ id, agentId, checks: [...checks], requestedBy, requestedAt });
    const frame = { type: 'scan.request' as const, requestId: id, checks: [...checks] };
    if (gateway.sendTo(agentId, frame)) await store.markScanSent(id, new Date().toISOString());
    else await cluster?.sendToAgent(agentId, frame);
    return (await store.getScanRequest(id))!;
  };

  const upgradeRoutes = new Map<string, UpgradeHandler>([['/agent', (req, socket, head) => gateway.handleUpgrade(req, socket, head)]]);
  const registerUpgrade = (path: string, handler: UpgradeHandler) => {
    if (upgradeRoutes.has(path)) throw new Error(`WebSocket path ${path} is taken`);
    upgradeRoutes.set(path, handler);
  };
  const pushPolicy = async (agentId: string) => {
    const agent = await store.getAgent(agentId);
    const pushed = agent && (await policyProvider?.(agent));
    if (!pushed) return;
    const frame = { type: 'policy.push' as const, policy: pushed.policy, ...(pushed.signature ? { signature: pushed.signature } : {}) };
    if (!gateway.sendTo(agentId, frame)) await cluster?.sendToAgent(agentId, frame);
  };
  const ctx: CollectorContext = {
    store,
    bus,
    gateway,
    log: opts.log,
    nodeId,
    dataDir: opts.dataDir,
    requestScan,
    registerUpgrade,
    setPolicyProvider: (p) => (policyProvider = p),
    pushPolicy,
  };
  app.get('/healthz', async () => ({ ok: true, node: nodeId, agentsConnected: gateway.connectedAgents.length }));
  for (const plugin of opts.plugins ?? defaultPlugins) await plugin(app, ctx);

  app.server.on('upgrade', (req, socket, head) => {
    const handler = upgradeRoutes.get((req.url ?? '').split('?')[0] ?? '');
    if (handler) handler(req, socket, head);
    else socket.destroy();
  });

  const host = opts.host ?? '127.0.0.1';
  await app.listen({ host, port: opts.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? 0);
  const shownHost = host.includes(':') ? `[${host}]` : host;
  opts.log.info(`collector listening on ${shownHost}:${port}`, { nodeId, store: store.dialect });

  return {
    ...ctx,
    app,
    port,
    agentUrl: `ws://${shownHost}:${port}/agent`,
    consoleUrl: `http://${shownHost}:${port}/`,
    async close() {
      await gateway.close();
      await cluster?.close();
      await app.close();
      await store.close();
    },
  };
}
