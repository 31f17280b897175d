/**
 * Processes of the multi-node tests: collector nodes (test/cluster/procs/cluster-node.ts, or
 * the real `mamori collector --db`), simulated agents (procs/sim-agents.ts, the real agent
 * outbox and link), and a TCP load balancer in the test process that puts the nodes behind
 * one address, as a municipality's load balancer would.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { createConnection, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { initTls } from '../../src/shared/tls/material.js';
export { freePort } from '../helpers/processes.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');

/** Bundle the test programs (and the CLI, with this tree's sources) into dist/ under the repository, where node_modules resolves. */
export async function buildPrograms(): Promise<{ dir: string; node: string; sim: string; buildCli(): Promise<string>; remove(): void }> {
  const dir = join(ROOT, 'dist', `test-cluster-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  const common = { bundle: true, platform: 'node' as const, format: 'esm' as const, target: 'node20', packages: 'external' as const, logLevel: 'error' as const, outdir: dir, outExtension: { '.js': '.mjs' } };
  await build({ ...common, entryPoints: { 'cluster-node': join(ROOT, 'test/cluster/procs/cluster-node.ts'), 'sim-agents': join(ROOT, 'test/cluster/procs/sim-agents.ts') } });
  return {
    dir,
    node: join(dir, 'cluster-node.mjs'),
    sim: join(dir, 'sim-agents.mjs'),
    /** The whole CLI (agent included) of this tree: `mamori collector --db`. */
    async buildCli() {
      await build({ ...common, entryPoints: { main: join(ROOT, 'src/cli/main.ts') } });
      return join(dir, 'main.mjs');
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `mamori-${prefix}-`));
}

/** The one identity of a test cluster: what `mamori collector init` makes on the first node. */
export interface ClusterTls {
  /** Data directory holding tls/ (CA, server certificate for localhost and 127.0.0.1, policy key). */
  dir: string;
  /** CA fingerprint the agents pin. */
  pin: string;
  caPem: string;
}

export async function makeClusterTls(): Promise<ClusterTls> {
  const dir = tempDir('cluster-tls');
  const { material } = await initTls(dir);
  return { dir, pin: material.caFingerprint, caPem: material.caPem };
}

/** A node's data directory with the cluster's tls/ copied in, as docs/scaling.md tells an operator to do. */
export function nodeDataDir(name: string, tls: ClusterTls | undefined): string {
  const data = tempDir(`node-${name}`);
  if (tls) cpSync(join(tls.dir, 'tls'), join(data, 'tls'), { recursive: true });
  return data;
}

/** A child process with its output lines, JSON lines parsed. */
export class Child {
  readonly lines: string[] = [];
  private waiters: { test: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    let partial = '';
    const onData = (buf: Buffer) => {
      const text = partial + buf.toString();
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        if (!line) continue;
        this.lines.push(line);
        if (process.env.MAMORI_TEST_VERBOSE) process.stderr.write(`[${name}] ${line}\n`);
        for (const w of [...this.waiters]) {
          if (w.test(line)) {
            this.waiters = this.waiters.filter((x) => x !== w);
            w.resolve(line);
          }
        }
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    this.exited = new Promise((res) => proc.once('exit', (code, signal) => res({ code, signal })));
  }

  /** The first JSON line (past or future) with this key. */
  async json<T = Record<string, unknown>>(key: string, timeoutMs = 30_000, after = 0): Promise<T> {
    const test = (line: string) => line.startsWith('{') && key in (JSON.parse(line) as object);
    const found = this.lines.slice(after).find(test);
    if (found) return JSON.parse(found) as T;
    return JSON.parse(await this.waitLine(test, timeoutMs, key)) as T;
  }

  waitLine(test: (line: string) => boolean, timeoutMs: number, what: string): Promise<string> {
    return new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`${this.name}: no ${what} within ${timeoutMs} ms; last lines:\n${this.lines.slice(-20).join('\n')}`)), timeoutMs);
      this.waiters.push({ test, resolve: (l) => (clearTimeout(timer), res(l)) });
    });
  }

  send(obj: object): void {
    this.proc.stdin?.write(`${JSON.stringify(obj)}\n`);
  }

  kill9(): Promise<unknown> {
    this.proc.kill('SIGKILL');
    return this.exited;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t);
  }
}

export function startChild(name: string, args: string[], stdin = false): Child {
  const proc = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, MAMORI_LOG_LEVEL: process.env.MAMORI_LOG_LEVEL ?? 'warn' }, stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  return new Child(name, proc);
}

export interface NodeChild extends Child {
  port: number;
  agentUrl: string;
}

/** A collector node of the test program (with the test stream, scan and ingest-stats endpoints), serving TLS with the cluster's material. */
export async function startNode(program: string, db: string, name: string, tls: ClusterTls, port = 0, onSpawn?: (pid: number) => void): Promise<NodeChild> {
  const child = startChild(name, [program, '--db', db, '--port', String(port), '--node-id', name, '--data', nodeDataDir(name, tls)]) as NodeChild;
  // Before the node has done anything (the benches put it in a cgroup of its own here).
  onSpawn?.(child.proc.pid!);
  const up = await child.json<{ listening: number; agentUrl: string }>('listening');
  child.port = up.listening;
  child.agentUrl = up.agentUrl;
  return child;
}

/** `mamori collector --db URL --data DIR` of this tree, TLS on with the cluster's material copied into DIR. */
export function spawnCliNode(cli: string, db: string, name: string, port: number, tls: ClusterTls, data = nodeDataDir(name, tls)): NodeChild & { data: string } {
  const child = startChild(name, [cli, 'collector', '--data', data, '--listen', `127.0.0.1:${port}`, '--db', db, '--heartbeat', '2']) as NodeChild & { data: string };
  child.port = port;
  child.data = data;
  return child;
}

export async function startCliNode(cli: string, db: string, name: string, port: number, tls: ClusterTls, data?: string): Promise<NodeChild & { data: string }> {
  const child = spawnCliNode(cli, db, name, port, tls, data);
  await untilListening(child);
  return child;
}

export async function untilListening(child: NodeChild): Promise<void> {
  const line = await child.waitLine((l) => /エージェントの接続先 wss:\/\//.test(l), 120_000, 'listening line');
  child.agentUrl = /エージェントの接続先 (wss:\/\/\S+)/.exec(line)![1]!;
}

/**
 * Several nodes behind one address: each new connection goes to the next node that accepts
 * it (round robin, a refused node is skipped), bytes are piped both ways.
 */
export class LoadBalancer {
  private server: Server | undefined;
  private turn = 0;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket; backend: number }>();
  /** Connections made per backend index. */
  readonly connections: number[];
  port = 0;

  constructor(readonly backends: number[]) {
    this.connections = backends.map(() => 0);
  }

  async start(): Promise<void> {
    this.server = createServer((client) => this.route(client, 0));
    await new Promise<void>((res) => this.server!.listen(0, '127.0.0.1', res));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** The agents' address (TLS passes through: the balancer works at TCP level). */
  get url(): string {
    return `wss://127.0.0.1:${this.port}/agent`;
  }

  get consoleUrl(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  private route(client: Socket, tries: number): void {
    if (tries >= this.backends.length) return void client.destroy();
    const backend = this.turn++ % this.backends.length;
    const upstream = createConnection({ host: '127.0.0.1', port: this.backends[backend]! });
    client.pause();
    upstream.once('connect', () => {
      const pair = { client, upstream, backend };
      this.pairs.add(pair);
      this.connections[backend]!++;
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
      const end = () => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('close', end);
      upstream.on('close', end);
      client.on('error', end);
      upstream.on('error', end);
    });
    upstream.once('error', () => {
      if (!upstream.remoteAddress) this.route(client, tries + 1);
    });
  }

  /** Cut every connection to one backend (a failing link): its agents reconnect elsewhere. */
  cut(backend: number): number {
    let n = 0;
    for (const p of [...this.pairs]) {
      if (p.backend !== backend) continue;
      p.client.destroy();
      p.upstream.destroy();
      n++;
    }
    return n;
  }

  async close(): Promise<void> {
    for (const p of this.pairs) (p.client.destroy(), p.upstream.destroy());
    await new Promise<void>((res) => (this.server ? this.server.close(() => res()) : res()));
  }
}

export interface HttpsAnswer {
  status: number;
  json: any;
  setCookie: string | undefined;
}

/** One HTTPS request on a new connection (so a round-robin balancer picks the next node), trusting only the cluster CA. */
export function https(url: string, ca: string, method = 'GET', body?: unknown, headers: Record<string, string> = {}): Promise<HttpsAnswer> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(url, { method, ca, agent: false, headers: { ...headers, ...(payload ? { 'content-type': 'application/json' } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = text;
        }
        const cookie = res.headers['set-cookie']?.[0]?.split(';')[0];
        resolve({ status: res.statusCode ?? 0, json, setCookie: cookie });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** A console session on one node: cookie + CSRF token, every request on a fresh connection. */
export class ConsoleSession {
  cookie = '';
  csrf = '';
  constructor(
    readonly base: string,
    readonly ca: string,
  ) {}

  async call(method: string, path: string, body?: unknown): Promise<HttpsAnswer> {
    const headers: Record<string, string> = {};
    if (this.cookie) headers.cookie = this.cookie;
    if (this.csrf && method !== 'GET') headers['x-csrf-token'] = this.csrf;
    const r = await https(this.base + path, this.ca, method, body, headers);
    if (r.setCookie) this.cookie = r.setCookie;
    return r;
  }

  async login(username: string, password: string): Promise<void> {
    const r = await this.call('POST', '/api/v1/session', { username, password });
    if (r.status !== 200) throw new Error(`login ${username}: ${r.status} ${JSON.stringify(r.json)}`);
    this.csrf = r.json.csrfToken;
  }
}
