/**
 * Every way a frame can be bad closes that one connection with its documented close code
 * (docs/protocol.md), while another connected agent keeps delivering and nothing stored is
 * altered. The collector is a real process; the bad clients speak raw WebSocket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { newAgentKeyPair } from '../../src/shared/protocol/auth.js';
import { CloseCode } from '../../src/shared/protocol/errors.js';
import { eventCount, waitUntil, withDb } from '../helpers/db.js';
import { CLI, createToken, startCollectorProc, startEventAgent, startProc, tempDir } from '../helpers/processes.js';
import type { CollectorProc, Proc } from '../helpers/processes.js';
import { connect, noticeEvents, rawEnroll, rawHello, OS } from '../helpers/raw-client.js';

let collector: CollectorProc;
let good: Proc;
let goodId: string;
let victim: { agentId: string; privateKey: string };
let attacker: { agentId: string; privateKey: string };

beforeAll(async () => {
  const data = tempDir('bad-input');
  collector = await startCollectorProc(data);
  // A well-behaved agent that keeps sending throughout (50,000 events in chunks).
  good = startEventAgent(collector.agentUrl, join(tempDir('good'), 'state'), { token: await createToken(data), count: 50_000, extra: ['--chunk', '50'] });
  goodId = (await good.waitFor(/"enrolled":"(ag_\w+)"/))[1]!;
  const token = await createToken(data);
  victim = await rawEnroll(collector.agentUrl, token);
  attacker = await rawEnroll(collector.agentUrl, token);
  // The victim has 3 events stored.
  const c = await rawHello(collector.agentUrl, victim.agentId, victim.privateKey);
  await c.next('welcome');
  c.ws.send(JSON.stringify({ type: 'events', agentId: victim.agentId, events: noticeEvents(1, 3) }));
  expect((await c.next('ack')).upTo).toBe(3);
  c.ws.close(1000);
  await c.closed;
});

afterAll(async () => {
  await good?.stop();
  await collector?.stop();
});

/** The good agent stores more events after the bad client was closed. */
async function goodAgentStillDelivers(): Promise<void> {
  const before = eventCount(collector.dataDir, goodId);
  await waitUntil(() => eventCount(collector.dataDir, goodId) > before || /"drained":50000/.test(good.lines.join('\n')), 15_000, 'the good agent to deliver more');
}

function victimEvents(): string[] {
  return withDb(collector.dataDir, (db) => (db.prepare('SELECT payload FROM events WHERE agent_id = ? ORDER BY seq').all(victim.agentId) as { payload: string }[]).map((r) => r.payload));
}

async function closeCodeOf(send: (c: Awaited<ReturnType<typeof connect>>) => void | Promise<void>): Promise<number> {
  const c = await connect(collector.agentUrl);
  await c.next('challenge');
  await send(c);
  return (await c.closed).code;
}

describe('bad input from an agent connection (real collector process)', () => {
  it('malformed JSON → 4400 MALFORMED_FRAME', async () => {
    expect(await closeCodeOf((c) => c.ws.send('{"type": "hello", '))).toBe(CloseCode.MALFORMED_FRAME);
    expect(await closeCodeOf((c) => c.ws.send('[1,2,3]'))).toBe(CloseCode.MALFORMED_FRAME);
    expect(await closeCodeOf((c) => c.ws.send(Buffer.from([0xde, 0xad]), { binary: true }))).toBe(CloseCode.MALFORMED_FRAME);
    await goodAgentStillDelivers();
  });

  it('unknown message type → 4415 UNKNOWN_TYPE', async () => {
    expect(await closeCodeOf((c) => c.ws.send(JSON.stringify({ type: 'shell.exec', cmd: 'rm -rf /' })))).toBe(CloseCode.UNKNOWN_TYPE);
    await goodAgentStillDelivers();
  });

  it('schema violation → 4422 SCHEMA_VIOLATION', async () => {
    expect(await closeCodeOf((c) => c.ws.send(JSON.stringify({ type: 'hello', v: 1, agentId: 'ag_x', proof: 'zz', os: OS })))).toBe(CloseCode.SCHEMA_VIOLATION);
    await goodAgentStillDelivers();
  });

  it('oversized frame → 1009 MESSAGE_TOO_BIG', async () => {
    expect(await closeCodeOf((c) => c.ws.send('x'.repeat(5 * 1024 * 1024)))).toBe(CloseCode.MESSAGE_TOO_BIG);
    await goodAgentStillDelivers();
  });

  it('frames before authentication → 4401 AUTH_REQUIRED, and nothing is stored', async () => {
    const before = victimEvents();
    expect(await closeCodeOf((c) => c.ws.send(JSON.stringify({ type: 'events', agentId: victim.agentId, events: noticeEvents(4, 2) })))).toBe(CloseCode.AUTH_REQUIRED);
    expect(await closeCodeOf((c) => c.ws.send(JSON.stringify({ type: 'heartbeat', at: new Date().toISOString(), policyVersion: 0, outboxDepth: 0 })))).toBe(CloseCode.AUTH_REQUIRED);
    expect(victimEvents()).toEqual(before);
    await goodAgentStillDelivers();
  });

  it('an unsupported protocol version → 4426', async () => {
    expect(await closeCodeOf((c) => c.ws.send(JSON.stringify({ type: 'enroll', v: 99, token: 'mmr1.abcdefabcdef.' + 'a'.repeat(64), os: OS, agentVersion: 'x', publicKey: newAgentKeyPair().publicKey })))).toBe(CloseCode.UNSUPPORTED_VERSION);
  });

  it('replayed sequence numbers are acknowledged and stored only once', async () => {
    const before = victimEvents();
    const c = await rawHello(collector.agentUrl, victim.agentId, victim.privateKey);
    expect((await c.next('welcome')).lastSeq).toBe(3);
    c.ws.send(JSON.stringify({ type: 'events', agentId: victim.agentId, events: noticeEvents(1, 3) }));
    expect((await c.next('ack')).upTo).toBe(3);
    expect(victimEvents()).toEqual(before);
    c.ws.close(1000);
    await c.closed;
  });

  it('out-of-range sequence numbers → 4409 SEQ_OUT_OF_RANGE, nothing stored', async () => {
    const before = victimEvents();
    const hole = await rawHello(collector.agentUrl, victim.agentId, victim.privateKey);
    await hole.next('welcome');
    hole.ws.send(JSON.stringify({ type: 'events', agentId: victim.agentId, events: noticeEvents(10, 2) }));
    expect((await hole.closed).code).toBe(CloseCode.SEQ_OUT_OF_RANGE);
    const backwards = await rawHello(collector.agentUrl, victim.agentId, victim.privateKey);
    await backwards.next('welcome');
    backwards.ws.send(JSON.stringify({ type: 'events', agentId: victim.agentId, events: [...noticeEvents(5, 1), ...noticeEvents(4, 1)] }));
    expect((await backwards.closed).code).toBe(CloseCode.SEQ_OUT_OF_RANGE);
    expect(victimEvents()).toEqual(before);
    await goodAgentStillDelivers();
  });

  it("a valid key used with another agent's id → 4403 AUTH_FAILED", async () => {
    const before = victimEvents();
    const c = await rawHello(collector.agentUrl, victim.agentId, attacker.privateKey);
    expect((await c.closed).code).toBe(CloseCode.AUTH_FAILED);
    // Authenticated as itself, the attacker cannot send events for the victim either.
    const own = await rawHello(collector.agentUrl, attacker.agentId, attacker.privateKey);
    await own.next('welcome');
    own.ws.send(JSON.stringify({ type: 'events', agentId: victim.agentId, events: noticeEvents(4, 1) }));
    expect((await own.closed).code).toBe(CloseCode.AUTH_FAILED);
    expect(victimEvents()).toEqual(before);
    // An id that does not exist gets the same answer (ids cannot be probed).
    const ghost = await rawHello(collector.agentUrl, 'ag_00000000000000000000000000', attacker.privateKey);
    expect((await ghost.closed).code).toBe(CloseCode.AUTH_FAILED);
    await goodAgentStillDelivers();
  });

  it('enrollment with an unknown, reused single-use, expired or revoked token → 4498', async () => {
    const tryEnroll = async (token: string) => closeCodeOf((c) => c.ws.send(JSON.stringify({ type: 'enroll', v: 1, token, os: OS, agentVersion: 'x', publicKey: newAgentKeyPair().publicKey })));
    expect(await tryEnroll(`mmr1.0123456789abcdef.${'0'.repeat(64)}`)).toBe(CloseCode.ENROLLMENT_REFUSED);
    expect(await tryEnroll('not-a-token')).toBe(CloseCode.ENROLLMENT_REFUSED);
    const once = await createToken(collector.dataDir, ['--single-use']);
    await rawEnroll(collector.agentUrl, once);
    expect(await tryEnroll(once)).toBe(CloseCode.ENROLLMENT_REFUSED);
    const expiring = await createToken(collector.dataDir, ['--expires', '0m']);
    expect(await tryEnroll(expiring)).toBe(CloseCode.ENROLLMENT_REFUSED);
    const revoked = await createToken(collector.dataDir);
    const id = revoked.split('.')[1]!;
    const proc = startProc('revoke', [CLI, 'token', 'revoke', id, '--data', collector.dataDir]);
    expect((await proc.exited).code).toBe(0);
    expect(await tryEnroll(revoked)).toBe(CloseCode.ENROLLMENT_REFUSED);
  });

  it('a revoked agent is refused (4410) and a connected one is disconnected', async () => {
    const token = await createToken(collector.dataDir);
    const doomed = await rawEnroll(collector.agentUrl, token);
    const live = await rawHello(collector.agentUrl, doomed.agentId, doomed.privateKey);
    await live.next('welcome');
    const proc = startProc('revoke', [CLI, 'agents', 'revoke', doomed.agentId, '--data', collector.dataDir]);
    expect((await proc.exited).code).toBe(0);
    // The collector sweeps every half heartbeat (1 s here).
    expect((await live.closed).code).toBe(CloseCode.AGENT_REVOKED);
    const again = await rawHello(collector.agentUrl, doomed.agentId, doomed.privateKey);
    expect((await again.closed).code).toBe(CloseCode.AGENT_REVOKED);
    await goodAgentStillDelivers();
  });

  it('the good agent delivered everything exactly once in the end', async () => {
    await good.waitFor(/"drained":50000/, 60_000);
    expect(eventCount(collector.dataDir, goodId, 'agent.notice')).toBe(50_000);
  });
});
