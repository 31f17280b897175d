/**
 * Tamper evidence on the collector: what an agent cannot report about itself becomes a
 * violation of its own, stored in the normal violations table (check `beyond`, subject "" or
 * "config"/"binary"), published on the bus like an agent's violation, and closed when the
 * condition ends:
 *
 *   AGENT-001 silent       no contact for longer than `silentAfterMs` (closed when it reconnects);
 *                          not raised after the agent announced a system shutdown, a stop or an uninstall
 *   AGENT-002 stopped      agent.notice 'stopping' while the PC keeps running (closed at 'started');
 *                          subject "unclean": 'stopped.unclean' at the next start after kill -9, a crash or a
 *                          power cut, with how long the agent was down (closed by an administrator)
 *   AGENT-003 uninstalled  agent.notice 'uninstalling' (closed at 'started', i.e. reinstalled)
 *   AGENT-004 tampered     agent.notice 'config.changed' / 'binary.changed' / 'catalogue.changed' (closed by an administrator)
 *   AGENT-005 watcher down agent.notice 'watcher.down' (subject: the watcher; closed at 'watcher.up' or 'started')
 *   AGENT-006 sequence     the collector held events above the agent's own counter (gateway hook, or the
 *                          agent's 'seq.ahead'); closed by an administrator
 *   AGENT-008 watchdog     agent.notice 'watchdog.limit': the agent stopped itself over its CPU or memory
 *                          limit. Closed at 'started' while the stops within `watchdogWindowMs` are fewer
 *                          than `watchdogRepeat`; from then on high, and closed by the sweep once the window
 *                          passes without a stop. An agent that is never started again keeps it open.
 *   TIME-002  clock skew   |heartbeat.at − collector time| > `clockSkewMs` (closed by a heartbeat within it)
 *
 * Events published on the bus for these violations carry seq 0: they are the collector's, not
 * part of the agent's sequence. Reasons are catalogue messages (src/shared/i18n), stored with
 * their Japanese text.
 */
import { msg, render, type Msg } from '../../shared/i18n/index.js';
import type { Logger } from '../../shared/log.js';
import type { AgentEvent, HeartbeatFrame, Severity } from '../../shared/protocol/messages.js';
import type { CollectorBus, StoredAgentEvent } from '../bus.js';
import type { AgentRecord, Store } from '../store/store.js';
import { insertCollectorEvent } from '../store/forwarding.js';
import { TAMPER_RULES } from './rules.js';
import type { TamperKind } from './rules.js';

export interface TamperOptions {
  /** An agent silent longer than this is AGENT-001 (site parameter; product default 2 h, no seed gives a number). */
  silentAfterMs?: number;
  /** A clock further off than this is TIME-002 (site parameter; product default 5 min, R-TIME-1 gives no tolerance). */
  clockSkewMs?: number;
  /** How often silence is looked for (default 60 s). */
  sweepIntervalMs?: number;
  /** The period in which watchdog stops are counted (product default 24 h; no seed gives a number). */
  watchdogWindowMs?: number;
  /** Watchdog stops within the period that make AGENT-008 high and keep it open (product default 3). */
  watchdogRepeat?: number;
}

export const TAMPER_DEFAULTS = { silentAfterMs: 2 * 3_600_000, clockSkewMs: 5 * 60_000, sweepIntervalMs: 60_000, watchdogWindowMs: 24 * 3_600_000, watchdogRepeat: 3 } as const;

/** What the agent last said about its own lifecycle; silence after a clean shutdown is expected. */
type Lifecycle = 'running' | 'shutdown' | 'stopped' | 'uninstalled';

type AgentNotice = Extract<AgentEvent, { kind: 'agent.notice' }>;

export interface TamperDeps {
  store: Store;
  bus: CollectorBus;
  log: Logger;
  /** Whether an agent is connected to this node (a connected agent is never silent). */
  isConnected(agentId: string): boolean;
}

export class TamperMonitor {
  private readonly opts: Required<TamperOptions>;
  private timer: NodeJS.Timeout | undefined;
  /** Open collector-made violations, "agentId|ruleId|subject". */
  private readonly open = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  private readonly onEvent = (e: StoredAgentEvent) => {
    if (e.event.kind === 'agent.notice') this.serial(() => this.onNotice(e.agentId, e.hostname, e.event as AgentNotice));
  };
  private readonly onOnline = (a: { agentId: string; hostname: string; at: string }) => this.serial(async () => void (await this.closeIfOpen(a.agentId, a.hostname, 'silent', '', msg('tamper.reconnected'), a.at)));

  constructor(
    private readonly deps: TamperDeps,
    opts: TamperOptions = {},
  ) {
    this.opts = { ...TAMPER_DEFAULTS, ...opts };
  }

  async start(): Promise<void> {
    await this.deps.store.sql.transaction(async (tx) => {
      // Collector nodes starting together: CREATE TABLE IF NOT EXISTS alone races on
      // PostgreSQL's catalogue ("duplicate key … pg_type_typname_nsp_index"); they take turns.
      if (tx.dialect === 'postgres') await tx.get("SELECT pg_advisory_xact_lock(hashtext('mamori.tamper.schema'))");
      await tx.run('CREATE TABLE IF NOT EXISTS tamper_lifecycle (agent_id TEXT PRIMARY KEY, state TEXT NOT NULL, at TEXT NOT NULL)');
      // Watchdog stops per agent (AGENT-008 counts them within a period); rows older than the period are removed by the sweep.
      await tx.run('CREATE TABLE IF NOT EXISTS tamper_watchdog_stops (agent_id TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (agent_id, at))');
    });
    const ids = Object.values(TAMPER_RULES).map((r) => r.id);
    const rows = await this.deps.store.sql.all<{ agent_id: string; rule_id: string; subject: string }>(
      `SELECT agent_id, rule_id, subject FROM violations WHERE state = 'open' AND rule_id IN (${ids.map(() => '?').join(', ')})`,
      ids,
    );
    for (const r of rows) this.open.add(`${r.agent_id}|${r.rule_id}|${r.subject}`);
    this.deps.bus.on('event', this.onEvent);
    this.deps.bus.on('agent.online', this.onOnline);
    this.timer = setInterval(() => this.serial(() => this.sweep()), this.opts.sweepIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.deps.bus.off('event', this.onEvent);
    this.deps.bus.off('agent.online', this.onOnline);
    await this.chain;
  }

  /** Wait until every queued change is stored (tests). */
  idle(): Promise<void> {
    return this.chain;
  }

  /** Changes run one after another so an open and its close cannot overtake each other. */
  private serial(task: () => Promise<void>): void {
    this.chain = this.chain.then(task).catch((err: Error) => {
      this.deps.log.warn('tamper monitor failed', { error: err.message });
    });
  }

  /** The gateway moved aside events above the agent's own counter (AGENT-006). */
  seqDisagreement(agent: AgentRecord, facts: { count: number; storedLastSeq: number; resumeSeq: number }, at: string): void {
    const reason = msg('tamper.seqDisowned', { from: facts.resumeSeq + 1, to: facts.storedLastSeq, count: facts.count });
    this.serial(() => this.openIfNew(agent.id, agent.hostname, 'seqDisagreement', '', { disownedEvents: facts.count, collectorLastSeq: facts.storedLastSeq, resumedAfter: facts.resumeSeq }, reason, at, true));
  }

  /** A heartbeat arrived (gateway hook): compare the PC's clock with ours. */
  heartbeat(agent: AgentRecord, frame: HeartbeatFrame, receivedAt: Date): void {
    const skewMs = Date.parse(frame.at) - receivedAt.getTime();
    const at = receivedAt.toISOString();
    if (Math.abs(skewMs) > this.opts.clockSkewMs) {
      const facts = { skewSeconds: Math.round(skewMs / 1000), limitSeconds: Math.round(this.opts.clockSkewMs / 1000), agentTime: frame.at, collectorTime: at };
      this.serial(() => this.openIfNew(agent.id, agent.hostname, 'clockSkew', '', facts, msg('tamper.clockSkew', { skew: Math.round(skewMs / 1000), limit: Math.round(this.opts.clockSkewMs / 1000) }), at));
    } else {
      this.serial(async () => void (await this.closeIfOpen(agent.id, agent.hostname, 'clockSkew', '', msg('tamper.clockOk', { limit: Math.round(this.opts.clockSkewMs / 1000) }), at)));
    }
  }

  private async onNotice(agentId: string, hostname: string, e: AgentNotice): Promise<void> {
    const detail = e.detail ?? {};
    switch (e.notice) {
      case 'started':
        await this.setLifecycle(agentId, 'running', e.at);
        await this.closeIfOpen(agentId, hostname, 'stopped', '', msg('tamper.startedAgain'), e.at);
        await this.closeIfOpen(agentId, hostname, 'uninstalled', '', msg('tamper.startedAgain'), e.at);
        // A watcher that still fails after the restart reports itself down again.
        for (const subject of this.openSubjects(agentId, 'watcherDown')) await this.closeIfOpen(agentId, hostname, 'watcherDown', subject, msg('tamper.startedAgain'), e.at);
        // Restarted after a watchdog stop: over unless the stops repeat (then the sweep closes it).
        if (this.open.has(`${agentId}|${TAMPER_RULES.watchdog.id}|`) && (await this.watchdogStops(agentId, e.at)) < this.opts.watchdogRepeat) {
          await this.closeIfOpen(agentId, hostname, 'watchdog', '', msg('tamper.startedAgain'), e.at);
        }
        return;
      case 'watchdog.limit':
        return this.onWatchdogStop(agentId, hostname, e.at, detail);
      case 'stopping':
        if (detail.shutdown === true) return this.setLifecycle(agentId, 'shutdown', e.at);
        await this.setLifecycle(agentId, 'stopped', e.at);
        return this.openIfNew(agentId, hostname, 'stopped', '', { ...detail }, msg('tamper.stopped', { signal: typeof detail.signal === 'string' ? detail.signal : msg('tamper.noSignal') }), e.at);
      case 'uninstalling':
        await this.setLifecycle(agentId, 'uninstalled', e.at);
        // The uninstaller stops the service first: that stop was part of the uninstall, reported as such.
        await this.closeIfOpen(agentId, hostname, 'stopped', '', msg('tamper.supersededByUninstall'), e.at);
        return this.openIfNew(agentId, hostname, 'uninstalled', '', { ...detail }, msg('tamper.uninstalled'), e.at);
      case 'stopped.unclean': {
        const down = typeof detail.downSeconds === 'number' ? detail.downSeconds : null;
        return this.openIfNew(agentId, hostname, 'stopped', 'unclean', { ...detail }, down !== null ? msg('tamper.uncleanDown', { seconds: down }) : msg('tamper.unclean'), e.at, true);
      }
      case 'seq.ahead':
        return this.openIfNew(agentId, hostname, 'seqDisagreement', '', { ...detail }, msg('tamper.seqAhead', { collector: String(detail.collectorLastSeq), own: String(detail.ownLastSeq) }), e.at, true);
      case 'config.changed':
      case 'binary.changed':
      case 'catalogue.changed': {
        const subject = e.notice === 'config.changed' ? 'config' : e.notice === 'binary.changed' ? 'binary' : 'catalogue';
        const change = msg('tamper.hashChanged', { what: msg(`tamper.what.${subject}`), old: String(detail.oldSha256 ?? '?').slice(0, 12), new: String(detail.newSha256 ?? '?').slice(0, 12) });
        return this.openIfNew(agentId, hostname, 'tampered', subject, { ...detail }, change, e.at, true);
      }
      case 'watcher.down':
      case 'watcher.up': {
        const subject = typeof detail.watcher === 'string' ? detail.watcher.slice(0, 64) : 'watcher';
        const reason = typeof detail.reason === 'string' ? detail.reason : '';
        if (e.notice === 'watcher.up') return void (await this.closeIfOpen(agentId, hostname, 'watcherDown', subject, msg('tamper.watcherUp', { watcher: subject }), e.at));
        return this.openIfNew(agentId, hostname, 'watcherDown', subject, { ...detail }, msg('tamper.watcherDown', { watcher: subject, reason: reason.slice(0, 800) }), e.at);
      }
      default:
        return;
    }
  }

  /**
   * The agent stopped itself over a resource limit: AGENT-008 with the figure, medium for a
   * stop now and then, high when the stops within the period reach `watchdogRepeat`.
   */
  private async onWatchdogStop(agentId: string, hostname: string, at: string, detail: Record<string, unknown>): Promise<void> {
    await this.deps.store.sql.run('INSERT INTO tamper_watchdog_stops (agent_id, at) VALUES (?, ?) ON CONFLICT (agent_id, at) DO NOTHING', [agentId, at]);
    const count = await this.watchdogStops(agentId, at);
    const hours = Math.round(this.opts.watchdogWindowMs / 3_600_000);
    const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
    const reason =
      detail.limit === 'memory'
        ? msg('tamper.watchdogMemory', { used: Math.round(num(detail.rssBytes) / 1024 / 1024), limit: Math.round(num(detail.limitValue) / 1024 / 1024), count, hours })
        : msg('tamper.watchdogCpu', { used: num(detail.cpuPercent), limit: num(detail.limitValue), samples: num(detail.samples), count, hours });
    const repeated = count >= this.opts.watchdogRepeat;
    const facts = { ...detail, stopsInWindow: count, windowHours: hours, repeatAt: this.opts.watchdogRepeat };
    await this.openIfNew(agentId, hostname, 'watchdog', '', facts, reason, at, true, repeated ? 'high' : TAMPER_RULES.watchdog.severity);
  }

  /** Watchdog stops of an agent within the period up to `at`. */
  private async watchdogStops(agentId: string, at: string): Promise<number> {
    const since = new Date(Date.parse(at) - this.opts.watchdogWindowMs).toISOString();
    const row = await this.deps.store.sql.get<{ n: number }>('SELECT count(*) AS n FROM tamper_watchdog_stops WHERE agent_id = ? AND at > ? AND at <= ?', [agentId, since, at]);
    return Number(row?.n ?? 0);
  }

  /** Close AGENT-008 of agents whose period passed without a watchdog stop, and forget stops older than the period. */
  private async sweepWatchdog(now: Date): Promise<void> {
    const since = new Date(now.getTime() - this.opts.watchdogWindowMs).toISOString();
    const hours = Math.round(this.opts.watchdogWindowMs / 3_600_000);
    for (const agentId of [...this.open].filter((k) => k.split('|')[1] === TAMPER_RULES.watchdog.id).map((k) => k.split('|')[0]!)) {
      if ((await this.watchdogStops(agentId, now.toISOString())) > 0) continue;
      const agent = await this.deps.store.getAgent(agentId);
      await this.closeIfOpen(agentId, agent?.hostname ?? '', 'watchdog', '', msg('tamper.watchdogQuiet', { hours }), now.toISOString());
    }
    await this.deps.store.sql.run('DELETE FROM tamper_watchdog_stops WHERE at <= ?', [since]);
  }

  /** Subjects of this agent's open violations of one kind. */
  private openSubjects(agentId: string, kind: TamperKind): string[] {
    const prefix = `${agentId}|${TAMPER_RULES[kind].id}|`;
    return [...this.open].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
  }

  /** Look for agents silent longer than the limit. */
  async sweep(now = new Date()): Promise<void> {
    await this.sweepWatchdog(now);
    const limit = now.getTime() - this.opts.silentAfterMs;
    const lifecycle = new Map((await this.deps.store.sql.all<{ agent_id: string; state: Lifecycle }>('SELECT agent_id, state FROM tamper_lifecycle')).map((r) => [r.agent_id, r.state]));
    for (const a of await this.deps.store.listAgents()) {
      if (a.revokedAt || a.online || this.deps.isConnected(a.id)) continue;
      const state = lifecycle.get(a.id) ?? 'running';
      if (state !== 'running') continue;
      const last = a.lastSeenAt ?? a.enrolledAt;
      if (Date.parse(last) >= limit) continue;
      const silentMinutes = Math.round((now.getTime() - Date.parse(last)) / 60_000);
      await this.openIfNew(a.id, a.hostname, 'silent', '', { lastSeenAt: last, silentMinutes, limitMinutes: Math.round(this.opts.silentAfterMs / 60_000) }, msg('tamper.silent', { minutes: silentMinutes, limit: Math.round(this.opts.silentAfterMs / 60_000) }), now.toISOString());
    }
  }

  /** An administrator confirmed a change (AGENT-004) was authorised: close it. */
  async resolve(agentId: string, kind: TamperKind, subject: string, by: string): Promise<boolean> {
    const agent = await this.deps.store.getAgent(agentId);
    return this.closeIfOpen(agentId, agent?.hostname ?? '', kind, subject, msg('tamper.confirmed', { by }), new Date().toISOString(), true);
  }

  private async setLifecycle(agentId: string, state: Lifecycle, at: string): Promise<void> {
    await this.deps.store.sql.run('INSERT INTO tamper_lifecycle (agent_id, state, at) VALUES (?, ?, ?) ON CONFLICT (agent_id) DO UPDATE SET state = excluded.state, at = excluded.at', [agentId, state, at]);
  }

  private async openIfNew(agentId: string, hostname: string, kind: TamperKind, subject: string, facts: Record<string, unknown>, reasonMsg: Msg, at: string, always = false, severity: Severity = TAMPER_RULES[kind].severity): Promise<void> {
    const rule = TAMPER_RULES[kind];
    const key = `${agentId}|${rule.id}|${subject}`;
    if (this.open.has(key) && !always) return;
    const now = new Date().toISOString();
    const reason = render(reasonMsg).slice(0, 1000);
    const event: AgentEvent = {
      seq: 0,
      at,
      kind: 'violation.opened',
      policyVersion: 0,
      violation: { checkId: 'beyond', ruleId: rule.id, subject, result: 'fail', severity, title: rule.title, message: rule.message, reason, reasonMsg, clauses: rule.clauses, facts },
    };
    // The row and its event for the forwarders are stored together or not at all.
    await this.deps.store.sql.transaction(async (tx) => {
      await tx.run(
      `INSERT INTO violations (agent_id, rule_id, subject, check_id, state, result, severity, title_json, message_json, reason, reason_msg, clauses_json, facts_json, user_name, opened_at, closed_at, closed_reason, closed_reason_msg, updated_at)
       VALUES (?, ?, ?, 'beyond', 'open', 'fail', ?, ?, ?, ?, ?, ?, ?, NULL, ?, NULL, NULL, NULL, ?)
       ON CONFLICT (agent_id, rule_id, subject) DO UPDATE SET
         state = 'open', result = excluded.result, severity = excluded.severity, title_json = excluded.title_json,
         message_json = excluded.message_json, reason = excluded.reason, reason_msg = excluded.reason_msg, clauses_json = excluded.clauses_json, facts_json = excluded.facts_json,
         opened_at = CASE WHEN violations.state = 'open' THEN violations.opened_at ELSE excluded.opened_at END,
         closed_at = NULL, closed_reason = NULL, closed_reason_msg = NULL, updated_at = excluded.updated_at`,
      [agentId, rule.id, subject, severity, JSON.stringify(rule.title), JSON.stringify(rule.message), reason, JSON.stringify(reasonMsg), JSON.stringify(rule.clauses), JSON.stringify(facts), at, now],
      );
      await insertCollectorEvent(tx, { agentId, hostname, event, receivedAt: now });
    });
    this.open.add(key);
    this.deps.log.warn(`tamper evidence: ${rule.id} ${rule.title.en} (${hostname || agentId})`, { agentId, ruleId: rule.id, subject, reason });
    this.deps.bus.emit('event', { agentId, hostname, event, receivedAt: now });
  }

  private async closeIfOpen(agentId: string, hostname: string, kind: TamperKind, subject: string, reasonMsg: Msg, at: string, force = false): Promise<boolean> {
    const rule = TAMPER_RULES[kind];
    const key = `${agentId}|${rule.id}|${subject}`;
    if (!this.open.has(key) && !force) return false;
    const now = new Date().toISOString();
    const reason = render(reasonMsg).slice(0, 1000);
    const event: AgentEvent = { seq: 0, at, kind: 'violation.closed', checkId: 'beyond', ruleId: rule.id, subject, reason, reasonMsg };
    // The closed row and its event for the forwarders (these violations are not in the agent's
    // event sequence) are stored together or not at all.
    const changed = await this.deps.store.sql.transaction(async (tx) => {
      const n = await tx.run(
        "UPDATE violations SET state = 'closed', closed_at = ?, closed_reason = ?, closed_reason_msg = ?, updated_at = ? WHERE agent_id = ? AND rule_id = ? AND subject = ? AND state = 'open'",
        [at, reason, JSON.stringify(reasonMsg), now, agentId, rule.id, subject],
      );
      if (n > 0) await insertCollectorEvent(tx, { agentId, hostname, event, receivedAt: now });
      return n;
    });
    this.open.delete(key);
    if (changed === 0) return false;
    this.deps.log.info(`tamper evidence closed: ${rule.id} (${hostname || agentId}): ${reason}`, { agentId, ruleId: rule.id, subject });
    this.deps.bus.emit('event', { agentId, hostname, event, receivedAt: now });
    return true;
  }
}
