/**
 * The agent gateway: a WebSocket endpoint where every connection must authenticate first
 * (enroll with a token and the agent's new public key, or sign the challenge with the agent's
 * private key), every frame is validated, and every way a frame can be bad closes that one
 * connection with a documented close code and a log line, while every other agent goes on
 * being served.
 *
 * Before authentication a connection is cheap to hold: at most LIMITS.maxPreAuthBytes may
 * arrive on it (counted on the socket as bytes come in, so a huge unfinished frame is cut off
 * before ws buffers it), and unauthenticated connections are capped per address and in total.
 */
import type { IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import { WebSocketServer } from 'ws';
import type WebSocket from 'ws';
import { CloseCode, ProtocolError, closeCodeName } from '../../shared/protocol/errors.js';
import { readAgentFrame } from '../../shared/protocol/codec.js';
import { challengeSignatureValid, newNonce, proofMatches, sha256Hex } from '../../shared/protocol/auth.js';
import { LIMITS, PROTOCOL_VERSION, SUPPORTED_VERSIONS } from '../../shared/protocol/messages.js';
import type { AgentEvent, CollectorFrame, EnrollFrame, EventsFrame, HeartbeatFrame, HelloFrame, PolicyDocument } from '../../shared/protocol/messages.js';
import type { Logger } from '../../shared/log.js';
import type { AgentRecord, PresenceChange, Store } from '../store/store.js';
import type { CollectorBus, StoredAgentEvent } from '../bus.js';
import { IngestQueue } from './ingest-queue.js';
import type { QueuedBatch } from './ingest-queue.js';
import { TokenBucket } from './rate-limit.js';
import { disownEventsAbove, registerAgentKey } from './agent-keys.js';
import type { Disowned } from './agent-keys.js';
import { PreAuthLimits } from './pre-auth.js';
import { EnrollmentRefusals } from '../enrollment/refusals.js';
import { TOKEN_FORM } from '../enrollment/token-check.js';
import type { PreAuthOptions } from './pre-auth.js';
import { presentedCert } from './client-certs.js';
import type { AgentCertificates, PresentedCert } from './client-certs.js';

/**
 * What the collector does with an agent that answers with its HMAC secret (enrolled before key
 * pairs): `migrate` accepts the secret only in the hello that registers the agent's new key
 * pair, after which the secret is deleted; `accept` also lets an agent version without key
 * pairs go on with its secret; `refuse` accepts no secret at all (such agents enroll again).
 */
export const AGENT_HMAC_POLICIES = ['migrate', 'accept', 'refuse'] as const;
export type AgentHmacPolicy = (typeof AGENT_HMAC_POLICIES)[number];

/** Least time between two certificates issued on one connection (cert.request). */
const CERT_REISSUE_MS = 10 * 60_000;

export interface GatewayOptions {
  store: Store;
  bus: CollectorBus;
  log: Logger;
  nodeId: string;
  /** Interval of pings and of the agents' heartbeats (default 30 s). A connection silent for 2 intervals + 5 s is closed. */
  heartbeatSeconds?: number;
  /** Largest frame in bytes (default LIMITS.maxFrameBytes). */
  maxPayload?: number;
  /** Time allowed from connect to a valid hello/enroll (default 10 s). */
  authTimeoutMs?: number;
  /** Per-connection limits (default 2,000 frames/s, burst 4,000; 32 MiB/s). */
  framesPerSecond?: number;
  frameBurst?: number;
  bytesPerSecond?: number;
  /** The collector's Ed25519 policy-signing public key (base64 SPKI DER), given to every agent at enrollment. */
  policyPublicKey: string;
  /**
   * The policy for an agent, pushed after welcome (optional: set by the console); the collector
   * signs it. Undefined when there is none, or when it has the version `unlessVersion` (the one the agent holds).
   */
  policyFor?: (agent: AgentRecord, unlessVersion?: number) => Promise<{ policy: PolicyDocument; signature?: string } | undefined>;
  ingest?: {
    maxDelayMs?: number;
    maxEvents?: number;
    /**
     * Frame bytes the collector holds for the store before it stops reading from agents that send
     * more (default 256 MiB); reading resumes when half of it is committed (see holdIntake).
     */
    maxBytesWaiting?: number;
  };
  /** Caps on connections that have not authenticated yet (pre-auth.ts). */
  preAuth?: PreAuthOptions;
  /** Client certificates for agents (mutual TLS, client-certs.ts); absent = off. */
  certificates?: AgentCertificates;
  /** HMAC secrets of agents enrolled before key pairs (default migrate). */
  hmac?: AgentHmacPolicy;
}

interface Session {
  ws: WebSocket;
  remote: string;
  /** The client's IP address (remote without the port). */
  address: string;
  nonce: string;
  agent?: AgentRecord;
  /** Next seq this connection may send (store's last + 1 at welcome, then advanced). */
  expected: number;
  lastActivity: number;
  frames: TokenBucket;
  bytes: TokenBucket;
  authTimer?: NodeJS.Timeout;
  closing: boolean;
  /** Ends the pre-authentication budget of this connection (at welcome, or when it closes). */
  endPreAuth: () => void;
  /** The client certificate presented at the TLS handshake, if any. */
  peer: PresentedCert | undefined;
  /** When a certificate was last issued on this connection (ms). */
  certIssuedAt: number;
  /** Highest seq known durable for this connection's agent: what the store held at hello, then each commit's last seq. */
  ackedThrough: number;
  /** Count of frames queued for the store (of all connections) when this one's last was queued (0: never): the order of turns while intake is held. */
  queuedAt: number;
}

export class AgentGateway {
  readonly wss: WebSocketServer;
  private readonly sessions = new Map<string, Session>();
  private readonly queue: IngestQueue;
  private readonly maxBytesWaiting: number;
  /** Connections not read from while the store is behind (holdIntake); they are not timed out meanwhile. */
  private readonly held = new Set<Session>();
  /** Frames queued for the store so far (Session.queuedAt). */
  private framesQueued = 0;
  private readonly seen = new Map<string, { at: string; policyVersion: number }>();
  private sweepTimer: NodeJS.Timeout;
  private touchTimer: NodeJS.Timeout;
  private presenceTimer: NodeJS.Timeout;
  private presence: PresenceChange[] = [];
  private readonly heartbeatSeconds: number;
  /** Called with every event this node stored (the cluster tells the other nodes). */
  onStored: (events: StoredAgentEvent[]) => void = () => {};
  /** Called with every heartbeat of an authenticated agent and the collector time it arrived (clock-skew watch). */
  heartbeatListener: (agent: AgentRecord, frame: HeartbeatFrame, receivedAt: Date) => void = () => {};
  /** Called when the collector held events above the agent's own counter and moved them aside (AGENT-006). */
  seqDisagreementListener: (agent: AgentRecord, disowned: Disowned, at: string) => void = () => {};
  private readonly preAuth: PreAuthLimits;
  private readonly refusals: EnrollmentRefusals;

  constructor(private readonly opts: GatewayOptions) {
    this.heartbeatSeconds = opts.heartbeatSeconds ?? 30;
    this.preAuth = new PreAuthLimits(opts.preAuth, opts.log);
    this.refusals = new EnrollmentRefusals(opts.store.sql);
    this.wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxPayload ?? LIMITS.maxFrameBytes, perMessageDeflate: false });
    this.wss.on('connection', (ws, req) => this.onConnection(ws, req));
    this.queue = new IngestQueue(opts.store, opts.ingest);
    this.maxBytesWaiting = opts.ingest?.maxBytesWaiting ?? 256 * 1024 * 1024;
    this.queue.onSettled = () => this.releaseIntake();
    this.queue.onCommitted = (batches, receivedAt) => {
      const stored: StoredAgentEvent[] = [];
      for (const b of batches) {
        const hostname = this.sessions.get(b.agentId)?.agent?.hostname ?? '';
        for (const event of b.events) stored.push({ agentId: b.agentId, hostname, event, receivedAt });
      }
      for (const e of stored) this.opts.bus.emit('event', e);
      if (stored.length) this.onStored(stored);
    };
    this.sweepTimer = setInterval(() => this.sweep(), Math.max(1000, (this.heartbeatSeconds * 1000) / 2));
    this.sweepTimer.unref();
    this.touchTimer = setInterval(() => void this.flushSeen(), 5000);
    this.touchTimer.unref();
    this.presenceTimer = setInterval(() => void this.flushPresence(), 200);
    this.presenceTimer.unref();
  }

  /** Agents connected to this node, by id. */
  get connectedAgents(): string[] {
    return [...this.sessions.keys()];
  }

  isConnected(agentId: string): boolean {
    return this.sessions.has(agentId);
  }

  /** Send a frame to an agent connected to this node; false when it is not here. */
  sendTo(agentId: string, frame: CollectorFrame): boolean {
    const s = this.sessions.get(agentId);
    if (!s || s.closing) return false;
    s.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Close a connected agent (e.g. after it was revoked). */
  disconnect(agentId: string, code: number, reason: string): void {
    const s = this.sessions.get(agentId);
    if (s) this.closeWith(s, code, reason);
  }

  handleUpgrade(req: IncomingMessage, socket: import('node:stream').Duplex, head: Buffer): void {
    if (!this.preAuth.admit(req, socket)) return;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req));
  }

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    const s: Session = {
      ws,
      remote,
      address: req.socket.remoteAddress ?? '?',
      nonce: newNonce(),
      expected: 1,
      lastActivity: Date.now(),
      queuedAt: 0,
      frames: new TokenBucket(this.opts.framesPerSecond ?? 2000, this.opts.frameBurst ?? 4000),
      bytes: new TokenBucket(this.opts.bytesPerSecond ?? 32 * 1024 * 1024, (this.opts.bytesPerSecond ?? 32 * 1024 * 1024) * 2),
      closing: false,
      endPreAuth: () => {},
      peer: presentedCert(req),
      certIssuedAt: 0,
      ackedThrough: 0,
    };
    s.endPreAuth = this.preAuth.watch(req, () => {
      // Say why (1009), stop reading so nothing more is buffered, and cut the socket shortly after.
      this.closeWith(s, CloseCode.MESSAGE_TOO_BIG, `more than ${LIMITS.maxPreAuthBytes} bytes before authentication`);
      req.socket.pause();
      setTimeout(() => ws.terminate(), 500).unref();
    });
    s.authTimer = setTimeout(() => this.closeWith(s, CloseCode.AUTH_REQUIRED, 'no hello within the time allowed'), this.opts.authTimeoutMs ?? 10_000);
    ws.on('message', (data, isBinary) => {
      s.lastActivity = Date.now();
      const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer).byteLength;
      if (!s.frames.take(1) || !s.bytes.take(size)) return this.closeWith(s, CloseCode.RATE_LIMITED, 'too many frames or bytes per second');
      if (isBinary) return this.closeWith(s, CloseCode.MALFORMED_FRAME, 'binary frames are not part of the protocol');
      void this.onFrame(s, data.toString());
    });
    ws.on('pong', () => (s.lastActivity = Date.now()));
    ws.on('error', (err) => {
      // ws closes with 1009 by itself for frames over maxPayload.
      this.opts.log.warn('agent connection error', { agentId: s.agent?.id, remote, error: err.message, code: (err as { code?: string }).code });
    });
    ws.on('close', (code) => this.onClose(s, code));
    this.send(s, { type: 'challenge', v: PROTOCOL_VERSION, nonce: s.nonce, serverTime: new Date().toISOString() });
  }

  private async onFrame(s: Session, text: string): Promise<void> {
    if (s.closing) return;
    try {
      const { frame, eventTexts } = readAgentFrame(text);
      if (!s.agent) {
        // The agent answered in time: how long the collector takes to decide (a storm of hellos) is not held against it.
        if (frame.type === 'enroll' || frame.type === 'hello') clearTimeout(s.authTimer);
        if (frame.type === 'enroll') return await this.onEnroll(s, frame);
        if (frame.type === 'hello') return await this.onHello(s, frame);
        throw new ProtocolError(CloseCode.AUTH_REQUIRED, `${frame.type} before authentication`);
      }
      switch (frame.type) {
        case 'events':
          return this.onEvents(s, frame, text.length, eventTexts);
        case 'heartbeat':
          return this.onHeartbeat(s, frame);
        case 'cert.request':
          return await this.onCertRequest(s);
        case 'enroll':
        case 'hello':
          throw new ProtocolError(CloseCode.SCHEMA_VIOLATION, `${frame.type} after authentication`);
      }
    } catch (err) {
      if (err instanceof ProtocolError) this.closeWith(s, err.closeCode, err.message);
      else {
        this.opts.log.error('gateway failure', { agentId: s.agent?.id, error: (err as Error).stack });
        this.closeWith(s, CloseCode.SERVER_ERROR, 'internal error');
      }
    }
  }

  private async onEnroll(s: Session, frame: EnrollFrame): Promise<void> {
    if (!SUPPORTED_VERSIONS.includes(frame.v)) throw new ProtocolError(CloseCode.UNSUPPORTED_VERSION, `protocol version ${frame.v} is not supported`);
    const parsed = TOKEN_FORM.exec(frame.token);
    const now = new Date().toISOString();
    if (!parsed) {
      await this.recordRefusal({ address: s.address, hostname: frame.os.hostname, reason: 'malformed', stage: 'enroll', tokenId: null, at: now });
      throw new ProtocolError(CloseCode.ENROLLMENT_REFUSED, 'malformed enrollment token');
    }
    const redeemed = await this.opts.store.redeemToken(parsed[1]!, sha256Hex(parsed[2]!), now);
    if (!redeemed.ok) {
      // Recorded with the PC's name and address: the console lists the PCs that tried and could not join.
      await this.recordRefusal({ address: s.address, hostname: frame.os.hostname, reason: redeemed.why, stage: 'enroll', tokenId: parsed[1]!, at: now });
      throw new ProtocolError(CloseCode.ENROLLMENT_REFUSED, `enrollment token ${redeemed.why}`);
    }
    const agentId = `ag_${randomBytes(16).toString('hex').slice(0, 26)}`;
    // Only the agent's public key is kept: nothing stored here can answer a challenge for it.
    await this.opts.store.createAgent({ id: agentId, secret: '', publicKey: frame.publicKey, hostname: frame.os.hostname, os: frame.os, agentVersion: frame.agentVersion, segment: redeemed.segment, enrolledAt: now, tokenId: redeemed.tokenId, department: redeemed.department ?? null });
    this.opts.log.info(`agent enrolled: ${frame.os.hostname}`, { agentId, segment: redeemed.segment, tokenId: redeemed.tokenId, remote: s.remote });
    await this.refusals.settled(s.address, frame.os.hostname).catch((err: Error) => this.opts.log.error('cannot settle earlier enrollment refusals', { error: err.message }));
    // The PC's policy goes with the reply, so its first check already judges by it (no violation against the defaults).
    const record = await this.opts.store.getAgent(agentId);
    const pushed = record ? await this.opts.policyFor?.(record) : undefined;
    const certificate = this.opts.certificates && this.opts.certificates.mode !== 'off' ? await this.opts.certificates.issue(agentId, frame.publicKey) : undefined;
    this.send(s, { type: 'enrolled', agentId, segment: redeemed.segment, policyKey: this.opts.policyPublicKey, ...(pushed ? { policy: pushed.policy, ...(pushed.signature ? { policySignature: pushed.signature } : {}) } : {}), ...(certificate ? { certificate } : {}) });
    this.closeWith(s, CloseCode.NORMAL, 'enrolled', 'info');
  }

  /** A refusal that cannot be recorded is logged; the PC is refused either way. */
  private async recordRefusal(r: Parameters<EnrollmentRefusals['record']>[0]): Promise<void> {
    await this.refusals.record(r).catch((err: Error) => this.opts.log.error('cannot record a refused enrollment', { error: err.message, hostname: r.hostname }));
  }

  private async onHello(s: Session, frame: HelloFrame): Promise<void> {
    if (!SUPPORTED_VERSIONS.includes(frame.v)) throw new ProtocolError(CloseCode.UNSUPPORTED_VERSION, `protocol version ${frame.v} is not supported`);
    const known = await this.opts.store.getAgent(frame.agentId);
    // One answer for unknown id and wrong proof, so ids cannot be probed.
    const authenticated = known && (await this.authenticates(known, s, frame));
    if (!authenticated) throw new ProtocolError(CloseCode.AUTH_FAILED, 'authentication failed');
    let agent = authenticated;
    if (agent.revokedAt) throw new ProtocolError(CloseCode.AGENT_REVOKED, 'this agent was revoked');
    const issueCertificate = await this.checkClientCert(s, agent, frame);
    clearTimeout(s.authTimer);
    s.endPreAuth();
    if (frame.lastSeq !== undefined && agent.lastSeq > frame.lastSeq) {
      // The agent never numbered what the collector holds above its counter: never make it skip ahead.
      const at = new Date().toISOString();
      await this.queue.flush();
      const disowned = await disownEventsAbove(this.opts.store.sql, agent.id, agent.lastSeq, frame.lastSeq, at);
      this.opts.log.error(`agent ${agent.id}: the collector held seq ${frame.lastSeq + 1}…${agent.lastSeq} that the agent never numbered; ${disowned.count} stored events moved aside, resuming at ${disowned.resumeSeq}`, { agentId: agent.id, ...disowned });
      agent = { ...agent, lastSeq: disowned.resumeSeq };
      try {
        this.seqDisagreementListener(agent, disowned, at);
      } catch (err) {
        this.opts.log.warn('sequence disagreement listener failed', { agentId: agent.id, error: (err as Error).message });
      }
    }
    const previous = this.sessions.get(agent.id);
    if (previous) this.closeWith(previous, CloseCode.SUPERSEDED, 'a newer connection of this agent replaced this one', 'info');
    s.agent = agent;
    s.expected = agent.lastSeq + 1;
    s.ackedThrough = agent.lastSeq;
    this.sessions.set(agent.id, s);
    const at = new Date().toISOString();
    this.presence.push({ agentId: agent.id, nodeId: this.opts.nodeId, at, online: true, info: { hostname: frame.os.hostname, os: frame.os, agentVersion: frame.agentVersion, policyVersion: frame.policyVersion } });
    s.agent = { ...agent, hostname: frame.os.hostname, policyVersion: frame.policyVersion };
    this.send(s, { type: 'welcome', agentId: agent.id, lastSeq: agent.lastSeq, serverTime: at, heartbeatSeconds: this.heartbeatSeconds, segment: agent.segment });
    if (issueCertificate) await this.sendCertificate(s, agent);
    this.opts.bus.emit('agent.online', { agentId: agent.id, hostname: frame.os.hostname, at });
    this.opts.log.info(`agent online: ${frame.os.hostname}`, { agentId: agent.id, lastSeq: agent.lastSeq, remote: s.remote });
    const pushed = await this.opts.policyFor?.(s.agent, frame.policyVersion);
    if (pushed) this.send(s, { type: 'policy.push', policy: pushed.policy, ...(pushed.signature ? { signature: pushed.signature } : {}) });
    for (const scan of await this.opts.store.pendingScans(agent.id)) {
      this.send(s, { type: 'scan.request', requestId: scan.id, checks: scan.checks as never });
      await this.opts.store.markScanSent(scan.id, new Date().toISOString());
    }
  }

  /**
   * An agent with a registered key must sign the challenge (HMAC is refused for it). An agent
   * enrolled before key pairs answers with its HMAC secret; when it also sends a new public key
   * and signs the challenge with it, the key is registered and the secret deleted. What is
   * accepted with a secret is the site's choice (AgentHmacPolicy). Returns the agent's record
   * (with the key just registered), or undefined when the hello does not authenticate.
   */
  private async authenticates(agent: AgentRecord, s: Session, frame: HelloFrame): Promise<AgentRecord | undefined> {
    if (agent.publicKey) return frame.signature !== undefined && challengeSignatureValid(agent.publicKey, s.nonce, agent.id, frame.signature) ? agent : undefined;
    const policy = this.opts.hmac ?? 'migrate';
    if (policy === 'refuse') {
      if (frame.proof) this.opts.log.warn(`端末 ${agent.id} は共有秘密 (HMAC) で認証しようとしましたが、この収集サーバーは共有秘密を受け付けない設定です (--agent-hmac refuse)。新しいトークンで登録し直してください / HMAC refused by the site setting: enroll the PC again`, { agentId: agent.id });
      return undefined;
    }
    if (!frame.proof || !proofMatches(agent.secret, s.nonce, agent.id, frame.proof)) return undefined;
    if (!frame.publicKey && !frame.signature) {
      if (policy === 'migrate') {
        this.opts.log.warn(`端末 ${agent.id} の mamori は鍵ペアに対応していない古い版です。共有秘密だけの認証は受け付けません: エージェントを更新してください / an agent version without key pairs is refused (--agent-hmac migrate): upgrade the agent`, { agentId: agent.id });
        return undefined;
      }
      this.opts.log.warn(`端末 ${agent.id} はまだ共有秘密 (HMAC) で認証しています (鍵ペアに対応していない版) / still authenticates with its HMAC secret (--agent-hmac accept)`, { agentId: agent.id });
      return agent;
    }
    if (!frame.publicKey || !frame.signature || !challengeSignatureValid(frame.publicKey, s.nonce, agent.id, frame.signature)) return undefined;
    if (await registerAgentKey(this.opts.store, agent.id, frame.publicKey)) this.opts.log.info(`端末 ${agent.id} が鍵ペアを登録しました。共有秘密は削除しました / registered its key pair; its HMAC secret is deleted`, { agentId: agent.id });
    return (await this.opts.store.getAgent(agent.id)) ?? undefined;
  }

  /**
   * Mutual TLS: a certificate of this CA issued to another agent or another key closes the
   * connection (4403) whatever the mode; under `require` a connection without a valid one is
   * closed (4412) — after a certificate was issued, when the hello asked for one, so the agent
   * reconnects with it. Returns whether to issue one after welcome.
   */
  private async checkClientCert(s: Session, agent: AgentRecord, frame: HelloFrame): Promise<boolean> {
    const certificates = this.opts.certificates;
    if (!certificates || certificates.mode === 'off') return false;
    const judged = certificates.judge(s.peer, agent);
    if (!judged.valid && judged.foreign) throw new ProtocolError(CloseCode.AUTH_FAILED, judged.why);
    const canIssue = frame.requestCertificate === true && agent.publicKey !== null;
    if (!judged.valid && certificates.mode === 'require') {
      if (canIssue) await this.sendCertificate(s, agent);
      throw new ProtocolError(CloseCode.CLIENT_CERT_REQUIRED, `${judged.why}: ${canIssue ? 'reconnect with the certificate just issued' : 'a client certificate of this collector is required'}`);
    }
    return canIssue;
  }

  private async sendCertificate(s: Session, agent: AgentRecord): Promise<void> {
    s.certIssuedAt = Date.now();
    const certificate = await this.opts.certificates!.issue(agent.id, agent.publicKey!);
    this.send(s, { type: 'certificate', certificate });
    this.opts.log.info(`端末 ${agent.hostname} にクライアント証明書を発行しました / client certificate issued`, { agentId: agent.id });
  }

  /** Renewal on a live connection; ignored when certificates are off or one was issued just now. */
  private async onCertRequest(s: Session): Promise<void> {
    const agent = s.agent!;
    if (!this.opts.certificates || this.opts.certificates.mode === 'off' || !agent.publicKey) return;
    if (Date.now() - s.certIssuedAt < CERT_REISSUE_MS) return;
    await this.sendCertificate(s, agent);
  }

  /** `eventTexts`: the agent's text of each event (codec.ts readAgentFrame), stored as it is when given. */
  private onEvents(s: Session, frame: EventsFrame, frameLength: number, eventTexts: readonly string[] | undefined): void {
    const agent = s.agent!;
    if (frame.agentId !== agent.id) throw new ProtocolError(CloseCode.AUTH_FAILED, `events for another agent id (${frame.agentId})`);
    const fresh: AgentEvent[] = [];
    const freshTexts: string[] | undefined = eventTexts ? [] : undefined;
    let expected = s.expected;
    let previous = 0;
    for (let i = 0; i < frame.events.length; i++) {
      const e = frame.events[i]!;
      if (e.seq <= previous) throw new ProtocolError(CloseCode.SEQ_OUT_OF_RANGE, `seq ${e.seq} does not increase within the batch`);
      previous = e.seq;
      const through = e.kind === 'gap' ? e.throughSeq : e.seq;
      if (through < e.seq) throw new ProtocolError(CloseCode.SEQ_OUT_OF_RANGE, `gap ${e.seq} ends before it starts (${through})`);
      // No outbox can have dropped more than this in one gap (LIMITS.maxGapSpan, docs/protocol.md).
      if (through - e.seq + 1 > LIMITS.maxGapSpan) throw new ProtocolError(CloseCode.SEQ_OUT_OF_RANGE, `gap ${e.seq}…${through} covers more than ${LIMITS.maxGapSpan} sequence numbers`);
      if (e.kind === 'gap' && e.dropped > through - e.seq + 1) throw new ProtocolError(CloseCode.SEQ_OUT_OF_RANGE, `gap ${e.seq}…${through} claims ${e.dropped} dropped events`);
      if (through < expected) continue; // already stored: a resend after reconnect, or a replay
      if (e.seq > expected) throw new ProtocolError(CloseCode.SEQ_OUT_OF_RANGE, `seq ${e.seq} leaves a hole (expected ${expected})`);
      // Only a frame longer than the event limit can hold an event over it: measure only then.
      if (frameLength > LIMITS.maxEventBytes && JSON.stringify(e).length > LIMITS.maxEventBytes) throw new ProtocolError(CloseCode.SCHEMA_VIOLATION, `event ${e.seq} is larger than ${LIMITS.maxEventBytes} bytes`);
      fresh.push(e);
      freshTexts?.push(eventTexts![i]!);
      expected = through + 1;
    }
    if (fresh.length === 0) {
      // Nothing new: acknowledge what is stored so the agent can drop it. While a batch of this
      // connection still waits for its commit, its ack (cumulative, covering this resend) will
      // come with the commit; acknowledging s.expected - 1 now would ack events not yet durable.
      if (s.ackedThrough >= s.expected - 1) this.sendAck(s, s.ackedThrough);
      return;
    }
    s.expected = expected;
    // A heartbeat from just before the agent applied a policy must not write the old version over the new one.
    const applied = fresh.filter((e) => e.kind === 'policy.applied').at(-1);
    if (applied?.kind === 'policy.applied') {
      this.seen.set(agent.id, { at: new Date().toISOString(), policyVersion: applied.version });
      for (const p of this.presence) if (p.agentId === agent.id && p.online && p.info) p.info.policyVersion = applied.version;
    }
    const batch: QueuedBatch = {
      agentId: agent.id,
      events: fresh,
      ...(freshTexts ? { texts: freshTexts } : {}),
      bytes: frameLength,
      done: (result) => {
        if ('lastSeq' in result) {
          // Every frame of an agent in one commit is answered with the agent's last stored seq: the
          // first ack covers them all (acks are cumulative), the others would repeat it.
          if (result.lastSeq > s.ackedThrough) this.sendAck(s, result.lastSeq);
          s.ackedThrough = Math.max(s.ackedThrough, result.lastSeq);
        }
        else if ('gap' in result) this.closeWith(s, CloseCode.SEQ_OUT_OF_RANGE, result.gap.message);
        else {
          this.opts.log.error('storing events failed', { agentId: agent.id, error: result.error.message });
          this.closeWith(s, CloseCode.SERVER_ERROR, 'events could not be stored');
        }
      },
    };
    this.queue.push(batch);
    s.queuedAt = ++this.framesQueued;
    if (this.queue.bytesWaiting > this.maxBytesWaiting) this.holdIntake(s);
  }

  /**
   * The store is behind (a reconnect wave draining outboxes of up to 8 frames of 2 MiB each per
   * agent): stop reading from every agent so what waits in memory stays bounded by the bound plus
   * what the connections had already read. TCP holds the agents back and their events stay in
   * their outboxes; nothing is refused, so nothing is lost or sent twice.
   */
  private holdIntake(sender: Session): void {
    if (this.held.size === 0) {
      this.opts.log.warn(`保存待ちのイベントが ${Math.round(this.maxBytesWaiting / 1048576)} MiB を超えたため、端末からの受信を一時止めています / store behind: reading from agents paused`, { bytesWaiting: this.queue.bytesWaiting });
      for (const s of this.sessions.values()) this.hold(s);
    }
    this.hold(sender);
  }

  private hold(s: Session): void {
    if (this.held.has(s) || s.closing) return;
    this.held.add(s);
    s.ws.pause();
  }

  /**
   * After a commit: read from the held connections again once half the bound has been stored.
   * Those whose frames were queued longest ago are resumed first: libuv starts reading in the
   * order reading was resumed, and the first ones read fill the bound again, so a fixed order
   * (the order of connecting) would serve the same agents every time and starve the rest for as
   * long as the store stays behind.
   */
  private releaseIntake(): void {
    if (this.held.size === 0 || this.queue.bytesWaiting > this.maxBytesWaiting / 2) return;
    const now = Date.now();
    for (const s of [...this.held].sort((a, b) => a.queuedAt - b.queuedAt)) {
      s.lastActivity = now;
      s.ws.resume();
    }
    this.opts.log.info(`端末 ${this.held.size} 台からの受信を再開しました / reading from agents resumed`, { bytesWaiting: this.queue.bytesWaiting });
    this.held.clear();
  }

  private onHeartbeat(s: Session, frame: HeartbeatFrame): void {
    const now = new Date();
    this.seen.set(s.agent!.id, { at: now.toISOString(), policyVersion: frame.policyVersion });
    try {
      this.heartbeatListener(s.agent!, frame, now);
    } catch (err) {
      this.opts.log.warn('heartbeat listener failed', { agentId: s.agent!.id, error: (err as Error).message });
    }
  }

  /** Online/offline changes of the last moment, in order, written in one transaction. */
  private async flushPresence(): Promise<void> {
    if (this.presence.length === 0) return;
    const changes = this.presence;
    this.presence = [];
    try {
      await this.opts.store.setPresence(changes);
    } catch (err) {
      this.opts.log.warn('cannot record agents online/offline', { error: (err as Error).message, changes: changes.length });
    }
  }

  private async flushSeen(): Promise<void> {
    if (this.seen.size === 0) return;
    const seen = new Map(this.seen);
    this.seen.clear();
    try {
      await this.opts.store.touchAgents(seen);
    } catch (err) {
      this.opts.log.warn('cannot record last-seen times', { error: (err as Error).message });
    }
  }

  private sweep(): void {
    void this.closeRevoked();
    const limit = (this.heartbeatSeconds * 2 + 5) * 1000;
    const now = Date.now();
    for (const ws of this.wss.clients) ws.ping();
    for (const s of this.sessions.values()) {
      // A held connection's pongs wait unread behind its frames: its silence is the collector's.
      if (this.held.has(s)) continue;
      if (now - s.lastActivity > limit) this.closeWith(s, CloseCode.HEARTBEAT_TIMEOUT, `silent for ${Math.round((now - s.lastActivity) / 1000)} s`);
    }
  }

  /** An administrator may revoke an agent from another process (CLI, another node): close it here. */
  private async closeRevoked(): Promise<void> {
    if (this.sessions.size === 0) return;
    try {
      for (const id of await this.opts.store.revokedAgentIds()) {
        const s = this.sessions.get(id);
        if (s) this.closeWith(s, CloseCode.AGENT_REVOKED, 'this agent was revoked');
      }
    } catch (err) {
      this.opts.log.warn('cannot read revoked agents', { error: (err as Error).message });
    }
  }

  private send(s: Session, frame: CollectorFrame): void {
    if (!s.closing && s.ws.readyState === s.ws.OPEN) s.ws.send(JSON.stringify(frame));
  }

  /** The ack frame, {"type":"ack","upTo":N}, written without serialising an object (one per agent per commit). */
  private sendAck(s: Session, upTo: number): void {
    if (!s.closing && s.ws.readyState === s.ws.OPEN) s.ws.send(`{"type":"ack","upTo":${upTo}}`);
  }

  private closeWith(s: Session, code: number, reason: string, level: 'warn' | 'info' = 'warn'): void {
    if (s.closing) return;
    s.closing = true;
    clearTimeout(s.authTimer);
    this.opts.log[level](`closing agent connection: ${closeCodeName(code)} (${code}) ${reason}`, { agentId: s.agent?.id, remote: s.remote, code, reason });
    s.ws.close(code, reason.slice(0, 120));
    // A peer that does not complete the closing handshake is cut off.
    setTimeout(() => s.ws.terminate(), 3000).unref();
  }

  private onClose(s: Session, code: number): void {
    clearTimeout(s.authTimer);
    this.held.delete(s);
    s.endPreAuth();
    const agent = s.agent;
    if (!agent || this.sessions.get(agent.id) !== s) return;
    this.sessions.delete(agent.id);
    const at = new Date().toISOString();
    this.presence.push({ agentId: agent.id, nodeId: this.opts.nodeId, at, online: false });
    this.opts.bus.emit('agent.offline', { agentId: agent.id, hostname: agent.hostname, at, code });
    this.opts.log.info(`agent offline: ${agent.hostname}`, { agentId: agent.id, code, codeName: closeCodeName(code) });
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    clearInterval(this.touchTimer);
    clearInterval(this.presenceTimer);
    for (const s of this.sessions.values()) this.closeWith(s, CloseCode.GOING_AWAY, 'collector shutting down', 'info');
    for (const ws of this.wss.clients) ws.terminate();
    await this.queue.flush();
    await this.flushSeen();
    await this.flushPresence();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
