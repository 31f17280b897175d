/**
 * The cap on TLS handshakes in progress (src/collector/gateway/handshake-gate.ts): over the cap,
 * or while the oldest handshake has waited too long, a new connection is closed at once instead
 * of queued behind the others; a handshake that ended frees its place. The real collector over TLS as shipped, real sockets.
 */
import { connect as tcpConnect } from 'node:net';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector } from '../../src/collector/collector.js';
import type { RunningCollector } from '../../src/collector/collector.js';
import { silentLogger } from '../../src/shared/log.js';
import { initTls } from '../../src/shared/tls/material.js';
import { waitUntil } from '../helpers/db.js';
import { tempDir } from '../helpers/processes.js';
import { connect } from '../helpers/raw-client.js';

let collector: RunningCollector;
let caPem: string;
const idle: Socket[] = [];

beforeAll(async () => {
  const dataDir = tempDir('handshake-gate');
  const { material } = await initTls(dataDir);
  caPem = material.caPem;
  collector = await startCollector({ dataDir, tls: material, log: silentLogger(), plugins: [], tamper: false, tlsHandshakes: { max: 2, maxWaitMs: 60_000 } });
}, 60_000);
afterAll(async () => {
  for (const s of idle) s.destroy();
  await collector?.close();
});

/** A TCP connection that never starts its TLS handshake (a PC whose handshake waits for the CPU). */
async function silentConnection(): Promise<Socket> {
  const s = tcpConnect(collector.port, '127.0.0.1');
  s.on('error', () => undefined);
  await new Promise((res) => s.once('connect', res));
  idle.push(s);
  return s;
}

describe('TLS handshakes in progress', () => {
  it('over the cap a connection is closed at once; a place freed lets the next agent in', async () => {
    const gate = collector.handshakeGate!;
    const first = await silentConnection();
    await silentConnection();
    await waitUntil(() => gate.inProgress === 2, 10_000, 'two handshakes in progress');

    // The third is closed before any TLS work: the client sees the socket end during its handshake.
    const refused = await connect(collector.agentUrl, { ca: [caPem] }).then(
      () => 'connected',
      (err: Error) => err.message,
    );
    expect(refused).not.toBe('connected');
    expect(gate.refused).toBe(1);

    first.destroy();
    await waitUntil(() => gate.inProgress === 1, 10_000, 'a place freed');
    const agent = await connect(collector.agentUrl, { ca: [caPem] });
    expect((await agent.next('challenge')).type).toBe('challenge');
    // Its handshake ended: it no longer holds a place.
    expect(gate.inProgress).toBe(1);
    expect(gate.refused).toBe(1);
    agent.ws.close();
    await agent.closed;
  }, 60_000);

  it('a connection is closed at once while the oldest handshake in progress has waited too long', async () => {
    const dataDir = tempDir('handshake-gate-wait');
    const { material } = await initTls(dataDir);
    const slow = await startCollector({ dataDir, tls: material, log: silentLogger(), plugins: [], tamper: false, tlsHandshakes: { max: 100, maxWaitMs: 300 } });
    try {
      const gate = slow.handshakeGate!;
      const waiting = tcpConnect(slow.port, '127.0.0.1');
      waiting.on('error', () => undefined);
      await waitUntil(() => gate.oldestWaitMs() >= 300, 10_000, 'the oldest handshake waited 300 ms');
      const refused = await connect(slow.agentUrl, { ca: [material.caPem] }).then(
        () => 'connected',
        (err: Error) => err.message,
      );
      expect(refused).not.toBe('connected');
      expect(gate.refused).toBe(1);
      waiting.destroy();
      await waitUntil(() => gate.inProgress === 0, 10_000, 'no handshake in progress');
      const agent = await connect(slow.agentUrl, { ca: [material.caPem] });
      expect((await agent.next('challenge')).type).toBe('challenge');
      agent.ws.close();
      await agent.closed;
    } finally {
      await slow.close();
    }
  }, 60_000);
});
