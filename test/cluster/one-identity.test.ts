/**
 * Several collector nodes as ONE collector, with TLS on as shipped: the nodes share the CA and
 * the policy key (DATA/tls copied from the first node, docs/scaling.md), start together on an
 * empty database, refuse to join with other key material, and an agent behind a TCP balancer
 * fails over to another node and accepts policies signed there. Real `mamori collector --db`
 * processes, a real agent process (judging a recorded PC), real PostgreSQL.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnrollmentToken } from '../../src/collector/tokens.js';
import { openPostgresStore } from '../../src/collector/store/postgres/open.js';
import { PG_REQUIRED, PG_URL, createTestDatabase, probePg } from './pg-env.js';
import type { TestDatabase } from './pg-env.js';
import { ConsoleSession, LoadBalancer, ROOT, buildPrograms, freePort, https, makeClusterTls, spawnCliNode, startChild, tempDir, untilListening } from './harness.js';
import type { Child, ClusterTls, NodeChild } from './harness.js';

const pgProbe = await probePg('one-identity');
const RECORDED_PC = join(ROOT, 'test/fixtures/replay/linux/debian12-this-machine');


/** The initial admin's one-time password, from the data directory of the one node that made it. */
function initialAdminPassword(nodes: (NodeChild & { data: string })[]): string {
  const holders = nodes.filter((n) => existsSync(join(n.data, 'console-initial-admin.txt')));
  expect(holders).toHaveLength(1);
  return /password: (\S+)/.exec(readFileSync(join(holders[0]!.data, 'console-initial-admin.txt'), 'utf8'))![1]!;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// Each test starts several collector processes and an agent: generous deadlines for a loaded 2-core machine.
describe.skipIf(!pgProbe.available)('collector nodes as one collector, TLS on', { timeout: 240_000 }, () => {
  let programs: Awaited<ReturnType<typeof buildPrograms>>;
  let cli: string;
  let tls: ClusterTls;
  const children: Child[] = [];
  const databases: TestDatabase[] = [];
  const clients: pg.Client[] = [];
  const balancers: LoadBalancer[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    programs = await buildPrograms();
    cli = await programs.buildCli();
    tls = await makeClusterTls();
    dirs.push(tls.dir);
  });
  afterAll(async () => {
    await Promise.all(children.map((c) => c.stop()));
    for (const b of balancers) await b.close();
    for (const c of clients) await c.end();
    for (const d of databases) await d.drop();
    programs?.remove();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const track = <T extends Child>(c: T) => (children.push(c), c);
  async function freshDatabase(): Promise<{ url: string; db: pg.Client }> {
    const database = await createTestDatabase();
    databases.push(database);
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    clients.push(db);
    return { url: database.url, db };
  }
  async function nodes(url: string, names: string[]): Promise<(NodeChild & { data: string })[]> {
    const ports = await Promise.all(names.map(() => freePort()));
    // All at the same instant, as an orchestrator starts them.
    const started = names.map((name, k) => track(spawnCliNode(cli, url, name, ports[k]!, tls)));
    for (const n of started) dirs.push(n.data);
    await Promise.all(started.map((n) => untilListening(n)));
    return started;
  }

  it('three nodes started at the same instant on an empty database all come up, with one initial admin and one recorded identity', async () => {
    const { url, db } = await freshDatabase();
    const three = await nodes(url, ['S1', 'S2', 'S3']);
    for (const n of three) expect(n.lines.join('\n')).not.toMatch(/duplicate key|Error/);
    expect((await db.query('SELECT username, role FROM console_users')).rows).toEqual([{ username: 'admin', role: 'admin' }]);
    initialAdminPassword(three); // exactly one node holds the one-time password
    const identity = (await db.query<{ name: string; value: string }>('SELECT name, value FROM cluster_identity ORDER BY name')).rows;
    expect(identity.map((r) => r.name)).toEqual(['audit-key', 'ca', 'policy-key']);
    expect(identity.find((r) => r.name === 'ca')!.value).toBe(tls.pin);
    // Every node serves the same CA: an agent pinned to it reaches any of them.
    for (const n of three) expect((await https(`https://127.0.0.1:${n.port}/healthz`, tls.caPem)).status).toBe(200);
  });

  it('a node with a CA and policy key of its own refuses to join, names both fingerprints and the fix', async () => {
    const { url } = await freshDatabase();
    await nodes(url, ['R1']);
    const other = await makeClusterTls();
    dirs.push(other.dir);
    const intruder = track(spawnCliNode(cli, url, 'R2', await freePort(), other));
    dirs.push(intruder.data);
    const exit = await intruder.exited;
    expect(exit.code).toBe(2);
    const said = intruder.lines.join('\n');
    expect(said).toContain('CA 証明書');
    expect(said).toContain('ポリシー署名鍵');
    expect(said).toContain('操作記録の改ざん検知鍵');
    expect(said).toContain('docs/scaling.md');
    expect(said).not.toMatch(/\n\s+at /); // a sentence, not a stack trace
  });

  it('an agent behind the balancer accepts a policy signed on the other node, keeps delivering when its node is killed, and a console session moves between nodes', async () => {
    const { url, db } = await freshDatabase();
    const [a, b] = await nodes(url, ['F1', 'F2']);
    const lb = new LoadBalancer([a!.port, b!.port]);
    balancers.push(lb);
    await lb.start();
    const store = await openPostgresStore(url, { maxConnections: 1 });
    const token = (await createEnrollmentToken(store, { segment: 'lgwan', expiresInMs: 3_600_000, singleUse: true })).token;
    await store.close();

    const state = tempDir('agent');
    dirs.push(state);
    track(startChild('agent', [cli, 'agent', 'run', '--collector', lb.url, '--ca-pin', tls.pin, '--enroll', token, '--state', state, '--replay', RECORDED_PC]));
    const agentId = await until('the agent online', async () => (await db.query<{ id: string }>('SELECT id FROM agents WHERE online = 1')).rows[0]?.id);
    // The node the agent is connected to, and the other one.
    const onNode = async (n: NodeChild) => ((await https(`https://127.0.0.1:${n.port}/healthz`, tls.caPem)).json as { agentsConnected: number }).agentsConnected;
    const home = await until('the agent on a node', async () => ((await onNode(a!)) === 1 ? a! : (await onNode(b!)) === 1 ? b! : undefined));
    const other = home === a ? b! : a!;

    // A console session made through the balancer works on whichever node answers next.
    const session = new ConsoleSession(lb.consoleUrl, tls.caPem);
    await session.login('admin', initialAdminPassword([a!, b!]));
    const changed = await session.call('POST', '/api/v1/session/password', { current: initialAdminPassword([a!, b!]), next: 'Sapporo-Cluster-2026!' });
    expect(changed.status).toBe(200);
    const before = [...lb.connections];
    for (let k = 0; k < 4; k++) expect((await session.call('GET', '/api/v1/session')).status).toBe(200);
    expect(lb.connections.every((n, i) => n > before[i]!)).toBe(true);

    // A policy saved on the OTHER node (signed there) reaches the agent through its home node and is applied.
    const direct = new ConsoleSession(`https://127.0.0.1:${other.port}`, tls.caPem);
    await direct.login('admin', 'Sapporo-Cluster-2026!');
    const current = await direct.call('GET', '/api/v1/policy');
    const saved = await direct.call('PUT', '/api/v1/policy', {
      settings: { base: { disabledRules: ['SW-003'], enabledRules: [], params: {} }, segments: {}, groups: {} },
      basedOn: current.json.revision?.version ?? 0,
      comment: 'クラスタ検証: SW-003 を無効化',
    });
    expect(saved.status).toBe(200);
    const epoch = saved.json.epoch as number;
    await until('policy.applied from the agent', async () => {
      const { rows } = await db.query<{ payload: string }>("SELECT payload FROM events WHERE agent_id = $1 AND kind = 'policy.applied'", [agentId]);
      return rows.some((r) => JSON.parse(r.payload).version === epoch) || undefined;
    });
    const rejected = await db.query("SELECT payload FROM events WHERE agent_id = $1 AND kind = 'agent.notice' AND payload LIKE '%policy.rejected%'", [agentId]);
    expect(rejected.rows).toEqual([]);

    // Its node dies: the agent comes back through the balancer on the other node and answers a scan there.
    const seqBefore = Number((await db.query('SELECT last_seq FROM agents WHERE id = $1', [agentId])).rows[0].last_seq);
    await home.kill9();
    await until('the agent on the surviving node', async () => ((await onNode(other)) === 1 ? true : undefined));
    const scan = await direct.call('POST', '/api/v1/scans', { agentIds: [agentId], checks: ['software', 'os-patches'] });
    expect(scan.status).toBe(200);
    const scanId = scan.json.requests[0].id as string;
    await until('the scan answered', async () => ((await db.query('SELECT state FROM scan_requests WHERE id = $1', [scanId])).rows[0]?.state === 'done' ? true : undefined));
    // Nothing lost, nothing twice: the stored sequence is 1..last_seq without a hole, and grew.
    const seqs = (await db.query<{ seq: number }>('SELECT seq::int AS seq FROM events WHERE agent_id = $1 ORDER BY seq', [agentId])).rows.map((r) => r.seq);
    expect(seqs.length).toBeGreaterThan(seqBefore);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, k) => k + 1));
  });
});

describe.runIf(!pgProbe.available && PG_REQUIRED)('collector nodes as one collector: PostgreSQL required', () => {
  it('PostgreSQL is reachable (MAMORI_REQUIRE_PG=1)', () => {
    throw new Error(`${pgProbe.reason} — MAMORI_REQUIRE_PG=1 requires PostgreSQL at ${PG_URL}`);
  });
});
