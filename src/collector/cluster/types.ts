/**
 * Several collector nodes behind one address share one database. A Cluster carries what
 * one node must tell the others: events it stored (so every node's live stream shows
 * violations from agents on every node; only the kinds a console shows live, bus.ts), notes added in its console (確認 and comments, so
 * a console open on another node shows them) and frames for agents connected elsewhere (a
 * helpdesk scan requested on node B for an agent on node A). A single node has none.
 */
import type { CollectorFrame } from '../../shared/protocol/messages.js';
import type { StoredAgentEvent, ViolationNote } from '../bus.js';

export interface ClusterHost {
  /** Emit events stored by other nodes on this node's bus (event.elsewhere). */
  deliverEvents(events: StoredAgentEvent[]): void;
  /** A console watches this node: only then are other nodes' events read back. */
  watched(): boolean;
  /** Send a frame to an agent if it is connected to this node. */
  sendToLocalAgent(agentId: string, frame: CollectorFrame): boolean;
  /** Show a note another node stored (確認, comment) to this node's consoles. */
  deliverNote(note: ViolationNote): void;
}

export interface Cluster {
  start(host: ClusterHost): Promise<void>;
  /** This node stored these events: tell the other nodes. */
  publish(events: StoredAgentEvent[]): void;
  /** This node stored a note on a violation (its id in console_violation_notes): tell the other nodes. */
  publishNote(noteId: string): void;
  /** Ask the other nodes to deliver a frame to an agent connected to one of them. */
  sendToAgent(agentId: string, frame: CollectorFrame): Promise<void>;
  close(): Promise<void>;
}
