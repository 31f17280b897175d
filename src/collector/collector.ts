/**
 * The collector process: one HTTPS server (fastify) that serves the console and its API, and
 * upgrades /agent to the agent WebSocket gateway (wss). Storage is embedded SQLite under the
 * data directory unless a PostgreSQL URL is given. Without `tls` it serves plain HTTP/ws — the
 * CLI does that only with --insecure-plain; in-process tests use it for simplicity.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { hostname } from 'node:os';
import type { Server as TlsServer } from 'node:tls';
import { join, resolve } from 'node:path';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../shared/log.js';
import { ensureAuditMacKey, ensurePolicyKey, ensureSessionTicketSecret } from '../shared/tls/material.js';
import type { TlsMaterial } from '../shared/tls/material.js';
import { rotateTicketKeys, sessionTicketOptions } from '../shared/tls/session-tickets.js';
import { queueHandshakes } from '../shared/tls/handshake-queue.js';
import type { HandshakeQueueOptions, HandshakeQueueStats } from '../shared/tls/handshake-queue.js';
import { signPolicy } from '../shared/tls/policy-signature.js';
import { PolicyDocument } from '../shared/protocol/messages.js';
import type { CheckId } from '../shared/protocol/messages.js';
import { CollectorBus } from './bus.js';
import type { CollectorContext, PolicyProvider, UpgradeHandler } from './context.js';
import type { Cluster } from './cluster/types.js';
import { checkClusterIdentity } from './cluster/identity.js';
import { registerInstallCheck } from './enrollment/install-check.js';
import { AgentGateway } from './gateway/gateway.js';
import type { GatewayOptions } from './gateway/gateway.js';
import { AgentCertificates } from './gateway/client-certs.js';
import type { AgentCertOptions } from './gateway/client-certs.js';
import { defaultPlugins } from './plugins.js';
import type { CollectorPlugin } from './plugins.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import type { AgentRecord, Store } from './store/store.js';
import { TamperMonitor } from './tamper/monitor.js';
import type { TamperOptions } from './tamper/monitor.js';

export interface CollectorOptions {
  dataDir: string;
  host?: string;
  /** 0 = any free port. */
  port?: number;
  store?: Store;
  log: Logger;
  nodeId?: string;
  plugins?: CollectorPlugin[];
  gateway?: Partial<Omit<GatewayOptions, 'store' | 'bus' | 'log' | 'nodeId' | 'policyFor' | 'policyPublicKey' | 'certificates'>>;
  /** Client certificates for agents, signed by the collector's CA (mutual TLS; needs `tls`). Default off. */
  agentCerts?: AgentCertOptions;
  /** Serve HTTPS/WSS with this key and certificate chain (src/shared/tls); absent = plain HTTP/ws. */
  tls?: TlsMaterial;
  /** Tamper evidence parameters (silence, clock skew); false = off. */
  tamper?: TamperOptions | false;
  /** Server timeouts against slow clients (defaults: TLS handshake 10 s, request headers 10 s, whole request 30 s). */
  timeouts?: { handshakeMs?: number; headersMs?: number; requestMs?: number };
  /** TLS handshakes in turn (src/shared/tls/handshake-queue.ts): how many at once, of them from one address. */
  handshakes?: HandshakeQueueOptions;
  /** Other collector nodes on the same database (none for a single node). */
  cluster?: Cluster;
}

export interface RunningCollector extends CollectorContext {
  app: FastifyInstance;
  /** wss://host:port/agent (ws:// when plain) */
  agentUrl: string;
  /** https://host:port/ (http:// when plain) */
  consoleUrl: string;
  port: number;
  /** SHA-256 fingerprint of the CA agents pin (64 hex digits); undefined when plain. */
  caFingerprint: string | undefined;
  /** Tamper evidence (undefined when switched off). */
  tamper: TamperMonitor | undefined;
  /** TLS handshakes running and waiting for their turn now (undefined when plain). */
  handshakes: (() => HandshakeQueueStats) | undefined;
  close(): Promise<void>;
}

export function openDefaultStore(dataDir: string): SqliteStore {
  return new SqliteStore(join(dataDir, 'mamori.db'));
}

export async function startCollector(opts: CollectorOptions): Promise<RunningCollector> {
  const store = opts.store ?? openDefaultStore(opts.dataDir);
  await store.migrate();
  for (const note of (store as Store).migrationNotes ?? []) opts.log.warn(note);
  // Stable across restarts, so a node that was killed finds and clears the agents it had
  // online (markNodeOffline); two nodes differ by host or data directory.
  const nodeId = opts.nodeId ?? `${hostname()}-${createHash('sha256').update(resolve(opts.dataDir)).digest('hex').slice(0, 8)}`;
  await store.markNodeOffline(nodeId, new Date().toISOString());
  const bus = new CollectorBus();
  let policyProvider: PolicyProvider | undefined;
  const policyKey = ensurePolicyKey(opts.dataDir);
  // Several nodes on one database must be one collector to the agents: same CA, same policy key.
  if (store.dialect === 'postgres') await checkClusterIdentity(store.sql, { policyPublicKey: policyKey.publicKey, auditMacKey: ensureAuditMacKey(opts.dataDir), ...(opts.tls ? { caFingerprint: opts.tls.caFingerprint } : {}) }, nodeId);
  /**
   * The policy of an agent, normalised, bound to that agent and its segment, and signed with
   * the collector's key (whatever the provider returned as signature is ignored): the agent
   * refuses a signed policy made for another PC or segment.
   */
  const signedPolicyFor = async (agent: AgentRecord, unlessVersion?: number) => {
    const provided = await policyProvider?.(agent);
    // Checking and signing cost more than the rest of a hello: nothing to sign for a PC that holds this version.
    if (!provided || provided.policy.version === unlessVersion) return undefined;
    const policy = PolicyDocument.parse({ ...provided.policy, agentId: agent.id, segment: agent.segment });
    return { policy, signature: signPolicy(policy, policyKey.privateKey) };
  };
  const certMode = opts.agentCerts?.mode ?? 'off';
  if (certMode !== 'off' && !opts.tls) throw new Error(`client certificates for agents (${certMode}) need TLS`);
  const certificates = certMode === 'off' ? undefined : new AgentCertificates(opts.dataDir, opts.agentCerts!);
  const gateway = new AgentGateway({ store, bus, log: opts.log, nodeId, ...opts.gateway, policyPublicKey: policyKey.publicKey, policyFor: signedPolicyFor, ...(certificates ? { certificates } : {}) });
  const tamper = opts.tamper === false ? undefined : new TamperMonitor({ store, bus, log: opts.log, isConnected: (id) => gateway.isConnected(id) }, opts.tamper);
  if (tamper) {
    await tamper.start();
    gateway.heartbeatListener = (agent, frame, receivedAt) => tamper.heartbeat(agent, frame, receivedAt);
    gateway.seqDisagreementListener = (agent, disowned, at) => tamper.seqDisagreement(agent, disowned, at);
  }
  const cluster = opts.cluster;
  if (cluster) {
    gateway.onStored = (events) => cluster.publish(events);
    bus.on('violation.noted', (note) => {
      if (!note.fromOtherNode) cluster.publishNote(note.id);
    });
    await cluster.start({
      deliverEvents: (events) => events.forEach((e) => bus.emit('event.elsewhere', e)),
      watched: () => bus.watched,
      sendToLocalAgent: (agentId, frame) => gateway.sendTo(agentId, frame),
      deliverNote: (note) => bus.emit('violation.noted', note),
    });
  }
  const timeouts = { handshakeMs: 10_000, headersMs: 10_000, requestMs: 30_000, ...opts.timeouts };
  const tls = opts.tls;
  // Reconnecting agents resume their TLS session (session-tickets.ts): the reconnect storm's handshakes.
  const ticketSecret = tls ? ensureSessionTicketSecret(opts.dataDir) : undefined;
  let handshakes: (() => HandshakeQueueStats) | undefined;
  const app = Fastify({
    logger: false,
    bodyLimit: 1024 * 1024,
    // Slow clients (slow loris) are cut off: headers within headersMs, the TLS handshake within handshakeMs.
    serverFactory: (handler: (req: IncomingMessage, res: ServerResponse) => void) => {
      const common = { headersTimeout: timeouts.headersMs, requestTimeout: timeouts.requestMs, connectionsCheckingInterval: Math.min(1000, timeouts.headersMs) };
      // With agent certificates on, a client certificate is requested but not required at the
      // TLS level: browsers without one keep using the console; the gateway checks agents'.
      const clientCerts = certificates ? { requestCert: true, rejectUnauthorized: false, ca: [tls!.caPem] } : {};
      if (!tls) return createHttpServer(common, handler as RequestListener);
      const server = createHttpsServer({ ...common, key: tls.key, cert: tls.cert, handshakeTimeout: timeouts.handshakeMs, minVersion: 'TLSv1.2', ...sessionTicketOptions(ticketSecret!), ...clientCerts }, handler as RequestListener);
      // A reconnect storm's handshakes run in turn; the handshake timeout counts from a connection's turn.
      handshakes = queueHandshakes(server, opts.handshakes);
      return server;
    },
  });

  const requestScan = async (agentId: string, checks: readonly CheckId[], requestedBy: string) => {
    const id = `scan_${randomBytes(10).toString('hex')}`;
    const requestedAt = new Date().toISOString();
    await store.createScanRequest({ id, agentId, checks: [...checks], requestedBy, requestedAt });
    const frame = { type: 'scan.request' as const, requestId: id, checks: [...checks] };
    if (gateway.sendTo(agentId, frame)) await store.markScanSent(id, new Date().toISOString());
    else await cluster?.sendToAgent(agentId, frame);
    return (await store.getScanRequest(id))!;
  };

  const stopTicketRotation = ticketSecret ? rotateTicketKeys(app.server as unknown as TlsServer, ticketSecret) : () => {};

  const upgradeRoutes = new Map<string, UpgradeHandler>([['/agent', (req, socket, head) => gateway.handleUpgrade(req, socket, head)]]);
  const registerUpgrade = (path: string, handler: UpgradeHandler) => {
    if (upgradeRoutes.has(path)) throw new Error(`WebSocket path ${path} is taken`);
    upgradeRoutes.set(path, handler);
  };
  const pushPolicy = async (agentId: string) => {
    const agent = await store.getAgent(agentId);
    const pushed = agent && (await signedPolicyFor(agent));
    if (!pushed) return;
    const frame = { type: 'policy.push' as const, policy: pushed.policy, signature: pushed.signature };
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
  registerInstallCheck(app, { sql: store.sql, log: opts.log });
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
  opts.log.info(`collector listening on ${shownHost}:${port}${tls ? ' (TLS)' : ' (plain, no TLS)'}`, { nodeId, store: store.dialect, ...(tls ? { caFingerprint: tls.caFingerprint } : {}) });

  return {
    ...ctx,
    app,
    port,
    agentUrl: `${tls ? 'wss' : 'ws'}://${shownHost}:${port}/agent`,
    consoleUrl: `${tls ? 'https' : 'http'}://${shownHost}:${port}/`,
    caFingerprint: tls?.caFingerprint,
    tamper,
    handshakes,
    async close() {
      stopTicketRotation();
      await tamper?.stop();
      await gateway.close();
      await cluster?.close();
      await app.close();
      await store.close();
    },
  };
}
