/**
 * The orchestrator's handle on the simulated agents: several swarm-worker processes (each
 * under its own fd limit), driven together.
 */
import { ensureSessionTicketSecret, initTls } from '../../src/shared/tls/material.js';
import { ticketKeysFor, ticketPeriod } from '../../src/shared/tls/session-tickets.js';
import { Worker, collectorNodeFlags, sleep, splitRange } from './common.js';

export interface SwarmStats {
  agents: number;
  ready: number;
  notReady: number;
  neverBack: number;
  unacked: number;
  maxAttempts: number;
  ackedEvents: number;
  framesSent: number;
  eventsSent: number;
  welcomes: number;
  connectFailures: number;
  closes: number;
  attempts: number;
  lastWelcomeAt: number;
  badFrames: number;
  /** TLS handshakes that resumed a session / made a full handshake (wss only). */
  resumedHandshakes: number;
  fullHandshakes: number;
  closeCodes: Record<string, number>;
}

export class Swarm {
  private constructor(readonly workers: Worker[]) {}

  static start(processes: number, label = 'agents'): Swarm {
    return new Swarm(Array.from({ length: processes }, (_, i) => Worker.start(`${label}-${i}`, 'swarm-worker.mjs')));
  }

  /** Connect `total` agents (ids 0..total-1) split over the processes; wall time until all are ready or failed. */
  async connect(url: string, mode: 'mamori' | 'raw', total: number, inflight: number, timeoutMs: number, ca?: string, resume = true): Promise<{ ready: number; failed: number; ms: number }> {
    const ranges = splitRange(total, this.workers.length);
    const per = Math.max(1, Math.floor(inflight / this.workers.length));
    const t0 = performance.now();
    const parts = await Promise.all(
      this.workers.map((w, i) => w.call<{ ready: number; failed: number; ms: number }>('connect', { url, mode, first: ranges[i]!.first, count: ranges[i]!.count, inflight: per, timeoutMs, resume, ...(ca ? { ca } : {}) }, timeoutMs + 30_000)),
    );
    return { ready: sum(parts.map((p) => p.ready)), failed: sum(parts.map((p) => p.failed)), ms: performance.now() - t0 };
  }

  all(cmd: string, args: unknown = {}): Promise<unknown[]> {
    return Promise.all(this.workers.map((w) => w.call(cmd, args)));
  }

  async stats(): Promise<SwarmStats> {
    const parts = await Promise.all(this.workers.map((w) => w.call<SwarmStats>('stats')));
    const out = { ...parts[0]! };
    out.closeCodes = {};
    for (const p of parts) for (const [code, n] of Object.entries(p.closeCodes)) out.closeCodes[code] = (out.closeCodes[code] ?? 0) + n;
    for (const key of Object.keys(out) as (keyof SwarmStats)[]) {
      if (key === 'closeCodes') continue;
      out[key] = key === 'maxAttempts' || key === 'lastWelcomeAt' ? Math.max(...parts.map((p) => p[key])) : sum(parts.map((p) => p[key]));
    }
    return out;
  }

  async ackedSum(): Promise<number> {
    return sum(await Promise.all(this.workers.map((w) => w.call<number>('ackedSum'))));
  }

  rssMb(): number {
    return sum(this.workers.map((w) => w.rssMb()));
  }

  /** CPU seconds the simulated agents' processes have used (the load generator's share of the machine). */
  cpuSeconds(): number {
    return sum(this.workers.map((w) => w.cpuSeconds()));
  }

  async stop(): Promise<void> {
    await this.all('closeAll').catch(() => undefined);
    for (const w of this.workers) w.kill();
    await Promise.all(this.workers.map((w) => w.exited));
  }
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** End a raw-ws baseline phase: stop its clients and the raw server, then let the sockets drain before the next phase. */
export async function endRawPhase(swarm: Swarm, raw: Worker): Promise<void> {
  await swarm.stop();
  await raw.call('close');
  raw.kill();
  await sleep(2000);
}

/** The real collector (startCollector) in a worker process on `port` (0 = any free port). */
/**
 * The collector as shipped: TLS with its own CA and ECDSA server certificate (made in the data
 * directory as `mamori collector init` does), unless `plain` is asked for as a reference.
 */
export async function startCollectorWorker(dataDir: string, port = 0, opts: { plain?: boolean } = {}): Promise<{ collector: Worker; port: number; agentUrl: string; ca?: string }> {
  const collector = Worker.start('collector', 'collector-worker.mjs', [], collectorNodeFlags());
  const started = await collector.call<{ port: number; agentUrl: string; ca?: string }>('start', { dataDir, port, tls: !opts.plain });
  return { collector, ...started };
}

/**
 * The raw ws baseline server, over TLS with the same certificate and session ticket keys as the
 * collector (from the same data directory) or plain; `url` is what its clients connect to.
 */
export async function startRawServer(dataDir: string, tls: boolean, port = 0): Promise<{ raw: Worker; port: number; url: string; ca?: string }> {
  const raw = Worker.start(tls ? 'raw-wss' : 'raw-ws', 'raw-server-worker.mjs');
  const material = tls ? (await initTls(dataDir)).material : undefined;
  const ticketKeys = tls ? ticketKeysFor(ensureSessionTicketSecret(dataDir), ticketPeriod(Date.now())).toString('hex') : undefined;
  const listening = await raw.call<{ port: number }>('listen', { port, ...(material ? { tls: { key: material.key, cert: material.cert, ticketKeys } } : {}) });
  return { raw, port: listening.port, url: `${tls ? 'wss' : 'ws'}://127.0.0.1:${listening.port}/`, ...(material ? { ca: material.caPem } : {}) };
}
