/**
 * The console's services wired to one collector: accounts, audit log, policy, 媒体管理台帳,
 * 例外措置, fleet view, reports, forwarders and the live stream, plus what ties them to the
 * agents (the policy provider, pushes after a change, expiry of exceptions).
 */
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Catalogue } from '../../shared/catalogue/load.js';
import type { PolicyDocument } from '../../shared/protocol/messages.js';
import type { StoredAgentEvent } from '../bus.js';
import type { CollectorContext } from '../context.js';
import type { AgentRecord } from '../store/store.js';
import type { AccountOptions, UserRecord } from './accounts.js';
import { Accounts } from './accounts.js';
import type { AuditEntry } from './audit.js';
import { actorOf, AuditLog, systemActor } from './audit.js';
import type { Principal } from './authz.js';
import { forbidden } from './errors.js';
import type { ExceptionRecord } from './exceptions.js';
import { Exceptions } from './exceptions.js';
import { Fleet } from './fleet.js';
import { forwardedOf, Forwarders } from './forwarders.js';
import type { RouteDef } from './http.js';
import { MediaLedger } from './media.js';
import { PolicyStore } from './policy.js';
import { Reports } from './reports.js';
import type { ConsoleStream } from './stream.js';
import type { Clock } from './util.js';
import { systemClock } from './util.js';

export const INITIAL_ADMIN_FILE = 'console-initial-admin.txt';

export interface ConsoleOptions {
  accounts?: Partial<AccountOptions>;
  clock?: Clock;
  /** How often exceptions are expired and report snapshots taken (ms). */
  housekeepingMs?: number;
  catalogue?: Catalogue;
  /** Directory of the static UI (index.html …). */
  uiDir?: string;
}

export class ConsoleServices {
  readonly accounts: Accounts;
  readonly audit: AuditLog;
  readonly policy: PolicyStore;
  readonly media: MediaLedger;
  readonly exceptions: Exceptions;
  readonly fleet: Fleet;
  readonly reports: Reports;
  readonly forwarders: Forwarders;
  stream: ConsoleStream | undefined;
  routes: RouteDef[] = [];
  /** The initial admin account's one-time password, while it is unchanged (also in DATA/console-initial-admin.txt). */
  initialAdmin: { username: string; password: string } | undefined;
  private activeCache: ExceptionRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastSnapshotHour = '';

  constructor(
    readonly ctx: CollectorContext,
    readonly catalogue: Catalogue,
    readonly options: ConsoleOptions,
  ) {
    const sql = ctx.store.sql;
    const clock = options.clock ?? systemClock;
    this.accounts = new Accounts(sql, { ...new Accounts(sql).options, ...options.accounts }, clock);
    this.audit = new AuditLog(sql, clock);
    this.policy = new PolicyStore(sql, catalogue.rules, clock);
    this.media = new MediaLedger(sql, clock);
    const ruleIds = new Set(catalogue.rules.map((r) => r.id));
    this.exceptions = new Exceptions(sql, (id) => ruleIds.has(id), clock, (agentId) => this.fleet.assignmentOf(agentId).department);
    this.fleet = new Fleet(ctx.store, catalogue.rules, catalogue.sources, () => this.activeExceptions(), clock);
    this.reports = new Reports(ctx.store, this.fleet, catalogue.rules, () => this.activeExceptions(), clock);
    this.forwarders = new Forwarders(sql, ctx.log);
  }

  async start(): Promise<void> {
    await this.fleet.loadAssignments();
    await this.refreshExceptions();
    await this.forwarders.reload();
    await this.ensureInitialAdmin();
    this.ctx.setPolicyProvider(async (agent) => ({ policy: await this.documentFor(agent) }));
    this.ctx.bus.on('event', this.onEvent);
    const every = this.options.housekeepingMs ?? 60_000;
    this.timer = setInterval(() => void this.housekeeping().catch((err: Error) => this.ctx.log.warn('console housekeeping failed', { error: err.message })), every);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.ctx.bus.off('event', this.onEvent);
    this.stream?.close();
    this.forwarders.close();
  }

  /** Active exceptions, cached (refreshed on every change and by housekeeping). */
  async activeExceptions(): Promise<ExceptionRecord[]> {
    const now = (this.options.clock ?? systemClock).now().toISOString();
    return this.activeCache.filter((e) => e.until > now);
  }

  private async refreshExceptions(): Promise<void> {
    this.activeCache = await this.exceptions.active();
  }

  /** The policy document of one PC: its segment's and group's settings, the ledger, its exceptions. */
  async documentFor(agent: Pick<AgentRecord, 'id' | 'segment'>): Promise<PolicyDocument> {
    const group = this.fleet.assignmentOf(agent.id).group;
    const active = (await this.activeExceptions()).filter((e) => e.agentId === null || e.agentId === agent.id);
    return this.policy.documentFor(agent.segment, group, { registeredMedia: await this.media.registeredFingerprints() }, active.map((e) => ({ id: e.id, ruleId: e.ruleId, subject: e.subject, until: e.until })));
  }

  /** Push the current document to every connected agent. */
  async pushAll(): Promise<void> {
    for (const a of await this.ctx.store.listAgents()) {
      if (a.online && !a.revokedAt) await this.ctx.pushPolicy(a.id).catch((err: Error) => this.ctx.log.warn('policy push failed', { agentId: a.id, error: err.message }));
    }
  }

  /** After a change of the ledger, the exceptions or assignments: new epoch, push to agents. */
  async policyChanged(): Promise<void> {
    await this.refreshExceptions();
    await this.policy.bumpEpoch();
    await this.pushAll();
  }

  async decide(id: string, approve: boolean, who: Principal, comment: string, _ip: string): Promise<ExceptionRecord> {
    const e = await this.exceptions.decide(id, approve, who.username, comment);
    if (approve) await this.policyChanged();
    return e;
  }

  /** A department-scoped account may only report on its own 課. */
  scopedDepartment(p: Principal, requested: string | null): string | null {
    if (p.departments.length === 0) return requested;
    if (requested === null) {
      if (p.departments.length === 1) return p.departments[0]!;
      throw forbidden('choose one of your departments');
    }
    if (!p.departments.includes(requested)) throw forbidden(`no access to ${requested}`);
    return requested;
  }

  describe(u: UserRecord): Record<string, unknown> {
    return { id: u.id, username: u.username, displayName: u.displayName, role: u.role, departments: u.departments, mustChangePassword: u.mustChangePassword, lockedUntil: u.lockedUntil, disabled: !!u.disabledAt, createdAt: u.createdAt, createdBy: u.createdBy, passwordChangedAt: u.passwordChangedAt };
  }

  /** On first start there is no account: make `admin` with a one-time password it must change at first login. */
  private async ensureInitialAdmin(): Promise<void> {
    const file = join(this.ctx.dataDir, INITIAL_ADMIN_FILE);
    if ((await this.accounts.count()) > 0) {
      const admin = await this.accounts.byName('admin');
      if (!admin?.mustChangePassword && existsSync(file)) rmSync(file, { force: true });
      return;
    }
    const password = Accounts.oneTimePassword();
    await this.accounts.create({ username: 'admin', displayName: '管理者 (admin)', role: 'admin', password, temporary: true, createdBy: 'system' });
    this.initialAdmin = { username: 'admin', password };
    writeFileSync(file, `user: admin\npassword: ${password}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    await this.audit.append(systemActor, 'account.created', 'account admin', { initial: true });
    this.ctx.log.warn(`console: initial account "admin" created; its one-time password is in ${file} (change it at first login)`);
  }

  initialAdminChanged(username: string): void {
    if (username !== 'admin') return;
    this.initialAdmin = undefined;
    rmSync(join(this.ctx.dataDir, INITIAL_ADMIN_FILE), { force: true });
  }

  /** Expire exceptions past their end date, take the hourly report snapshot. */
  async housekeeping(): Promise<ExceptionRecord[]> {
    const expired = await this.exceptions.expireDue();
    for (const e of expired) await this.audit.append(systemActor, 'exception.expired', `exception ${e.id}`, { ruleId: e.ruleId, subject: e.subject, until: e.until });
    await this.fleet.loadAssignments();
    if (expired.length) await this.policyChanged();
    else await this.refreshExceptions();
    const hour = (this.options.clock ?? systemClock).now().toISOString().slice(0, 13);
    if (hour !== this.lastSnapshotHour) {
      this.lastSnapshotHour = hour;
      await this.reports.snapshot();
    }
    return expired;
  }

  /** The stream message for a stored event (also what the forwarders send). */
  async render(e: StoredAgentEvent): Promise<{ department: string | null; message: Record<string, unknown> } | undefined> {
    const ev = e.event;
    const department = this.fleet.assignmentOf(e.agentId).department;
    if (ev.kind === 'violation.opened') {
      const agent = await this.ctx.store.getAgent(e.agentId);
      const v = ev.violation;
      const view = this.fleet.viewOf(
        { agentId: e.agentId, hostname: e.hostname, ruleId: v.ruleId, subject: v.subject, checkId: v.checkId, state: 'open', result: v.result, severity: v.severity, title: v.title, message: v.message, reason: v.reason, clauses: v.clauses, facts: v.facts, user: v.user ?? null, openedAt: ev.at, closedAt: null, closedReason: null, updatedAt: e.receivedAt },
        agent,
        await this.activeExceptions(),
      );
      return { department, message: { type: 'violation', violation: view, receivedAt: e.receivedAt } };
    }
    if (ev.kind === 'violation.closed') {
      return { department, message: { type: 'violation.closed', key: `${e.agentId}|${ev.ruleId}|${ev.subject}`, agentId: e.agentId, hostname: e.hostname, ruleId: ev.ruleId, subject: ev.subject, closedAt: ev.at, reason: ev.reason, receivedAt: e.receivedAt } };
    }
    if (ev.kind === 'scan.result') return { department, message: { type: 'scan', requestId: ev.requestId, agentId: e.agentId, hostname: e.hostname, state: 'done', completedAt: ev.at, checks: ev.checks } };
    if (ev.kind === 'policy.applied') return { department, message: { type: 'policy.applied', agentId: e.agentId, hostname: e.hostname, version: ev.version, at: ev.at } };
    return undefined;
  }

  private rulesById: Map<string, Catalogue['rules'][number]> | undefined;

  private readonly onEvent = (e: StoredAgentEvent): void => {
    // The ingest path runs at tens of thousands of events per second: cheap when nothing forwards.
    if (!this.forwarders.active || (e.event.kind !== 'violation.opened' && e.event.kind !== 'violation.closed')) return;
    this.rulesById ??= new Map(this.catalogue.rules.map((r) => [r.id, r]));
    const rules = this.rulesById;
    const v = forwardedOf(e, (agentId, ruleId) => {
      const r = rules.get(ruleId);
      return { department: this.fleet.assignmentOf(agentId).department, ...(r ? { severity: r.severity, title: r.name, clauses: r.clauses } : {}) };
    });
    if (v) this.forwarders.forward(v);
  };

  auditAs(p: Principal, ip: string, action: string, target: string, detail: Record<string, unknown> = {}): Promise<AuditEntry> {
    return this.audit.append(actorOf(p, ip), action, target, detail);
  }
}
