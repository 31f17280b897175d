/**
 * PostgreSQL ingest and fan-out, measured in one run next to PostgreSQL's own batched insert
 * rate on the same machine:
 *   1. raw PostgreSQL: multi-row (unnest) INSERT of event-shaped rows, 1,000 per statement, one transaction per 5,000
 *   2. PostgresStore.ingest: the same volume through the exactly-once store (row locks, projections), 5,000 events per flush
 *   3. 1, 2 and 3 collector nodes (processes) behind one TCP balancer, real agent outbox + link,
 *      events from append to acknowledged; and fan-out: violation appended on an agent → seen on every node's live bus.
 *
 *   npx esbuild bench/pg-ingest.ts --bundle --platform=node --format=esm --packages=external --outfile=dist/bench/pg-ingest.mjs
 *   MAMORI_PG_URL=postgres://… node dist/bench/pg-ingest.mjs [--agents 40] [--events 2000] [--warmup 500] [--nodes 1,2,3] [--skip-baselines]
 *       [--node-cpu 0.25] [--steady 4000] [--steady-seconds 10]
 *
 * --node-cpu C: every node count is run twice, as it is (all parts share this machine's cores)
 * and with each node in a cgroup of its own limited to C cores, as a node on a small machine of
 * its own (root needed; bench/lib/cpu-cgroup.ts). With the nodes the bound part, 1 against 3
 * nodes at the same budget shows whether nodes add throughput on one database.
 * --steady R: before the burst, the agents send R events/s in all for --steady-seconds, each on
 * its own clock (light load): commits per event, CPU per event and ack latency at that rate.
 * --ingest-delay-ms D: the nodes' group commit waits up to D ms for more batches (default 5).
 */
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import WebSocket from 'ws';
import { createEnrollmentToken } from '../src/collector/tokens.js';
import { openPostgresStore } from '../src/collector/store/postgres/open.js';
import { createCpuCgroup, statBetween } from './lib/cpu-cgroup.js';
import type { CpuCgroup, CpuStat } from './lib/cpu-cgroup.js';
import type { AgentEvent } from '../src/shared/protocol/messages.js';
import { LoadBalancer, buildPrograms, https, makeClusterTls, startChild, startNode, tempDir } from '../test/cluster/harness.js';
import type { ClusterTls } from '../test/cluster/harness.js';
import type { Child, NodeChild } from '../test/cluster/harness.js';
import { PG_URL, createTestDatabase, pgUnavailableReason } from '../test/cluster/pg-env.js';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '40' },
    events: { type: 'string', default: '2000' },
    nodes: { type: 'string', default: '1,2,3' },
    warmup: { type: 'string', default: '500' },
    'skip-baselines': { type: 'boolean', default: false },
    'node-cpu': { type: 'string' },
    steady: { type: 'string', default: '0' },
    'steady-seconds': { type: 'string', default: '10' },
    'ingest-delay-ms': { type: 'string' },
  },
});
const AGENTS = Number(values.agents);
const PER_AGENT = Number(values.events);
/** Events per agent stored before the measurement: every node process compiles its hot path and opens its pool's sessions first. */
const WARMUP = Number(values.warmup);
const RAW_ROWS = 200_000;
/** Cores of each node's own budget in the capped runs; undefined: no capped runs. */
const NODE_CPU = values['node-cpu'] === undefined ? undefined : Number(values['node-cpu']);
const STEADY_RATE = Number(values.steady);
const STEADY_SECONDS = Number(values['steady-seconds']);
/** The steady load's tick: every agent appends its share this often. */
const STEADY_TICK_MS = 100;
const IDLE_MS = 4000;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

async function rawInsertRate(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query('CREATE TABLE raw_events (agent_id TEXT NOT NULL, seq BIGINT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL, received_at TEXT NOT NULL, payload TEXT NOT NULL, PRIMARY KEY (agent_id, seq))');
  const start = performance.now();
  for (let tx = 0; tx < RAW_ROWS; tx += 5000) {
    await c.query('BEGIN');
    for (let b = tx; b < tx + 5000; b += 1000) {
      // Every row its own time and payload, as agents send them.
      const ids: string[] = [];
      const seqs: number[] = [];
      const ats: string[] = [];
      const payloads: string[] = [];
      for (let k = b; k < b + 1000; k++) {
        const at = new Date().toISOString();
        ids.push(`ag_${k % 100}`);
        seqs.push(k);
        ats.push(at);
        payloads.push(JSON.stringify({ seq: k, at, kind: 'agent.notice', notice: 'bench', detail: { i: k } }));
      }
      await c.query(`INSERT INTO raw_events SELECT a, s, 'agent.notice', t.at, $4, p FROM unnest($1::text[], $2::bigint[], $3::text[], $5::text[]) AS t(a, s, at, p)`, [ids, seqs, ats, new Date().toISOString(), payloads]);
    }
    await c.query('COMMIT');
  }
  const rate = RAW_ROWS / ((performance.now() - start) / 1000);
  await c.end();
  return rate;
}

async function storeIngestRate(url: string): Promise<number> {
  const store = await openPostgresStore(url);
  const ids = Array.from({ length: 100 }, (_, k) => `ag_bench${String(k).padStart(20, '0')}`);
  for (const id of ids) await store.createAgent({ id, secret: 'x', hostname: id, os: { platform: 'linux', hostname: id, release: 'b' }, agentVersion: 'b', segment: 'lgwan', enrolledAt: new Date().toISOString(), tokenId: 't' });
  const start = performance.now();
  const flushes = RAW_ROWS / 5000;
  for (let f = 0; f < flushes; f++) {
    const batches = ids.map((agentId) => ({
      agentId,
      events: Array.from({ length: 50 }, (_, k): AgentEvent => ({ seq: f * 50 + k + 1, at: new Date().toISOString(), kind: 'agent.notice', notice: 'bench', detail: { i: k } })),
    }));
    await store.ingest(batches, new Date().toISOString());
  }
  const rate = RAW_ROWS / ((performance.now() - start) / 1000);
  await store.close();
  return rate;
}

interface Status {
  agentId: string;
  lastSeq: number;
  acked: number;
}

async function status(agents: Child): Promise<Status[]> {
  const after = agents.lines.length;
  agents.send({ cmd: 'status' });
  return (await agents.json<{ status: Status[] }>('status', 20_000, after)).status;
}

/** CPU time (user + system) of a process so far, ms, from /proc/<pid>/stat (clock ticks of 10 ms); 0 when it is gone. */
function cpuMsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

/** Pids of every PostgreSQL server process on this machine (the postmaster, its backends and helpers). */
function postgresPids(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/comm`, 'utf8').trim() === 'postgres') pids.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

type Part = 'nodes' | 'pgSessions' | 'pgServer' | 'agents' | 'balancer';
const PARTS: readonly Part[] = ['nodes', 'pgSessions', 'pgServer', 'agents', 'balancer'];
/** A figure for every part. */
const eachPart = (f: (part: Part) => number) => Object.fromEntries(PARTS.map((k) => [k, f(k)])) as Record<Part, number>;
interface CpuReading {
  parts: Record<Exclude<Part, 'pgSessions' | 'pgServer'>, number>;
  /** pid → CPU ms of every PostgreSQL process; `sessions` are the backends of the bench's database. */
  postgres: Map<number, number>;
  sessions: Set<number>;
}

/**
 * CPU ms so far of each part of the run: the collector nodes, the simulated agents, this
 * process (the balancer), and PostgreSQL split in two — the sessions of the run's database
 * (what the nodes asked for) and the rest of the server (WAL writer, checkpointer, autovacuum,
 * and the other databases of this shared machine).
 */
async function readCpu(nodes: readonly NodeChild[], agents: Child, c: pg.Client): Promise<CpuReading> {
  const own = process.cpuUsage();
  const { rows } = await c.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
  return {
    parts: { nodes: nodes.reduce((n, ch) => n + cpuMsOf(ch.proc.pid!), 0), agents: cpuMsOf(agents.proc.pid!), balancer: (own.user + own.system) / 1000 },
    postgres: new Map(postgresPids().map((pid) => [pid, cpuMsOf(pid)])),
    sessions: new Set(rows.map((r) => r.pid)),
  };
}

/** CPU ms of each part between two readings (a PostgreSQL process that started in between counts from 0). */
function cpuBetween(a: CpuReading, b: CpuReading): Record<Part, number> {
  let pgSessions = 0;
  let pgServer = 0;
  for (const [pid, ms] of b.postgres) {
    const d = ms - (a.postgres.get(pid) ?? 0);
    if (b.sessions.has(pid) || a.sessions.has(pid)) pgSessions += d;
    else pgServer += d;
  }
  return { nodes: b.parts.nodes - a.parts.nodes, pgSessions, pgServer, agents: b.parts.agents - a.parts.agents, balancer: b.parts.balancer - a.parts.balancer };
}

/**
 * What the database's sessions wait on, sampled every 100 ms during the ingest phase: counts of
 * (wait_event_type:wait_event) over the active sessions of this database, the samples that saw a
 * lock wait (row locks show as Lock:transactionid or Lock:tuple), and the lock requests not granted.
 */
async function sampleWaits(url: string): Promise<{ stop: () => Promise<{ samples: number; waits: Record<string, number>; samplesWithLockWait: number; ungrantedLocks: number; activeSessions: number; blocking: Record<string, number>; ownQueries: number }> }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const waits: Record<string, number> = {};
  let samples = 0;
  let samplesWithLockWait = 0;
  let ungrantedLocks = 0;
  let activeSessions = 0;
  const blocking: Record<string, number> = {};
  let ownQueries = 1; // LISTEN of the notification counter
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rows } = await c.query<{ w: string; n: string }>(
        `SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') AS w, count(*) AS n FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active' AND backend_type = 'client backend' GROUP BY 1`,
      );
      const locks = await c.query<{ n: string }>('SELECT count(*) AS n FROM pg_locks WHERE NOT granted');
      samples++;
      ownQueries += 2;
      let lockWait = false;
      for (const r of rows) {
        waits[r.w] = (waits[r.w] ?? 0) + Number(r.n);
        activeSessions += Number(r.n);
        if (r.w.startsWith('Lock:')) lockWait = true;
      }
      if (lockWait) {
        samplesWithLockWait++;
        const pairs = await blockingPairs(c);
        ownQueries += 1 + pairs.filter((b) => b.lookedUp).length;
        for (const b of pairs) {
          const key = `${b.waiting_for} | blocked: ${b.blocked} | blocker (${b.blocker_state}): ${b.blocker}`;
          blocking[key] = (blocking[key] ?? 0) + 1;
        }
      }
      ungrantedLocks += Number(locks.rows[0]!.n);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      await c.end();
      return { samples, waits, samplesWithLockWait, ungrantedLocks, activeSessions, blocking, ownQueries };
    },
  };
}

/**
 * Who waits on whom right now: each session waiting on a lock, the session(s) `pg_blocking_pids`
 * names, the last statement of each, and what the waiter waits for — the locked row as
 * relation, ctid and its `id` column when the waiter holds or waits for a tuple lock.
 */
async function blockingPairs(c: pg.Client): Promise<{ waiting_for: string; blocked: string; blocker: string; blocker_state: string; lookedUp: boolean }[]> {
  const { rows } = await c.query<{ waiting_for: string; blocked: string; blocker: string; blocker_state: string; rel: string | null; page: number | null; tuple: number | null }>(
    `SELECT a.wait_event_type || ':' || a.wait_event AS waiting_for, a.application_name || ' ' || left(regexp_replace(a.query, '\\s+', ' ', 'g'), 90) AS blocked,
            b.application_name || ' ' || left(regexp_replace(b.query, '\\s+', ' ', 'g'), 90) AS blocker, b.state AS blocker_state,
            t.relation::regclass::text AS rel, t.page, t.tuple
     FROM pg_stat_activity a
     CROSS JOIN LATERAL unnest(pg_blocking_pids(a.pid)) AS bp(pid)
     JOIN pg_stat_activity b ON b.pid = bp.pid
     LEFT JOIN LATERAL (SELECT relation, page, tuple FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'tuple' LIMIT 1) t ON true
     WHERE a.datname = current_database() AND a.wait_event_type = 'Lock'`,
  );
  const out = [];
  for (const r of rows) {
    let row = '';
    if (r.rel) {
      // Which row: its id when the table has one (agents, …); the ctid otherwise.
      const found = await c.query<{ id: string }>(`SELECT id::text AS id FROM ${r.rel} WHERE ctid = '(${r.page},${r.tuple})'::tid`).catch(() => ({ rows: [] as { id: string }[] }));
      row = ` ${r.rel} ${found.rows[0] ? `id ${found.rows[0].id.slice(0, 16)}…` : `ctid (${r.page},${r.tuple})`}`;
    }
    out.push({ waiting_for: r.waiting_for + row, blocked: r.blocked, blocker: r.blocker, blocker_state: r.blocker_state, lookedUp: r.rel !== null });
  }
  return out;
}

/** Notifications on the cluster's events channel and their payload bytes (what NOTIFY carries between nodes). */
async function countNotifications(url: string): Promise<{ stop: () => Promise<{ notifications: number; bytes: number }> }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  let notifications = 0;
  let bytes = 0;
  c.on('notification', (msg) => {
    notifications++;
    bytes += Buffer.byteLength(msg.payload ?? '');
  });
  await c.query('LISTEN mamori_events');
  return {
    stop: async () => {
      await c.end();
      return { notifications, bytes };
    },
  };
}

interface ClusterRun {
  rate: number;
  fanout: number[];
  /** CPU ms per 1,000 stored events of each part, during the ingest phase. */
  cpuPer1000: Record<Part, number>;
  /** The same less what the part spends per second when idle (measured just before): the work the events cost. */
  workPer1000: Record<Part, number>;
  idleMsPerSecond: Record<Part, number>;
  waits: Awaited<ReturnType<Awaited<ReturnType<typeof sampleWaits>>['stop']>>;
  notify: { notifications: number; bytes: number };
  /** Transactions committed in the database per 1,000 stored events (the bench's own queries taken out): how large the group commits were. */
  commitsPer1000?: number;
  /** The nodes' group commits (store.ingest calls) per 1,000 stored events, counted in the nodes. */
  flushesPer1000: number;
  ackLatency: AckLatency;
  /** Capped runs: each node's budget, the share of a core it used during the burst and its throttled periods. */
  budget?: { cores: number; nodes: { share: number; stat: CpuStat }[] };
  steady?: SteadyRun;
}

interface AckLatency {
  batches: number;
  p50: number;
  p99: number;
  max: number;
}

/** The light-load phase: what R events/s cost per event, how often the nodes committed and how long an agent waited for its ack. */
interface SteadyRun {
  rate: number;
  workPer1000: Record<Part, number>;
  flushesPer1000: number;
  ackLatency: AckLatency;
}

async function ackLatency(agents: Child): Promise<AckLatency> {
  const after = agents.lines.length;
  agents.send({ cmd: 'latency' });
  return (await agents.json<{ latency: AckLatency }>('latency', 20_000, after)).latency;
}

/** Group commits and events so far, summed over the nodes (their test endpoint counts store.ingest calls). */
async function ingestStats(nodes: readonly NodeChild[], tls: ClusterTls): Promise<{ flushes: number; events: number }> {
  const all = await Promise.all(nodes.map((n) => https(`https://127.0.0.1:${n.port}/test/ingest-stats`, tls.caPem)));
  return all.reduce((t, r) => ({ flushes: t.flushes + Number(r.json.flushes), events: t.events + Number(r.json.events) }), { flushes: 0, events: 0 });
}

async function clusterRun(programs: Awaited<ReturnType<typeof buildPrograms>>, tls: ClusterTls, nodesCount: number, nodeCpu?: number): Promise<ClusterRun> {
  const database = await createTestDatabase();
  const nodes: NodeChild[] = [];
  const groups: CpuCgroup[] = [];
  const dirs: string[] = [];
  let result: ClusterRun | undefined;
  let commits0 = 0;
  let agents: Child | undefined;
  let balancer: LoadBalancer | undefined;
  try {
    for (let k = 0; k < nodesCount; k++) {
      // The node's sessions carry its name (pg reads PGAPPNAME), so a lock wait says which node waits on which.
      process.env.PGAPPNAME = `N${k}`;
      // A capped node runs in its own group from its first instruction (all its threads follow the process).
      const group = nodeCpu === undefined ? undefined : createCpuCgroup(`mamori-bench-${process.pid}-N${k}`, nodeCpu);
      if (group) groups.push(group);
      nodes.push(await startNode(programs.node, database.url, `N${k}`, tls, 0, (pid) => group?.add(pid)));
    }
    delete process.env.PGAPPNAME;
    balancer = new LoadBalancer(nodes.map((n) => n.port));
    await balancer.start();
    const store = await openPostgresStore(database.url, { maxConnections: 1 });
    const { token } = await createEnrollmentToken(store, { segment: 'lgwan', expiresInMs: 3_600_000, singleUse: false });
    await store.close();
    const dir = tempDir('bench-sim');
    dirs.push(dir);
    agents = startChild('sim', [programs.sim, '--collector', balancer.url, '--state', dir, '--ca-pin', tls.pin, '--token', token, '--agents', String(AGENTS), '--batch', '500'], true);
    await agents.json('ready', 120_000);
    await new Promise((r) => setTimeout(r, 1000));

    // Fan-out: one violation at a time, seen on every node's bus.
    const watchers = await Promise.all(nodes.map((n) => openWatcher(n.port, tls)));
    const fanout: number[] = [];
    for (let k = 0; k < 20; k++) {
      const subject = `usb:bench:${nodesCount}:${k}`;
      const seen = watchers.map((w) => w.waitFor(subject));
      const sent = Date.now();
      agents.send({ cmd: 'violation', agent: k % AGENTS, subject });
      const times = await Promise.all(seen);
      fanout.push(Math.max(...times) - sent);
    }
    watchers.forEach((w) => w.close());

    // Idle: the same polling and sampling as during the ingest, no events. What each part spends
    // per second here (timers, heartbeats, the bench's own queries, other work on the server) is
    // taken out of its ingest CPU below.
    const warm = await status(agents);
    if (WARMUP > 0) {
      agents.send({ cmd: 'append', agent: 'all', count: WARMUP });
      for (;;) {
        const s = await status(agents);
        if (s.every((a, i) => a.acked === a.lastSeq && a.lastSeq >= warm[i]!.lastSeq + WARMUP)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const steadyPhase = STEADY_RATE > 0 ? await steadyLoad(agents, nodes, tls, database.url) : undefined;
    const base = await status(agents);
    // Statistics of idle sessions reach pg_stat_database up to 10 s late (PostgreSQL 15): wait them out.
    await new Promise((r) => setTimeout(r, 11_000));
    const probe = new pg.Client({ connectionString: database.url });
    await probe.connect();
    const idleSampler = await sampleWaits(database.url);
    const idle0 = await readCpu(nodes, agents, probe);
    const idleStart = performance.now();
    while (performance.now() - idleStart < IDLE_MS) {
      await status(agents);
      await new Promise((r) => setTimeout(r, 100));
    }
    const idle1 = await readCpu(nodes, agents, probe);
    const idleSeconds = (performance.now() - idleStart) / 1000;
    await idleSampler.stop();
    await new Promise((r) => setTimeout(r, 300));
    commits0 = await commitsOf(database.name);

    // Ingest: every agent appends PER_AGENT events at once; time until all are acknowledged (stored).
    const sampler = await sampleWaits(database.url);
    const notices = await countNotifications(database.url);
    const stats0 = await ingestStats(nodes, tls);
    await ackLatency(agents);
    const throttle0 = groups.map((g) => g.stat());
    const nodeCpu0 = nodes.map((n) => cpuMsOf(n.proc.pid!));
    const cpu0 = await readCpu(nodes, agents, probe);
    const start = performance.now();
    agents.send({ cmd: 'append', agent: 'all', count: PER_AGENT });
    for (;;) {
      const s = await status(agents);
      if (s.every((a, i) => a.acked === a.lastSeq && a.lastSeq >= base[i]!.lastSeq + PER_AGENT)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (performance.now() - start) / 1000;
    const rate = (AGENTS * PER_AGENT) / seconds;
    const cpu1 = await readCpu(nodes, agents, probe);
    const budget = nodeCpu === undefined ? undefined : { cores: groups[0]!.cores, nodes: nodes.map((n, k) => ({ share: (cpuMsOf(n.proc.pid!) - nodeCpu0[k]!) / (seconds * 1000), stat: statBetween(throttle0[k]!, groups[k]!.stat()) })) };
    const stats1 = await ingestStats(nodes, tls);
    const latency = await ackLatency(agents);
    await probe.end();
    const used = cpuBetween(cpu0, cpu1);
    const idlePerSecond = cpuBetween(idle0, idle1);
    const per1000 = (ms: number) => (ms / (AGENTS * PER_AGENT)) * 1000;
    const idleMsPerSecond = eachPart((k) => idlePerSecond[k] / idleSeconds);
    const cpuPer1000 = eachPart((k) => per1000(used[k]));
    const workPer1000 = eachPart((k) => per1000(Math.max(0, used[k] - idleMsPerSecond[k] * seconds)));
    const steady = steadyPhase && { rate: steadyPhase.rate, workPer1000: eachPart((k) => ((steadyPhase.used[k] - idleMsPerSecond[k] * steadyPhase.seconds) / steadyPhase.events) * 1000), flushesPer1000: steadyPhase.flushesPer1000, ackLatency: steadyPhase.ackLatency };
    result = {
      rate,
      fanout,
      cpuPer1000,
      workPer1000,
      idleMsPerSecond,
      waits: await sampler.stop(),
      notify: await notices.stop(),
      flushesPer1000: ((stats1.flushes - stats0.flushes) / (stats1.events - stats0.events)) * 1000,
      ackLatency: latency,
      ...(budget ? { budget } : {}),
      ...(steady ? { steady } : {}),
    };
  } finally {
    await agents?.stop();
    await Promise.all(nodes.map((n) => n.stop()));
    for (const g of groups) g.remove();
    // Sessions that end report their statistics: the commits of the run are all counted now.
    if (result) result.commitsPer1000 = ((await commitsOf(database.name)) - commits0 - result.waits.ownQueries) / ((AGENTS * PER_AGENT) / 1000);
    await balancer?.close();
    await database.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
  return result!;
}

/**
 * Light load: every agent on its own clock appends its share of STEADY_RATE every tick; after
 * one second to settle, CPU, the nodes' group commits and the agents' ack latency are read over
 * STEADY_SECONDS; then the load stops and everything sent is acknowledged.
 */
async function steadyLoad(agents: Child, nodes: readonly NodeChild[], tls: ClusterTls, url: string): Promise<{ rate: number; used: Record<Part, number>; seconds: number; events: number; flushesPer1000: number; ackLatency: AckLatency }> {
  const perTick = Math.max(1, Math.round((STEADY_RATE * STEADY_TICK_MS) / 1000 / AGENTS));
  agents.send({ cmd: 'load', perTick, ms: STEADY_TICK_MS, spread: true });
  await new Promise((r) => setTimeout(r, 1000));
  const probe = new pg.Client({ connectionString: url });
  await probe.connect();
  try {
    const stats0 = await ingestStats(nodes, tls);
    await ackLatency(agents);
    const cpu0 = await readCpu(nodes, agents, probe);
    const start = performance.now();
    while (performance.now() - start < STEADY_SECONDS * 1000) {
      await status(agents);
      await new Promise((r) => setTimeout(r, 100));
    }
    const cpu1 = await readCpu(nodes, agents, probe);
    const seconds = (performance.now() - start) / 1000;
    const stats1 = await ingestStats(nodes, tls);
    const latency = await ackLatency(agents);
    const events = stats1.events - stats0.events;
    return { rate: events / seconds, used: cpuBetween(cpu0, cpu1), seconds, events, flushesPer1000: ((stats1.flushes - stats0.flushes) / events) * 1000, ackLatency: latency };
  } finally {
    await probe.end();
    const after = agents.lines.length;
    agents.send({ cmd: 'stopLoad' });
    await agents.json('loadStopped', 20_000, after);
    for (;;) {
      const s = await status(agents);
      if (s.every((a) => a.acked === a.lastSeq)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Transactions committed so far in a database (pg_stat_database, read from the server's own database). */
async function commitsOf(database: string): Promise<number> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    const { rows } = await c.query<{ n: string }>('SELECT xact_commit AS n FROM pg_stat_database WHERE datname = $1', [database]);
    return Number(rows[0]?.n ?? 0);
  } finally {
    await c.end();
  }
}

async function openWatcher(port: number, tls: ClusterTls): Promise<{ waitFor(subject: string): Promise<number>; close(): void }> {
  const ws = new WebSocket(`wss://127.0.0.1:${port}/test/stream`, { ca: tls.caPem });
  const waiting = new Map<string, (t: number) => void>();
  ws.on('message', (data) => {
    const item = JSON.parse(data.toString()) as { event: { violation?: { subject: string } } };
    const subject = item.event.violation?.subject;
    if (subject) waiting.get(subject)?.(Date.now());
  });
  await new Promise((res, rej) => (ws.once('open', res), ws.once('error', rej)));
  return { waitFor: (subject) => new Promise((res) => waiting.set(subject, res)), close: () => ws.terminate() };
}

/** One run's figures, the capped ones labelled as each node on its own budget. */
function report(n: number, run: ClusterRun): void {
  const { rate, fanout, cpuPer1000, workPer1000, idleMsPerSecond, waits, notify, commitsPer1000, flushesPer1000, ackLatency: latency, budget, steady } = run;
  const label = budget ? `, each node on its own ${budget.cores} core` : '';
  const line = (r: Record<Part, number>) => `${PARTS.map((k) => `${k} ${r[k].toFixed(1)}`).join(', ')}; total ${PARTS.reduce((t, k) => t + r[k], 0).toFixed(1)}`;
  if (steady) {
    process.stdout.write(`  ${n} node${n > 1 ? 's' : ' '}${label}: light load ${fmt(steady.rate)} events/s (each agent on its own clock): group commits per 1,000 events ${steady.flushesPer1000.toFixed(1)}; ack latency p50 ${steady.ackLatency.p50} ms, p99 ${steady.ackLatency.p99} ms (${fmt(steady.ackLatency.batches)} batches)\n`);
    process.stdout.write(`     light load, CPU ms per 1,000 events less idle: ${line(steady.workPer1000)}\n`);
  }
  process.stdout.write(`  ${n} node${n > 1 ? 's' : ' '}${label}: durable ingest ${fmt(rate)} events/s; fan-out to every node's bus p50 ${pct(fanout, 50)} ms, p99 ${pct(fanout, 99)} ms (max ${Math.max(...fanout)} ms); ack latency p50 ${latency.p50} ms, p99 ${latency.p99} ms (${fmt(latency.batches)} batches)\n`);
  if (budget) process.stdout.write(`     each node's budget ${budget.cores} core: used during the burst ${budget.nodes.map((b, k) => `N${k} ${b.share.toFixed(2)} (throttled in ${b.stat.throttled} of ${b.stat.periods} periods, ${fmt(b.stat.throttledMs)} ms)`).join(', ')}\n`);
  const cpuTotal = PARTS.reduce((t, k) => t + cpuPer1000[k], 0);
  process.stdout.write(`     CPU ms per 1,000 events: ${line(cpuPer1000)} (2 cores give ${fmt(2_000_000 / cpuTotal)} events/s at most; the parts got ${((rate * cpuTotal) / 1_000_000).toFixed(2)} of the 2 cores during the ingest, load average ${loadavg()[0]!.toFixed(1)})\n`);
  process.stdout.write(`     less each part's idle rate (CPU ms/s idle: ${line(idleMsPerSecond)}): ${line(workPer1000)}\n`);
  const top = Object.entries(waits.waits).sort((a, b) => b[1] - a[1]).slice(0, 6);
  process.stdout.write(`     database sessions active per sample ${(waits.activeSessions / Math.max(1, waits.samples)).toFixed(2)} (${waits.samples} samples): ${top.map(([w, k]) => `${w} ${((k / Math.max(1, waits.activeSessions)) * 100).toFixed(0)} %`).join(', ')}; samples with a lock wait ${waits.samplesWithLockWait}, ungranted locks seen ${waits.ungrantedLocks}\n`);
  for (const [pair, k] of Object.entries(waits.blocking).sort((a, b) => b[1] - a[1]).slice(0, 8)) process.stdout.write(`     lock wait ×${k}: ${pair}\n`);
  process.stdout.write(`     NOTIFY between nodes: ${fmt(notify.notifications)} notifications, ${fmt(notify.bytes / 1024)} KiB; database transactions committed per 1,000 events ${commitsPer1000?.toFixed(1)} (${fmt(1000 / (commitsPer1000 ?? 1))} events per commit), of them the nodes' group commits ${flushesPer1000.toFixed(1)}\n`);
  process.stdout.write(`BENCH_PG_CLUSTER ${JSON.stringify({ nodes: n, ...run, loadavg: loadavg() })}\n`);
}

const reason = await pgUnavailableReason();
if (reason) {
  process.stderr.write(`pg-ingest bench skipped: ${reason}\n`);
  process.exit(2);
}
if (NODE_CPU !== undefined) {
  // Before anything starts: a machine where no CPU quota can be set gets the reason, not half a run.
  try {
    createCpuCgroup(`mamori-bench-${process.pid}-probe`, NODE_CPU).remove();
  } catch (err) {
    process.stderr.write(`pg-ingest: --node-cpu ${values['node-cpu']} cannot be used: ${(err as Error).message}\n`);
    process.exit(2);
  }
}
// The nodes read it at start (test/cluster/procs/cluster-node.ts).
if (values['ingest-delay-ms'] !== undefined) process.env.MAMORI_TEST_INGEST_DELAY_MS = values['ingest-delay-ms'];
const programs = await buildPrograms();
try {
  if (!values['skip-baselines']) {
    const db = await createTestDatabase();
    let raw: number;
    let viaStore: number;
    try {
      raw = await rawInsertRate(db.url);
      viaStore = await storeIngestRate(db.url);
    } finally {
      await db.drop();
    }
    process.stdout.write(`PostgreSQL ingest (${RAW_ROWS.toLocaleString('en-US')} event rows)\n`);
    process.stdout.write(`  raw PostgreSQL batched insert (unnest, 1,000 rows/statement)  ${fmt(raw)} rows/s   (baseline)\n`);
    process.stdout.write(`  PostgresStore.ingest (row locks, exactly once, 5,000/flush)      ${fmt(viaStore)} events/s  (${((viaStore / raw) * 100).toFixed(0)} % of raw)\n`);
  }
  process.stdout.write(`collector nodes (TLS, one shared CA), ${AGENTS} agents (real outbox + link, CA pinned) × ${PER_AGENT} events after ${WARMUP} unmeasured, through one TCP balancer\n`);
  if (NODE_CPU !== undefined) process.stdout.write(`each node count twice: as it is (every part shares this machine's ${cpus().length} cores) and each node on its own budget of ${NODE_CPU} core (a cgroup CPU quota of its own, as a node on a small machine of its own)\n`);
  const tls = await makeClusterTls();
  const rates: { nodes: number; capped: boolean; rate: number }[] = [];
  for (const n of values.nodes.split(',').map(Number)) {
    for (const cap of NODE_CPU === undefined ? [undefined] : [undefined, NODE_CPU]) {
      const run = await clusterRun(programs, tls, n, cap);
      rates.push({ nodes: n, capped: cap !== undefined, rate: run.rate });
      report(n, run);
    }
  }
  const ratio = (capped: boolean) => {
    const of = (n: number) => rates.find((r) => r.nodes === n && r.capped === capped)?.rate;
    const one = of(1);
    const three = of(3);
    return one && three ? `${fmt(three)} / ${fmt(one)} = ${(three / one).toFixed(2)} ×` : 'not measured (needs --nodes with 1 and 3)';
  };
  process.stdout.write(`3 nodes against 1 node (target ≥ 1.5 ×): as it is ${ratio(false)}${NODE_CPU === undefined ? '' : `; each node on its own ${NODE_CPU} core ${ratio(true)}`}\n`);
} finally {
  programs.remove();
}
