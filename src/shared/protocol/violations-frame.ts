/**
 * The frame the collector receives most — `events` carrying only `violation.opened` events —
 * checked by hand instead of by zod, and each event's own text found in the frame, so the
 * collector's sockets thread neither copies the frame through zod nor serialises every event
 * again for the store.
 *
 * `checkedViolationsFrame` accepts a frame only when zod would accept it (messages.ts,
 * EventsFrame) and zod's result would equal the parsed object as it is: no key the schema does
 * not name (zod strips them), no `__proto__` key in a record (zod drops it), no string whose
 * length in UTF-16 units is over its limit (zod counts code points; such a string is left to
 * zod), nothing nested deeper than LIMITS.maxJsonDepth. For every other frame it answers
 * undefined and the caller decodes with zod, so a bad frame always gets zod's error and close code.
 */
import { z } from 'zod';
import { CheckId, LIMITS, Severity } from './messages.js';
import type { EventsFrame } from './messages.js';

/** The pattern of z.iso.datetime({ offset: true }), the schema of an event's `at`. */
const ISO_TIME = z.core.regexes.datetime({ offset: true });
const AGENT_ID = /^ag_[0-9a-z]{20,40}$/;
const CHECK_IDS: ReadonlySet<unknown> = new Set(CheckId.options);
const SEVERITIES: ReadonlySet<unknown> = new Set(Severity.options);

/** A frame the check accepted, and the text of each of its events as it stands in the frame. */
export interface CheckedViolationsFrame {
  frame: EventsFrame;
  /**
   * JSON.parse of each text is the event of the same index; absent when the frame's text has
   * whitespace between tokens, a key twice, a key written with an escape, a number not written
   * as JSON.stringify writes it, or an event longer than LIMITS.maxEventBytes.
   */
  eventTexts?: string[];
}

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Own keys of a parsed JSON object (for-in: JSON.parse makes no inherited enumerable ones). */
function keyCount(o: Obj): number {
  let n = 0;
  for (const _ in o) n++;
  return n;
}

function text(v: unknown, max: number): boolean {
  return typeof v === 'string' && v.length <= max;
}

function count(v: unknown, positive: boolean): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && (positive ? v > 0 : v >= 0);
}

/**
 * Members (object keys) under a JSON value of a record, or -1 when the value nests deeper than
 * the frame allows (`depth`: the nesting of `v` in the frame, the frame itself being 1).
 */
function membersOf(v: unknown, depth: number): number {
  if (typeof v !== 'object' || v === null) return 0;
  if (depth > LIMITS.maxJsonDepth) return -1;
  let n = 0;
  if (Array.isArray(v)) {
    for (const item of v) {
      const m = membersOf(item, depth + 1);
      if (m < 0) return -1;
      n += m;
    }
    return n;
  }
  for (const key in v) {
    const m = membersOf((v as Obj)[key], depth + 1);
    if (m < 0) return -1;
    n += m + 1;
  }
  return n;
}

/** Members of a z.record(z.string(), z.unknown()) at `depth`, or -1 (not a record zod returns unchanged, or too deep). */
function recordMembers(v: unknown, depth: number): number {
  if (!isObject(v) || Object.hasOwn(v, '__proto__')) return -1;
  return membersOf(v, depth);
}

function pair(v: unknown, maxJa: number, maxEn: number): boolean {
  return isObject(v) && keyCount(v) === 2 && text(v.ja, maxJa) && text(v.en, maxEn);
}

/** Members of a valid `violation` (depth 4), or -1. */
function violationMembers(v: unknown): number {
  if (!isObject(v)) return -1;
  let keys = 10;
  let members = 0;
  if (v.user !== undefined) {
    if (!text(v.user, 256)) return -1;
    keys += 1;
  }
  if (v.reasonMsg !== undefined) {
    const m = v.reasonMsg;
    if (!isObject(m) || !text(m.id, 64)) return -1;
    let msgKeys = 1;
    if (m.params !== undefined) {
      const params = recordMembers(m.params, 6);
      if (params < 0) return -1;
      members += params;
      msgKeys += 1;
    }
    if (keyCount(m) !== msgKeys) return -1;
    members += msgKeys;
    keys += 1;
  }
  if (keyCount(v) !== keys) return -1;
  if (!CHECK_IDS.has(v.checkId) || !text(v.ruleId, 64) || !text(v.subject, 256) || (v.result !== 'fail' && v.result !== 'unknown') || !SEVERITIES.has(v.severity)) return -1;
  if (!pair(v.title, 512, 512) || !pair(v.message, 2048, 2048) || !text(v.reason, 1024)) return -1;
  const clauses = v.clauses;
  if (!Array.isArray(clauses) || clauses.length > 32) return -1;
  for (const c of clauses) if (!isObject(c) || keyCount(c) !== 2 || !text(c.source, 16) || !text(c.ref, 64)) return -1;
  const facts = recordMembers(v.facts, 5);
  if (facts < 0) return -1;
  return keys + 4 + clauses.length * 2 + members + facts;
}

/** Where the first backslash at or after `from` is, or the text's length when there is none. */
function nextBackslash(text: string, from: number): number {
  const at = text.indexOf('\\', from);
  return at < 0 ? text.length : at;
}

/** Where the number starting at `start` ends (its characters: digits, `-`, `+`, `.`, `e`, `E`). */
function numberEnd(text: string, start: number): number {
  let end = start + 1;
  for (let c = text.charCodeAt(end); (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d; c = text.charCodeAt(++end));
  return end;
}

/**
 * Whether the number text[start, end) is written as JSON.stringify writes its value. JSON.parse
 * reads `1.0`, `0.99999999999999999` and `9007199254740993` as 1, 1 and 2^53, and `1e400` as
 * Infinity (which JSON.stringify writes null); PostgreSQL's jsonb keeps such a number as written.
 * Integers of up to 15 characters (but -0) are exact and written as they are: no conversion for them.
 */
function numberAsSerialised(text: string, start: number, end: number): boolean {
  let digitsOnly = end - start <= 15;
  for (let k = text.charCodeAt(start) === 0x2d ? start + 1 : start; digitsOnly && k < end; k++) {
    const c = text.charCodeAt(k);
    digitsOnly = c >= 0x30 && c <= 0x39;
  }
  if (digitsOnly && !(text.charCodeAt(start) === 0x2d && text.charCodeAt(start + 1) === 0x30)) return true;
  const written = text.slice(start, end);
  return String(Number(written)) === written;
}

/**
 * Where each element of the frame's events array starts and ends, and how many members (`:`
 * outside strings) the whole text has; undefined when there is whitespace between tokens, a
 * key written with an escape, or a number not written as JSON.stringify writes it. Readers of
 * the stored text find keys by their text (the SQLite writer's report digest looks for
 * `"violation":`), so an event is stored as its own text only when each key is written as
 * JSON.stringify writes it: `"violatio\u006e":` would hide the event's violation from them and
 * show them a key of that name nested in its facts instead.
 * The text is valid JSON (JSON.parse read it), so every string ends.
 */
function scan(frameText: string): { bounds: number[]; members: number } | undefined {
  const bounds: number[] = [];
  let depth = 0;
  let members = 0;
  let slash = nextBackslash(frameText, 0);
  for (let i = 0; i < frameText.length; i++) {
    const c = frameText.charCodeAt(i);
    if (c === 0x22) {
      // To the closing quote: one not escaped by an odd run of backslashes.
      let end = frameText.indexOf('"', i + 1);
      for (;;) {
        let slashes = 0;
        while (frameText.charCodeAt(end - 1 - slashes) === 0x5c) slashes++;
        if (slashes % 2 === 0) break;
        end = frameText.indexOf('"', end + 1);
      }
      // A key (the string before a `:`) with a backslash in it: the first backslash after its opening quote comes before its end.
      if (slash <= i) slash = nextBackslash(frameText, i + 1);
      if (slash < end && frameText.charCodeAt(end + 1) === 0x3a) return undefined;
      i = end;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth === 3) bounds.push(i);
    } else if (c === 0x7d || c === 0x5d) {
      if (depth-- === 3) bounds.push(i + 1);
    } else if (c === 0x3a) members++;
    else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const end = numberEnd(frameText, i);
      if (!numberAsSerialised(frameText, i, end)) return undefined;
      i = end - 1;
    } else if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) return undefined;
  }
  return { bounds, members };
}

/**
 * The frame as an EventsFrame when it is one of violation.opened events that zod would return
 * unchanged; otherwise undefined (decode it with zod). `frameText` is the text `obj` was parsed from.
 */
export function checkedViolationsFrame(obj: Obj, frameText: string): CheckedViolationsFrame | undefined {
  if (obj.type !== 'events' || keyCount(obj) !== 3 || typeof obj.agentId !== 'string' || !AGENT_ID.test(obj.agentId)) return undefined;
  const events = obj.events;
  if (!Array.isArray(events) || events.length < 1 || events.length > LIMITS.maxBatchEvents) return undefined;
  let members = 3;
  for (const e of events) {
    if (!isObject(e) || keyCount(e) !== 5 || e.kind !== 'violation.opened' || !count(e.seq, true) || !count(e.policyVersion, false) || (e.policyVersion as number) > LIMITS.maxPolicyVersion) return undefined;
    if (typeof e.at !== 'string' || !ISO_TIME.test(e.at)) return undefined;
    const v = violationMembers(e.violation);
    if (v < 0) return undefined;
    members += 5 + v;
  }
  const frame = obj as unknown as EventsFrame;
  const found = scan(frameText);
  // As many members in the text as in the object: no key was given twice (JSON.parse keeps the
  // last, another reader of the stored text might take the first), so each text is the event.
  if (!found || found.members !== members || found.bounds.length !== events.length * 2) return { frame };
  const eventTexts: string[] = [];
  for (let i = 0; i < found.bounds.length; i += 2) {
    // The gateway measures an event serialised; its own text can be longer (escapes, digits) and must not be stored over the limit.
    if (found.bounds[i + 1]! - found.bounds[i]! > LIMITS.maxEventBytes) return { frame };
    eventTexts.push(frameText.slice(found.bounds[i], found.bounds[i + 1]));
  }
  return { frame, eventTexts };
}
