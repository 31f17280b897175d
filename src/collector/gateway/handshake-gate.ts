/**
 * A cap on TLS handshakes in progress. When thousands of PCs reconnect at once (after an outage
 * or a restart), every handshake shares the CPU with all the others: queued without a cap they
 * all end late together, past the handshake timeout, and are cut off — and retried, so the
 * storm never drains (measured: bench/reconnect-storm.ts, ERR_TLS_HANDSHAKE_TIMEOUT). Over the
 * cap a new connection is closed at once, before any TLS work; the agent retries after its
 * backoff (full jitter), and the handshakes let in finish well within the timeout.
 */
import type { Socket } from 'node:net';
import type { Server as TlsServer, TLSSocket } from 'node:tls';

/** Handshakes in progress at most (default). */
export const TLS_HANDSHAKES_IN_PROGRESS = 128;

export interface HandshakeGate {
  /** TCP connections whose TLS handshake has not ended yet. */
  readonly inProgress: number;
  /** Connections closed at once because the cap was reached. */
  readonly refused: number;
}

const keyOf = (s: Socket | TLSSocket) => `${s.remoteAddress}|${s.remotePort}`;

export function gateHandshakes(server: TlsServer, max = TLS_HANDSHAKES_IN_PROGRESS): HandshakeGate {
  const pending = new Map<string, Socket>();
  const gate = { inProgress: 0, refused: 0 };
  const end = (key: string, socket: Socket) => {
    if (pending.get(key) !== socket) return;
    pending.delete(key);
    gate.inProgress = pending.size;
  };
  server.on('connection', (socket: Socket) => {
    if (pending.size >= max) {
      gate.refused++;
      socket.destroy();
      return;
    }
    const key = keyOf(socket);
    pending.set(key, socket);
    gate.inProgress = pending.size;
    socket.once('close', () => end(key, socket));
  });
  const settled = (tls: TLSSocket) => {
    const key = keyOf(tls);
    const raw = pending.get(key);
    if (raw) end(key, raw);
  };
  server.on('secureConnection', settled);
  server.on('tlsClientError', (_err: Error, tls: TLSSocket) => settled(tls));
  return gate;
}
