/**
 * Programs started from a worker thread. Starting a child process blocks the thread that starts
 * it until the child has forked and exec'd (libuv's uv_spawn); the fork copies the page tables
 * of the whole agent, which took 15–90 ms per program on a loaded 2-core machine and several
 * times that on a slow PC. A full run starts dozens of programs (dpkg-query, systemctl, nmcli …);
 * from the main thread each start would hold up a USB event that arrives meanwhile. The worker
 * runs Node's own execFile with the same options and sends back what it printed. The programs
 * run at nice 10 (Windows: below normal), so their CPU time goes after the agent's own.
 *
 * The worker is started at the first program and ends 10 s after the last one, so an idle agent
 * does not keep a second JavaScript heap (7–9 MB resident while it lives). A check run starts its
 * programs back to back; the next run, an hour later or on an event, starts a new worker (~30 ms).
 */
import { Worker } from 'node:worker_threads';

/** What execFile's callback receives, as it crosses the thread boundary. */
export interface LaunchResult {
  error: { message: string; code?: string | number; killed?: boolean; signal?: string | null } | null;
  stdout: string;
  stderr: string;
}

export interface LaunchOptions {
  timeout: number;
  maxBuffer: number;
  env: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
}

// Plain CommonJS run by the worker (eval): only Node's own modules, nothing of the bundle.
const WORKER_SOURCE = String.raw`
const { parentPort } = require('node:worker_threads');
const { execFile } = require('node:child_process');
const { getPriority, setPriority } = require('node:os');
parentPort.on('message', ({ id, file, args, options }) => {
  try {
    const child = execFile(file, args, { ...options, killSignal: 'SIGKILL', windowsHide: true, encoding: 'utf8' }, (err, stdout, stderr) => {
      const error = err ? { message: err.message, code: err.code, killed: err.killed, signal: err.signal } : null;
      parentPort.postMessage({ id, error, stdout: String(stdout ?? ''), stderr: String(stderr ?? '') });
    });
    // Below the agent (and the person's desktop) in CPU priority: apt-get's simulation alone is seconds of CPU.
    try {
      if (child.pid) setPriority(child.pid, Math.max(10, getPriority()));
    } catch {}
  } catch (err) {
    parentPort.postMessage({ id, error: { message: err.message, code: err.code }, stdout: '', stderr: '' });
  }
});
`;

export class ProgramLauncher {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, (r: LaunchResult) => void>();
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly idleMs = 10_000) {}

  run(file: string, args: readonly string[], options: LaunchOptions): Promise<LaunchResult> {
    const worker = this.ensureWorker();
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      worker.postMessage({ id, file, args: [...args], options });
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true, resourceLimits: { maxOldGenerationSizeMb: 64 } });
    worker.unref();
    worker.on('message', (m: LaunchResult & { id: number }) => {
      const resolve = this.pending.get(m.id);
      this.pending.delete(m.id);
      resolve?.({ error: m.error, stdout: m.stdout, stderr: m.stderr });
      if (this.pending.size === 0) this.armIdle();
    });
    // A worker that died takes its programs' results with it: they fail, the next program starts a new worker.
    const fail = (message: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const resolve of this.pending.values()) resolve({ error: { message }, stdout: '', stderr: '' });
      this.pending.clear();
    };
    worker.on('error', (err) => fail(`program launcher failed: ${err.message}`));
    worker.on('exit', (code) => fail(`program launcher exited (${code})`));
    this.worker = worker;
    return worker;
  }

  /** Whether the worker thread exists now. */
  get active(): boolean {
    return this.worker !== undefined;
  }

  private armIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => void this.close(), this.idleMs);
    this.idleTimer.unref();
  }

  /** End the worker (programs still running are killed with it by the OS only when the agent exits; their results are lost). */
  async close(): Promise<void> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const worker = this.worker;
    if (!worker || this.pending.size > 0) return;
    this.worker = undefined;
    await worker.terminate();
  }
}
