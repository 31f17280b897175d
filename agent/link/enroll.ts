/**
 * One-time enrollment: make this agent's Ed25519 key pair, and trade an enrollment token and
 * the public key for the agent's own id. The private key never leaves the PC. Over wss the
 * caller passes the pinned CA in wsOptions (see collectorTrust), so the token is sent only to
 * the collector whose CA was pinned.
 */
import WebSocket from 'ws';
import type { ClientOptions } from 'ws';
import { CloseCode, closeCodeName } from '../../src/shared/protocol/errors.js';
import { decodeCollectorFrame } from '../../src/shared/protocol/codec.js';
import { newAgentKeyPair } from '../../src/shared/protocol/auth.js';
import { PROTOCOL_VERSION } from '../../src/shared/protocol/messages.js';
import type { OsInfo, PolicyPushFrame, Segment } from '../../src/shared/protocol/messages.js';

export class EnrollmentError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Enrollment {
  agentId: string;
  /** base64 PKCS#8 DER; saved in identity.json (owner-only). */
  privateKey: string;
  segment: Segment;
  /** The collector's policy-signing public key (base64 SPKI DER). */
  policyKey: string;
  /** This PC's policy from the enrollment reply (applied only when its signature verifies). */
  policy?: PolicyPushFrame;
  /** The client certificate the collector issued for this agent's key (mutual TLS), PEM. */
  certificate?: string;
}

export function enroll(url: string, token: string, os: OsInfo, agentVersion: string, wsOptions: ClientOptions = {}, timeoutMs = 20_000): Promise<Enrollment> {
  const keys = newAgentKeyPair();
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: timeoutMs, ...wsOptions });
    let result: Enrollment | undefined;
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new EnrollmentError('ENROLL_TIMEOUT', `no answer from ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.on('message', (data) => {
      try {
        const frame = decodeCollectorFrame(data.toString());
        if (frame.type === 'challenge') ws.send(JSON.stringify({ type: 'enroll', v: PROTOCOL_VERSION, token, os, agentVersion, publicKey: keys.publicKey }));
        else if (frame.type === 'enrolled') {
          result = { agentId: frame.agentId, privateKey: keys.privateKey, segment: frame.segment, policyKey: frame.policyKey, ...(frame.policy ? { policy: { type: 'policy.push', policy: frame.policy, ...(frame.policySignature ? { signature: frame.policySignature } : {}) } } : {}), ...(frame.certificate ? { certificate: frame.certificate } : {}) };
          ws.close(CloseCode.NORMAL, 'enrolled');
        }
      } catch (err) {
        ws.terminate();
        reject(new EnrollmentError('ENROLL_PROTOCOL', (err as Error).message));
      }
    });
    ws.on('error', (err) => {
      clearTimeout(timer);
      reject(new EnrollmentError('ENROLL_CONNECT', `cannot reach ${url}: ${err.message}`));
    });
    ws.on('close', (code, reason) => {
      clearTimeout(timer);
      if (result) resolve(result);
      else reject(new EnrollmentError(closeCodeName(code), `enrollment refused (${code} ${closeCodeName(code)}): ${reason.toString() || 'no reason given'}`));
    });
  });
}
