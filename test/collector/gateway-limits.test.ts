/** Heartbeat timeout and per-connection rate limit of the gateway (in-process collector, real sockets). */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startCollector } from '../../src/collector/collector.js';
import type { RunningCollector } from '../../src/collector/collector.js';
import { createEnrollmentToken } from '../../src/collector/tokens.js';
import { signChallenge } from '../../src/shared/protocol/auth.js';
import { CloseCode } from '../../src/shared/protocol/errors.js';
import { silentLogger } from '../../src/shared/log.js';
import { tempDir } from '../helpers/processes.js';
import { OS, rawEnroll } from '../helpers/raw-client.js';

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
    // A peer that answers pings stays connected over the same time.
    const alive = await authenticated(collector.agentUrl, id);
    await new Promise((r) => setTimeout(r, 8000));
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
