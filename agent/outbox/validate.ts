/**
 * Every event is checked against the wire schema and limits (src/shared/protocol/messages.ts,
 * the same the collector applies) before it enters the outbox. Much of what an event carries
 * comes from things a local user controls — a USB serial or volume label, a per-user
 * Uninstall entry's DisplayName, a process name — and one event the collector refuses would
 * otherwise hold back everything after it.
 *
 * What does not fit is cut to fit, never dropped: a string over its limit keeps its start and
 * ends with a marker naming its original length ("…(切り詰め: 9020文字)"), an array over its limit
 * keeps its first items, and an event still larger than LIMITS.maxEventBytes has its facts
 * replaced by a summary. The same input is always cut the same way, so the subject of a
 * violation stays the same key when it opens and when it closes.
 */
import { AgentEvent, LIMITS } from '../../src/shared/protocol/messages.js';
import type { NewAgentEvent } from '../../src/shared/protocol/messages.js';

export const truncationMarker = (originalChars: number): string => `…(切り詰め: ${originalChars}文字)`;

/** A string cut to at most `max` UTF-16 units, marker included, without splitting a surrogate pair. */
export function truncateText(s: string, max: number): string {
  const marker = truncationMarker([...s].length);
  let keep = Math.max(0, max - marker.length);
  if (keep > 0 && /[\uD800-\uDBFF]/.test(s[keep - 1] ?? '')) keep--;
  return (s.slice(0, keep) + marker).slice(0, max);
}

export interface FitResult {
  event: NewAgentEvent;
  /** Paths of what was cut ("violation.subject", "facts"), empty when the event fit. */
  cut: string[];
  /** Why the event still does not match the schema (a defect of the agent, not of the input); undefined when it does. */
  invalid?: string;
}

type Container = Record<string | number, unknown>;

function parentOf(root: unknown, path: readonly PropertyKey[]): { parent: Container; key: string | number } | undefined {
  let node = root as Container;
  for (const k of path.slice(0, -1)) {
    node = node?.[k as string] as Container;
    if (!node || typeof node !== 'object') return undefined;
  }
  const key = path[path.length - 1];
  return typeof key === 'string' || typeof key === 'number' ? { parent: node, key } : undefined;
}

/** A check of the event as the collector will check it (any seq will do for the shape). */
const check = (e: NewAgentEvent) => AgentEvent.safeParse({ ...e, seq: 1 });

function summary(facts: unknown): Record<string, unknown> {
  const text = JSON.stringify(facts) ?? '';
  return { truncated: true, bytes: Buffer.byteLength(text, 'utf8'), keys: facts && typeof facts === 'object' ? Object.keys(facts).slice(0, 50) : [] };
}

/** The event cut to the schema's limits (see the module comment). The input is not changed. */
export function fitEvent(input: NewAgentEvent): FitResult {
  let r = check(input);
  if (r.success && JSON.stringify(input).length <= LIMITS.maxEventBytes) return { event: input, cut: [] };
  const event = structuredClone(input) as NewAgentEvent;
  const cut: string[] = [];
  // A few passes: cutting one field can reveal nothing new, but unions report branch by branch.
  for (let pass = 0; pass < 4 && !r.success; pass++) {
    let changed = false;
    for (const issue of r.error.issues) {
      if (issue.code !== 'too_big') continue;
      const at = parentOf(event, issue.path);
      if (!at) continue;
      const value = at.parent[at.key];
      const max = Number(issue.maximum);
      if (typeof value === 'string' && value.length > max) {
        at.parent[at.key] = truncateText(value, max);
      } else if (Array.isArray(value) && value.length > max) {
        at.parent[at.key] = value.slice(0, max);
      } else continue;
      cut.push(issue.path.join('.'));
      changed = true;
    }
    if (!changed) break;
    r = check(event);
  }
  if (JSON.stringify(event).length > LIMITS.maxEventBytes) {
    const holder = event.kind === 'violation.opened' ? (event.violation as unknown as Container) : event.kind === 'facts' || event.kind === 'agent.notice' ? (event as unknown as Container) : undefined;
    const key = event.kind === 'agent.notice' ? 'detail' : 'facts';
    if (holder && holder[key] !== undefined) {
      holder[key] = summary(holder[key]);
      cut.push(event.kind === 'violation.opened' ? 'violation.facts' : key);
    }
    r = check(event);
  }
  if (!r.success) return { event, cut, invalid: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  if (JSON.stringify(event).length > LIMITS.maxEventBytes) return { event, cut, invalid: `larger than ${LIMITS.maxEventBytes} bytes` };
  return { event, cut };
}

/** fitEvent over a list, logging what was cut (the outbox then takes them as they are). */
export function fitEvents(events: readonly NewAgentEvent[], log: { warn(msg: string, meta?: Record<string, unknown>): void }): NewAgentEvent[] {
  return events.map((e) => {
    const r = fitEvent(e);
    if (r.cut.length) log.warn(`event ${e.kind} cut to the protocol limits`, { cut: r.cut });
    if (r.invalid) log.warn(`event ${e.kind} does not match the protocol schema`, { why: r.invalid });
    return r.event;
  });
}
