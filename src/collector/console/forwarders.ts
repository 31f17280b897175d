/**
 * Forwarding of violations to a SIEM: syslog (RFC 5424 over UDP, or over TCP with
 * octet-counting framing, RFC 6587 §3.4.1) and a webhook (JSON POST). Fed from the bus after
 * the events are stored; a forwarder that is down loses nothing of the collector's own record
 * (the database holds every event) and keeps a bounded queue while it reconnects.
 */
import { createSocket } from 'node:dgram';
import type { Socket as UdpSocket } from 'node:dgram';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { Logger } from '../../shared/log.js';
import type { Severity } from '../../shared/protocol/messages.js';
import type { StoredAgentEvent } from '../bus.js';
import type { SqlRunner } from '../store/sql.js';
import { badRequest, notFound } from './errors.js';
import { newId } from './util.js';

export const FORWARDER_KINDS = ['syslog-udp', 'syslog-tcp', 'webhook'] as const;
export type ForwarderKind = (typeof FORWARDER_KINDS)[number];

export interface ForwarderConfig {
  id: string;
  kind: ForwarderKind;
  /** host:port for syslog, http(s) URL for the webhook. */
  target: string;
  minSeverity: Severity;
  enabled: boolean;
  createdAt: string;
  createdBy: string;
}

/** What is forwarded: one violation opened or closed. */
export interface ForwardedViolation {
  type: 'violation.opened' | 'violation.closed';
  agentId: string;
  hostname: string;
  department: string | null;
  ruleId: string;
  checkId: string;
  subject: string;
  severity: Severity;
  title: { ja: string; en: string };
  reason: string;
  user: string | null;
  clauses: { source: string; ref: string }[];
  /** When it happened on the PC. */
  at: string;
  receivedAt: string;
}

const SEVERITY_RANK: Record<Severity, number> = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };
/** RFC 5424 §6.2.1 severities: crit, err, warning, notice, informational. */
const SYSLOG_SEVERITY: Record<Severity, number> = { critical: 2, high: 3, medium: 4, low: 5, info: 6 };
/** local0 (RFC 5424 table 1). */
const FACILITY = 16;
/** RFC 5612 reserves enterprise number 32473 for documentation and examples; sites may map it. */
const SD_ID = 'mamori@32473';

/** Header fields: printable US-ASCII without spaces, at most `max` characters (RFC 5424 §6). */
function headerField(v: string, max: number): string {
  const s = v.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return s || '-';
}

const sdValue = (v: string): string => v.replace(/[\\"\]]/g, (c) => `\\${c}`);

/** One RFC 5424 message (without transport framing). */
export function syslogMessage(v: ForwardedViolation): string {
  const pri = FACILITY * 8 + (v.type === 'violation.closed' ? 6 : SYSLOG_SEVERITY[v.severity]);
  const params: [string, string][] = [
    ['agent', v.agentId],
    ['rule', v.ruleId],
    ['check', v.checkId],
    ['subject', v.subject],
    ['severity', v.severity],
    ['department', v.department ?? ''],
    ['user', v.user ?? ''],
    ['clauses', v.clauses.map((c) => `${c.source}:${c.ref}`).join(' ')],
    ['received', v.receivedAt],
  ];
  const sd = `[${SD_ID} ${params.map(([k, val]) => `${k}="${sdValue(val)}"`).join(' ')}]`;
  const text = `${v.type === 'violation.opened' ? 'OPEN' : 'CLOSED'} ${v.title.ja} / ${v.title.en}: ${v.reason}`;
  // MSG in UTF-8 starts with a BOM (RFC 5424 §6.4).
  return `<${pri}>1 ${v.at} ${headerField(v.hostname, 255)} mamori - ${headerField(v.type, 32)} ${sd} \uFEFF${text}`;
}

interface Sink {
  send(v: ForwardedViolation): void;
  close(): void;
}

function parseHostPort(target: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:]+)):(\d{1,5})$/.exec(target.trim());
  if (!m || Number(m[3]) > 65535 || Number(m[3]) === 0) throw badRequest(`${target}: expected HOST:PORT`);
  return { host: m[1] ?? m[2]!, port: Number(m[3]) };
}

class UdpSink implements Sink {
  private readonly socket: UdpSocket;
  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly log: Logger,
  ) {
    this.socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    this.socket.on('error', (err) => this.log.warn('syslog udp forwarder', { error: err.message }));
    this.socket.unref();
  }
  send(v: ForwardedViolation): void {
    const buf = Buffer.from(syslogMessage(v), 'utf8');
    // RFC 5426 §3.2: one message per datagram; receivers must take 480 bytes, should take 2048.
    this.socket.send(buf, this.port, this.host);
  }
  close(): void {
    this.socket.close();
  }
}

class TcpSink implements Sink {
  private socket: Socket | undefined;
  private connected = false;
  private readonly queue: string[] = [];
  private closed = false;
  private retry: NodeJS.Timeout | undefined;
  static readonly MAX_QUEUE = 10_000;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly log: Logger,
  ) {
    this.open();
  }
  private open(): void {
    if (this.closed) return;
    const s = connect({ host: this.host, port: this.port });
    this.socket = s;
    s.setNoDelay(true);
    s.on('connect', () => {
      this.connected = true;
      for (const m of this.queue.splice(0)) s.write(m);
    });
    s.on('error', (err) => this.log.warn('syslog tcp forwarder', { error: err.message }));
    s.on('close', () => {
      this.connected = false;
      if (!this.closed) this.retry = setTimeout(() => this.open(), 2000).unref();
    });
  }
  send(v: ForwardedViolation): void {
    const msg = syslogMessage(v);
    // Octet counting: "<length> <message>" (RFC 6587 §3.4.1), so messages may contain newlines.
    const framed = `${Buffer.byteLength(msg, 'utf8')} ${msg}`;
    if (this.connected && this.socket) this.socket.write(framed);
    else {
      if (this.queue.length >= TcpSink.MAX_QUEUE) this.queue.shift();
      this.queue.push(framed);
    }
  }
  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.socket?.end();
    this.socket?.destroy();
  }
}

class WebhookSink implements Sink {
  private chain: Promise<void> = Promise.resolve();
  constructor(
    private readonly url: string,
    private readonly log: Logger,
  ) {}
  send(v: ForwardedViolation): void {
    this.chain = this.chain.then(() => this.post(v, 0));
  }
  private async post(v: ForwardedViolation, attempt: number): Promise<void> {
    try {
      const res = await fetch(this.url, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'mamori-collector' }, body: JSON.stringify(v), signal: AbortSignal.timeout(5000) });
      if (res.status >= 500 && attempt < 2) return this.post(v, attempt + 1);
      if (!res.ok) this.log.warn('webhook forwarder', { status: res.status, url: this.url });
    } catch (err) {
      if (attempt < 2) {
        await new Promise((r) => setTimeout(r, 1000 * (attempt + 1)));
        return this.post(v, attempt + 1);
      }
      this.log.warn('webhook forwarder', { error: (err as Error).message, url: this.url });
    }
  }
  close(): void {}
}

export function validateForwarder(kind: string, target: string): { kind: ForwarderKind; target: string } {
  if (!FORWARDER_KINDS.includes(kind as ForwarderKind)) throw badRequest(`kind must be one of ${FORWARDER_KINDS.join(', ')}`);
  if (kind === 'webhook') {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      throw badRequest(`${target}: not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badRequest('webhook URL must be http or https');
    return { kind: 'webhook', target: url.toString() };
  }
  parseHostPort(target);
  return { kind: kind as ForwarderKind, target: target.trim() };
}

export class Forwarders {
  private sinks = new Map<string, { config: ForwarderConfig; sink: Sink }>();

  constructor(
    private readonly sql: SqlRunner,
    private readonly log: Logger,
  ) {}

  /** Whether any forwarder is open (the bus listener returns at once otherwise). */
  get active(): boolean {
    return this.sinks.size > 0;
  }

  async list(): Promise<ForwarderConfig[]> {
    const rows = await this.sql.all<Record<string, unknown>>('SELECT * FROM console_forwarders ORDER BY created_at');
    return rows.map((r) => ({
      id: String(r.id),
      kind: r.kind as ForwarderKind,
      target: String(r.target),
      minSeverity: r.min_severity as Severity,
      enabled: Number(r.enabled) === 1,
      createdAt: String(r.created_at),
      createdBy: String(r.created_by),
    }));
  }

  async add(input: { kind: string; target: string; minSeverity?: Severity }, by: string): Promise<ForwarderConfig> {
    const { kind, target } = validateForwarder(input.kind, input.target);
    const minSeverity = input.minSeverity ?? 'info';
    if (!(minSeverity in SEVERITY_RANK)) throw badRequest('minSeverity must be a severity');
    const id = newId('fwd');
    await this.sql.run('INSERT INTO console_forwarders (id, kind, target, min_severity, enabled, created_at, created_by) VALUES (?, ?, ?, ?, 1, ?, ?)', [id, kind, target, minSeverity, new Date().toISOString(), by]);
    await this.reload();
    return (await this.list()).find((f) => f.id === id)!;
  }

  async remove(id: string): Promise<void> {
    const changed = await this.sql.run('DELETE FROM console_forwarders WHERE id = ?', [id]);
    if (!changed) throw notFound(`no forwarder ${id}`);
    await this.reload();
  }

  /** (Re)open a sink for every enabled forwarder. */
  async reload(): Promise<void> {
    for (const { sink } of this.sinks.values()) sink.close();
    this.sinks.clear();
    for (const config of await this.list()) {
      if (!config.enabled) continue;
      let sink: Sink;
      if (config.kind === 'webhook') sink = new WebhookSink(config.target, this.log);
      else {
        const { host, port } = parseHostPort(config.target);
        sink = config.kind === 'syslog-udp' ? new UdpSink(host, port, this.log) : new TcpSink(host, port, this.log);
      }
      this.sinks.set(config.id, { config, sink });
    }
  }

  /** Send to every forwarder whose minimum severity the violation reaches. */
  forward(v: ForwardedViolation, only?: string): void {
    for (const { config, sink } of this.sinks.values()) {
      if (only && config.id !== only) continue;
      if (SEVERITY_RANK[v.severity] > SEVERITY_RANK[config.minSeverity]) continue;
      sink.send(v);
    }
  }

  close(): void {
    for (const { sink } of this.sinks.values()) sink.close();
    this.sinks.clear();
  }
}

/** The forwarded record of a stored agent event, or undefined for events that are not violations. */
export function forwardedOf(e: StoredAgentEvent, lookup: (agentId: string, ruleId: string, subject: string) => { department: string | null; severity?: Severity; title?: { ja: string; en: string }; clauses?: { source: string; ref: string }[] }): ForwardedViolation | undefined {
  const ev = e.event;
  if (ev.kind === 'violation.opened') {
    const v = ev.violation;
    return { type: ev.kind, agentId: e.agentId, hostname: e.hostname, department: lookup(e.agentId, v.ruleId, v.subject).department, ruleId: v.ruleId, checkId: v.checkId, subject: v.subject, severity: v.severity, title: v.title, reason: v.reason, user: v.user ?? null, clauses: v.clauses, at: ev.at, receivedAt: e.receivedAt };
  }
  if (ev.kind === 'violation.closed') {
    const l = lookup(e.agentId, ev.ruleId, ev.subject);
    return { type: ev.kind, agentId: e.agentId, hostname: e.hostname, department: l.department, ruleId: ev.ruleId, checkId: ev.checkId, subject: ev.subject, severity: l.severity ?? 'info', title: l.title ?? { ja: ev.ruleId, en: ev.ruleId }, reason: ev.reason, user: null, clauses: l.clauses ?? [], at: ev.at, receivedAt: e.receivedAt };
  }
  return undefined;
}
