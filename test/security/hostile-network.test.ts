/**
 * The gateway under connection abuse, against a real collector process on loopback: a
 * slow-loris (hundreds of connections dribbling a TLS handshake or an HTTP upgrade byte by
 * byte) and a flood (thousands of connections opened and dropped at every stage), plus random
 * bytes and random WebSocket frames. Afterwards the process is still up, a good agent still
 * delivers, and nothing stored changed. Bounded in count and time.
 */
import { randomBytes } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/shared/protocol/errors.js';
import { withDb } from '../helpers/db.js';
import { createToken, startCollectorProc, tempDir } from '../helpers/processes.js';
import type { CollectorProc } from '../helpers/processes.js';
import { connect, noticeEvents, rawEnroll, rawHello } from '../helpers/raw-client.js';

let collector: CollectorProc;
let good: { agentId: string; privateKey: string };
let bystander: { agentId: string; privateKey: string };
let goodSeq = 0;

/** Everything stored, except the good agent's own new events and last-seen times. */
function snapshot(): string {
  return withDb(collector.dataDir, (db) =>
    JSON.stringify({
      events: db.prepare('SELECT agent_id, seq, payload FROM events WHERE agent_id != ? ORDER BY agent_id, seq').all(good.agentId),
      agents: db.prepare('SELECT id, secret, revoked_at, last_seq, segment FROM agents ORDER BY id').all().map((a) => ((a as { id: string }).id === good.agentId ? { ...(a as object), last_seq: null } : a)),
      tokens: db.prepare('SELECT * FROM enrollment_tokens ORDER BY id').all(),
      violations: db.prepare('SELECT * FROM violations ORDER BY agent_id, rule_id, subject').all(),
    }),
  );
}

/** The good agent authenticates and gets `n` new events acknowledged. */
async function goodAgentDelivers(n = 5): Promise<void> {
  const c = await rawHello(collector.agentUrl, good.agentId, good.privateKey);
  await c.next('welcome', 15_000);
  c.ws.send(JSON.stringify({ type: 'events', agentId: good.agentId, events: noticeEvents(goodSeq + 1, n) }));
  expect((await c.next('ack', 15_000)).upTo).toBe(goodSeq + n);
  goodSeq += n;
  c.ws.close(1000);
  await c.closed;
}

async function healthy(): Promise<void> {
  const res = await new Promise<number>((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port: collector.port, ca: [collector.caPem!], servername: 'localhost' }, () => s.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'));
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1])));
    s.on('error', reject);
  });
  expect(res).toBe(200);
  expect(collector.child.exitCode).toBeNull();
}

beforeAll(async () => {
  collector = await startCollectorProc(tempDir('hostile'));
  const token = await createToken(collector.dataDir);
  good = await rawEnroll(collector.agentUrl, token);
  bystander = await rawEnroll(collector.agentUrl, token);
  const c = await rawHello(collector.agentUrl, bystander.agentId, bystander.privateKey);
  await c.next('welcome');
  c.ws.send(JSON.stringify({ type: 'events', agentId: bystander.agentId, events: noticeEvents(1, 3) }));
  await c.next('ack');
  c.ws.close(1000);
  await c.closed;
});
afterAll(async () => {
  await collector?.stop();
});

function closedWithin(s: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (s.destroyed) return resolve(true);
    const t = setTimeout(() => resolve(false), ms);
    s.once('close', () => (clearTimeout(t), resolve(true)));
  });
}

describe('connection abuse against the gateway (real collector process, loopback)', () => {
  it('cuts off a slow-loris of 300 connections dribbling a TLS handshake or an upgrade request, while a good agent delivers', async () => {
    const before = snapshot();
    const sockets: Socket[] = [];
    const timers: NodeJS.Timeout[] = [];
    // Every connection is dropped within the collector's own bounds: a TLS turn waited for at most 30 s
    // (src/shared/tls/handshake-queue.ts), then a 10 s handshake, then 10 s for the request headers;
    // 300 connections from one address take their turns 16 at a time, so the last ones need all three.
    const droppedBy = Date.now() + 30_000 + 10_000 + 10_000 + 5_000;
    // The attacker comes from an address of its own (127.0.0.2, also loopback): the collector runs at most
    // 16 handshakes per address, so a slow-loris from the good agent's own address would queue it behind them.
    const attacker = { localAddress: '127.0.0.2' };
    // 150 raw TCP connections sending a TLS ClientHello-looking record one byte per 300 ms.
    const hello = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]), randomBytes(600)]);
    for (let i = 0; i < 150; i++) {
      const s = tcpConnect({ port: collector.port, host: '127.0.0.1', ...attacker });
      s.on('error', () => undefined);
      let k = 0;
      timers.push(setInterval(() => !s.destroyed && k < hello.length && s.write(hello.subarray(k, ++k)), 300));
      sockets.push(s);
    }
    // 150 TLS connections sending a WebSocket upgrade one byte per 300 ms.
    const upgrade = Buffer.from(`GET /agent HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`);
    for (let i = 0; i < 150; i++) {
      const s = tlsConnect({ host: '127.0.0.1', port: collector.port, ca: [collector.caPem!], servername: 'localhost', ...attacker });
      s.on('error', () => undefined);
      let k = 0;
      s.once('secureConnect', () => timers.push(setInterval(() => !s.destroyed && k < upgrade.length - 1 && s.write(upgrade.subarray(k, ++k)), 300)));
      sockets.push(s);
    }
    await new Promise((r) => setTimeout(r, 1000));
    // While they hang on, a good agent gets through.
    await goodAgentDelivers();
    // The server drops every one of them.
    const closed = await Promise.all(sockets.map((s) => closedWithin(s, Math.max(0, droppedBy - Date.now()))));
    timers.forEach(clearInterval);
    sockets.forEach((s) => s.destroy());
    expect(closed.filter((c) => !c).length).toBe(0);
    await healthy();
    await goodAgentDelivers();
    expect(snapshot()).toBe(before);
  }, 90_000);

  it('survives a flood of 3,000 connections opened and dropped at every stage', async () => {
    const before = snapshot();
    const batch = async (n: number, open: () => Promise<void>) => {
      for (let i = 0; i < n; i += 250) await Promise.all(Array.from({ length: Math.min(250, n - i) }, () => open().catch(() => undefined)));
    };
    // Dropped right after the TCP connect.
    await batch(1500, () => new Promise<void>((resolve) => {
      const s = tcpConnect(collector.port, '127.0.0.1', () => (s.destroy(), resolve()));
      s.on('error', () => resolve());
    }));
    // Dropped right after the TLS handshake.
    await batch(1000, () => new Promise<void>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port: collector.port, ca: [collector.caPem!], servername: 'localhost' }, () => (s.destroy(), resolve()));
      s.on('error', () => resolve());
    }));
    // Dropped right after the WebSocket challenge.
    await batch(500, async () => {
      const c = await connect(collector.agentUrl);
      await c.next('challenge');
      c.ws.terminate();
    });
    await healthy();
    await goodAgentDelivers();
    expect(snapshot()).toBe(before);
  }, 120_000);

  it('closes connections that send random bytes or random frames with a documented code, storing nothing', async () => {
    const before = snapshot();
    const documented = new Set<number>([...Object.values(CloseCode), 1002, 1006, 1007]);
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ unit: 'binary', maxLength: 500 }), fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)), fc.uint8Array({ maxLength: 500 })), async (payload) => {
        const c = await connect(collector.agentUrl);
        await c.next('challenge');
        c.ws.send(payload, { binary: typeof payload !== 'string' });
        const { code } = await Promise.race([c.closed, new Promise<{ code: number }>((r) => setTimeout(() => r({ code: -1 }), 12_000))]);
        if (code === -1) c.ws.terminate(); // a valid-looking but unauthenticated frame ends at the 10 s auth timeout (4401)
        expect(code === -1 || documented.has(code)).toBe(true);
        expect(code).not.toBe(CloseCode.SERVER_ERROR);
      }),
      { numRuns: 150, seed: 20260403 },
    );
    // Random bytes straight into the TLS socket (not HTTP at all).
    await Promise.all(Array.from({ length: 50 }, () => new Promise<void>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port: collector.port, ca: [collector.caPem!], servername: 'localhost' }, () => s.write(randomBytes(2000)));
      s.on('error', () => resolve());
      s.on('close', () => resolve());
      setTimeout(() => (s.destroy(), resolve()), 15_000).unref();
    })));
    await healthy();
    await goodAgentDelivers();
    expect(snapshot()).toBe(before);
  }, 120_000);
});
