/**
 * The path every USB violation travels: a real agent process judging a (replayed) Linux PC,
 * a stick is plugged in (the recording changes, as a udev event would make the agent look
 * again), the violation USB-001 is stored in the collector with its clauses; once the
 * medium is registered in the 媒体管理台帳 (policy list registeredMedia) it closes and no
 * new violation opens when it is plugged in again; a second stick of the same model with
 * another serial number is still unregistered.
 */
import { cpSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector } from '../../src/collector/collector.js';
import type { RunningCollector } from '../../src/collector/collector.js';
import { createEnrollmentToken } from '../../src/collector/tokens.js';
import { silentLogger } from '../../src/shared/log.js';
import { PolicyDocument } from '../../src/shared/protocol/messages.js';
import { initTls } from '../../src/shared/tls/material.js';
import { waitUntil } from '../helpers/db.js';
import { CLI, ROOT, startProc, tempDir } from '../helpers/processes.js';
import type { Proc } from '../helpers/processes.js';

const SOURCE = join(ROOT, 'test/fixtures/replay/linux/ubuntu2404-gnome-clamav');
const STICK = '0951:1666:E0D55EA573DCF450E97C0F9A';
/** Another stick of the same model (same vendor and product id) with its own serial number. */
const TWIN = '0951:1666:0000AAAA1111BBBB2222CCCC';

let collector: RunningCollector;
let agent: Proc;
let agentId: string;
let recording: string;
let policy = PolicyDocument.parse({ version: 1 });
let pluggedIn: string;
let unplugged: string;

function setUsbDevices(json: string): void {
  writeFileSync(join(recording, 'usb.devices.out'), json);
}

async function violations(state?: 'open' | 'closed', subject = STICK) {
  return (await collector.store.listViolations({ agentId, ruleId: 'USB-001', ...(state ? { state } : {}) })).filter((v) => v.subject === subject);
}

async function openedEvents(): Promise<number> {
  const events = await collector.store.listEvents(agentId, 0, 100_000);
  return events.filter((e) => e.event.kind === 'violation.opened' && e.event.violation.ruleId === 'USB-001').length;
}

beforeAll(async () => {
  recording = join(tempDir('usb-e2e'), 'pc');
  cpSync(SOURCE, recording, { recursive: true });
  pluggedIn = readFileSync(join(recording, 'usb.devices.out'), 'utf8');
  unplugged = JSON.stringify((JSON.parse(pluggedIn) as string[]).filter((d) => !d.startsWith('3-2')));
  setUsbDevices(unplugged);

  const dataDir = tempDir('usb-e2e-collector');
  const { material: tls } = await initTls(dataDir);
  collector = await startCollector({ dataDir, log: silentLogger(), plugins: [], tls });
  collector.setPolicyProvider(async () => ({ policy }));
  const { token } = await createEnrollmentToken(collector.store, { segment: 'lgwan', expiresInMs: 60_000, singleUse: true });
  agent = startProc('agent', [CLI, 'agent', 'run', '--collector', collector.agentUrl, '--enroll', token, '--state', join(tempDir('usb-e2e-agent'), 'state'), '--replay', recording, '--ca-pin', tls.caFingerprint]);
  await waitUntil(() => collector.gateway.connectedAgents.length === 1, 20_000, 'the agent to connect');
  agentId = collector.gateway.connectedAgents[0]!;
  // The first full evaluation has arrived (the "no violation" test below means nothing before it).
  await until('the first usb-media facts', async () => (await usbDevicesSeen()) !== undefined);
});

/** The fingerprints of the devices in the agent's latest usb-media facts (undefined before the first run). */
async function usbDevicesSeen(): Promise<string[] | undefined> {
  const usb = (await collector.store.latestFacts(agentId)).find((f) => f.checkId === 'usb-media');
  return usb ? ((usb.facts.devices as { fingerprint: string }[] | undefined) ?? []).map((d) => d.fingerprint).sort() : undefined;
}

async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

afterAll(async () => {
  await agent?.stop();
  await collector?.close();
});

describe('unregistered USB medium → violation in the collector (real agent process)', () => {
  it('stores no USB violation while no stick is attached', async () => {
    expect(await violations()).toEqual([]);
  });

  it('stores USB-001 with the fingerprint, the clauses and the facts when an unregistered stick is plugged in', async () => {
    setUsbDevices(pluggedIn);
    let open: Awaited<ReturnType<typeof violations>> = [];
    const start = Date.now();
    while (open.length === 0 && Date.now() - start < 20_000) {
      open = await violations('open');
      if (open.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    expect(open).toHaveLength(1);
    const v = open[0]!;
    expect(v).toMatchObject({ checkId: 'usb-media', ruleId: 'USB-001', subject: STICK, state: 'open' });
    expect(v.clauses.length).toBeGreaterThan(0);
    expect(v.clauses.every((c) => /^\d{3}$/.test(c.source) && c.ref.length > 0)).toBe(true);
    expect(v.title.ja.length).toBeGreaterThan(0);
    expect(v.facts).toMatchObject({ vendorId: '0951', productId: '1666', serial: 'E0D55EA573DCF450E97C0F9A' });
  });

  it('closes the violation once the medium is registered in the 媒体管理台帳, and opens none when it is plugged in again', async () => {
    policy = PolicyDocument.parse({ version: 2, lists: { registeredMedia: [STICK] } });
    await collector.pushPolicy(agentId);
    let closed: Awaited<ReturnType<typeof violations>> = [];
    const start = Date.now();
    while (closed.length === 0 && Date.now() - start < 20_000) {
      closed = await violations('closed');
      if (closed.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    expect(closed).toHaveLength(1);
    await until('the collector to record policy version 2 for the agent', async () => (await collector.store.getAgent(agentId))?.policyVersion === 2);

    setUsbDevices(unplugged);
    await until('the agent to see the stick removed', async () => (await usbDevicesSeen())?.length === 0);
    setUsbDevices(pluggedIn);
    await until('the agent to see the stick again', async () => (await usbDevicesSeen())?.includes(STICK) === true);
    expect(await openedEvents()).toBe(1);
    expect(await violations('open')).toEqual([]);
  });

  it('opens USB-001 for a second stick of the registered model with another serial number, and only for it', async () => {
    // The same Kingston model on port 3-3: the recorded stick's sysfs files with another serial.
    for (const f of readdirSync(recording).filter((n) => n.startsWith('usb.3-2'))) cpSync(join(recording, f), join(recording, f.replace('usb.3-2', 'usb.3-3')));
    writeFileSync(join(recording, 'usb.3-3.serial.out'), `${TWIN.split(':')[2]}\n`);
    setUsbDevices(JSON.stringify([...(JSON.parse(pluggedIn) as string[]), '3-3', '3-3:1.0']));
    await until('USB-001 for the second stick', async () => (await violations('open', TWIN)).length === 1);
    expect(await usbDevicesSeen()).toEqual([STICK, TWIN].sort());
    expect(await violations('open')).toEqual([]);
  });
});
