/**
 * Real processes for end-to-end tests: the collector as `mamori collector`, agents as
 * `mamori agent run` or the event-agent test program, each with its output captured.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { trustCollector, trustOf } from './raw-client.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'bin', 'mamori.js');
export const EVENT_AGENT = join(ROOT, 'dist', 'test', 'event-agent.mjs');

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `mamori-${prefix}-`));
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

export class Proc {
  readonly lines: string[] = [];
  private waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    const onData = (buf: Buffer) => {
      for (const line of buf.toString().split('\n')) {
        if (!line) continue;
        this.lines.push(line);
        if (process.env.MAMORI_TEST_VERBOSE) process.stderr.write(`[${name}] ${line}\n`);
        for (const w of [...this.waiters]) {
          const m = line.match(w.re);
          if (m) {
            this.waiters = this.waiters.filter((x) => x !== w);
            w.resolve(m);
          }
        }
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    this.exited = new Promise((res) => child.once('exit', (code, signal) => res({ code, signal })));
  }

  /** Resolve with the first output line (past or future) matching re. */
  waitFor(re: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    for (const line of this.lines) {
      const m = line.match(re);
      if (m) return Promise.resolve(m);
    }
    return new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`${this.name}: no line matching ${re} within ${timeoutMs} ms; last lines:\n${this.lines.slice(-15).join('\n')}`)), timeoutMs);
      this.waiters.push({ re, resolve: (m) => (clearTimeout(timer), res(m)) });
    });
  }

  kill9(): Promise<unknown> {
    this.child.kill('SIGKILL');
    return this.exited;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t);
  }
}

export function startProc(name: string, args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Proc(name, child);
}

export interface CollectorProc extends Proc {
  /** wss://127.0.0.1:PORT/agent (ws:// with --insecure-plain) */
  agentUrl: string;
  port: number;
  dataDir: string;
  /** The CA fingerprint the collector printed (agents pin it) and the CA certificate from DATA/tls; undefined when plain. */
  caPin: string | undefined;
  caPem: string | undefined;
}

/**
 * `mamori collector` (HTTPS + WSS, its CA created on first start) on a given (or free) port;
 * resolves once it listens, and registers its CA so raw clients and agents of this test trust it.
 */
export async function startCollectorProc(dataDir: string, port?: number, extra: string[] = []): Promise<CollectorProc> {
  const p = port ?? (await freePort());
  const proc = startProc('collector', [CLI, 'collector', '--data', dataDir, '--listen', `127.0.0.1:${p}`, '--heartbeat', '2', ...extra]) as CollectorProc;
  const m = await proc.waitFor(/エージェントの接続先 (wss?:\/\/\S+)/);
  proc.agentUrl = m[1]!;
  proc.port = p;
  proc.dataDir = dataDir;
  proc.caPin = undefined;
  proc.caPem = undefined;
  if (proc.agentUrl.startsWith('wss:')) {
    proc.caPin = (await proc.waitFor(/CA フィンガープリント .*SHA256 ([0-9A-F:]{95})/))[1]!;
    proc.caPem = readFileSync(join(dataDir, 'tls', 'ca.crt'), 'utf8');
    trustCollector(proc.agentUrl, proc.caPem, proc.caPin);
  }
  return proc;
}

/** `mamori token create` against a collector data directory; returns the token text. */
export async function createToken(dataDir: string, args: string[] = []): Promise<string> {
  const proc = startProc('token', [CLI, 'token', 'create', '--data', dataDir, ...args]);
  const m = await proc.waitFor(/^(mmr1\.\S+)$/);
  await proc.exited;
  return m[1]!;
}

/** The event-agent test program; over wss it pins the CA of the collector started for that URL (or opts.caPin). */
export function startEventAgent(collectorUrl: string, stateDir: string, opts: { token?: string; count?: number; extra?: string[]; caPin?: string } = {}): Proc {
  const pin = opts.caPin ?? trustOf(collectorUrl)?.caPin;
  const trust = collectorUrl.startsWith('wss:') ? (pin ? ['--ca-pin', pin] : []) : ['--insecure-plain'];
  return startProc('event-agent', [EVENT_AGENT, '--collector', collectorUrl, '--state', stateDir, ...trust, ...(opts.token ? ['--enroll', opts.token] : []), '--count', String(opts.count ?? 0), ...(opts.extra ?? [])]);
}
