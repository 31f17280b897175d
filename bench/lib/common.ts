/**
 * Shared plumbing of the bench scripts: worker processes with a small request/response
 * protocol over the Node IPC channel, the identities of simulated agents, statistics and
 * the printed result tables.
 *
 * Every bench is one orchestrating process that forks the collector, the raw ws server and
 * the simulated agents as separate processes (each process has its own 20,000-fd limit),
 * all on 127.0.0.1.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { closeSync, fdatasyncSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { cpus, loadavg, totalmem, release } from 'node:os';
import { join } from 'node:path';

/** Deterministic id of simulated agent number `i` (matches the protocol's ag_… pattern). */
export function benchAgentId(i: number): string {
  return `ag_bench${String(i).padStart(20, '0')}`;
}

/** PKCS#8 DER of an Ed25519 private key: this fixed prefix and the 32-byte seed (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * Deterministic Ed25519 key of a simulated agent (seeded from its id): the seeding code stores
 * the public key, the swarm signs the challenge with the private key, as enrolled agents do.
 */
export function benchKey(agentId: string): { privateKey: KeyObject; publicKey: string } {
  const seed = createHash('sha256').update(`mamori-bench-key|${agentId}`).digest();
  const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  return { privateKey, publicKey: createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).toString('base64') };
}

// ------------------------------------------------------------------ worker RPC

interface RpcRequest {
  rpc: number;
  cmd: string;
  args: unknown;
}
type RpcResponse = { rpc: number; ok: true; result: unknown } | { rpc: number; ok: false; error: string };

/** Worker side: answer requests from the parent; exit when the parent goes away. */
export function serveRpc(handlers: Record<string, (args: never) => unknown>): void {
  process.on('disconnect', () => process.exit(0));
  process.on('message', (msg: RpcRequest) => {
    const handler = handlers[msg.cmd];
    const reply = (r: RpcResponse) => process.send?.(r);
    if (!handler) return reply({ rpc: msg.rpc, ok: false, error: `unknown command ${msg.cmd}` });
    Promise.resolve()
      .then(() => handler(msg.args as never))
      .then(
        (result) => reply({ rpc: msg.rpc, ok: true, result: result ?? null }),
        (err: Error) => reply({ rpc: msg.rpc, ok: false, error: err.stack ?? String(err) }),
      );
  });
}

export class WorkerError extends Error {
  readonly code = 'BENCH_WORKER';
}

/** Parent side of one forked worker process. */
export class Worker {
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly exited: Promise<number | null>;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    child.on('message', (msg: RpcResponse) => {
      const w = this.waiting.get(msg.rpc);
      if (!w) return;
      this.waiting.delete(msg.rpc);
      if (msg.ok) w.resolve(msg.result);
      else w.reject(new WorkerError(`${name}: ${msg.error}`));
    });
    this.exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        for (const w of this.waiting.values()) w.reject(new WorkerError(`${name} exited (${code})`));
        this.waiting.clear();
        resolve(code);
      }),
    );
    live.add(this);
    void this.exited.then(() => live.delete(this));
  }

  /** Fork a bundled worker next to the calling bench script (dist/bench/lib/<file>), Node started with `nodeFlags`. */
  static start(name: string, file: string, args: string[] = [], nodeFlags: readonly string[] = []): Worker {
    // MAMORI_BENCH_CPU_PROF=DIR writes a V8 CPU profile of every worker into DIR (for finding bottlenecks).
    const prof = process.env.MAMORI_BENCH_CPU_PROF;
    const execArgv = ['--max-old-space-size=4096', ...nodeFlags, ...(prof ? ['--cpu-prof', '--cpu-prof-dir', prof, '--cpu-prof-name', `${name}.cpuprofile`] : [])];
    const child = fork(new URL(`./lib/${file}`, benchDistUrl()).pathname, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
    return new Worker(name, child);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  call<T>(cmd: string, args: unknown = {}, timeoutMs = 120_000): Promise<T> {
    const rpc = this.next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(rpc);
        reject(new WorkerError(`${this.name}: ${cmd} took longer than ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(rpc, {
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.child.send({ rpc, cmd, args } satisfies RpcRequest);
    });
  }

  /** Resident set size of the worker, from /proc. */
  rssMb(): number {
    return rssMbOf(this.pid);
  }

  /** CPU seconds (user + system, every thread) the worker process has used, from /proc. */
  cpuSeconds(): number {
    return cpuSecondsOf(this.pid);
  }

  /** Ask the worker to exit on its own (lets a CPU profile be written), then make sure it is gone. */
  async stop(): Promise<void> {
    this.child.disconnect();
    const t = setTimeout(() => this.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t);
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}

const live = new Set<Worker>();
let distUrl: string | undefined;

/** The directory URL of the running bench bundle (set by `benchMain`). */
function benchDistUrl(): string {
  if (!distUrl) throw new WorkerError('benchMain() was not called');
  return distUrl;
}

/**
 * The Node flags `mamori` starts the collector with: those on the first line of bin/mamori.js
 * (`#!/usr/bin/env -S node <flags>`), so that the benches run the collector as shipped.
 */
export function collectorNodeFlags(): string[] {
  const shebang = readFileSync(new URL('../../bin/mamori.js', benchDistUrl()), 'utf8').split('\n', 1)[0]!;
  const m = /^#!\/usr\/bin\/env -S node((?: --[\w-]+(?:=\S+)?)*)$/.exec(shebang);
  if (!m) throw new WorkerError(`bin/mamori.js: first line not understood: ${shebang}`);
  return m[1]!.split(' ').filter(Boolean);
}

/** VmRSS of a process in MB (10^6 bytes), read from /proc. */
export function rssMbOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return m ? (Number(m[1]) * 1024) / 1e6 : NaN;
}

/**
 * utime + stime of a process in seconds (proc(5): fields 14 and 15 of /proc/PID/stat, in clock
 * ticks of 1/100 s; counted over all its threads); with `children`, also cutime + cstime (16,
 * 17): the commands it ran and waited for.
 */
export function cpuSecondsOf(pid: number | 'self', children = false): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  return (fields[11]! + fields[12]! + (children ? fields[13]! + fields[14]! : 0)) / 100;
}

// ------------------------------------------------------------------ running a bench

export interface BenchRow {
  figure: string;
  value: string;
  baseline: string;
  target: string;
  met?: boolean;
}

export interface BenchResult {
  bench: string;
  date: string;
  rows: BenchRow[];
  details: Record<string, unknown>;
}

/**
 * Run a bench: a hard time limit, worker processes killed on every exit path, a scratch
 * directory under /tmp removed at the end, the table printed and one machine-readable line
 * ("BENCH_RESULT {json}") for bench/run-all.mjs.
 */
export async function benchMain(name: string, metaUrl: string, limitMs: number, body: (scratch: string) => Promise<Omit<BenchResult, 'bench' | 'date'>>): Promise<void> {
  distUrl = new URL('.', metaUrl).href;
  const scratch = join('/tmp', `mamori-bench-${name}-${process.pid}`);
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  const cleanup = () => {
    for (const w of live) w.kill('SIGKILL');
    rmSync(scratch, { recursive: true, force: true });
  };
  const limit = setTimeout(() => {
    console.error(`${name}: time limit of ${limitMs / 1000} s reached, stopping`);
    cleanup();
    process.exit(2);
  }, limitMs);
  limit.unref();
  process.on('SIGINT', () => (cleanup(), process.exit(130)));
  try {
    const started = Date.now();
    const out = await body(scratch);
    const result: BenchResult = { bench: name, date: new Date().toISOString().slice(0, 10), ...out };
    printTable(name, result.rows);
    const m = result.details.machine as { loadavg1m?: number; fsyncMs?: number } | undefined;
    if (m) console.log(`machine during the run: load average (1 min) ${m.loadavg1m?.toFixed(1)}, fsync ${m.fsyncMs ?? '?'} ms per 4 KiB write`);
    console.log(`(${name}: ${((Date.now() - started) / 1000).toFixed(0)} s wall)`);
    console.log(`BENCH_RESULT ${JSON.stringify(result)}`);
    cleanup();
    clearTimeout(limit);
    process.exit(0);
  } catch (err) {
    console.error(`${name} failed:`, (err as Error).stack ?? err);
    cleanup();
    process.exit(1);
  }
}

export function printTable(name: string, rows: BenchRow[]): void {
  const head = ['figure', 'mamori', 'baseline (same run)', 'target', 'met'];
  const body = rows.map((r) => [r.figure, r.value, r.baseline, r.target, r.met === undefined ? '' : r.met ? 'yes' : 'NO']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
  console.log(`\n== ${name}`);
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const row of body) console.log(line(row));
}

/**
 * Machine facts printed with every run: the load average shows whether other work shared the
 * 2 cores, and the fsync latency (200 × 4 KiB write + fdatasync in the scratch directory)
 * bounds every durable figure.
 */
export function machine(scratch?: string): Record<string, unknown> {
  return { cpus: cpus().length, cpuModel: cpus()[0]?.model, memGb: Math.round(totalmem() / 1e9), kernel: release(), node: process.version, loadavg1m: loadavg()[0], ...(scratch ? { fsyncMs: fsyncLatencyMs(scratch) } : {}) };
}

/** Mean ms of one 4 KiB write + fdatasync. */
export function fsyncLatencyMs(dir: string, rounds = 200): number {
  const path = join(dir, 'fsync-probe');
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(4096, 1);
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) {
    writeSync(fd, block, 0, block.length, i * 4096);
    fdatasyncSync(fd);
  }
  const ms = (performance.now() - t0) / rounds;
  closeSync(fd);
  rmSync(path);
  return Math.round(ms * 100) / 100;
}

// ------------------------------------------------------------------ numbers

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export function summarise(values: readonly number[]): { n: number; p50: number; p90: number; p99: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s[s.length - 1] ?? NaN };
}

export const fmt = {
  int: (n: number) => Math.round(n).toLocaleString('en-US'),
  ms: (n: number) => `${Math.round(n).toLocaleString('en-US')} ms`,
  s: (n: number) => `${(n / 1000).toFixed(1)} s`,
  mb: (n: number) => `${n.toFixed(1)} MB`,
};

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Poll `check` every `everyMs` until it returns true or `timeoutMs` passes; false on timeout. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 200): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await sleep(everyMs);
  }
  return false;
}

/** Split `total` items into `parts` contiguous ranges. */
export function splitRange(total: number, parts: number): { first: number; count: number }[] {
  const out: { first: number; count: number }[] = [];
  let first = 0;
  for (let i = 0; i < parts; i++) {
    const count = Math.floor(total / parts) + (i < total % parts ? 1 : 0);
    out.push({ first, count });
    first += count;
  }
  return out;
}

/** True when `--NAME` is on the command line. */
export function flagArg(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

/** `--name=value` from argv, as text, or undefined when not given. */
export function textArg(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

/** `--name value` from argv, as a number, or the default. */
export function numArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) ? v : fallback;
}
