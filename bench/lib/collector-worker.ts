/**
 * The real collector in a process of its own: startCollector() with the embedded SQLite store
 * under the given data directory and the default plugins, TLS as shipped (or plain when asked), logging silenced (a log line per
 * agent connect would measure the terminal). It counts what the bus publishes — the bus
 * fires only after the ingest transaction committed — and times helpdesk scans from
 * requestScan() to the stored scan.result.
 */
import { readFileSync } from 'node:fs';
import { startCollector } from '../../src/collector/collector.js';
import type { RunningCollector } from '../../src/collector/collector.js';
import { silentLogger } from '../../src/shared/log.js';
import { initTls } from '../../src/shared/tls/material.js';
import { serveRpc } from './common.js';

let collector: RunningCollector | undefined;
let storedEvents = 0;
/** [Date.now(), events stored so far] after each commit (the bus fires a commit's events in one go). */
const commits: [number, number][] = [];
let markPending = false;
/** Connections the HTTPS server dropped before the request (TLS errors and timeouts, bad requests), by error code. */
const dropped: Record<string, number> = {};
/** requestId → resolve, and scan results that arrived before requestScan() returned. */
const waiting = new Map<string, () => void>();
const arrivedEarly = new Set<string>();

async function start(args: { dataDir: string; port: number; tls: boolean }): Promise<{ port: number; agentUrl: string; ca?: string }> {
  const tls = args.tls ? (await initTls(args.dataDir)).material : undefined;
  // Every simulated agent connects from 127.0.0.1: the per-address cap on unauthenticated
  // connections (64, one office behind one address) would turn the swarm's reconnect storm into 503s,
  // and the per-address share of TLS handshakes in turn (16) would run the swarm's 16 at a time.
  collector = await startCollector({ dataDir: args.dataDir, host: '127.0.0.1', port: args.port, log: silentLogger(), ...(tls ? { tls } : {}), gateway: { preAuth: { perAddress: 100_000, total: 100_000 } }, handshakes: { perAddress: 100_000 } });
  const count = (err: NodeJS.ErrnoException) => (dropped[err.code ?? err.message] = (dropped[err.code ?? err.message] ?? 0) + 1);
  collector.app.server.on('tlsClientError', count);
  collector.app.server.on('clientError', count);
  collector.bus.on('event', (e) => {
    storedEvents++;
    if (!markPending) {
      markPending = true;
      setImmediate(() => {
        markPending = false;
        commits.push([Date.now(), storedEvents]);
      });
    }
    if (e.event.kind !== 'scan.result') return;
    const w = waiting.get(e.event.requestId);
    if (w) w();
    else arrivedEarly.add(e.event.requestId);
  });
  return { port: collector.port, agentUrl: collector.agentUrl, ...(tls ? { ca: tls.caPem } : {}) };
}

/** Request scans of the given agents, `concurrency` at a time; ms from requestScan() to the stored result. */
async function scan(args: { agentIds: string[]; concurrency: number; timeoutMs: number }): Promise<{ latencies: number[]; timedOut: number }> {
  const c = collector!;
  const latencies: number[] = [];
  let timedOut = 0;
  let next = 0;
  const one = async (agentId: string) => {
    const t0 = performance.now();
    const req = await c.requestScan(agentId, ['usb-media'], 'bench-helpdesk');
    await new Promise<void>((resolve) => {
      if (arrivedEarly.delete(req.id)) return (latencies.push(performance.now() - t0), resolve());
      const timer = setTimeout(() => (waiting.delete(req.id), timedOut++, resolve()), args.timeoutMs);
      waiting.set(req.id, () => {
        clearTimeout(timer);
        waiting.delete(req.id);
        latencies.push(performance.now() - t0);
        resolve();
      });
    });
  };
  const lane = async () => {
    while (next < args.agentIds.length) await one(args.agentIds[next++]!);
  };
  await Promise.all(Array.from({ length: args.concurrency }, lane));
  return { latencies, timedOut };
}

serveRpc({
  start,
  scan,
  stats: () => {
    // Connections closed while waiting for their turn of TLS handshake (src/shared/tls/handshake-queue.ts).
    const waited = collector?.handshakes?.().waitedTooLong ?? 0;
    return { connected: collector?.gateway.connectedAgents.length ?? 0, storedEvents, rss: process.memoryUsage().rss, dropped: { ...dropped, ...(waited ? { 'waited for a TLS turn too long': waited } : {}) } };
  },
  /**
   * CPU time so far, ms: the whole collector process (every thread) and its main thread alone
   * (the one serving the sockets; /proc/self/task/<pid>/stat, fields 14 and 15, in clock ticks
   * of 10 ms); and the events stored so far.
   */
  cpu: () => {
    const u = process.cpuUsage();
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return { cpuMs: (u.user + u.system) / 1000, mainThreadMs: (Number(fields[11]) + Number(fields[12])) * 10, storedEvents };
  },
  /**
   * Stored events per second between the first and the last commit inside [from, to] (epoch ms),
   * with the number of commits and the events per commit: free of the quantisation a fixed
   * window gives when commits are seconds apart.
   */
  commitRate: (args: { from: number; to: number }) => {
    const inside = commits.filter(([t]) => t >= args.from && t <= args.to);
    const first = inside[0];
    const last = inside[inside.length - 1];
    if (!first || !last || last === first) return { rate: NaN, commits: inside.length, eventsPerCommit: NaN, msBetweenCommits: NaN };
    const events = last[1] - first[1];
    return { rate: (events / (last[0] - first[0])) * 1000, commits: inside.length, eventsPerCommit: events / (inside.length - 1), msBetweenCommits: (last[0] - first[0]) / (inside.length - 1) };
  },
  /** Rows in the events table and the sum of the agents' last stored seq. */
  count: async () => {
    const store = collector!.store;
    const sum = await store.sql.get<{ s: number | null }>('SELECT sum(last_seq) AS s FROM agents');
    const done = await store.sql.get<{ n: number }>("SELECT count(*) AS n FROM scan_requests WHERE state = 'done'");
    return { events: await store.countEvents(), sumLastSeq: Number(sum?.s ?? 0), scansDone: done?.n ?? 0 };
  },
  /** Agents that have stored at least one event, and those of them that have stored fewer than `atLeast`. */
  agentsStored: async (args: { atLeast: number }) =>
    (await collector!.store.sql.get<{ started: number; short: number }>('SELECT count(*) AS started, coalesce(sum(last_seq < ?), 0) AS short FROM agents WHERE last_seq > 0', [args.atLeast]))!,
  close: async () => {
    await collector?.close();
    collector = undefined;
  },
});
