/**
 * TLS session tickets of the collector: a reconnecting agent resumes its TLS session instead of
 * a full handshake (no certificate signed, sent and verified), which is what a town's collector
 * pays for 10,000 PCs coming back at once after an outage or a restart.
 *
 * The ticket keys are derived, one per day, from a secret kept in DATA/tls beside the server's
 * private key (0600, `ensureSessionTicketSecret` in material.ts, made by `collector init`). So
 * tickets survive a restart of the collector, every node of a cluster (which share a copy of DATA/tls, docs/scaling.md) accepts
 * the tickets of the others, and the key changes every day at 03:00 JST without any node
 * writing a file. Whoever reads the secret could decrypt tickets; whoever reads DATA/tls can
 * already take the server key and the CA, so it adds no new way in. TLS 1.3 resumption still
 * runs an ECDHE exchange (OpenSSL offers only psk_dhe_ke), so recorded traffic stays secret.
 *
 * What a resumed session does not change: the agent still signs the challenge of the
 * connection, and a client certificate carried by the session is judged again at the hello
 * (gateway/client-certs.ts).
 */
import { createHmac } from 'node:crypto';
import type { Server as TlsServer } from 'node:tls';

/** How long a ticket may be used (seconds): an outage or a restart of up to an hour resumes. */
export const SESSION_LIFETIME_SECONDS = 3600;
const DAY_MS = 86_400_000;
/** Keys change at 18:00 UTC = 03:00 JST, when PCs are off: no storm meets a fresh key. */
const ROTATION_OFFSET_MS = 18 * 3_600_000;

/** The number of the key period `at` falls in. */
export function ticketPeriod(at: number): number {
  return Math.floor((at - ROTATION_OFFSET_MS) / DAY_MS);
}

/** The 48 bytes Node wants as ticket keys (name, HMAC key, AES key) for one period. */
export function ticketKeysFor(secret: Buffer, period: number): Buffer {
  const part = (label: string) => createHmac('sha256', secret).update(`mamori.session-ticket|${period}|${label}`).digest().subarray(0, 16);
  return Buffer.concat([part('name'), part('hmac'), part('aes')]);
}

/** Options of the HTTPS server for resumable sessions with the current period's keys. */
export function sessionTicketOptions(secret: Buffer, now = Date.now()): { ticketKeys: Buffer; sessionTimeout: number } {
  return { ticketKeys: ticketKeysFor(secret, ticketPeriod(now)), sessionTimeout: SESSION_LIFETIME_SECONDS };
}

/** Switch the server to the next period's keys when it begins, and on; returns a stop function. */
export function rotateTicketKeys(server: TlsServer, secret: Buffer): () => void {
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    const now = Date.now();
    const next = (ticketPeriod(now) + 1) * DAY_MS + ROTATION_OFFSET_MS;
    timer = setTimeout(() => {
      server.setTicketKeys(ticketKeysFor(secret, ticketPeriod(Date.now())));
      schedule();
    }, next - now + 1000);
    timer.unref();
  };
  schedule();
  return () => clearTimeout(timer);
}
