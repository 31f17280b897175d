/**
 * The collector's live event bus: what the console stream, the forwarders (syslog, webhook)
 * and other collector nodes listen to. Published after the events are durably stored.
 *
 * `event` carries what this node stored: everything that acts on a stored event (inventory,
 * tamper evidence, updates, forwarders) runs on the node that stored it. `event.elsewhere`
 * carries what other nodes of a cluster stored, only the kinds a console shows live
 * (LIVE_KINDS), and only while a console watches on this node: reading back every event of
 * every other node cost each node as much as storing its own (BENCHMARKS.md, PostgreSQL nodes).
 */
import { EventEmitter } from 'node:events';
import type { AgentEvent } from '../shared/protocol/messages.js';

export interface StoredAgentEvent {
  agentId: string;
  hostname: string;
  event: AgentEvent;
  receivedAt: string;
}

/** The kinds of stored events the console's live stream shows (console/services.ts render). */
export const LIVE_KINDS: ReadonlySet<AgentEvent['kind']> = new Set<AgentEvent['kind']>(['violation.opened', 'violation.closed', 'scan.result', 'policy.applied']);

/** A 確認 or comment added to a violation in the console. */
export interface ViolationNote {
  id: string;
  agentId: string;
  ruleId: string;
  subject: string;
  kind: 'ack' | 'comment';
  author: string;
  at: string;
  /** The comment (empty for a 確認 without one). */
  text: string;
  /** Added on another collector node (and told to this one through the cluster). */
  fromOtherNode?: boolean;
}

export interface BusEvents {
  /** Every event this node stored, after it is stored. */
  event: [StoredAgentEvent];
  /** An event of LIVE_KINDS another node stored, while a console watches here. */
  'event.elsewhere': [StoredAgentEvent];
  'agent.online': [{ agentId: string; hostname: string; at: string }];
  'agent.offline': [{ agentId: string; hostname: string; at: string; code: number }];
  /** A note stored on this node or another one: every console open on the violation shows it. */
  'violation.noted': [ViolationNote];
}

export class CollectorBus extends EventEmitter<BusEvents> {
  private watchers = 0;

  constructor() {
    super();
    // Every console watcher adds a listener.
    this.setMaxListeners(0);
  }

  /** A console watcher opened on this node; call the returned function when it closes. */
  watch(): () => void {
    this.watchers++;
    let open = true;
    return () => {
      if (open) this.watchers--;
      open = false;
    };
  }

  /** Some console watches this node's live stream: other nodes' events are worth reading back. */
  get watched(): boolean {
    return this.watchers > 0;
  }
}
