/**
 * First contact with a collector: trust its CA only by the fingerprint the administrator gave
 * at install (`--ca-pin`). A TLS connection is opened that sends nothing; the certificate
 * chain the collector presents is accepted only if one certificate in it is a CA whose
 * SHA-256 fingerprint equals the pin AND that CA signed the server certificate, and the
 * server certificate names the host. The agent then stores the CA (PEM) and from then on
 * verifies every connection normally against it (`ca: [pem]`). A wrong CA is refused before
 * any token or proof leaves the agent.
 */
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate, DetailedPeerCertificate } from 'node:tls';
import { checkServerIdentity, connect } from 'node:tls';
import { TlsError } from './errors.js';
import { certFingerprint, formatFingerprint, normalizePin } from './fingerprint.js';

function pemOf(der: Buffer): string {
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** The certificates the server sent, leaf first (issuerCertificate links, stopping at a self-reference). */
function chainOf(leaf: DetailedPeerCertificate): Buffer[] {
  const out: Buffer[] = [];
  const seen = new Set<string>();
  let c: DetailedPeerCertificate | undefined = leaf;
  while (c && c.raw && !seen.has(c.fingerprint256) && out.length < 10) {
    seen.add(c.fingerprint256);
    out.push(c.raw);
    c = c.issuerCertificate;
  }
  return out;
}

/**
 * Decide whether a presented chain is acceptable for the pin; returns the CA PEM or throws
 * TLS_PIN_MISMATCH. Exported for tests that present forged chains.
 */
export function acceptPinnedChain(chain: readonly Buffer[], pin: string, host: string): string {
  const want = normalizePin(pin);
  if (chain.length === 0) throw new TlsError('TLS_PIN_MISMATCH', 'the collector presented no certificate');
  const leaf = new X509Certificate(chain[0]!);
  const ca = chain.map((der) => new X509Certificate(der)).find((c) => certFingerprint(c) === want);
  if (!ca) {
    throw new TlsError('TLS_PIN_MISMATCH', `no certificate presented by the collector has the pinned fingerprint ${formatFingerprint(want)} (got ${chain.map((d) => formatFingerprint(certFingerprint(d))).join(', ')})`);
  }
  if (!ca.ca) throw new TlsError('TLS_PIN_MISMATCH', 'the pinned certificate is not a CA certificate');
  if (!leaf.checkIssued(ca) || !leaf.verify(ca.publicKey)) throw new TlsError('TLS_PIN_MISMATCH', 'the server certificate is not signed by the pinned CA');
  const now = Date.now();
  for (const c of [leaf, ca]) {
    if (now < Date.parse(c.validFrom) || now > Date.parse(c.validTo)) throw new TlsError('TLS_PIN_MISMATCH', `certificate ${c.subject.replaceAll('\n', ', ')} is not valid now (${c.validFrom} – ${c.validTo})`);
  }
  const identity = checkServerIdentity(host, { subject: {}, subjectaltname: leaf.subjectAltName ?? '' } as unknown as PeerCertificate);
  // The pin is right here: only the address is missing from the certificate, which has its own fix.
  if (identity) throw nameMismatch(host, leaf.subjectAltName);
  return pemOf(ca.raw);
}

/** The names a certificate's subjectAltName text ("DNS:a, IP Address:1.2.3.4") lists. */
export function altNames(subjectAltName: string | undefined): string[] {
  return (subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim().replace(/^(DNS|IP Address):/, ''))
    .filter(Boolean)
    // node prints IPv6 addresses in full upper-case form (0:0:0:0:0:0:0:1): show them as written (::1).
    .map((n) => (n.includes(':') ? new URL(`http://[${n}]/`).hostname.slice(1, -1) : n));
}

/** TLS_NAME_MISMATCH: the collector's certificate does not list the address the agent used, and how to add it. */
export function nameMismatch(host: string, subjectAltName: string | undefined): TlsError {
  return new TlsError(
    'TLS_NAME_MISMATCH',
    `the collector's certificate does not cover the address "${host}" (it covers: ${altNames(subjectAltName).join(', ') || 'nothing'}). ` +
      `On the collector run \`mamori collector cert --san ${host} --data DIR\` and restart it (the CA and the agents' pin stay the same), or use an address it covers. ` +
      `/ 証明書に "${host}" が含まれていません: 収集サーバーで \`mamori collector cert --san ${host}\` を実行して再起動してください (CA とピンは変わりません)`,
  );
}

/** Connect to the collector of `url` (wss:// or https://), check its chain against the pin, return the CA PEM. */
export function fetchPinnedCa(url: string, pin: string, timeoutMs = 15_000): Promise<string> {
  normalizePin(pin);
  const u = new URL(url);
  if (u.protocol !== 'wss:' && u.protocol !== 'https:') return Promise.reject(new TlsError('TLS_PIN_CONNECT', `${url}: a CA pin needs a wss:// or https:// URL`));
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = Number(u.port || 443);
  return new Promise((resolve, reject) => {
    // Nothing is written on this socket: it only reads the certificate chain.
    const socket = connect({ host, port, servername: /^[\d.]+$|:/.test(host) ? undefined : host, rejectUnauthorized: false, timeout: timeoutMs });
    const fail = (err: Error) => {
      socket.destroy();
      reject(err instanceof TlsError ? err : new TlsError('TLS_PIN_CONNECT', `cannot reach ${u.host}: ${err.message}`));
    };
    socket.once('timeout', () => fail(new Error(`no TLS handshake within ${timeoutMs} ms`)));
    socket.once('error', fail);
    socket.once('secureConnect', () => {
      try {
        const pem = acceptPinnedChain(chainOf(socket.getPeerCertificate(true)), pin, host);
        socket.end();
        resolve(pem);
      } catch (err) {
        fail(err as Error);
      }
    });
  });
}
