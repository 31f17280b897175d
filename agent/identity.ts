/**
 * The agent's identity (its id, its own Ed25519 private key made on this PC at enrollment, the
 * collector's policy-signing key) and the collector CA it pinned, stored in the state
 * directory readable by the agent's own account only (root / SYSTEM): directory 0700, files
 * 0600. An identity from before key pairs holds an HMAC secret instead; the agent makes its key
 * pair at the next start and drops the secret once the collector registered the key.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClientOptions } from 'ws';
import { z } from 'zod';
import { newAgentKeyPair } from '../src/shared/protocol/auth.js';
import { Segment } from '../src/shared/protocol/messages.js';
import { TlsError } from '../src/shared/tls/errors.js';
import { certFingerprint, normalizePin } from '../src/shared/tls/fingerprint.js';
import { fetchPinnedCa } from '../src/shared/tls/pin.js';
import { CLIENT_CERT_FILE } from './client-cert.js';

export const IdentityFile = z.object({
  agentId: z.string().regex(/^ag_[0-9a-z]{20,40}$/),
  /** base64 PKCS#8 DER of the agent's Ed25519 private key; the collector has only the public key. */
  privateKey: z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/).optional(),
  /** HMAC secret of an identity enrolled before key pairs, kept only until the collector registered the key. */
  secret: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  segment: Segment,
  collectorUrl: z.string(),
  enrolledAt: z.string(),
  /** The collector's Ed25519 policy-signing public key (base64 SPKI DER) from the enrolled frame; without it no pushed policy is used. */
  policyKey: z.string().optional(),
});
export type IdentityFile = z.infer<typeof IdentityFile>;
/** An identity that can sign challenges. */
export type KeyedIdentity = IdentityFile & { privateKey: string };

export class IdentityError extends Error {
  readonly code = 'IDENTITY_INVALID';
}

/** Create the state directory with owner-only permissions (and tighten an existing one). */
export function ensureStateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (process.platform !== 'win32') chmodSync(dir, 0o700);
}

export function loadIdentity(stateDir: string): IdentityFile | undefined {
  const path = join(stateDir, 'identity.json');
  if (!existsSync(path)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new IdentityError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  const parsed = IdentityFile.safeParse(raw);
  if (!parsed.success) throw new IdentityError(`${path}: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
  if (!parsed.data.privateKey && !parsed.data.secret) throw new IdentityError(`${path}: neither a private key nor a secret`);
  return parsed.data;
}

/**
 * The identity with a private key: an identity from before key pairs gets its key pair now
 * (saved before it is ever used, so a crash cannot lose it); its secret stays until the
 * collector has registered the public key (forgetSecret).
 */
export function withAgentKey(stateDir: string, identity: IdentityFile): KeyedIdentity {
  if (identity.privateKey) return identity as KeyedIdentity;
  const keyed = { ...identity, privateKey: newAgentKeyPair().privateKey };
  saveIdentity(stateDir, keyed);
  return keyed;
}

/** The collector registered this agent's key: the HMAC secret is no longer needed anywhere. */
export function forgetSecret(stateDir: string): void {
  const identity = loadIdentity(stateDir);
  if (!identity?.secret || !identity.privateKey) return;
  const { secret: _dropped, ...rest } = identity;
  saveIdentity(stateDir, rest);
}

export function saveIdentity(stateDir: string, identity: IdentityFile): void {
  ensureStateDir(stateDir);
  const path = join(stateDir, 'identity.json');
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(identity, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

const CA_FILE = 'collector-ca.pem';

/** The collector CA pinned at first contact, or undefined. */
export function loadCollectorCa(stateDir: string): string | undefined {
  const path = join(stateDir, CA_FILE);
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

function saveCollectorCa(stateDir: string, pem: string): void {
  ensureStateDir(stateDir);
  const path = join(stateDir, CA_FILE);
  writeFileSync(`${path}.tmp`, pem, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

export interface TrustOptions {
  url: string;
  stateDir: string;
  /** SHA-256 fingerprint of the collector CA given at install (--ca-pin / caFingerprint). */
  pin?: string | undefined;
  /** Allow ws:// (lab only, --insecure-plain). */
  allowPlain?: boolean;
}

/**
 * TLS options for every connection to the collector. wss://: the stored CA when there is one
 * (and it matches the pin, if a pin is given); otherwise first contact — fetch the chain,
 * accept it only by the pin, store the CA. ws://: refused unless allowPlain.
 */
export async function collectorTrust(o: TrustOptions): Promise<ClientOptions> {
  const protocol = new URL(o.url).protocol;
  if (protocol === 'ws:') {
    if (!o.allowPlain) throw new TlsError('TLS_PLAIN_REFUSED', `${o.url}: plain ws:// is refused; use the collector's wss:// URL with --ca-pin, or --insecure-plain in a lab`);
    return {};
  }
  if (protocol !== 'wss:') throw new TlsError('TLS_PIN_CONNECT', `${o.url}: the collector URL must start with wss://`);
  const stored = loadCollectorCa(o.stateDir);
  if (stored && (!o.pin || certFingerprint(stored) === normalizePin(o.pin))) return { ca: [stored] };
  if (!o.pin) throw new TlsError('TLS_PIN_MISMATCH', `${o.stateDir} has no collector CA yet: give --ca-pin with the fingerprint printed by \`mamori collector init\``);
  const pem = await fetchPinnedCa(o.url, o.pin);
  saveCollectorCa(o.stateDir, pem);
  return { ca: [pem] };
}

/**
 * Re-enrollment after the agent was revoked: move identity, outbox and judged state into
 * retired/<agentId>-<time>/ so the new identity starts a new sequence. The old id stays revoked
 * on the collector. Returns the retired directory, or undefined when there was no identity.
 */
export function retireIdentity(stateDir: string, now = new Date()): string | undefined {
  const identity = loadIdentity(stateDir);
  if (!identity) return undefined;
  const dir = join(stateDir, 'retired', `${identity.agentId}-${now.toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const name of ['identity.json', 'outbox', 'findings.json', 'policy.json', CLIENT_CERT_FILE]) {
    if (existsSync(join(stateDir, name))) renameSync(join(stateDir, name), join(dir, name));
  }
  return dir;
}
