/**
 * Several collector nodes as real processes on one PostgreSQL database, TLS on as shipped (one
 * CA and policy key for all nodes, test/cluster/one-identity.test.ts): the live stream and
 * helpdesk scans cross nodes, an agent that moves to another node in the middle of a batch
 * is stored exactly once, and a node killed with SIGKILL under load loses and duplicates
 * nothing. Agents are the real agent outbox + link (test/cluster/procs/sim-agents.ts).
 */
import { rmSync } from 'node:fs';
import pg from 'pg';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnrollmentToken } from '../../src/collector/tokens.js';
import { openPostgresStore } from '../../src/collector/store/postgres/open.js';
import { PG_REQUIRED, PG_URL, createTestDatabase, probePg } from './pg-env.js';
import type { TestDatabase } from './pg-env.js';
import { Child, LoadBalancer, buildPrograms, freePort, https, makeClusterTls, startChild, startCliNode, startNode, tempDir } from './harness.js';
import type { ClusterTls, NodeChild } from './harness.js';

const pgProbe = await probePg('multi-node');

interface StreamItem {
  agentId: string;
  hostname: string;
  event: { seq: number; kind: string; requestId?: string; violation?: { subject: string } };
  seenAt: number;
}

/** A watcher on one node's live bus (the test endpoint of cluster-node.ts). */
async function watch(node: NodeChild, tls: ClusterTls): Promise<{ items: StreamItem[]; next(pred: (i: StreamItem) => boolean, timeoutMs?: number): Promise<StreamItem>; close(): void }> {
  const ws = new WebSocket(`wss://127.0.0.1:${node.port}/test/stream`, { ca: tls.caPem });
  const items: StreamItem[] = [];
  const waiters: { pred: (i: StreamItem) => boolean; res: (i: StreamItem) => void }[] = [];
  ws.on('message', (data) => {
    const item = JSON.parse(data.toString()) as StreamItem;
    items.push(item);
    for (const w of [...waiters]) if (w.pred(item)) (waiters.splice(waiters.indexOf(w), 1), w.res(item));
  });
  await new Promise((res, rej) => (ws.once('open', res), ws.once('error', rej)));
  return {
    items,
    next: (pred, timeoutMs = 10_000) => {
      const seen = items.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((res, rej) => {
        const t = setTimeout(() => rej(new Error(`stream of ${node.name}: nothing matching within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ pred, res: (i) => (clearTimeout(t), res(i)) });
      });
    },
    close: () => ws.terminate(),
  };
}

async function newToken(url: string): Promise<string> {
  const store = await openPostgresStore(url, { maxConnections: 1 });
  try {
    return (await createEnrollmentToken(store, { segment: 'lgwan', expiresInMs: 3_600_000, singleUse: false })).token;
  } finally {
    await store.close();
  }
}

async function status(agents: Child): Promise<{ agentId: string; lastSeq: number; acked: number; appended: number; connected: boolean }[]> {
  const after = agents.lines.length;
  agents.send({ cmd: 'status' });
  return (await agents.json<{ status: { agentId: string; lastSeq: number; acked: number; appended: number; connected: boolean }[] }>('status', 10_000, after)).status;
}

async function waitDrained(agents: Child, timeoutMs: number): Promise<Awaited<ReturnType<typeof status>>> {
  const start = Date.now();
  for (;;) {
    const s = await status(agents);
    if (s.every((a) => a.acked === a.lastSeq)) return s;
    if (Date.now() - start > timeoutMs) throw new Error(`agents not drained after ${timeoutMs} ms: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Every stored event of an agent is 1..lastSeq once, and its test notices are 0..appended-1 in order. */
async function expectExactlyOnce(db: pg.Client, agent: { agentId: string; lastSeq: number; appended: number }): Promise<void> {
  const { rows } = await db.query<{ seq: number; payload: string }>('SELECT seq::int AS seq, payload FROM events WHERE agent_id = $1 ORDER BY seq', [agent.agentId]);
  expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: agent.lastSeq }, (_, k) => k + 1));
  const notices = rows.map((r) => JSON.parse(r.payload) as { kind: string; detail?: { i: number } }).filter((e) => e.kind === 'agent.notice').map((e) => e.detail!.i);
  expect(notices).toEqual(Array.from({ length: agent.appended }, (_, k) => k));
  const row = (await db.query<{ last_seq: number }>('SELECT last_seq::int AS last_seq FROM agents WHERE id = $1', [agent.agentId])).rows[0]!;
  expect(row.last_seq).toBe(agent.lastSeq);
}

// Real collector processes and agents under load: generous deadlines for a loaded 2-core machine.
describe.skipIf(!pgProbe.available)('several collector nodes on one PostgreSQL', { timeout: 240_000 }, () => {
  let programs: Awaited<ReturnType<typeof buildPrograms>>;
  let database: TestDatabase;
  let db: pg.Client;
  let tls: ClusterTls;
  const children: Child[] = [];
  const dirs: string[] = [];
  const balancers: LoadBalancer[] = [];

  beforeAll(async () => {
    programs = await buildPrograms();
    tls = await makeClusterTls();
    database = await createTestDatabase();
    db = new pg.Client({ connectionString: database.url });
    await db.connect();
  });
  afterAll(async () => {
    await Promise.all(children.map((c) => c.stop()));
    for (const b of balancers) await b.close();
    await db?.end();
    await database?.drop();
    programs?.remove();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    if (tls) rmSync(tls.dir, { recursive: true, force: true });
  });

  const track = <T extends Child>(c: T) => (children.push(c), c);
  const stateDir = () => {
    const d = tempDir('sim');
    dirs.push(d);
    return d;
  };

  it('shows a violation from an agent on node A to a watcher on node B, and runs a scan requested on B on the agent on A', async () => {
    const a = track(await startNode(programs.node, database.url, 'A', tls));
    const b = track(await startNode(programs.node, database.url, 'B', tls));
    const token = await newToken(database.url);
    const agents = track(startChild('sim', [programs.sim, '--collector', a.agentUrl, '--state', stateDir(), '--ca-pin', tls.pin, '--token', token, '--agents', '2'], true));
    const [agent0] = (await agents.json<{ ready: string[] }>('ready')).ready;
    const watcherA = await watch(a, tls);
    const watcherB = await watch(b, tls);
    await new Promise((r) => setTimeout(r, 300)); // both agents welcomed

    const latencies: number[] = [];
    for (let k = 0; k < 5; k++) {
      const sent = Date.now();
      agents.send({ cmd: 'violation', agent: 0, subject: `usb:0781:5567:SN${k}` });
      const seen = await watcherB.next((i) => i.event.kind === 'violation.opened' && i.event.violation?.subject === `usb:0781:5567:SN${k}`);
      latencies.push(seen.seenAt - sent);
      expect(seen).toMatchObject({ agentId: agent0, hostname: 'sim-pc-000' });
      await watcherA.next((i) => i.event.violation?.subject === `usb:0781:5567:SN${k}`);
    }
    process.stderr.write(`[multi-node] agent on A → watcher on B: ${latencies.join(', ')} ms\n`);
    // Exactly once on B's stream too.
    expect(watcherB.items.filter((i) => i.event.kind === 'violation.opened')).toHaveLength(5);

    // A helpdesk scan requested on B reaches the agent on A; its result comes back on B's stream.
    const res = await https(`https://127.0.0.1:${b.port}/test/scan`, tls.caPem, 'POST', { agentId: agent0, checks: ['usb-media', 'antivirus'] });
    const request = res.json as { id: string; state: string };
    // Not on B: handed to the cluster; node A may already have delivered it and marked it sent.
    expect(['queued', 'sent']).toContain(request.state);
    const answered = await agents.json<{ scan: string; agentId: string }>('scan');
    expect(answered).toEqual({ scan: request.id, agentId: agent0 });
    const result = await watcherB.next((i) => i.event.kind === 'scan.result' && i.event.requestId === request.id);
    expect(result.agentId).toBe(agent0);
    const row = (await db.query('SELECT state, sent_at, result_json FROM scan_requests WHERE id = $1', [request.id])).rows[0];
    expect(row.state).toBe('done');
    expect(row.sent_at).not.toBeNull(); // node A marked it sent when it delivered it
    expect(JSON.parse(row.result_json)).toEqual([
      { checkId: 'usb-media', status: 'ok', failed: 0 },
      { checkId: 'antivirus', status: 'ok', failed: 0 },
    ]);

    // B's LISTEN connection is cut by the server: B reconnects it and keeps receiving.
    const cut = await db.query("SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'mamori-cluster-listen:%'", [database.name]);
    const cutPids = cut.rows.map((r) => r.pid as number);
    expect(cut.rowCount).toBe(2);
    // Both nodes connected again and their LISTEN has run (pg_stat_activity.query holds a session's last statement).
    const relistened = async () => (await db.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'mamori-cluster-listen:%' AND query ILIKE 'LISTEN%' AND pid <> ALL($2::int[])", [database.name, cutPids])).rows[0].n as number;
    for (const deadline = Date.now() + 30_000; (await relistened()) < 2; ) {
      if (Date.now() > deadline) throw new Error('the nodes did not LISTEN again within 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    agents.send({ cmd: 'violation', agent: 1, subject: 'usb:after-reconnect' });
    const after = await watcherB.next((i) => i.event.violation?.subject === 'usb:after-reconnect', 15_000);
    expect(after.hostname).toBe('sim-pc-001');
    const listening = await db.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'mamori-cluster-listen:%'", [database.name]);
    expect(listening.rows[0].n).toBe(2);

    watcherA.close();
    watcherB.close();
    await agents.stop();
    await Promise.all([a.stop(), b.stop()]);
  });

  it('stores exactly once when agents move to the other node in the middle of their batches', async () => {
    const a = track(await startNode(programs.node, database.url, 'M1', tls));
    const b = track(await startNode(programs.node, database.url, 'M2', tls));
    const lb = new LoadBalancer([a.port, b.port]);
    balancers.push(lb);
    await lb.start();
    const token = await newToken(database.url);
    const agents = track(startChild('sim', [programs.sim, '--collector', lb.url, '--state', stateDir(), '--ca-pin', tls.pin, '--token', token, '--agents', '6', '--batch', '100'], true));
    await agents.json('ready');
    agents.send({ cmd: 'append', agent: 'all', count: 6000 });
    // Cut every connection to alternating nodes while the agents stream: each agent's new
    // connection lands on the other node while the old node still commits what it queued.
    let cuts = 0;
    for (let round = 0; round < 8; round++) {
      await new Promise((r) => setTimeout(r, 250));
      cuts += lb.cut(round % 2);
    }
    const final = await waitDrained(agents, 60_000);
    expect(cuts).toBeGreaterThan(0);
    expect(lb.connections.every((n) => n > 0)).toBe(true);
    for (const agent of final) {
      expect(agent.appended).toBe(6000);
      await expectExactlyOnce(db, agent);
    }
    await agents.stop();
    await Promise.all([a.stop(), b.stop()]);
  });

  it('loses and duplicates nothing when a node of three is killed with SIGKILL under load (mamori collector --db)', async () => {
    const cli = await programs.buildCli();
    const ports = await Promise.all([0, 1, 2].map(() => freePort()));
    const nodes: NodeChild[] = await Promise.all(ports.map((p, k) => startCliNode(cli, database.url, `K${k}`, p, tls).then(track)));
    const lb = new LoadBalancer(ports);
    balancers.push(lb);
    await lb.start();
    const token = await newToken(database.url);
    const agents = track(startChild('sim', [programs.sim, '--collector', lb.url, '--state', stateDir(), '--ca-pin', tls.pin, '--token', token, '--agents', '12'], true));
    await agents.json('ready');
    agents.send({ cmd: 'load', perTick: 20, ms: 50 }); // 12 agents × 400 events/s
    await new Promise((r) => setTimeout(r, 2500));
    const before = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM events');
    expect(before.rows[0]!.n).toBeGreaterThan(0);
    const reconnectsBefore = lb.connections[0]! + lb.connections[2]!;
    await nodes[1]!.kill9();
    await new Promise((r) => setTimeout(r, 2500));
    // The killed node's agents came back through the balancer on the two others.
    expect(lb.connections[0]! + lb.connections[2]!).toBeGreaterThan(reconnectsBefore);
    const after = agents.lines.length;
    agents.send({ cmd: 'stopLoad' });
    await agents.json('loadStopped', 10_000, after);
    const final = await waitDrained(agents, 60_000);
    let total = 0;
    for (const agent of final) {
      expect(agent.appended).toBeGreaterThan(0);
      await expectExactlyOnce(db, agent);
      total += agent.lastSeq;
    }
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0]!.n).toBeGreaterThanOrEqual(total);
    process.stderr.write(`[multi-node] kill -9 under load: ${total} events from ${final.length} agents stored exactly once; connections per node ${lb.connections.join('/')}\n`);
    await agents.stop();
  });
});

describe.runIf(!pgProbe.available && PG_REQUIRED)('several collector nodes: PostgreSQL required', () => {
  it('PostgreSQL is reachable (MAMORI_REQUIRE_PG=1)', () => {
    throw new Error(`${pgProbe.reason} — MAMORI_REQUIRE_PG=1 requires PostgreSQL at ${PG_URL}`);
  });
});
