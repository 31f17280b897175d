/**
 * The console's services wired to one collector: accounts, audit log, policy, 媒体管理台帳,
 * 例外措置, fleet view, reports, forwarders and the live stream, plus what ties them to the
 * agents (the policy provider, pushes after a change, expiry of exceptions).
 */
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Catalogue } from '../../shared/catalogue/load.js';
import type { PolicyDocument } from '../../shared/protocol/messages.js';
import { msg, renderBoth } from '../../shared/i18n/index.js';
import type { StoredAgentEvent } from '../bus.js';
import type { CollectorContext } from '../context.js';
import type { SqlRunner } from '../store/sql.js';
import type { AgentRecord } from '../store/store.js';
import type { AccountOptions, UserRecord } from './accounts.js';
import { Accounts } from './accounts.js';
import type { AuditEntry } from './audit.js';
import { actorOf, AuditAnchor, AuditLog, systemActor } from './audit.js';
import type { Principal } from './authz.js';
import { forbidden } from './errors.js';
import type { ExceptionRecord } from './exceptions.js';
import { Exceptions } from './exceptions.js';
import { Fleet } from './fleet.js';
import { Forwarders } from './forwarders.js';
import { InventoryLedger } from './inventory.js';
import type { ForwardingOptions } from './forwarders.js';
import type { RouteDef } from './http.js';
import { MediaLedger } from './media.js';
import { OverviewCounter } from './overview.js';
import { PolicyStore } from './policy.js';
import { contentFor, PolicyDelivery } from './policy-delivery.js';
import type { Delivered, PolicyInputs } from './policy-delivery.js';
import { Reports } from './reports.js';
import { foldKeptCounts } from '../store/kept-counts.js';
import { OPEN_VIOLATION_COUNTS } from '../store/open-violation-counts.js';
import { RULE_RESULT_COUNTS } from '../store/rule-result-counts.js';
import { foldViolationDays } from '../store/violation-days.js';
import { SiteStandard } from './site-standard.js';
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
  /** Retry timings and the "behind" limit of the forwarders. */
  forwarding?: ForwardingOptions;
}

export class ConsoleServices {
  readonly accounts: Accounts;
  readonly audit: AuditLog;
  readonly policy: PolicyStore;
  readonly delivery: PolicyDelivery;
  readonly media: MediaLedger;
  readonly exceptions: Exceptions;
  readonly fleet: Fleet;
  readonly reports: Reports;
  readonly standard: SiteStandard;
  readonly overview: OverviewCounter;
  readonly forwarders: Forwarders;
  /** 資産管理台帳: latest hardware inventory and hardware changes of each PC. */
  readonly inventory: InventoryLedger;
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
    this.audit = new AuditLog(sql, clock, AuditAnchor.of(ctx.dataDir));
    this.policy = new PolicyStore(sql, catalogue.rules, clock);
    this.delivery = new PolicyDelivery(sql, this.policy);
    this.media = new MediaLedger(sql, clock);
    const ruleIds = new Set(catalogue.rules.map((r) => r.id));
    this.exceptions = new Exceptions(sql, (id) => ruleIds.has(id), clock, (agentId) => this.fleet.assignmentOf(agentId).department);
    this.fleet = new Fleet(ctx.store, catalogue.rules, catalogue.sources, () => this.activeExceptions(), clock);
    this.inventory = new InventoryLedger(ctx.store, (id) => this.fleet.assignmentOf(id), clock);
    this.standard = new SiteStandard(sql, catalogue.rules, catalogue.sources);
    this.fleet.useStandard(this.standard);
    this.reports = new Reports(sql, catalogue.rules, this.standard, () => this.activeExceptions(), clock);
    this.overview = new OverviewCounter(sql, () => this.activeExceptions(), clock);
    this.forwarders = new Forwarders({ store: ctx.store, bus: ctx.bus, nodeId: ctx.nodeId, dataDir: ctx.dataDir, log: ctx.log, assignmentOf: (id) => this.fleet.assignmentOf(id) }, options.forwarding);
  }

  async start(): Promise<void> {
    await this.fleet.loadAssignments();
    await this.standard.load();
    await this.refreshExceptions();
    await this.forwarders.reload();
    await this.ensureInitialAdmin();
    this.ctx.setPolicyProvider(async (agent) => ({ policy: await this.documentFor(agent) }));
    this.ctx.bus.on('event', this.onEvent);
    this.ctx.bus.on('agent.online', this.onOnline);
    this.ctx.bus.on('event', this.inventory.onEvent);
    await this.inventory.catchUp().catch((err: Error) => this.ctx.log.warn('inventory catch-up failed', { error: err.message }));
    const every = this.options.housekeepingMs ?? 60_000;
    this.timer = setInterval(() => void this.housekeeping().catch((err: Error) => this.ctx.log.warn('console housekeeping failed', { error: err.message })), every);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.auditCheckpoint().catch((err: Error) => this.ctx.log.warn('audit checkpoint failed', { error: err.message }));
    this.ctx.bus.off('event', this.onEvent);
    this.ctx.bus.off('agent.online', this.onOnline);
    this.ctx.bus.off('event', this.inventory.onEvent);
    await this.inventory.idle();
    this.stream?.close();
    await this.forwarders.stop();
  }

  /** Active exceptions, cached (refreshed on every change and by housekeeping). */
  async activeExceptions(): Promise<ExceptionRecord[]> {
    const now = (this.options.clock ?? systemClock).now().toISOString();
    return this.activeCache.filter((e) => e.until > now);
  }

  private async refreshExceptions(): Promise<void> {
    this.activeCache = await this.exceptions.active();
  }

  /** What every PC's policy is made of now: the revision, the ledger, the active 例外措置. */
  async policyInputs(): Promise<PolicyInputs> {
    const rev = await this.policy.current();
    const exceptions = (await this.activeExceptions()).map((e) => ({ id: e.id, ruleId: e.ruleId, subject: e.subject, until: e.until, agentId: e.agentId }));
    return { revision: rev.version, settings: rev.settings, lists: { registeredMedia: await this.media.registeredFingerprints() }, exceptions };
  }

  /** The policy document of one PC: its segment's and group's settings, the ledger, its exceptions; its version moves only when these change for it. */
  async documentFor(agent: Pick<AgentRecord, 'id' | 'segment'>, inputs?: PolicyInputs): Promise<PolicyDocument> {
    const i = inputs ?? (await this.policyInputs());
    const content = contentFor({ id: agent.id, segment: agent.segment, group: this.fleet.assignmentOf(agent.id).group }, i);
    return { version: await this.delivery.versionFor(agent.id, content, i.revision), ...content };
  }

  /**
   * Push the policy to the connected PCs (of those given) whose document changed; the others
   * keep theirs and re-run nothing. Returns how many were sent one.
   */
  async pushChanged(agentIds?: readonly string[]): Promise<number> {
    const only = agentIds && new Set(agentIds);
    const online = (await this.ctx.store.listAgents()).filter((a) => a.online && !a.revokedAt && (!only || only.has(a.id)));
    const inputs = await this.policyInputs();
    const changed = await this.delivery.changed(online.map((a) => ({ id: a.id, segment: a.segment, group: this.fleet.assignmentOf(a.id).group })), inputs);
    for (const id of changed) await this.ctx.pushPolicy(id).catch((err: Error) => this.ctx.log.warn('policy push failed', { agentId: id, error: err.message }));
    return changed.length;
  }

  /** After a change of the policy, the ledger or the exceptions: new epoch, push to the PCs it changes. */
  async policyChanged(): Promise<void> {
    await this.refreshExceptions();
    await this.policy.bumpEpoch();
    await this.pushChanged();
  }

  /** After a change that concerns some PCs only (their group): push to those of them whose policy changed. */
  async policyChangedFor(agentIds: readonly string[]): Promise<void> {
    await this.refreshExceptions();
    await this.pushChanged(agentIds);
  }

  /** The version and revision each PC should run (the policy screen and the PC page show the same). */
  async expectedPolicies(agents: readonly Pick<AgentRecord, 'id' | 'segment'>[]): Promise<Map<string, Delivered>> {
    const inputs = await this.policyInputs();
    const given = await this.delivery.delivered(agents.length > 1000 ? undefined : agents.map((a) => a.id));
    const targets = agents.map((a) => ({ id: a.id, segment: a.segment, group: this.fleet.assignmentOf(a.id).group }));
    const stale = new Set(await this.delivery.changed(targets, inputs, given));
    // Never given one, or given an older content: the version it gets next.
    const next = await this.delivery.versionsFor(targets.filter((t) => stale.has(t.id)).map((t) => ({ id: t.id, content: contentFor(t, inputs) })), inputs.revision, given);
    const out = new Map<string, Delivered>();
    for (const t of targets) {
      const g = given.get(t.id);
      out.set(t.id, stale.has(t.id) || !g ? { version: next.get(t.id)!, revision: inputs.revision } : { version: g.version, revision: g.revision });
    }
    return out;
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
      throw forbidden(msg('error.scope.choose'));
    }
    if (!p.departments.includes(requested)) throw forbidden(msg('error.scope.outside', { department: requested }));
    return requested;
  }

  describe(u: UserRecord): Record<string, unknown> {
    return { id: u.id, username: u.username, displayName: u.displayName, role: u.role, departments: u.departments, mustChangePassword: u.mustChangePassword, lockedUntil: u.lockedUntil, disabled: !!u.disabledAt, createdAt: u.createdAt, createdBy: u.createdBy, passwordChangedAt: u.passwordChangedAt };
  }

  /** On first start there is no account: make `admin` with a one-time password it must change at first login. */
  private async ensureInitialAdmin(): Promise<void> {
    const file = join(this.ctx.dataDir, INITIAL_ADMIN_FILE);
    const password = Accounts.oneTimePassword();
    const created = await this.createInitialAdminOnce(password);
    if (!created) {
      const admin = await this.accounts.byName('admin');
      if (!admin?.mustChangePassword && existsSync(file)) rmSync(file, { force: true });
      if (admin?.mustChangePassword && !existsSync(file)) this.ctx.log.warn(`console: the initial account "admin" was made by another collector node; its one-time password is in ${INITIAL_ADMIN_FILE} of that node's data directory`);
      return;
    }
    this.initialAdmin = { username: 'admin', password };
    writeFileSync(file, `user: admin\npassword: ${password}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    await this.audit.append(systemActor, 'account.created', 'admin', { initial: true });
    this.ctx.log.warn(`console: initial account "admin" created; its one-time password is in ${file} (change it at first login)`);
  }

  /**
   * Make `admin` when there is no account yet; false when one exists. Collector nodes on one
   * PostgreSQL database may start at the same instant: an advisory lock held for the
   * transaction makes them take turns, so exactly one of them creates the account (and holds
   * its one-time password file).
   */
  private async createInitialAdminOnce(password: string): Promise<boolean> {
    const sql = this.ctx.store.sql;
    const create = async (tx: SqlRunner): Promise<boolean> => {
      const accounts = new Accounts(tx, this.accounts.options, this.options.clock ?? systemClock);
      if ((await accounts.count()) > 0) return false;
      await accounts.create({ username: 'admin', displayName: '管理者 (admin)', role: 'admin', password, temporary: true, createdBy: 'system' });
      return true;
    };
    if (sql.dialect !== 'postgres') return create(sql);
    return sql.transaction(async (tx) => {
      await tx.get("SELECT pg_advisory_xact_lock(hashtext('mamori.console.initial-admin'))");
      return create(tx);
    });
  }

  initialAdminChanged(username: string): void {
    if (username !== 'admin') return;
    this.initialAdmin = undefined;
    rmSync(join(this.ctx.dataDir, INITIAL_ADMIN_FILE), { force: true });
  }

  /** Expire exceptions past their end date, take the hourly report snapshot, fold the kept counts' changes. */
  async housekeeping(): Promise<ExceptionRecord[]> {
    const expired = await this.exceptions.expireDue();
    for (const e of expired) await this.audit.append(systemActor, 'exception.expired', e.id, { ruleId: e.ruleId, subject: e.subject, until: e.until });
    await this.fleet.loadAssignments();
    if (expired.length) await this.policyChanged();
    else await this.refreshExceptions();
    const hour = (this.options.clock ?? systemClock).now().toISOString().slice(0, 13);
    if (hour !== this.lastSnapshotHour) {
      this.lastSnapshotHour = hour;
      await this.reports.snapshot();
    }
    await foldViolationDays(this.ctx.store.sql);
    await foldKeptCounts(this.ctx.store.sql, OPEN_VIOLATION_COUNTS);
    await foldKeptCounts(this.ctx.store.sql, RULE_RESULT_COUNTS);
    await this.auditCheckpoint();
    return expired;
  }

  /** Anchor the audit chain's head outside the database: the checkpoint file, and the collector log. */
  private async auditCheckpoint(): Promise<void> {
    const c = await this.audit.checkpoint();
    if (!c) return;
    this.ctx.log.info('audit log checkpoint', { auditCheckpoint: c });
    // And to the SIEM: a rewrite or truncation of the database cannot reach that copy.
    await this.forwarders.recordCheckpoint(c);
  }

  /** The stream message for a stored event (also what the forwarders send); the kinds it renders are bus.ts LIVE_KINDS. */
  async render(e: StoredAgentEvent): Promise<{ department: string | null; message: Record<string, unknown> } | undefined> {
    const ev = e.event;
    const department = this.fleet.assignmentOf(e.agentId).department;
    if (ev.kind === 'violation.opened') {
      const agent = await this.ctx.store.getAgent(e.agentId);
      const v = ev.violation;
      const view = this.fleet.viewOf(
        { agentId: e.agentId, hostname: e.hostname, ruleId: v.ruleId, subject: v.subject, checkId: v.checkId, state: 'open', result: v.result, severity: v.severity, title: v.title, message: v.message, reason: v.reason, reasonMsg: v.reasonMsg ? JSON.stringify(v.reasonMsg) : null, clauses: v.clauses, facts: v.facts, user: v.user ?? null, openedAt: ev.at, closedAt: null, closedReason: null, updatedAt: e.receivedAt },
        agent,
        await this.activeExceptions(),
      );
      return { department, message: { type: 'violation', violation: view, receivedAt: e.receivedAt } };
    }
    if (ev.kind === 'violation.closed') {
      // The close carries the severity of the violation it closes (watch --severity filters on it).
      const severity = (await this.ctx.store.listViolations({ agentId: e.agentId, ruleId: ev.ruleId })).find((v) => v.subject === ev.subject)?.severity ?? null;
      return { department, message: { type: 'violation.closed', key: `${e.agentId}|${ev.ruleId}|${ev.subject}`, agentId: e.agentId, hostname: e.hostname, ruleId: ev.ruleId, subject: ev.subject, severity, closedAt: ev.at, reason: ev.reason, reasonText: ev.reasonMsg ? renderBoth(ev.reasonMsg) : { ja: ev.reason, en: ev.reason }, receivedAt: e.receivedAt } };
    }
    if (ev.kind === 'scan.result') return { department, message: { type: 'scan', requestId: ev.requestId, agentId: e.agentId, hostname: e.hostname, state: 'done', completedAt: ev.at, checks: ev.checks } };
    if (ev.kind === 'policy.applied') return { department, message: { type: 'policy.applied', agentId: e.agentId, hostname: e.hostname, version: ev.version, at: ev.at } };
    return undefined;
  }

  /** A PC connected: one that just enrolled may carry its 課 from the token. */
  private readonly onOnline = (e: { agentId: string }): void => {
    if (!this.fleet.assignmentOf(e.agentId).department) void this.fleet.refreshAssignment(e.agentId).catch((err: Error) => this.ctx.log.warn('assignment refresh failed', { agentId: e.agentId, error: err.message }));
  };

  /** A violation was stored: the forwarders deliver it from the store (durably, see forwarders.ts). */
  private readonly onEvent = (e: StoredAgentEvent): void => {
    if (e.event.kind === 'violation.opened' || e.event.kind === 'violation.closed') this.forwarders.wake();
  };

  auditAs(p: Principal, ip: string, action: string, target: string, detail: Record<string, unknown> = {}): Promise<AuditEntry> {
    return this.audit.append(actorOf(p, ip), action, target, detail);
  }
}
