/**
 * The Windows Update Agent search as a background job: the os-patches check never waits for
 * it longer than a few seconds, a USB event or a helpdesk scan never waits for it at all.
 *
 * - The search runs on its own PowerShell process (lane `wua`, agent/probes/powershell.ts), so
 *   the process that answers USB checks and enforcement is never busy with it.
 * - The daemon waits for a search it started at most a few seconds (`wuaWaitSeconds`); a
 *   one-shot check waits until it ends, so a recording (`collect --save`) holds its result.
 * - Its result is kept in the check memory with the time it was taken, and used while younger
 *   than `wuaCacheHours`; after that a new search starts in the background and the check goes on
 *   with the previous result (its age is part of the facts: `updateSourceAgeHours` comes from
 *   the result) until the new one arrives, or until the old one is older than `wuaMaxStaleHours`.
 * - A search that fails or hangs (killed after `wuaTimeoutSeconds`) is retried with backoff:
 *   2 h after the first failure, then 4, 8, 16 and at most 24 h, not at every run with the same
 *   effect. The failures are remembered across agent restarts.
 */
import { causeOf, msg, render, type Msg } from '../../../src/shared/i18n/index.js';
import { because, type Why } from '../why.js';
import type { CheckContext, CheckMemory } from '../types.js';
import type { Probes } from '../../probes/types.js';
import { partWhy, readPowerShellJson } from '../software/windows-common.js';
import type { PsJsonResult } from '../software/windows-common.js';
import { WUA_SEARCH_SCRIPT } from './windows-script.js';
import { WuaDocument } from './windows-parse.js';

export const WUA_KEY = 'win.os-patches.wua';

const HOUR_MS = 3_600_000;
export const WUA_DEFAULTS = {
  /** A result younger than this is used without searching again. */
  wuaCacheHours: 6,
  /** A result older than this is not used any more: the pending-update facts become unknown. */
  wuaMaxStaleHours: 48,
  /** A search running longer is killed (its PowerShell process with it) and counts as failed. */
  wuaTimeoutSeconds: 600,
  /**
   * How long one check run waits for a search in progress before going on without it; by default
   * until the search ends (a one-shot `mamori agent check` / `collect --save`). The daemon passes
   * a few seconds (agent/agent.ts) so a scan never waits for a search.
   */
  wuaWaitSeconds: Infinity,
  /** First retry delay after a failure; doubles per consecutive failure up to wuaMaxBackoffHours. */
  wuaBackoffHours: 2,
  wuaMaxBackoffHours: 24,
} as const;

/** What the memory keeps: the last good search and the failures since. */
interface SearchRecord {
  at: string;
  stdout: string;
}
interface FailureRecord {
  failures: number;
  lastAttemptAt: string;
  reason: string;
  /** The reason as a message, for both languages (absent in what older agents remembered). */
  reasonMsg?: Msg;
}

/** Searches in flight, per probes (one per agent). */
const inFlight = new WeakMap<Probes, { startedAt: string; done: Promise<void> }>();

function num(params: Record<string, unknown>, name: keyof typeof WUA_DEFAULTS): number {
  const v = params[name];
  return typeof v === 'number' && v >= 0 ? v : WUA_DEFAULTS[name];
}

/** When the next attempt may start after `failures` consecutive failures. */
export function nextAttemptAt(failure: FailureRecord, params: Record<string, unknown>): Date {
  const hours = Math.min(num(params, 'wuaBackoffHours') * 2 ** Math.max(0, failure.failures - 1), num(params, 'wuaMaxBackoffHours'));
  return new Date(Date.parse(failure.lastAttemptAt) + hours * HOUR_MS);
}

function readSearch(stdout: string): PsJsonResult<WuaDocument> {
  return readPowerShellJson(WUA_KEY, { ok: true, stdout, exitCode: 0 }, WuaDocument);
}

/** Start a search unless one is running; it writes its outcome into the memory when it ends. */
function startSearch(probes: Probes, memory: CheckMemory, params: Record<string, unknown>): { startedAt: string; done: Promise<void> } {
  const running = inFlight.get(probes);
  if (running) return running;
  const startedAt = probes.now().toISOString();
  const done = probes
    .powershell(WUA_KEY, WUA_SEARCH_SCRIPT, { timeoutMs: num(params, 'wuaTimeoutSeconds') * 1000, lane: 'wua' })
    .then((outcome) => {
      const result = readPowerShellJson(WUA_KEY, outcome, WuaDocument);
      const failed = !result.ok ? result.why : partWhy(result.data.errors, 'search');
      if (!failed && outcome.ok) {
        memory.set('wuaSearch', { at: startedAt, stdout: outcome.stdout } satisfies SearchRecord);
        memory.set('wuaFailure', null);
      } else {
        const previous = memory.get<FailureRecord | null>('wuaFailure');
        memory.set('wuaFailure', { failures: (previous?.failures ?? 0) + 1, lastAttemptAt: startedAt, reason: failed?.text ?? 'unknown failure', ...(failed ? { reasonMsg: failed.msg } : {}) } satisfies FailureRecord);
      }
    })
    .finally(() => inFlight.delete(probes));
  const job = { startedAt, done };
  inFlight.set(probes, job);
  return job;
}

/**
 * The WUA search document to judge, or why there is none. Starts a background search when the
 * remembered one is too old and backoff allows; waits for it at most `wuaWaitSeconds`.
 */
export async function wuaSearch(ctx: CheckContext): Promise<PsJsonResult<WuaDocument>> {
  const now = ctx.probes.now();
  const cached = ctx.memory.get<SearchRecord>('wuaSearch');
  const ageHours = cached ? (now.getTime() - Date.parse(cached.at)) / HOUR_MS : Infinity;
  if (cached && ageHours < num(ctx.params, 'wuaCacheHours')) {
    const fromCache = readSearch(cached.stdout);
    if (fromCache.ok) return fromCache;
  }
  const failure = ctx.memory.get<FailureRecord | null>('wuaFailure') ?? null;
  const retryAt = failure ? nextAttemptAt(failure, ctx.params) : null;
  const job = inFlight.get(ctx.probes) ?? (retryAt && retryAt > now ? undefined : startSearch(ctx.probes, ctx.memory, ctx.params));
  if (job) {
    // A replay answers at once; the daemon waits only briefly and the search goes on without it.
    const waitMs = ctx.probes.mode === 'replay' ? Infinity : num(ctx.params, 'wuaWaitSeconds') * 1000;
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([job.done.then(() => true), ...(Number.isFinite(waitMs) ? [new Promise<false>((r) => (timer = setTimeout(() => r(false), waitMs)))] : [])]);
    clearTimeout(timer);
    if (waited) return wuaSearchSettled(ctx, now);
  }
  return fromStale(
    ctx,
    now,
    job
      ? because('WUA_SEARCH_RUNNING', 'why.wua.running', { since: { time: job.startedAt } })
      : because('WUA_SEARCH_FAILED', 'why.wua.failed', { cause: failure ? (failure.reasonMsg ?? causeOf(failure.reason)) : msg('why.wua.noSearchYet'), next: retryAt ? { time: retryAt.toISOString() } : msg('why.wua.now') }),
  );
}

/** After a search ended: its result, else the remembered one, else the failure. */
function wuaSearchSettled(ctx: CheckContext, now: Date): PsJsonResult<WuaDocument> {
  const failure = ctx.memory.get<FailureRecord | null>('wuaFailure') ?? null;
  if (!failure) {
    const cached = ctx.memory.get<SearchRecord>('wuaSearch');
    if (cached) return readSearch(cached.stdout);
  }
  const retryAt = failure ? nextAttemptAt(failure, ctx.params).toISOString() : null;
  return fromStale(ctx, now, because('WUA_SEARCH_FAILED', 'why.wua.failed', { cause: failure ? (failure.reasonMsg ?? causeOf(failure.reason)) : msg('why.wua.noResult'), next: retryAt ? { time: retryAt } : msg('why.wua.now') }));
}

/** The remembered search while it is not older than wuaMaxStaleHours, else the reason none can be used. */
function fromStale(ctx: CheckContext, now: Date, reason: Why): PsJsonResult<WuaDocument> {
  const cached = ctx.memory.get<SearchRecord>('wuaSearch');
  if (cached && (now.getTime() - Date.parse(cached.at)) / HOUR_MS <= num(ctx.params, 'wuaMaxStaleHours')) {
    const stale = readSearch(cached.stdout);
    if (stale.ok) return stale;
  }
  const why: Why = cached ? { text: `${reason.text} (${render(msg('why.wua.tooOld', { at: { time: cached.at } }))})`, msg: msg('why.wua.withStale', { cause: reason.msg, old: msg('why.wua.tooOld', { at: { time: cached.at } }) }) } : reason;
  return { ok: false, reason: why.text, why };
}

/** Wait until a search in flight for these probes has ended (tests, shutdown). */
export async function wuaSearchSettledFor(probes: Probes): Promise<void> {
  await inFlight.get(probes)?.done;
}
