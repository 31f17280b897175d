/**
 * The agent daemon: judges this PC on a schedule, at start, on wake and whenever a watcher
 * sees a change (USB plugged in, software installed); keeps every finding in the durable
 * outbox; streams it to the collector; answers helpdesk scans and applies pushed policies.
 */
import { existsSync, readFileSync, renameSync, watch, writeFileSync } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { hostname, release, arch } from 'node:os';
import { join } from 'node:path';
import cron from 'node-cron';
import type { ScheduledTask } from 'node-cron';
import type { Logger } from '../src/shared/log.js';
import { PolicyDocument } from '../src/shared/protocol/messages.js';
import type { CheckId, NewAgentEvent, OsInfo, ScanRequestFrame } from '../src/shared/protocol/messages.js';
import { CHECKS } from './checks/registry.js';
import { emptyFindingsState, findingsToEvents } from './findings.js';
import type { FindingsState } from './findings.js';
import { ensureStateDir } from './identity.js';
import type { IdentityFile } from './identity.js';
import { AgentLink } from './link/link.js';
import type { LinkOptions } from './link/link.js';
import { localCheck, productCatalogue } from './local-check.js';
import { FileCheckMemory } from './memory.js';
import { Outbox } from './outbox/outbox.js';
import { LiveProbes } from './probes/live.js';
import { ReplayProbes } from './probes/replay.js';
import type { Probes } from './probes/types.js';
import type { Watcher } from './watchers/types.js';

export const AGENT_VERSION = '0.1.0';

export interface AgentOptions {
  identity: IdentityFile;
  stateDir: string;
  log: Logger;
  replayDir?: string;
  schedule?: string;
  outboxCapBytes?: number;
  watchers?: Watcher[];
  wsOptions?: LinkOptions['wsOptions'];
  /** Start without running the checks at once (tests that drive the agent themselves). */
  skipInitialRun?: boolean;
}

export function describeOs(probes: Probes): OsInfo {
  return { platform: probes.platform, hostname: hostname(), release: release(), arch: arch() };
}

export class Agent {
  readonly outbox: Outbox;
  readonly link: AgentLink;
  private readonly probes: Probes;
  private readonly memory: FileCheckMemory;
  private policy: PolicyDocument;
  private findings: FindingsState;
  private queue: { checks: Set<CheckId>; scans: ScanRequestFrame[]; force: boolean } = { checks: new Set(), scans: [], force: false };
  private running: Promise<void> | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private cronTask: ScheduledTask | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private replayWatcher: FSWatcher | undefined;
  private stopped = false;

  constructor(private readonly opts: AgentOptions) {
    ensureStateDir(opts.stateDir);
    this.probes = opts.replayDir ? new ReplayProbes(opts.replayDir) : new LiveProbes();
    this.memory = new FileCheckMemory(join(opts.stateDir, 'memory.json'));
    this.outbox = Outbox.open(join(opts.stateDir, 'outbox'), { capBytes: opts.outboxCapBytes });
    this.policy = this.loadJson('policy.json', (v) => PolicyDocument.parse(v)) ?? PolicyDocument.parse({ version: 0 });
    this.findings = this.loadJson('findings.json', (v) => v as FindingsState) ?? emptyFindingsState();
    this.link = new AgentLink({
      url: opts.identity.collectorUrl,
      identity: opts.identity,
      outbox: this.outbox,
      os: { ...describeOs(this.probes), ...(opts.replayDir ? { name: `replay of ${opts.replayDir}` } : {}) },
      agentVersion: AGENT_VERSION,
      policyVersion: () => this.policy.version,
      log: opts.log,
      ...(opts.wsOptions ? { wsOptions: opts.wsOptions } : {}),
    });
    this.link.on('scan', (req) => this.enqueue(req.checks.length ? req.checks : CHECKS.map((c) => c.id), `scan ${req.requestId}`, req));
    this.link.on('policy', (push) => this.applyPolicy(push.policy));
  }

  private loadJson<T>(name: string, parse: (v: unknown) => T): T | undefined {
    const path = join(this.opts.stateDir, name);
    if (!existsSync(path)) return undefined;
    try {
      return parse(JSON.parse(readFileSync(path, 'utf8')));
    } catch (err) {
      this.opts.log.warn(`ignoring damaged ${path}`, { error: (err as Error).message });
      return undefined;
    }
  }

  private saveJson(name: string, value: unknown): void {
    const path = join(this.opts.stateDir, name);
    writeFileSync(`${path}.tmp`, JSON.stringify(value), { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
  }

  async start(): Promise<void> {
    this.append([{ at: new Date().toISOString(), kind: 'agent.notice', notice: 'started', detail: { version: AGENT_VERSION, pid: process.pid, replay: this.opts.replayDir ?? null } }]);
    this.link.start();
    for (const w of this.opts.watchers ?? []) {
      try {
        await w.start((checkId, reason) => this.enqueue([checkId], reason));
        this.opts.log.info(`watcher started: ${w.name}`);
      } catch (err) {
        // A watcher that cannot start leaves the schedule to cover its check.
        this.opts.log.warn(`watcher ${w.name} could not start`, { error: (err as Error).message });
      }
    }
    if (this.opts.replayDir) {
      // Replaying: a changed recording is what a device event is on a live PC.
      this.replayWatcher = watch(this.opts.replayDir, () => this.enqueue(CHECKS.map((c) => c.id), 'recording changed'));
    }
    this.cronTask = cron.schedule(this.opts.schedule ?? '0 * * * *', () => this.enqueue(CHECKS.map((c) => c.id), 'schedule'));
    let last = Date.now();
    this.wakeTimer = setInterval(() => {
      const now = Date.now();
      // The timer fires every 15 s; a much longer gap means the PC slept.
      if (now - last > 75_000) this.enqueue(CHECKS.map((c) => c.id), 'wake from sleep');
      last = now;
    }, 15_000);
    this.wakeTimer.unref();
    if (!this.opts.skipInitialRun) this.enqueue(CHECKS.map((c) => c.id), 'start');
  }

  /** Run these checks soon (triggers within 150 ms are coalesced). */
  enqueue(checks: readonly CheckId[], reason: string, scan?: ScanRequestFrame): void {
    if (this.stopped) return;
    for (const c of checks) this.queue.checks.add(c);
    if (scan) {
      this.queue.scans.push(scan);
      this.queue.force = true;
    }
    this.opts.log.debug(`checks queued: ${checks.join(', ')} (${reason})`);
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.drain(), scan ? 0 : 150);
  }

  private async drain(): Promise<void> {
    if (this.running) {
      await this.running;
      if (this.queue.checks.size > 0) return this.drain();
      return;
    }
    const { checks, scans, force } = this.queue;
    this.queue = { checks: new Set(), scans: [], force: false };
    if (checks.size === 0) return;
    this.running = this.runChecks([...checks], scans, force).finally(() => (this.running = undefined));
    await this.running;
    if (this.queue.checks.size > 0) await this.drain();
  }

  private async runChecks(checks: CheckId[], scans: ScanRequestFrame[], force: boolean): Promise<void> {
    const catalogue = productCatalogue();
    const report = await localCheck({ probes: this.probes, checks, policy: this.policy, segment: this.link.segment ?? this.opts.identity.segment, memory: this.memory, catalogue, log: this.opts.log });
    const { events, state } = findingsToEvents(report, catalogue.rules, this.findings, { force, exceptions: this.policy.exceptions });
    for (const scan of scans) {
      events.push({
        at: new Date().toISOString(),
        kind: 'scan.result',
        requestId: scan.requestId,
        checks: report.checks
          .filter((c) => scan.checks.length === 0 || scan.checks.includes(c.id))
          .map((c) => ({ checkId: c.id, status: c.status, failed: c.rules.filter((r) => r.result === 'fail').length, ...(c.reason ? { reason: c.reason.slice(0, 1000) } : {}) })),
      });
    }
    this.append(events);
    this.findings = state;
    this.saveJson('findings.json', state);
    this.opts.log.debug(`checks done: ${checks.join(', ')}`, { events: events.length });
  }

  private applyPolicy(policy: PolicyDocument): void {
    this.policy = policy;
    this.saveJson('policy.json', policy);
    this.append([{ at: new Date().toISOString(), kind: 'policy.applied', version: policy.version }]);
    this.opts.log.info(`policy ${policy.version} applied`);
    this.enqueue(CHECKS.map((c) => c.id), `policy ${policy.version}`);
  }

  private append(events: NewAgentEvent[]): void {
    if (events.length === 0) return;
    this.outbox.append(events);
    this.link.notify();
  }

  /** Wait until the queued check runs are done (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running || this.queue.checks.size > 0) {
      if (this.running) await this.running;
      else await this.drain();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.debounce);
    clearInterval(this.wakeTimer);
    await this.cronTask?.stop();
    this.replayWatcher?.close();
    for (const w of this.opts.watchers ?? []) await w.stop().catch(() => undefined);
    await this.running;
    await this.link.stop();
    this.outbox.close();
  }
}
