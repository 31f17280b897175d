/** The HMAC challenge that proves an agent holds the secret it received at enrollment. */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export function newNonce(): string {
  return randomBytes(32).toString('hex');
}

/** hex HMAC-SHA256(secret, "mamori-auth-v1|nonce|agentId"): binds the proof to this connection and this id. */
export function authProof(secretHex: string, nonce: string, agentId: string): string {
  return createHmac('sha256', Buffer.from(secretHex, 'hex')).update(`mamori-auth-v1|${nonce}|${agentId}`).digest('hex');
}

export function proofMatches(secretHex: string, nonce: string, agentId: string, proof: string): boolean {
  const expected = Buffer.from(authProof(secretHex, nonce, agentId), 'hex');
  const given = Buffer.from(proof, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
