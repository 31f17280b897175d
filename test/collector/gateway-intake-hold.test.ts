/**
 * When the store falls behind, the gateway stops reading from agents once the frames waiting for
 * their commit pass its bound, and reads again after the commit (in-process collector with its real
 * SQLite store, real sockets; the store's commit is held by a gate). Nothing is refused: every
 * event sent is stored once and acknowledged, and a held connection is not closed for silence.
 * While it stays behind, every agent gets its turn: none is starved by those read before it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDefaultStore, startCollector } from '../../src/collector/collector.js';
import type { RunningCollector } from '../../src/collector/collector.js';
import { createEnrollmentToken } from '../../src/collector/tokens.js';
import { silentLogger } from '../../src/shared/log.js';
import { tempDir } from '../helpers/processes.js';
import type { RawConn } from '../helpers/raw-client.js';
import { noticeEvents, rawEnroll, rawHello } from '../helpers/raw-client.js';

/** Frame bytes the gateway may hold for the store in this test. */
const BOUND = 4000;
const HEARTBEAT_SECONDS = 1;

let collector: RunningCollector;
let token: string;
/** While set, the store's ingest waits for it. */
let gate: Promise<void> | undefined;
/** Time every commit takes at least, while set (a store that stays behind). */
let commitMs = 0;

beforeAll(async () => {
  const dataDir = tempDir('gw-hold');
  const store = openDefaultStore(dataDir);
  const ingest = store.ingest.bind(store);
  store.ingest = async (batches, receivedAt) => {
    if (gate) await gate;
    if (commitMs) await sleep(commitMs);
    return ingest(batches, receivedAt);
  };
  collector = await startCollector({ dataDir, store, log: silentLogger(), gateway: { heartbeatSeconds: HEARTBEAT_SECONDS, ingest: { maxBytesWaiting: BOUND } } });
  token = (await createEnrollmentToken(collector.store, { segment: 'lgwan', expiresInMs: 600_000, singleUse: false })).token;
}, 60_000);
afterAll(async () => collector?.close());

async function connected(): Promise<{ agentId: string; c: RawConn }> {
  const id = await rawEnroll(collector.agentUrl, token);
  const c = await rawHello(collector.agentUrl, id.agentId, id.privateKey);
  await c.next('welcome');
  return { agentId: id.agentId, c };
}

/** Frames the collector has read from this agent (its own listeners run after the gateway's). */
function framesRead(agentId: string): () => number {
  let n = 0;
  for (const ws of collector.gateway.wss.clients) ws.on('message', (data: Buffer) => data.toString().includes(agentId) && n++);
  return () => n;
}

const send = (c: RawConn, agentId: string, events: object[]): number => {
  const text = JSON.stringify({ type: 'events', agentId, events });
  c.ws.send(text);
  return text.length;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('a store behind holds every agent until its commit, then reads, stores and acknowledges all of it', async () => {
  const a = await connected();
  const b = await connected();
  const readA = framesRead(a.agentId);
  const readB = framesRead(b.agentId);
  let release!: () => void;
  gate = new Promise<void>((resolve) => (release = resolve));

  // A's first frame is under the bound; its second takes what waits over it.
  const first = send(a.c, a.agentId, noticeEvents(1, 20));
  expect(first).toBeLessThan(BOUND);
  while (readA() < 1) await sleep(10);
  expect(first + send(a.c, a.agentId, noticeEvents(21, 20))).toBeGreaterThan(BOUND);
  while (readA() < 2) await sleep(10);

  // Now nothing more is read, from A or from B, for longer than the heartbeat timeout (2 × 1 s + 5 s).
  send(a.c, a.agentId, noticeEvents(41, 5));
  send(b.c, b.agentId, noticeEvents(1, 5));
  await sleep((HEARTBEAT_SECONDS * 2 + 5) * 1000 + 1500);
  expect(readA()).toBe(2);
  expect(readB()).toBe(0);
  expect(a.c.frames.filter((f) => f.type === 'ack')).toEqual([]);

  gate = undefined;
  release();
  // Everything sent is read, stored once and acknowledged; neither connection was closed.
  let ackA = 0;
  while (ackA < 45) ackA = Number((await a.c.next('ack', 20_000)).upTo);
  expect(ackA).toBe(45);
  expect((await b.c.next('ack', 20_000)).upTo).toBe(5);
  expect(readA()).toBe(3);
  expect(readB()).toBe(1);
  expect(await collector.store.countEvents(a.agentId)).toBe(45);
  expect(await collector.store.countEvents(b.agentId)).toBe(5);
  expect(a.c.ws.readyState).toBe(a.c.ws.OPEN);
  expect(b.c.ws.readyState).toBe(b.c.ws.OPEN);
}, 60_000);

it('a store that stays behind reads every agent in turn: none is starved by the agents read before it', async () => {
  // Eight agents, each keeping two frames of ten events in flight (a reconnect wave draining
  // outboxes); the bound holds about four frames and every commit takes 30 ms, so the intake is
  // held and released again and again.
  const agents = await Promise.all(Array.from({ length: 8 }, () => connected()));
  commitMs = 30;
  const FRAME_EVENTS = 10;
  const acked = new Map<string, number>();
  let stop = false;
  const drive = async ({ agentId, c }: { agentId: string; c: RawConn }) => {
    let sent = 0;
    const sendNext = () => (send(c, agentId, noticeEvents(sent * FRAME_EVENTS + 1, FRAME_EVENTS)), (sent += 1));
    sendNext();
    sendNext();
    acked.set(agentId, 0);
    while (!stop) {
      const upTo = Number((await c.next('ack', 20_000)).upTo);
      acked.set(agentId, upTo / FRAME_EVENTS);
      while (!stop && sent < upTo / FRAME_EVENTS + 2) sendNext();
    }
  };
  const driving = agents.map(drive);
  const total = () => [...acked.values()].reduce((a, b) => a + b, 0);
  while (total() < 8 * 16) await sleep(20);
  stop = true;
  commitMs = 0;
  await Promise.allSettled(driving);
  // A fair share is 16 frames each; every agent got at least a quarter of it.
  const perAgent = agents.map((a) => acked.get(a.agentId) ?? 0);
  expect(Math.min(...perAgent), `frames stored per agent: ${perAgent.join(', ')}`).toBeGreaterThanOrEqual(4);
  for (const a of agents) a.c.ws.close();
}, 60_000);
