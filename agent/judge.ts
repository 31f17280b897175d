/**
 * Runs one check on this PC (or a recording) and judges its facts with the rule catalogue.
 * Errors of a collector are caught here, at the boundary: they become `unknown` with the
 * error, never a crash of the agent and never a pass.
 */
import type { z } from 'zod';
import type { PolicyDocument, Segment } from '../src/shared/protocol/messages.js';
import { evaluateRule } from '../src/shared/catalogue/evaluate.js';
import type { RuleEvaluation } from '../src/shared/catalogue/evaluate.js';
import type { Rule } from '../src/shared/catalogue/schema.js';
import type { CheckContext, CheckDefinition, CheckOutput } from './checks/types.js';
import { because, setUnknown } from './checks/why.js';
import { unknownOutput } from './checks/types.js';

export type AnyOutput = CheckOutput<Record<string, unknown>>;

/** Keep only facts that match the check's schema; the others become unknown (a collector bug must not pass a rule). */
export function validateFacts(def: CheckDefinition<never>, output: AnyOutput): AnyOutput {
  const facts = { ...output.facts };
  const unknown = { unknownFacts: { ...output.unknownFacts }, ...(output.unknownMsgs ? { unknownMsgs: { ...output.unknownMsgs } } : {}) };
  const shape = def.facts.shape as Record<string, z.ZodType>;
  for (const [name, value] of Object.entries(facts)) {
    const schema = shape[name];
    if (!schema) {
      delete facts[name];
      continue;
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      delete facts[name];
      const issue = parsed.error.issues[0];
      setUnknown(unknown, name, because('INVALID_FACT', 'why.invalidFact', { path: [name, ...(issue?.path ?? [])].join('.'), issue: issue?.message ?? '' }));
    }
  }
  return { ...output, facts, ...unknown };
}

/**
 * Where a check's run may let other work go first: awaited between the steps that hold the
 * main thread (checking the facts, judging each rule). The daemon passes one that lets an
 * urgent check run there (agent/probes/urgent-gate.ts); none = straight through.
 */
export type StepAside = () => Promise<void>;

export async function runCheck(def: CheckDefinition<never>, ctx: CheckContext, stepAside?: StepAside): Promise<AnyOutput> {
  const load = def.platforms[ctx.probes.platform];
  if (!load) return unknownOutput(because('NOT_SUPPORTED', 'why.noCollector', { check: def.id, platform: ctx.probes.platform === 'windows' ? 'Windows' : 'Linux' }));
  try {
    const collect = (await load()) as unknown as (c: CheckContext) => Promise<AnyOutput>;
    const collected = await collect({ ...ctx, params: { ...def.params, ...ctx.params } });
    await stepAside?.();
    return validateFacts(def, collected);
  } catch (err) {
    ctx.log.warn(`check ${def.id} failed`, { error: (err as Error).stack });
    return unknownOutput(because('CHECK_ERROR', 'why.checkError', { error: (err as Error).message.slice(0, 400) }));
  }
}

export interface JudgeContext {
  platform: 'linux' | 'windows';
  segment: Segment | undefined;
  policy: PolicyDocument;
  now: Date;
}

/** Judge the facts with each rule, stepping aside before each (a software check's EOL rules hold the thread for a while). */
export async function judge(rules: readonly Rule[], output: AnyOutput, ctx: JudgeContext, stepAside?: StepAside): Promise<RuleEvaluation[]> {
  const evaluations: RuleEvaluation[] = [];
  for (const rule of rules) {
    await stepAside?.();
    evaluations.push(evaluateRule(rule, output, ctx));
  }
  return evaluations;
}
