/**
 * The raw ws baseline: a bare `ws` server on 127.0.0.1 that does what any WebSocket service
 * must do with the same traffic and nothing more — JSON.parse every frame and answer an
 * `events` frame with an ack of its last seq. No authentication, no validation, no storage.
 * It can also send scan requests and time the answers, as the baseline of the scan round trip.
 */
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { randomBytes } from 'node:crypto';
import { WebSocketServer } from 'ws';
import type WebSocket from 'ws';
import { SESSION_LIFETIME_SECONDS } from '../../src/shared/tls/session-tickets.js';
import { serveRpc } from './common.js';

let server: Server | HttpsServer | undefined;
let wss: WebSocketServer | undefined;
const stats = { frames: 0, events: 0 };
const waiting = new Map<string, () => void>();

function listen(args: { port: number; tls?: { key: string; cert: string; ticketKeys?: string } }): Promise<{ port: number }> {
  // Over TLS with the collector's own certificate and ticket keys: the baseline pays the same handshakes.
  const tickets = args.tls?.ticketKeys ? { ticketKeys: Buffer.from(args.tls.ticketKeys, 'hex'), sessionTimeout: SESSION_LIFETIME_SECONDS } : {};
  server = args.tls ? createHttpsServer({ key: args.tls.key, cert: args.tls.cert, minVersion: 'TLSv1.2', ...tickets }) : createServer();
  wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 4 * 1024 * 1024 });
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type: string; events?: { seq: number; kind: string; requestId?: string }[] };
      stats.frames++;
      if (frame.type !== 'events' || !frame.events) return;
      stats.events += frame.events.length;
      const last = frame.events[frame.events.length - 1]!;
      ws.send(JSON.stringify({ type: 'ack', upTo: last.seq }));
      for (const e of frame.events) if (e.kind === 'scan.result') waiting.get(e.requestId!)?.();
    });
    ws.on('error', () => {});
  });
  return new Promise((resolve) => server!.listen(args.port, '127.0.0.1', () => resolve({ port: (server!.address() as { port: number }).port })));
}

/** Send scan requests to `count` random clients, `concurrency` at a time; latency of each answer in ms. */
async function scan(args: { count: number; concurrency: number }): Promise<number[]> {
  const clients = [...wss!.clients];
  const latencies: number[] = [];
  let started = 0;
  const one = (ws: WebSocket) =>
    new Promise<void>((resolve) => {
      const requestId = `scan_${randomBytes(10).toString('hex')}`;
      const t0 = performance.now();
      waiting.set(requestId, () => {
        waiting.delete(requestId);
        latencies.push(performance.now() - t0);
        resolve();
      });
      ws.send(JSON.stringify({ type: 'scan.request', requestId, checks: ['usb-media'] }));
    });
  const lane = async () => {
    while (started < args.count) {
      started++;
      await one(clients[Math.floor(Math.random() * clients.length)]!);
    }
  };
  await Promise.all(Array.from({ length: args.concurrency }, lane));
  return latencies;
}

serveRpc({
  listen,
  stats: () => ({ ...stats, connections: wss?.clients.size ?? 0 }),
  scan,
  close: () =>
    new Promise<void>((resolve) => {
      for (const ws of wss?.clients ?? []) ws.terminate();
      server?.close(() => resolve());
    }),
});
