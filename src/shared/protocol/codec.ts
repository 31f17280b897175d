/**
 * Decoding of frames: text → JSON → schema, with a ProtocolError carrying the close code
 * for each way a frame can be bad. Used by the collector gateway (agent frames) and the
 * agent link (collector frames).
 */
import type { z } from 'zod';
import { CloseCode, ProtocolError } from './errors.js';
import { AgentFrame, CollectorFrame, LIMITS } from './messages.js';
import { checkedViolationsFrame } from './violations-frame.js';

function parseObject(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProtocolError(CloseCode.MALFORMED_FRAME, 'frame is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolError(CloseCode.MALFORMED_FRAME, 'frame is not a JSON object');
  }
  return value as Record<string, unknown>;
}

/** Whether a parsed JSON value nests arrays/objects deeper than `max` (iterative: no stack to overflow). */
function depthOver(root: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > max) return true;
    for (const child of Array.isArray(value) ? value : Object.values(value)) if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
  return false;
}

function decode<S extends z.ZodType>(schema: S, known: ReadonlySet<string>, obj: Record<string, unknown>): z.infer<S> {
  if (depthOver(obj, LIMITS.maxJsonDepth)) throw new ProtocolError(CloseCode.SCHEMA_VIOLATION, `frame is nested deeper than ${LIMITS.maxJsonDepth} levels`);
  if (typeof obj.type !== 'string' || !known.has(obj.type)) {
    throw new ProtocolError(CloseCode.UNKNOWN_TYPE, `unknown frame type ${JSON.stringify(String(obj.type)).slice(0, 64)}`);
  }
  const parsed = schema.safeParse(obj);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first ? first.path.join('.') : '';
    throw new ProtocolError(CloseCode.SCHEMA_VIOLATION, `${obj.type}: ${where || '(frame)'} ${first?.message ?? 'invalid'}`.slice(0, 200));
  }
  return parsed.data;
}

const AGENT_TYPES = new Set(['enroll', 'hello', 'events', 'heartbeat', 'cert.request']);
const COLLECTOR_TYPES = new Set(['challenge', 'enrolled', 'welcome', 'ack', 'scan.request', 'policy.push', 'certificate', 'update.offer']);

/** An agent's frame, and for an events frame of violations each event's own text in it (violations-frame.ts). */
export interface DecodedAgentFrame {
  frame: AgentFrame;
  /** JSON.parse of each is the frame's event of the same index; absent when the frame's text cannot give them. */
  eventTexts?: string[];
}

/** Decode a frame sent by an agent; throws ProtocolError with the close code to use. */
export function readAgentFrame(text: string): DecodedAgentFrame {
  const obj = parseObject(text);
  // The frame agents send most is checked by hand; any other, and any bad one, by the schema.
  const checked = checkedViolationsFrame(obj, text);
  if (checked) return checked;
  return { frame: decode(AgentFrame, AGENT_TYPES, obj) };
}

/** Decode a frame sent by an agent; throws ProtocolError with the close code to use. */
export function decodeAgentFrame(text: string): AgentFrame {
  return readAgentFrame(text).frame;
}

/** Decode a frame sent by the collector; throws ProtocolError. */
export function decodeCollectorFrame(text: string): CollectorFrame {
  return decode(CollectorFrame, COLLECTOR_TYPES, parseObject(text));
}
