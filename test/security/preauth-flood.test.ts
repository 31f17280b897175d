/**
 * Unauthenticated memory exhaustion, as it was done against a real collector process: 400
 * WebSocket connections (from 127.0.0.2) each send the header of a 3.9 MiB frame and then
 * stream its payload without ever finishing it. ws would buffer every unfinished frame up to
 * maxPayload (4 MiB) — 1.5 GiB in all. Now at most 64 of them are admitted from one address
 * (the rest get 503 before the upgrade), each is cut with 1009 after 16 KiB, the collector's
 * resident memory stays bounded, and an agent on another address (127.0.0.1) still delivers.
 * The collector runs TLS handshakes in turn (16 per address), so every attacker first completes
 * its handshake and all then ask for the upgrade together, as a flood from already open
 * connections would: otherwise they would reach the cap spread over time, cut ones freeing
 * their place for later ones, and the cap would not be what limits them.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken, startCollectorProc, tempDir } from '../helpers/processes.js';
import type { CollectorProc } from '../helpers/processes.js';
import { noticeEvents, rawEnroll, rawHello } from '../helpers/raw-client.js';

const CONNECTIONS = 400;
const FRAME_BYTES = Math.floor(3.9 * 1024 * 1024);
const SENT_BYTES = Math.floor(3.8 * 1024 * 1024);
let collector: CollectorProc;

beforeAll(async () => {
  collector = await startCollectorProc(tempDir('preauth-flood'));
}, 120_000);
afterAll(async () => {
  await collector?.stop();
});

/** Resident memory of the collector process (VmRSS, /proc/PID/status), in bytes. */
function collectorRss(): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${collector.child.pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

/** Header of a masked text frame of `length` bytes (RFC 6455 §5.2: 127 + 64-bit length). */
function frameHeader(length: number): Buffer {
  const h = Buffer.alloc(14);
  h[0] = 0x81;
  h[1] = 0x80 | 127;
  h.writeBigUInt64BE(BigInt(length), 2);
  randomBytes(4).copy(h, 10);
  return h;
}

/**
 * One attacking connection: TLS, then (once `go` resolves) the upgrade and the unfinished frame.
 * `connected` is called when its handshake is done, or when it failed. Resolves with the HTTP
 * status and the bytes the socket took.
 */
function attack(connected: () => void, go: Promise<void>): Promise<{ status: number; written: number }> {
  return new Promise((resolve) => {
    const { port } = new URL(collector.agentUrl);
    // From another loopback address than the good agent: the per-address cap is the attacker's.
    const tcp = tcpConnect({ host: '127.0.0.1', port: Number(port), localAddress: '127.0.0.2' });
    tcp.on('error', () => undefined);
    const socket: TLSSocket = tlsConnect({ socket: tcp, ca: [collector.caPem!], servername: 'localhost' });
    let status = 0;
    let written = 0;
    let head = '';
    const done = () => {
      connected();
      resolve({ status, written });
    };
    socket.on('error', () => undefined);
    socket.on('close', done);
    socket.once('secureConnect', async () => {
      connected();
      await go;
      socket.write(`GET /agent HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    const onData = (d: Buffer) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      socket.on('data', () => undefined);
      status = Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0);
      if (status !== 101) return socket.destroy();
      const chunk = randomBytes(64 * 1024);
      const pump = () => {
        socket.write(frameHeader(FRAME_BYTES));
        const next = (): void => {
          while (written < SENT_BYTES && !socket.destroyed) {
            written += chunk.length;
            if (!socket.write(chunk)) return void socket.once('drain', next);
          }
          // Never finish the frame: hold the connection open until the collector cuts it.
        };
        next();
      };
      pump();
    };
    socket.on('data', onData);
  });
}

describe('unauthenticated memory exhaustion', () => {
  it('400 connections each streaming an unfinished 3.9 MiB frame: capped, cut after 16 KiB, collector RSS bounded, a good agent still delivers', async () => {
    const good = await rawEnroll(collector.agentUrl, await createToken(collector.dataDir));
    const before = collectorRss();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, collectorRss())), 20);
    let handshakes = 0;
    let allConnected!: () => void;
    const go = new Promise<void>((resolve) => (allConnected = resolve));
    const results = await Promise.all(
      Array.from({ length: CONNECTIONS }, () => {
        let counted = false;
        const connected = () => {
          if (counted) return;
          counted = true;
          if (++handshakes === CONNECTIONS) allConnected();
        };
        return attack(connected, go);
      }),
    );
    // While the flood is being cut, an agent from another address authenticates and delivers.
    const c = await rawHello(collector.agentUrl, good.agentId, good.privateKey);
    await c.next('welcome', 60_000);
    c.ws.send(JSON.stringify({ type: 'events', agentId: good.agentId, events: noticeEvents(1, 3) }));
    expect((await c.next('ack', 60_000)).upTo).toBe(3);
    c.ws.close(1000);
    clearInterval(sampler);
    const admitted = results.filter((r) => r.status === 101).length;
    const refused = results.filter((r) => r.status === 503).length;
    console.log(`[preauth-flood] ${admitted} admitted, ${refused} refused with 503; collector RSS ${Math.round(before / 2 ** 20)} → peak ${Math.round(peak / 2 ** 20)} MiB`);
    expect(admitted + refused).toBe(CONNECTIONS);
    expect(admitted).toBeGreaterThan(0);
    expect(admitted).toBeLessThanOrEqual(64 * 2); // the cap holds 64 at once; cut ones free their place
    // Unbounded it grows by the frames' size (1.5 GiB for 400); bounded it stays near the baseline.
    expect(peak - before).toBeLessThan(128 * 2 ** 20);
    expect(collector.child.exitCode).toBeNull();
  }, 300_000);
});
