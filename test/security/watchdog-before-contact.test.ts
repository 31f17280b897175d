/**
 * An agent whose watchdog limit is below what it needs at start (32 MB: Node alone needs more)
 * and whose connection to the collector is slower than the watchdog's first sample (here a
 * proxy that holds each connection 8 s, as a slow network at boot does) stops before the
 * collector hears of it. The next start reports that stop before its checks and before its
 * watchdog judges again, so the collector raises AGENT-008 with the figure instead of showing
 * the PC only as silent. Real collector and agent processes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil, withDb } from '../helpers/db.js';
import { startProc, tempDir } from '../helpers/processes.js';
import type { CollectorProc } from '../helpers/processes.js';
import { collectorAndAgent } from './helpers-procs.js';
import type { RealAgent } from './helpers-procs.js';

const HOLD_MS = 8000;

let collector: CollectorProc;
let agent: RealAgent;
let proxy: { port: number; close(): Promise<void> };
const config = join(tempDir('watchdog-contact-config'), 'agent.yml');

/** A TCP proxy to the collector that holds every new connection `holdMs` before passing it on. */
async function slowProxy(port: number, holdMs: number): Promise<{ port: number; close(): Promise<void> }> {
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    open.add(client);
    client.pause();
    let upstream: Socket | undefined;
    const timer = setTimeout(() => {
      upstream = connect(port, '127.0.0.1', () => {
        client.pipe(upstream!);
        upstream!.pipe(client);
        client.resume();
      });
      open.add(upstream);
      upstream.on('error', () => client.destroy());
      upstream.on('close', () => client.destroy());
    }, holdMs);
    client.on('error', () => undefined);
    client.on('close', () => {
      clearTimeout(timer);
      upstream?.destroy();
      open.delete(client);
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  return {
    port: (server.address() as { port: number }).port,
    close: () => {
      for (const s of open) s.destroy();
      return new Promise((res) => server.close(() => res()));
    },
  };
}

const agent008Opened = (): { severity: string; reason: string; facts: { limit: string; rssBytes: number } }[] =>
  withDb(collector.dataDir, (db) => db.prepare('SELECT payload FROM forward_collector_events WHERE agent_id = ? ORDER BY rowid').all(agent.agentId) as { payload: string }[])
    .map((r) => JSON.parse(r.payload) as { kind: string; violation?: { ruleId: string; severity: string; reason: string; facts: { limit: string; rssBytes: number } } })
    .filter((e) => e.kind === 'violation.opened' && e.violation?.ruleId === 'AGENT-008')
    .map((e) => e.violation!);

beforeAll(async () => {
  ({ collector, agent } = await collectorAndAgent('watchdog-contact'));
  await agent.stop();
  proxy = await slowProxy(collector.port, HOLD_MS);
  writeFileSync(config, 'watchdog:\n  memoryLimitMB: 32\n  intervalSeconds: 1\n');
}, 240_000);
afterAll(async () => {
  await proxy?.close();
  await agent?.stop();
  await collector?.stop();
});

describe('a watchdog stop before the agent reaches the collector', () => {
  it('is reported by the next start before its checks: AGENT-008 with the figure, not only silence', async () => {
    const url = collector.agentUrl.replace(`:${collector.port}/`, `:${proxy.port}/`);
    expect(url).not.toBe(collector.agentUrl);
    const args = agent.args().map((a) => (a === collector.agentUrl ? url : a));
    const stopsBefore = agent.countNotices('watchdog.limit');

    // The first run: over the limit at its first sample, stopped before its connection got through.
    const first = startProc('agent', [...args, '--config', config]);
    expect(await first.exited).toEqual({ code: 70, signal: null });
    expect(agent.countNotices('watchdog.limit')).toBe(stopsBefore);
    expect(agent008Opened()).toEqual([]);
    const marker = JSON.parse(readFileSync(join(agent.stateDir, 'running.json'), 'utf8')) as { state: string; unreportedStopSeq?: number };
    expect(marker.state).toBe('stopped');
    expect(marker.unreportedStopSeq).toBeGreaterThan(0);

    // The next run (the service manager's restart), same limit, same slow connection: it reports the stop first.
    const second = startProc('agent', [...args, '--config', config]);
    await waitUntil(() => agent008Opened().length > 0, 120_000, 'AGENT-008 for the stop the collector never heard of');
    const [opened] = agent008Opened();
    expect(opened!.severity).toBe('medium');
    expect(opened!.reason).toMatch(/^メモリ使用量 \d+ MB が上限 32 MB を超えたため、エージェントが自ら停止しました \(24 時間で 1 回目\)$/);
    expect(opened!.facts.limit).toBe('memory');
    expect(opened!.facts.rssBytes).toBeGreaterThan(32 * 1024 * 1024);
    // Then its own watchdog judges it, and this stop reaches the collector over the open connection.
    expect(await second.exited).toEqual({ code: 70, signal: null });
    await waitUntil(() => agent.countNotices('watchdog.limit') >= stopsBefore + 2, 60_000, 'both stops reported');
    const after = JSON.parse(readFileSync(join(agent.stateDir, 'running.json'), 'utf8')) as { unreportedStopSeq?: number };
    expect(after.unreportedStopSeq).toBeUndefined();
  }, 300_000);
});
