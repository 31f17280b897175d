/**
 * Proof that a connection speaks for an agent. Each agent has its own Ed25519 key pair, made on
 * the PC at enrollment: the private key stays in the agent's state directory, the collector
 * keeps only the public key, so nothing in the collector's database lets anyone answer a
 * challenge for an agent. Agents enrolled before key pairs hold an HMAC secret, which they use
 * once more to register a new key (see the gateway's hello).
 */
import { createHash, createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, timingSafeEqual, verify } from 'node:crypto';

export function newNonce(): string {
  return randomBytes(32).toString('hex');
}

/** The text an agent signs: binds the signature to this connection's nonce and to this agent id. */
export function challengeText(nonce: string, agentId: string): Buffer {
  return Buffer.from(`mamori-auth-v2|${nonce}|${agentId}`);
}

export interface AgentKeyPair {
  /** base64 DER SubjectPublicKeyInfo (what the collector stores). */
  publicKey: string;
  /** base64 DER PKCS#8 (kept in the agent's identity file, owner-only). */
  privateKey: string;
}

export function newAgentKeyPair(): AgentKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
  };
}

/** base64 Ed25519 signature of the challenge. */
export function signChallenge(privateKeyB64: string, nonce: string, agentId: string): string {
  const key = createPrivateKey({ key: Buffer.from(privateKeyB64, 'base64'), format: 'der', type: 'pkcs8' });
  return sign(null, challengeText(nonce, agentId), key).toString('base64');
}

/** Whether `signature` answers this challenge with the private key of `publicKeyB64`; never throws. */
export function challengeSignatureValid(publicKeyB64: string, nonce: string, agentId: string, signature: string): boolean {
  try {
    const key = createPublicKey({ key: Buffer.from(publicKeyB64, 'base64'), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'ed25519') return false;
    return verify(null, challengeText(nonce, agentId), key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/** The public key of a stored private key (base64 SPKI DER). */
export function publicKeyOf(privateKeyB64: string): string {
  const key = createPrivateKey({ key: Buffer.from(privateKeyB64, 'base64'), format: 'der', type: 'pkcs8' });
  return createPublicKey(key).export({ format: 'der', type: 'spki' }).toString('base64');
}

/** Legacy proof: hex HMAC-SHA256(secret, "mamori-auth-v1|nonce|agentId"). */
export function authProof(secretHex: string, nonce: string, agentId: string): string {
  return createHmac('sha256', Buffer.from(secretHex, 'hex')).update(`mamori-auth-v1|${nonce}|${agentId}`).digest('hex');
}

export function proofMatches(secretHex: string, nonce: string, agentId: string, proof: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(secretHex)) return false;
  const expected = Buffer.from(authProof(secretHex, nonce, agentId), 'hex');
  const given = Buffer.from(proof, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
