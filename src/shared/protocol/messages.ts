/**
 * The wire protocol between agent and collector: JSON text frames over one WebSocket,
 * every frame validated by the schemas below on both sides. Types are inferred from the
 * schemas, so there is one source of truth. See docs/protocol.md for the flow.
 */
import { z } from 'zod';
import { MsgSchema } from '../i18n/render.js';
import { SignedUpdateStatement } from '../updates/statement.js';

/** Protocol version spoken by this build. The collector also accepts SUPPORTED_VERSIONS. */
export const PROTOCOL_VERSION = 1;
export const SUPPORTED_VERSIONS: readonly number[] = [1];

const MAX_OUTBOX_CAP_BYTES = 1024 * 1024 * 1024;
const MIN_EVENT_BYTES = 64;

/** Limits shared by both sides. */
export const LIMITS = {
  /** Largest frame the collector accepts (ws maxPayload), in bytes. */
  maxFrameBytes: 4 * 1024 * 1024,
  /** Most events in one `events` frame. */
  maxBatchEvents: 1000,
  /** Largest single event, serialised, in bytes. */
  maxEventBytes: 1024 * 1024,
  /** Deepest nesting of arrays and objects in a frame (JSON.stringify of deeper values overflows the stack). */
  maxJsonDepth: 64,
  /**
   * Most sequence numbers one `gap` event may cover. An outbox drops whole segments when it is
   * over its size cap; the largest cap an agent may be given is maxOutboxCapBytes and the
   * smallest event the agent writes is minEventBytes, so no honest gap covers more than
   * maxOutboxCapBytes / minEventBytes sequence numbers (the outbox starts a new gap record
   * rather than grow one past it). See docs/protocol.md "Gaps".
   */
  maxGapSpan: MAX_OUTBOX_CAP_BYTES / MIN_EVENT_BYTES,
  /** Largest outbox size cap an agent accepts (agent configuration outboxCapBytes). */
  maxOutboxCapBytes: MAX_OUTBOX_CAP_BYTES,
  /** Smallest serialised event: {"seq":1,"at":"<24-char ISO time>","kind":"…"} is over 64 bytes. */
  minEventBytes: MIN_EVENT_BYTES,
  /** Largest frame before authentication (challenge answer: hello or enroll), in bytes. */
  maxPreAuthBytes: 16 * 1024,
  /**
   * Largest policy version in any frame: PostgreSQL's integer, the type of agents.policy_version.
   * The collector's versions count up from 0 (its policy epoch); a larger number sent by an agent
   * would fail the statement that writes it, and with it the whole group commit, heartbeat or
   * presence batch of every agent written together with that one.
   */
  maxPolicyVersion: 2_147_483_647,
} as const;

const isoTime = z.iso.datetime({ offset: true });
const agentId = z.string().regex(/^ag_[0-9a-z]{20,40}$/, 'agent id must look like ag_…');
const shortText = z.string().max(512);
/** base64 DER SubjectPublicKeyInfo of an Ed25519 key (44 bytes → 60 characters). */
const agentPublicKey = z.string().regex(/^[A-Za-z0-9+/]{59}=$/, 'public key must be base64 SPKI DER of an Ed25519 key');
const seq = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const policyVersion = z.number().int().nonnegative().max(LIMITS.maxPolicyVersion);
/** One PEM certificate (a client certificate the collector's CA issued to an agent). */
const certificatePem = z.string().max(8192).regex(/^-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\r?\n?$/, 'one PEM certificate');

export const Segment = z.enum(['mynumber', 'lgwan', 'internet']);
export type Segment = z.infer<typeof Segment>;

export const Severity = z.enum(['critical', 'high', 'medium', 'low', 'info']);
export type Severity = z.infer<typeof Severity>;

export const CheckId = z.enum(['usb-media', 'software', 'antivirus', 'screen-lock', 'os-patches', 'beyond', 'sign-in', 'admin-rights', 'autorun', 'services', 'logging', 'wireless', 'inventory', 'mfa', 'cloud-accounts', 'local-accounts']);
export type CheckId = z.infer<typeof CheckId>;

export const RuleResult = z.enum(['pass', 'fail', 'not_applicable', 'unknown', 'excepted']);
export type RuleResult = z.infer<typeof RuleResult>;

/** A clause of a municipal standard: source id from config/sources.yml and the clause as that source numbers it. */
export const ClauseRef = z.object({ source: z.string().max(16), ref: z.string().max(64) });
export type ClauseRef = z.infer<typeof ClauseRef>;

export const OsInfo = z.object({
  platform: z.enum(['linux', 'windows', 'darwin', 'other']),
  hostname: z.string().max(255),
  release: z.string().max(128),
  name: z.string().max(128).optional(),
  version: z.string().max(64).optional(),
  arch: z.string().max(32).optional(),
});
export type OsInfo = z.infer<typeof OsInfo>;

/** A facts excerpt or facts snapshot: plain JSON, bounded by LIMITS.maxEventBytes. */
const jsonRecord = z.record(z.string(), z.unknown());

/** A violation as the agent judged it: one rule, one subject (a device, a user, a package …). */
export const Violation = z.object({
  checkId: CheckId,
  ruleId: z.string().max(64),
  /** Stable key of the thing in violation within the rule, e.g. a USB fingerprint or a user name; "" for the PC itself. */
  subject: z.string().max(256),
  result: z.enum(['fail', 'unknown']),
  severity: Severity,
  title: z.object({ ja: shortText, en: shortText }),
  message: z.object({ ja: z.string().max(2048), en: z.string().max(2048) }),
  reason: z.string().max(1024),
  /** The reason as a message (src/shared/i18n), so the console can show it in either language; `reason` is its Japanese text. */
  reasonMsg: MsgSchema.optional(),
  clauses: z.array(ClauseRef).max(32),
  facts: jsonRecord,
  /** Logged-on user concerned, when the subject belongs to one. */
  user: z.string().max(256).optional(),
});
export type Violation = z.infer<typeof Violation>;

const eventBase = { seq, at: isoTime };

/** Agent → collector events. Each carries the agent's own sequence number and the time taken on the PC. */
export const AgentEvent = z.discriminatedUnion('kind', [
  z.object({ ...eventBase, kind: z.literal('violation.opened'), violation: Violation, policyVersion }),
  z.object({
    ...eventBase,
    kind: z.literal('violation.closed'),
    checkId: CheckId,
    ruleId: z.string().max(64),
    subject: z.string().max(256),
    reason: z.string().max(1024),
    reasonMsg: MsgSchema.optional(),
  }),
  /** Result of every rule after one evaluation of one check (what the self-inspection report counts). */
  z.object({
    ...eventBase,
    kind: z.literal('results'),
    checkId: CheckId,
    policyVersion,
    results: z
      .array(z.object({ ruleId: z.string().max(64), subject: z.string().max(256), result: RuleResult, reason: z.string().max(1024), reasonMsg: MsgSchema.optional() }))
      .max(5000),
  }),
  /** The facts one check observed, for the PC page and for re-judging on the collector. */
  z.object({ ...eventBase, kind: z.literal('facts'), checkId: CheckId, status: z.enum(['ok', 'unknown']), facts: jsonRecord }),
  /** Events that the agent had to drop because its outbox reached its size cap: never silent loss. */
  z.object({
    ...eventBase,
    kind: z.literal('gap'),
    /** Last sequence number covered by this gap; the gap covers seq … throughSeq. */
    throughSeq: seq,
    /** How many events were lost; at most the span seq … throughSeq, which is at most LIMITS.maxGapSpan (checked by the collector). */
    dropped: z.number().int().positive().max(LIMITS.maxGapSpan),
    reason: z.string().max(256),
  }),
  z.object({
    ...eventBase,
    kind: z.literal('scan.result'),
    requestId: z.string().max(64),
    checks: z.array(z.object({ checkId: CheckId, status: z.enum(['ok', 'unknown', 'error']), failed: z.number().int().nonnegative(), reason: z.string().max(1024).optional() })).max(16),
  }),
  z.object({ ...eventBase, kind: z.literal('policy.applied'), version: policyVersion }),
  /** Lifecycle of the agent itself: started, stopping, uninstalling, config changed … */
  z.object({ ...eventBase, kind: z.literal('agent.notice'), notice: z.string().max(64), detail: jsonRecord.optional() }),
]);
export type AgentEvent = z.infer<typeof AgentEvent>;
export type AgentEventKind = AgentEvent['kind'];
/** An event before the outbox gives it a sequence number. */
export type NewAgentEvent = AgentEvent extends infer E ? (E extends { seq: number } ? Omit<E, 'seq'> : never) : never;

/** The policy the collector pushes: parameters per rule and lists such as the media ledger. */
const hhmm = z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'HH:MM');
/** Which rules notify the person at the PC, whom they contact, when not to notify, how often (config/notices.yml `policy`). */
export const NoticePolicy = z.object({
  rules: z.array(z.string().max(64)).max(1000),
  /** Source id (config/sources.yml) of the standard this site follows: its clauses are the ones shown. */
  standard: z.string().max(16),
  contact: z.object({ role: z.string().max(64), name: z.string().max(128), extension: z.string().max(64), mail: z.string().max(128) }),
  /** JST; notices opened in this window are not shown (and recorded as such). null = none. */
  quietHours: z.object({ from: hhmm, to: hhmm }).nullable(),
  rateLimitMinutes: z.number().int().min(0).max(7 * 24 * 60),
});
export type NoticePolicy = z.infer<typeof NoticePolicy>;

export const PolicyDocument = z.object({
  version: policyVersion,
  /** The segment and the PC (agent id) this policy was made for, under the signature: an agent refuses a policy for another. */
  segment: Segment.optional(),
  agentId: agentId.optional(),
  /** Rule ids switched off for this PC. */
  disabledRules: z.array(z.string().max(64)).max(1000).default([]),
  /** Rules that are off unless the site switches them on (defaultEnabled: false), e.g. allow-list mode. */
  enabledRules: z.array(z.string().max(64)).max(1000).default([]),
  /** Parameter values by rule id, overriding the catalogue's product defaults. */
  params: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
  /** Lists referenced by rules (e.g. registeredMedia from the 媒体管理台帳). */
  lists: z.record(z.string(), z.array(z.string().max(512)).max(100_000)).default({}),
  /** Active 例外措置 (rule id + subject, '*' = any subject) with their end; findings they cover are reported as excepted. */
  exceptions: z.array(z.object({ ruleId: z.string().max(64), subject: z.string().max(256), until: isoTime, id: z.string().max(64) })).max(10_000).default([]),
  /** Desktop notices to the person at the PC (agent/notify); a field left out keeps config/notices.yml's default. */
  notices: NoticePolicy.partial().extend({ enabled: z.boolean().optional() }).optional(),
});
export type PolicyDocument = z.infer<typeof PolicyDocument>;

// ---------------------------------------------------------------- agent → collector frames

export const EnrollFrame = z.object({
  type: z.literal('enroll'),
  v: z.number().int(),
  token: z.string().min(8).max(256),
  os: OsInfo,
  agentVersion: z.string().max(64),
  /** The agent's own Ed25519 public key, made on the PC for this enrollment; the private key never leaves the PC. */
  publicKey: agentPublicKey,
});

export const HelloFrame = z.object({
  type: z.literal('hello'),
  v: z.number().int(),
  agentId,
  /** base64 Ed25519 signature of "mamori-auth-v2|" + nonce + "|" + agentId with the agent's private key (auth.ts). */
  signature: z.string().regex(/^[A-Za-z0-9+/]{86}==$/).optional(),
  /**
   * Agents enrolled before key pairs: hex HMAC-SHA256(secret, "mamori-auth-v1|" + nonce + "|" + agentId).
   * Accepted only for an agent with no registered key, and only together with publicKey and
   * signature: the agent registers its new key on that connection and the secret is deleted.
   */
  proof: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  /** The key pair made on the PC to replace the HMAC secret (with proof, once). */
  publicKey: agentPublicKey.optional(),
  os: OsInfo,
  agentVersion: z.string().max(64),
  policyVersion,
  /** Highest sequence number this agent has given out: the collector never holds more (a disagreement is AGENT-006). */
  lastSeq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
  /**
   * The agent has no valid client certificate (or its certificate is due for renewal): a
   * collector that issues them answers with `certificate`, for the key this hello's signature
   * proves the agent holds (docs/security.md "Mutual TLS").
   */
  requestCertificate: z.boolean().optional(),
}).refine((h) => h.signature !== undefined || h.proof !== undefined, { message: 'hello needs a signature (or, before key pairs, a proof)', path: ['signature'] });

export const EventsFrame = z.object({
  type: z.literal('events'),
  agentId,
  events: z.array(AgentEvent).min(1).max(LIMITS.maxBatchEvents),
});

export const HeartbeatFrame = z.object({
  type: z.literal('heartbeat'),
  at: isoTime,
  policyVersion,
  /** Unacknowledged events in the outbox. */
  outboxDepth: z.number().int().nonnegative(),
  rssBytes: z.number().int().nonnegative().optional(),
  cpuPercent: z.number().nonnegative().optional(),
});

/** After welcome: the agent's client certificate is due for renewal (a third of its lifetime left). */
export const CertRequestFrame = z.object({ type: z.literal('cert.request') });

export const AgentFrame = z.discriminatedUnion('type', [EnrollFrame, HelloFrame, EventsFrame, HeartbeatFrame, CertRequestFrame]);
export type AgentFrame = z.infer<typeof AgentFrame>;
export type EnrollFrame = z.infer<typeof EnrollFrame>;
export type HelloFrame = z.infer<typeof HelloFrame>;
export type EventsFrame = z.infer<typeof EventsFrame>;
export type HeartbeatFrame = z.infer<typeof HeartbeatFrame>;

// ---------------------------------------------------------------- collector → agent frames

export const ChallengeFrame = z.object({ type: z.literal('challenge'), v: z.number().int(), nonce: z.string().regex(/^[0-9a-f]{64}$/), serverTime: isoTime });
export const EnrolledFrame = z.object({
  type: z.literal('enrolled'),
  agentId,
  segment: Segment,
  /** The collector's Ed25519 policy-signing public key (base64 DER SubjectPublicKeyInfo): the agent uses only policies it signed. */
  policyKey: z.string().regex(/^[A-Za-z0-9+/]{40,200}={0,2}$/),
  /** This PC's policy and its signature, when the collector has one: the agent judges with it from its first check. */
  policy: PolicyDocument.optional(),
  policySignature: z.string().max(1024).optional(),
  /** The agent's client certificate, when the collector issues them (same key as enroll.publicKey). */
  certificate: certificatePem.optional(),
});
export const WelcomeFrame = z.object({
  type: z.literal('welcome'),
  agentId,
  /** Highest sequence number the collector has durably stored for this agent (0 = none). */
  lastSeq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  serverTime: isoTime,
  heartbeatSeconds: z.number().int().positive(),
  segment: Segment,
});
export const AckFrame = z.object({ type: z.literal('ack'), upTo: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER) });
export const ScanRequestFrame = z.object({ type: z.literal('scan.request'), requestId: z.string().max(64), checks: z.array(CheckId).max(16) });
/** A policy and the collector's Ed25519 signature of its canonical JSON (base64); the agent refuses a push without a valid one. */
export const PolicyPushFrame = z.object({ type: z.literal('policy.push'), policy: PolicyDocument, signature: z.string().max(1024).optional() });

/** A client certificate for the agent's registered key, signed by the collector's CA (answer to hello.requestCertificate or cert.request). */
export const CertificateFrame = z.object({ type: z.literal('certificate'), certificate: certificatePem });

/** One package of an agent update: its signed statement (src/shared/updates/statement.ts) and where to download it. */
const OfferedPackage = SignedUpdateStatement.extend({ path: z.string().regex(/^\/agent\/update\/[A-Za-z0-9_-]{1,64}$/) });
/**
 * Install this package (agent/update): the agent downloads it and the package of the version it
 * runs now (`rollback`, kept to go back to) over the pinned TLS connection with `token`,
 * installs it only when the statement's signature verifies with its pinned release key, and
 * goes back to `rollback` when the new agent has not reached the collector within `deadlineSeconds`.
 */
export const UpdateOfferFrame = z.object({
  type: z.literal('update.offer'),
  rolloutId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  target: OfferedPackage,
  rollback: OfferedPackage,
  token: z.string().regex(/^[A-Za-z0-9_-]{32,128}$/),
  deadlineSeconds: z.number().int().min(10).max(24 * 3600),
});

export const CollectorFrame = z.discriminatedUnion('type', [ChallengeFrame, EnrolledFrame, WelcomeFrame, AckFrame, ScanRequestFrame, PolicyPushFrame, CertificateFrame, UpdateOfferFrame]);
export type CollectorFrame = z.infer<typeof CollectorFrame>;
export type WelcomeFrame = z.infer<typeof WelcomeFrame>;
export type ScanRequestFrame = z.infer<typeof ScanRequestFrame>;
export type PolicyPushFrame = z.infer<typeof PolicyPushFrame>;
export type EnrolledFrame = z.infer<typeof EnrolledFrame>;
export type CertificateFrame = z.infer<typeof CertificateFrame>;
export type UpdateOfferFrame = z.infer<typeof UpdateOfferFrame>;
