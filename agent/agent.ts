/**
 * The agent daemon: judges this PC on a schedule, at start, on wake and whenever a watcher
 * sees a change (USB plugged in, software installed); keeps every finding in the durable
 * outbox; streams it to the collector; answers helpdesk scans and applies pushed policies.
 */
import { existsSync, readFileSync, renameSync, watch, writeFileSync } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { hostname, release, arch } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import cron from 'node-cron';
import type { ScheduledTask } from 'node-cron';
import type { Logger } from '../src/shared/log.js';
import { PolicyDocument } from '../src/shared/protocol/messages.js';
import type { CheckId, NewAgentEvent, OsInfo, PolicyPushFrame, ScanRequestFrame } from '../src/shared/protocol/messages.js';
import { policySignatureValid } from '../src/shared/tls/policy-signature.js';
import { policyRefusal } from './policy-guard.js';
import { checksToRerun } from './policy-diff.js';
import { CHECKS } from './checks/registry.js';
import { emptyFindingsState, findingsToEvents } from './findings.js';
import type { FindingsState } from './findings.js';
import { ensureStateDir, forgetSecret, withAgentKey } from './identity.js';
import { ClientCertificate } from './client-cert.js';
import type { IdentityFile } from './identity.js';
import { integrityNotices } from './integrity.js';
import { RunMarker } from './run-marker.js';
import { configDir } from '../src/shared/paths.js';
import { deadLetterViolation } from './link/dead-letter.js';
import { AgentLink } from './link/link.js';
import type { LinkOptions } from './link/link.js';
import { BackgroundFile } from './background-file.js';
import { CheckLanes } from './check-lanes.js';
import { localCheck, productCatalogue } from './local-check.js';
import type { CheckReport } from './local-check.js';
import { FileCheckMemory } from './memory.js';
import { Outbox } from './outbox/outbox.js';
import { UserNotices, platformDelivery } from './notify/index.js';
import { fitEvents } from './outbox/validate.js';
import { liveProbes } from './probes/index.js';
import { enforceUsb, enforcementNotices } from './enforce/index.js';
import type { UsbDevice } from './checks/usb-media/facts.js';
import { ReplayProbes } from './probes/replay.js';
import type { Probes } from './probes/types.js';
import { UrgentGate, YieldingProbes } from './probes/urgent-gate.js';
import type { Watcher } from './watchers/types.js';
import { Updater } from './update/updater.js';
import { Watchdog } from './watchdog.js';
import type { WatchdogBreach, WatchdogOptions } from './watchdog.js';
import packageJson from '../package.json' with { type: 'json' };

/** The product version (package.json), inlined into the bundles at build time by esbuild. */
export const AGENT_VERSION: string = packageJson.version;

export interface AgentOptions {
  identity: IdentityFile;
  stateDir: string;
  log: Logger;
  replayDir?: string;
  /** Probes to judge with instead of the live or replayed ones (test programs). */
  probes?: Probes;
  schedule?: string;
  /** Cron expression of the daily checks (the inventory); default DAILY_SCHEDULE. */
  dailySchedule?: string;
  outboxCapBytes?: number;
  watchers?: Watcher[];
  wsOptions?: LinkOptions['wsOptions'];
  /** The policy that came with the enrollment reply: in force before the first check. */
  initialPolicy?: PolicyPushFrame;
  /** Start without running the checks at once (tests that drive the agent themselves). */
  skipInitialRun?: boolean;
  /** audit (default): report unregistered USB storage; block: also de-authorise it (agent/enforce). */
  usbEnforcement?: 'audit' | 'block';
  /** The configuration file, hashed at start (config.changed). */
  configPath?: string;
  /** The agent's own program file, hashed at start (binary.changed); default: this module's file (the bundle). */
  programPath?: string;
  /** Node and the agent's program file: the Linux inventory runs its library calls in a child process of it. */
  selfCommand?: readonly string[];
  /** Resource limits (agent/watchdog.ts); false = no watchdog. */
  watchdog?: WatchdogOptions | false;
  /** What a watchdog breach ends with, after the notice was sent (default: exit code 70 so the service manager restarts the agent). */
  exit?: (code: number) => void;
  /** After a watchdog stop the collector never heard of: how long the start waits for it to be acknowledged before its checks (default 2 min). */
  reportStopFirstMs?: number;
}

const REPORT_STOP_FIRST_MS = 120_000;

/**
 * How long a check run of the daemon waits for a Windows Update search it started; the search
 * goes on in the background and its result is used by the next run (agent/checks/os-patches/windows-wua.ts).
 */
const DAEMON_WUA_WAIT_SECONDS = 10;
/**
 * How long a check run of the daemon waits for the apt simulation it started (seconds: several
 * on a PC whose package cache is rebuilt): the simulation goes on in the background and the
 * os-patches check runs again when it ends, so the first run after a start is not held up by it.
 */
export const DAEMON_APT_WAIT_SECONDS = 0.5;

/**
 * Checks that run once a day (and at start and on a helpdesk scan), not on the hourly schedule,
 * on wake or after a policy change: the hardware inventory changes rarely and costs a second of
 * CPU or more (agent/checks/inventory).
 */
export const DAILY_CHECKS: readonly CheckId[] = ['inventory'];
/** When the daily checks run (local time of the PC): lunchtime, when office PCs are on. */
const DAILY_SCHEDULE = '17 12 * * *';

/**
 * Checks that a device event asks for and a person waits on (a stick just plugged in): while
 * one runs, the other checks pause at their next probe call.
 */
const URGENT_CHECKS: readonly CheckId[] = ['usb-media'];

export function routineChecks(): CheckId[] {
  return CHECKS.map((c) => c.id).filter((id) => !DAILY_CHECKS.includes(id));
}

/** Exit code after a watchdog breach (EX_SOFTWARE): the service manager restarts the agent. */
export const WATCHDOG_EXIT_CODE = 70;

/** The policy kept in the state directory, with the collector's signature (checked again at every start). */
interface StoredPolicy {
  policy: PolicyDocument;
  signature: string;
}

export function describeOs(probes: Probes): OsInfo {
  return { platform: probes.platform, hostname: hostname(), release: release(), arch: arch() };
}

export class Agent {
  readonly outbox: Outbox;
  readonly link: AgentLink;
  private readonly probes: Probes;
  /** The probes of every check but the urgent ones: they step aside while an urgent check runs (agent/probes/urgent-gate.ts). */
  private readonly yieldingProbes: Probes;
  private readonly urgent = new UrgentGate();
  private readonly memory: FileCheckMemory;
  private policy: PolicyDocument;
  private findings: FindingsState;
  /** findings.json, rewritten after every check off the main thread (a USB event may be waiting). */
  private readonly findingsFile: BackgroundFile;
  /** Each check runs alone, checks never wait for each other (agent/check-lanes.ts). */
  private readonly lanes = new CheckLanes<CheckReport>((id) => this.runCheck(id));
  /** Checks whose next run sends facts and results even when unchanged (a helpdesk scan asked). */
  private readonly forced = new Set<CheckId>();
  private cronTask: ScheduledTask | undefined;
  private dailyTask: ScheduledTask | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private replayWatcher: FSWatcher | undefined;
  private stopped = false;
  private readonly watchdog: Watchdog | undefined;
  /** Desktop notices to the person at the PC and the file `mamori status` reads (agent/notify). */
  readonly userNotices: UserNotices;
  private readonly runMarker: RunMarker;
  /** The integrity check of this start (tests wait for it; a stop does not). */
  integrity: Promise<void> = Promise.resolve();
  /** Aborted at stop: work still running in the background (the integrity check) ends without a result. */
  private readonly stopping = new AbortController();

  constructor(private readonly opts: AgentOptions) {
    ensureStateDir(opts.stateDir);
    this.probes = opts.probes ?? (opts.replayDir ? new ReplayProbes(opts.replayDir) : liveProbes({ programsBelowAgent: true }));
    this.yieldingProbes = new YieldingProbes(this.probes, this.urgent);
    this.memory = new FileCheckMemory(join(opts.stateDir, 'memory.json'));
    this.runMarker = new RunMarker(opts.stateDir);
    this.outbox = Outbox.open(join(opts.stateDir, 'outbox'), { capBytes: opts.outboxCapBytes });
    this.policy = this.loadStoredPolicy();
    this.findings = this.loadJson('findings.json', (v) => v as FindingsState) ?? emptyFindingsState();
    // A failed write (a full disk) must not stop the checks: the state in memory stays right, the next check's write tries again.
    this.findingsFile = new BackgroundFile(join(opts.stateDir, 'findings.json'), { mode: 0o600, onError: (err) => opts.log.error(`cannot write ${join(opts.stateDir, 'findings.json')}`, { error: err.message }) });
    this.watchdog = opts.watchdog === false ? undefined : new Watchdog((b) => void this.onWatchdogBreach(b), opts.watchdog);
    const watchdog = this.watchdog;
    const live = this.probes.mode === 'live';
    this.userNotices = new UserNotices({ stateDir: opts.stateDir, log: opts.log, policy: () => this.policy, catalogue: productCatalogue, append: (e) => this.append(e), notify: live, delivery: live ? platformDelivery(this.probes.platform) : undefined });
    const identity = withAgentKey(opts.stateDir, opts.identity);
    this.link = new AgentLink({
      url: opts.identity.collectorUrl,
      identity,
      clientCert: new ClientCertificate(opts.stateDir, identity.privateKey),
      onKeyRegistered: () => forgetSecret(opts.stateDir),
      onSeqAhead: (collectorLastSeq, ownLastSeq) => {
        opts.log.error(`the collector's resume point ${collectorLastSeq} is above this agent's own counter ${ownLastSeq}: not adopted`);
        this.append([{ at: new Date().toISOString(), kind: 'agent.notice', notice: 'seq.ahead', detail: { collectorLastSeq, ownLastSeq } }]);
      },
      outbox: this.outbox,
      os: { ...describeOs(this.probes), ...(opts.replayDir ? { name: `replay of ${opts.replayDir}` } : {}) },
      agentVersion: AGENT_VERSION,
      policyVersion: () => this.policy.version,
      log: opts.log,
      ...(opts.wsOptions ? { wsOptions: opts.wsOptions } : {}),
      ...(watchdog ? { usage: () => watchdog.latest() } : {}),
    });
    this.link.on('scan', (req) => this.enqueue(req.checks.length ? req.checks : CHECKS.map((c) => c.id), `scan ${req.requestId}`, req));
    this.link.on('policy', (push) => this.applyPolicy(push));
    this.link.on('policyRejected', (why) => this.rejectPolicy(undefined, `schema: ${why}`));
    this.link.on('deadLettered', (d) => this.append([deadLetterViolation(d, join(opts.stateDir, 'deadletter.jsonl'))]));
    const updater = new Updater({ stateDir: opts.stateDir, installDir: dirname(opts.programPath ?? fileURLToPath(import.meta.url)), agentVersion: AGENT_VERSION, collectorUrl: opts.identity.collectorUrl, tls: opts.wsOptions, selfCommand: opts.selfCommand, log: opts.log, append: (e) => this.append(e) });
    this.link.on('update', (offer) => updater.offer(offer));
    this.link.on('welcome', () => updater.connected());
  }

  /** The policy in force: the stored one when its signature still verifies, else the product defaults (version 0). */
  private loadStoredPolicy(): PolicyDocument {
    const fallback = PolicyDocument.parse({ version: 0 });
    const stored = this.loadJson('policy.json', (v) => v as Partial<StoredPolicy>);
    if (!stored) return fallback;
    const parsed = PolicyDocument.safeParse(stored.policy);
    const valid = parsed.success && policySignatureValid(parsed.data, stored.signature, this.opts.identity.policyKey);
    // A policy.json copied from another PC is refused like a push for another PC.
    const refusal = valid ? policyRefusal(parsed.data, fallback, { agentId: this.opts.identity.agentId, segment: this.opts.identity.segment }) : undefined;
    if (valid && !refusal) return parsed.data;
    const reason = !parsed.success ? 'bad schema' : !valid ? 'bad signature' : refusal!;
    this.opts.log.error(`${join(this.opts.stateDir, 'policy.json')}: ${reason}; running the product defaults until the collector sends a signed policy`);
    this.startNotices.push({ at: new Date().toISOString(), kind: 'agent.notice', notice: 'policy.rejected', detail: { source: 'state', reason } });
    return fallback;
  }

  private readonly startNotices: NewAgentEvent[] = [];

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
    try {
      writeFileSync(`${path}.tmp`, JSON.stringify(value), { mode: 0o600 });
      renameSync(`${path}.tmp`, path);
    } catch (err) {
      // A full disk must not stop the checks: the outbox counts what it could not write (a gap).
      const code = (err as { code?: string }).code;
      if (code !== 'ENOSPC' && code !== 'EDQUOT') throw err;
      this.opts.log.error(`cannot write ${path}: the disk is full`);
    }
  }

  async start(): Promise<void> {
    this.append([
      { at: new Date().toISOString(), kind: 'agent.notice', notice: 'started', detail: { version: AGENT_VERSION, pid: process.pid, replay: this.opts.replayDir ?? null } },
      ...this.runMarker.start(),
      ...this.startNotices.splice(0),
    ]);
    const unreported = this.runMarker.unreportedStop;
    if (unreported !== undefined && this.outbox.acked < unreported) {
      // The last run was stopped by its watchdog before the collector heard of it (a limit below
      // what the start needs stops every run before it connects). Report that first: connect, and
      // start the checks and the watchdog only once the stop is acknowledged (or the time is up).
      this.opts.log.warn(`the last run was stopped by the watchdog before it could report it: reporting that before the checks start`, { seq: unreported });
      this.link.start();
      this.work = this.reported(unreported, this.opts.reportStopFirstMs ?? REPORT_STOP_FIRST_MS)
        .then(() => (this.stopping.signal.aborted ? undefined : this.startWork({ linkStarted: true })))
        .catch((err: Error) => void this.opts.log.error('the agent could not start its checks', { error: err.message }));
      return;
    }
    await this.startWork({ linkStarted: false });
  }

  /** The start's work when it waits for a watchdog stop to be reported (stop() waits for it). */
  private work: Promise<void> | undefined;

  /** Wait until the collector acknowledged `seq`, the agent stops or the time is up. */
  private async reported(seq: number, timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.outbox.acked < seq && Date.now() < until && !this.stopping.signal.aborted) await new Promise((r) => setTimeout(r, 100));
  }

  /** The integrity check, the watchdog, the link, the schedules, the watchers and the first check run. */
  private async startWork(o: { linkStarted: boolean }): Promise<void> {
    const programPath = this.opts.programPath ?? fileURLToPath(import.meta.url);
    // Hashing the program (the Node runtime is ~100 MB the first time) must not hold up the start.
    this.integrity = integrityNotices(this.opts.stateDir, { configPath: this.opts.configPath, programPath, catalogueDir: configDir() }, new Date(), this.stopping.signal, () => this.urgent.clear())
      .then((notices) => (this.stopped ? undefined : this.append(notices)))
      .catch((err: Error) => void this.opts.log.error('integrity check failed', { error: err.message }));
    if (this.opts.initialPolicy) this.applyPolicy(this.opts.initialPolicy, { rerun: false });
    this.watchdog?.start();
    if (!o.linkStarted) this.link.start();
    this.prepareChecks();
    // The schedules before the watchers listen: setting them up loads the time-zone data (~300 ms of the main thread at load 25).
    this.cronTask = cron.schedule(this.opts.schedule ?? '0 * * * *', () => this.enqueue(routineChecks(), 'schedule'));
    this.dailyTask = cron.schedule(this.opts.dailySchedule ?? DAILY_SCHEDULE, () => this.enqueue(DAILY_CHECKS, 'daily'));
    let last = Date.now();
    this.wakeTimer = setInterval(() => {
      const now = Date.now();
      // The timer fires every 15 s; a much longer gap means the PC slept.
      if (now - last > 75_000) this.enqueue(routineChecks(), 'wake from sleep');
      last = now;
    }, 15_000);
    this.wakeTimer.unref();
    for (const w of this.opts.watchers ?? []) {
      try {
        await w.start(
          (checkId, reason) => this.enqueue([checkId], reason),
          // A watcher that stopped working is reported (AGENT-005 on the collector) and again when it works.
          (h) => this.append([{ at: new Date().toISOString(), kind: 'agent.notice', notice: `watcher.${h.state}`, detail: { watcher: h.watcher, reason: h.reason } }]),
        );
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
    if (!this.opts.skipInitialRun) this.enqueue(CHECKS.map((c) => c.id), 'start');
  }

  /**
   * Parse the catalogues now, once per process: seconds of the main thread on a slow PC, which
   * in the first run of each check would hold up a USB event arriving meanwhile. A catalogue that
   * cannot be read is reported by its check's run.
   */
  private prepareChecks(): void {
    try {
      productCatalogue();
    } catch (err) {
      this.opts.log.warn('the rule catalogue could not be read at start', { error: (err as Error).message });
    }
    for (const c of CHECKS) {
      try {
        c.prepare?.();
      } catch (err) {
        this.opts.log.warn(`check ${c.id} could not prepare`, { error: (err as Error).message });
      }
    }
  }

  /**
   * Run these checks now. A watcher's single check starts at once (behind only a run of that
   * same check already in progress); a full run (start, schedule, policy, scan) goes through
   * the checks one after another and reuses any result that is fresher than its own request.
   */
  enqueue(checks: readonly CheckId[], reason: string, scan?: ScanRequestFrame): void {
    if (this.stopped) return;
    this.opts.log.debug(`checks queued: ${checks.join(', ')} (${reason})`);
    if (scan) for (const c of checks) this.forced.add(c);
    const since = this.lanes.mark();
    this.lanes.track(this.fullRun(checks, since, scan));
  }

  private async fullRun(checks: readonly CheckId[], since: number, scan: ScanRequestFrame | undefined): Promise<void> {
    const reports: CheckReport[] = [];
    for (const id of CHECKS.map((c) => c.id).filter((c) => checks.includes(c))) {
      if (this.stopped) return;
      try {
        reports.push(await this.lanes.result(id, since));
      } catch (err) {
        this.opts.log.error(`check ${id} failed`, { error: (err as Error).message });
      }
    }
    if (!scan) return;
    this.append([
      {
        at: new Date().toISOString(),
        kind: 'scan.result',
        requestId: scan.requestId,
        checks: reports
          .filter((c) => scan.checks.length === 0 || scan.checks.includes(c.id))
          .map((c) => ({ checkId: c.id, status: c.status, failed: c.rules.filter((r) => r.result === 'fail').length, ...(c.reason ? { reason: c.reason.slice(0, 1000) } : {}) })),
      },
    ]);
  }

  /** One run of one check; a USB check goes before every other check's next probe call. */
  private runCheck(id: CheckId): Promise<CheckReport> {
    return URGENT_CHECKS.includes(id) ? this.urgent.hold(() => this.judgeAndStore(id, this.probes)) : this.judgeAndStore(id, this.yieldingProbes);
  }

  /** Judge one check, then store what changed (violations opened / closed, facts, results). */
  private async judgeAndStore(id: CheckId, probes: Probes): Promise<CheckReport> {
    const force = this.forced.delete(id);
    const catalogue = productCatalogue();
    const urgent = URGENT_CHECKS.includes(id);
    // Every other check lets a USB check go first between its steps, as at its probe calls.
    const stepAside = urgent ? undefined : () => this.urgent.stepAside();
    const report = await localCheck({ probes, checks: [id], stepAside, checkParams: { 'usb-media': { enforcement: this.opts.usbEnforcement ?? 'audit' }, 'os-patches': { wuaWaitSeconds: DAEMON_WUA_WAIT_SECONDS, aptWaitSeconds: DAEMON_APT_WAIT_SECONDS }, ...(this.opts.selfCommand ? { inventory: { selfCommand: this.opts.selfCommand } } : {}) }, policy: this.policy, segment: this.link.segment ?? this.opts.identity.segment, memory: this.memory, catalogue, log: this.opts.log, runAgainAfter: (checkId, work) => void work.then(() => this.enqueue([checkId], 'background work ended')) });
    await stepAside?.();
    // Synchronous from here to the save: runs of other checks finishing meanwhile each see the state this one leaves.
    const { events, state } = findingsToEvents(report, catalogue.rules, this.findings, { force, exceptions: this.policy.exceptions });
    this.append(events);
    this.findings = state;
    this.findingsFile.write(JSON.stringify(state));
    this.userNotices.afterFindings(events, state);
    const check = report.checks[0]!;
    if (this.opts.usbEnforcement === 'block' && id === 'usb-media') {
      const devices = check.facts.devices as UsbDevice[] | undefined;
      if (devices) this.append(enforcementNotices(await enforceUsb(this.probes, devices, this.policy)));
    }
    this.opts.log.debug(`check done: ${id}`, { events: events.length });
    return check;
  }

  /** A pushed policy is used only when the collector's signature over it verifies; otherwise the last valid one stays in force. */
  private applyPolicy(push: PolicyPushFrame, o: { rerun: boolean } = { rerun: true }): void {
    const policy = push.policy;
    if (!this.opts.identity.policyKey) return this.rejectPolicy(policy.version, 'no policy-signing key from enrollment');
    if (!push.signature) return this.rejectPolicy(policy.version, 'unsigned');
    if (!policySignatureValid(policy, push.signature, this.opts.identity.policyKey)) return this.rejectPolicy(policy.version, 'bad signature');
    const refusal = policyRefusal(policy, this.policy, { agentId: this.opts.identity.agentId, segment: this.link.segment ?? this.opts.identity.segment });
    if (refusal) return this.rejectPolicy(policy.version, refusal);
    const before = this.policy;
    this.policy = policy;
    this.saveJson('policy.json', { policy, signature: push.signature } satisfies StoredPolicy);
    this.append([{ at: new Date().toISOString(), kind: 'policy.applied', version: policy.version }]);
    // Only the routine checks whose rules' switches, parameters, lists or exceptions changed run again (the daily ones at their time).
    const stale = o.rerun ? checksToRerun(before, policy, productCatalogue().rules, routineChecks()) : [];
    this.opts.log.info(`policy ${policy.version} applied`, { rerun: stale });
    if (stale.length) this.enqueue(stale, `policy ${policy.version}`);
  }

  private rejectPolicy(version: number | undefined, reason: string): void {
    this.opts.log.error(`policy${version !== undefined ? ` ${version}` : ''} rejected (${reason}); policy ${this.policy.version} stays in force`);
    this.append([{ at: new Date().toISOString(), kind: 'agent.notice', notice: 'policy.rejected', detail: { version: version ?? null, reason: reason.slice(0, 500), inForce: this.policy.version } }]);
  }

  /** The policy in force (tests, status). */
  get policyInForce(): PolicyDocument {
    return this.policy;
  }

  private async onWatchdogBreach(b: WatchdogBreach): Promise<void> {
    const detail = { limit: b.limit, rssBytes: b.sample.rssBytes, cpuPercent: Math.round(b.sample.cpuPercent * 10) / 10, limitValue: b.limitValue, samples: b.samples };
    this.opts.log.error(`watchdog: over the ${b.limit} limit; restarting`, detail);
    await this.stop({ notice: 'watchdog.limit', detail });
    (this.opts.exit ?? ((code: number) => process.exit(code)))(WATCHDOG_EXIT_CODE);
  }

  /** Whether systemd says the system is shutting down (Linux; null when it cannot tell). */
  async systemShuttingDown(): Promise<boolean | null> {
    if (this.probes.platform !== 'linux' || this.probes.mode !== 'live') return null;
    // `systemctl is-system-running` prints "stopping" while the system shuts down (systemctl(1)); it exits non-zero in every state but "running".
    const r = await this.probes.exec('systemd.is-system-running', '/usr/bin/systemctl', ['is-system-running'], { timeoutMs: 2000, okExitCodes: [0, 1, 2, 3, 4] });
    const state = (r.ok ? r.stdout : (r.stdout ?? '')).trim();
    return state ? state === 'stopping' : null;
  }

  /** Wait until the collector acknowledged `seq` (or the time is up). */
  private async delivered(seq: number, timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (this.outbox.acked < seq && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    return this.outbox.acked >= seq;
  }

  private append(events: NewAgentEvent[]): void {
    if (events.length === 0) return;
    const written = this.outbox.append(fitEvents(events, this.opts.log));
    // A full disk: the outbox counted them and reports them as a gap once it can write again.
    if (written.length < events.length) this.opts.log.error(`ディスクが一杯のため記録 ${events.length} 件 (${[...new Set(events.map((e) => e.kind))].join(', ')}) を送信待ちに書けませんでした。空きができしだい欠番 (gap) として収集サーバーへ報告します / the disk is full: events not written, reported as a gap when space returns`, { unwritten: this.outbox.unwrittenEvents });
    this.link.notify();
  }

  /** Wait until the queued check runs are done and their findings written (tests, shutdown). */
  async idle(): Promise<void> {
    await this.lanes.idle();
    await this.findingsFile.idle();
  }

  /**
   * Stop: tell the collector first (agent.notice 'stopping', or the given notice), give it up
   * to `noticeTimeoutMs` to be acknowledged, then close everything.
   */
  async stop(o: { notice?: string; detail?: Record<string, unknown>; noticeTimeoutMs?: number } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopping.abort();
    this.watchdog?.stop();
    const [notice] = this.outbox.append([{ at: new Date().toISOString(), kind: 'agent.notice', notice: o.notice ?? 'stopping', detail: { pid: process.pid, ...o.detail } }]);
    this.link.notify();
    // Also while the link is still connecting (a watchdog breach right after the start): the
    // notice gets its few seconds either way, and stays in the outbox for the next start if not acked.
    const reported = notice ? await this.delivered(notice.seq, o.noticeTimeoutMs ?? 3000) : true;
    this.stopped = true;
    await this.work;
    clearInterval(this.wakeTimer);
    await this.cronTask?.stop();
    await this.dailyTask?.stop();
    this.replayWatcher?.close();
    for (const w of this.opts.watchers ?? []) await w.stop().catch(() => undefined);
    await this.lanes.idle();
    await this.findingsFile.idle();
    await this.userNotices.idle();
    await this.link.stop();
    this.outbox.close();
    // A watchdog stop not yet acknowledged is reported first by the next start.
    this.runMarker.stop(new Date(), o.notice === 'watchdog.limit' && !reported ? notice!.seq : undefined);
  }
}
