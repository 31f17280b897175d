/**
 * The gateway's own checks of the sequence numbers in an events frame (in-process collector with
 * its real SQLite store, real sockets): what is refused before anything reaches the store, what is
 * acknowledged without being stored again, and where a reconnected agent resumes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDefaultStore, startCollector } from '../../src/collector/collector.js';
import type { RunningCollector } from '../../src/collector/collector.js';
import { createEnrollmentToken } from '../../src/collector/tokens.js';
import { CloseCode } from '../../src/shared/protocol/errors.js';
import { LIMITS } from '../../src/shared/protocol/messages.js';
import { silentLogger } from '../../src/shared/log.js';
import { tempDir } from '../helpers/processes.js';
import type { RawConn, RawIdentity } from '../helpers/raw-client.js';
import { noticeEvents, rawEnroll, rawHello } from '../helpers/raw-client.js';

let collector: RunningCollector;
let token: string;
/** Every sequence number the gateway handed to the store, per agent. */
const handed = new Map<string, number[]>();
/** How many batches the gateway handed to the store, per agent. */
const batches = new Map<string, number>();
/** While set, the store's ingest waits for it (after recording what it was handed). */
let gate: Promise<void> | undefined;

beforeAll(async () => {
  const dataDir = tempDir('gw-seq');
  const store = openDefaultStore(dataDir);
  const ingest = store.ingest.bind(store);
  store.ingest = (handedBatches, receivedAt) => {
    for (const b of handedBatches) {
      handed.set(b.agentId, [...(handed.get(b.agentId) ?? []), ...b.events.map((e) => e.seq)]);
      batches.set(b.agentId, (batches.get(b.agentId) ?? 0) + 1);
    }
    const waiting = gate;
    return waiting ? waiting.then(() => ingest(handedBatches, receivedAt)) : ingest(handedBatches, receivedAt);
  };
  collector = await startCollector({ dataDir, store, log: silentLogger() });
  token = (await createEnrollmentToken(collector.store, { segment: 'lgwan', expiresInMs: 600_000, singleUse: false })).token;
}, 60_000);
afterAll(async () => collector?.close());

async function agent(): Promise<{ id: RawIdentity; connect: () => Promise<RawConn> }> {
  const id = await rawEnroll(collector.agentUrl, token);
  return {
    id,
    connect: async () => {
      const c = await rawHello(collector.agentUrl, id.agentId, id.privateKey);
      await c.next('welcome');
      return c;
    },
  };
}
const send = (c: RawConn, agentId: string, events: object[]) => c.ws.send(JSON.stringify({ type: 'events', agentId, events }));

/** Hold the store's commits (it still records what it is handed) until the returned function lets them go. */
function holdCommits(): () => void {
  let release!: () => void;
  gate = new Promise<void>((resolve) => (release = resolve));
  return () => {
    gate = undefined;
    release();
  };
}

/** Resolves when the gateway has read `count` more frames of this agent: its own listener runs first, so it has handled them. */
function framesRead(agentId: string, count: number): Promise<void> {
  let seen = 0;
  return new Promise((resolve) => {
    for (const ws of collector.gateway.wss.clients) ws.on('message', (data: Buffer) => data.toString().includes(agentId) && ++seen === count && resolve());
  });
}

/** Until the store was handed a batch of this agent. */
async function handedTo(agentId: string): Promise<void> {
  while (!handed.has(agentId)) await new Promise((r) => setTimeout(r, 10));
}
const gap = (seq: number, throughSeq: number, dropped: number) => ({ seq, at: new Date().toISOString(), kind: 'gap', throughSeq, dropped, reason: 'outbox reached its size cap' });

/** Sends one frame on a fresh connection and expects it closed with this code and reason, nothing of it stored. */
async function refused(events: object[], code: number, reason: string, stored: object[] = []): Promise<void> {
  const { id, connect } = await agent();
  const c = await connect();
  if (stored.length > 0) {
    send(c, id.agentId, stored);
    await c.next('ack');
  }
  const before = handed.get(id.agentId)?.length ?? 0;
  send(c, id.agentId, events);
  const closed = await c.closed;
  expect(closed).toEqual({ code, reason });
  expect(handed.get(id.agentId)?.length ?? 0).toBe(before);
}

describe('an events frame the gateway refuses before the store sees it', () => {
  it('numbers that do not increase within the frame', async () => {
    await refused([...noticeEvents(1, 2), ...noticeEvents(2, 1)], CloseCode.SEQ_OUT_OF_RANGE, 'seq 2 does not increase within the batch');
    await refused([...noticeEvents(1, 2), ...noticeEvents(1, 1)], CloseCode.SEQ_OUT_OF_RANGE, 'seq 1 does not increase within the batch');
    // Also over numbers already stored, which are otherwise skipped as a resend.
    await refused([...noticeEvents(2, 1), ...noticeEvents(1, 1)], CloseCode.SEQ_OUT_OF_RANGE, 'seq 1 does not increase within the batch', noticeEvents(1, 2));
  });

  it('a gap that ends before it starts', async () => {
    await refused([gap(3, 2, 1)], CloseCode.SEQ_OUT_OF_RANGE, 'gap 3 ends before it starts (2)', noticeEvents(1, 2));
  });

  it('a gap wider than any outbox can drop, and one claiming more dropped events than it covers', async () => {
    await refused([gap(1, LIMITS.maxGapSpan + 1, 5)], CloseCode.SEQ_OUT_OF_RANGE, `gap 1…${LIMITS.maxGapSpan + 1} covers more than ${LIMITS.maxGapSpan} sequence numbers`);
    await refused([gap(1, 3, 4)], CloseCode.SEQ_OUT_OF_RANGE, 'gap 1…3 claims 4 dropped events');
  });

  it('a number past the next one expected, also after a gap', async () => {
    await refused([gap(1, 3, 3), ...noticeEvents(5, 1)], CloseCode.SEQ_OUT_OF_RANGE, 'seq 5 leaves a hole (expected 4)');
    await refused(noticeEvents(2, 1), CloseCode.SEQ_OUT_OF_RANGE, 'seq 2 leaves a hole (expected 1)');
  });

  it('events for another agent', async () => {
    const other = await agent();
    const { connect } = await agent();
    const c = await connect();
    send(c, other.id.agentId, noticeEvents(1, 1));
    expect(await c.closed).toEqual({ code: CloseCode.AUTH_FAILED, reason: `events for another agent id (${other.id.agentId})` });
    expect(handed.get(other.id.agentId)).toBeUndefined();
  });

  it('one event larger than the event limit in a frame that fits', async () => {
    const big = { seq: 1, at: new Date().toISOString(), kind: 'agent.notice', notice: 'big', detail: { text: 'x'.repeat(LIMITS.maxEventBytes) } };
    await refused([big], CloseCode.SCHEMA_VIOLATION, `event 1 is larger than ${LIMITS.maxEventBytes} bytes`);
  });
});

describe('events the gateway accepts', () => {
  it('a gap that covers exactly what it says it dropped, followed by the next event', async () => {
    const { id, connect } = await agent();
    const c = await connect();
    send(c, id.agentId, [gap(1, 3, 3), ...noticeEvents(4, 1)]);
    expect((await c.next('ack')).upTo).toBe(4);
    send(c, id.agentId, [gap(5, 5, 1)]);
    expect((await c.next('ack')).upTo).toBe(5);
    expect(handed.get(id.agentId)).toEqual([1, 4, 5]);
  });

  it('a gap of exactly the widest span an outbox can drop, and the events after it', async () => {
    const { id, connect } = await agent();
    const c = await connect();
    send(c, id.agentId, [gap(1, LIMITS.maxGapSpan, LIMITS.maxGapSpan), ...noticeEvents(LIMITS.maxGapSpan + 1, 1)]);
    expect((await c.next('ack')).upTo).toBe(LIMITS.maxGapSpan + 1);
    send(c, id.agentId, [gap(LIMITS.maxGapSpan + 2, LIMITS.maxGapSpan + 3, 2)]);
    expect((await c.next('ack')).upTo).toBe(LIMITS.maxGapSpan + 3);
    expect(handed.get(id.agentId)).toEqual([1, LIMITS.maxGapSpan + 1, LIMITS.maxGapSpan + 2]);
  });

  it('one event just under the limit in a frame over it', async () => {
    const { id, connect } = await agent();
    const c = await connect();
    const shell = JSON.stringify({ seq: 1, at: new Date().toISOString(), kind: 'agent.notice', notice: 'big', detail: { text: '' } });
    const fits = { ...(JSON.parse(shell) as object), detail: { text: 'y'.repeat(LIMITS.maxEventBytes - shell.length) } };
    expect(JSON.stringify(fits).length).toBe(LIMITS.maxEventBytes);
    send(c, id.agentId, [fits, ...noticeEvents(2, 1)]);
    expect((await c.next('ack', 60_000)).upTo).toBe(2);
  });

  it('a resend of stored events is acknowledged, not stored again; the new part of an overlapping frame is stored', async () => {
    const { id, connect } = await agent();
    const c = await connect();
    send(c, id.agentId, noticeEvents(1, 3));
    expect((await c.next('ack')).upTo).toBe(3);
    expect(batches.get(id.agentId)).toBe(1);
    send(c, id.agentId, noticeEvents(1, 3));
    expect((await c.next('ack')).upTo).toBe(3);
    send(c, id.agentId, noticeEvents(2, 1));
    expect((await c.next('ack')).upTo).toBe(3);
    // A pure resend is answered by the gateway: it costs the store nothing.
    expect(batches.get(id.agentId)).toBe(1);
    send(c, id.agentId, noticeEvents(2, 4));
    expect((await c.next('ack')).upTo).toBe(5);
    expect(handed.get(id.agentId)).toEqual([1, 2, 3, 4, 5]);
    expect(await collector.store.countEvents(id.agentId)).toBe(5);
  });

  it('violations are stored as the agent’s own text of each event, also the new part of an overlapping frame', async () => {
    const { id, connect } = await agent();
    const c = await connect();
    // The agent's own key order (not the schema's), so a text serialised again by the collector would differ.
    const violation = (seq: number) =>
      `{"kind":"violation.opened","policyVersion":2,"at":"2026-12-07T09:00:0${seq}+09:00","seq":${seq},"violation":{"severity":"high","checkId":"usb-media","ruleId":"usb.unregistered-medium","subject":"usb:0781:5581:AA${seq}","result":"fail","title":{"en":"Unregistered","ja":"未登録の媒体"},"message":{"ja":"媒体管理台帳にありません: \\\"AA${seq}\\\"","en":"not in the ledger"},"reason":"not registered","clauses":[{"ref":"第3章3(2)","source":"S1"}],"facts":{"serial":"AA${seq}","mountpoints":["/media/u"]}}}`;
    const frame = (seqs: number[]) => `{"agentId":"${id.agentId}","type":"events","events":[${seqs.map(violation).join(',')}]}`;
    c.ws.send(frame([1, 2]));
    expect((await c.next('ack')).upTo).toBe(2);
    c.ws.send(frame([2, 3, 4]));
    expect((await c.next('ack')).upTo).toBe(4);
    const rows = await collector.store.sql.all<{ seq: number; payload: string }>('SELECT seq, payload FROM events WHERE agent_id = ? ORDER BY seq', [id.agentId]);
    expect(rows.map((r) => [Number(r.seq), r.payload])).toEqual([1, 2, 3, 4].map((seq) => [seq, violation(seq)]));
    expect(handed.get(id.agentId)).toEqual([1, 2, 3, 4]);
  });

  it('frames of one agent stored in one commit are acknowledged once, with the last seq stored', async () => {
    const { id, connect } = await agent();
    const c = await connect();
    const release = holdCommits();
    const queued = framesRead(id.agentId, 3);
    send(c, id.agentId, noticeEvents(1, 1));
    await handedTo(id.agentId);
    // Frames 2 and 3 wait while the commit of frame 1 is held, and are stored together after it.
    send(c, id.agentId, noticeEvents(2, 1));
    send(c, id.agentId, noticeEvents(3, 1));
    await queued;
    release();
    expect((await c.next('ack')).upTo).toBe(1);
    expect((await c.next('ack')).upTo).toBe(3);
    send(c, id.agentId, noticeEvents(4, 1));
    // Acks arrive in order on the connection: a second ack of the commit of 2 and 3 would come before this one.
    expect((await c.next('ack')).upTo).toBe(4);
    expect(handed.get(id.agentId)).toEqual([1, 2, 3, 4]);
  });

  it('a resend of events still waiting for their commit is acknowledged only after the commit', async () => {
    const { id, connect } = await agent();
    const c = await connect();
    const release = holdCommits();
    const resendRead = framesRead(id.agentId, 2);
    send(c, id.agentId, noticeEvents(1, 2));
    await handedTo(id.agentId);
    // The same frame again while its commit is held: nothing new in it, and nothing of it durable yet.
    send(c, id.agentId, noticeEvents(1, 2));
    await resendRead;
    await new Promise((r) => setTimeout(r, 200));
    expect(c.frames.filter((f) => f.type === 'ack')).toEqual([]);
    release();
    expect((await c.next('ack')).upTo).toBe(2);
    send(c, id.agentId, noticeEvents(3, 1));
    // Acks arrive in order: a second ack for the held commit would come before this one.
    expect((await c.next('ack')).upTo).toBe(3);
    expect(handed.get(id.agentId)).toEqual([1, 2, 3]);
  });

  it('a gap over numbers already stored is skipped as a resend', async () => {
    const { id, connect } = await agent();
    const c = await connect();
    send(c, id.agentId, [gap(1, 4, 4)]);
    expect((await c.next('ack')).upTo).toBe(4);
    send(c, id.agentId, [gap(1, 4, 4), ...noticeEvents(5, 1)]);
    expect((await c.next('ack')).upTo).toBe(5);
    expect(handed.get(id.agentId)).toEqual([1, 5]);
  });

  it('a reconnected agent resumes after what the store holds', async () => {
    const { id, connect } = await agent();
    const first = await connect();
    send(first, id.agentId, noticeEvents(1, 2));
    expect((await first.next('ack')).upTo).toBe(2);
    first.ws.close();
    await first.closed;
    const second = await connect();
    // The unacknowledged tail of the outbox again, starting with what is stored.
    send(second, id.agentId, noticeEvents(2, 2));
    expect((await second.next('ack')).upTo).toBe(3);
    second.ws.close();
    await second.closed;
    const third = await connect();
    send(third, id.agentId, noticeEvents(5, 1));
    expect(await third.closed).toEqual({ code: CloseCode.SEQ_OUT_OF_RANGE, reason: 'seq 5 leaves a hole (expected 4)' });
    expect(handed.get(id.agentId)).toEqual([1, 2, 3]);
  });
});
