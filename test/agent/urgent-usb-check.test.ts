/**
 * A USB event during a full run is judged before the full run's slow check goes on: a real
 * agent (in process, enrolled at a real collector over TLS) judges a recorded Ubuntu PC. A
 * helpdesk-style full run of the software check starts; its first probe call is where the stick
 * is plugged in and the watcher fires, and that call returns only once the USB check has begun
 * reading sysfs — so the software check wants its next probe exactly while the USB check is
 * half-way. Asserted is the order, not time: every probe call of the USB check, and USB-001 in
 * the outbox, come before the software check's next probe call.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import cron from 'node-cron';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Agent } from '../../agent/agent.js';
import { definition as software } from '../../agent/checks/software/index.js';
import { collectorTrust, saveIdentity } from '../../agent/identity.js';
import { enroll } from '../../agent/link/enroll.js';
import { ReplayProbes } from '../../agent/probes/replay.js';
import type { ProbeOutcome } from '../../agent/probes/types.js';
import type { Trigger, Watcher } from '../../agent/watchers/types.js';
import { silentLogger } from '../../src/shared/log.js';
import { tempDir } from '../helpers/processes.js';
import { newToken, REPLAY_PC, startTlsCollector } from '../security/helpers.js';
import type { TlsCollector } from '../security/helpers.js';

const STICK = '0951:1666:E0D55EA573DCF450E97C0F9A';
/** Probe keys of the usb-media check (agent/checks/usb-media/linux.ts). */
const USB_KEY = /^(usb\.|block\.|mountinfo$|modprobe\.|module\.|usbguard\.|sysfs\.bus$)/;

interface Call {
  key: string;
  /** Whether the outbox held USB-001 for the stick when this call started. */
  usbStored: boolean;
}

/** The recorded PC; the first non-USB probe call plugs the stick in and returns only once the USB check has started. */
class PluggingProbes extends ReplayProbes {
  readonly calls: Call[] = [];
  /** Set when the agent's outbox took USB-001 for the stick. */
  usbStored = false;
  private plugged = false;
  private usbStarted!: () => void;
  private readonly usbStartedP = new Promise<void>((r) => (this.usbStarted = r));

  constructor(
    dir: string,
    private readonly plug: () => void,
  ) {
    super(dir);
  }

  private async before(key: string): Promise<void> {
    this.calls.push({ key, usbStored: this.usbStored });
    if (USB_KEY.test(key)) return this.usbStarted();
    if (this.plugged) return;
    this.plugged = true;
    this.plug();
    await this.usbStartedP;
  }

  override async readFile(key: string): Promise<ProbeOutcome> {
    await this.before(key);
    return super.readFile(key);
  }
  override async listDir(key: string): Promise<ProbeOutcome> {
    await this.before(key);
    return super.listDir(key);
  }
  override async exec(key: string): Promise<ProbeOutcome> {
    await this.before(key);
    return super.exec(key);
  }
}

/** Stands for the udev watcher: fires usb-media when told to. */
class PlugWatcher implements Watcher {
  readonly name = 'test-plug';
  trigger?: Trigger;
  /** How often the software check had prepared (parsed its catalogue) when this watcher started. */
  preparedAtStart?: number;
  /** The cron schedules set up when this watcher started. */
  scheduledAtStart?: number;
  async start(trigger: Trigger): Promise<void> {
    this.preparedAtStart = prepare.mock.calls.length;
    this.scheduledAtStart = cron.getTasks().size;
    this.trigger = trigger;
  }
  async stop(): Promise<void> {}
}

const prepare = vi.spyOn(software as { prepare: () => void }, 'prepare');
let collector: TlsCollector;
let agent: Agent;
let probes: PluggingProbes;
let plugWatcher: PlugWatcher;
let agentId: string;

beforeAll(async () => {
  collector = await startTlsCollector();
  const recording = join(tempDir('urgent-usb'), 'pc');
  cpSync(REPLAY_PC, recording, { recursive: true });
  const pluggedIn = readFileSync(join(recording, 'usb.devices.out'), 'utf8');
  writeFileSync(join(recording, 'usb.devices.out'), JSON.stringify((JSON.parse(pluggedIn) as string[]).filter((d) => !d.startsWith('3-2'))));
  const watcher = (plugWatcher = new PlugWatcher());
  probes = new PluggingProbes(recording, () => {
    writeFileSync(join(recording, 'usb.devices.out'), pluggedIn);
    watcher.trigger!('usb-media', 'udev add 3-2 0951:1666 serial E0D55EA573DCF450E97C0F9A');
  });
  const stateDir = join(tempDir('urgent-usb-agent'), 'state');
  const wsOptions = await collectorTrust({ url: collector.agentUrl, stateDir, pin: collector.tls.caFingerprint });
  const e = await enroll(collector.agentUrl, await newToken(collector), { platform: 'linux', hostname: 'urgent-pc', release: 'test' }, 'test', wsOptions);
  agentId = e.agentId;
  const identity = { ...e, collectorUrl: collector.agentUrl, enrolledAt: new Date().toISOString() };
  saveIdentity(stateDir, identity);
  agent = new Agent({ identity, stateDir, log: silentLogger(), probes, watchers: [watcher], skipInitialRun: true, wsOptions, watchdog: false });
  const append = agent.outbox.append.bind(agent.outbox);
  agent.outbox.append = (events) => {
    if (events.some((e) => e.kind === 'violation.opened' && e.violation.ruleId === 'USB-001' && e.violation.subject === STICK)) probes.usbStored = true;
    return append(events);
  };
  await agent.start();
});

afterAll(async () => {
  await agent?.stop();
  await collector?.close();
});

describe('a USB event during a full run with a slow check', () => {
  it('finds the catalogues parsed and the schedules set: the agent did both before its watchers listened', () => {
    expect(plugWatcher.preparedAtStart).toBe(1);
    // The hourly and the daily schedule.
    expect(plugWatcher.scheduledAtStart).toBe(2);
  });

  it('runs the USB check and stores its verdict before the slow check makes its next probe call', async () => {
    agent.enqueue(['software'], 'scan');
    await agent.idle();
    const keys = probes.calls.map((c) => (USB_KEY.test(c.key) ? 'usb' : 'software'));
    const firstUsb = keys.indexOf('usb');
    const lastUsb = keys.lastIndexOf('usb');
    // The software check's first call plugged the stick; it had more calls to make after it.
    expect(firstUsb).toBe(1);
    expect(keys.slice(lastUsb + 1)).toContain('software');
    // No software call among the USB check's calls: it waited until the USB check was done …
    expect(keys.slice(firstUsb, lastUsb + 1).every((k) => k === 'usb')).toBe(true);
    // … and the USB check's verdict was in the outbox when the software check went on.
    const next = probes.calls[lastUsb + 1]!;
    expect(next.usbStored).toBe(true);
    expect(probes.calls.slice(0, lastUsb + 1).some((c) => c.usbStored)).toBe(false);
    await expect.poll(async () => (await collector.store.listViolations({ agentId, ruleId: 'USB-001' })).filter((v) => v.subject === STICK && v.state === 'open').length, { timeout: 30_000 }).toBe(1);
  });
});
