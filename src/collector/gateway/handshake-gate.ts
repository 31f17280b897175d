/**
 * A cap on TLS handshakes in progress. When thousands of PCs reconnect at once (after an outage
 * or a restart), every handshake shares the CPU with all the others: queued without a cap they
 * all end late together, past the handshake timeout, and are cut off — and retried, so the
 * storm never drains (measured: bench/reconnect-storm.ts, ERR_TLS_HANDSHAKE_TIMEOUT). A new
 * connection is closed at once, before any TLS work, when `max` handshakes are in progress or
 * when the oldest of them has waited `maxWaitMs` (the server is behind, whatever its CPU
 * share); the agent retries after its backoff (full jitter), and the handshakes let in finish
 * within the timeout.
 */
import type { Socket } from 'node:net';
import type { Server as TlsServer, TLSSocket } from 'node:tls';

/** Handshakes in progress at most, and the longest the oldest may have waited (defaults). */
export const TLS_HANDSHAKES_IN_PROGRESS = 128;
export const TLS_HANDSHAKE_MAX_WAIT_MS = 5000;

export interface HandshakeGate {
  /** TCP connections whose TLS handshake has not ended yet. */
  inProgress: number;
  /** Connections closed at once because the cap was reached. */
  refused: number;
  /** How long the oldest handshake in progress has waited (ms; 0 when none). */
  oldestWaitMs(): number;
}

const keyOf = (s: Socket | TLSSocket) => `${s.remoteAddress}|${s.remotePort}`;

export function gateHandshakes(server: TlsServer, opts: { max?: number; maxWaitMs?: number } = {}): HandshakeGate {
  const max = opts.max ?? TLS_HANDSHAKES_IN_PROGRESS;
  const maxWaitMs = opts.maxWaitMs ?? TLS_HANDSHAKE_MAX_WAIT_MS;
  // In arrival order: the first entry is the oldest.
  const pending = new Map<string, { socket: Socket; since: number }>();
  const gate: HandshakeGate = {
    inProgress: 0,
    refused: 0,
    oldestWaitMs: () => {
      const oldest = pending.values().next().value;
      return oldest ? Date.now() - oldest.since : 0;
    },
  };
  const end = (key: string, socket: Socket) => {
    if (pending.get(key)?.socket !== socket) return;
    pending.delete(key);
    gate.inProgress = pending.size;
  };
  server.on('connection', (socket: Socket) => {
    if (pending.size >= max || gate.oldestWaitMs() >= maxWaitMs) {
      gate.refused++;
      socket.destroy();
      return;
    }
    const key = keyOf(socket);
    pending.set(key, { socket, since: Date.now() });
    gate.inProgress = pending.size;
    socket.once('close', () => end(key, socket));
  });
  const settled = (tls: TLSSocket) => {
    const key = keyOf(tls);
    const entry = pending.get(key);
    if (entry) end(key, entry.socket);
  };
  server.on('secureConnection', settled);
  server.on('tlsClientError', (_err: Error, tls: TLSSocket) => settled(tls));
  return gate;
}
