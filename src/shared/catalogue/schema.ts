/**
 * Schema of the rule catalogue (config/rules/*.yml) and of config/sources.yml.
 * A rule tests facts of one check and cites clauses of the municipal standards in one
 * fixed shape ({source, ref}); see docs/catalogue.md for the grammar and truth table.
 */
import { z } from 'zod';
import { CheckId, ClauseRef, Segment, Severity } from '../protocol/messages.js';

export const Op = z.enum([
  'eq', 'ne', 'gt', 'gte', 'lt', 'lte',
  /** fact value is one of the list (param of type list, or value array) */
  'in', 'not_in',
  /** fact string matches a regular expression given in value */
  'matches',
  /** fact string matches at least one / none of the patterns of a list (glob: * and ?, case-insensitive) */
  'matches_any', 'matches_none',
  /** fact is an ISO time at most N hours/days ago (unit from `unit`) */
  'age_lte',
  /** fact is an ISO time less than N hours/days ago (N = 0: never holds, i.e. fails at once) */
  'age_lt',
  /** fact is an ISO date at least N days in the future */
  'until_gte',
  /** fact is an ISO date less than N days in the future (0: the date has passed) */
  'until_lt',
]);
export type Op = z.infer<typeof Op>;

export const Expectation = z
  .object({
    /** Fact name, or dotted path; inside `each`, a field of the item. */
    fact: z.string().min(1),
    op: Op,
    value: z.unknown().optional(),
    /** Name of a rule parameter (or policy list) that gives the value. */
    param: z.string().optional(),
    unit: z.enum(['hours', 'days']).optional(),
    /**
     * How a null fact value (known to be absent, e.g. never scanned) evaluates. Default fail.
     * not_applicable: the expectation does not apply (e.g. a product without tamper protection); a rule
     * (or an `each` item) whose expectations are all not applicable is not_applicable.
     */
    nullIs: z.enum(['pass', 'fail', 'not_applicable']).optional(),
  })
  .refine((e) => (e.value === undefined) !== (e.param === undefined), { message: 'give exactly one of value or param' });
export type Expectation = z.infer<typeof Expectation>;

export const ParamSpec = z.object({
  type: z.enum(['integer', 'number', 'string', 'boolean', 'list']),
  /** Product default. No municipal standard gives a number: this is mamori's suggestion, and says so. */
  default: z.unknown().optional(),
  /** Short name shown in reasons and on the policy screen (「媒体管理台帳」); the parameter id when absent. */
  label: z.object({ ja: z.string().min(1), en: z.string().min(1) }).optional(),
  description: z.object({ ja: z.string(), en: z.string() }),
});
export type ParamSpec = z.infer<typeof ParamSpec>;

export const Rule = z.object({
  id: z.string().regex(/^[A-Z]+-\d{3}$/, 'rule ids look like USB-001'),
  /** Requirement id in the seed-requirements catalogue (R-USB-1 …). */
  requirement: z.string().regex(/^R-[A-Z]+-\d+$/),
  check: CheckId,
  name: z.object({ ja: z.string().min(1), en: z.string().min(1) }),
  /** Message shown with a violation; {subject} and {fact} placeholders are filled in. */
  message: z.object({ ja: z.string().min(1), en: z.string().min(1) }),
  platforms: z.array(z.enum(['linux', 'windows'])).min(1),
  /** Segments the rule applies to; absent = every segment. */
  segments: z.array(Segment).optional(),
  obligation: z.enum(['MUST', 'SHOULD', 'RECOMMENDED']),
  /** false: the rule is off unless the site lists it in the policy's `enabledRules` (e.g. allow-list mode). */
  defaultEnabled: z.boolean().default(true),
  severity: Severity,
  condition: z.enum(['all', 'any', 'none']).default('all'),
  /** Evaluate per item of this array fact; every failing item is its own violation. */
  each: z.string().optional(),
  /** Field of the item that identifies it (the violation subject). */
  subject: z.string().optional(),
  /** What the items of `each` are, in words (「USB媒体」); reasons count and name them. */
  subjectKind: z.object({ ja: z.string().min(1), en: z.string().min(1) }).optional(),
  /**
   * How a reason names one item, filled from its fields: `{field}`, and `[...]` left out when a field
   * in it is empty, e.g. 「[{manufacturer} ][{product} ](ベンダーID {vendorId}[、シリアル {serial}])」.
   * The subject value itself when absent.
   */
  subjectName: z.object({ ja: z.string().min(1), en: z.string().min(1) }).optional(),
  /** Names of the tested facts in words (「USB記録媒体への書き出し防止」); a reason shows the fact id when absent. */
  factNames: z.record(z.string(), z.object({ ja: z.string().min(1), en: z.string().min(1) })).default({}),
  /** Result when the `each` array is empty. */
  whenEmpty: z.enum(['pass', 'not_applicable']).default('pass'),
  expect: z.array(Expectation).min(1),
  params: z.record(z.string(), ParamSpec).default({}),
  clauses: z.array(ClauseRef).min(1),
  rationale: z.object({ ja: z.string(), en: z.string() }),
  /** What to do, in Japanese and English, with OS-specific hints. */
  remediation: z.object({ ja: z.string().min(1), en: z.string().min(1), windows: z.string().optional(), linux: z.string().optional() }),
  /** Fact fixtures (test/fixtures/rules/<name>.json) that must evaluate to pass / fail. */
  fixtures: z.object({ pass: z.array(z.string()).min(1), fail: z.array(z.string()).min(1) }),
});
export type Rule = z.infer<typeof Rule>;

export const RuleFile = z.object({ rules: z.array(Rule) });

export const Source = z.object({
  id: z.string().regex(/^\d{3}$/),
  title: z.string(),
  organisation: z.string(),
  /** Edition or date: clause numbers are only meaningful per edition. */
  edition: z.string(),
  /** How the source numbers its clauses, in words (see research/seed-requirements.md §0). */
  numbering: z.string(),
  /** Regular expression every `ref` citing this source must match (checked by the lint). */
  refPattern: z.string().refine((p) => {
    try {
      new RegExp(p, 'u');
      return true;
    } catch {
      return false;
    }
  }, 'not a valid regular expression'),
});
export const SourcesFile = z.object({ sources: z.array(Source) });
export type Source = z.infer<typeof Source>;
