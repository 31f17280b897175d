/**
 * The embedded store: SQLite in WAL mode, written by a thread of its own (writer-thread.ts)
 * over one connection. The collector's thread serves the sockets and only posts requests, so a
 * group commit (SQL of a few thousand events and the fsync) runs beside it, not in its way, and
 * the next batch is gathered while the previous one commits.
 *
 * Transactions of the SQL runner span awaits (the console's services): while one is open, calls
 * made from its own async context run inside it, and every other call waits until it ends, so
 * nothing else (an ingest the agents will be acknowledged for) lands in a transaction that may
 * still roll back.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { forwardingTables } from '../forwarding.js';
import type { ForwardingTables } from '../forwarding.js';
import type { SqlRunner, SqlValue } from '../sql.js';
import { SequenceGapError } from '../store.js';
import type {
  AgentRecord,
  IngestBatch,
  IngestOutcome,
  NewAgent,
  PresenceChange,
  PruneKind,
  RedeemResult,
  ScanRequestRecord,
  Store,
  StoredEventRecord,
  TokenRecord,
  ViolationFilter,
  ViolationRecord,
} from '../store.js';
import { queryViolationPage, setAgentDepartments } from '../violation-query.js';
import type { ViolationPage, ViolationPageQuery } from '../violation-query.js';
import { openingHead } from './writer-protocol.js';
import type { IngestReply, IngestTextBatch, WriterErrorInfo, WriterReply } from './writer-protocol.js';

/** The forwarding methods come from forwardingTables (portable SQL), merged in by the constructor. */
export interface SqliteStore extends ForwardingTables {}

/** A transaction of the SQL runner that is open; `depth` names its next savepoint. */
interface OpenTransaction {
  depth: number;
}

const transactionContext = new AsyncLocalStorage<OpenTransaction>();

/** The writer thread's file, built beside the CLI bundle (dist/sqlite-writer.mjs; scripts/build.mjs). */
export function writerThreadFile(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    // Not beside a bench bundle: dist/bench/sqlite-writer.mjs is the bench of that name, not this thread.
    const beside = basename(dir) === 'bench' ? [] : [join(dir, 'sqlite-writer.mjs')];
    for (const file of [...beside, join(dir, 'dist', 'sqlite-writer.mjs')]) if (existsSync(file)) return file;
    dir = dirname(dir);
  }
  throw new Error('dist/sqlite-writer.mjs of mamori not found (run npm run build)');
}

function errorFrom(info: WriterErrorInfo): Error {
  const err = new Error(info.message);
  err.name = info.name;
  if (info.code) Object.assign(err, { code: info.code });
  if (info.stack) err.stack = info.stack;
  return err;
}

export class SqliteStore implements Store {
  readonly dialect = 'sqlite' as const;
  readonly sql: SqlRunner;
  private readonly writer: Worker;
  private readonly calls = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  private nextId = 1;
  /** The runner's transaction that is open now, and the calls waiting for it to end. */
  private transaction: OpenTransaction | undefined;
  private waitingForTransaction: (() => void)[] = [];
  /** Set when the writer thread is gone (closed, or failed): every call fails with it. */
  private ended: Error | undefined;

  constructor(readonly path: string) {
    this.writer = new Worker(writerThreadFile(), { workerData: { path } });
    // Like a synchronous connection, an idle store does not keep the process alive (ref'd while calls are out).
    this.writer.unref();
    this.writer.on('message', (reply: WriterReply) => this.settle(reply));
    this.writer.on('error', (err) => this.end(err));
    this.writer.on('exit', (code) => this.end(new Error(`the SQLite writer thread of ${path} ended (exit code ${code})`)));
    this.sql = this.runner();
    Object.assign(this, forwardingTables(this.sql));
  }

  private end(err: Error): void {
    this.ended ??= err;
    for (const c of this.calls.values()) c.reject(this.ended);
    this.calls.clear();
  }

  private settle(reply: WriterReply): void {
    const call = this.calls.get(reply.id);
    if (!call) return;
    this.calls.delete(reply.id);
    if (this.calls.size === 0) this.writer.unref();
    if ('error' in reply) call.reject(errorFrom(reply.error));
    else call.resolve(reply.value);
  }

  /** Post a request now (inside the open transaction, or when none is open). */
  private post<T>(method: string, args: unknown[]): Promise<T> {
    if (this.ended) return Promise.reject(this.ended);
    const id = this.nextId++;
    if (this.calls.size === 0) this.writer.ref();
    return new Promise<T>((resolve, reject) => {
      this.calls.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.writer.postMessage({ id, method, args });
    });
  }

  private insideTransaction(): boolean {
    return this.transaction !== undefined && transactionContext.getStore() === this.transaction;
  }

  private async noOtherTransaction(): Promise<void> {
    while (this.transaction && !this.insideTransaction()) await new Promise<void>((resolve) => this.waitingForTransaction.push(resolve));
  }

  private async call<T>(method: string, ...args: unknown[]): Promise<T> {
    if (this.transaction && !this.insideTransaction()) await this.noOtherTransaction();
    return this.post<T>(method, args);
  }

  private runner(): SqlRunner {
    const runner: SqlRunner = {
      dialect: 'sqlite',
      all: <T>(sql: string, params: readonly SqlValue[] = []) => this.call<T[]>('sql.all', sql, params),
      get: <T>(sql: string, params: readonly SqlValue[] = []) => this.call<T | undefined>('sql.get', sql, params),
      run: (sql: string, params: readonly SqlValue[] = []) => this.call<number>('sql.run', sql, params),
      transaction: async <T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> => {
        if (this.insideTransaction()) return this.inSavepoint(this.transaction!, fn, runner);
        await this.noOtherTransaction();
        const tx: OpenTransaction = { depth: 0 };
        this.transaction = tx;
        try {
          return await transactionContext.run(tx, () => this.inSavepoint(tx, fn, runner));
        } finally {
          this.transaction = undefined;
          const waiting = this.waitingForTransaction;
          this.waitingForTransaction = [];
          for (const wake of waiting) wake();
        }
      },
    };
    return runner;
  }

  /** fn inside a savepoint (the outermost one is the transaction). */
  private async inSavepoint<T>(tx: OpenTransaction, fn: (tx: SqlRunner) => Promise<T>, runner: SqlRunner): Promise<T> {
    const name = `sp${tx.depth++}`;
    try {
      await this.post('sql.exec', [`SAVEPOINT ${name}`]);
      let result: T;
      try {
        result = await fn(runner);
      } catch (err) {
        await this.post('sql.exec', [`ROLLBACK TO ${name}`]);
        await this.post('sql.exec', [`RELEASE ${name}`]);
        throw err;
      }
      await this.post('sql.exec', [`RELEASE ${name}`]);
      return result;
    } finally {
      tx.depth--;
    }
  }

  migrate(): Promise<void> {
    return this.call('migrate');
  }

  emptyWal(): Promise<void> {
    return this.call('emptyWal');
  }

  async close(): Promise<void> {
    if (this.ended) return;
    await this.call('close');
    this.ended = new Error(`the SQLite store ${this.path} is closed`);
    await this.writer.terminate();
  }

  createToken(token: TokenRecord): Promise<void> {
    return this.call('createToken', token);
  }

  redeemToken(id: string, secretHash: string, now: string): Promise<RedeemResult> {
    return this.call('redeemToken', id, secretHash, now);
  }

  revokeToken(id: string, at: string): Promise<boolean> {
    return this.call('revokeToken', id, at);
  }

  listTokens(): Promise<TokenRecord[]> {
    return this.call('listTokens');
  }

  createAgent(agent: NewAgent): Promise<void> {
    return this.call('createAgent', agent);
  }

  getAgent(id: string): Promise<AgentRecord | undefined> {
    return this.call('getAgent', id);
  }

  listAgents(): Promise<AgentRecord[]> {
    return this.call('listAgents');
  }

  revokeAgent(id: string, at: string): Promise<boolean> {
    return this.call('revokeAgent', id, at);
  }

  revokedAgentIds(): Promise<string[]> {
    return this.call('revokedAgentIds');
  }

  setPresence(changes: readonly PresenceChange[]): Promise<void> {
    return this.call('setPresence', changes);
  }

  touchAgents(seen: ReadonlyMap<string, { at: string; policyVersion: number }>): Promise<void> {
    return this.call('touchAgents', seen);
  }

  markNodeOffline(nodeId: string, at: string): Promise<void> {
    return this.call('markNodeOffline', nodeId, at);
  }

  async ingest(batches: readonly IngestBatch[], receivedAt: string): Promise<IngestOutcome> {
    // Only the data crosses to the writer (a queued batch also carries its acknowledgement callback), as text:
    // the agent's own text of each event when the gateway kept it (with the heads of its openings,
    // writer-protocol.ts), otherwise the event serialised here.
    const texts: IngestTextBatch[] = batches.map((b) => (b.texts ? { agentId: b.agentId, events: b.texts, heads: b.events.map((e, i) => openingHead(e, b.texts![i]!)) } : { agentId: b.agentId, events: b.events.map((e) => JSON.stringify(e)) }));
    const reply = await this.call<IngestReply>('ingest', texts, receivedAt);
    return { stored: reply.stored, rejected: new Map(reply.rejected.map(([agentId, expected, got]) => [agentId, new SequenceGapError(agentId, expected, got)])) };
  }

  listEvents(agentId: string, afterSeq: number, limit: number): Promise<StoredEventRecord[]> {
    return this.call('listEvents', agentId, afterSeq, limit);
  }

  countEvents(agentId?: string): Promise<number> {
    return this.call('countEvents', agentId);
  }

  listViolations(filter: ViolationFilter = {}): Promise<ViolationRecord[]> {
    return this.call('listViolations', filter);
  }

  queryViolations(query: ViolationPageQuery): Promise<ViolationPage> {
    return queryViolationPage(this.sql, query);
  }

  setDepartments(agentIds: readonly string[], department: string | null): Promise<number> {
    return setAgentDepartments(this.sql, agentIds, department);
  }

  latestFacts(agentId: string): Promise<{ checkId: string; status: string; facts: Record<string, unknown>; at: string }[]> {
    return this.call('latestFacts', agentId);
  }

  createScanRequest(req: Omit<ScanRequestRecord, 'state' | 'sentAt' | 'completedAt' | 'result'>): Promise<void> {
    return this.call('createScanRequest', req);
  }

  pendingScans(agentId: string): Promise<ScanRequestRecord[]> {
    return this.call('pendingScans', agentId);
  }

  markScanSent(id: string, at: string): Promise<void> {
    return this.call('markScanSent', id, at);
  }

  getScanRequest(id: string): Promise<ScanRequestRecord | undefined> {
    return this.call('getScanRequest', id);
  }

  prune(kind: PruneKind, before: string, limit: number): Promise<number> {
    return this.call('prune', kind, before, limit);
  }
}
