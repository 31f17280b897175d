/**
 * The agent side of the connection, against a scripted collector on a real socket: where the
 * agent resumes after the welcome, how many batches it keeps unacknowledged, what an ack removes
 * from the outbox, and what it does with a resume point above its own counter.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type WebSocket from 'ws';
import { AgentLink } from '../../agent/link/link.js';
import { Backoff } from '../../agent/link/backoff.js';
import { Outbox } from '../../agent/outbox/outbox.js';
import { challengeSignatureValid, newAgentKeyPair } from '../../src/shared/protocol/auth.js';
import { silentLogger } from '../../src/shared/log.js';
import type { NewAgentEvent } from '../../src/shared/protocol/messages.js';
import { tempDir } from '../helpers/processes.js';

const AGENT_ID = `ag_${'a1b2c3d4e5'.repeat(2)}`;
const keys = newAgentKeyPair();
const notice = (i: number): NewAgentEvent => ({ at: '2026-12-06T00:00:00.000Z', kind: 'agent.notice', notice: 'n', detail: { i } });

interface Frame {
  type: string;
  [k: string]: unknown;
}
/** A collector that authenticates the agent and welcomes it with `lastSeq`, recording every frame. */
class ScriptedCollector {
  readonly server: WebSocketServer;
  readonly frames: Frame[] = [];
  socket: WebSocket | undefined;
  private waiters: (() => void)[] = [];
  constructor(public lastSeq: number) {
    this.server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    this.server.on('connection', (ws) => {
      this.socket = ws;
      const nonce = randomBytes(32).toString('hex');
      ws.send(JSON.stringify({ type: 'challenge', v: 1, nonce, serverTime: new Date().toISOString() }));
      ws.on('message', (data) => {
        const f = JSON.parse(data.toString()) as Frame;
        this.frames.push(f);
        if (f.type === 'hello') {
          if (!challengeSignatureValid(keys.publicKey, nonce, AGENT_ID, String(f.signature))) return ws.close(4403, 'bad signature');
          ws.send(JSON.stringify({ type: 'welcome', agentId: AGENT_ID, lastSeq: this.lastSeq, serverTime: new Date().toISOString(), heartbeatSeconds: 30, segment: 'lgwan' }));
        }
        for (const w of this.waiters.splice(0)) w();
      });
    });
  }
  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  events(): number[][] {
    return this.frames.filter((f) => f.type === 'events').map((f) => (f.events as { seq: number }[]).map((e) => e.seq));
  }
  /** Resolves once `ok()` holds for the frames received so far. */
  async until(ok: () => boolean): Promise<void> {
    while (!ok()) await new Promise<void>((res) => this.waiters.push(res));
  }
  /** Resolves once the agent has handled every frame sent before (frames are handled in order). */
  async roundTrip(link: AgentLink): Promise<void> {
    const handled = new Promise((res) => link.once('scan', res));
    this.socket!.send(JSON.stringify({ type: 'scan.request', requestId: 'r1', checks: [] }));
    await handled;
  }
  ack(upTo: number): void {
    this.socket!.send(JSON.stringify({ type: 'ack', upTo }));
  }
  close(): Promise<void> {
    for (const c of this.server.clients) c.terminate();
    return new Promise((res) => this.server.close(() => res()));
  }
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(collectorLastSeq: number, events: number, opts: { batchEvents?: number; window?: number; onSeqAhead?: (a: number, b: number) => void; onKeyRegistered?: () => void } = {}, secret?: string) {
  const collector = new ScriptedCollector(collectorLastSeq);
  await new Promise((res) => collector.server.once('listening', res));
  const outbox = Outbox.open(tempDir('link-resume'), { ackFlushMs: 60_000 });
  if (events > 0) outbox.append(Array.from({ length: events }, (_, i) => notice(i)));
  const link = new AgentLink({
    url: collector.url,
    identity: { agentId: AGENT_ID, privateKey: keys.privateKey, ...(secret ? { secret } : {}) },
    outbox,
    os: { platform: 'linux', hostname: 'pc-1', release: 'test' },
    agentVersion: 'test',
    policyVersion: () => 3,
    log: silentLogger(),
    backoff: new Backoff(1, 1, () => 0),
    ...opts,
  });
  cleanup.push(() => collector.close(), () => link.stop(), () => outbox.close());
  return { collector, outbox, link };
}

describe('resume after the welcome', () => {
  it('says its own last number in the hello, then sends only what the collector does not hold', async () => {
    const { collector, outbox, link } = await setup(3, 6);
    link.start();
    await collector.until(() => collector.events().flat().includes(6));
    const hello = collector.frames.find((f) => f.type === 'hello')!;
    expect(hello).toMatchObject({ agentId: AGENT_ID, lastSeq: 6, policyVersion: 3, agentVersion: 'test' });
    expect(collector.events()).toEqual([[4, 5, 6]]);
    // The welcome acknowledged what the collector holds.
    expect(outbox.acked).toBe(3);
    expect(link.connected).toBe(true);
    expect(link.segment).toBe('lgwan');
  });

  it('a collector holding nothing gets everything from the first number', async () => {
    const { collector, link } = await setup(0, 3);
    link.start();
    await collector.until(() => collector.events().flat().includes(3));
    expect(collector.events()).toEqual([[1, 2, 3]]);
  });

  it('a collector holding everything gets nothing until a new event', async () => {
    const { collector, outbox, link } = await setup(4, 4);
    link.start();
    await collector.until(() => collector.frames.some((f) => f.type === 'heartbeat'));
    expect(collector.events()).toEqual([]);
    expect(outbox.depth).toBe(0);
    outbox.append([notice(9)]);
    link.notify();
    await collector.until(() => collector.events().length > 0);
    expect(collector.events()).toEqual([[5]]);
  });

  it('never adopts a resume point above its own counter: it reports it and numbers on from its own', async () => {
    const ahead: [number, number][] = [];
    const { collector, outbox, link } = await setup(1_000, 3, { onSeqAhead: (a, b) => void ahead.push([a, b]) });
    link.start();
    await collector.until(() => collector.frames.some((f) => f.type === 'heartbeat'));
    expect(ahead).toEqual([[1_000, 3]]);
    // Only numbers it gave out are acknowledged; the next event is 4, not 1,001.
    expect(outbox.acked).toBe(3);
    outbox.append([notice(9)]);
    link.notify();
    await collector.until(() => collector.events().length > 0);
    expect(collector.events()).toEqual([[4]]);
  });

  it('a resume point at its own counter is not "ahead"', async () => {
    const ahead: [number, number][] = [];
    const { collector, link } = await setup(3, 3, { onSeqAhead: (a, b) => void ahead.push([a, b]) });
    link.start();
    await collector.until(() => collector.frames.some((f) => f.type === 'heartbeat'));
    expect(ahead).toEqual([]);
  });

  it('after a reconnect resumes from the new welcome, sending again what was not acknowledged', async () => {
    const { collector, link } = await setup(0, 4, { batchEvents: 2 });
    link.start();
    await collector.until(() => collector.events().flat().includes(4));
    expect(collector.events()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    // The collector stored 1…3 and the connection broke before it said so.
    collector.lastSeq = 3;
    collector.frames.length = 0;
    collector.socket!.terminate();
    await collector.until(() => collector.events().flat().includes(4));
    expect(collector.events()).toEqual([[4]]);
  });
});

describe('an identity from before key pairs', () => {
  it('proves itself with the old secret once, registers its key, and forgets the secret after the welcome', async () => {
    let registered = 0;
    const { collector, link } = await setup(0, 0, { onKeyRegistered: () => void registered++ }, 'ab'.repeat(32));
    link.start();
    await collector.until(() => collector.frames.some((f) => f.type === 'heartbeat'));
    const first = collector.frames.find((f) => f.type === 'hello')!;
    expect(typeof first.proof).toBe('string');
    expect(typeof first.publicKey).toBe('string');
    expect(registered).toBe(1);
    collector.frames.length = 0;
    collector.socket!.terminate();
    await collector.until(() => collector.frames.some((f) => f.type === 'heartbeat'));
    const second = collector.frames.find((f) => f.type === 'hello')!;
    expect(second).not.toHaveProperty('proof');
    expect(second).not.toHaveProperty('publicKey');
    expect(registered).toBe(1);
  });

  it('an identity with a key pair only never calls onKeyRegistered', async () => {
    let registered = 0;
    const { collector, link } = await setup(0, 0, { onKeyRegistered: () => void registered++ });
    link.start();
    await collector.until(() => collector.frames.some((f) => f.type === 'heartbeat'));
    expect(collector.frames.find((f) => f.type === 'hello')).not.toHaveProperty('proof');
    expect(registered).toBe(0);
  });
});

describe('window and acknowledgements', () => {
  it('keeps at most `window` batches unacknowledged, and sends more as acks come', async () => {
    const { collector, outbox, link } = await setup(0, 10, { batchEvents: 2, window: 2 });
    link.start();
    await collector.until(() => collector.events().length === 2);
    await collector.roundTrip(link);
    expect(collector.events()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    collector.ack(2);
    await collector.until(() => collector.events().length === 3);
    expect(collector.events()[2]).toEqual([5, 6]);
    expect(outbox.acked).toBe(2);
    // An ack covering two batches frees two places.
    collector.ack(6);
    await collector.until(() => collector.events().length === 5);
    expect(collector.events().slice(3)).toEqual([
      [7, 8],
      [9, 10],
    ]);
    collector.ack(10);
    await collector.roundTrip(link);
    expect(outbox.acked).toBe(10);
    expect(outbox.depth).toBe(0);
  });

  it('an ack for part of a batch keeps that batch in flight', async () => {
    const { collector, link } = await setup(0, 6, { batchEvents: 2, window: 1 });
    link.start();
    await collector.until(() => collector.events().length === 1);
    collector.ack(1);
    collector.ack(0);
    // Nothing more may go until the whole batch is acknowledged.
    await collector.roundTrip(link);
    expect(collector.events()).toEqual([[1, 2]]);
    collector.ack(2);
    await collector.until(() => collector.events().length === 2);
    expect(collector.events()[1]).toEqual([3, 4]);
  });

  it('frames carry the agent id and the events as the outbox stored them', async () => {
    const { collector, outbox, link } = await setup(0, 1);
    link.start();
    await collector.until(() => collector.events().length === 1);
    const frame = collector.frames.find((f) => f.type === 'events')!;
    expect(frame).toEqual({ type: 'events', agentId: AGENT_ID, events: [JSON.parse(outbox.readAfter(0, 1, 1 << 20)[0]!.json)] });
  });
});
