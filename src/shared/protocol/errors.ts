/**
 * Close codes of the agent WebSocket. Every code is stable and documented in
 * docs/protocol.md; the collector logs the code and the reason with the agent id.
 * 4000–4999 is the range RFC 6455 leaves to applications.
 */
export const CloseCode = {
  /** Normal end, e.g. after enrollment or on shutdown of the agent. */
  NORMAL: 1000,
  /** The collector is shutting down; the agent reconnects with backoff. */
  GOING_AWAY: 1001,
  /** Frame larger than the collector's maxPayload (sent by ws itself). */
  MESSAGE_TOO_BIG: 1009,
  /** A newer connection of the same agent replaced this one. */
  SUPERSEDED: 4000,
  /** The frame is not JSON, or not a JSON object. */
  MALFORMED_FRAME: 4400,
  /** A frame other than enroll/hello arrived before authentication. */
  AUTH_REQUIRED: 4401,
  /** Wrong proof, unknown agent id, or a frame speaking for another agent id. */
  AUTH_FAILED: 4403,
  /** No frame and no pong within the heartbeat timeout. */
  HEARTBEAT_TIMEOUT: 4408,
  /** A sequence number that leaves a hole, or does not increase within a batch. */
  SEQ_OUT_OF_RANGE: 4409,
  /** The agent was revoked by an administrator. */
  AGENT_REVOKED: 4410,
  /**
   * The collector requires a client certificate (mutual TLS) and this connection presented no
   * valid one; a `certificate` frame may have preceded the close: reconnect with it.
   */
  CLIENT_CERT_REQUIRED: 4412,
  /** A frame type the protocol does not know. */
  UNKNOWN_TYPE: 4415,
  /** A known frame type whose fields do not match its schema. */
  SCHEMA_VIOLATION: 4422,
  /** The hello names a protocol version the collector does not speak. */
  UNSUPPORTED_VERSION: 4426,
  /** Too many frames or bytes per second on this connection. */
  RATE_LIMITED: 4429,
  /** Enrollment token unknown, expired, used up or revoked. */
  ENROLLMENT_REFUSED: 4498,
  /** The collector failed to store a batch; the agent retries later. */
  SERVER_ERROR: 4500,
} as const;

export type CloseCodeName = keyof typeof CloseCode;

const NAME_BY_CODE = new Map<number, CloseCodeName>(
  (Object.entries(CloseCode) as [CloseCodeName, number][]).map(([name, code]) => [code, name]),
);

/** The symbolic name of a close code, for logs ("AUTH_FAILED"), or "UNKNOWN". */
export function closeCodeName(code: number): string {
  return NAME_BY_CODE.get(code) ?? 'UNKNOWN';
}

/** Codes after which the agent must not retry with the same credentials. */
export const FATAL_FOR_AGENT: ReadonlySet<number> = new Set([CloseCode.AGENT_REVOKED, CloseCode.ENROLLMENT_REFUSED]);

/** An error that carries a stable close code, thrown inside the gateway and turned into a close. */
export class ProtocolError extends Error {
  constructor(
    readonly closeCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
  get codeName(): string {
    return closeCodeName(this.closeCode);
  }
}
