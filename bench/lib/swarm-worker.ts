/**
 * A process of simulated agents: thousands of light WebSocket clients in one process.
 *
 * In "mamori" mode each client speaks the real protocol: it waits for the challenge, answers
 * with a hello carrying its Ed25519 signature of the challenge (src/shared/protocol/auth.ts), starts its sequence after
 * the welcome's lastSeq, sends `events` frames with per-agent seq, counts acks, answers
 * scan.request with a scan.result event and sends heartbeats. After losing the connection it
 * reconnects with the agent's own Backoff (agent/link/backoff.ts: full jitter, base 1 s, cap
 * 60 s). Collector frames are read with JSON.parse only (not the zod decoder), to keep the
 * client side cheap on a 2-core machine where it competes with the collector.
 *
 * In "raw" mode the same clients connect to the raw ws baseline server: no authentication,
 * the same frames, the same window of unacknowledged frames.
 *
 * Over wss:// the clients trust the given CA only, as an installed agent trusts its pinned CA,
 * and each keeps its TLS session in memory to resume it when it reconnects, as AgentLink does
 * (src/shared/tls/session-memory.ts), unless `resume` is off.
 */
import WebSocket from 'ws';
import { sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { challengeText } from '../../src/shared/protocol/auth.js';
import { PROTOCOL_VERSION } from '../../src/shared/protocol/messages.js';
import { Backoff } from '../../agent/link/backoff.js';
import { TlsSessionMemory } from '../../src/shared/tls/session-memory.js';
import { benchAgentId, benchKey, serveRpc } from './common.js';
import { eventJson, scanResultJson, violationBodies, SUBJECTS_PER_AGENT } from './event-shape.js';

type Mode = 'mamori' | 'raw';

interface ConnectArgs {
  url: string;
  mode: Mode;
  first: number;
  count: number;
  /** Most handshakes in flight during the initial connect. */
  inflight: number;
  /** Give up the initial connect after this long. */
  timeoutMs: number;
  /** PEM of the CA to trust for wss:// (the agent pins the collector's CA the same way). */
  ca?: string;
  /** Resume TLS sessions on reconnect (default true). */
  resume?: boolean;
}

interface LoadArgs {
  eventsPerFrame: number;
  /** Frames sent and not yet acknowledged, per agent. */
  window: number;
  /** Open loop: one frame per agent every intervalMs (random phase), still bounded by the window. Absent: closed loop. */
  intervalMs?: number;
}

const OS = { platform: 'windows' as const, hostname: '', release: '10.0.22631', name: 'Windows 11 Pro', version: '23H2', arch: 'x64' };
const bodies = violationBodies();

let mode: Mode = 'mamori';
let url = '';
let ca: string | undefined;
let resume = true;
let loading: LoadArgs | undefined;
let reconnecting = false;
const agents: LightAgent[] = [];
const tickers: NodeJS.Timeout[] = [];
/** Connections closed, by close code (1006: cut without a closing handshake, e.g. refused or killed). */
const closeCodes: Record<number, number> = {};
const counters = { ackedEvents: 0, framesSent: 0, eventsSent: 0, welcomes: 0, connectFailures: 0, closes: 0, attempts: 0, lastWelcomeAt: 0, badFrames: 0 };

class LightAgent {
  ws: WebSocket | undefined;
  /** Made at the first challenge (deriving 10,000 keys up front would delay the first connects). */
  private key: KeyObject | undefined;
  ready = false;
  /** Highest seq sent and highest seq acknowledged. */
  sentThrough = 0;
  ackedThrough = 0;
  attempts = 0;
  everReady = false;
  readonly backoff = new Backoff();
  readonly tlsSession = new TlsSessionMemory();
  private heartbeat: NodeJS.Timeout | undefined;
  onReady: (() => void) | undefined;
  onFail: (() => void) | undefined;

  constructor(
    readonly index: number,
    readonly id: string,
  ) {}

  connect(): void {
    this.attempts++;
    counters.attempts++;
    const tls = ca ? { ca, ...(resume ? this.tlsSession.options(url) : {}) } : {};
    // The agent's own opening handshake timeout (agent/link/link.ts).
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 15_000, ...tls } as WebSocket.ClientOptions);
    this.ws = ws;
    this.ready = false;
    ws.on('open', () => {
      if (mode === 'raw') this.welcome(0);
    });
    ws.on('message', (data) => this.onFrame(ws, data.toString()));
    ws.on('error', () => {});
    ws.on('close', (code) => {
      counters.closes++;
      closeCodes[code] = (closeCodes[code] ?? 0) + 1;
      clearInterval(this.heartbeat);
      const wasReady = this.ready;
      this.ready = false;
      if (this.ws === ws) this.ws = undefined;
      if (!wasReady && this.onFail) {
        const fail = this.onFail;
        this.onFail = undefined;
        this.onReady = undefined;
        fail();
        return;
      }
      if (reconnecting) setTimeout(() => this.connect(), this.backoff.next());
    });
  }

  private welcome(lastSeq: number): void {
    this.ready = true;
    this.everReady = true;
    this.backoff.reset();
    this.sentThrough = lastSeq;
    this.ackedThrough = lastSeq;
    counters.welcomes++;
    counters.lastWelcomeAt = Date.now();
    const ws = this.ws!;
    // Real agents beat every heartbeatSeconds (30 s); start at a random offset.
    this.heartbeat = setTimeout(() => {
      this.beat(ws);
      this.heartbeat = setInterval(() => this.beat(ws), 30_000);
    }, Math.random() * 30_000);
    const ready = this.onReady;
    this.onReady = undefined;
    this.onFail = undefined;
    ready?.();
    if (loading) this.pump();
  }

  private beat(ws: WebSocket): void {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'heartbeat', at: new Date().toISOString(), policyVersion: 3, outboxDepth: this.sentThrough - this.ackedThrough }));
  }

  private onFrame(ws: WebSocket, text: string): void {
    let frame: { type?: string; nonce?: string; lastSeq?: number; upTo?: number; requestId?: string };
    try {
      frame = JSON.parse(text) as typeof frame;
    } catch {
      counters.badFrames++;
      return;
    }
    switch (frame.type) {
      case 'challenge':
        ws.send(
          JSON.stringify({
            type: 'hello',
            v: PROTOCOL_VERSION,
            agentId: this.id,
            signature: sign(null, challengeText(frame.nonce!, this.id), (this.key ??= benchKey(this.id).privateKey)).toString('base64'),
            os: { ...OS, hostname: `PC-${String(this.index).padStart(5, '0')}` },
            agentVersion: '0.1.0',
            policyVersion: 3,
          }),
        );
        return;
      case 'welcome':
        return this.welcome(frame.lastSeq ?? 0);
      case 'ack': {
        const upTo = frame.upTo ?? 0;
        if (upTo > this.ackedThrough) {
          counters.ackedEvents += upTo - this.ackedThrough;
          this.ackedThrough = upTo;
        }
        if (loading) this.pump();
        return;
      }
      case 'scan.request': {
        const seq = ++this.sentThrough;
        ws.send(`{"type":"events","agentId":"${this.id}","events":[${scanResultJson(seq, new Date().toISOString(), frame.requestId!)}]}`);
        counters.framesSent++;
        counters.eventsSent++;
        return;
      }
      default:
        return;
    }
  }

  /** Keep `window` frames of `eventsPerFrame` events unacknowledged (closed loop), or send one frame (open loop). */
  pump(tick = false): void {
    const ws = this.ws;
    const load = loading;
    if (!ws || !this.ready || !load || ws.readyState !== WebSocket.OPEN) return;
    if (load.intervalMs && !tick) return;
    const limit = load.window * load.eventsPerFrame;
    while (this.sentThrough - this.ackedThrough < limit) {
      const at = new Date().toISOString();
      const events: string[] = [];
      for (let k = 0; k < load.eventsPerFrame; k++) {
        const seq = ++this.sentThrough;
        events.push(eventJson(seq, at, bodies[seq % SUBJECTS_PER_AGENT]!));
      }
      ws.send(`{"type":"events","agentId":"${this.id}","events":[${events.join(',')}]}`);
      counters.framesSent++;
      counters.eventsSent += load.eventsPerFrame;
      if (tick) return;
    }
  }

  close(): void {
    clearInterval(this.heartbeat);
    this.onFail = undefined;
    this.onReady = undefined;
    this.ws?.terminate();
  }
}

/** Open all agents with at most `inflight` handshakes at once; resolves when all are ready or failed. */
async function connectAll(args: ConnectArgs): Promise<{ ready: number; failed: number; ms: number }> {
  mode = args.mode;
  url = args.url;
  ca = args.ca;
  resume = args.resume ?? true;
  for (let i = args.first; i < args.first + args.count; i++) agents.push(new LightAgent(i, benchAgentId(i)));
  const started = performance.now();
  let nextIndex = 0;
  let active = 0;
  let ready = 0;
  let failed = 0;
  await new Promise<void>((resolve) => {
    const deadline = setTimeout(resolve, args.timeoutMs);
    const launch = () => {
      while (active < args.inflight && nextIndex < agents.length) {
        const a = agents[nextIndex++]!;
        active++;
        const settle = (ok: boolean) => {
          active--;
          if (ok) ready++;
          else failed++;
          if (ready + failed === agents.length) {
            clearTimeout(deadline);
            resolve();
          } else launch();
        };
        a.onReady = () => settle(true);
        a.onFail = () => (counters.connectFailures++, settle(false));
        a.connect();
      }
    };
    launch();
  });
  return { ready, failed, ms: performance.now() - started };
}

serveRpc({
  connect: (args: ConnectArgs) => connectAll(args),
  /** From now on a lost connection is re-opened with the agent's backoff. */
  reconnect: (args: { on: boolean }) => {
    reconnecting = args.on;
  },
  startLoad: (args: LoadArgs) => {
    loading = args;
    if (args.intervalMs) {
      const interval = args.intervalMs;
      for (const a of agents) {
        const t = setTimeout(() => {
          a.pump(true);
          tickers.push(setInterval(() => a.pump(true), interval));
        }, Math.random() * interval);
        tickers.push(t);
      }
    } else for (const a of agents) a.pump();
  },
  stopLoad: () => {
    loading = undefined;
    for (const t of tickers) clearInterval(t);
    tickers.length = 0;
  },
  stats: () => {
    let ready = 0;
    let unacked = 0;
    let maxAttempts = 0;
    let neverBack = 0;
    let resumedHandshakes = 0;
    let fullHandshakes = 0;
    for (const a of agents) {
      resumedHandshakes += a.tlsSession.counts.resumed;
      fullHandshakes += a.tlsSession.counts.full;
      if (a.ready) ready++;
      else if (a.everReady) neverBack++;
      unacked += a.sentThrough - a.ackedThrough;
      maxAttempts = Math.max(maxAttempts, a.attempts);
    }
    return { agents: agents.length, ready, notReady: agents.length - ready, neverBack, unacked, maxAttempts, resumedHandshakes, fullHandshakes, closeCodes, ...counters };
  },
  /** Sum of the highest acknowledged seq of every agent (what the store must hold). */
  ackedSum: () => agents.reduce((n, a) => n + a.ackedThrough, 0),
  closeAll: () => {
    reconnecting = false;
    for (const a of agents) a.close();
  },
  rss: () => process.memoryUsage().rss,
});
