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

export interface BusEvents {
  /** Every event after it is stored. */
  event: [StoredAgentEvent];
  'agent.online': [{ agentId: string; hostname: string; at: string }];
  'agent.offline': [{ agentId: string; hostname: string; at: string; code: number }];
}

export class CollectorBus extends EventEmitter<BusEvents> {
  constructor() {
    super();
    // Every console watcher adds a listener.
    this.setMaxListeners(0);
  }
}
