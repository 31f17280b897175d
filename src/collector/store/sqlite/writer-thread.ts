/**
 * The SQLite writer thread (built to dist/sqlite-writer.mjs): the collector's one connection to
 * its database. It runs each request of SqliteStore in arrival order; a request's SQL is
 * synchronous, so requests never interleave, and a group commit's fsync holds up only this
 * thread, never the sockets. One connection for every read and write: a second writer would
 * make the other wait in SQLite's busy handler, which blocks its thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runCheckpointer, startCheckpointer } from './checkpointer.js';
import type { CheckpointerData } from './checkpointer.js';
import { SqliteConnectionStore } from './connection-store.js';
import type { IngestTextBatch, SqlCall, WriterErrorInfo, WriterReply, WriterRequest } from './writer-protocol.js';

let store: SqliteConnectionStore | undefined;
let openError: unknown;
// This file also runs the checkpointer thread the writer starts beside itself (checkpointer.ts).
if ((workerData as Partial<CheckpointerData>).role === 'checkpointer') runCheckpointer(workerData as CheckpointerData);
else {
  const { path } = workerData as { path: string };
  try {
    store = new SqliteConnectionStore(path);
    if (path !== ':memory:') store.useCheckpoints(startCheckpointer(path, new URL(import.meta.url)));
  } catch (err) {
    // Reported with every request (the collector sees it at its first call, e.g. migrate()).
    openError = err;
  }
  parentPort!.on('message', onRequest);
}

/** The store methods a request may name (everything of the Store contract that is not SQL). */
const METHODS = new Set([
  'migrate', 'emptyWal', 'close', 'createToken', 'redeemToken', 'revokeToken', 'listTokens', 'createAgent', 'getAgent', 'listAgents',
  'revokeAgent', 'revokedAgentIds', 'setPresence', 'touchAgents', 'markNodeOffline', 'listEvents', 'countEvents',
  'listViolations', 'latestFacts', 'createScanRequest', 'pendingScans', 'markScanSent', 'getScanRequest', 'prune',
]);

async function handle(s: SqliteConnectionStore, req: WriterRequest): Promise<unknown> {
  switch (req.method) {
    case 'sql.all':
      return s.sql.all(...(req.args as SqlCall));
    case 'sql.get':
      return s.sql.get(...(req.args as SqlCall));
    case 'sql.run':
      return s.sql.run(...(req.args as SqlCall));
    case 'sql.exec':
      return s.exec(req.args[0] as string);
    case 'ingest':
      return s.ingestTexts(req.args[0] as IngestTextBatch[], req.args[1] as string);
  }
  if (!METHODS.has(req.method)) throw new Error(`the SQLite store has no method ${req.method}`);
  const method = (s as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[req.method]!;
  return method.apply(s, req.args);
}

function errorInfo(err: unknown): WriterErrorInfo {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as { code?: unknown }).code;
  return { name: e.name, message: e.message, ...(typeof code === 'string' ? { code } : {}), ...(e.stack ? { stack: e.stack } : {}) };
}

function onRequest(req: WriterRequest): void {
  let reply: Promise<WriterReply>;
  if (!store) reply = Promise.resolve({ id: req.id, error: errorInfo(openError) });
  else reply = handle(store, req).then((value) => ({ id: req.id, value }), (err: unknown) => ({ id: req.id, error: errorInfo(err) }));
  void reply.then((r) => parentPort!.postMessage(r));
}
