/**
 * What an agent cannot say about itself becomes a violation on the collector: stopped
 * (AGENT-002, the real agent sends 'stopping' on SIGTERM), silent (AGENT-001), uninstalled
 * (AGENT-003), configuration/program changed (AGENT-004), clock off (TIME-002). Each is stored in
 * the violations table, published on the bus, and closed when the condition ends.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
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

/** The packages' own manifest writer (scripts/package.mjs), so the agent is tested against what the build ships. */
const { writeReleaseManifest } = (await import(join(import.meta.dirname, '../../scripts/package.mjs'))) as { writeReleaseManifest: (dir: string, o: { version: string; key: KeyObject }) => void };

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

  it('an upgrade to a release signed with the pinned key raises no AGENT-004; the same settings rewritten are no change; anything else still is', async () => {
    const dir = tempDir('tamper-release');
    const stateDir = join(dir, 'state');
    const install = join(dir, 'usr-lib-mamori-agent');
    mkdirSync(install);
    const configPath = join(dir, 'agent.yml');
    const programPath = join(install, 'mamori-agent.mjs');
    writeFileSync(configPath, '# written by the installer\nschedule: "0 * * * *"\nusbEnforcement: audit\n');
    writeFileSync(programPath, '// release 1.0.0\n');
    const releaseKey = generateKeyPairSync('ed25519').privateKey;
    writeReleaseManifest(install, { version: '1.0.0', key: releaseKey });
    const wsOptions = await collectorTrust({ url: collector.agentUrl, stateDir, pin: collector.tls.caFingerprint });
    const e = await enroll(collector.agentUrl, await newToken(collector), { platform: 'linux', hostname: 'release-pc', release: 'test' }, 'test', wsOptions);
    const identity = { ...e, collectorUrl: collector.agentUrl, enrolledAt: new Date().toISOString() };
    saveIdentity(stateDir, identity);
    const notices = (name: string) => published.filter((p) => p.agentId === e.agentId && p.event.kind === 'agent.notice' && p.event.notice === name).map((p) => (p.event as { detail: Record<string, unknown> }).detail);
    const run = async () => {
      const a = new Agent({ identity, stateDir, log: silentLogger(), replayDir: REPLAY_PC, skipInitialRun: true, wsOptions, watchdog: false, configPath, programPath });
      await a.start();
      await a.integrity;
      await expect.poll(() => a.outbox.acked >= a.outbox.lastSeq && a.link.connected, { timeout: 30_000 }).toBe(true);
      await a.stop();
    };
    await run(); // pins the release key

    // The package manager installs 1.0.1 (new program, new signed manifest); its configure step
    // writes the same settings in another order with another comment.
    writeFileSync(programPath, '// release 1.0.1\n');
    writeReleaseManifest(install, { version: '1.0.1', key: releaseKey });
    writeFileSync(configPath, '# rewritten by the MSI configure step\nusbEnforcement: "audit"\nschedule: 0 * * * *\n');
    await run();
    await expect.poll(() => notices('agent.upgraded').length, { timeout: 10_000 }).toBe(1);
    expect(notices('agent.upgraded')[0]).toMatchObject({ fromVersion: '1.0.0', toVersion: '1.0.1', changedFiles: 1, files: [{ path: programPath }] });
    expect(notices('binary.changed')).toEqual([]);
    expect(notices('config.changed')).toEqual([]);
    expect(await violation(e.agentId, 'AGENT-004', 'binary')).toBeUndefined();
    expect(await violation(e.agentId, 'AGENT-004', 'config')).toBeUndefined();

    // Someone else changes the program (the manifest stays): AGENT-004.
    appendFileSync(programPath, '// injected\n');
    await run();
    await expect.poll(async () => (await violation(e.agentId, 'AGENT-004', 'binary'))?.state, { timeout: 10_000 }).toBe('open');
    expect(await collector.tamper!.resolve(e.agentId, 'tampered', 'binary', 'test-admin')).toBe(true);

    // A "release" signed with another key (made by whoever can write the files): AGENT-004, saying why.
    writeFileSync(programPath, '// release 9.9.9\n');
    writeReleaseManifest(install, { version: '9.9.9', key: generateKeyPairSync('ed25519').privateKey });
    await run();
    await expect.poll(async () => (await violation(e.agentId, 'AGENT-004', 'binary'))?.state, { timeout: 10_000 }).toBe('open');
    expect(notices('binary.changed').at(-1)).toMatchObject({ release: 'the release key shipped with this package is not the pinned one' });

    // A changed setting is a change however it is written.
    writeFileSync(configPath, '# rewritten by the MSI configure step\nusbEnforcement: block\nschedule: 0 * * * *\n');
    await run();
    await expect.poll(async () => (await violation(e.agentId, 'AGENT-004', 'config'))?.state, { timeout: 10_000 }).toBe('open');
    expect(notices('agent.upgraded')).toHaveLength(1);
  }, 180_000);
});
