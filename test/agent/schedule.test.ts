/**
 * The agent's schedules run through node-cron: a real agent (in process, enrolled at a real
 * collector over TLS, judging a recorded PC) with a schedule of every second enqueues its
 * routine checks from the schedule, and stops doing so once stopped.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Agent } from '../../agent/agent.js';
import { collectorTrust, saveIdentity } from '../../agent/identity.js';
import { enroll } from '../../agent/link/enroll.js';
import { ReplayProbes } from '../../agent/probes/replay.js';
import { silentLogger } from '../../src/shared/log.js';
import { tempDir } from '../helpers/processes.js';
import { newToken, REPLAY_PC, startTlsCollector } from '../security/helpers.js';
import type { TlsCollector } from '../security/helpers.js';

let collector: TlsCollector;
let agent: Agent;

beforeAll(async () => {
  collector = await startTlsCollector();
  const stateDir = join(tempDir('schedule-agent'), 'state');
  const wsOptions = await collectorTrust({ url: collector.agentUrl, stateDir, pin: collector.tls.caFingerprint });
  const e = await enroll(collector.agentUrl, await newToken(collector), { platform: 'linux', hostname: 'schedule-pc', release: 'test' }, 'test', wsOptions);
  const identity = { ...e, collectorUrl: collector.agentUrl, enrolledAt: new Date().toISOString() };
  saveIdentity(stateDir, identity);
  // node-cron's six-field form: every second.
  agent = new Agent({ identity, stateDir, log: silentLogger(), probes: new ReplayProbes(REPLAY_PC), skipInitialRun: true, wsOptions, watchdog: false, schedule: '* * * * * *' });
});

afterAll(async () => {
  await agent?.stop();
  await collector?.close();
});

describe('the scheduled check run', () => {
  it('enqueues the routine checks when the schedule fires, and never after the agent stopped', async () => {
    const enqueue = vi.spyOn(agent, 'enqueue');
    await agent.start();
    const scheduled = () => enqueue.mock.calls.filter(([, reason]) => reason === 'schedule');
    await expect.poll(() => scheduled().length, { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    expect(scheduled()[0]![0]).toContain('antivirus');
    expect(scheduled()[0]![0]).not.toContain('inventory');
    await agent.stop();
    const afterStop = scheduled().length;
    // A stopped schedule has no next firing: two more seconds add nothing.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(scheduled().length).toBe(afterStop);
  });
});
