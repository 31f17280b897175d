/**
 * TLS handshakes in turn. After a collector restart thousands of agents connect within
 * seconds; a TLS server starts every handshake at once, each gets a sliver of the one thread,
 * they all end late together, pass the handshake timeout and are retried — work thrown away,
 * and agents pushed into their longest backoff. Here at most `inProgress` handshakes run at a
 * time (at most `perAddress` from one address); the other connections wait, unread, in arrival
 * order, and the handshake timeout starts when a connection's turn comes (the server's own
 * queue is not held against the agent). A connection that waited `maxWaitMs` is closed.
 *
 * A stranger's idle connection holds a turn for at most the handshake timeout, and one address
 * holds at most `perAddress` turns, so keeping agents out takes many addresses renewing idle
 * connections all the time.
 */
import type { Socket } from 'node:net';
import type { Server as TlsServer, TLSSocket } from 'node:tls';

export interface HandshakeQueueOptions {
  /** Handshakes running at once (default 64). */
  inProgress?: number;
  /** Of which from one remote address (default 16). */
  perAddress?: number;
  /** Longest wait for a turn before the connection is closed (default 30 s). */
  maxWaitMs?: number;
}

interface Waiting {
  socket: Socket;
  address: string;
  since: number;
}

export interface HandshakeQueueStats {
  running: number;
  waiting: number;
  /** Connections closed because they waited longer than maxWaitMs. */
  waitedTooLong: number;
}

/** Put the TLS server's handshakes in turn; returns the live counts. */
export function queueHandshakes(server: TlsServer, opts: HandshakeQueueOptions = {}): () => HandshakeQueueStats {
  const inProgress = opts.inProgress ?? 64;
  const perAddress = opts.perAddress ?? 16;
  const maxWaitMs = opts.maxWaitMs ?? 30_000;
  // The TLS server's own listener wraps a raw connection in a TLSSocket and starts its handshake timer.
  const startHandshake = server.listeners('connection')[0] as ((socket: Socket) => void) | undefined;
  if (!startHandshake) throw new Error('the TLS server has no connection listener');
  server.removeListener('connection', startHandshake);

  let running = 0;
  let waitedTooLong = 0;
  const byAddress = new Map<string, number>();
  const waiting: Waiting[] = [];
  const finish = new WeakMap<Socket, () => void>();

  /** Closed, or its client gave up while it waited (its end arrived behind the unread hello): a handshake would be wasted. */
  const gone = (socket: Socket) => socket.destroyed || (socket as unknown as { _readableState?: { ended?: boolean } })._readableState?.ended === true;

  const canRun = (address: string) => running < inProgress && (byAddress.get(address) ?? 0) < perAddress;

  const start = (socket: Socket, address: string) => {
    running++;
    byAddress.set(address, (byAddress.get(address) ?? 0) + 1);
    let done = false;
    const end = () => {
      if (done) return;
      done = true;
      running--;
      const left = (byAddress.get(address) ?? 1) - 1;
      if (left > 0) byAddress.set(address, left);
      else byAddress.delete(address);
      next();
    };
    finish.set(socket, end);
    socket.once('close', end);
    startHandshake.call(server, socket);
  };

  /** Start what may start, in arrival order; a connection that waited too long (they are oldest at the front) is closed. */
  const next = () => {
    const now = Date.now();
    while (waiting.length > 0 && (gone(waiting[0]!.socket) || now - waiting[0]!.since > maxWaitMs)) {
      const w = waiting.shift()!;
      if (gone(w.socket)) w.socket.destroy();
      else {
        waitedTooLong++;
        w.socket.destroy();
      }
    }
    // Connections of an address at its share are passed over; a bounded look past them keeps a long queue cheap.
    for (let i = 0, passed = 0; i < waiting.length && running < inProgress && passed < 256; ) {
      const w = waiting[i]!;
      if (gone(w.socket)) (waiting.splice(i, 1), w.socket.destroy());
      else if (canRun(w.address)) (waiting.splice(i, 1), start(w.socket, w.address));
      else (i++, passed++);
    }
  };

  server.on('connection', (socket: Socket) => {
    // Nobody reads a waiting connection; a reset while it waits must not throw.
    socket.on('error', () => {});
    const address = socket.remoteAddress ?? '?';
    if (waiting.length === 0 && canRun(address)) return start(socket, address);
    waiting.push({ socket, address, since: Date.now() });
  });
  // The turn ends with the handshake (or the connection, whichever comes first).
  const handshakeOver = (tlsSocket: TLSSocket) => finish.get((tlsSocket as unknown as { _parent?: Socket })._parent as Socket)?.();
  server.on('secureConnection', handshakeOver);
  server.on('tlsClientError', (_err: Error, tlsSocket: TLSSocket) => handshakeOver(tlsSocket));
  // Connections that waited too long while no handshake ended are closed by this sweep.
  const sweep = setInterval(next, 1000);
  sweep.unref();
  server.once('close', () => clearInterval(sweep));

  return () => ({ running, waiting: waiting.length, waitedTooLong });
}
