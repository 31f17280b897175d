/**
 * Mutual TLS for agents (an option for sites that want it): the collector's CA issues each
 * agent a short-lived client certificate for the agent's own registered Ed25519 key — the
 * same key that signs the challenge; no second key exists — and the gateway checks the
 * certificate a connection presented against the agents table, not only against the chain:
 * the certificate must name the agent the hello speaks for and carry its registered key, and
 * a revoked agent is refused whatever it presents.
 *
 * The HTTPS server only requests a client certificate (browsers without one keep using the
 * console); the check is made here, at the agent's hello. Node's TLS (OpenSSL 3) accepts
 * Ed25519 client certificates under the collector's ECDSA P-256 CA in TLS 1.2 and 1.3.
 *
 * Why no PKCS#10 request: the collector issues the certificate only for the key it already
 * has registered for the agent, to a connection whose hello signature has just proved
 * possession of that key; a CSR would prove the same a second time and would bring an X.509
 * library into the agent.
 */
import { webcrypto } from 'node:crypto';
import type { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { loadCa, SIGNING, serial, tlsDir, x509lib } from '../../shared/tls/material.js';
import type { AgentRecord } from '../store/store.js';

/** off: no client certificates; issue: issued and checked when presented; require: an agent must present a valid one. */
export const AGENT_CERT_MODES = ['off', 'issue', 'require'] as const;
export type AgentCertMode = (typeof AGENT_CERT_MODES)[number];

export interface AgentCertOptions {
  mode: AgentCertMode;
  /** Lifetime of an issued certificate (default 30 days); the agent renews when a third is left. */
  lifetimeDays?: number;
}

/** The URI (subjectAltName) naming the agent a certificate was issued to. */
export function agentUri(agentId: string): string {
  return `urn:mamori:agent:${agentId}`;
}

/** What a connection presented at the TLS handshake. */
export interface PresentedCert {
  cert: X509Certificate;
  /** The chain verified against the collector's CA and every certificate is within its dates. */
  authorized: boolean;
  /** OpenSSL's reason when not authorized (e.g. CERT_HAS_EXPIRED). */
  error?: string;
}

/** The client certificate of the connection of `req`, if one was presented. */
export function presentedCert(req: IncomingMessage): PresentedCert | undefined {
  const socket = req.socket as Partial<TLSSocket>;
  const cert = typeof socket.getPeerX509Certificate === 'function' ? socket.getPeerX509Certificate() : undefined;
  if (!cert) return undefined;
  const error = socket.authorizationError;
  return { cert, authorized: socket.authorized === true, ...(error ? { error: String(error) } : {}) };
}

export type CertJudgement =
  | { valid: true }
  /** foreign: a certificate of this CA, valid, but issued to another agent or another key. */
  | { valid: false; foreign: boolean; why: string };

const DAY_MS = 86_400_000;

export class AgentCertificates {
  readonly mode: AgentCertMode;
  private readonly lifetimeMs: number;
  private ca: ReturnType<typeof loadCa> | undefined;

  constructor(
    private readonly dataDir: string,
    opts: AgentCertOptions,
  ) {
    this.mode = opts.mode;
    this.lifetimeMs = (opts.lifetimeDays ?? 30) * DAY_MS;
    if (!(this.lifetimeMs >= 60_000)) throw new RangeError(`client certificate lifetime ${opts.lifetimeDays} days is too short`);
  }

  /** A certificate (PEM) for the agent's registered Ed25519 key, signed by the collector's CA. */
  async issue(agentId: string, publicKeyB64: string): Promise<string> {
    const x509 = await x509lib();
    this.ca ??= loadCa(tlsDir(this.dataDir));
    const ca = await this.ca;
    const publicKey = await webcrypto.subtle.importKey('spki', Buffer.from(publicKeyB64, 'base64'), { name: 'Ed25519' }, true, ['verify']);
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${agentId}, O=mamori agent`,
      issuer: ca.cert.subject,
      // A little before now: the collector checks it by its own clock, a second later.
      notBefore: new Date(now - 5 * 60_000),
      notAfter: new Date(now + this.lifetimeMs),
      signingAlgorithm: SIGNING,
      publicKey,
      signingKey: ca.key,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: agentUri(agentId) }]),
        await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
      ],
    });
    return `${cert.toString('pem')}\n`;
  }

  /**
   * Whether `presented` is a valid client certificate of `agent` (its id, its registered key).
   * The chain and dates were checked by TLS against the collector's CA (at the session's first
   * handshake, when it was resumed); revocation is the caller's check of the agents table (a
   * revoked agent is refused before this).
   */
  judge(presented: PresentedCert | undefined, agent: AgentRecord): CertJudgement {
    if (!presented) return { valid: false, foreign: false, why: 'no client certificate' };
    if (!presented.authorized) return { valid: false, foreign: false, why: `client certificate not accepted (${presented.error ?? 'unverified'})` };
    // A resumed TLS session carries the verdict of its first handshake: the end date is checked again here.
    if (Date.now() > Date.parse(presented.cert.validTo)) return { valid: false, foreign: false, why: 'client certificate not accepted (expired since the TLS session began)' };
    const named = (presented.cert.subjectAltName ?? '').split(', ').filter((n) => n.startsWith('URI:urn:mamori:agent:')).map((n) => n.slice('URI:urn:mamori:agent:'.length));
    if (named.length !== 1 || named[0] !== agent.id) return { valid: false, foreign: true, why: `client certificate of another agent (${named.join(', ') || 'none named'})` };
    const key = presented.cert.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    if (!agent.publicKey || key !== agent.publicKey) return { valid: false, foreign: true, why: 'client certificate for a key this agent has not registered' };
    return { valid: true };
  }
}
