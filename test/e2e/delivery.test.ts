/**
 * Nothing is lost and nothing is stored twice, with the collector and the agent as real
 * processes over real sockets on real SQLite: collector down while the agent keeps producing,
 * kill -9 of the agent in the middle of sending, kill -9 of the collector in the middle of
 * a write batch.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { eventCount, testEventIndexes, waitUntil } from '../helpers/db.js';
import { createToken, freePort, startCollectorProc, startEventAgent, tempDir } from '../helpers/processes.js';
import type { Proc } from '../helpers/processes.js';

const running: Proc[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
});

function expectExactlyOnceInOrder(indexes: number[], count: number): void {
  expect(indexes.length).toBe(count);
  // In order per agent, each exactly once: the stored sequence is 0, 1, 2, … count-1.
  const wrong = indexes.findIndex((v, k) => v !== k);
  expect(wrong).toBe(-1);
}

describe('delivery across failures (real processes)', () => {
  it('stores all 10,000 events made while the collector was down, once each, in order', async () => {
    const data = tempDir('down');
    const state = join(tempDir('down-agent'), 'state');
    const port = await freePort();
    let collector = await startCollectorProc(data, port);
    running.push(collector);
    const token = await createToken(data, ['--single-use']);
    // Enroll, then take the collector away.
    const enrollOnly = startEventAgent(collector.agentUrl, state, { token, count: 0 });
    running.push(enrollOnly);
    const agentId = (await enrollOnly.waitFor(/"enrolled":"(ag_\w+)"/))[1]!;
    await enrollOnly.stop();
    await collector.stop();

    const agent = startEventAgent(collector.agentUrl, state, { count: 10_000 });
    running.push(agent);
    await agent.waitFor(/"appended":10000/);
    // The agent keeps trying while the collector is down.
    await new Promise((r) => setTimeout(r, 1500));

    collector = await startCollectorProc(data, port);
    running.push(collector);
    await agent.waitFor(/"drained":10000/, 60_000);
    expectExactlyOnceInOrder(testEventIndexes(data, agentId), 10_000);
  });

  it('loses and duplicates nothing when the agent is killed with -9 while sending', async () => {
    const data = tempDir('kill-agent');
    const state = join(tempDir('kill-agent-state'), 'state');
    const collector = await startCollectorProc(data);
    running.push(collector);
    const token = await createToken(data);
    const first = startEventAgent(collector.agentUrl, state, { token, count: 20_000, extra: ['--chunk', '100'] });
    running.push(first);
    const agentId = (await first.waitFor(/"enrolled":"(ag_\w+)"/))[1]!;
    // Kill it once part of the stream is stored but not all of it.
    await waitUntil(() => eventCount(data, agentId) > 500, 30_000, 'the first events to be stored');
    await first.kill9();
    const storedAtKill = eventCount(data, agentId);
    expect(storedAtKill).toBeLessThan(20_000);

    const second = startEventAgent(collector.agentUrl, state, { count: 20_000 });
    running.push(second);
    await second.waitFor(/"drained":20000/, 60_000);
    expectExactlyOnceInOrder(testEventIndexes(data, agentId), 20_000);
  });

  it('loses and duplicates nothing when the collector is killed with -9 in the middle of write batches', async () => {
    const data = tempDir('kill-collector');
    const state = join(tempDir('kill-collector-state'), 'state');
    const port = await freePort();
    let collector = await startCollectorProc(data, port);
    running.push(collector);
    const token = await createToken(data);
    const agent = startEventAgent(collector.agentUrl, state, { token, count: 30_000, extra: ['--chunk', '1000'] });
    running.push(agent);
    const agentId = (await agent.waitFor(/"enrolled":"(ag_\w+)"/))[1]!;
    await waitUntil(() => eventCount(data, agentId) > 1000, 30_000, 'the first batches to be stored');
    // Batches are being written right now.
    await collector.kill9();
    const storedAtKill = eventCount(data, agentId);
    expect(storedAtKill).toBeLessThan(30_000);

    collector = await startCollectorProc(data, port);
    running.push(collector);
    await agent.waitFor(/"drained":30000/, 90_000);
    expectExactlyOnceInOrder(testEventIndexes(data, agentId), 30_000);
  });
});
