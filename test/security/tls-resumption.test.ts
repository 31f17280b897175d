/**
 * TLS session resumption between agents and the collector (src/shared/tls/session-tickets.ts,
 * session-memory.ts): an agent reconnecting after a restart of the collector resumes its TLS
 * session, and a resumed connection is still a connection that proves nothing by itself — the
 * agent signs the challenge of that connection, another agent's identity is refused, and a
 * client certificate carried by the session is judged at the hello as one presented in full.
 * Real collector processes (TLS as shipped, client certificates issued), real sockets.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentLink } from '../../agent/link/link.js';
import { Backoff } from '../../agent/link/backoff.js';
import { Outbox } from '../../agent/outbox/outbox.js';
import { newAgentKeyPair, signChallenge } from '../../src/shared/protocol/auth.js';
import { CloseCode } from '../../src/shared/protocol/errors.js';
import { silentLogger } from '../../src/shared/log.js';
import { TlsSessionMemory } from '../../src/shared/tls/session-memory.js';
import { createToken, startCollectorProc, tempDir } from '../helpers/processes.js';
import type { CollectorProc } from '../helpers/processes.js';
import { OS, connect, tlsOptionsFor } from '../helpers/raw-client.js';
import type { RawConn } from '../helpers/raw-client.js';

let collector: CollectorProc;

beforeAll(async () => {
  collector = await startCollectorProc(tempDir('tls-resume'), undefined, ['--agent-certs', 'issue']);
}, 120_000);
afterAll(async () => {
  await collector?.stop();
});

interface Enrolled {
  agentId: string;
  privateKey: string;
  /** Client certificate issued at enrollment (--agent-certs issue). */
  certificate: string;
}

async function enroll(): Promise<Enrolled> {
  const keys = newAgentKeyPair();
  const c = await connect(collector.agentUrl);
  await c.next('challenge');
  c.ws.send(JSON.stringify({ type: 'enroll', v: 1, token: await createToken(collector.dataDir), os: OS, agentVersion: 'raw', publicKey: keys.publicKey }));
  const f = await c.next('enrolled');
  await c.closed;
  return { agentId: String(f.agentId), privateKey: keys.privateKey, certificate: String(f.certificate) };
}

function presenting(who: Enrolled) {
  return { cert: who.certificate, key: `-----BEGIN PRIVATE KEY-----\n${who.privateKey}\n-----END PRIVATE KEY-----\n` };
}

/** A connection offering the session `memory` holds for `key`; resolves after the challenge. */
async function open(memory: TlsSessionMemory, key: string, tls: object = {}): Promise<{ c: RawConn; nonce: string }> {
  const c = await connect(collector.agentUrl, { ...tlsOptionsFor(collector.agentUrl), ...tls, ...memory.options(key) } as never);
  return { c, nonce: String((await c.next('challenge')).nonce) };
}

function hello(c: RawConn, agentId: string, signature: string): void {
  c.ws.send(JSON.stringify({ type: 'hello', v: 1, agentId, signature, os: OS, agentVersion: 'raw', policyVersion: 0 }));
}

/** The welcome, or the close code when the collector refused. */
async function outcome(c: RawConn): Promise<{ welcome?: string; code?: number; reason?: string }> {
  const welcome = c.next('welcome', 60_000).then(
    (w) => ({ welcome: String(w.agentId) }),
    () => ({ welcome: 'none within 60 s' }),
  );
  const result = await Promise.race([welcome, c.closed]);
  if ('welcome' in result) {
    c.ws.close();
    await c.closed;
  }
  return result;
}

describe('TLS session resumption', () => {
  it('a resumed connection gets a new challenge: the agent must sign it, an old signature or another key is refused', async () => {
    const a = await enroll();
    const b = await enroll();
    const memory = new TlsSessionMemory();
    const first = await open(memory, 'a');
    const firstSignature = signChallenge(a.privateKey, first.nonce, a.agentId);
    hello(first.c, a.agentId, firstSignature);
    expect(await outcome(first.c)).toEqual({ welcome: a.agentId });
    expect(memory.counts).toEqual({ resumed: 0, full: 1 });
    expect(memory.holds).toBe(true);

    // The first connection's signature, replayed on a resumed connection: its challenge is new.
    const replay = await open(memory, 'a');
    expect(replay.nonce).not.toBe(first.nonce);
    hello(replay.c, a.agentId, firstSignature);
    expect(await outcome(replay.c)).toMatchObject({ code: CloseCode.AUTH_FAILED });

    // Agent a's session, agent a's id, agent b's key.
    const forged = await open(memory, 'a');
    hello(forged.c, a.agentId, signChallenge(b.privateKey, forged.nonce, a.agentId));
    expect(await outcome(forged.c)).toMatchObject({ code: CloseCode.AUTH_FAILED });

    // The agent itself, resumed: authenticated by its signature of this challenge.
    const again = await open(memory, 'a');
    hello(again.c, a.agentId, signChallenge(a.privateKey, again.nonce, a.agentId));
    expect(await outcome(again.c)).toEqual({ welcome: a.agentId });
    expect(memory.counts).toEqual({ resumed: 3, full: 1 });
  }, 120_000);

  it('a session that carries one agent\'s client certificate cannot speak for another agent, even with that agent\'s key', async () => {
    const a = await enroll();
    const b = await enroll();
    const memory = new TlsSessionMemory();
    const first = await open(memory, 'a-cert', presenting(a));
    hello(first.c, a.agentId, signChallenge(a.privateKey, first.nonce, a.agentId));
    expect(await outcome(first.c)).toEqual({ welcome: a.agentId });

    // b signs its own challenge correctly, over a's resumed session: the session's certificate is a's.
    const other = await open(memory, 'a-cert', presenting(b));
    hello(other.c, b.agentId, signChallenge(b.privateKey, other.nonce, b.agentId));
    const refused = await outcome(other.c);
    expect(refused).toMatchObject({ code: CloseCode.AUTH_FAILED });
    expect(refused.reason).toMatch(/another agent/);

    // a over its resumed session: its certificate (from the session) and its signature are accepted.
    const again = await open(memory, 'a-cert', presenting(a));
    hello(again.c, a.agentId, signChallenge(a.privateKey, again.nonce, a.agentId));
    expect(await outcome(again.c)).toEqual({ welcome: a.agentId });
    expect(memory.counts).toEqual({ resumed: 2, full: 1 });
  }, 120_000);

  it('the agent resumes its session after the collector restarted (ticket keys kept in DATA/tls)', async () => {
    const a = await enroll();
    const outbox = Outbox.open(tempDir('tls-resume-outbox'), { ackFlushMs: 60_000 });
    const link = new AgentLink({
      url: collector.agentUrl,
      identity: { agentId: a.agentId, privateKey: a.privateKey },
      outbox,
      os: { platform: 'linux', hostname: 'pc-resume', release: 'test' },
      agentVersion: 'test',
      policyVersion: () => 0,
      log: silentLogger(),
      wsOptions: tlsOptionsFor(collector.agentUrl),
      deadLetterPath: join(tempDir('tls-resume-dead'), 'deadletter.jsonl'),
      backoff: new Backoff(200, 1000),
    });
    try {
      const welcomed = () => new Promise<void>((res) => link.once('welcome', () => res()));
      let next = welcomed();
      link.start();
      await next;
      expect(link.tlsSession.counts).toEqual({ resumed: 0, full: 1 });

      next = welcomed();
      await collector.stop();
      collector = await startCollectorProc(collector.dataDir, collector.port, ['--agent-certs', 'issue']);
      await next;
      expect(link.tlsSession.counts).toEqual({ resumed: 1, full: 1 });
    } finally {
      await link.stop();
      outbox.close();
    }
  }, 120_000);
});
