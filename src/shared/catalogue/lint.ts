/**
 * The catalogue lint behind `mamori catalogue verify`. It checks that:
 *  - every rules file and sources.yml load (schema errors name file, line and key), rule ids are unique;
 *  - every rule's `check` exists (agent/checks/registry.ts) and every fact path it uses in `expect`, `each`
 *    and `subject` exists in that check's zod fact schema (into array items for `each`), with a type the
 *    operator can compare (no rule names a fact its check does not produce);
 *  - every `param` is declared by the rule, or is a list some rule declares (policy lists are shared), and
 *    list operators get lists;
 *  - every clause cites a source of sources.yml in that source's numbering (`refPattern`);
 *  - every rule has ≥1 pass and ≥1 fail fixture (test/fixtures/rules/<name>.json) whose facts fit the check's
 *    schema and which evaluate as claimed;
 *  - the end-of-support catalogue (config/eol/catalogue.yml) loads.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { CHECKS } from '../../../agent/checks/registry.js';
import { Segment } from '../protocol/messages.js';
import { configDir as defaultConfigDir } from '../paths.js';
import { loadEolCatalogue } from '../eol/index.js';
import { evaluateRule } from './evaluate.js';
import { loadYamlFile } from './load.js';
import { RuleFile, SourcesFile } from './schema.js';
import type { Expectation, Rule, Source } from './schema.js';

export interface VerifyResult {
  ok: boolean;
  /** One line per problem, naming the rule (or file) concerned. */
  problems: string[];
  /** Number of rules loaded. */
  rules: number;
}

/** The JSON shape of a rule fixture (see test/fixtures/rules/README.md). */
export const RuleFixture = z.object({
  description: z.string().optional(),
  platform: z.enum(['linux', 'windows']),
  segment: Segment.optional(),
  policy: z
    .object({
      params: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
      lists: z.record(z.string(), z.array(z.string())).default({}),
      disabledRules: z.array(z.string()).default([]),
      enabledRules: z.array(z.string()).default([]),
    })
    .strict()
    .default({ params: {}, lists: {}, disabledRules: [], enabledRules: [] }),
  now: z.iso.datetime({ offset: true }),
  output: z.object({
    status: z.enum(['ok', 'unknown']),
    facts: z.record(z.string(), z.unknown()),
    unknownFacts: z.record(z.string(), z.string()),
    reason: z.string().optional(),
  }),
});
export type RuleFixture = z.infer<typeof RuleFixture>;

type FactType = 'string' | 'number' | 'boolean' | 'array' | 'object' | 'other';

interface FactInfo {
  schema: z.ZodType;
  type: FactType;
}

/** Strip optional / nullable / default wrappers. */
function unwrap(schema: z.ZodType): z.ZodType {
  let s: z.ZodType = schema;
  for (let i = 0; i < 10; i++) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap() as z.ZodType;
    else if (s instanceof z.ZodDefault) s = s.unwrap() as z.ZodType;
    else break;
  }
  return s;
}

function typeOf(schema: z.ZodType): FactType {
  const s = unwrap(schema);
  if (s instanceof z.ZodString || s instanceof z.ZodEnum) return 'string';
  if (s instanceof z.ZodNumber) return 'number';
  if (s instanceof z.ZodBoolean) return 'boolean';
  if (s instanceof z.ZodArray) return 'array';
  if (s instanceof z.ZodObject) return 'object';
  return 'other';
}

/** Resolve a dotted fact path in a zod object schema; undefined when a part does not exist. */
export function factAt(schema: z.ZodType, path: string): FactInfo | undefined {
  let cur: z.ZodType = schema;
  for (const part of path.split('.')) {
    const s = unwrap(cur);
    if (!(s instanceof z.ZodObject)) return undefined;
    const next = (s.shape as Record<string, z.ZodType>)[part];
    if (!next) return undefined;
    cur = next;
  }
  return { schema: cur, type: typeOf(cur) };
}

/** The fact type each operator compares. */
const OP_FACT_TYPE: Record<Expectation['op'], FactType[]> = {
  eq: ['string', 'number', 'boolean'],
  ne: ['string', 'number', 'boolean'],
  gt: ['number'],
  gte: ['number'],
  lt: ['number'],
  lte: ['number'],
  in: ['string', 'number'],
  not_in: ['string', 'number'],
  matches: ['string'],
  matches_any: ['string'],
  matches_none: ['string'],
  age_lte: ['string'],
  age_lt: ['string'],
  until_gte: ['string'],
  until_lt: ['string'],
};
const LIST_OPS = new Set<Expectation['op']>(['in', 'not_in', 'matches_any', 'matches_none']);
const NUMBER_VALUE_OPS = new Set<Expectation['op']>(['gt', 'gte', 'lt', 'lte', 'age_lte', 'age_lt', 'until_gte', 'until_lt']);

interface LoadedRule {
  rule: Rule;
  file: string;
}

function loadRules(configDir: string, problems: string[]): LoadedRule[] {
  const rulesDir = join(configDir, 'rules');
  let files: string[] = [];
  try {
    files = readdirSync(rulesDir).filter((f) => f.endsWith('.yml')).sort();
  } catch (err) {
    problems.push(`${rulesDir}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const out: LoadedRule[] = [];
  for (const f of files) {
    try {
      for (const rule of loadYamlFile(join(rulesDir, f), RuleFile).rules) out.push({ rule, file: f });
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  return out;
}

function loadSources(configDir: string, problems: string[]): Source[] {
  try {
    const sources = loadYamlFile(join(configDir, 'sources.yml'), SourcesFile).sources;
    const seen = new Set<string>();
    for (const s of sources) {
      if (seen.has(s.id)) problems.push(`sources.yml: duplicate source id ${s.id}`);
      seen.add(s.id);
    }
    return sources;
  } catch (err) {
    problems.push((err as Error).message);
    return [];
  }
}

function checkFacts(rule: Rule, problems: string[]): void {
  const check = CHECKS.find((c) => c.id === rule.check);
  if (!check) {
    problems.push(`${rule.id}: check ${rule.check} does not exist`);
    return;
  }
  let itemSchema: z.ZodType = check.facts;
  if (rule.each !== undefined) {
    const list = factAt(check.facts, rule.each);
    if (!list) {
      problems.push(`${rule.id}: each: fact ${rule.each} is not produced by check ${rule.check}`);
      return;
    }
    const arr = unwrap(list.schema);
    if (!(arr instanceof z.ZodArray)) {
      problems.push(`${rule.id}: each: fact ${rule.each} is not a list`);
      return;
    }
    itemSchema = arr.element as z.ZodType;
    if (rule.subject !== undefined && !factAt(itemSchema, rule.subject)) problems.push(`${rule.id}: subject: ${rule.each} items have no field ${rule.subject}`);
  } else if (rule.subject !== undefined) {
    problems.push(`${rule.id}: subject is only meaningful with each`);
  }
  const where = rule.each !== undefined ? `${rule.each} items have no field` : `check ${rule.check} does not produce fact`;
  rule.expect.forEach((e, i) => {
    const info = factAt(itemSchema, e.fact);
    if (!info) {
      problems.push(`${rule.id}: expect[${i}]: ${where} ${e.fact}`);
      return;
    }
    if (!OP_FACT_TYPE[e.op].includes(info.type)) problems.push(`${rule.id}: expect[${i}]: ${e.op} cannot compare ${e.fact}, a ${info.type}`);
  });
}

function checkParams(rule: Rule, knownLists: Set<string>, problems: string[]): void {
  rule.expect.forEach((e, i) => {
    if (e.param === undefined) {
      if (LIST_OPS.has(e.op) && !Array.isArray(e.value)) problems.push(`${rule.id}: expect[${i}]: ${e.op} needs a list value`);
      if (NUMBER_VALUE_OPS.has(e.op) && typeof e.value !== 'number') problems.push(`${rule.id}: expect[${i}]: ${e.op} needs a number value`);
      return;
    }
    const spec = rule.params[e.param];
    if (!spec) {
      if (!knownLists.has(e.param)) problems.push(`${rule.id}: expect[${i}]: parameter ${e.param} is not declared`);
      else if (!LIST_OPS.has(e.op)) problems.push(`${rule.id}: expect[${i}]: ${e.op} cannot take the list ${e.param}`);
      return;
    }
    if (LIST_OPS.has(e.op) !== (spec.type === 'list')) problems.push(`${rule.id}: expect[${i}]: ${e.op} cannot take parameter ${e.param} of type ${spec.type}`);
    if (NUMBER_VALUE_OPS.has(e.op) && spec.type !== 'integer' && spec.type !== 'number') problems.push(`${rule.id}: expect[${i}]: ${e.op} needs a number parameter, ${e.param} is ${spec.type}`);
  });
  for (const [name, spec] of Object.entries(rule.params)) {
    if (!rule.expect.some((e) => e.param === name)) problems.push(`${rule.id}: parameter ${name} is declared but not used`);
    if (spec.default === undefined) continue;
    const fits = spec.type === 'list' ? Array.isArray(spec.default) : spec.type === 'integer' ? Number.isInteger(spec.default) : typeof spec.default === (spec.type === 'number' ? 'number' : spec.type);
    if (!fits) problems.push(`${rule.id}: parameter ${name}: default ${JSON.stringify(spec.default)} is not a ${spec.type}`);
  }
}

function checkClauses(rule: Rule, sources: Map<string, Source>, problems: string[]): void {
  for (const c of rule.clauses) {
    const source = sources.get(c.source);
    if (!source) {
      problems.push(`${rule.id}: clause ${c.source} ${c.ref}: source ${c.source} is not in sources.yml`);
      continue;
    }
    if (!new RegExp(source.refPattern, 'u').test(c.ref)) problems.push(`${rule.id}: clause ${c.source} ${c.ref}: not in the numbering of ${c.source} (${source.numbering})`);
  }
}

function checkFixtures(rule: Rule, fixturesDir: string, problems: string[]): void {
  const check = CHECKS.find((c) => c.id === rule.check);
  for (const claim of ['pass', 'fail'] as const) {
    for (const name of rule.fixtures[claim]) {
      const path = join(fixturesDir, `${name}.json`);
      if (!existsSync(path)) {
        problems.push(`${rule.id}: fixture ${name} (${claim}) does not exist: ${path}`);
        continue;
      }
      let fixture: RuleFixture;
      try {
        const parsed = RuleFixture.safeParse(JSON.parse(readFileSync(path, 'utf8')));
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          problems.push(`${rule.id}: fixture ${name}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
          continue;
        }
        fixture = parsed.data;
      } catch (err) {
        problems.push(`${rule.id}: fixture ${name}: not JSON (${(err as Error).message})`);
        continue;
      }
      if (check) {
        const facts = check.facts.partial().strict().safeParse(fixture.output.facts);
        if (!facts.success) {
          const issue = facts.error.issues[0]!;
          problems.push(`${rule.id}: fixture ${name}: facts.${issue.path.join('.')}: ${issue.message} (not the shape of ${rule.check} facts)`);
          continue;
        }
      }
      try {
        const result = evaluateRule(rule, fixture.output, { platform: fixture.platform, segment: fixture.segment, policy: fixture.policy, now: new Date(fixture.now) });
        if (result.result !== claim) problems.push(`${rule.id}: fixture ${name} should ${claim} but is ${result.result}: ${result.reason}`);
      } catch (err) {
        problems.push(`${rule.id}: fixture ${name}: evaluation failed: ${(err as Error).message}`);
      }
    }
  }
}

/**
 * Verify the catalogue in `configDir` (default: the product's config/) against the checks, the sources and
 * the fixtures in `fixturesDir` (default: test/fixtures/rules next to config/).
 */
export async function verifyCatalogue(configDir?: string, fixturesDir?: string): Promise<VerifyResult> {
  const dir = configDir ?? defaultConfigDir();
  const fixtures = fixturesDir ?? join(dirname(dir), 'test', 'fixtures', 'rules');
  const problems: string[] = [];
  const loaded = loadRules(dir, problems);
  const sources = new Map(loadSources(dir, problems).map((s) => [s.id, s]));

  const seen = new Map<string, string>();
  for (const { rule, file } of loaded) {
    const first = seen.get(rule.id);
    if (first !== undefined) problems.push(`${rule.id}: duplicate rule id (${first} and ${file})`);
    else seen.set(rule.id, file);
  }
  const knownLists = new Set(loaded.flatMap(({ rule }) => Object.entries(rule.params).filter(([, p]) => p.type === 'list').map(([n]) => n)));

  if (!existsSync(fixtures)) problems.push(`fixtures directory not found: ${fixtures}`);
  for (const { rule } of loaded) {
    checkFacts(rule, problems);
    checkParams(rule, knownLists, problems);
    checkClauses(rule, sources, problems);
    if (existsSync(fixtures)) checkFixtures(rule, fixtures, problems);
  }

  try {
    loadEolCatalogue(join(dir, 'eol', 'catalogue.yml'));
  } catch (err) {
    problems.push((err as Error).message);
  }
  return { ok: problems.length === 0, problems, rules: loaded.length };
}
