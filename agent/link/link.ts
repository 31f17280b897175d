/**
 * The agent's WebSocket link to the collector: sign the challenge with the agent's private key,
 * resume after the collector's last stored sequence number (never past the agent's own
 * counter), stream the outbox with a window of unacknowledged batches, answer scans and policy
 * pushes, and reconnect with backoff.
 */
import { EventEmitter } from 'node:events';
import { dirname, join } from 'node:path';
import WebSocket from 'ws';
import type { ClientOptions } from 'ws';
import { CloseCode, FATAL_FOR_AGENT, closeCodeName } from '../../src/shared/protocol/errors.js';
import { decodeCollectorFrame } from '../../src/shared/protocol/codec.js';
import { authProof, publicKeyOf, signChallenge } from '../../src/shared/protocol/auth.js';
import { LIMITS, PROTOCOL_VERSION } from '../../src/shared/protocol/messages.js';
import type { CollectorFrame, OsInfo, PolicyPushFrame, ScanRequestFrame, Segment, UpdateOfferFrame, WelcomeFrame } from '../../src/shared/protocol/messages.js';
import type { Logger } from '../../src/shared/log.js';
import type { Outbox } from '../outbox/outbox.js';
import { Backoff } from './backoff.js';
import { DeadLetters } from './dead-letter.js';
import type { DeadLetter } from './dead-letter.js';
import type { ClientCertificate } from '../client-cert.js';
import { TlsSessionMemory } from '../../src/shared/tls/session-memory.js';

export interface Identity {
  agentId: string;
  privateKey: string;
  /** Only for an identity from before key pairs: answer with it once more to register the key. */
  secret?: string | undefined;
}

export interface LinkOptions {
  url: string;
  identity: Identity;
  outbox: Outbox;
  os: OsInfo;
  agentVersion: string;
  policyVersion: () => number;
  log: Logger;
  /** TLS and other ws client options: the pinned collector CA (see collectorTrust in agent/identity.ts). */
  wsOptions?: ClientOptions;
  /** The agent's own resource use for heartbeats (the watchdog's latest sample); default: RSS only. */
  usage?: () => { rssBytes: number; cpuPercent?: number };
  /** Most events per frame (default 500). */
  batchEvents?: number;
  /** Batches sent and not yet acknowledged (default 8). */
  window?: number;
  backoff?: Backoff;
  /** The collector accepted the key registered with the old HMAC secret: forget the secret. */
  onKeyRegistered?: () => void;
  /** The collector's resume point is above this agent's own counter (an old collector did not move its events aside). */
  onSeqAhead?: (collectorLastSeq: number, ownLastSeq: number) => void;
  /** Where refused events are set aside (default: deadletter.jsonl beside the outbox directory). */
  deadLetterPath?: string;
  /** The client certificate presented to the collector (mutual TLS), asked for and renewed here. */
  clientCert?: ClientCertificate;
}

export interface LinkEvents {
  welcome: [WelcomeFrame];
  scan: [ScanRequestFrame];
  policy: [PolicyPushFrame];
  update: [UpdateOfferFrame];
  /** A policy.push that does not match the schema: the agent keeps its policy and reports it. */
  policyRejected: [string];
  closed: [number, string];
  /** An event the collector refused on its own was set aside (dead-letter.ts); the agent reports it. */
  deadLettered: [DeadLetter];
}

const BATCH_BYTES = Math.floor(LIMITS.maxFrameBytes / 2);
/** Least time between two renewal requests on one connection. */
const CERT_RENEWAL_RETRY_MS = 15 * 60_000;

export class AgentLink extends EventEmitter<LinkEvents> {
  private ws: WebSocket | undefined;
  private stopped = false;
  private authenticated = false;
  private sentThrough = 0;
  private inflight: number[] = [];
  private reconnectTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private livenessTimer: NodeJS.Timeout | undefined;
  private heartbeatSeconds = 30;
  private readonly backoff: Backoff;
  private readonly deadLetters: DeadLetters;
  private readonly batchEvents: number;
  private readonly window: number;
  /** Segment the collector assigned to this agent (from the last welcome). */
  segment: Segment | undefined;
  /** This connection presented a client certificate / received a new one. */
  private presentedCert = false;
  private receivedCert = false;
  private certRequestedAt = 0;
  /** The TLS session resumed by the next connection (kept in memory only, session-memory.ts). */
  readonly tlsSession = new TlsSessionMemory();

  constructor(private opts: LinkOptions) {
    super();
    this.backoff = opts.backoff ?? new Backoff();
    this.batchEvents = opts.batchEvents ?? 500;
    this.window = opts.window ?? 8;
    this.deadLetters = new DeadLetters(opts.deadLetterPath ?? join(dirname(opts.outbox.dir), 'deadletter.jsonl'));
  }

  get connected(): boolean {
    return this.authenticated;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.clearTimers();
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN) {
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close(CloseCode.NORMAL, 'agent stopping');
        setTimeout(resolve, 2000).unref();
      });
    }
    ws?.terminate();
  }

  /** New events are in the outbox: send them if connected. */
  notify(): void {
    if (this.authenticated) this.pump();
  }

  private connect(): void {
    if (this.stopped) return;
    const secure = this.opts.url.startsWith('wss:');
    const clientCert = secure ? this.opts.clientCert?.tlsOptions() : undefined;
    this.presentedCert = clientCert !== undefined;
    this.receivedCert = false;
    // A session is resumed only with the same collector, pinned CA and client certificate.
    const resumable = secure ? this.tlsSession.options(`${this.opts.url}|${String(this.opts.wsOptions?.ca ?? '')}|${clientCert?.cert ?? ''}`) : {};
    const ws = new WebSocket(this.opts.url, { perMessageDeflate: false, maxPayload: LIMITS.maxFrameBytes, handshakeTimeout: 15_000, ...this.opts.wsOptions, ...clientCert, ...resumable } as ClientOptions);
    this.ws = ws;
    this.authenticated = false;
    ws.on('message', (data, isBinary) => {
      if (isBinary) return ws.close(CloseCode.MALFORMED_FRAME, 'binary frame');
      this.onFrame(ws, data.toString());
    });
    ws.on('ping', () => this.armLiveness(ws));
    ws.on('open', () => this.armLiveness(ws));
    ws.on('error', (err) => this.opts.log.debug('link error', { error: err.message }));
    ws.on('close', (code, reasonBuf) => {
      const reason = reasonBuf.toString();
      this.clearTimers();
      const wasAuthenticated = this.authenticated;
      this.authenticated = false;
      if (this.ws === ws) this.ws = undefined;
      this.emit('closed', code, reason);
      this.setAsideRefused(code, reason);
      // The collector did not accept the certificate this connection presented: ask for a new one.
      if (code === CloseCode.CLIENT_CERT_REQUIRED && this.presentedCert && !this.receivedCert) this.opts.clientCert?.drop();
      if (this.stopped) return;
      const delay = FATAL_FOR_AGENT.has(code) || code === CloseCode.AUTH_FAILED ? this.backoff.max() : this.backoff.next();
      const log = FATAL_FOR_AGENT.has(code) || code === CloseCode.AUTH_FAILED ? this.opts.log.error.bind(this.opts.log) : this.opts.log.info.bind(this.opts.log);
      log(`collector connection closed (${code} ${closeCodeName(code)}${reason ? `: ${reason}` : ''}); reconnecting in ${(delay / 1000).toFixed(1)} s`, { wasAuthenticated });
      this.reconnectTimer = setTimeout(() => this.connect(), delay);
    });
  }

  private onFrame(ws: WebSocket, text: string): void {
    let frame: CollectorFrame;
    try {
      frame = decodeCollectorFrame(text);
    } catch (err) {
      if (this.authenticated && /^\s*\{\s*"type"\s*:\s*"policy\.push"/.test(text.slice(0, 64))) {
        // A bad policy must not cost the connection: the agent keeps its last valid policy.
        this.emit('policyRejected', (err as Error).message);
        return;
      }
      this.opts.log.warn(`bad frame from collector: ${(err as Error).message}`);
      ws.close((err as { closeCode?: number }).closeCode ?? CloseCode.MALFORMED_FRAME, 'bad frame');
      return;
    }
    switch (frame.type) {
      case 'challenge': {
        const { agentId, privateKey, secret } = this.opts.identity;
        this.send(ws, {
          type: 'hello',
          v: PROTOCOL_VERSION,
          agentId,
          signature: signChallenge(privateKey, frame.nonce, agentId),
          ...(secret ? { proof: authProof(secret, frame.nonce, agentId), publicKey: publicKeyOf(privateKey) } : {}),
          os: this.opts.os,
          agentVersion: this.opts.agentVersion,
          policyVersion: this.opts.policyVersion(),
          lastSeq: this.opts.outbox.lastSeq,
          ...(this.opts.clientCert?.wanted ? { requestCertificate: true } : {}),
        });
        return;
      }
      case 'welcome': {
        this.authenticated = true;
        this.backoff.reset();
        this.segment = frame.segment;
        this.heartbeatSeconds = frame.heartbeatSeconds;
        if (this.opts.identity.secret) {
          this.opts.identity = { ...this.opts.identity, secret: undefined };
          this.opts.onKeyRegistered?.();
        }
        const outbox = this.opts.outbox;
        // Never adopt a resume point above what this agent has numbered itself: a forged frame
        // could otherwise push it past every number it can reach and silence it for ever.
        if (frame.lastSeq > outbox.lastSeq) this.opts.onSeqAhead?.(frame.lastSeq, outbox.lastSeq);
        outbox.ack(Math.min(frame.lastSeq, outbox.lastSeq));
        this.sentThrough = outbox.acked;
        this.inflight = [];
        this.startHeartbeat(ws);
        this.emit('welcome', frame);
        this.pump();
        return;
      }
      case 'ack': {
        this.opts.outbox.ack(frame.upTo);
        this.inflight = this.inflight.filter((through) => through > frame.upTo);
        this.pump();
        return;
      }
      case 'scan.request':
        this.emit('scan', frame);
        return;
      case 'policy.push':
        this.emit('policy', frame);
        return;
      case 'update.offer':
        this.emit('update', frame);
        return;
      case 'certificate':
        if (this.opts.clientCert?.save(frame.certificate)) {
          this.receivedCert = true;
          this.opts.log.info('収集サーバーからクライアント証明書を受け取りました / client certificate received');
        } else this.opts.log.warn('収集サーバーから届いた証明書はこの端末の鍵・CA のものではないため使いません / the certificate received is not for this agent\'s key and CA: not used');
        return;
      case 'enrolled':
        ws.close(CloseCode.SCHEMA_VIOLATION, 'unexpected enrolled frame');
        return;
    }
  }

  private pump(): void {
    const ws = this.ws;
    if (!ws || !this.authenticated || ws.readyState !== WebSocket.OPEN) return;
    for (;;) {
      // After a refused batch its events go one per frame, to find the one refused (dead-letter.ts).
      const isolating = this.deadLetters.isolating(this.sentThrough);
      if (this.inflight.length >= (isolating ? 1 : this.window)) return;
      const records = this.opts.outbox.readAfter(this.sentThrough, isolating ? 1 : this.batchEvents, BATCH_BYTES);
      if (records.length === 0) return;
      const through = records[records.length - 1]!.throughSeq;
      ws.send(`{"type":"events","agentId":${JSON.stringify(this.opts.identity.agentId)},"events":[${records.map((r) => this.deadLetters.wire(r.seq, r.json)).join(',')}]}`);
      this.sentThrough = through;
      this.inflight.push(through);
    }
  }

  /** A close that refused what was in flight: isolate, and set aside an event refused on its own. */
  private setAsideRefused(code: number, reason: string): void {
    if (this.inflight.length === 0) return;
    const outbox = this.opts.outbox;
    const inFlight = outbox.readAfter(outbox.acked, 2, BATCH_BYTES).filter((r) => r.seq <= this.sentThrough);
    const refused = this.deadLetters.closed(code, reason, inFlight.map((r) => ({ seq: r.seq, through: r.throughSeq, json: r.json })), this.sentThrough);
    if (!refused) return;
    this.opts.log.error(`the collector refuses event ${refused.seq} (${refused.kind}): set aside in ${this.deadLetters.path}; the events after it keep flowing`, { reason: refused.reason });
    this.emit('deadLettered', refused);
  }

  private send(ws: WebSocket, frame: object): void {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
  }

  private startHeartbeat(ws: WebSocket): void {
    clearInterval(this.heartbeatTimer);
    const beat = () => {
      if (this.opts.clientCert?.renewalDue() && Date.now() - this.certRequestedAt > CERT_RENEWAL_RETRY_MS) {
        this.certRequestedAt = Date.now();
        this.send(ws, { type: 'cert.request' });
      }
      const usage = this.opts.usage?.() ?? { rssBytes: process.memoryUsage().rss };
      this.send(ws, {
        type: 'heartbeat',
        at: new Date().toISOString(),
        policyVersion: this.opts.policyVersion(),
        outboxDepth: this.opts.outbox.depth,
        rssBytes: usage.rssBytes,
        ...(usage.cpuPercent !== undefined ? { cpuPercent: Math.round(usage.cpuPercent * 100) / 100 } : {}),
      });
    };
    // One at once, so the collector sees this PC's clock without waiting an interval.
    beat();
    this.heartbeatTimer = setInterval(beat, this.heartbeatSeconds * 1000);
    this.heartbeatTimer.unref();
  }

  /** The collector pings every heartbeat interval; without a ping for two intervals the link is dead (ws README pattern). */
  private armLiveness(ws: WebSocket): void {
    clearTimeout(this.livenessTimer);
    this.livenessTimer = setTimeout(() => ws.terminate(), (this.heartbeatSeconds * 2 + 5) * 1000);
    this.livenessTimer.unref();
  }

  private clearTimers(): void {
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.livenessTimer);
  }
}
