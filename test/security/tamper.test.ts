/**
 * What an agent cannot say about itself becomes a violation on the collector: stopped
 * (AGENT-002, the real agent sends 'stopping' on SIGTERM), silent (AGENT-001), uninstalled
 * (AGENT-003), configuration/program changed (AGENT-004), clock off (TIME-002). Each is stored in
 * the violations table, published on the bus, and closed when the condition ends.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../agent/agent.js';
import { collectorTrust, saveIdentity } from '../../agent/identity.js';
import { enroll } from '../../agent/link/enroll.js';
import type { StoredAgentEvent } from '../../src/collector/bus.js';
import { silentLogger } from '../../src/shared/log.js';
import { CLI, startProc, tempDir } from '../helpers/processes.js';
import type { Proc } from '../helpers/processes.js';
import { rawEnroll, rawHello } from '../helpers/raw-client.js';
import { newToken, REPLAY_PC, startTlsCollector } from './helpers.js';
import type { TlsCollector } from './helpers.js';

let collector: TlsCollector;
const published: StoredAgentEvent[] = [];
const procs: Proc[] = [];

beforeAll(async () => {
  collector = await startTlsCollector({ tamper: { silentAfterMs: 1500, sweepIntervalMs: 250, clockSkewMs: 5 * 60_000 }, gateway: { heartbeatSeconds: 1 } });
  collector.bus.on('event', (e) => published.push(e));
});
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await collector?.close();
});

async function violation(agentId: string, ruleId: string, subject = '') {
  return (await collector.store.listViolations({ agentId, ruleId })).find((v) => v.subject === subject);
}

function wasPublished(agentId: string, kind: 'violation.opened' | 'violation.closed', ruleId: string): boolean {
  return published.some((e) => e.agentId === agentId && e.event.kind === kind && (kind === 'violation.opened' ? (e.event as { violation: { ruleId: string } }).violation.ruleId : (e.event as { ruleId: string }).ruleId) === ruleId);
}

describe('tamper evidence', () => {
  it('a stopped agent becomes AGENT-002 (real process, SIGTERM), closed when it starts again; an uninstall becomes AGENT-003', async () => {
    const state = join(tempDir('tamper-stop'), 'state');
    const args = [CLI, 'agent', 'run', '--collector', collector.agentUrl, '--state', state, '--replay', REPLAY_PC, '--ca-pin', collector.tls.caFingerprint];
    const first = startProc('agent', [...args, '--enroll', await newToken(collector)]);
    procs.push(first);
    await expect.poll(() => collector.gateway.connectedAgents.length, { timeout: 20_000 }).toBe(1);
    const agentId = collector.gateway.connectedAgents[0]!;
    expect(await violation(agentId, 'AGENT-002')).toBeUndefined();
    await first.stop(); // SIGTERM
    await expect.poll(async () => (await violation(agentId, 'AGENT-002'))?.state, { timeout: 10_000 }).toBe('open');
    const v = (await violation(agentId, 'AGENT-002'))!;
    expect(v.clauses).toEqual([{ source: '003', ref: '第8章3(2)ウ' }, { source: '004', ref: '§8.1(6)イ' }]);
    expect(v.title.ja).toBe('エージェントが停止された');
    expect(v.facts.signal).toBe('SIGTERM');
    expect(wasPublished(agentId, 'violation.opened', 'AGENT-002')).toBe(true);

    const second = startProc('agent', args);
    procs.push(second);
    await expect.poll(async () => (await violation(agentId, 'AGENT-002'))?.state, { timeout: 20_000 }).toBe('closed');
    expect(wasPublished(agentId, 'violation.closed', 'AGENT-002')).toBe(true);
    await second.stop();

    const uninstall = startProc('notify-uninstall', [CLI, 'agent', 'notify-uninstall', '--state', state]);
    expect((await uninstall.exited).code).toBe(0);
    await expect.poll(async () => (await violation(agentId, 'AGENT-003'))?.state, { timeout: 10_000 }).toBe('open');
    // The stop that the uninstaller made is reported as part of the uninstall.
    expect((await violation(agentId, 'AGENT-002'))?.state).toBe('closed');
  }, 60_000);

  it('a silent agent becomes AGENT-001, closed when it reconnects', async () => {
    const id = await rawEnroll(collector.agentUrl, await newToken(collector));
    const c = await rawHello(collector.agentUrl, id.agentId, id.privateKey);
    await c.next('welcome');
    c.ws.close(1000);
    await c.closed;
    expect((await violation(id.agentId, 'AGENT-001'))?.state).toBeUndefined();
    await expect.poll(async () => (await violation(id.agentId, 'AGENT-001'))?.state, { timeout: 10_000 }).toBe('open');
    const v = (await violation(id.agentId, 'AGENT-001'))!;
    expect(v.facts.limitMinutes).toBe(0);
    expect(wasPublished(id.agentId, 'violation.opened', 'AGENT-001')).toBe(true);
    const back = await rawHello(collector.agentUrl, id.agentId, id.privateKey);
    await back.next('welcome');
    await expect.poll(async () => (await violation(id.agentId, 'AGENT-001'))?.state, { timeout: 10_000 }).toBe('closed');
    back.ws.close(1000);
  });

  it('a clock off by more than the limit becomes TIME-002, closed by a heartbeat within the limit', async () => {
    const id = await rawEnroll(collector.agentUrl, await newToken(collector));
    const c = await rawHello(collector.agentUrl, id.agentId, id.privateKey);
    await c.next('welcome');
    const beat = (offsetMs: number) => c.ws.send(JSON.stringify({ type: 'heartbeat', at: new Date(Date.now() + offsetMs).toISOString(), policyVersion: 0, outboxDepth: 0 }));
    beat(60_000); // one minute: within the 5-minute limit
    await new Promise((r) => setTimeout(r, 300));
    expect(await violation(id.agentId, 'TIME-002')).toBeUndefined();
    beat(-11 * 60_000);
    await expect.poll(async () => (await violation(id.agentId, 'TIME-002'))?.state, { timeout: 10_000 }).toBe('open');
    const v = (await violation(id.agentId, 'TIME-002'))!;
    expect(Number(v.facts.skewSeconds)).toBeLessThanOrEqual(-659);
    expect(v.clauses).toContainEqual({ source: '004', ref: '§9.1イ' });
    beat(0);
    await expect.poll(async () => (await violation(id.agentId, 'TIME-002'))?.state, { timeout: 10_000 }).toBe('closed');
    c.ws.close(1000);
  });

  it('a changed configuration file or program becomes AGENT-004 with the old and new hashes', async () => {
    const dir = tempDir('tamper-hash');
    const stateDir = join(dir, 'state');
    const configPath = join(dir, 'agent.yml');
    const programPath = join(dir, 'mamori.mjs');
    writeFileSync(configPath, 'schedule: "0 * * * *"\n');
    writeFileSync(programPath, '// program v1\n');
    const wsOptions = await collectorTrust({ url: collector.agentUrl, stateDir, pin: collector.tls.caFingerprint });
    const e = await enroll(collector.agentUrl, await newToken(collector), { platform: 'linux', hostname: 'hash-pc', release: 'test' }, 'test', wsOptions);
    const identity = { ...e, collectorUrl: collector.agentUrl, enrolledAt: new Date().toISOString() };
    saveIdentity(stateDir, identity);
    const run = async () => {
      const a = new Agent({ identity, stateDir, log: silentLogger(), replayDir: REPLAY_PC, skipInitialRun: true, wsOptions, watchdog: false, configPath, programPath });
      await a.start();
      await a.integrity;
      await expect.poll(() => a.outbox.acked >= a.outbox.lastSeq && a.link.connected, { timeout: 30_000 }).toBe(true);
      await a.stop();
    };
    await run();
    await run(); // unchanged: nothing
    expect(await violation(e.agentId, 'AGENT-004', 'binary')).toBeUndefined();
    expect(await violation(e.agentId, 'AGENT-004', 'config')).toBeUndefined();
    appendFileSync(programPath, '// injected\n');
    appendFileSync(configPath, 'usbEnforcement: audit\n');
    await run();
    await expect.poll(async () => (await violation(e.agentId, 'AGENT-004', 'binary'))?.state, { timeout: 10_000 }).toBe('open');
    const bin = (await violation(e.agentId, 'AGENT-004', 'binary'))!;
    expect(bin.facts.oldSha256).not.toBe(bin.facts.newSha256);
    expect(String(bin.facts.newSha256)).toMatch(/^[0-9a-f]{64}$/);
    expect((await violation(e.agentId, 'AGENT-004', 'config'))?.state).toBe('open');
    // An administrator confirms the change: closed.
    expect(await collector.tamper!.resolve(e.agentId, 'tampered', 'binary', 'test-admin')).toBe(true);
    expect((await violation(e.agentId, 'AGENT-004', 'binary'))?.state).toBe('closed');
  }, 120_000);
});
