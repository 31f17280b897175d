/**
 * One local evaluation: run the checks against this PC (or a recording) and judge the facts.
 * This is `mamori agent check --json [--check ID] [--replay DIR]`, and what the running agent
 * does on every scheduled or triggered run.
 */
import type { CheckId, PolicyDocument, Segment } from '../src/shared/protocol/messages.js';
import { PolicyDocument as PolicySchema } from '../src/shared/protocol/messages.js';
import type { RuleEvaluation } from '../src/shared/catalogue/evaluate.js';
import type { Catalogue } from '../src/shared/catalogue/load.js';
import { loadCatalogue } from '../src/shared/catalogue/load.js';
import { configDir } from '../src/shared/paths.js';
import { silentLogger } from '../src/shared/log.js';
import type { Logger } from '../src/shared/log.js';
import { CHECKS } from './checks/registry.js';
import type { CheckMemory } from './checks/types.js';
import type { Msg } from '../src/shared/i18n/index.js';
import { judge, runCheck } from './judge.js';
import type { StepAside } from './judge.js';
import { InMemoryCheckMemory, scopedMemory } from './memory.js';
import { liveProbes } from './probes/index.js';
import { ReplayProbes } from './probes/replay.js';
import type { Probes } from './probes/types.js';

export interface CheckReport {
  id: CheckId;
  status: 'ok' | 'unknown';
  reason?: string;
  reasonMsg?: Msg;
  facts: Record<string, unknown>;
  unknownFacts: Record<string, string>;
  /** The same reasons as catalogue messages (agent/checks/why.ts). */
  unknownMsgs?: Record<string, Msg>;
  rules: RuleEvaluation[];
  durationMs: number;
}

export interface LocalReport {
  platform: 'linux' | 'windows';
  mode: 'live' | 'replay';
  at: string;
  segment: Segment | null;
  policyVersion: number;
  checks: CheckReport[];
}

export interface LocalCheckOptions {
  replayDir?: string;
  /** Probes to use instead of live/replay (e.g. recording probes). */
  probes?: Probes;
  checks?: readonly CheckId[];
  segment?: Segment;
  policy?: Partial<PolicyDocument>;
  memory?: CheckMemory;
  catalogue?: Catalogue;
  log?: Logger;
  /** Site values of check parameters (e.g. the USB enforcement mode), over each check's defaults. */
  checkParams?: Partial<Record<CheckId, Record<string, unknown>>>;
  /** Awaited between the steps of each check that hold the main thread (the daemon lets a USB check go first there). */
  stepAside?: StepAside;
  /** A check went on without waiting for its background work (CheckContext.runAgainAfter): the daemon runs it again when `work` ends. */
  runAgainAfter?: (checkId: CheckId, work: Promise<unknown>) => void;
}

export function emptyPolicy(): PolicyDocument {
  return PolicySchema.parse({ version: 0 });
}

let defaultCatalogue: Catalogue | undefined;
export function productCatalogue(): Catalogue {
  defaultCatalogue ??= loadCatalogue(configDir());
  return defaultCatalogue;
}

export async function localCheck(opts: LocalCheckOptions = {}): Promise<LocalReport> {
  const probes = opts.probes ?? (opts.replayDir ? new ReplayProbes(opts.replayDir) : liveProbes());
  const policy = PolicySchema.parse({ version: 0, ...opts.policy });
  const catalogue = opts.catalogue ?? productCatalogue();
  const memory = opts.memory ?? new InMemoryCheckMemory();
  const log = opts.log ?? silentLogger();
  const selected = CHECKS.filter((c) => !opts.checks || opts.checks.includes(c.id));
  const now = probes.now();
  const checks: CheckReport[] = [];
  for (const def of selected) {
    const started = performance.now();
    const runAgainAfter = opts.runAgainAfter;
    const collected = await runCheck(def, { probes, params: opts.checkParams?.[def.id] ?? {}, memory: scopedMemory(memory, def.id), log, ...(runAgainAfter ? { runAgainAfter: (work: Promise<unknown>) => runAgainAfter(def.id, work) } : {}) }, opts.stepAside);
    // The facts are judged and kept as a copy: a parsed fact can be a slice of a probe's whole
    // output, and V8 keeps that whole output alive through it (every package version from dpkg's
    // status file held its 1.5 MB text for as long as the daemon kept the facts).
    const output = { ...collected, facts: structuredClone(collected.facts) };
    const rules = await judge(
      catalogue.rules.filter((r) => r.check === def.id),
      output,
      { platform: probes.platform, segment: opts.segment ?? policy.segment, policy, now },
      opts.stepAside,
    );
    checks.push({
      id: def.id,
      status: output.status,
      ...(output.reason ? { reason: output.reason } : {}),
      ...(output.reasonMsg ? { reasonMsg: output.reasonMsg } : {}),
      facts: output.facts,
      unknownFacts: output.unknownFacts,
      ...(output.unknownMsgs && Object.keys(output.unknownMsgs).length ? { unknownMsgs: output.unknownMsgs } : {}),
      rules,
      durationMs: Math.round(performance.now() - started),
    });
  }
  return { platform: probes.platform, mode: probes.mode, at: now.toISOString(), segment: opts.segment ?? policy.segment ?? null, policyVersion: policy.version, checks };
}
