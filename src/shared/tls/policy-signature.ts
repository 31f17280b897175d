/**
 * Signed policies: the collector signs the canonical JSON of every PolicyDocument it pushes
 * with its Ed25519 key; the agent verifies with the public key it received at enrollment
 * before it uses the policy. Canonical JSON = JSON with object keys sorted at every level and
 * no whitespace, so both sides hash the same bytes whatever order the fields were built in.
 */
import { createPublicKey, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/** JSON with sorted keys and no whitespace (undefined members left out, as JSON.stringify does). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

const CONTEXT = 'mamori-policy-v1|';

/** Base64 Ed25519 signature over "mamori-policy-v1|" + canonical JSON of the policy. */
export function signPolicy(policy: unknown, privateKey: KeyObject): string {
  return sign(null, Buffer.from(CONTEXT + canonicalJson(policy)), privateKey).toString('base64');
}

/** Whether `signature` is the collector's signature of this policy; never throws. */
export function policySignatureValid(policy: unknown, signature: string | undefined, publicKeyB64: string | undefined): boolean {
  if (!signature || !publicKeyB64) return false;
  try {
    const key = createPublicKey({ key: Buffer.from(publicKeyB64, 'base64'), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'ed25519') return false;
    return verify(null, Buffer.from(CONTEXT + canonicalJson(policy)), key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
