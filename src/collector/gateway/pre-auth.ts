/**
 * Limits on agent connections that have not authenticated yet: what a stranger on the LAN
 * can make the collector hold. ws buffers a frame until it is complete and checks maxPayload
 * only against the frame's whole length (4 MiB for authenticated agents), so 400 connections
 * each sending an unfinished 3.9 MiB frame once held 1.6 GiB. Here the bytes are counted on
 * the socket as they arrive ('data' events, which ws also listens to): past
 * LIMITS.maxPreAuthBytes before the agent authenticated, the connection is cut at once. The
 * number of such connections is capped per remote address and in total; one over the cap
 * gets 503 before the WebSocket upgrade.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { LIMITS } from '../../shared/protocol/messages.js';
import type { Logger } from '../../shared/log.js';

export interface PreAuthOptions {
  /** Unauthenticated connections from one address (default 64: a branch office behind one NAT address reconnects with jitter). */
  perAddress?: number;
  /** Unauthenticated connections in total (default 1,024). */
  total?: number;
  /** Bytes a connection may send before it authenticated (default LIMITS.maxPreAuthBytes). */
  maxBytes?: number;
}

interface Pending {
  address: string;
  released: boolean;
}

export class PreAuthLimits {
  private readonly perAddress: number;
  private readonly total: number;
  private readonly maxBytes: number;
  private readonly byAddress = new Map<string, number>();
  private count = 0;
  private readonly pending = new WeakMap<object, Pending>();
  private refusedSinceLog = 0;
  private lastRefusalLog = 0;

  constructor(
    opts: PreAuthOptions = {},
    private readonly log: Logger,
  ) {
    this.perAddress = opts.perAddress ?? 64;
    this.total = opts.total ?? 1024;
    this.maxBytes = opts.maxBytes ?? LIMITS.maxPreAuthBytes;
  }

  /** Unauthenticated connections now (tests, status). */
  get unauthenticated(): number {
    return this.count;
  }

  /** Count an upgrade request, or refuse it with 503 when over a cap. */
  admit(req: IncomingMessage, socket: Duplex): boolean {
    const address = req.socket.remoteAddress ?? '?';
    const fromAddress = this.byAddress.get(address) ?? 0;
    if (fromAddress >= this.perAddress || this.count >= this.total) {
      this.refused(address, fromAddress);
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 10\r\nContent-Length: 0\r\n\r\n');
      socket.destroy();
      return false;
    }
    const entry: Pending = { address, released: false };
    this.pending.set(req.socket, entry);
    this.byAddress.set(address, fromAddress + 1);
    this.count += 1;
    socket.once('close', () => this.release(entry));
    return true;
  }

  /**
   * Count the bytes arriving on this connection until the returned function is called (at
   * authentication or close); call `over` once when they pass the limit.
   */
  watch(req: IncomingMessage, over: () => void): () => void {
    const socket = req.socket;
    const entry = this.pending.get(socket);
    let received = 0;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > this.maxBytes) {
        socket.off('data', onData);
        over();
      }
    };
    socket.on('data', onData);
    return () => {
      socket.off('data', onData);
      if (entry) this.release(entry);
    };
  }

  private release(entry: Pending): void {
    if (entry.released) return;
    entry.released = true;
    this.count -= 1;
    const left = (this.byAddress.get(entry.address) ?? 1) - 1;
    if (left > 0) this.byAddress.set(entry.address, left);
    else this.byAddress.delete(entry.address);
  }

  /** One log line per 10 s at most: a flood must not flood the log too. */
  private refused(address: string, fromAddress: number): void {
    this.refusedSinceLog += 1;
    const now = Date.now();
    if (now - this.lastRefusalLog < 10_000) return;
    this.log.warn(`refusing agent connections before authentication: too many unauthenticated (${fromAddress} from ${address}, ${this.count} in all; limits ${this.perAddress} / ${this.total})`, { address, refused: this.refusedSinceLog });
    this.lastRefusalLog = now;
    this.refusedSinceLog = 0;
  }
}
