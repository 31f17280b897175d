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
import { causeOf, fillTemplate, msg, render, type Localized, type Msg, type MsgParam } from '../i18n/index.js';
import type { Expectation, Rule } from './schema.js';

export type Outcome = 'pass' | 'fail' | 'unknown';

export interface FactsInput {
  status: 'ok' | 'unknown';
  facts: Record<string, unknown>;
  unknownFacts: Record<string, string>;
  /** The reasons as catalogue messages (agents that send only text have none: their text is explained by causeOf). */
  unknownMsgs?: Record<string, Msg>;
  reason?: string;
  reasonMsg?: Msg;
}

/** Why a fact could not be read, as a message: the check's own, else from its text; undefined when it gave none. */
function causeIn(input: Pick<FactsInput, 'unknownFacts' | 'unknownMsgs'>, fact: string): Msg | string | undefined {
  const given = input.unknownMsgs?.[fact];
  if (given) return given;
  const text = input.unknownFacts[fact];
  return text === undefined ? undefined : causeOf(text);
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
  /** The reason in Japanese (stored, forwarded, printed); `reasonMsg` renders it in either language. */
  reason: string;
  reasonMsg?: Msg;
  /** How texts name the subject (「USB媒体 SanDisk Cruzer Blade (…、シリアル 4C53…)」), for an item of an `each` rule. */
  subjectName?: MsgParam;
  /** The facts the result rests on (the item, or the tested facts). */
  excerpt: Record<string, unknown>;
}

export interface RuleEvaluation {
  ruleId: string;
  result: Outcome | 'not_applicable';
  reason: string;
  reasonMsg?: Msg;
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

/** A fact value as a message param: strings in quotes, other JSON as text. */
function shown(v: unknown): MsgParam {
  if (typeof v === 'string') return { q: v };
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return v;
  return JSON.stringify(v);
}

/** The fact's name in words, from the rule's `factNames`. */
function factName(rule: Rule, fact: string): MsgParam {
  return rule.factNames[fact] ?? fact;
}

/** The name of the list an expectation compares with (a parameter's label, e.g. 媒体管理台帳). */
function listName(rule: Rule, exp: Expectation): MsgParam {
  if (exp.param === undefined) return msg('value.list');
  return rule.params[exp.param]?.label ?? exp.param;
}

const DAY_MS = 86_400_000;

function compare(rule: Rule, exp: Expectation, actual: unknown, expected: unknown, now: Date): { ok: boolean; why: Msg } {
  const fact = factName(rule, exp.fact);
  switch (exp.op) {
    case 'eq':
      return { ok: actual === expected, why: msg('eval.eq', { fact, actual: shown(actual), expected: shown(expected) }) };
    case 'ne':
      return { ok: actual !== expected, why: msg('eval.ne', { fact, actual: shown(actual), expected: shown(expected) }) };
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      if (typeof actual !== 'number' || typeof expected !== 'number') return { ok: false, why: msg('eval.notNumber', { fact, actual: shown(actual) }) };
      const ok = exp.op === 'gt' ? actual > expected : exp.op === 'gte' ? actual >= expected : exp.op === 'lt' ? actual < expected : actual <= expected;
      return { ok, why: msg(`eval.${exp.op}`, { fact, actual, expected }) };
    }
    case 'in':
    case 'not_in': {
      const list = Array.isArray(expected) ? expected : [];
      const found = list.includes(actual as never);
      const why = msg(found ? 'eval.inList' : 'eval.notInList', { fact, actual: shown(actual), list: listName(rule, exp) });
      return { ok: exp.op === 'in' ? found : !found, why };
    }
    case 'matches': {
      const ok = typeof actual === 'string' && new RegExp(String(expected)).test(actual);
      return { ok, why: msg(ok ? 'eval.matches' : 'eval.notMatches', { fact, actual: shown(actual), pattern: shown(expected) }) };
    }
    case 'matches_any':
    case 'matches_none': {
      const patterns = (Array.isArray(expected) ? expected : []).map(String);
      const hit = typeof actual === 'string' ? patterns.find((p) => globToRegExp(p).test(actual)) : undefined;
      const list = listName(rule, exp);
      const why = hit
        ? msg('eval.matchesListed', { fact, actual: shown(actual), pattern: { q: hit }, list })
        : msg(exp.op === 'matches_any' ? 'eval.matchesNoAllowed' : 'eval.matchesNoListed', { fact, actual: shown(actual), list });
      return { ok: exp.op === 'matches_any' ? hit !== undefined : hit === undefined, why };
    }
    case 'age_lte':
    case 'age_lt': {
      const t = typeof actual === 'string' ? Date.parse(actual) : NaN;
      if (Number.isNaN(t)) return { ok: false, why: msg('eval.notTime', { fact, actual: shown(actual) }) };
      const hours = exp.unit === 'hours';
      const age = (now.getTime() - t) / (hours ? 3_600_000 : DAY_MS);
      const ok = exp.op === 'age_lte' ? age <= Number(expected) : age < Number(expected);
      const cmp = msg(exp.op === 'age_lte' ? 'eval.within' : 'eval.under');
      return { ok, why: msg(hours ? 'eval.ageHours' : 'eval.ageDays', { fact, at: { time: actual as string }, age: Math.round(age * 10) / 10, limit: Number(expected), cmp }) };
    }
    case 'until_gte':
    case 'until_lt': {
      const t = typeof actual === 'string' ? Date.parse(actual) : NaN;
      if (Number.isNaN(t)) return { ok: false, why: msg('eval.notTime', { fact, actual: shown(actual) }) };
      const days = (t - now.getTime()) / DAY_MS;
      const ok = exp.op === 'until_gte' ? days >= Number(expected) : days < Number(expected);
      const date = { date: actual as string };
      const where = days < 0 ? msg('eval.passed', { fact, date, days: Math.ceil(-days) }) : msg('eval.daysLeft', { fact, date, days: Math.floor(days) });
      return { ok, why: msg(exp.op === 'until_gte' ? 'eval.untilGte' : 'eval.untilLt', { where, limit: Number(expected) }) };
    }
  }
}

type PartOutcome = Outcome | 'not_applicable';
interface Part {
  outcome: PartOutcome;
  why: Msg;
}

/** Why a fact is unknown: the agent's reason (its code explained in words), or that the check did not report it. */
function unreadable(fact: MsgParam, cause: Msg | string | undefined): Msg {
  return msg('eval.unreadable', { fact, cause: cause ?? msg('eval.factMissing') });
}

const NOTHING_UNKNOWN: Pick<FactsInput, 'unknownFacts' | 'unknownMsgs'> = { unknownFacts: {} };

function evalExpectation(rule: Rule, exp: Expectation, source: unknown, unknown: Pick<FactsInput, 'unknownFacts' | 'unknownMsgs'>, ctx: EvalContext): Part {
  const actual = getPath(source, exp.fact);
  if (actual === undefined) return { outcome: 'unknown', why: unreadable(factName(rule, exp.fact), causeIn(unknown, exp.fact) ?? causeIn(unknown, exp.fact.split('.')[0] ?? '')) };
  if (actual === null) return { outcome: exp.nullIs ?? 'fail', why: msg('eval.none', { fact: factName(rule, exp.fact) }) };
  const { ok, why } = compare(rule, exp, actual, resolveValue(rule, exp, ctx), ctx.now);
  return { outcome: ok ? 'pass' : 'fail', why };
}

/** One reason from the reasons of several expectations: a list without repeats (two limits on one null fact say the same), or the only one. */
function joined(parts: readonly Part[]): Msg {
  if (parts.length === 1) return parts[0]!.why;
  const seen = new Set<string>();
  const whys = parts.map((p) => p.why).filter((w) => !seen.has(JSON.stringify(w)) && Boolean(seen.add(JSON.stringify(w))));
  return whys.length === 1 ? whys[0]! : msg('eval.joined', { items: whys });
}

function combine(condition: Rule['condition'], all: Part[]): Part {
  const parts = all.filter((p) => p.outcome !== 'not_applicable');
  if (parts.length === 0) return { outcome: 'not_applicable', why: joined(all) };
  const failing = parts.filter((p) => p.outcome === 'fail');
  const passing = parts.filter((p) => p.outcome === 'pass');
  const unknown = parts.filter((p) => p.outcome === 'unknown');
  switch (condition) {
    case 'all':
      if (failing.length) return { outcome: 'fail', why: joined(failing) };
      if (unknown.length) return { outcome: 'unknown', why: joined(unknown) };
      return { outcome: 'pass', why: joined(passing) };
    case 'any':
      if (passing.length) return { outcome: 'pass', why: joined(passing) };
      if (unknown.length) return { outcome: 'unknown', why: joined(unknown) };
      // None of the alternatives holds: the first one says what is wanted (e.g. "at least 180 days left").
      return { outcome: 'fail', why: failing[0]!.why };
    case 'none':
      if (passing.length) return { outcome: 'fail', why: joined(passing) };
      if (unknown.length) return { outcome: 'unknown', why: joined(unknown) };
      return { outcome: 'pass', why: joined(failing) };
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

/** How reasons name one item of an `each` rule: the rule's `subjectName` filled from the item, or the subject value. */
function nameOf(rule: Rule, item: unknown, subject: string): MsgParam {
  if (!rule.subjectName || item === null || typeof item !== 'object') return subject;
  const fields = item as Record<string, unknown>;
  const name: Localized = { ja: fillTemplate(rule.subjectName.ja, fields), en: fillTemplate(rule.subjectName.en, fields) };
  return name.ja && name.en ? name : subject;
}

/**
 * The result of one item. Its name and texts are made when first read: most items pass and are never
 * shown, and naming and rendering every one of thousands of packages would cost the agent far more
 * than judging them.
 */
class ItemResult implements SubjectResult {
  // Private (#) so that comparisons and copies of a result see only its SubjectResult fields.
  readonly #rule: Rule;
  readonly #why: Msg;
  #name: MsgParam | undefined;
  #message: Msg | undefined;
  #text: string | undefined;
  constructor(
    rule: Rule,
    readonly excerpt: Record<string, unknown>,
    readonly subject: string,
    readonly result: Outcome,
    why: Msg,
  ) {
    this.#rule = rule;
    this.#why = why;
  }
  get subjectName(): MsgParam {
    return (this.#name ??= nameOf(this.#rule, this.excerpt, this.subject));
  }
  /** The item's own reason names it: a violation's reason is read without the rule's. */
  get reasonMsg(): Msg {
    return (this.#message ??= msg('eval.subject', { subject: this.subjectName, why: this.#why }));
  }
  get reason(): string {
    return (this.#text ??= render(this.reasonMsg));
  }
  toJSON(): SubjectResult {
    return { subject: this.subject, result: this.result, reason: this.reason, reasonMsg: this.reasonMsg, subjectName: this.subjectName, excerpt: this.excerpt };
  }
}

function itemResult(rule: Rule, item: unknown, subject: string, outcome: Outcome, why: Msg): SubjectResult {
  return new ItemResult(rule, item as Record<string, unknown>, subject, outcome, why);
}

/** At most this many items are named in a rule's reason; the rest are counted (「ほか 3 件」). */
const NAMED_SUBJECTS = 5;

function namedList(names: readonly MsgParam[]): MsgParam[] {
  if (names.length <= NAMED_SUBJECTS) return [...names];
  return [...names.slice(0, NAMED_SUBJECTS), msg('eval.andMore', { n: names.length - NAMED_SUBJECTS })];
}

function result(ruleId: string, outcome: RuleEvaluation['result'], why: Msg, subjects: SubjectResult[]): RuleEvaluation {
  return { ruleId, result: outcome, reason: render(why), reasonMsg: why, subjects };
}

/** A rule (or the PC as its one subject) with a single reason. */
function single(ruleId: string, outcome: Outcome, why: Msg, excerpt: Record<string, unknown> = {}): RuleEvaluation {
  return result(ruleId, outcome, why, [{ subject: '', result: outcome, reason: render(why), reasonMsg: why, excerpt }]);
}

/** Evaluate one rule against the output of its check. */
export function evaluateRule(rule: Rule, input: FactsInput, ctx: EvalContext): RuleEvaluation {
  const na = (why: Msg): RuleEvaluation => result(rule.id, 'not_applicable', why, []);
  if (ctx.policy.disabledRules.includes(rule.id)) return na(msg('eval.disabled'));
  if (!rule.defaultEnabled && !(ctx.policy.enabledRules ?? []).includes(rule.id)) return na(msg('eval.notEnabled'));
  if (!rule.platforms.includes(ctx.platform)) return na(msg('eval.otherPlatform', { platform: msg(`platform.${ctx.platform}`) }));
  if (rule.segments && (!ctx.segment || !rule.segments.includes(ctx.segment))) return na(msg('eval.otherSegment', { segments: rule.segments.map((s) => msg(`segment.${s}`)) }));
  if (input.status === 'unknown') return single(rule.id, 'unknown', input.reasonMsg ?? (input.reason === undefined ? msg('eval.checkUnknown') : msgOf(causeOf(input.reason))));

  if (!rule.each) {
    const parts = rule.expect.map((e) => evalExpectation(rule, e, input.facts, input, ctx));
    const { outcome, why } = combine(rule.condition, parts);
    if (outcome === 'not_applicable') return na(why);
    return single(rule.id, outcome, why, excerptOf(rule, input.facts));
  }

  const kind: MsgParam = rule.subjectKind ?? rule.each;
  const items = getPath(input.facts, rule.each);
  if (items === undefined) {
    return single(rule.id, 'unknown', msg('eval.eachUnreadable', { kind, cause: causeIn(input, rule.each) ?? msg('eval.factMissing') }));
  }
  if (!Array.isArray(items)) throw new CatalogueError(`${rule.id}: ${rule.each} is not a list`);
  // Read only in part: what was read can fail the rule, but cannot pass it.
  const incomplete = causeIn(input, rule.each);
  const partial = incomplete === undefined ? undefined : msg('eval.eachPartial', { kind, cause: incomplete });
  const partialSubject = (why: Msg): SubjectResult => ({ subject: '', result: 'unknown', reason: render(why), reasonMsg: why, excerpt: {} });
  if (items.length === 0) {
    if (partial) return single(rule.id, 'unknown', partial);
    return rule.whenEmpty === 'pass' ? result(rule.id, 'pass', msg('eval.eachNone', { kind }), []) : na(msg('eval.eachNone', { kind }));
  }
  const subjects: SubjectResult[] = [];
  items.forEach((item: unknown, index) => {
    const parts = rule.expect.map((e) => evalExpectation(rule, e, item, NOTHING_UNKNOWN, ctx));
    const { outcome, why } = combine(rule.condition, parts);
    if (outcome === 'not_applicable') return;
    const subject = rule.subject ? String(getPath(item, rule.subject) ?? index) : String(index);
    subjects.push(itemResult(rule, item, subject, outcome, why));
  });
  const failing = subjects.filter((s) => s.result === 'fail');
  const unknown = subjects.filter((s) => s.result === 'unknown');
  const total = subjects.length;
  if (failing.length) {
    const list = namedList(failing.map((s) => s.subjectName!));
    return result(rule.id, 'fail', partial ? msg('eval.eachFailPartial', { kind, total, failed: failing.length, subjects: list, partial }) : msg('eval.eachFail', { kind, total, failed: failing.length, subjects: list }), subjects);
  }
  if (partial) return result(rule.id, 'unknown', partial, [...subjects, partialSubject(partial)]);
  if (total === 0) return na(msg('eval.eachNoneApplies', { kind }));
  if (unknown.length) return result(rule.id, 'unknown', msg('eval.eachUnknown', { kind, total, unknown: unknown.length, subjects: namedList(unknown.map((s) => s.subjectName!)) }), subjects);
  return result(rule.id, 'pass', msg('eval.eachPass', { kind, total }), subjects);
}

/** A cause that is plain text (no known code) as a message of its own. */
function msgOf(cause: Msg | string): Msg {
  return typeof cause === 'string' ? msg('text', { text: cause }) : cause;
}
