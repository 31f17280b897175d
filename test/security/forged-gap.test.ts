/**
 * Forged gaps (root on one PC holds that agent's key): a `gap` frame may cover no more
 * sequence numbers than an outbox can drop (LIMITS.maxGapSpan), so 2^53 − 1 is refused and the
 * collector's resume point does not move. A gap inside the bound is stored, but the real agent
 * never adopts a resume point above its own counter: at its next connection the collector moves
 * the events it never numbered aside, raises AGENT-006, and the agent's own events are stored
 * again. Real collector and agent processes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/shared/protocol/errors.js';
import { LIMITS } from '../../src/shared/protocol/messages.js';
import { waitUntil, withDb } from '../helpers/db.js';
import type { CollectorProc } from '../helpers/processes.js';
import { rawHello } from '../helpers/raw-client.js';
import { agentRow, collectorAndAgent, identityOnPc, openViolation } from './helpers-procs.js';
import type { RealAgent } from './helpers-procs.js';

let collector: CollectorProc;
let agent: RealAgent;

beforeAll(async () => {
  ({ collector, agent } = await collectorAndAgent('forged-gap'));
}, 240_000);
afterAll(async () => {
  await agent?.stop();
  await collector?.stop();
});

const gap = (seq: number, throughSeq: number, dropped: number) => ({ seq, at: new Date().toISOString(), kind: 'gap', throughSeq, dropped, reason: 'forged' });

describe('a forged gap', () => {
  it('reaching 2^53 − 1 is refused (4409) and the resume point stays; one within the bound is answered by AGENT-006 when the real agent comes back, which keeps reporting', async () => {
    await agent.stop(); // the attacker works while the agent is down (or has just killed it)
    await waitUntil(() => agentRow(collector, agent.agentId).last_seq > 0 && agent.countNotices('stopping') === 1, 90_000, 'the stop to be stored');
    const before = agentRow(collector, agent.agentId).last_seq;
    const { privateKey } = identityOnPc(agent.stateDir);

    const forged = await rawHello(collector.agentUrl, agent.agentId, privateKey!);
    expect((await forged.next('welcome', 60_000)).lastSeq).toBe(before);
    forged.ws.send(JSON.stringify({ type: 'events', agentId: agent.agentId, events: [gap(before + 1, Number.MAX_SAFE_INTEGER, 1)] }));
    expect((await forged.closed).code).toBe(CloseCode.SEQ_OUT_OF_RANGE);
    expect(agentRow(collector, agent.agentId).last_seq).toBe(before);

    // One past the bound is refused as well; a gap claiming more drops than it covers too.
    const wide = await rawHello(collector.agentUrl, agent.agentId, privateKey!);
    await wide.next('welcome', 60_000);
    wide.ws.send(JSON.stringify({ type: 'events', agentId: agent.agentId, events: [gap(before + 1, before + LIMITS.maxGapSpan + 1, 1)] }));
    expect((await wide.closed).code).toBe(CloseCode.SEQ_OUT_OF_RANGE);
    expect(agentRow(collector, agent.agentId).last_seq).toBe(before);

    const inBound = await rawHello(collector.agentUrl, agent.agentId, privateKey!);
    await inBound.next('welcome', 60_000);
    inBound.ws.send(JSON.stringify({ type: 'events', agentId: agent.agentId, events: [gap(before + 1, before + 5000, 5000)] }));
    expect((await inBound.next('ack', 60_000)).upTo).toBe(before + 5000);
    inBound.ws.close(1000);
    await inBound.closed;

    await agent.start();
    const v = openViolation(collector, agent.agentId, 'AGENT-006');
    expect(v?.state).toBe('open');
    expect(v!.title.ja).toBe('エージェントの送信記録とコレクターの記録が食い違っている');
    expect(v!.facts).toMatchObject({ disownedEvents: 1, collectorLastSeq: before + 5000, resumedAfter: before });
    // The forged gap is kept aside as evidence; the agent's own events follow its own numbers.
    const disowned = withDb(collector.dataDir, (db) => db.prepare('SELECT seq, kind FROM events_disowned WHERE agent_id = ?').all(agent.agentId));
    expect(disowned).toEqual([{ seq: before + 1, kind: 'gap' }]);
    const next = withDb(collector.dataDir, (db) => db.prepare('SELECT kind, payload FROM events WHERE agent_id = ? AND seq = ?').get(agent.agentId, before + 1)) as { kind: string; payload: string };
    expect(next.kind).toBe('agent.notice');
    expect(JSON.parse(next.payload).notice).toBe('started');
    expect(agentRow(collector, agent.agentId).last_seq).toBeLessThan(before + 5000);
  }, 240_000);
});
