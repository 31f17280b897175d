/**
 * Messages between SqliteStore (the collector's thread) and the SQLite writer thread.
 * Everything crosses by structured clone, so only plain data: a SequenceGapError travels as
 * its three fields, any other error as its name, message and code.
 */
import type { SqlValue } from '../sql.js';

export interface WriterRequest {
  id: number;
  /** A store method of SqliteConnectionStore, or `sql.all|get|run|exec`. */
  method: string;
  args: unknown[];
}

export interface WriterErrorInfo {
  name: string;
  message: string;
  code?: string;
  stack?: string;
}

export type WriterReply = { id: number; value: unknown } | { id: number; error: WriterErrorInfo };

/**
 * A batch on the wire: each event as its JSON text. Serialising on the collector's thread and
 * parsing on the writer's costs that thread about half of what a structured clone of the objects does.
 */
export interface IngestTextBatch {
  agentId: string;
  events: readonly string[];
}

/** `ingest`'s outcome on the wire: stored last seq per agent, and the refused batches' holes. */
export interface IngestReply {
  stored: Map<string, number>;
  rejected: [agentId: string, expected: number, got: number][];
}

export type SqlCall = [sql: string, params?: readonly SqlValue[]];
