/** Heartbeat timeout and per-connection rate limit of the gateway (in-process collector, real sockets). */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { openDefaultStore, startCollector } from '../../src/collector/collector.js';
import type { RunningCollector } from '../../src/collector/collector.js';
import { createEnrollmentToken } from '../../src/collector/tokens.js';
import { signChallenge } from '../../src/shared/protocol/auth.js';
import { CloseCode } from '../../src/shared/protocol/errors.js';
import { silentLogger } from '../../src/shared/log.js';
import { tempDir } from '../helpers/processes.js';
import { OS, noticeEvents, rawEnroll, rawHello } from '../helpers/raw-client.js';

let collector: RunningCollector | undefined;
afterEach(async () => {
  await collector?.close();
  collector = undefined;
});

async function authenticated(url: string, id: { agentId: string; privateKey: string }, opts: WebSocket.ClientOptions = {}): Promise<{ ws: WebSocket; closed: Promise<number> }> {
  const ws = new WebSocket(url, opts);
  const closed = new Promise<number>((res) => ws.on('close', (code) => res(code)));
  await new Promise<void>((res) => {
    ws.on('message', (d) => {
      const f = JSON.parse(d.toString()) as { type: string; nonce?: string };
      if (f.type === 'challenge') ws.send(JSON.stringify({ type: 'hello', v: 1, agentId: id.agentId, signature: signChallenge(id.privateKey, f.nonce!, id.agentId), os: OS, agentVersion: 't', policyVersion: 0 }));
      if (f.type === 'welcome') res();
    });
  });
  return { ws, closed };
}

/** Resolves with 'ping' on the first ping the collector sends at or after `time` (ms since the epoch). */
function pingAfter(ws: WebSocket, time: number): Promise<'ping'> {
  return new Promise((res) => {
    const onPing = () => {
      if (Date.now() < time) return;
      ws.off('ping', onPing);
      res('ping');
    };
    ws.on('ping', onPing);
  });
}

describe('gateway limits', () => {
  it('closes a connection that answers no ping within the heartbeat timeout (4408)', async () => {
    collector = await startCollector({ dataDir: tempDir('hb'), log: silentLogger(), gateway: { heartbeatSeconds: 1 } });
    const { token } = await createEnrollmentToken(collector.store, { segment: 'lgwan', expiresInMs: 60_000, singleUse: false });
    const id = await rawEnroll(collector.agentUrl, token);
    // A peer that has gone quiet: it neither answers pings nor sends frames.
    const { closed } = await authenticated(collector.agentUrl, id, { autoPong: false });
    const started = Date.now();
    expect(await closed).toBe(CloseCode.HEARTBEAT_TIMEOUT);
    expect(Date.now() - started).toBeGreaterThanOrEqual(5000);
    // A peer that answers pings stays connected past the time the quiet one was cut off: it is
    // still open when the first ping after that time arrives.
    const alive = await authenticated(collector.agentUrl, id);
    const aliveClosed = alive.closed.then((code) => `closed with ${code}`);
    const pastTimeout = Date.now() - started + 1000;
    expect(await Promise.race([pingAfter(alive.ws, Date.now() + pastTimeout), aliveClosed])).toBe('ping');
    expect(alive.ws.readyState).toBe(WebSocket.OPEN);
    alive.ws.close();
  }, 30_000);

  it('closes a connection that sends too many frames per second (4429)', async () => {
    collector = await startCollector({ dataDir: tempDir('rate'), log: silentLogger(), gateway: { framesPerSecond: 5, frameBurst: 5 } });
    const { token } = await createEnrollmentToken(collector.store, { segment: 'lgwan', expiresInMs: 60_000, singleUse: false });
    const id = await rawEnroll(collector.agentUrl, token);
    const flood = await authenticated(collector.agentUrl, id);
    for (let i = 0; i < 30; i++) flood.ws.send(JSON.stringify({ type: 'heartbeat', at: new Date().toISOString(), policyVersion: 0, outboxDepth: 0 }));
    expect(await flood.closed).toBe(CloseCode.RATE_LIMITED);
  });
});

describe('a sequence that leaves a hole', () => {
  /** The collector with its real SQLite store, recording every sequence number the gateway hands to it. */
  async function collectorRecordingIngest(): Promise<{ handed: number[] }> {
    const dataDir = tempDir('hole');
    const store = openDefaultStore(dataDir);
    const handed: number[] = [];
    const ingest = store.ingest.bind(store);
    store.ingest = (batches, receivedAt) => {
      for (const b of batches) for (const e of b.events) handed.push(e.seq);
      return ingest(batches, receivedAt);
    };
    collector = await startCollector({ dataDir, store, log: silentLogger() });
    return { handed };
  }

  // The store refuses a hole too; these fail when only the store's check is left: the gateway
  // must refuse the frame itself, before anything of it reaches the database.
  it('is refused by the gateway before the store sees it (across frames)', async () => {
    const { handed } = await collectorRecordingIngest();
    const { token } = await createEnrollmentToken(collector!.store, { segment: 'lgwan', expiresInMs: 60_000, singleUse: false });
    const id = await rawEnroll(collector!.agentUrl, token);
    const c = await rawHello(collector!.agentUrl, id.agentId, id.privateKey);
    await c.next('welcome');
    c.ws.send(JSON.stringify({ type: 'events', agentId: id.agentId, events: noticeEvents(1, 1) }));
    expect((await c.next('ack')).upTo).toBe(1);
    c.ws.send(JSON.stringify({ type: 'events', agentId: id.agentId, events: noticeEvents(3, 2) }));
    const closed = await c.closed;
    expect(closed.code).toBe(CloseCode.SEQ_OUT_OF_RANGE);
    expect(handed).toEqual([1]);
    expect(closed.reason).toBe('seq 3 leaves a hole (expected 2)');
    expect(await collector!.store.countEvents(id.agentId)).toBe(1);
  });

  it('is refused by the gateway before the store sees it (within one frame, after events that would fit)', async () => {
    const { handed } = await collectorRecordingIngest();
    const { token } = await createEnrollmentToken(collector!.store, { segment: 'lgwan', expiresInMs: 60_000, singleUse: false });
    const id = await rawEnroll(collector!.agentUrl, token);
    const c = await rawHello(collector!.agentUrl, id.agentId, id.privateKey);
    await c.next('welcome');
    c.ws.send(JSON.stringify({ type: 'events', agentId: id.agentId, events: [...noticeEvents(1, 2), ...noticeEvents(5, 1)] }));
    const closed = await c.closed;
    expect(closed.code).toBe(CloseCode.SEQ_OUT_OF_RANGE);
    expect(handed).toEqual([]);
    expect(closed.reason).toBe('seq 5 leaves a hole (expected 3)');
    expect(await collector!.store.countEvents(id.agentId)).toBe(0);
  });
});

describe('the policy version the collector records', () => {
  it('stays at the applied version when a heartbeat from before the push is recorded later', async () => {
    collector = await startCollector({ dataDir: tempDir('pv'), log: silentLogger() });
    const { token } = await createEnrollmentToken(collector.store, { segment: 'lgwan', expiresInMs: 60_000, singleUse: false });
    const id = await rawEnroll(collector.agentUrl, token);
    const { ws } = await authenticated(collector.agentUrl, id);
    const acked = new Promise<void>((res) => ws.on('message', (d) => JSON.parse(d.toString()).type === 'ack' && res()));
    // At once after hello: a heartbeat with version 1, then the agent applies version 2; neither the
    // hello's presence nor the heartbeat is written yet when the event arrives.
    ws.send(JSON.stringify({ type: 'heartbeat', at: new Date().toISOString(), policyVersion: 1, outboxDepth: 0 }));
    const sentAt = new Date().toISOString();
    ws.send(JSON.stringify({ type: 'events', agentId: id.agentId, events: [{ seq: 1, at: sentAt, kind: 'policy.applied', version: 2 }] }));
    await acked;
    // The last-seen times are written every 5 s: wait for the write that follows the event.
    const until = Date.now() + 20_000;
    while (((await collector.store.getAgent(id.agentId))!.lastSeenAt ?? '') < sentAt && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect((await collector.store.getAgent(id.agentId))!.policyVersion).toBe(2);
    ws.close();
  });
});
