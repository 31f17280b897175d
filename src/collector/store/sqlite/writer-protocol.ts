/**
 * Messages between SqliteStore (the collector's thread) and the SQLite writer thread.
 * Everything crosses by structured clone, so only plain data: a SequenceGapError travels as
 * its three fields, any other error as its name, message and code.
 */
import type { AgentEvent } from '../../../shared/protocol/messages.js';
import type { SqlValue } from '../sql.js';
import { reportDigest } from './violation-batch.js';

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
  /**
   * Given when the texts are the agent's own, checked to be exactly the events the gateway
   * parsed (codec.ts readAgentFrame): for each event its OpeningHead if it is a
   * `violation.opened`, else null. The writer then parses an opening's text only when it writes
   * the violation in full; a report of an open violation with the content the row holds (the
   * usual re-report) is recognised from the head and the text's digest alone, and changes nothing.
   */
  heads?: readonly (OpeningHead | null)[];
}

/**
 * What the writer needs of a `violation.opened` event without parsing it: seq, at, the
 * violation's rule and subject, and the digest of its text (violation-batch.ts reportDigest,
 * computed on the collector's thread, which has cores to spare while the writer has one).
 */
export type OpeningHead = [seq: number, at: string, ruleId: string, subject: string, digest: string | null];

/** The head of an event the writer may leave unparsed (IngestTextBatch.heads), or null; `text` is the event's text as stored. */
export function openingHead(e: AgentEvent, text: string): OpeningHead | null {
  return e.kind === 'violation.opened' ? [e.seq, e.at, e.violation.ruleId, e.violation.subject, reportDigest(text)] : null;
}

/** `ingest`'s outcome on the wire: stored last seq per agent, and the refused batches' holes. */
export interface IngestReply {
  stored: Map<string, number>;
  rejected: [agentId: string, expected: number, got: number][];
}

export type SqlCall = [sql: string, params?: readonly SqlValue[]];
