/**
 * The check contract. A check only *observes*: it returns facts (or `unknown` with a reason)
 * and never decides compliance; the rule catalogue (config/rules/*.yml, src/shared/catalogue)
 * judges the facts and cites the municipal clauses.
 *
 * A fact that could not be read is left out of `facts` and named in `unknownFacts` with the
 * reason; a rule that tests it then evaluates to `unknown`, never to `pass`.
 * `null` is a value ("known to be absent", e.g. never scanned), not "unknown".
 */
import type { z } from 'zod';
import type { Msg } from '../../src/shared/i18n/index.js';
import type { CheckId } from '../../src/shared/protocol/messages.js';
import type { Probes } from '../probes/types.js';
import { said, type Why } from './why.js';

export type { CheckId };

export interface CheckLogger {
  debug(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
}

/** Small persistent key/value memory of a check, kept in the agent's state directory (e.g. when an update was first seen pending). */
export interface CheckMemory {
  get<T>(key: string): T | undefined;
  set(key: string, value: unknown): void;
}

export interface CheckContext {
  probes: Probes;
  /** Check-level parameters (OS paths and the like) merged over the definition's defaults. */
  params: Record<string, unknown>;
  memory: CheckMemory;
  log: CheckLogger;
  /**
   * The check went on without waiting for work it started in the background (a slow package
   * manager): its facts stay unknown now, and the daemon runs the check again once `work` ends.
   * Absent in one-shot runs, which wait.
   */
  runAgainAfter?: (work: Promise<unknown>) => void;
}

export interface CheckOutput<F> {
  /** `unknown` when the check as a whole could not observe anything usable. */
  status: 'ok' | 'unknown';
  facts: Partial<F>;
  /** Fact name → reason it could not be read, as text (e.g. "NOT_FOUND: /usr/bin/apt-get がありません"). */
  unknownFacts: Record<string, string>;
  /** The same reasons as catalogue messages, for the console in either language (./why.ts sets both). */
  unknownMsgs?: Record<string, Msg>;
  /** Why the whole check is unknown. */
  reason?: string;
  reasonMsg?: Msg;
}

export type Collector<F> = (ctx: CheckContext) => Promise<CheckOutput<F>>;

export interface CheckDefinition<F = Record<string, unknown>> {
  /** kebab-case, equal to the folder name. */
  id: CheckId;
  title: { ja: string; en: string };
  /** The fact schema (facts.ts): names, types and descriptions; the catalogue lint checks rules against it. */
  facts: z.ZodObject<z.ZodRawShape>;
  /** Defaults of the check-level parameters (every OS path is one). */
  params: Record<string, unknown>;
  /** Lazy import of the collector per platform; a missing platform means not_applicable. */
  platforms: Partial<Record<'linux' | 'windows', () => Promise<Collector<F>>>>;
  /**
   * Work done once per process that the check would otherwise do in its first run (parsing a
   * catalogue): the agent does it at start, before its device watchers listen, so a USB event
   * never waits behind it.
   */
  prepare?: () => void;
}

/** Helper for collectors: an output where the whole check is unknown (a text reason is taken as said on the PC, see ./why.ts). */
export function unknownOutput<F>(reason: string | Why): CheckOutput<F> {
  const why = typeof reason === 'string' ? said(reason) : reason;
  return { status: 'unknown', facts: {}, unknownFacts: {}, reason: why.text, reasonMsg: why.msg };
}
