/**
 * The USB latency benches' shared setup: a real collector (TLS as shipped) and the USB test agent
 * (`dist/test/usb-agent.mjs`, the real agent with a stand-in for the OS's device events) enrolled
 * into it with the CA pinned, ready once its first evaluation is stored.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startCollector } from '../../src/collector/collector.js';
import type { RunningCollector } from '../../src/collector/collector.js';
import { createEnrollmentToken } from '../../src/collector/tokens.js';
import { silentLogger } from '../../src/shared/log.js';
import { initTls } from '../../src/shared/tls/material.js';
import { waitFor } from './common.js';

// Bundled into dist/bench/*.mjs (bench/run-all.mjs): the repository is two levels up from there.
const USB_AGENT = join(new URL('../..', import.meta.url).pathname, 'dist', 'test', 'usb-agent.mjs');

export interface UsbAgentRun {
  collector: RunningCollector;
  agentId: string;
  /** performance.now() when the collector's bus next fires `kind` for USB-001 (after the commit). */
  nextUsb001(kind: 'violation.opened' | 'violation.closed'): Promise<number>;
  stop(): Promise<void>;
}

export async function startUsbAgentRun(scratch: string, agentArgs: readonly string[]): Promise<UsbAgentRun> {
  const { material: tls } = await initTls(join(scratch, 'collector'));
  const collector = await startCollector({ dataDir: join(scratch, 'collector'), log: silentLogger(), plugins: [], tls });
  const { token } = await createEnrollmentToken(collector.store, { segment: 'lgwan', expiresInMs: 60_000, singleUse: true });
  const agent = spawn(process.execPath, [USB_AGENT, '--collector', collector.agentUrl, '--enroll', token, '--state', join(scratch, 'agent'), '--ca-pin', tls.caFingerprint, ...agentArgs], { stdio: 'ignore' });
  const stop = async () => {
    agent.kill('SIGKILL');
    await collector.close();
  };
  let agentId = '';
  const ready = await waitFor(async () => {
    agentId = collector.gateway.connectedAgents[0] ?? '';
    return agentId ? (await collector.store.latestFacts(agentId)).length >= 6 : false;
  }, 120_000);
  if (!ready) {
    await stop();
    throw new Error('the agent did not deliver its first evaluation');
  }
  const nextUsb001 = (kind: string) =>
    new Promise<number>((res) => {
      const f = (e: { event: { kind: string; ruleId?: string; violation?: { ruleId: string } } }) => {
        if (e.event.kind === kind && (e.event.violation?.ruleId ?? e.event.ruleId) === 'USB-001') {
          collector.bus.off('event', f as never);
          res(performance.now());
        }
      };
      collector.bus.on('event', f as never);
    });
  return { collector, agentId, nextUsb001, stop };
}
