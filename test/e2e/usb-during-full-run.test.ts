/**
 * A USB stick plugged in while the agent is in the middle of a full run is judged at once, not
 * after the run: a real agent process (test/helpers/procs/usb-agent.ts) starts its first full run
 * whose software check is held; a recorded udev `add` stream arrives; USB-001 is stored in the
 * collector while the software check is still held. When the run then finishes it reuses the
 * fresh USB result: one USB-001, never a second. The policy comes with the enrollment reply:
 * the agent's first policy version is the collector's, and no violation is judged against the
 * product defaults.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector } from '../../src/collector/collector.js';
import type { RunningCollector } from '../../src/collector/collector.js';
import { createEnrollmentToken } from '../../src/collector/tokens.js';
import { silentLogger } from '../../src/shared/log.js';
import { PolicyDocument } from '../../src/shared/protocol/messages.js';
import { initTls } from '../../src/shared/tls/material.js';
import { waitUntil } from '../helpers/db.js';
import { ROOT, startProc, tempDir } from '../helpers/processes.js';
import type { Proc } from '../helpers/processes.js';

const SOURCE = join(ROOT, 'test/fixtures/replay/linux/ubuntu2404-gnome-clamav');
const UDEV = join(ROOT, 'test/fixtures/replay/linux/udev-monitor/stick-plug-unplug.txt');
const USB_AGENT = join(ROOT, 'dist', 'test', 'usb-agent.mjs');
const STICK = '0951:1666:E0D55EA573DCF450E97C0F9A';

let collector: RunningCollector;
let agent: Proc;
let agentId: string;
const control = tempDir('usb-run-control');
const recording = join(tempDir('usb-run'), 'pc');
let pluggedIn: string;

/** Plug the stick: it appears in the recorded sysfs, then the udev stream prints its `add` events. */
function plug(): void {
  writeFileSync(join(recording, 'usb.devices.out'), pluggedIn);
  writeFileSync(join(control, 'plug'), '');
}

/** Poll an asynchronous condition until it holds (generous deadline, no fixed sleep). */
async function eventually(cond: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function usbOpened(): Promise<number> {
  const events = await collector.store.listEvents(agentId, 0, 100_000);
  return events.filter((e) => e.event.kind === 'violation.opened' && e.event.violation.ruleId === 'USB-001' && e.event.violation.subject === STICK).length;
}

beforeAll(async () => {
  cpSync(SOURCE, recording, { recursive: true });
  pluggedIn = readFileSync(join(recording, 'usb.devices.out'), 'utf8');
  writeFileSync(join(recording, 'usb.devices.out'), JSON.stringify((JSON.parse(pluggedIn) as string[]).filter((d) => !d.startsWith('3-2'))));

  const dataDir = tempDir('usb-run-collector');
  const { material: tls } = await initTls(dataDir);
  collector = await startCollector({ dataDir, log: silentLogger(), plugins: [], tls });
  collector.setPolicyProvider(async () => ({ policy: PolicyDocument.parse({ version: 7 }) }));
  const { token } = await createEnrollmentToken(collector.store, { segment: 'lgwan', expiresInMs: 60_000, singleUse: true });
  agent = startProc('usb-agent', [USB_AGENT, '--collector', collector.agentUrl, '--enroll', token, '--state', join(tempDir('usb-run-agent'), 'state'), '--ca-pin', tls.caFingerprint, '--replay', recording, '--udev-recording', UDEV, '--control', control]);
  await waitUntil(() => collector.gateway.connectedAgents.length === 1, 30_000, 'the agent to connect');
  agentId = collector.gateway.connectedAgents[0]!;
});

afterAll(async () => {
  writeFileSync(join(control, 'release'), '');
  await agent?.stop();
  await collector?.close();
});

describe('a USB event during a full run', () => {
  it('is judged and stored while the full run is still held in another check', async () => {
    await agent.waitFor(/^dpkg-status held$/, 30_000);
    // The start run judged usb-media first (no stick yet): its facts are stored, with the policy of the enrollment reply.
    await eventually(async () => (await collector.store.latestFacts(agentId)).some((f) => f.checkId === 'usb-media'), 'usb-media facts');
    plug();
    await eventually(async () => (await usbOpened()) === 1, 'USB-001 stored');
    expect(agent.lines).not.toContain('dpkg-status released');
    const events = await collector.store.listEvents(agentId, 0, 100_000);
    const opened = events.find((e) => e.event.kind === 'violation.opened' && e.event.violation.ruleId === 'USB-001');
    expect(opened?.event).toMatchObject({ policyVersion: 7 });
    // Every result the agent sent was judged by the collector's policy, none by the defaults (version 0).
    expect(events.filter((e) => e.event.kind === 'results').map((e) => (e.event as { policyVersion: number }).policyVersion)).not.toContain(0);
  });

  it('the full run then finishes with the fresh USB result: still one USB-001', async () => {
    writeFileSync(join(control, 'release'), '');
    await agent.waitFor(/^dpkg-status released$/, 30_000);
    await eventually(async () => (await collector.store.latestFacts(agentId)).some((f) => f.checkId === 'beyond'), 'the last check of the full run');
    expect(await usbOpened()).toBe(1);
    expect((await collector.store.listViolations({ agentId, ruleId: 'USB-001', state: 'open' })).filter((v) => v.subject === STICK)).toHaveLength(1);
  });
});
