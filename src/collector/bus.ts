/**
 * The collector's live event bus: what the console stream, the forwarders (syslog, webhook)
 * and other collector nodes listen to. Published after the events are durably stored.
 */
import { EventEmitter } from 'node:events';
import type { AgentEvent } from '../shared/protocol/messages.js';

export interface StoredAgentEvent {
  agentId: string;
  hostname: string;
  event: AgentEvent;
  receivedAt: string;
}

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
  /** Every event after it is stored. */
  event: [StoredAgentEvent];
  'agent.online': [{ agentId: string; hostname: string; at: string }];
  'agent.offline': [{ agentId: string; hostname: string; at: string; code: number }];
  /** A note stored on this node or another one: every console open on the violation shows it. */
  'violation.noted': [ViolationNote];
}

export class CollectorBus extends EventEmitter<BusEvents> {
  constructor() {
    super();
    // Every console watcher adds a listener.
    this.setMaxListeners(0);
  }
}
