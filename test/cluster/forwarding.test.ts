/**
 * Forwarding with two collector nodes on one PostgreSQL database: a webhook added on node A
 * runs on both, yet exactly one node delivers each event (the lease in forward_state); when
 * that node stops, the other continues from the cursor. The receiver counts every POST.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector } from '../../src/collector/collector.js';
import type { RunningCollector } from '../../src/collector/collector.js';
import { consoleOf, consolePlugin } from '../../src/collector/console/plugin.js';
import { openPostgresStore } from '../../src/collector/store/postgres/open.js';
import { Client, log, usbViolation, waitUntil } from '../console/helpers.js';
import { makeClusterTls, nodeDataDir } from './harness.js';
import type { ClusterTls } from './harness.js';
import { PG_REQUIRED, createTestDatabase, probePg } from './pg-env.js';
import type { TestDatabase } from './pg-env.js';

const pgProbe = await probePg('cluster forwarding');
const forwarding = { timings: { backoffMinMs: 100, backoffMaxMs: 800, pollMs: 200, leaseMs: 3000 }, configPollMs: 300 };

let db: TestDatabase;
let tls: ClusterTls;
const nodes: RunningCollector[] = [];
const posts = new Map<string, number>();
const receiver = createServer((req, res) => {
  const id = String(req.headers['x-mamori-event-id']);
  posts.set(id, (posts.get(id) ?? 0) + 1);
  req.resume();
  req.on('end', () => res.writeHead(204).end());
});

/** Deliveries of the agents' violations (the audit log checkpoints the nodes also send have ids "c:…"). */
const violationPosts = () => [...posts.entries()].filter(([id]) => id.startsWith('ag_'));

async function startNode(name: string): Promise<RunningCollector> {
  const store = await openPostgresStore(db.url, { maxConnections: 4 });
  // Nodes of one cluster share DATA/tls (docs/scaling.md); the console here is plain HTTP.
  const node = await startCollector({ dataDir: nodeDataDir(`fwd-${name}`, tls), log, store, nodeId: name, plugins: [consolePlugin({ forwarding })] });
  nodes.push(node);
  return node;
}

async function seed(node: RunningCollector, agentId: string, first: number, count: number): Promise<void> {
  const events = Array.from({ length: count }, (_, i) => ({ ...usbViolation(`0781:5567:CL${agentId.slice(-4)}${first + i}`), seq: first + i }) as never);
  await node.store.ingest([{ agentId, events }], new Date().toISOString());
  for (const event of events) node.bus.emit('event', { agentId, hostname: 'pc', event, receivedAt: new Date().toISOString() });
}

beforeAll(async () => {
  if (!pgProbe.available) return;
  db = await createTestDatabase();
  tls = await makeClusterTls();
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
});
afterAll(async () => {
  for (const n of nodes) await n.close().catch(() => undefined);
  receiver.close();
  await db?.drop();
});

describe.skipIf(!pgProbe.available)('forwarding in a cluster (PostgreSQL)', () => {
  it('delivers each event from exactly one node, and the other node continues when it stops', async () => {
    const a = await startNode('node-a');
    const b = await startNode('node-b');
    const admin = new Client(a.consoleUrl.replace(/\/$/, ''));
    const initial = consoleOf(a.app).initialAdmin ?? consoleOf(b.app).initialAdmin!;
    expect((await admin.login(initial.username, initial.password)).status).toBe(200);
    expect((await admin.request('POST', '/api/v1/session/password', { current: initial.password, next: 'Cluster-Fwd-2026!' })).status).toBe(200);
    const added = await admin.request('POST', '/api/v1/forwarders', { kind: 'webhook', target: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` });
    expect(added.status).toBe(200);
    const fwdId = added.json.forwarder.id as string;

    const agents = ['ag_clusterfwdaaaaaaaaaaaaaaaa', 'ag_clusterfwdbbbbbbbbbbbbbbbb'];
    for (const id of agents) await a.store.createAgent({ id, secret: 'f'.repeat(64), hostname: `pc-${id.slice(-1)}`, os: { platform: 'linux', hostname: 'pc', release: '6.1' }, agentVersion: '0.1.0', segment: 'lgwan', enrolledAt: new Date().toISOString(), tokenId: 'tok' });
    // Both nodes store violations (agents connected to either), 20 each.
    await seed(a, agents[0]!, 1, 20);
    await seed(b, agents[1]!, 1, 20);
    await waitUntil(async () => violationPosts().length === 40, 60_000, '40 events at the receiver');
    expect([...posts.values()].every((n) => n === 1)).toBe(true);

    const status = (await admin.request('GET', '/api/v1/forwarders')).json.forwarders[0].status;
    expect(status.backlog).toBe(0);
    expect(status.delivered).toBeGreaterThanOrEqual(40); // and the audit checkpoints
    expect(['node-a', 'node-b']).toContain(status.node);

    // The delivering node stops; the other one takes over from the cursor.
    const holder = status.node === 'node-a' ? a : b;
    const other = holder === a ? b : a;
    await holder.close();
    nodes.splice(nodes.indexOf(holder), 1);
    await seed(other, agents[0]!, 21, 5);
    await waitUntil(async () => violationPosts().length === 45, 60_000, 'the 5 events after the takeover');
    expect([...posts.values()].every((n) => n === 1)).toBe(true);
    const after = await other.store.forwardState(fwdId);
    expect(after.leaseOwner).toBe(other.nodeId);
  });
});

describe.runIf(!pgProbe.available && PG_REQUIRED)('forwarding in a cluster: postgres required', () => {
  it('PostgreSQL is reachable (MAMORI_REQUIRE_PG=1)', () => {
    expect(pgProbe.reason).toBeUndefined();
  });
});
