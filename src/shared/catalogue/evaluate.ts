/**
 * The rule evaluator: pure, platform-neutral, used by the agent (judging locally, also
 * offline) and by the collector (re-judging stored facts when the policy changes).
 *
 * Truth table of one rule over the results of its expectations (Wazuh SCA style):
 *   all:  any fail → fail;  else any unknown → unknown;  else pass
 *   any:  any pass → pass;  else any unknown → unknown;  else fail
 *   none: any pass → fail;  else any unknown → unknown;  else pass
 * An expectation on a fact that could not be read is unknown (with the probe's reason),
 * never pass. With `each`, the rule is fail if any item fails, unknown if any is unknown.
 * A list fact read only in part (present in `facts` and also named in `unknownFacts` with why it is
 * incomplete, e.g. one package source failed) is judged on what was read: an `each` rule fails when
 * a known item fails, and is unknown otherwise, since only a pass needs the whole list.
 * Expectations that are not applicable (a null fact with `nullIs: not_applicable`) are left out of
 * the table; when nothing is left the rule (or the item) is not applicable.
 * Before any of that: a rule disabled by policy, for another platform or segment, or off by default
 * (`defaultEnabled: false`) and not listed in the policy's `enabledRules` is not_applicable.
 */
import type { PolicyDocument, Segment } from '../protocol/messages.js';
import type { Expectation, Rule } from './schema.js';

export type Outcome = 'pass' | 'fail' | 'unknown';

export interface FactsInput {
  status: 'ok' | 'unknown';
  facts: Record<string, unknown>;
  unknownFacts: Record<string, string>;
  reason?: string;
}

/**
 * The policy fields the evaluator reads. `enabledRules` (rule ids switched on for this PC, for rules with
 * `defaultEnabled: false`) is optional so that a PolicyDocument without the field still fits.
 */
export type EvalPolicy = Pick<PolicyDocument, 'params' | 'lists' | 'disabledRules'> & { enabledRules?: readonly string[] };

export interface EvalContext {
  platform: 'linux' | 'windows';
  segment: Segment | undefined;
  policy: EvalPolicy;
  now: Date;
}

export interface SubjectResult {
  subject: string;
  result: Outcome;
  reason: string;
  /** The facts the result rests on (the item, or the tested facts). */
  excerpt: Record<string, unknown>;
}

export interface RuleEvaluation {
  ruleId: string;
  result: Outcome | 'not_applicable';
  reason: string;
  /** One entry per subject ("" for rules about the PC as a whole). */
  subjects: SubjectResult[];
}

/** Thrown for a catalogue that cannot be evaluated (unknown parameter …): a catalogue bug, caught by the lint. */
export class CatalogueError extends Error {
  readonly code = 'CATALOGUE_INVALID';
}

export function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function resolveValue(rule: Rule, exp: Expectation, ctx: EvalContext): unknown {
  if (exp.param === undefined) return exp.value;
  const spec = rule.params[exp.param];
  if (spec?.type === 'list' || (!spec && exp.param in ctx.policy.lists)) {
    return ctx.policy.lists[exp.param] ?? (spec?.default as unknown[] | undefined) ?? [];
  }
  if (!spec) throw new CatalogueError(`${rule.id}: parameter ${exp.param} is not declared`);
  const site = ctx.policy.params[rule.id]?.[exp.param];
  return site !== undefined ? site : spec.default;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 'i');
}

function describe(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function compare(exp: Expectation, actual: unknown, expected: unknown, now: Date): { ok: boolean; why: string } {
  const f = exp.fact;
  switch (exp.op) {
    case 'eq':
      return { ok: actual === expected, why: `${f} is ${describe(actual)}, expected ${describe(expected)}` };
    case 'ne':
      return { ok: actual !== expected, why: `${f} is ${describe(actual)}, must not be ${describe(expected)}` };
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      if (typeof actual !== 'number' || typeof expected !== 'number') return { ok: false, why: `${f} is ${describe(actual)}, not a number` };
      const ok = exp.op === 'gt' ? actual > expected : exp.op === 'gte' ? actual >= expected : exp.op === 'lt' ? actual < expected : actual <= expected;
      const sym = { gt: '>', gte: '≥', lt: '<', lte: '≤' }[exp.op];
      return { ok, why: `${f} is ${actual}, expected ${sym} ${expected}` };
    }
    case 'in':
    case 'not_in': {
      const list = Array.isArray(expected) ? expected : [];
      const found = list.includes(actual as never);
      return exp.op === 'in'
        ? { ok: found, why: `${f} ${describe(actual)} is ${found ? '' : 'not '}in the list` }
        : { ok: !found, why: `${f} ${describe(actual)} is ${found ? '' : 'not '}in the list` };
    }
    case 'matches': {
      const ok = typeof actual === 'string' && new RegExp(String(expected)).test(actual);
      return { ok, why: `${f} ${describe(actual)} ${ok ? 'matches' : 'does not match'} ${describe(expected)}` };
    }
    case 'matches_any':
    case 'matches_none': {
      const patterns = (Array.isArray(expected) ? expected : []).map(String);
      const hit = typeof actual === 'string' ? patterns.find((p) => globToRegExp(p).test(actual)) : undefined;
      return exp.op === 'matches_any'
        ? { ok: hit !== undefined, why: hit ? `${f} ${describe(actual)} matches ${hit}` : `${f} ${describe(actual)} matches no allowed pattern` }
        : { ok: hit === undefined, why: hit ? `${f} ${describe(actual)} matches ${hit}` : `${f} ${describe(actual)} matches no listed pattern` };
    }
    case 'age_lte':
    case 'age_lt': {
      const t = typeof actual === 'string' ? Date.parse(actual) : NaN;
      if (Number.isNaN(t)) return { ok: false, why: `${f} is ${describe(actual)}, not a time` };
      const unitMs = exp.unit === 'hours' ? 3_600_000 : 86_400_000;
      const age = (now.getTime() - t) / unitMs;
      const ok = exp.op === 'age_lte' ? age <= Number(expected) : age < Number(expected);
      return { ok, why: `${f} is ${age.toFixed(1)} ${exp.unit ?? 'days'} old, limit ${exp.op === 'age_lt' ? '<' : ''}${expected}` };
    }
    case 'until_gte':
    case 'until_lt': {
      const t = typeof actual === 'string' ? Date.parse(actual) : NaN;
      if (Number.isNaN(t)) return { ok: false, why: `${f} is ${describe(actual)}, not a date` };
      const days = (t - now.getTime()) / 86_400_000;
      const ok = exp.op === 'until_gte' ? days >= Number(expected) : days < Number(expected);
      const where = days < 0 ? `${f} ${actual} has passed` : `${f} ${actual} is ${Math.floor(days)} days away`;
      return { ok, why: `${where}, ${exp.op === 'until_gte' ? 'needs ≥' : 'expected <'} ${expected}` };
    }
  }
}

type PartOutcome = Outcome | 'not_applicable';

function evalExpectation(rule: Rule, exp: Expectation, source: unknown, unknownFacts: Record<string, string>, ctx: EvalContext): { outcome: PartOutcome; why: string } {
  const actual = getPath(source, exp.fact);
  if (actual === undefined) {
    return { outcome: 'unknown', why: `${exp.fact} could not be read: ${unknownFacts[exp.fact] ?? unknownFacts[exp.fact.split('.')[0] ?? ''] ?? 'FACT_MISSING'}` };
  }
  if (actual === null) {
    const nullIs = exp.nullIs ?? 'fail';
    return { outcome: nullIs, why: `${exp.fact} is none` };
  }
  const { ok, why } = compare(exp, actual, resolveValue(rule, exp, ctx), ctx.now);
  return { outcome: ok ? 'pass' : 'fail', why };
}

function combine(condition: Rule['condition'], all: { outcome: PartOutcome; why: string }[]): { outcome: PartOutcome; why: string } {
  const parts = all.filter((p) => p.outcome !== 'not_applicable');
  if (parts.length === 0) return { outcome: 'not_applicable', why: all.map((p) => p.why).join('; ') };
  const failing = parts.filter((p) => p.outcome === 'fail');
  const passing = parts.filter((p) => p.outcome === 'pass');
  const unknown = parts.filter((p) => p.outcome === 'unknown');
  const whyOf = (list: typeof parts) => list.map((p) => p.why).join('; ');
  switch (condition) {
    case 'all':
      if (failing.length) return { outcome: 'fail', why: whyOf(failing) };
      if (unknown.length) return { outcome: 'unknown', why: whyOf(unknown) };
      return { outcome: 'pass', why: whyOf(passing) };
    case 'any':
      if (passing.length) return { outcome: 'pass', why: whyOf(passing) };
      if (unknown.length) return { outcome: 'unknown', why: whyOf(unknown) };
      return { outcome: 'fail', why: whyOf(failing) };
    case 'none':
      if (passing.length) return { outcome: 'fail', why: whyOf(passing) };
      if (unknown.length) return { outcome: 'unknown', why: whyOf(unknown) };
      return { outcome: 'pass', why: whyOf(failing) };
  }
}

function excerptOf(rule: Rule, facts: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const e of rule.expect) {
    const top = e.fact.split('.')[0] ?? e.fact;
    if (top in facts) out[top] = facts[top];
  }
  return out;
}

/** Evaluate one rule against the output of its check. */
export function evaluateRule(rule: Rule, input: FactsInput, ctx: EvalContext): RuleEvaluation {
  const na = (reason: string): RuleEvaluation => ({ ruleId: rule.id, result: 'not_applicable', reason, subjects: [] });
  if (ctx.policy.disabledRules.includes(rule.id)) return na('disabled by policy');
  if (!rule.defaultEnabled && !(ctx.policy.enabledRules ?? []).includes(rule.id)) return na('not enabled by policy');
  if (!rule.platforms.includes(ctx.platform)) return na(`not a rule for ${ctx.platform}`);
  if (rule.segments && (!ctx.segment || !rule.segments.includes(ctx.segment))) return na(`applies only to segment ${rule.segments.join(', ')}`);
  if (input.status === 'unknown') {
    const reason = input.reason ?? 'check could not observe this PC';
    return { ruleId: rule.id, result: 'unknown', reason, subjects: [{ subject: '', result: 'unknown', reason, excerpt: {} }] };
  }

  if (!rule.each) {
    const parts = rule.expect.map((e) => evalExpectation(rule, e, input.facts, input.unknownFacts, ctx));
    const { outcome, why } = combine(rule.condition, parts);
    if (outcome === 'not_applicable') return na(why);
    return { ruleId: rule.id, result: outcome, reason: why, subjects: [{ subject: '', result: outcome, reason: why, excerpt: excerptOf(rule, input.facts) }] };
  }

  const items = getPath(input.facts, rule.each);
  if (items === undefined) {
    const reason = `${rule.each} could not be read: ${input.unknownFacts[rule.each] ?? 'FACT_MISSING'}`;
    return { ruleId: rule.id, result: 'unknown', reason, subjects: [{ subject: '', result: 'unknown', reason, excerpt: {} }] };
  }
  if (!Array.isArray(items)) throw new CatalogueError(`${rule.id}: ${rule.each} is not a list`);
  // Read only in part: what was read can fail the rule, but cannot pass it.
  const incomplete = input.unknownFacts[rule.each];
  const partReason = `${rule.each} could only be read in part: ${incomplete}`;
  if (items.length === 0) {
    if (incomplete !== undefined) return { ruleId: rule.id, result: 'unknown', reason: partReason, subjects: [{ subject: '', result: 'unknown', reason: partReason, excerpt: {} }] };
    return rule.whenEmpty === 'pass'
      ? { ruleId: rule.id, result: 'pass', reason: `no ${rule.each}`, subjects: [] }
      : na(`no ${rule.each}`);
  }
  const subjects: SubjectResult[] = [];
  items.forEach((item: unknown, index) => {
    const parts = rule.expect.map((e) => evalExpectation(rule, e, item, {}, ctx));
    const { outcome, why } = combine(rule.condition, parts);
    if (outcome === 'not_applicable') return;
    const subject = rule.subject ? String(getPath(item, rule.subject) ?? index) : String(index);
    subjects.push({ subject, result: outcome, reason: why, excerpt: item as Record<string, unknown> });
  });
  const failing = subjects.filter((s) => s.result === 'fail');
  const unknown = subjects.filter((s) => s.result === 'unknown');
  if (failing.length) return { ruleId: rule.id, result: 'fail', reason: `${failing.length} of ${subjects.length} ${rule.each} fail${incomplete !== undefined ? ` (${partReason})` : ''}`, subjects };
  if (incomplete !== undefined) return { ruleId: rule.id, result: 'unknown', reason: partReason, subjects: [...subjects, { subject: '', result: 'unknown', reason: partReason, excerpt: {} }] };
  if (subjects.length === 0) return na(`no ${rule.each} to which the rule applies`);
  if (unknown.length) return { ruleId: rule.id, result: 'unknown', reason: `${unknown.length} of ${subjects.length} ${rule.each} unknown`, subjects };
  return { ruleId: rule.id, result: 'pass', reason: `all ${subjects.length} ${rule.each} pass`, subjects };
}
