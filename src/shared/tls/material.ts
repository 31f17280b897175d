/**
 * The collector's key material under DATA/tls (directory 0700, private keys 0600):
 *
 *   ca.key / ca.crt                  private CA of this collector (ECDSA P-256, 20 years)
 *   server.key / server.crt          HTTPS/WSS certificate signed by that CA (5 years); server.crt
 *                                    holds the leaf and the CA so an agent sees the CA it pins
 *   policy-signing.key / .pub        Ed25519 key that signs every policy pushed to agents
 *   audit-mac.key                    MAC key of the console audit log
 *   session-ticket.key               secret of the TLS session ticket keys (session-tickets.ts)
 *
 * Made with @peculiar/x509 over node's WebCrypto (no openssl shell-out). Renewing the server
 * certificate: delete server.crt and start the collector; the CA and therefore every agent's
 * pin stay the same. Adding an address PCs use (`addServerNames`, `mamori collector cert --san`)
 * reissues the server certificate under the same CA with the old names plus the new ones.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type * as X509 from '@peculiar/x509';
// @peculiar/x509 resolves its helpers through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { TlsError } from './errors.js';
import { certFingerprint } from './fingerprint.js';
import { altNames } from './pin.js';

/** @peculiar/x509, loaded after the Reflect shim and bound to node's WebCrypto. */
export async function x509lib(): Promise<typeof X509> {
  const lib = await import('@peculiar/x509');
  lib.cryptoProvider.set(webcrypto as unknown as Crypto);
  return lib;
}

const EC: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
export const SIGNING = { name: 'ECDSA', hash: 'SHA-256' };
const YEAR_MS = 365 * 86_400_000;

/** What the collector's HTTPS server and policy signer need. */
export interface TlsMaterial {
  /** PEM private key of the server certificate. */
  key: string;
  /** PEM chain: server certificate, then the CA certificate. */
  cert: string;
  /** PEM of the CA certificate. */
  caPem: string;
  /** SHA-256 fingerprint of the CA, 64 lower-case hex digits (what agents pin). */
  caFingerprint: string;
}

/** The Ed25519 key pair that signs policies. */
export interface PolicySigningKey {
  privateKey: KeyObject;
  /** Base64 of the DER SubjectPublicKeyInfo: what the enrolled frame carries. */
  publicKey: string;
}

export function tlsDir(dataDir: string): string {
  return join(dataDir, 'tls');
}

function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (process.platform !== 'win32') chmodSync(dir, 0o700);
}

/** Write atomically with the given mode (0600 for keys). */
function writeFileMode(path: string, text: string, mode: number): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text, { mode });
  if (process.platform !== 'win32') chmodSync(tmp, mode);
  renameSync(tmp, path);
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').match(/.{1,64}/g)!.join('\n');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

export function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f; // positive INTEGER
  return b.toString('hex');
}

/** Names the server certificate is valid for: localhost, this host, its addresses, and any given. */
export function defaultServerNames(extra: readonly string[] = []): string[] {
  const names = new Set<string>(['localhost', hostname(), '127.0.0.1', '::1']);
  for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) if (!i.internal) names.add(i.address.split('%')[0]!);
  for (const n of extra) if (n.trim()) names.add(n.trim());
  return [...names];
}

async function newCa(dir: string): Promise<{ cert: X509.X509Certificate; key: CryptoKey }> {
  const x509 = await x509lib();
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = new Date();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=mamori collector CA ${hostname()} ${now.toISOString().slice(0, 10)}, O=mamori`,
    notBefore: new Date(now.getTime() - 3_600_000),
    notAfter: new Date(now.getTime() + 20 * YEAR_MS),
    signingAlgorithm: SIGNING,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  writeFileMode(join(dir, 'ca.key'), pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), 0o600);
  writeFileMode(join(dir, 'ca.crt'), cert.toString('pem') + '\n', 0o644);
  return { cert, key: keys.privateKey };
}

/** The CA certificate and its private key under DATA/tls, to issue certificates with. */
export async function loadCa(dir: string): Promise<{ cert: X509.X509Certificate; key: CryptoKey }> {
  const x509 = await x509lib();
  const cert = new x509.X509Certificate(readFileSync(join(dir, 'ca.crt'), 'utf8'));
  const der = createPrivateKey(readFileSync(join(dir, 'ca.key'), 'utf8')).export({ type: 'pkcs8', format: 'der' });
  const key = await webcrypto.subtle.importKey('pkcs8', der, EC, false, ['sign']);
  return { cert, key };
}

async function newServerCert(dir: string, ca: { cert: X509.X509Certificate; key: CryptoKey }, names: readonly string[]): Promise<void> {
  const x509 = await x509lib();
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = new Date();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${hostname()}, O=mamori`,
    issuer: ca.cert.subject,
    notBefore: new Date(now.getTime() - 3_600_000),
    notAfter: new Date(now.getTime() + 5 * YEAR_MS),
    signingAlgorithm: SIGNING,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names.map((n) => ({ type: isIP(n) ? ('ip' as const) : ('dns' as const), value: n }))),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
    ],
  });
  writeFileMode(join(dir, 'server.key'), pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), 0o600);
  writeFileMode(join(dir, 'server.crt'), `${cert.toString('pem')}\n${ca.cert.toString('pem')}\n`, 0o644);
}

/** Create the Ed25519 policy-signing key if it is missing; returns it. */
export function ensurePolicyKey(dataDir: string): PolicySigningKey {
  const dir = tlsDir(dataDir);
  ensurePrivateDir(dir);
  const keyPath = join(dir, 'policy-signing.key');
  if (!existsSync(keyPath)) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    writeFileMode(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600);
    writeFileMode(join(dir, 'policy-signing.pub'), publicKey.export({ type: 'spki', format: 'pem' }).toString(), 0o644);
  }
  try {
    const privateKey = createPrivateKey(readFileSync(keyPath, 'utf8'));
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`an ${privateKey.asymmetricKeyType} key, expected ed25519`);
    const publicKey = createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).toString('base64');
    return { privateKey, publicKey };
  } catch (err) {
    throw new TlsError('TLS_MATERIAL_INVALID', `${keyPath}: ${(err as Error).message}`);
  }
}

/** File under DATA/tls of the key that MACs the console audit log (src/collector/console/audit.ts). */
export const AUDIT_MAC_KEY_FILE = 'audit-mac.key';

/**
 * The audit log's MAC key (32 random bytes, hex, 0600), made if missing. It sits beside the CA
 * keys, outside the database, and is made by `collector init` so that the copy of DATA/tls a
 * cluster's nodes share (docs/scaling.md) carries one key for all of them.
 */
export function ensureAuditMacKey(dataDir: string): Buffer {
  return ensureSecretFile(dataDir, AUDIT_MAC_KEY_FILE);
}

/** File under DATA/tls of the secret the TLS session ticket keys are derived from (session-tickets.ts). */
export const SESSION_TICKET_SECRET_FILE = 'session-ticket.key';

/** The secret of the TLS session ticket keys (32 random bytes, hex, 0600), made if missing; shared by a cluster's nodes like the audit key. */
export function ensureSessionTicketSecret(dataDir: string): Buffer {
  return ensureSecretFile(dataDir, SESSION_TICKET_SECRET_FILE);
}

/** A 32-byte secret in DATA/tls/<name> (hex, 0600), made if missing. */
function ensureSecretFile(dataDir: string, name: string): Buffer {
  const dir = tlsDir(dataDir);
  const keyFile = join(dir, name);
  if (!existsSync(keyFile)) {
    ensurePrivateDir(dir);
    try {
      writeFileSync(keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      // Another process of the same data directory made it first: use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  if (process.platform !== 'win32') chmodSync(keyFile, 0o600);
  const key = Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'hex');
  if (key.length !== 32) throw new TlsError('TLS_MATERIAL_INVALID', `${keyFile}: expected 64 hex digits`);
  return key;
}

/** True when DATA/tls holds a CA and a server certificate. */
export function hasTls(dataDir: string): boolean {
  const dir = tlsDir(dataDir);
  return ['ca.key', 'ca.crt', 'server.key', 'server.crt'].every((f) => existsSync(join(dir, f)));
}

/**
 * Create what is missing under DATA/tls: the CA (unless it exists), the server certificate
 * (unless it exists) for `names`, and the policy-signing key. Returns the material and
 * whether anything was created.
 */
export async function initTls(dataDir: string, opts: { names?: readonly string[] } = {}): Promise<{ material: TlsMaterial; created: boolean }> {
  const dir = tlsDir(dataDir);
  ensurePrivateDir(dir);
  let created = false;
  const haveCa = existsSync(join(dir, 'ca.key')) && existsSync(join(dir, 'ca.crt'));
  const ca = haveCa ? await loadCa(dir) : await newCa(dir);
  if (!haveCa || !existsSync(join(dir, 'server.key')) || !existsSync(join(dir, 'server.crt'))) {
    await newServerCert(dir, ca, defaultServerNames(opts.names));
    created = true;
  }
  ensurePolicyKey(dataDir);
  ensureAuditMacKey(dataDir);
  ensureSessionTicketSecret(dataDir);
  return { material: loadTls(dataDir), created };
}

/** Read DATA/tls; throws TLS_MATERIAL_MISSING / TLS_MATERIAL_INVALID. */
export function loadTls(dataDir: string): TlsMaterial {
  const dir = tlsDir(dataDir);
  if (!hasTls(dataDir)) throw new TlsError('TLS_MATERIAL_MISSING', `${dir}: no CA and server certificate (run: mamori collector init --data ${dataDir})`);
  try {
    const caPem = readFileSync(join(dir, 'ca.crt'), 'utf8');
    const cert = readFileSync(join(dir, 'server.crt'), 'utf8');
    const key = readFileSync(join(dir, 'server.key'), 'utf8');
    const ca = new X509Certificate(caPem);
    const leaf = new X509Certificate(cert);
    if (!leaf.checkIssued(ca) || !leaf.verify(ca.publicKey)) throw new Error('server.crt is not signed by ca.crt');
    return { key, cert, caPem, caFingerprint: certFingerprint(ca) };
  } catch (err) {
    if (err instanceof TlsError) throw err;
    throw new TlsError('TLS_MATERIAL_INVALID', `${dir}: ${(err as Error).message}`);
  }
}

/** The names (DNS and IP) the server certificate under DATA/tls covers. */
export function serverCertNames(dataDir: string): string[] {
  return altNames(new X509Certificate(readFileSync(join(tlsDir(dataDir), 'server.crt'), 'utf8')).subjectAltName);
}

/**
 * Make the server certificate cover `names` too: when one is missing, a new server certificate
 * is issued by the same CA for the old names plus the new ones (the CA, its fingerprint and so
 * every agent's pin stay the same; the collector uses it from its next start). Creates the
 * material first when there is none.
 */
export async function addServerNames(dataDir: string, names: readonly string[]): Promise<{ material: TlsMaterial; added: string[]; created: boolean }> {
  const wanted = [...new Set(names.map((n) => n.trim().replace(/^\[|\]$/g, '')).filter(Boolean))];
  if (!hasTls(dataDir)) {
    const { material } = await initTls(dataDir, { names: wanted });
    return { material, added: wanted, created: true };
  }
  const have = serverCertNames(dataDir);
  const added = wanted.filter((n) => !have.some((h) => h.toLowerCase() === n.toLowerCase() || (isIP(n) && isIP(h) && sameIp(n, h))));
  if (added.length > 0) await newServerCert(tlsDir(dataDir), await loadCa(tlsDir(dataDir)), [...have, ...added]);
  return { material: loadTls(dataDir), added, created: false };
}

/** "::1" and "0:0:0:0:0:0:0:1" are the same address (the certificate text prints the long IPv6 form). */
function sameIp(a: string, b: string): boolean {
  const norm = (ip: string) => (isIP(ip) === 6 ? new URL(`http://[${ip}]/`).hostname : ip);
  return norm(a) === norm(b);
}
