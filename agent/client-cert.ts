/**
 * The agent's client certificate for mutual TLS (docs/security.md "Mutual TLS"): issued by the
 * collector's CA for the agent's own Ed25519 key (the key in identity.json; there is no second
 * key), kept in the state directory as agent-cert.pem (0600) and presented on every connection
 * to the collector. A stored certificate is used only while it is for this agent's key, issued
 * by the pinned collector CA and not expired; the agent asks for a new one when it has none
 * usable, and renews when a third of its lifetime is left.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { publicKeyOf } from '../src/shared/protocol/auth.js';

export const CLIENT_CERT_FILE = 'agent-cert.pem';
const CA_FILE = 'collector-ca.pem';

function pem(label: string, base64: string): string {
  return `-----BEGIN ${label}-----\n${base64.match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
}

export class ClientCertificate {
  private readonly path: string;
  private readonly publicKey: string;

  constructor(
    private readonly stateDir: string,
    /** base64 PKCS#8 DER of the agent's Ed25519 private key. */
    private readonly privateKey: string,
  ) {
    this.path = join(stateDir, CLIENT_CERT_FILE);
    this.publicKey = publicKeyOf(privateKey);
  }

  /** The stored certificate when it is usable now, else undefined. */
  private usable(pemText: string | undefined = this.read(), now = Date.now()): X509Certificate | undefined {
    if (!pemText) return undefined;
    try {
      const cert = new X509Certificate(pemText);
      if (cert.publicKey.export({ type: 'spki', format: 'der' }).toString('base64') !== this.publicKey) return undefined;
      const caPath = join(this.stateDir, CA_FILE);
      if (existsSync(caPath)) {
        const ca = new X509Certificate(readFileSync(caPath, 'utf8'));
        if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return undefined;
      }
      // Only the end is checked: the collector judges the start by its own clock.
      return now < Date.parse(cert.validTo) ? cert : undefined;
    } catch {
      return undefined;
    }
  }

  private read(): string | undefined {
    return existsSync(this.path) ? readFileSync(this.path, 'utf8') : undefined;
  }

  /** TLS client options presenting the certificate, or undefined when there is none usable. */
  tlsOptions(): { cert: string; key: string } | undefined {
    const text = this.read();
    return this.usable(text) ? { cert: text!, key: pem('PRIVATE KEY', this.privateKey) } : undefined;
  }

  /** Ask the collector for one: none usable (missing, expired, another key or CA). */
  get wanted(): boolean {
    return !this.usable();
  }

  /** A usable certificate with a third of its lifetime or less left. */
  renewalDue(now = Date.now()): boolean {
    const cert = this.usable(undefined, now);
    if (!cert) return false;
    const from = Date.parse(cert.validFrom);
    const to = Date.parse(cert.validTo);
    return to - now <= (to - from) / 3;
  }

  /** Keep a certificate the collector issued; false (nothing written) when it is not for this agent's key and CA. */
  save(pemText: string): boolean {
    if (!this.usable(pemText)) return false;
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, pemText, { mode: 0o600 });
    renameSync(tmp, this.path);
    return true;
  }

  /** The collector did not accept the stored certificate: the next hello asks for a new one. */
  drop(): void {
    rmSync(this.path, { force: true });
  }
}
