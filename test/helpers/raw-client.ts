/** A raw WebSocket client for protocol tests: sends exactly the bytes a test gives it. */
import WebSocket from 'ws';
import type { ClientOptions } from 'ws';
import { authProof, newAgentKeyPair, signChallenge } from '../../src/shared/protocol/auth.js';

/** CA certificates of the collectors a test started, by host:port (wss connections verify against them). */
const trusted = new Map<string, { caPem: string; caPin: string }>();

/** Trust this collector's CA for wss connections to its host:port (startCollectorProc does it). */
export function trustCollector(url: string, caPem: string, caPin: string): void {
  trusted.set(new URL(url).host, { caPem, caPin });
}

/** The CA registered for a URL's host:port, if any. */
export function trustOf(url: string): { caPem: string; caPin: string } | undefined {
  return trusted.get(new URL(url).host);
}

/** TLS options for a URL: its collector's CA for wss (verified normally), nothing for ws. */
export function tlsOptionsFor(url: string): ClientOptions {
  const t = url.startsWith('wss:') ? trusted.get(new URL(url).host) : undefined;
  return t ? { ca: [t.caPem] } : {};
}

export interface RawConn {
  ws: WebSocket;
  frames: Record<string, unknown>[];
  closed: Promise<{ code: number; reason: string }>;
  next(type: string, timeoutMs?: number): Promise<Record<string, unknown>>;
}

export function connect(url: string, tls: ClientOptions = tlsOptionsFor(url)): Promise<RawConn> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024, ...tls });
    const frames: Record<string, unknown>[] = [];
    const waiters: { type: string; res: (f: Record<string, unknown>) => void }[] = [];
    const closed = new Promise<{ code: number; reason: string }>((res) => ws.on('close', (code, reason) => res({ code, reason: reason.toString() })));
    ws.on('message', (data) => {
      const f = JSON.parse(data.toString()) as Record<string, unknown>;
      frames.push(f);
      for (const w of [...waiters]) if (w.type === f.type) (waiters.splice(waiters.indexOf(w), 1), w.res(f));
    });
    ws.on('error', () => undefined);
    const conn: RawConn = {
      ws,
      frames,
      closed,
      next(type, timeoutMs = 10_000) {
        const have = frames.find((f) => f.type === type);
        if (have) {
          frames.splice(frames.indexOf(have), 1);
          return Promise.resolve(have);
        }
        return new Promise((res, rej) => {
          const t = setTimeout(() => rej(new Error(`no ${type} frame within ${timeoutMs} ms`)), timeoutMs);
          waiters.push({ type, res: (f) => (clearTimeout(t), frames.splice(frames.indexOf(f), 1), res(f)) });
        });
      },
    };
    ws.once('open', () => resolve(conn));
    ws.once('error', reject);
  });
}

export const OS = { platform: 'linux', hostname: 'raw-test', release: 'test' };

/** An agent's identity as a raw client holds it: its id and its Ed25519 private key (base64 PKCS#8). */
export interface RawIdentity {
  agentId: string;
  privateKey: string;
}

/** Enroll with a token and a fresh key pair; returns the new identity. */
export async function rawEnroll(url: string, token: string): Promise<RawIdentity> {
  const keys = newAgentKeyPair();
  const c = await connect(url);
  await c.next('challenge');
  c.ws.send(JSON.stringify({ type: 'enroll', v: 1, token, os: OS, agentVersion: 'raw', publicKey: keys.publicKey }));
  const f = await c.next('enrolled');
  await c.closed;
  return { agentId: String(f.agentId), privateKey: keys.privateKey };
}

/** Authenticate as agentId, signing with `privateKey` (which may be another agent's, for impersonation tests). */
export async function rawHello(url: string, agentId: string, privateKey: string, extra: Record<string, unknown> = {}): Promise<RawConn> {
  const c = await connect(url);
  const ch = await c.next('challenge');
  c.ws.send(JSON.stringify({ type: 'hello', v: 1, agentId, signature: signChallenge(privateKey, String(ch.nonce), agentId), os: OS, agentVersion: 'raw', policyVersion: 0, ...extra }));
  return c;
}

/**
 * Authenticate as agentId with an HMAC secret, as an agent enrolled before key pairs does (or an
 * attacker who copied the database). `extra.sign`: a private key that also signs the challenge
 * (the hello that registers a new key pair).
 */
export async function rawHmacHello(url: string, agentId: string, secret: string, extra: Record<string, unknown> = {}): Promise<RawConn> {
  const c = await connect(url);
  const ch = await c.next('challenge');
  const { sign, ...fields } = extra;
  const signature = typeof sign === 'string' ? { signature: signChallenge(sign, String(ch.nonce), agentId) } : {};
  c.ws.send(JSON.stringify({ type: 'hello', v: 1, agentId, proof: authProof(secret, String(ch.nonce), agentId), os: OS, agentVersion: 'raw', policyVersion: 0, ...signature, ...fields }));
  return c;
}

export function noticeEvents(fromSeq: number, n: number): object[] {
  return Array.from({ length: n }, (_, k) => ({ seq: fromSeq + k, at: new Date().toISOString(), kind: 'agent.notice', notice: 'raw', detail: { k } }));
}
