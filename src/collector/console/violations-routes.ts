/**
 * Console API of the violations: one page of the list with its exact total, notes (確認, comments).
 */
import { z } from 'zod';
import { Segment, Severity } from '../../shared/protocol/messages.js';
import { VIOLATION_SORTS } from '../store/violation-query.js';
import type { ViolationQuery } from './fleet.js';
import type { RouteDef } from './http.js';
import { list, me, parse, query } from './route-util.js';
import type { ConsoleServices } from './services.js';

/** The key of one violation in a request body or query. */
export const ViolationKey = z.object({ agentId: z.string().min(1).max(64), ruleId: z.string().min(1).max(64), subject: z.string().max(256) });

/**
 * The filters of a violation list from the query string: state, severity (comma list), check,
 * rule, agent, department ("-" = no 課), segment, q (text), sort, dir, offset, limit.
 */
export function violationQueryOf(q: Record<string, string | undefined>): ViolationQuery {
  const state = q.state === 'closed' || q.state === 'all' ? q.state : 'open';
  const sev = list(q.severity).filter((x): x is Severity => Severity.safeParse(x).success);
  const seg = q.segment && Segment.safeParse(q.segment).success ? (q.segment as Segment) : undefined;
  const sort = VIOLATION_SORTS.find((x) => x === q.sort);
  const int = (v: string | undefined): number | undefined => (v && /^\d{1,9}$/.test(v) ? Number(v) : undefined);
  const offset = int(q.offset);
  const limit = int(q.limit);
  return {
    state,
    ...(sev.length ? { severity: sev } : {}),
    ...(q.check ? { checkId: q.check } : {}),
    ...(q.rule ? { ruleId: q.rule } : {}),
    ...(q.agent ? { agentId: q.agent } : {}),
    ...(q.department ? { department: q.department === '-' ? null : q.department } : {}),
    ...(seg ? { segment: seg } : {}),
    ...(q.q ? { text: q.q.slice(0, 200) } : {}),
    ...(sort ? { sort } : {}),
    ...(q.dir === 'asc' || q.dir === 'desc' ? { dir: q.dir } : {}),
    ...(offset !== undefined ? { offset } : {}),
    ...(limit !== undefined ? { limit } : {}),
  };
}

export function violationRoutes(s: ConsoleServices): RouteDef[] {
  const { fleet } = s;
  /** A 確認 or comment reaches the consoles open on the violation, on every collector node (their rows update in place). */
  const noted = (k: { agentId: string; ruleId: string; subject: string }, note: { id: string; kind: 'ack' | 'comment'; author: string; at: string; text: string }) =>
    s.ctx.bus.emit('violation.noted', { agentId: k.agentId, ruleId: k.ruleId, subject: k.subject, ...note });
  return [
    {
      method: 'GET',
      url: '/api/v1/violations',
      access: 'violations.read',
      async handler(req, _reply, p) {
        return fleet.violationPage(me(p), violationQueryOf(query(req)));
      },
    },
    {
      method: 'GET',
      url: '/api/v1/violations/notes',
      access: 'violations.read',
      async handler(req, _reply, p) {
        const k = parse(ViolationKey, req.query);
        await fleet.findViolation(me(p), k.agentId, k.ruleId, k.subject);
        return { notes: await fleet.notes(k.agentId, k.ruleId, k.subject) };
      },
    },
    {
      method: 'POST',
      url: '/api/v1/violations/ack',
      access: 'violations.annotate',
      audit: 'violation.acknowledged',
      async handler(req, _reply, p) {
        const b = parse(ViolationKey.extend({ comment: z.string().max(4000).default('') }), req.body);
        req.mamori!.auditTarget = `${b.agentId}/${b.ruleId}/${b.subject}`;
        const note = await fleet.addNote(me(p), b, 'ack', b.comment);
        noted(b, { id: note.id, kind: 'ack', author: me(p).username, at: note.at, text: b.comment.trim() });
        return note;
      },
    },
    {
      method: 'POST',
      url: '/api/v1/violations/comment',
      access: 'violations.annotate',
      audit: 'violation.commented',
      async handler(req, _reply, p) {
        const b = parse(ViolationKey.extend({ comment: z.string().min(1).max(4000) }), req.body);
        req.mamori!.auditTarget = `${b.agentId}/${b.ruleId}/${b.subject}`;
        const note = await fleet.addNote(me(p), b, 'comment', b.comment);
        noted(b, { id: note.id, kind: 'comment', author: me(p).username, at: note.at, text: b.comment.trim() });
        return note;
      },
    },
  ];
}
