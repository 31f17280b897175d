/**
 * A device watcher that stopped working becomes AGENT-005 on the collector, and is closed when
 * it works again: a real agent (in process) with the real WindowsDeviceWatcher, enrolled at a
 * real collector over TLS. powershell.exe is replaced by a double of its I/O: while the file
 * `healthy` does not exist it behaves like a watch script that failed under `-Command -` —
 * no ready line, no output, no exit (PowerShell goes back to reading stdin); once the file
 * exists it prints the ready line and heartbeats as the watch script does.
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../agent/agent.js';
import { collectorTrust, saveIdentity } from '../../agent/identity.js';
import { enroll } from '../../agent/link/enroll.js';
import type { PowerShellProcess } from '../../agent/probes/powershell-host.js';
import { WindowsDeviceWatcher } from '../../agent/watchers/windows-devices.js';
import { silentLogger } from '../../src/shared/log.js';
import { tempDir } from '../helpers/processes.js';
import { newToken, REPLAY_PC, startTlsCollector } from './helpers.js';
import type { TlsCollector } from './helpers.js';

let collector: TlsCollector;
const spawned: PowerShellProcess[] = [];
beforeAll(async () => {
  collector = await startTlsCollector();
});
afterAll(async () => {
  for (const p of spawned) p.kill();
  await collector?.close();
});

function watchDouble(healthyFlag: string) {
  return (): PowerShellProcess => {
    const code = `if (require('node:fs').existsSync(${JSON.stringify(healthyFlag)})) { process.stdout.write('{"kind":"ready"}\\r\\n'); setInterval(() => process.stdout.write('{"kind":"heartbeat"}\\r\\n'), 50); } process.stdin.resume();`;
    const p = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'pipe'] });
    spawned.push(p);
    return p;
  };
}

describe('a dead device watcher is a finding the administrator sees', () => {
  it('three failed starts open AGENT-005 for the watcher; ready again closes it', async () => {
    const dir = tempDir('watcher-down');
    const stateDir = join(dir, 'state');
    const healthy = join(dir, 'healthy');
    const wsOptions = await collectorTrust({ url: collector.agentUrl, stateDir, pin: collector.tls.caFingerprint });
    const e = await enroll(collector.agentUrl, await newToken(collector), { platform: 'windows', hostname: 'watch-pc', release: 'test' }, 'test', wsOptions);
    const identity = { ...e, collectorUrl: collector.agentUrl, enrolledAt: new Date().toISOString() };
    saveIdentity(stateDir, identity);
    const watcher = new WindowsDeviceWatcher({ spawn: watchDouble(healthy), readyTimeoutMs: 2_000, silenceTimeoutMs: 10_000, backoffMs: 20, maxBackoffMs: 100 });
    const agent = new Agent({ identity, stateDir, log: silentLogger(), replayDir: REPLAY_PC, skipInitialRun: true, wsOptions, watchdog: false, watchers: [watcher] });
    await agent.start();
    const violation = async () => (await collector.store.listViolations({ agentId: e.agentId, ruleId: 'AGENT-005' })).find((v) => v.subject === 'windows-devices');

    await expect.poll(async () => (await violation())?.state, { timeout: 60_000 }).toBe('open');
    const v = (await violation())!;
    expect(v.title.ja).toBe('エージェントの機器監視が停止している');
    expect(v.reason).toMatch(/not ready within 2000 ms/);
    expect(watcher.spawnCount).toBeGreaterThanOrEqual(3);

    writeFileSync(healthy, '');
    await expect.poll(async () => (await violation())?.state, { timeout: 60_000 }).toBe('closed');
    expect(existsSync(healthy)).toBe(true);
    await agent.stop();
  }, 180_000);
});
