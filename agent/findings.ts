/**
 * Turns a local evaluation into events for the collector: violations opened and closed
 * (by comparing with what this agent has reported open before), rule results and facts
 * when they changed. Pure: the caller persists the returned state after the outbox
 * has the events.
 */
import { createHash } from 'node:crypto';
import type { NewAgentEvent, PolicyDocument, Violation } from '../src/shared/protocol/messages.js';

type PolicyException = PolicyDocument['exceptions'][number];
import type { Rule } from '../src/shared/catalogue/schema.js';
import { msg, render, type Msg, type MsgParam } from '../src/shared/i18n/index.js';
import type { LocalReport } from './local-check.js';

export interface FindingsState {
  /** Open violations by "ruleId\u0000subject". */
  open: Record<string, { checkId: string; openedAt: string }>;
  /** Hash of the last facts / results sent per check. */
  factsHash: Record<string, string>;
  resultsHash: Record<string, string>;
}

export function emptyFindingsState(): FindingsState {
  return { open: {}, factsHash: {}, resultsHash: {} };
}

const EXCERPT_LIMIT = 16 * 1024;

function hash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);
}

function fill(template: string, vars: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => vars[k] ?? m);
}

/** Reasons travel at most 1,000 characters (the protocol allows 1,024). */
function clip(text: string): string {
  return text.slice(0, 1000);
}

/** A judged reason as a message: its structured form, or its text for an evaluation made without one. */
function reasonOf(r: { reason: string; reasonMsg?: Msg }): Msg {
  return r.reasonMsg ?? msg('text', { text: r.reason });
}

function boundedExcerpt(excerpt: Record<string, unknown>): Record<string, unknown> {
  const text = JSON.stringify(excerpt);
  if (text.length <= EXCERPT_LIMIT) return excerpt;
  return { truncated: true, bytes: text.length, keys: Object.keys(excerpt).slice(0, 50) };
}

export interface FindingsOptions {
  /** Send facts and results even when unchanged (helpdesk scan). */
  force?: boolean;
  /** Active 例外措置 from the policy. */
  exceptions?: readonly PolicyException[];
}

/** The active 例外措置 covering a rule and subject, if any. */
function exceptionFor(exceptions: readonly PolicyException[], ruleId: string, subject: string, now: Date): PolicyException | undefined {
  return exceptions.find((e) => e.ruleId === ruleId && (e.subject === '*' || e.subject === subject) && Date.parse(e.until) > now.getTime());
}

export function findingsToEvents(report: LocalReport, rules: readonly Rule[], previous: FindingsState, opts: FindingsOptions = {}): { events: NewAgentEvent[]; state: FindingsState } {
  const at = new Date().toISOString();
  const now = new Date(at);
  const exceptions = opts.exceptions ?? [];
  const state: FindingsState = { open: { ...previous.open }, factsHash: { ...previous.factsHash }, resultsHash: { ...previous.resultsHash } };
  const events: NewAgentEvent[] = [];
  const ruleById = new Map(rules.map((r) => [r.id, r]));

  for (const check of report.checks) {
    const factsBody = { status: check.status, facts: check.facts, unknownFacts: check.unknownFacts, reason: check.reason, unknownMsgs: check.unknownMsgs, reasonMsg: check.reasonMsg };
    const fh = hash(factsBody);
    if (opts.force || state.factsHash[check.id] !== fh) {
      // _unknown and _reason are the texts every collector reads; _unknownMsg and _reasonMsg the same reasons as messages.
      const msgs = { ...(check.unknownMsgs ? { _unknownMsg: check.unknownMsgs } : {}), ...(check.reasonMsg ? { _reasonMsg: check.reasonMsg } : {}) };
      events.push({ at, kind: 'facts', checkId: check.id, status: check.status, facts: { ...check.facts, _unknown: check.unknownFacts, ...(check.reason ? { _reason: check.reason } : {}), ...msgs } });
      state.factsHash[check.id] = fh;
    }
    // A failing rule whose every failing subject is covered by an active 例外措置 counts as
    // excepted in the self-inspection report; its violations stay visible.
    const results = check.rules.map((r) => {
      const failing = r.subjects.filter((s) => s.result === 'fail');
      const covering = failing.map((s) => exceptionFor(exceptions, r.ruleId, s.subject, now));
      if (r.result === 'fail' && failing.length > 0 && covering.every(Boolean)) {
        const why = msg('result.exceptedBy', { ids: covering.map((e) => e!.id).join(', '), why: reasonOf(r) });
        return { ruleId: r.ruleId, subject: '', result: 'excepted' as const, reason: clip(render(why)), reasonMsg: why };
      }
      return { ruleId: r.ruleId, subject: '', result: r.result, reason: clip(r.reason), ...(r.reasonMsg ? { reasonMsg: r.reasonMsg } : {}) };
    });
    const rh = hash(results);
    if (opts.force || state.resultsHash[check.id] !== rh) {
      events.push({ at, kind: 'results', checkId: check.id, policyVersion: report.policyVersion, results });
      state.resultsHash[check.id] = rh;
    }

    const failingNow = new Set<string>();
    for (const evaluation of check.rules) {
      const rule = ruleById.get(evaluation.ruleId);
      if (!rule) continue;
      for (const s of evaluation.subjects) {
        if (s.result !== 'fail') continue;
        const key = `${rule.id}\u0000${s.subject}`;
        failingNow.add(key);
        if (state.open[key]) continue;
        const name: MsgParam = s.subjectName ?? s.subject;
        const user = typeof s.excerpt.user === 'string' ? s.excerpt.user : undefined;
        const violation: Violation = {
          checkId: check.id,
          ruleId: rule.id,
          subject: s.subject,
          result: 'fail',
          severity: rule.severity,
          title: rule.name,
          message: { ja: fill(rule.message.ja, { subject: render(msg('text', { text: name }), 'ja'), reason: s.reason }), en: fill(rule.message.en, { subject: render(msg('text', { text: name }), 'en'), reason: s.reasonMsg ? render(s.reasonMsg, 'en') : s.reason }) },
          reason: clip(s.reason),
          ...(s.reasonMsg ? { reasonMsg: s.reasonMsg } : {}),
          clauses: rule.clauses,
          facts: boundedExcerpt(s.excerpt),
          ...(user ? { user } : {}),
        };
        events.push({ at, kind: 'violation.opened', violation, policyVersion: report.policyVersion });
        state.open[key] = { checkId: check.id, openedAt: at };
      }
    }
    // Close what this check reported open before and no longer fails. A rule that is now
    // unknown keeps its violation open: nobody can tell that it was fixed.
    const unknownRules = new Set(check.rules.filter((r) => r.result === 'unknown').map((r) => r.ruleId));
    for (const [key, info] of Object.entries(state.open)) {
      if (info.checkId !== check.id || failingNow.has(key)) continue;
      const [ruleId = '', subject = ''] = key.split('\u0000');
      if (unknownRules.has(ruleId)) continue;
      const evaluation = check.rules.find((r) => r.ruleId === ruleId);
      // The reason speaks of this subject (one stick of several), not of the rule as a whole.
      const judged = evaluation?.subjects.find((x) => x.subject === subject);
      const why = !evaluation
        ? msg('close.ruleRemoved')
        : judged
          ? msg('close.resolved', { result: msg(`result.${judged.result}`), why: reasonOf(judged) })
          : msg('close.gone', { subject, result: msg(`result.${evaluation.result}`), why: reasonOf(evaluation) });
      events.push({ at, kind: 'violation.closed', checkId: check.id, ruleId, subject, reason: clip(render(why)), reasonMsg: why });
      delete state.open[key];
    }
  }
  return { events, state };
}
