/**
 * The path every USB violation travels: a real agent process judging a (replayed) Linux PC,
 * a stick is plugged in (the recording changes, as a udev event would make the agent look
 * again), the violation USB-001 is stored in the collector with its clauses; once the
 * medium is registered in the 媒体管理台帳 (policy list registeredMedia) it closes and no
 * new violation opens when it is plugged in again.
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
import { CLI, ROOT, startProc, tempDir } from '../helpers/processes.js';
import type { Proc } from '../helpers/processes.js';

const SOURCE = join(ROOT, 'test/fixtures/replay/linux/ubuntu2404-gnome-clamav');
const STICK = '0951:1666:E0D55EA573DCF450E97C0F9A';

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

async function violations(state?: 'open' | 'closed') {
  return (await collector.store.listViolations({ agentId, ruleId: 'USB-001', ...(state ? { state } : {}) })).filter((v) => v.subject === STICK);
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
  // The first full evaluation has arrived.
  const start = Date.now();
  while (Date.now() - start < 20_000) {
    const facts = await collector.store.latestFacts(agentId);
    if (facts.some((f) => f.checkId === 'usb-media')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
});

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
    expect((await collector.store.getAgent(agentId))?.policyVersion).toBe(2);

    setUsbDevices(unplugged);
    await new Promise((r) => setTimeout(r, 1000));
    setUsbDevices(pluggedIn);
    await new Promise((r) => setTimeout(r, 2000));
    expect(await openedEvents()).toBe(1);
    expect(await violations('open')).toEqual([]);
  });
});
