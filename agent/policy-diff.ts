/**
 * Which checks a new policy makes stale. A check is run again only when something its rules
 * read changed: a rule of it switched on or off, a parameter of one of its rules, a list one of
 * its rules names (the 媒体管理台帳 for USB), or a 例外措置 of one of its rules. A new version
 * with the same content (another PC's change moved the collector's counter) re-runs nothing;
 * a different segment re-runs everything (it decides which rules apply at all).
 */
import type { Rule } from '../src/shared/catalogue/schema.js';
import type { CheckId, PolicyDocument } from '../src/shared/protocol/messages.js';
import { canonicalJson } from '../src/shared/tls/policy-signature.js';

type Policy = Pick<PolicyDocument, 'segment' | 'disabledRules' | 'enabledRules' | 'params' | 'lists' | 'exceptions'>;

const differs = (a: unknown, b: unknown): boolean => canonicalJson(a ?? null) !== canonicalJson(b ?? null);

function symmetricDifference(a: readonly string[], b: readonly string[]): string[] {
  const sa = new Set(a);
  const sb = new Set(b);
  return [...a.filter((x) => !sb.has(x)), ...b.filter((x) => !sa.has(x))];
}

export function checksToRerun(before: Policy, after: Policy, rules: readonly Pick<Rule, 'id' | 'check'>[], checks: readonly CheckId[]): CheckId[] {
  if (before.segment !== after.segment) return [...checks];
  const checkOf = new Map(rules.map((r) => [r.id, r.check]));
  const stale = new Set<CheckId>();
  const mark = (ruleId: string): void => {
    const c = checkOf.get(ruleId);
    if (c) stale.add(c);
  };
  symmetricDifference(before.disabledRules, after.disabledRules).forEach(mark);
  symmetricDifference(before.enabledRules, after.enabledRules).forEach(mark);
  for (const id of new Set([...Object.keys(before.params), ...Object.keys(after.params)])) if (differs(before.params[id], after.params[id])) mark(id);
  for (const name of new Set([...Object.keys(before.lists), ...Object.keys(after.lists)])) {
    if (!differs(before.lists[name], after.lists[name])) continue;
    // A rule names a list by its name (a `list` parameter or an expression over it).
    for (const r of rules) if (canonicalJson(r).includes(`"${name}"`)) stale.add(r.check);
  }
  const key = (e: Policy['exceptions'][number]) => `${e.ruleId}\u0000${e.subject}\u0000${e.until}`;
  const was = new Set(before.exceptions.map(key));
  const now = new Set(after.exceptions.map(key));
  for (const e of [...before.exceptions.filter((x) => !now.has(key(x))), ...after.exceptions.filter((x) => !was.has(key(x)))]) mark(e.ruleId);
  return checks.filter((c) => stale.has(c));
}
