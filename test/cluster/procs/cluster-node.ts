/**
 * A collector node for the multi-node tests: the real collector (startCollector) on the
 * PostgreSQL store and cluster, plus a test-only plugin in this process that exposes the
 * node's live bus and its requestScan over HTTP, so a test can watch node B while agents
 * talk to node A.
 *
 *   node cluster-node.mjs --db URL --data DIR [--port P] [--node-id ID]
 *
 * DIR/tls holds the cluster's CA, server certificate and policy key (copied from one
 * `collector init`, as docs/scaling.md says): the node serves HTTPS/WSS with them.
 *
 * Test endpoints: ws /test/stream (every bus event as one JSON text frame: this node's, and
 * the live kinds other nodes stored while a watcher is open),
 * POST /test/scan {agentId, checks} → the scan request record,
 * GET /test/ingest-stats → {flushes, events} the store's ingest was called with so far (the gateway's group commits).
 */
import { parseArgs } from 'node:util';
import WebSocket, { WebSocketServer } from 'ws';
import { PgCluster } from '../../../src/collector/cluster/pg-cluster.js';
import { startCollector } from '../../../src/collector/collector.js';
import type { CollectorPlugin } from '../../../src/collector/plugins.js';
import type { StoredAgentEvent } from '../../../src/collector/bus.js';
import { openPostgresStore } from '../../../src/collector/store/postgres/open.js';
import { createLogger } from '../../../src/shared/log.js';
import { loadTls } from '../../../src/shared/tls/material.js';
import type { CheckId } from '../../../src/shared/protocol/messages.js';

const { values } = parseArgs({ options: { db: { type: 'string' }, data: { type: 'string' }, port: { type: 'string', default: '0' }, 'node-id': { type: 'string' } } });

const testBus: CollectorPlugin = async (app, ctx) => {
  const wss = new WebSocketServer({ noServer: true });
  ctx.registerUpgrade('/test/stream', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)));
  // A watcher here is a console watching: while one is open, other nodes' live events are read back.
  wss.on('connection', (ws) => ws.once('close', ctx.bus.watch()));
  const forward = (e: StoredAgentEvent) => {
    const text = JSON.stringify({ agentId: e.agentId, hostname: e.hostname, receivedAt: e.receivedAt, event: e.event, seenAt: Date.now() });
    for (const ws of wss.clients) if (ws.readyState === WebSocket.OPEN) ws.send(text);
  };
  ctx.bus.on('event', forward);
  ctx.bus.on('event.elsewhere', forward);
  app.get('/test/ingest-stats', async () => ingestStats);
  app.post('/test/scan', async (req) => {
    const body = req.body as { agentId: string; checks: CheckId[] };
    return ctx.requestScan(body.agentId, body.checks, 'test-helpdesk');
  });
};

const log = createLogger({ component: `node-${values['node-id'] ?? 'x'}` });
const store = await openPostgresStore(values.db!);
/** Group commits of this node and the events in them, for the benches (events per commit). */
const ingestStats = { flushes: 0, events: 0 };
const ingest = store.ingest.bind(store);
store.ingest = (batches, receivedAt) => {
  ingestStats.flushes++;
  for (const b of batches) ingestStats.events += b.events.length;
  return ingest(batches, receivedAt);
};
const cluster = new PgCluster(store, { log });
const collector = await startCollector({
  dataDir: values.data!,
  tls: loadTls(values.data!),
  port: Number(values.port),
  log,
  store,
  cluster,
  plugins: [testBus],
  ...(values['node-id'] ? { nodeId: values['node-id'] } : {}),
  // The benches try other group-commit waits (bench/pg-ingest.ts --ingest-delay-ms); the product's default otherwise.
  gateway: { heartbeatSeconds: 2, ...(process.env.MAMORI_TEST_INGEST_DELAY_MS ? { ingest: { maxDelayMs: Number(process.env.MAMORI_TEST_INGEST_DELAY_MS) } } : {}) },
});
process.stdout.write(`${JSON.stringify({ listening: collector.port, agentUrl: collector.agentUrl, nodeId: collector.nodeId, cluster: cluster.instanceId })}\n`);
process.on('SIGTERM', () => void collector.close().then(() => process.exit(0)));
