/**
 * The agent's TLS session with its collector, kept in memory across reconnects so that the next
 * connection resumes it (collector side: session-tickets.ts).
 *
 * - A session is kept only from a connection whose certificate chain verified against the
 *   pinned CA (`secureConnect` with `authorized`): a TLS 1.2 ticket can arrive before Node has
 *   checked the chain, and is held back until it has. A resumed connection sends no
 *   certificate; the collector proves it holds the session's secret, which only the server
 *   that passed the pin check was given, so the pin still decides who the agent talks to.
 * - One session per connection setting (`key`: the URL, the pinned CA, the client certificate):
 *   a new client certificate or CA starts a full handshake, so the collector sees the new one.
 * - Never written to disk: the session's secret would let whoever reads the file open a TLS
 *   connection that carries the agent's client certificate (mutual TLS) without its key, and a
 *   persisted ticket would serve only a restart of the agent (the ticket lives an hour), not the
 *   reconnect storm after an outage, where the agents keep running.
 */
import { connect } from 'node:tls';
import type { ConnectionOptions, TLSSocket } from 'node:tls';

export interface ResumableOptions {
  /** The session to offer, when one is held for this setting. */
  session?: Buffer;
  /** ws hands its TLS options here: tls.connect, keeping the new session once the chain verified. */
  createConnection: (options: ConnectionOptions) => TLSSocket;
}

export class TlsSessionMemory {
  private held: { key: string; session: Buffer } | undefined;
  /** Connections that resumed the held session, and those that made a full handshake. */
  readonly counts = { resumed: 0, full: 0 };

  /** Options to add to a wss client's options for the connection setting `key`. */
  options(key: string): ResumableOptions {
    const session = this.held?.key === key ? this.held.session : undefined;
    if (!session) this.held = undefined;
    return {
      ...(session ? { session } : {}),
      createConnection: (options) => {
        const socket = connect(options);
        let verified = false;
        let early: Buffer | undefined;
        socket.on('session', (s: Buffer) => {
          if (verified) this.held = { key, session: s };
          else early = s;
        });
        socket.once('secureConnect', () => {
          if (!socket.authorized) return;
          verified = true;
          if (socket.isSessionReused()) this.counts.resumed++;
          else this.counts.full++;
          if (early) this.held = { key, session: early };
        });
        return socket;
      },
    };
  }

  get holds(): boolean {
    return this.held !== undefined;
  }
}
