/** What the collector's features share: storage, the live bus, the agent gateway, logging. */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../shared/log.js';
import type { CheckId, PolicyDocument } from '../shared/protocol/messages.js';
import type { CollectorBus } from './bus.js';
import type { AgentGateway } from './gateway/gateway.js';
import type { AgentRecord, ScanRequestRecord, Store } from './store/store.js';

export type PolicyProvider = (agent: AgentRecord) => Promise<{ policy: PolicyDocument; signature?: string } | undefined>;

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface CollectorContext {
  store: Store;
  bus: CollectorBus;
  gateway: AgentGateway;
  log: Logger;
  nodeId: string;
  dataDir: string;
  /** Ask an agent to scan now; queued when it is offline and sent when it returns. */
  requestScan(agentId: string, checks: readonly CheckId[], requestedBy: string): Promise<ScanRequestRecord>;
  /**
   * Where the policy of an agent comes from (the console's policy screen sets it); the
   * gateway pushes it after welcome when the agent runs another version.
   */
  setPolicyProvider(provider: PolicyProvider): void;
  /** Send the current policy to an agent now (after a policy change); queued agents get it at their next connection. */
  pushPolicy(agentId: string): Promise<void>;
  /** Route WebSocket upgrades of a path (e.g. the console's live stream) to a handler. */
  registerUpgrade(path: string, handler: UpgradeHandler): void;
}
