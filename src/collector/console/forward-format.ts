/**
 * What a forwarder sends for one violation event, and how: the JSON body of a webhook (with
 * its HMAC-SHA256 signature) and the RFC 5424 syslog message.
 *
 * The same record feeds both, so a SIEM sees the same values whichever way it listens:
 * department and group are "" when unassigned (never null in one and "-" in the other),
 * the severity is the violation's own also when it closes, and the Japanese message is
 * sent with the English one.
 */
import { createHmac } from 'node:crypto';
import type { ClauseRef, Severity } from '../../shared/protocol/messages.js';

/** What the subject of a violation is, as far as its facts tell (each "" when they do not). */
export interface SubjectDetails {
  /** USB device: manufacturer and product as the device reports them. */
  model: string;
  /** Volume label of a medium. */
  label: string;
  /** USB serial number. */
  serial: string;
  /** Program or package (name, or path when there is no name). */
  program: string;
}

/** The `agent.notice` a collector logs for forwarders when it takes an audit log checkpoint. */
export const AUDIT_CHECKPOINT_NOTICE = 'audit.checkpoint';

/** The head of the console audit log at one moment, MACed with the key outside the database (src/collector/console/audit.ts). */
export interface ForwardedCheckpoint {
  seq: number;
  hash: string;
  count: number;
  at: string;
  mac: string;
}

/**
 * One violation opened or closed, as forwarded — or an audit log checkpoint
 * (`audit.checkpoint`, with `checkpoint` set), which every forwarder sends whatever its
 * minimum severity, so a copy of the chain's head lives outside the collector.
 */
export interface ForwardedViolation {
  /** Stable id for de-duplication: the same event always has the same id, also when re-sent. */
  id: string;
  type: 'violation.opened' | 'violation.closed' | 'audit.checkpoint';
  checkpoint?: ForwardedCheckpoint;
  agentId: string;
  hostname: string;
  department: string;
  group: string;
  ruleId: string;
  checkId: string;
  subject: string;
  details: SubjectDetails;
  severity: Severity;
  title: { ja: string; en: string };
  message: { ja: string; en: string };
  reason: string;
  user: string;
  clauses: ClauseRef[];
  /** When it happened on the PC. */
  at: string;
  receivedAt: string;
}

const text = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

/**
 * The subject's details from a violation's facts. The facts are the excerpt the rule judged:
 * a USB device (agent/checks/usb-media/facts.ts UsbDevice), a package or process
 * (agent/checks/software/facts.ts), or the check's facts with a `devices` list.
 */
export function subjectDetails(facts: Record<string, unknown>, subject: string): SubjectDetails {
  let item: Record<string, unknown> = facts;
  if (Array.isArray(facts.devices)) {
    const device = (facts.devices as Record<string, unknown>[]).find((d) => d && typeof d === 'object' && d.fingerprint === subject);
    if (device) item = device;
  }
  const volumes = Array.isArray(item.volumes) ? (item.volumes as Record<string, unknown>[]) : [];
  const model = [text(item.manufacturer), text(item.product)].filter(Boolean).join(' ') || text(item.model);
  const label = text(item.label) || text(item.volumeLabel) || volumes.map((v) => text(v?.label)).find(Boolean) || '';
  const program = text(item.installed) || text(item.name) || text(item.path) || text(item.displayName);
  return { model, label, serial: text(item.serial), program };
}

// ---------------------------------------------------------------- webhook

export const WEBHOOK_HEADERS = { timestamp: 'x-mamori-timestamp', signature: 'x-mamori-signature', eventId: 'x-mamori-event-id' } as const;

/** `v1=` + hex HMAC-SHA256(secret, timestamp + "." + body): what X-Mamori-Signature carries. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

// ---------------------------------------------------------------- syslog

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

/** PARAM-VALUE escapes '"', '\' and ']' (RFC 5424 §6.3.3). */
const sdValue = (v: string): string => v.replace(/[\\"\]]/g, (c) => `\\${c}`);

/**
 * One RFC 5424 message (without transport framing). An open is sent at the violation's
 * severity, a close at informational; both carry the violation's severity in the
 * structured data.
 *
 * MSG is UTF-8 without the BOM RFC 5424 §6.4 describes (so formally MSG-ANY): rsyslog keeps
 * a BOM as the first characters of its `msg` property (rsyslog issue #284, still open; seen
 * with Debian 12's rsyslog 8.2302 in test/console/forwarders-rsyslog.test.ts), and SIEM rules
 * anchored on the start of the message then never match (keycloak issue #32744 reports the
 * same with other receivers). No field of the message starts with a BOM.
 */
export function syslogMessage(v: ForwardedViolation): string {
  const pri = FACILITY * 8 + (v.type === 'violation.opened' ? SYSLOG_SEVERITY[v.severity] : 6);
  const params: [string, string][] = [
    ['id', v.id],
    ['agent', v.agentId],
    ['rule', v.ruleId],
    ['check', v.checkId],
    ['subject', v.subject],
    ['severity', v.severity],
    ['department', v.department],
    ['group', v.group],
    ['user', v.user],
    ['model', v.details.model],
    ['label', v.details.label],
    ['serial', v.details.serial],
    ['program', v.details.program],
    ['clauses', v.clauses.map((c) => `${c.source}:${c.ref}`).join(' ')],
    ['received', v.receivedAt],
    ...(v.checkpoint ? ([['audit-seq', String(v.checkpoint.seq)], ['audit-hash', v.checkpoint.hash], ['audit-count', String(v.checkpoint.count)], ['audit-at', v.checkpoint.at], ['audit-mac', v.checkpoint.mac]] as [string, string][]) : []),
  ];
  const sd = `[${SD_ID} ${params.map(([k, val]) => `${k}="${sdValue(val)}"`).join(' ')}]`;
  const what = v.type === 'violation.opened' ? '違反' : v.type === 'violation.closed' ? '解消' : '記録';
  const msg = v.checkpoint ? `${what} ${v.title.ja}: ${v.message.ja}` : `${what} ${v.title.ja}: ${v.message.ja} 理由: ${v.reason}`;
  return `<${pri}>1 ${v.at} ${headerField(v.hostname, 255)} mamori - ${headerField(v.type, 32)} ${sd} ${msg}`;
}

/** Octet counting: "<length> <message>" (RFC 6587 §3.4.1, the framing RFC 5425 §4.3 uses over TLS). */
export function octetCounted(msg: string): string {
  return `${Buffer.byteLength(msg, 'utf8')} ${msg}`;
}
