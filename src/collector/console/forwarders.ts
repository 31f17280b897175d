/**
 * Forwarding of violations to a SIEM: syslog (RFC 5424 over UDP, TCP, or TLS per RFC 5425)
 * and signed webhooks. The configuration lives in console_forwarders; what has been
 * delivered lives in the store (store/forwarding.ts), so neither a receiver outage nor a
 * collector restart loses an event, and in a cluster exactly one node delivers each
 * forwarder (forward-runner.ts).
 *
 * Where a new forwarder starts: by default with the violations received from its creation
 * on; `includeHistory` makes it send every violation event still in the store first (the
 * oldest first), e.g. when a SIEM is connected to a collector that has been running.
 */
import { msg } from '../../shared/i18n/index.js';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../shared/log.js';
import type { Severity } from '../../shared/protocol/messages.js';
import { tlsDir } from '../../shared/tls/material.js';
import type { ForwardItem } from '../store/forwarding.js';
import type { CollectorBus } from '../bus.js';
import type { Store } from '../store/store.js';
import { COLLECTOR_AGENT_ID, COLLECTOR_HOSTNAME, closeBehind, openBehind } from './forward-behind.js';
import { badRequest, notFound } from './errors.js';
import type { ForwardedCheckpoint, ForwardedViolation } from './forward-format.js';
import { AUDIT_CHECKPOINT_NOTICE, subjectDetails } from './forward-format.js';
import type { RunnerTimings } from './forward-runner.js';
import { ForwarderRunner, RUNNER_DEFAULTS } from './forward-runner.js';
import type { Sink } from './forward-sinks.js';
import { StreamSink, UdpSink, WebhookSink, parseHostPort } from './forward-sinks.js';
import { newId } from './util.js';

export const FORWARDER_KINDS = ['syslog-udp', 'syslog-tcp', 'syslog-tls', 'webhook'] as const;
export type ForwarderKind = (typeof FORWARDER_KINDS)[number];

const SEVERITIES: readonly Severity[] = ['critical', 'high', 'medium', 'low', 'info'];

export interface ForwarderConfig {
  id: string;
  kind: ForwarderKind;
  /** host:port for syslog, http(s) URL for the webhook. */
  target: string;
  minSeverity: Severity;
  enabled: boolean;
  /** Violations received at or after this time are forwarded; "" = the whole history. */
  since: string;
  /** syslog-tls: "collector" (the collector's own CA) or "site" (the PEM given at creation). */
  trust: 'collector' | 'site' | null;
  createdAt: string;
  createdBy: string;
}

export interface ForwarderStatus {
  /** Violation events not yet delivered. */
  backlog: number;
  oldestPendingAt: string | null;
  /** The oldest pending event waits longer than the limit (see behindAfterMs). */
  behind: boolean;
  lastError: string | null;
  lastErrorAt: string | null;
  lastDeliveredAt: string | null;
  delivered: number;
  abandoned: number;
  /** The collector node delivering it now. */
  node: string | null;
}

export interface ForwarderInput {
  kind: string;
  target: string;
  minSeverity?: Severity;
  includeHistory?: boolean;
  /** Webhook: the HMAC secret (at least 32 characters); generated when absent. */
  secret?: string;
  /** syslog-tls: PEM of a site CA; absent = the collector's own CA. */
  caPem?: string;
}

export interface ForwardingOptions {
  timings?: Partial<RunnerTimings>;
  /** A forwarder whose oldest pending event waits longer than this is behind, FWD-001 (default 15 min). */
  behindAfterMs?: number;
  /** How often forwarders are checked for being behind (default 60 s). */
  behindCheckMs?: number;
  /** How often the configuration is re-read, so a forwarder added on another collector node runs here too (default 10 s). */
  configPollMs?: number;
}

export interface ForwardersDeps {
  store: Store;
  bus: CollectorBus;
  nodeId: string;
  dataDir: string;
  log: Logger;
  /** The department and group a PC is assigned to (the console's fleet). */
  assignmentOf(agentId: string): { department: string | null; group: string | null };
}

export function validateForwarder(input: ForwarderInput): { kind: ForwarderKind; target: string } {
  const kind = input.kind as ForwarderKind;
  if (!FORWARDER_KINDS.includes(kind)) throw badRequest(msg('error.forwarder.kind', { kinds: FORWARDER_KINDS.join(', ') }));
  if (kind === 'webhook') {
    let url: URL;
    try {
      url = new URL(input.target);
    } catch {
      throw badRequest(msg('error.forwarder.notUrl', { target: input.target }));
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badRequest(msg('error.forwarder.scheme'));
    if (input.secret !== undefined && input.secret.length < 32) throw badRequest(msg('error.forwarder.secretShort'));
    return { kind, target: url.toString() };
  }
  if (!parseHostPort(input.target)) throw badRequest(msg('error.forwarder.hostPort', { target: input.target }));
  if (input.caPem !== undefined && kind !== 'syslog-tls') throw badRequest(msg('error.forwarder.caKind'));
  if (input.caPem !== undefined && !/-----BEGIN CERTIFICATE-----/.test(input.caPem)) throw badRequest(msg('error.forwarder.caPem'));
  return { kind, target: input.target.trim() };
}

export class Forwarders {
  private runners = new Map<string, ForwarderRunner>();
  private readonly timings: RunnerTimings;
  private readonly behindAfterMs: number;
  private readonly behindCheckMs: number;
  private behindTimer: NodeJS.Timeout | undefined;
  private readonly configPollMs: number;
  private configTimer: NodeJS.Timeout | undefined;
  /** The configuration the runners were started with (compared by syncConfig). */
  private loaded = '';
  private reloading: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: ForwardersDeps,
    opts: ForwardingOptions = {},
  ) {
    this.timings = { ...RUNNER_DEFAULTS, ...opts.timings };
    this.behindAfterMs = opts.behindAfterMs ?? 15 * 60_000;
    this.behindCheckMs = opts.behindCheckMs ?? 60_000;
    this.configPollMs = opts.configPollMs ?? 10_000;
  }

  private async configText(): Promise<string> {
    return JSON.stringify(await this.sql.all('SELECT id, kind, target, min_severity, enabled, secret, ca_pem, since FROM console_forwarders ORDER BY id'));
  }

  /** Restart the runners when another node changed the configuration. */
  async syncConfig(): Promise<void> {
    if ((await this.configText()) !== this.loaded) await this.reload();
  }

  private get sql() {
    return this.deps.store.sql;
  }

  async list(): Promise<ForwarderConfig[]> {
    const rows = await this.sql.all<Record<string, unknown>>('SELECT * FROM console_forwarders ORDER BY created_at');
    return rows.map((r) => ({
      id: String(r.id),
      kind: r.kind as ForwarderKind,
      target: String(r.target),
      minSeverity: r.min_severity as Severity,
      enabled: Number(r.enabled) === 1,
      since: r.since === null || r.since === undefined ? String(r.created_at) : String(r.since),
      trust: r.kind === 'syslog-tls' ? (r.ca_pem ? 'site' : 'collector') : null,
      createdAt: String(r.created_at),
      createdBy: String(r.created_by),
    }));
  }

  async status(id: string, since: string): Promise<ForwarderStatus> {
    const [backlog, state] = await Promise.all([this.deps.store.forwardBacklog(id, since), this.deps.store.forwardState(id)]);
    const behind = backlog.oldestReceivedAt !== null && Date.now() - Date.parse(backlog.oldestReceivedAt) > this.behindAfterMs;
    const leaseLive = state.leaseUntil !== null && state.leaseUntil > new Date().toISOString();
    return { backlog: backlog.pending, oldestPendingAt: backlog.oldestReceivedAt, behind, lastError: state.lastError, lastErrorAt: state.lastErrorAt, lastDeliveredAt: state.lastDeliveredAt, delivered: state.delivered, abandoned: state.abandoned, node: leaseLive ? state.leaseOwner : null };
  }

  async listWithStatus(): Promise<(ForwarderConfig & { status: ForwarderStatus })[]> {
    return Promise.all((await this.list()).map(async (f) => ({ ...f, status: await this.status(f.id, f.since) })));
  }

  /** Add a forwarder; a webhook's secret is returned here once and never again. */
  async add(input: ForwarderInput, by: string): Promise<{ forwarder: ForwarderConfig; secret?: string }> {
    const { kind, target } = validateForwarder(input);
    const minSeverity = input.minSeverity ?? 'info';
    if (!SEVERITIES.includes(minSeverity)) throw badRequest(msg('error.forwarder.severity'));
    if (kind === 'syslog-tls' && input.caPem === undefined && !existsSync(join(tlsDir(this.deps.dataDir), 'ca.crt'))) throw badRequest(msg('error.forwarder.noCa'));
    const secret = kind === 'webhook' ? (input.secret ?? randomBytes(32).toString('hex')) : null;
    const id = newId('fwd');
    const createdAt = new Date().toISOString();
    await this.sql.run('INSERT INTO console_forwarders (id, kind, target, min_severity, enabled, created_at, created_by, secret, ca_pem, since) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?)', [
      id,
      kind,
      target,
      minSeverity,
      createdAt,
      by,
      secret,
      input.caPem ?? null,
      input.includeHistory ? '' : createdAt,
    ]);
    await this.reload();
    const forwarder = (await this.list()).find((f) => f.id === id)!;
    return secret && input.secret === undefined ? { forwarder, secret } : { forwarder };
  }

  /** A new webhook secret, returned once. */
  async rotateSecret(id: string, secret?: string): Promise<string> {
    const f = (await this.list()).find((x) => x.id === id);
    if (!f) throw notFound(msg('error.forwarder.notFound', { id }));
    if (f.kind !== 'webhook') throw badRequest(msg('error.forwarder.secretWebhookOnly'));
    if (secret !== undefined && secret.length < 32) throw badRequest(msg('error.forwarder.secretShort'));
    const next = secret ?? randomBytes(32).toString('hex');
    await this.sql.run('UPDATE console_forwarders SET secret = ? WHERE id = ?', [next, id]);
    await this.reload();
    return next;
  }

  async remove(id: string): Promise<void> {
    const changed = await this.sql.run('DELETE FROM console_forwarders WHERE id = ?', [id]);
    if (!changed) throw notFound(msg('error.forwarder.notFound', { id }));
    await this.reload();
    await this.deps.store.forwardForget(id);
    await closeBehind(this.deps, id, '転送先が削除されました');
  }

  /** (Re)start a runner for every enabled forwarder, and the check for forwarders behind. */
  reload(): Promise<void> {
    // One at a time: a change made here and the periodic sync must not start a forwarder twice.
    const next = this.reloading.then(() => this.restart());
    this.reloading = next.catch(() => undefined);
    return next;
  }

  private async restart(): Promise<void> {
    await this.stopRunners();
    this.behindTimer ??= setInterval(() => void this.checkBehind().catch((err: Error) => this.deps.log.warn('forwarder behind check failed', { error: err.message })), this.behindCheckMs);
    this.behindTimer.unref();
    this.configTimer ??= setInterval(() => void this.syncConfig().catch((err: Error) => this.deps.log.warn('forwarder configuration check failed', { error: err.message })), this.configPollMs);
    this.configTimer.unref();
    this.loaded = await this.configText();
    const rows = new Map((await this.sql.all<Record<string, unknown>>('SELECT id, secret, ca_pem FROM console_forwarders')).map((r) => [String(r.id), r]));
    for (const config of await this.list()) {
      if (!config.enabled) continue;
      const row = rows.get(config.id)!;
      const runner = new ForwarderRunner(
        { id: config.id, minSeverity: config.minSeverity, since: config.since, batch: config.kind === 'webhook' ? 10 : 200 },
        this.sinkOf(config, row.secret as string | null, row.ca_pem as string | null),
        { store: this.deps.store, nodeId: this.deps.nodeId, log: this.deps.log, render: (item) => this.render(item), timings: this.timings },
      );
      this.runners.set(config.id, runner);
      runner.start();
    }
  }

  private sinkOf(config: ForwarderConfig, secret: string | null, caPem: string | null): Sink {
    if (config.kind === 'webhook') return new WebhookSink(config.target, secret ?? '');
    const { host, port } = parseHostPort(config.target)!;
    if (config.kind === 'syslog-udp') return new UdpSink(host, port);
    if (config.kind === 'syslog-tcp') return new StreamSink(host, port);
    return new StreamSink(host, port, caPem ?? readFileSync(join(tlsDir(this.deps.dataDir), 'ca.crt'), 'utf8'));
  }

  /** A violation was stored on this node: deliver now rather than at the next poll. */
  wake(): void {
    for (const r of this.runners.values()) r.wake();
  }

  /** Open FWD-001 for each forwarder behind, close it for each that caught up. */
  async checkBehind(): Promise<void> {
    for (const f of await this.list()) {
      if (!f.enabled) continue;
      const st = await this.status(f.id, f.since);
      if (st.behind) {
        const waitedMinutes = Math.floor((Date.now() - Date.parse(st.oldestPendingAt!)) / 60_000);
        const reason = `転送先 ${f.target} (${f.kind}) に未送信の違反が ${st.backlog} 件あり、最も古いものは ${waitedMinutes} 分待っています${st.lastError ? `。最後のエラー: ${st.lastError}` : ''}`;
        const facts = { forwarder: f.id, kind: f.kind, target: f.target, backlog: st.backlog, oldestPendingAt: st.oldestPendingAt, lastError: st.lastError, lastErrorAt: st.lastErrorAt, limitMinutes: Math.round(this.behindAfterMs / 60_000) };
        if (await openBehind(this.deps, f.id, facts, reason.slice(0, 1000))) this.deps.log.error(`FWD-001: ${reason}`, { forwarder: f.id });
      } else if (await closeBehind(this.deps, f.id, `転送が追いつきました (未送信 ${st.backlog} 件)`)) {
        this.deps.log.info(`FWD-001 closed: forwarder ${f.id} caught up`, { forwarder: f.id });
      }
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.behindTimer);
    clearInterval(this.configTimer);
    this.behindTimer = undefined;
    this.configTimer = undefined;
    await this.reloading;
    await this.stopRunners();
  }

  private async stopRunners(): Promise<void> {
    const runners = [...this.runners.values()];
    this.runners.clear();
    await Promise.all(runners.map((r) => r.stop()));
  }

  /** Log an audit log checkpoint for every forwarder to deliver durably (syslog, webhook). */
  async recordCheckpoint(c: ForwardedCheckpoint): Promise<void> {
    const now = new Date().toISOString();
    await this.deps.store.appendCollectorEvent({ agentId: COLLECTOR_AGENT_ID, hostname: COLLECTOR_HOSTNAME, event: { seq: 0, at: c.at, kind: 'agent.notice', notice: AUDIT_CHECKPOINT_NOTICE, detail: { ...c } }, receivedAt: now });
    this.wake();
  }

  /** The forwarded record of a stored violation event, completed from the violation as stored (for a close: its severity, title, facts). */
  async render(item: ForwardItem): Promise<ForwardedViolation> {
    const e = item.event;
    const a = this.deps.assignmentOf(item.agentId);
    const base = { id: item.eventId, agentId: item.agentId, hostname: item.hostname, department: a.department ?? '', group: a.group ?? '', at: e.at, receivedAt: item.receivedAt };
    if (e.kind === 'violation.opened') {
      const v = e.violation;
      return { ...base, type: e.kind, ruleId: v.ruleId, checkId: v.checkId, subject: v.subject, details: subjectDetails(v.facts, v.subject), severity: v.severity, title: v.title, message: v.message, reason: v.reason, user: v.user ?? '', clauses: v.clauses };
    }
    if (e.kind === 'agent.notice' && e.notice === AUDIT_CHECKPOINT_NOTICE) {
      const c = e.detail as unknown as ForwardedCheckpoint;
      return {
        ...base,
        type: 'audit.checkpoint',
        checkpoint: { seq: c.seq, hash: c.hash, count: c.count, at: c.at, mac: c.mac },
        ruleId: '',
        checkId: '',
        subject: `audit:${c.seq}`,
        details: { model: '', label: '', serial: '', program: '' },
        severity: 'info',
        title: { ja: '操作記録のチェックポイント', en: 'Audit log checkpoint' },
        message: { ja: `操作記録 ${c.count} 件、最新 ${c.seq} 番のハッシュ ${c.hash}`, en: `audit log of ${c.count} rows, head ${c.seq} hash ${c.hash}` },
        reason: '',
        user: '',
        clauses: [],
      };
    }
    if (e.kind !== 'violation.closed') throw new Error(`not a violation event: ${e.kind}`);
    const stored = (await this.deps.store.listViolations({ agentId: item.agentId, ruleId: e.ruleId })).find((v) => v.subject === e.subject);
    return {
      ...base,
      type: e.kind,
      ruleId: e.ruleId,
      checkId: e.checkId,
      subject: e.subject,
      details: subjectDetails(stored?.facts ?? {}, e.subject),
      severity: stored?.severity ?? 'info',
      title: stored?.title ?? { ja: e.ruleId, en: e.ruleId },
      message: stored?.message ?? { ja: '', en: '' },
      reason: e.reason,
      user: stored?.user ?? '',
      clauses: stored?.clauses ?? [],
    };
  }
}
