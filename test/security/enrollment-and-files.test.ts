/**
 * Enrollment hygiene and secrets at rest: an expired token and a revoked agent are refused
 * over TLS; a revoked PC re-enrolls with a new token under a new identity while the old id
 * stays revoked; keys, the database, identities and logs are owner-only (files 0600 in 0700
 * directories). The watchdog makes an agent over its memory limit exit non-zero.
 */
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Watchdog } from '../../agent/watchdog.js';
import type { WatchdogBreach } from '../../agent/watchdog.js';
import { newAgentKeyPair } from '../../src/shared/protocol/auth.js';
import { CloseCode } from '../../src/shared/protocol/errors.js';
import { waitUntil } from '../helpers/db.js';
import { CLI, startCollectorProc, startProc, tempDir } from '../helpers/processes.js';
import type { CollectorProc, Proc } from '../helpers/processes.js';
import { connect, rawEnroll, rawHello, OS } from '../helpers/raw-client.js';
import { createToken } from '../helpers/processes.js';
import { mode, REPLAY_PC } from './helpers.js';

let collector: CollectorProc;
const procs: Proc[] = [];

beforeAll(async () => {
  collector = await startCollectorProc(tempDir('enroll-files'));
});
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await collector?.stop();
});

/** Every file under dir (recursively) with its mode. */
function modes(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const name of readdirSync(dir, { recursive: true }) as string[]) out.set(name, statSync(join(dir, name)).mode & 0o777);
  return out;
}

async function enrollCode(token: string): Promise<number> {
  const c = await connect(collector.agentUrl);
  await c.next('challenge');
  c.ws.send(JSON.stringify({ type: 'enroll', v: 1, token, os: OS, agentVersion: 'x', publicKey: newAgentKeyPair().publicKey }));
  return (await c.closed).code;
}

describe('enrollment hygiene', () => {
  it('refuses an expired token (4498)', async () => {
    const expired = await createToken(collector.dataDir, ['--expires', '0m']);
    expect(await enrollCode(expired)).toBe(CloseCode.ENROLLMENT_REFUSED);
    const fresh = await createToken(collector.dataDir, ['--expires', '1h']);
    expect(await enrollCode(fresh)).toBe(1000);
  });

  it('refuses a revoked agent (4410); the PC re-enrolls with a new token as a new agent and the old id stays revoked', async () => {
    const state = join(tempDir('reenroll'), 'state');
    const args = [CLI, 'agent', 'run', '--collector', collector.agentUrl, '--state', state, '--replay', REPLAY_PC, '--ca-pin', collector.caPin!];
    const first = startProc('agent', [...args, '--enroll', await createToken(collector.dataDir)]);
    procs.push(first);
    const oldId = (await first.waitFor(/enrolled as (ag_\w+)/))[1]!;
    await first.waitFor(/agent online|で動作しています/);
    const revoke = startProc('revoke', [CLI, 'agents', 'revoke', oldId, '--data', collector.dataDir]);
    expect((await revoke.exited).code).toBe(0);
    await first.waitFor(/4410 AGENT_REVOKED/, 15_000);
    await first.stop();

    const second = startProc('agent', [...args, '--re-enroll', '--enroll', await createToken(collector.dataDir)]);
    procs.push(second);
    const newId = (await second.waitFor(/enrolled as (ag_\w+)/))[1]!;
    expect(newId).not.toBe(oldId);
    await second.waitFor(/で動作しています/);
    // The new identity delivers; the old one is still refused whatever it presents.
    const list = startProc('list', [CLI, 'agents', 'list', '--data', collector.dataDir]);
    await list.exited;
    const rows = list.lines.join('\n');
    expect(rows).toMatch(new RegExp(`${oldId}\\t.*\\t失効$`, 'm'));
    expect(rows).toMatch(new RegExp(`${newId}\\t[^\\n]*\\t(オンライン|オフライン)\\t[^\\n]*\\t$`, 'm'));
    expect(readdirSync(join(state, 'retired')).some((d) => d.startsWith(oldId))).toBe(true);
    await second.stop();
  }, 60_000);

  it('refuses an enrolled agent after revocation even with its own valid proof', async () => {
    const token = await createToken(collector.dataDir);
    const id = await rawEnroll(collector.agentUrl, token);
    const revoke = startProc('revoke', [CLI, 'agents', 'revoke', id.agentId, '--data', collector.dataDir]);
    expect((await revoke.exited).code).toBe(0);
    const c = await rawHello(collector.agentUrl, id.agentId, id.privateKey);
    expect((await c.closed).code).toBe(CloseCode.AGENT_REVOKED);
  });
});

describe('secrets and logs at rest', () => {
  it('keeps collector keys, database and logs owner-only', () => {
    const d = collector.dataDir;
    expect(mode(d)).toBe(0o700);
    expect(mode(join(d, 'tls'))).toBe(0o700);
    for (const key of ['ca.key', 'server.key', 'policy-signing.key']) expect(mode(join(d, 'tls', key)), key).toBe(0o600);
    expect(mode(join(d, 'mamori.db'))).toBe(0o600);
    expect(mode(join(d, 'logs'))).toBe(0o700);
    const logs = [...modes(join(d, 'logs'))].filter(([name]) => name.endsWith('.log'));
    expect(logs.length).toBeGreaterThan(0);
    for (const [name, m] of logs) expect(m, name).toBe(0o600);
  });

  it('keeps the agent state (identity, pinned CA, outbox, policy, logs) owner-only', async () => {
    const state = join(tempDir('agent-files'), 'state');
    const agent = startProc('agent', [CLI, 'agent', 'run', '--collector', collector.agentUrl, '--state', state, '--replay', REPLAY_PC, '--ca-pin', collector.caPin!, '--enroll', await createToken(collector.dataDir)]);
    procs.push(agent);
    await agent.waitFor(/で動作しています/);
    // The program is hashed in the background after the start (the Node runtime is ~100 MB).
    await waitUntil(() => existsSync(join(state, 'integrity.json')), 90_000, 'integrity.json');
    await agent.stop();
    expect(mode(state)).toBe(0o700);
    const all = modes(state);
    for (const f of ['identity.json', 'collector-ca.pem', 'integrity.json']) expect(all.get(f), f).toBe(0o600);
    expect(all.get('logs')).toBe(0o700);
    for (const [name, m] of all) {
      if (statSync(join(state, name)).isDirectory()) expect(m & 0o077, `${name} (dir)`).toBe(0);
      else expect(m & 0o077, name).toBe(0);
    }
    expect([...all.keys()].some((n) => n.startsWith('logs/') && n.endsWith('.log'))).toBe(true);
  }, 120_000);
});

describe('agent watchdog', () => {
  it('breaches on memory at once and on CPU only after N consecutive intervals', () => {
    let cpu = 0;
    let rss = 10;
    let now = 0;
    const breaches: WatchdogBreach[] = [];
    const w = new Watchdog((b) => breaches.push(b), { memoryLimitBytes: 100, cpuLimitPercent: 10, strikes: 3, intervalMs: 1000 }, { cpuMicros: () => cpu, rssBytes: () => rss, nowMs: () => now });
    const tick = (cpuMs: number) => ((cpu += cpuMs * 1000), (now += 1000), w.tick());
    tick(500); // 50 %
    tick(500);
    tick(50); // 5 %: the run is broken
    tick(500);
    tick(500);
    expect(breaches).toEqual([]);
    tick(500);
    expect(breaches.map((b) => b.limit)).toEqual(['cpu']);
    expect(Math.round(w.latest().cpuPercent)).toBe(50);
    rss = 101;
    tick(0);
    expect(breaches.map((b) => b.limit)).toEqual(['cpu', 'memory']);
  });

  it('makes a real agent over its memory limit report it and exit non-zero (70) so the service manager restarts it', async () => {
    const dir = tempDir('watchdog');
    const config = join(dir, 'agent.yml');
    writeFileSync(config, 'watchdog:\n  memoryLimitMB: 32\n  intervalSeconds: 1\n');
    const agent = startProc('agent', [CLI, 'agent', 'run', '--config', config, '--collector', collector.agentUrl, '--state', join(dir, 'state'), '--replay', REPLAY_PC, '--ca-pin', collector.caPin!, '--enroll', await createToken(collector.dataDir)]);
    procs.push(agent);
    const id = (await agent.waitFor(/enrolled as (ag_\w+)/))[1]!;
    expect((await agent.exited).code).toBe(70);
    expect(agent.lines.join('\n')).toMatch(/watchdog: over the memory limit/);
    // The notice reached the collector before the exit.
    const { withDb } = await import('../helpers/db.js');
    const notices = withDb(collector.dataDir, (db) => db.prepare("SELECT payload FROM events WHERE agent_id = ? AND kind = 'agent.notice'").all(id) as { payload: string }[]);
    expect(notices.map((n) => (JSON.parse(n.payload) as { notice: string }).notice)).toContain('watchdog.limit');
  }, 30_000);
});
