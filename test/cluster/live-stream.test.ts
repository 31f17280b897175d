/**
 * The console's live stream in a cluster: a node reads back the events other nodes stored only
 * for the kinds its stream shows, and only while a console watches on it (src/collector/bus.ts,
 * cluster/pg-cluster.ts). Two collector nodes in this process on one PostgreSQL database, each
 * with its console and its PgCluster; a real agent connection on node A, a signed-in console
 * stream (/api/v1/stream) on node B.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector } from '../../src/collector/collector.js';
import type { RunningCollector } from '../../src/collector/collector.js';
import { PgCluster } from '../../src/collector/cluster/pg-cluster.js';
import { consoleOf, consolePlugin } from '../../src/collector/console/plugin.js';
import { openPostgresStore } from '../../src/collector/store/postgres/open.js';
import { createEnrollmentToken } from '../../src/collector/tokens.js';
import type { StoredAgentEvent } from '../../src/collector/bus.js';
import { Client, log, usbViolation, waitUntil } from '../console/helpers.js';
import { rawEnroll, rawHello } from '../helpers/raw-client.js';
import type { RawConn } from '../helpers/raw-client.js';
import { makeClusterTls, nodeDataDir } from './harness.js';
import type { ClusterTls } from './harness.js';
import { PG_REQUIRED, PG_URL, createTestDatabase, probePg } from './pg-env.js';
import type { TestDatabase } from './pg-env.js';

const pgProbe = await probePg('cluster live stream');

let db: TestDatabase;
let tls: ClusterTls;
const nodes: RunningCollector[] = [];

async function startNode(name: string): Promise<RunningCollector> {
  const store = await openPostgresStore(db.url, { maxConnections: 4 });
  // Nodes of one cluster share DATA/tls (docs/scaling.md); console and agents here are plain.
  const node = await startCollector({ dataDir: nodeDataDir(`live-${name}`, tls), log, store, nodeId: name, cluster: new PgCluster(store, { log }), plugins: [consolePlugin()] });
  nodes.push(node);
  return node;
}

/** The events another node's cluster delivered on this node's bus. */
function elsewhere(node: RunningCollector): StoredAgentEvent[] {
  const got: StoredAgentEvent[] = [];
  node.bus.on('event.elsewhere', (e) => got.push(e));
  return got;
}

beforeAll(async () => {
  if (!pgProbe.available) return;
  db = await createTestDatabase();
  tls = await makeClusterTls();
});
afterAll(async () => {
  for (const n of nodes) await n.close().catch(() => undefined);
  await db?.drop();
});

describe.skipIf(!pgProbe.available)('live stream across nodes (PostgreSQL)', { timeout: 120_000 }, () => {
  it('a console on node B shows the violations of an agent on node A; other kinds are not read back, nor anything on a node where no console watches', async () => {
    const a = await startNode('node-a');
    const b = await startNode('node-b');
    const c = await startNode('node-c');
    const deliveredOnB = elsewhere(b);
    const deliveredOnC = elsewhere(c);
    const { token } = await createEnrollmentToken(a.store, { segment: 'lgwan', expiresInMs: 3_600_000, singleUse: false });
    const pc = await rawEnroll(a.agentUrl, token);
    const agent: RawConn = await rawHello(a.agentUrl, pc.agentId, pc.privateKey);
    await agent.next('welcome');
    let seq = 0;
    const send = async (events: object[]) => {
      const numbered = events.map((e) => ({ ...e, seq: ++seq }));
      agent.ws.send(JSON.stringify({ type: 'events', agentId: pc.agentId, events: numbered }));
      const ack = await agent.next('ack');
      expect(ack.upTo).toBe(seq);
    };
    const notice = (i: number) => ({ at: new Date().toISOString(), kind: 'agent.notice', notice: 'test', detail: { i } });
    const watchB = async () => {
      const ws = new WebSocket(`${b.consoleUrl.replace(/^http/, 'ws')}api/v1/stream`, { headers: { cookie: admin.cookie } });
      const messages: { type: string; violation?: { subject: string; agentId: string } }[] = [];
      ws.on('message', (m) => messages.push(JSON.parse(m.toString())));
      await new Promise((res, rej) => (ws.once('open', res), ws.once('error', rej)));
      return { ws, violations: () => messages.filter((m) => m.type === 'violation').map((m) => [m.violation!.subject, m.violation!.agentId]) };
    };

    const admin = new Client(b.consoleUrl.replace(/\/$/, ''));
    const initial = consoleOf(a.app).initialAdmin ?? consoleOf(b.app).initialAdmin ?? consoleOf(c.app).initialAdmin!;
    expect((await admin.login(initial.username, initial.password)).status).toBe(200);
    expect((await admin.request('POST', '/api/v1/session/password', { current: initial.password, next: 'Cluster-Live-2026!' })).status).toBe(200);
    expect([a.bus.watched, b.bus.watched, c.bus.watched]).toEqual([false, false, false]);
    const stream = await watchB();
    expect([a.bus.watched, b.bus.watched, c.bus.watched]).toEqual([false, true, false]);

    // A's violations reach the console on B, once each; the notices between them are not read back.
    await send([notice(1), usbViolation('0781:5567:LIVE-A1'), notice(2), notice(3), usbViolation('0781:5567:LIVE-A2'), notice(4)]);
    await waitUntil(async () => stream.violations().length >= 2 || undefined, 60_000, 'both violations on B');
    expect(stream.violations()).toEqual([
      ['0781:5567:LIVE-A1', pc.agentId],
      ['0781:5567:LIVE-A2', pc.agentId],
    ]);
    expect(deliveredOnB.map((e) => [e.event.kind, e.event.seq])).toEqual([
      ['violation.opened', 2],
      ['violation.opened', 5],
    ]);

    // The console closed: B is no longer watched; a console opened again sees what is stored from then on.
    stream.ws.close();
    await waitUntil(async () => !b.bus.watched || undefined, 30_000, 'B no longer watched');
    const again = await watchB();
    await send([usbViolation('0781:5567:REOPENED')]);
    await waitUntil(async () => again.violations().length >= 1 || undefined, 60_000, 'violation on the reopened stream');
    expect(again.violations()).toEqual([['0781:5567:REOPENED', pc.agentId]]);
    again.ws.close();
    agent.ws.close();

    // Node C, where no console ever watched, read back nothing of it.
    expect(deliveredOnC).toEqual([]);
  });
});

describe.runIf(!pgProbe.available && PG_REQUIRED)('live stream across nodes: PostgreSQL required', () => {
  it('PostgreSQL is reachable (MAMORI_REQUIRE_PG=1)', () => {
    throw new Error(`${pgProbe.reason} — MAMORI_REQUIRE_PG=1 requires PostgreSQL at ${PG_URL}`);
  });
});
